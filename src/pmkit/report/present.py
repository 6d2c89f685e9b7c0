"""Where results become text: the Jinja environments of the document's tables and the notebook views.

The analyses return data (dataclasses and frames); the look of a table lives in a template:
``report/tables/*.md.j2`` for the Markdown tables of the document, ``report/views/*.html.j2`` for
the HTML a notebook shows for a result object (:mod:`pmkit.report.notebook`). Both environments
share the filters ``utc`` (:func:`pmkit.timeutil.fmt_utc`), ``duration``
(:func:`pmkit.timeutil.fmt_duration`) and ``fmt`` (Python's ``format``).

- Markdown: no autoescape; untrusted text goes through the ``esc`` filter (:func:`esc`), which also
  keeps a table row on one line.
- HTML: autoescape, with :func:`html.escape`'s entities (``&quot;``, ``&#x27;``) rather than
  markupsafe's (``&#34;``, ``&#39;``), so the views read byte for byte as they always have.

Whitespace: ``trim_blocks`` and ``lstrip_blocks`` are on and a template's last newline is dropped,
so a block tag on its own line leaves no trace. A table's rows are joined by newlines (the idiom
``{% if not loop.first %}{{ "\\n" }}{% endif %}``): no newline after the last row, one after the
header of an empty table, as the document always had.
"""

from __future__ import annotations

import functools
import html
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from pmkit.timeutil import fmt_duration, fmt_utc

_HERE = Path(__file__).resolve().parent


def esc(text: Any, limit: int = 300) -> str:
    """Untrusted text made safe for Markdown tables and HTML: one line, escaped, shortened."""
    s = " ".join(str(text if text is not None else "").split())
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
    return s.replace("`", "'")


def _fmt(value: Any, spec: str = "") -> str:
    return format(value, spec)


def _html_finalize(value: Any) -> Any:
    """Escape as :func:`html.escape` does; markup built by a template (``Markup``) passes as it is."""
    if isinstance(value, Markup):
        return value
    return Markup(html.escape(str(value)))


def _environment(folder: str, *, html_mode: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_HERE / folder),
        autoescape=html_mode,
        finalize=_html_finalize if html_mode else None,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(utc=fmt_utc, duration=fmt_duration, fmt=_fmt)
    if not html_mode:
        env.filters["esc"] = esc
    return env


@functools.cache
def markdown_env() -> jinja2.Environment:
    """The environment of the document's Markdown tables (``report/tables``)."""
    return _environment("tables", html_mode=False)


@functools.cache
def html_env() -> jinja2.Environment:
    """The environment of the notebook views (``report/views``), autoescaped."""
    return _environment("views", html_mode=True)


def table(name: str, **context: Any) -> str:
    """Render the Markdown table ``report/tables/<name>.md.j2``."""
    return markdown_env().get_template(f"{name}.md.j2").render(**context)


def view(name: str, **context: Any) -> str:
    """Render the HTML view ``report/views/<name>.html.j2``."""
    return html_env().get_template(f"{name}.html.j2").render(**context)
