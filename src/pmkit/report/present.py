"""Where results become text: the Jinja environments of the document's tables and the notebook views.

The analyses return data (dataclasses and frames); the look of a table lives in a template:
``report/tables/*.md.j2`` for the Markdown tables of the document, ``report/views/*.html.j2`` for
the HTML a notebook shows for a result object (:mod:`pmkit.report.notebook`). Both environments
share the filters ``utc`` (:func:`pmkit.timeutil.fmt_utc`), ``duration``
(:func:`pmkit.timeutil.fmt_duration`) and ``fmt`` (Python's ``format``).

- Markdown: no autoescape. Evidence (chat, logs, alerts, deploys, names) is data, never markup: it
  goes through the ``esc`` filter (:func:`esc`), which escapes every character that Markdown, HTML,
  GFM autolinks or math would read as syntax and keeps a table row on one line. What the author
  wrote in incident.yaml (title, narrative, action items, 5 Whys) is Markdown and goes through the
  ``md`` filter (:func:`author_md`): emphasis, code and ``http``/``https``/``mailto`` links stay,
  other links become their text, images become links (nothing is fetched), raw HTML shows as text.
- Figures: plotly reads a little HTML in its text (``<br>``, ``<a href>``, ``<span style>``,
  ``<b>``...); evidence shown in a figure goes through :func:`plotly_text` first.
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
import re
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from pmkit.report.sanitize import allowed_url
from pmkit.timeutil import fmt_duration, fmt_utc

_HERE = Path(__file__).resolve().parent


def _md_text(s: str, *, backtick: str = "'") -> str:
    """Plain text as Markdown that reads back as the same text in every renderer (no whitespace change).

    ``& < >`` become entities (no HTML, no autolink, no entity trick), ``\\`` becomes ``&#92;``
    (no backslash escape, no ``\\(`` or ``\\begin`` math), ``[ ] * ~ $ |`` are backslash-escaped
    (no link, image, emphasis, strike-through, math or table cell), ``_`` too unless it sits
    between two letters or digits (where it cannot be emphasis), and ``://`` and ``www.`` are
    broken with a backslash (no bare-URL autolink). A backtick becomes ``backtick``.
    """
    s = s.replace("&", "&amp;").replace("\\", "&#92;").replace("<", "&lt;").replace(">", "&gt;")
    s = s.replace("`", backtick)
    s = _MD_PUNCT.sub(r"\\\g<0>", s)
    s = _UNDERSCORE.sub(r"\\_", s)
    s = s.replace("://", "\\://")
    return _WWW.sub(lambda m: m.group(0)[:-1] + "\\.", s)


def _line_start(s: str) -> str:
    """Text that may begin a line starts no block (heading, list, quote, rule) and ends no heading."""
    s = _BLOCK_START.sub(r"\\\g<0>", s, count=1)
    s = _ORDERED_START.sub(r"\g<1>\\\g<2>", s, count=1)
    return _TRAILING_HASHES.sub(r"\\#", s)


_MD_PUNCT = re.compile(r"[\[\]*~$|]")
_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")  # an underscore not between two letters/digits
_WWW = re.compile(r"(?<![\w.])www\.", re.IGNORECASE)
_BLOCK_START = re.compile(r"^[#+=-]")
_ORDERED_START = re.compile(r"^(\d{1,9})([.)])(?=\s|$)")
_TRAILING_HASHES = re.compile(r"(?<!\\)#(?=#*\s*$)")


def _one_line(text: Any, limit: int) -> str:
    s = " ".join(str(text if text is not None else "").split())
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return s


def esc(text: Any, limit: int = 300) -> str:
    """Evidence as Markdown text: one line, shortened to ``limit``, no character read as syntax.

    Safe in a paragraph, a list item, a heading and a table cell: nothing in it becomes a link,
    an image, HTML, emphasis, math or a new cell (see :func:`_md_text`); backticks become ``'``.
    """
    return _line_start(_md_text(_one_line(text, limit)))


def code(text: Any, limit: int = 300) -> str:
    """Evidence as an inline code span (shown as it is, nothing interpreted): one line, shortened."""
    s = _one_line(text, limit).replace("`", "'")
    return f"`{s}`" if s else ""


def plotly_text(text: Any) -> str:
    """Evidence for a plotly label, hover text or name: ``& < >`` as entities, which plotly shows as
    the characters, so no ``<br>``, ``<a href>``, ``<span style>``, ``<b>``... in it is read as markup."""
    s = str(text if text is not None else "")
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@functools.cache
def _inline_parser() -> Any:
    import mistune

    md = mistune.create_markdown(renderer=None, plugins=["strikethrough", "url"])
    return md.inline


def _dest(url: str) -> str:
    """A URL as a Markdown link destination that every renderer reads the same way."""
    url = _DEST_UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group(0).encode()), url)
    return re.sub(r"&(?=#?[A-Za-z0-9]+;)", "&amp;", url)


_DEST_UNSAFE = re.compile(r"[\x00-\x20\x7f<>()\[\]|\\\"`]")


def _plain(tokens: list[dict[str, Any]]) -> str:
    """The text of inline tokens (an image's alt text)."""
    out = []
    for t in tokens:
        if "children" in t:
            out.append(_plain(t["children"]))
        elif t.get("type") in ("softbreak", "linebreak"):
            out.append(" ")
        else:
            out.append(html.unescape(t.get("raw", "")) if t.get("type") == "text" else t.get("raw", ""))
    return "".join(out)


def _emit(tokens: list[dict[str, Any]], *, table: bool, in_link: bool = False) -> str:
    out: list[str] = []

    def link(text: str, url: str) -> str:
        if out and out[-1].endswith("!"):  # "!" then a link would read as an image
            out[-1] = out[-1][:-1] + "\\!"
        return f"[{text}]({_dest(url)})"

    for t in tokens:
        kind = t.get("type")
        children = t.get("children") or []
        if kind == "text":
            out.append(_md_text(html.unescape(t["raw"]), backtick="&#96;"))
        elif kind in ("emphasis", "strong", "strikethrough"):
            inner = _emit(children, table=table, in_link=in_link)
            mark = {"emphasis": "*", "strong": "**", "strikethrough": "~~"}[kind]
            out.append(f"{mark}{inner}{mark}" if inner.strip() else inner)
        elif kind == "codespan":
            raw = " ".join(t["raw"].split())
            if table and "|" in raw:  # renderers disagree on a pipe in a cell's code span: plain text then
                out.append(_md_text(raw, backtick="&#96;"))
                continue
            fence = "`" * (max((len(r) for r in re.findall(r"`+", raw)), default=0) + 1)
            pad = " " if raw.startswith("`") or raw.endswith("`") else ""
            out.append(f"{fence}{pad}{raw}{pad}{fence}" if raw.strip() else "")
        elif kind == "link":
            inner = _emit(children, table=table, in_link=True)
            url = allowed_url(t.get("attrs", {}).get("url"))
            if url is None or in_link:
                out.append(inner)
            else:
                out.append(link(inner or _md_text(url), url))
        elif kind == "image":
            alt = _md_text(_plain(children), backtick="&#96;") or "image"
            url = allowed_url(t.get("attrs", {}).get("url"))
            if url is None or in_link or url.startswith("#"):
                out.append(alt)
            else:
                out.append(link(alt, url))  # a link to the image: the document fetches nothing
        elif kind in ("softbreak", "linebreak"):
            out.append(" ")
        elif children:
            out.append(_emit(children, table=table, in_link=in_link))
        else:  # inline_html and anything this parser may add: shown as the text it is
            out.append(_md_text(str(t.get("raw", "")), backtick="&#96;"))
    return "".join(out)


def author_md(text: Any, limit: int = 5000, *, table: bool = False) -> str:
    """Markdown the author wrote (incident.yaml) rewritten to its safe part, on one line.

    Parsed as inline Markdown (mistune, as nbconvert reads it) and written back: emphasis, strong,
    strike-through, code spans and links to ``http``, ``https``, ``mailto`` or a ``#fragment`` stay;
    a link to anything else becomes its text; an image becomes a link to it with its alt text (or
    its alt text alone), so the document never fetches one; raw HTML, reference links and
    everything else show as the text they are. The text itself is escaped as :func:`esc` escapes
    evidence, so the result reads the same in every Markdown renderer; ``table`` for a table cell.
    """
    s = _one_line(text, limit)
    if not s:
        return ""
    return _line_start(_emit(_inline_parser()(s, {"ref_links": {}}), table=table))


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
        env.filters.update(esc=esc, md=functools.partial(author_md, table=True), code=code)
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
