"""Export an executed postmortem notebook to ``postmortem.html`` and ``postmortem.md`` (nbconvert).

The templates are ``templates/pmkit-html`` (self-contained: plotly.js embedded once, nothing
fetched from the network; code and parameters hidden; styled for screen and print) and
``templates/pmkit-md`` (its figures are the PNG files of :mod:`pmkit.report.figures_png`). One
configured exporter per format and process, its templates compiled once; the same notebook gives
the same bytes.
"""

from __future__ import annotations

import contextlib
import functools
import secrets
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pmkit.errors import PmkitError
from pmkit.report.figures_png import write_figure_pngs
from pmkit.report.run import resource_dir

FORMATS = {"html": "postmortem.html", "md": "postmortem.md"}
# The template writes this where plotly.js goes; it is swapped in after nbconvert's HTML clean-up
# pass (BeautifulSoup), which would otherwise parse 4.8 MB of JavaScript per document.
_PLOTLY_JS_MARK = "/* pmkit: plotly.js */"


def templates_dir() -> Path:
    """The folder holding the ``pmkit-html`` and ``pmkit-md`` nbconvert templates."""
    return resource_dir("templates")


@functools.cache
def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


@functools.cache
def _exporter(fmt: str) -> Any:
    """One configured nbconvert exporter per format and process (templates compile once)."""
    from nbconvert import MarkdownExporter

    common = {
        "extra_template_basedirs": [str(templates_dir())],
        "exclude_input": True,
        "exclude_input_prompt": True,
        "exclude_output_prompt": True,
    }
    if fmt == "html":
        from pmkit.report.sanitize import html_exporter_class

        return html_exporter_class()(template_name="pmkit-html", embed_images=True, **common)
    if fmt == "md":
        from pmkit.report.present import esc

        return MarkdownExporter(template_name="pmkit-md", filters={"pmkit_esc": esc}, **common)
    raise PmkitError(f"unknown output format {fmt!r}; expected one of {', '.join(FORMATS)}")


def prepare_exporters(to: Sequence[str]) -> None:
    """Build the exporters and compile their templates now (the first export would otherwise pay ~0.5-1 s)."""
    for fmt in to:
        _exporter(fmt).template  # noqa: B018 - the property loads and compiles the template
    if "html" in to:
        _plotly_js()


def _prepare_quietly(to: Sequence[str]) -> None:
    with contextlib.suppress(Exception):  # export() raises the same error where it is reported
        prepare_exporters(to)


def _tidy_markdown(text: str) -> str:
    """No trailing spaces, at most one blank line in a row, one final newline."""
    lines = [ln.rstrip() for ln in text.splitlines()]
    out: list[str] = []
    for ln in lines:
        if ln or (out and out[-1]):
            out.append(ln)
    return "\n".join(out).strip("\n") + "\n"


def export(
    record: str | Path, output_dir: str | Path, *, to: Sequence[str] = ("html", "md"), title: str = ""
) -> dict[str, Path]:
    """Export an executed notebook to ``postmortem.html`` / ``postmortem.md`` in ``output_dir``."""
    import nbformat

    from pmkit._version import __version__
    from pmkit.report.run import normalize_figures

    nb = nbformat.read(record, as_version=4)
    figures = normalize_figures(nb)
    out = Path(output_dir)
    written: dict[str, Path] = {}

    def write(fmt: str) -> None:
        from pmkit.report.sanitize import clean_document

        exporter = _exporter(fmt)
        trusted = secrets.token_hex(16)  # marks where the template's own scripts start; never in the output
        resources = {
            "metadata": {"name": title or Path(record).stem, "path": str(out)},
            "pmkit": {
                "version": __version__,
                "notebook": Path(record).name,
                "plotly_js": _PLOTLY_JS_MARK if fmt == "html" and figures else "",
                "trusted": trusted,
            },
        }
        body, _ = exporter.from_notebook_node(nb, resources=resources)
        if fmt == "md":
            body = _tidy_markdown(body)
        else:
            body = clean_document(body, trusted=trusted)
            if figures:
                body = body.replace(_PLOTLY_JS_MARK, _plotly_js(), 1)
        path = out / FORMATS[fmt]
        path.write_text(body, encoding="utf-8", newline="\n")
        written[fmt] = path

    if "md" in to and figures:
        # the HTML draws its figures itself: it is exported while the browser draws the Markdown's PNGs
        write_figure_pngs(nb, out, meanwhile=(lambda: write("html")) if "html" in to else None)
    for fmt in to:
        if fmt not in written:
            write(fmt)
    return dict(sorted(written.items(), key=lambda kv: to.index(kv[0])))


def prepare_in_background(to: Sequence[str]) -> threading.Thread:
    """Build the exporters' jinja environments now and compile their templates in a started thread.

    For a caller that waits on something else meanwhile (a kernel running the notebook); the thread
    imports nothing, everything it needs is imported here first.
    """
    for fmt in to:
        _exporter(fmt).environment  # noqa: B018 - jinja environment and filters, imported now
    warm = threading.Thread(target=_prepare_quietly, args=(tuple(to),), daemon=True)
    warm.start()
    return warm
