"""The grok workbench's presentation: :func:`grok_debug` for notebooks (HTML) and the terminal texts of ``pmkit grok``.

The data come from :mod:`pmkit.sources.grokbench`; here they are shown: the notebook view
through the template ``report/views/grok_debug.html.j2`` (autoescaped: evidence is text),
the terminal through plain strings (the CLI strips control characters).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import polars as pl

from pmkit.report.present import view
from pmkit.sources.grokbench import CatalogEntry, GrokDebug, Suggestion, debug, show_element


@dataclass(frozen=True)
class GrokDebugView:
    """A :class:`GrokDebug` that shows itself: ``_repr_html_`` in a notebook, ``str()`` in a terminal."""

    debug: GrokDebug

    def _repr_html_(self) -> str:
        return view("grok_debug", d=self.debug, show=show_element)

    def __str__(self) -> str:
        return debug_text(self.debug)


def grok_debug(
    pattern: str,
    lines: Iterable[str] | pl.Series | str,
    *,
    patterns: Mapping[str, str] | None = None,
    anchored: bool = True,
    dotall: bool = False,
) -> GrokDebugView:
    """Why lines do not match ``pattern`` (see :func:`pmkit.sources.grokbench.debug`), shown in a notebook."""
    return GrokDebugView(debug(pattern, lines, patterns=patterns, anchored=anchored, dotall=dotall))


def _clip(text: str, n: int = 100) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def debug_text(d: GrokDebug, limit: int = 10) -> str:
    """The terminal report of :func:`debug`: counts, then each failure point with an example and a hint."""
    where = "the whole line must match" if d.anchored else "anywhere in the line"
    out = [f"pattern: {d.expr}", f"{d.matched:,} of {d.total:,} lines match ({where}; engine {d.engine})"]
    if d.failing:
        out.append(f"{d.failing:,} lines do not; where they stop (longest matching prefix of the pattern's elements):")
    for g in d.failures[:limit]:
        inside = f" inside {' > '.join(g.path)}" if g.path else ""
        what = (
            f"element {g.position + 1} of {len(g.elements)}: {show_element(g.element)}"
            if g.element
            else "after the last element"
        )
        out += [
            "",
            f"  {g.count:,} line(s) stop at {what}{inside}",
            f"    line {g.line_no}: {_clip(g.line)}",
            f"    matched:  {_clip(g.matched_text)!r}",
            f"    then:     {_clip(g.rest)!r}",
            f"    hint: {g.hint}",
        ]
        if g.matching_here:
            found = ", ".join(f"%{{{n}}} ({_clip(t, 30)!r})" for n, t in g.matching_here[:5])
            out.append(f"    library patterns matching there: {found}")
    if len(d.failures) > limit:
        out.append(f"  ... and {len(d.failures) - limit} more failure points")
    out += [f"note: {n}" for n in d.notes]
    return "\n".join(out)


def suggestion_text(s: Suggestion) -> str:
    """The terminal report of :func:`pmkit.sources.grokbench.suggest`."""
    out = [
        f"suggested pattern: {s.expr}",
        f"matches {s.matched:,} of {s.total:,} sample lines ({s.share:.0%}); candidates tried:",
    ]
    out += [f"  {n:>5,}  {expr}" for expr, n in s.tried]
    if s.note:
        out.append(f"note: {s.note}")
    return "\n".join(out)


def catalog_text(entries: Iterable[CatalogEntry], *, markdown: bool = False) -> str:
    """``pmkit grok --list``: one pattern per block (terminal) or a Markdown table (``--markdown``)."""
    if markdown:
        rows = [
            "| name | defined in | regex | example |",
            "|---|---|---|---|",
        ]
        for e in entries:
            ex = "" if e.example is None else _md_code(e.example) + (" (generated)" if e.generated else "")
            rows.append(f"| `{e.name}` | {e.origin} | {_md_code(e.regex)} | {ex} |")
        return "\n".join(rows)
    out = []
    for e in entries:
        ex = "(none found)" if e.example is None else e.example + ("   (generated)" if e.generated else "")
        out += [f"{e.name}  [{e.origin}]", f"  regex:   {e.regex}", f"  example: {ex}"]
    return "\n".join(out)


def _md_code(text: str) -> str:
    """Text as an inline code span inside a Markdown table cell (pipes escaped, backticks fenced)."""
    body = text.replace("|", "\\|").replace("\t", "\\t")
    fence = "``" if "`" in body else "`"
    pad = " " if body.startswith("`") or body.endswith("`") else ""
    return f"{fence}{pad}{body}{pad}{fence}"
