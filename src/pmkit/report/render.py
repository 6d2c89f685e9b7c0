"""Render incidents to documents: papermill executes the postmortem notebook, nbconvert exports it.

``render(incident_dirs, output_dir, to=("html", "md"), jobs=1) -> list[RenderResult]`` writes,
for each incident, ``OUTDIR/<incident id>/``:

- ``postmortem.html``: self-contained (plotly.js embedded once, nothing fetched from the network),
  code and parameters hidden, styled for screen and print (template ``templates/pmkit-html``);
  the HTML of every Markdown output is cleaned by an allowlist and the page by a last pass
  (:mod:`pmkit.report.sanitize`), so no link, image, script or handler in the evidence survives;
- ``postmortem.md``: the same document in Markdown (template ``templates/pmkit-md``); its figures
  are PNG files in ``figures/`` drawn by kaleido with the local Chromium (where there is none, a
  line names the figure and points to the interactive HTML);
- ``postmortem.ipynb``: the executed notebook, kept as the record;
- the seed file set ``incident.md``, ``timeline.md``, ``postmortem.md``, ``action-items.md``
  (``postmortem.md`` is the Markdown export above when ``md`` is rendered).

Incidents run in ``jobs`` worker processes (one kernel each at a time). A failing incident does
not stop the others: its result carries the failing cell and the exception; the executed
notebook is kept for it. The same inputs give the same bytes: nothing in a document depends on
when, where or in which order it was rendered.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pmkit.errors import PmkitError
from pmkit.report.run import (
    PLOTLY_MIME,
    RECORD_NAME,
    RenderError,
    default_notebook,
    resource_dir,
    run,
    skip_slow_imports,
)

FORMATS = {"html": "postmortem.html", "md": "postmortem.md"}
# The template writes this where plotly.js goes; it is swapped in after nbconvert's HTML clean-up
# pass (BeautifulSoup), which would otherwise parse 4.8 MB of JavaScript per document.
_PLOTLY_JS_MARK = "/* pmkit: plotly.js */"
SEED_FILES = ("incident.md", "timeline.md", "postmortem.md", "action-items.md")


@dataclass(frozen=True)
class RenderResult:
    """What rendering one incident produced, or why it failed.

    ``files`` maps a name (``html``, ``md``, ``ipynb`` and the seed file names) to the file
    written. On failure ``error`` is one line; ``cell``, ``ename`` and ``evalue`` name the failing
    cell and the exception raised in it (``cell`` is None when no cell was at fault), and
    ``files["ipynb"]`` is the executed notebook with its traceback when there is one.
    """

    incident_dir: Path
    incident_id: str
    output_dir: Path
    files: dict[str, Path] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None
    cell: int | None = None
    ename: str = ""
    evalue: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None

    def summary(self) -> str:
        """One line for a terminal: where the files are, or what failed and where to look."""
        if self.ok:
            main = self.files.get("html") or self.files.get("md") or self.files.get("ipynb")
            return f"ok      {self.incident_id}: {main} ({self.seconds:.1f} s)"
        where = f" (executed notebook: {self.files['ipynb']})" if "ipynb" in self.files else ""
        return f"FAILED  {self.incident_id}: {self.error}{where}"


def templates_dir() -> Path:
    """The folder holding the ``pmkit-html`` and ``pmkit-md`` nbconvert templates."""
    return resource_dir("templates")


def seed_files(result: Any) -> dict[str, str]:
    """The seed 000 file set for an :class:`~pmkit.pipeline.Analysis` (or a built document): name -> text."""
    if hasattr(result, "files"):
        return result.files()
    from pmkit.report import document

    return document.build(result).files()


def write_seed_files(namespace: Mapping[str, Any], output_dir: str | Path) -> list[Path]:
    """Write the seed file set from a notebook's globals (called by the cell ``run`` appends).

    Uses the notebook's own document or analysis (the first ``Document`` or ``Analysis`` among
    its variables), so nothing is analysed twice; a notebook without either gets a fresh
    analysis of its ``incident_dir``.
    """
    from pmkit.pipeline import Analysis, analyze
    from pmkit.report.document import Document

    values = list(namespace.values())
    source: Any = next((v for v in values if isinstance(v, Document)), None)
    if source is None:
        source = next((v for v in values if isinstance(v, Analysis)), None)
    if source is None:
        from pmkit.incident import Incident

        inc = Incident.load(namespace["incident_dir"])
        source = analyze(inc, convention=namespace.get("convention", "impact"))
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in seed_files(source).items():
        path = out / name
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    return written


def incident_header(incident_dir: str | Path) -> tuple[str, str]:
    """``(id, title)`` from ``incident.yaml`` without validating it (the notebook reports spec errors).

    Falls back to the folder name, so a broken spec still gets its own output folder.
    """
    import yaml

    path = Path(incident_dir)
    try:
        data = yaml.safe_load((path / "incident.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        data = None
    data = data if isinstance(data, dict) else {}
    ident = str(data.get("id") or path.resolve().name)
    ident = re.sub(r"[^\w.\-]+", "_", ident).strip("._") or "incident"
    return ident, str(data.get("title") or "")


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


def browser_path() -> str | None:
    """The Chrome/Chromium kaleido can drive for static figures: ``BROWSER_PATH``, else one on PATH; None if none."""
    path = os.environ.get("BROWSER_PATH") or next(
        (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
    )
    return path if path and Path(path).is_file() else None


_KALEIDO_LOCK = threading.Lock()


# kaleido reloads its page after every figure, which makes the browser parse plotly.js (4.6 MB) again:
# half of the browser's CPU for our figures. A figure drawn without the reload has the same bytes
# (tests/report/test_figures_png.py checks it), so the page is reloaded every this many figures instead.
RELOAD_EVERY = 25


def keep_page_class() -> type | None:
    """kaleido's ``Kaleido`` with the page reloaded every :data:`RELOAD_EVERY` figures, not after each;
    None (kaleido's own behaviour) when this kaleido lacks the tab hand-back that this relies on."""
    import kaleido

    base = kaleido.Kaleido
    if not hasattr(base, "_return_kaleido_tab"):
        return None

    class KeepPage(base):  # type: ignore[misc, valid-type]
        _figures_drawn = 0

        async def _return_kaleido_tab(self, tab: Any) -> None:
            self._figures_drawn += 1
            if self._figures_drawn % RELOAD_EVERY == 0 or not hasattr(self, "tabs_ready"):
                await super()._return_kaleido_tab(tab)
            else:
                await self.tabs_ready.put(tab)

    return KeepPage


@functools.cache
def _start_kaleido() -> None:
    import atexit

    import kaleido
    from kaleido import _sync_server

    keep = keep_page_class()
    if keep is not None and getattr(_sync_server, "Kaleido", None) is kaleido.Kaleido:
        _sync_server.Kaleido = keep  # the server builds its browser from this name
    kaleido.start_sync_server(silence_warnings=True)
    atexit.register(kaleido.stop_sync_server)


def _kaleido_server() -> None:
    """One browser per process for every figure of every incident (starting one costs ~2-3 s)."""
    with _KALEIDO_LOCK:  # the warm-up thread and the figures' thread may both ask
        _start_kaleido()


def _figure_targets(nb: Any) -> list[tuple[Any, Any, str]]:
    """The notebook's plotly figure outputs, each with its figure object and its PNG file name."""
    import plotly.graph_objects as go

    targets: list[tuple[Any, Any, str]] = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            fig = (
                out.get("data", {}).get(PLOTLY_MIME)
                if out.get("output_type") in ("display_data", "execute_result")
                else None
            )
            if fig is not None:
                targets.append((out, go.Figure(fig), f"figures/figure-{len(targets) + 1}.png"))
    return targets


def _draw_pngs(figures: Sequence[Any], paths: Sequence[Path]) -> bool:
    """Draw figures to PNG files with kaleido's browser; False (nothing promised) when it cannot."""
    import plotly.io as pio

    try:
        _kaleido_server()
        with warnings.catch_warnings():  # "kopts ignored when using a server": we use the server on purpose
            warnings.simplefilter("ignore", UserWarning)
            pio.write_images(list(figures), list(paths), width=1000, height=450)
    except Exception:  # a static image is a convenience: without it the Markdown names the figure
        return False
    return True


def _can_draw_pngs() -> bool:
    browser = browser_path()
    if browser is None or importlib.util.find_spec("kaleido") is None:
        return False
    os.environ.setdefault("BROWSER_PATH", browser)
    return True


def warm_browser() -> threading.Thread | None:
    """Start kaleido's browser in a thread (a first figure costs ~2 s of browser start-up): the caller
    overlaps it with other work, e.g. the kernel running the notebook, and joins it before drawing."""
    if not _can_draw_pngs() or _start_kaleido.cache_info().currsize:
        return None
    import kaleido  # noqa: F401 - imported here, not in the thread (imports are not thread-safe)
    import plotly.graph_objects as go

    blank = go.Figure()
    tmp = Path(tempfile.mkdtemp(prefix="pmkit-warm-"))

    def warm() -> None:
        _draw_pngs([blank], [tmp / "warm.png"])
        shutil.rmtree(tmp, ignore_errors=True)

    thread = threading.Thread(target=warm, name="pmkit-browser-warm-up", daemon=True)
    thread.start()
    return thread


def write_figure_pngs(nb: Any, output_dir: Path, *, meanwhile: Callable[[], Any] | None = None) -> int:
    """PNG files of the notebook's plotly figures in ``output_dir/figures/``, for the Markdown export.

    Each figure's output gets ``metadata.filenames["image/png"]`` so the ``pmkit-md`` template links
    the image. Needs kaleido and a local Chrome/Chromium (kaleido cannot download one here); without
    them nothing is written and the Markdown names each figure instead, pointing to the HTML version.
    ``meanwhile`` runs in this thread while the browser draws (it must not change ``nb``).
    Returns the number of images written.
    """
    targets = _figure_targets(nb) if _can_draw_pngs() else []
    if not targets:
        if meanwhile is not None:
            meanwhile()
        return 0
    (output_dir / "figures").mkdir(parents=True, exist_ok=True)
    drawn: list[bool] = []
    thread = threading.Thread(
        target=lambda: drawn.append(_draw_pngs([f for _, f, _ in targets], [output_dir / n for _, _, n in targets])),
        name="pmkit-figures",
        daemon=True,
    )
    thread.start()
    try:
        if meanwhile is not None:
            meanwhile()
    finally:
        thread.join()
    if not drawn or not drawn[0]:
        return 0
    for out, _, name in targets:
        out.setdefault("metadata", {})["filenames"] = {"image/png": name}
    return len(targets)


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


def render_one(
    incident_dir: str | Path,
    output_dir: str | Path,
    *,
    to: Sequence[str] = ("html", "md"),
    notebook: str | Path | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> RenderResult:
    """Execute and export one incident into ``output_dir/<incident id>/``; never raises for the incident's own faults."""
    t0 = time.perf_counter()
    inc = Path(incident_dir)
    ident, title = incident_header(inc)
    out = Path(output_dir) / ident
    files: dict[str, Path] = {}
    for stale in (
        *FORMATS.values(),
        *SEED_FILES,
    ):  # a failed re-render must not leave the last good one looking current
        (out / stale).unlink(missing_ok=True)
    # While the kernel works, this process only waits on its sockets: compile the templates meanwhile.
    # Everything is imported and built here first, so the thread imports nothing: two threads importing
    # jupyter_client's or nbconvert's circular modules at once can see them half-initialised.
    import papermill  # noqa: F401
    from jupyter_client import AsyncKernelManager  # noqa: F401

    for fmt in to:
        _exporter(fmt).environment  # noqa: B018 - jinja environment and filters, imported now
    warm = threading.Thread(target=_prepare_quietly, args=(tuple(to),), daemon=True)
    warm.start()
    browser = warm_browser() if "md" in to else None  # started once per process, while the kernel works
    try:
        record = run(inc, out, notebook=notebook, parameters=parameters)
        warm.join()
        if browser is not None:
            browser.join()
        files["ipynb"] = record
        files.update(export(record, out, to=to, title=f"Postmortem {ident}: {title}".rstrip(": ")))
        for name in SEED_FILES:
            if (out / name).is_file():
                files.setdefault(name, out / name)
    except RenderError as exc:
        if exc.notebook is not None and exc.notebook.is_file():
            files["ipynb"] = exc.notebook
        return RenderResult(inc, ident, out, files, time.perf_counter() - t0, str(exc), exc.cell, exc.ename, exc.evalue)
    except Exception as exc:  # a spec, template or file-system fault: reported for this incident only
        return RenderResult(inc, ident, out, files, time.perf_counter() - t0, f"{type(exc).__name__}: {exc}")
    return RenderResult(inc, ident, out, files, time.perf_counter() - t0)


def duplicate_ids(dirs: Sequence[Path]) -> dict[int, str]:
    """Positions of folders whose incident id an earlier folder already has, with the message to report."""
    seen: dict[str, Path] = {}
    out: dict[int, str] = {}
    for i, d in enumerate(dirs):
        ident, _ = incident_header(d)
        if ident in seen:
            out[i] = f"same incident id {ident!r} as {seen[ident]}: it would overwrite that incident's output"
        else:
            seen[ident] = d
    return out


def _worker_init(polars_threads: int) -> None:
    """Share the cores between workers: each kernel (a child of this worker) gets its part of polars' pool.

    The worker is pmkit's own process, so it also skips jsonschema's slow optional import
    (:func:`pmkit.report.run.skip_slow_imports`), as the kernels do.
    """
    os.environ["POLARS_MAX_THREADS"] = str(polars_threads)
    skip_slow_imports()


def render(
    incident_dirs: Iterable[str | Path],
    output_dir: str | Path,
    *,
    to: Sequence[str] = ("html", "md"),
    jobs: int = 1,
    progress: bool = True,
    notebook: str | Path | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> list[RenderResult]:
    """Render every incident folder into ``output_dir/<incident id>/``; results in the order given.

    ``jobs`` worker processes render incidents side by side (each runs its own kernel);
    ``progress`` shows a bar with incidents done and failed on stderr. Two folders with the same
    incident id would overwrite each other: the second is reported as failed instead.

    Workers are spawned (not forked: polars' threads do not survive a fork), so a script that
    calls this with ``jobs`` > 1 must do so under ``if __name__ == "__main__":``, as
    :mod:`multiprocessing` requires; notebooks and ``pmkit render`` need nothing.
    """
    dirs = [Path(d) for d in incident_dirs]
    to = tuple(dict.fromkeys(to))
    for fmt in to:
        if fmt not in FORMATS:
            raise PmkitError(f"unknown output format {fmt!r}; expected one of {', '.join(FORMATS)}")
    nb_path = Path(notebook).resolve() if notebook else default_notebook()
    if not nb_path.is_file():
        raise PmkitError(f"{notebook}: no such notebook")
    for d in dirs:
        if not (d / "incident.yaml").is_file():
            raise PmkitError(f"{d}: not an incident folder (no incident.yaml)")
    out = Path(output_dir)
    results: dict[int, RenderResult] = {}
    duplicates = duplicate_ids(dirs)
    for i, message in duplicates.items():
        ident, _ = incident_header(dirs[i])
        results[i] = RenderResult(dirs[i], ident, out / ident, error=message)
    todo = [i for i in range(len(dirs)) if i not in duplicates]

    from tqdm.auto import tqdm

    bar = tqdm(total=len(dirs), unit="incident", desc="render", disable=not progress, file=sys.stderr, leave=True)
    failed = sum(1 for r in results.values() if not r.ok)
    bar.update(len(results))
    bar.set_postfix(failed=failed)

    def done(i: int, res: RenderResult) -> None:
        nonlocal failed
        results[i] = res
        failed += not res.ok
        bar.set_postfix(failed=failed, last=res.incident_id)
        bar.update(1)

    kwargs: dict[str, Any] = {"to": to, "notebook": nb_path, "parameters": parameters}
    workers = max(1, min(jobs, len(todo)))
    try:
        if workers == 1:
            for i in todo:
                done(i, render_one(dirs[i], out, **kwargs))
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor, as_completed

            threads = max(1, (os.cpu_count() or 1) // workers)
            with ProcessPoolExecutor(
                max_workers=workers,
                mp_context=multiprocessing.get_context("spawn"),  # no fork of a process with polars' threads
                initializer=_worker_init,
                initargs=(threads,),
            ) as pool:
                futures = {pool.submit(render_one, dirs[i], out, **kwargs): i for i in todo}
                for fut in as_completed(futures):
                    i = futures[fut]
                    try:
                        res = fut.result()
                    except Exception as exc:  # the worker process itself died
                        d = dirs[i]
                        ident, _ = incident_header(d)
                        res = RenderResult(d, ident, out / ident, error=f"worker failed: {type(exc).__name__}: {exc}")
                    done(i, res)
    finally:
        bar.close()
    return [results[i] for i in range(len(dirs))]


__all__ = [
    "FORMATS",
    "RECORD_NAME",
    "SEED_FILES",
    "RenderResult",
    "duplicate_ids",
    "export",
    "incident_header",
    "prepare_exporters",
    "render",
    "render_one",
    "seed_files",
    "templates_dir",
    "write_seed_files",
]
