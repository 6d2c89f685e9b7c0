"""What the explorer draws from a filtered frame: the swimlane's traces and the escaped HTML tables.

Pure functions (no widgets) used by :class:`pmkit.report.explore.Explorer`: the first rows as an
HTML table with every value escaped and the search matches marked, a milestone's evidence as a
small table, and plotly scatter traces styled as :func:`pmkit.report.figures.swimlane`.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any

import polars as pl

from pmkit.analysis.milestones import evidence_label
from pmkit.timeutil import as_utc

if TYPE_CHECKING:
    from pmkit.analysis.milestones import Milestone

MAX_ROWS = 200  # rows the events table shows
TS_FORMAT = "%Y-%m-%d %H:%M:%S"  # second-precision UTC times in the tables and texts


def swimlane_traces(events: pl.DataFrame) -> list[dict[str, Any]]:
    """Scatter traces for a swimlane (one lane per source, one trace per kind), styled as ``figures.swimlane``.

    SVG ``scatter`` rather than WebGL: the explorer draws a few thousand markers at most and
    then needs no WebGL context (headless browsers and many open figures run out of them).
    """
    from pmkit.report.figures import KIND_COLORS
    from pmkit.report.present import plotly_text

    traces = []
    for kind, color in KIND_COLORS.items():
        part = events.filter(pl.col("kind") == kind)
        if part.height == 0:
            continue
        traces.append(
            {
                "type": "scatter",
                "x": part.get_column("ts").to_list(),
                "y": [plotly_text(v) for v in part.get_column("source").to_list()],
                "mode": "markers",
                "name": kind,
                "marker": {
                    "color": color,
                    "size": 9 if kind != "log" else 6,
                    "symbol": "line-ns-open" if kind == "log" else "circle",
                },
                "text": [plotly_text(v) for v in part.get_column("message").str.slice(0, 160).to_list()],
                "hovertemplate": "%{x|%Y-%m-%d %H:%M:%S} UTC<br>%{text}<extra>%{y}</extra>",
            }
        )
    return traces


def _highlight(text: str, pattern: re.Pattern[str] | None) -> str:
    """``text`` escaped for HTML, with the search matches wrapped in ``<mark>``."""
    if pattern is None:
        return html.escape(text)
    out, pos = [], 0
    for m in pattern.finditer(text):
        out += [html.escape(text[pos : m.start()]), "<mark>", html.escape(m.group()), "</mark>"]
        pos = m.end()
    out.append(html.escape(text[pos:]))
    return "".join(out)


def events_table_html(
    events: pl.DataFrame,
    *,
    limit: int = MAX_ROWS,
    text: str | None = None,
    width: int = 300,
    marks: dict[str, str] | None = None,
) -> str:
    """The first ``limit`` events as an HTML table, every value escaped, ``text`` matches marked.

    Messages longer than ``width`` characters are cut (the full text stays in the frame). ``marks``
    (origin to text, :func:`pmkit.report.explore_filters.curation_marks`) adds a "timeline" column:
    what the curated timeline and the author's ``timeline:`` did with each event. A ``phase`` column
    (:func:`pmkit.analysis.phases.tag_events`) is shown as "phase".
    """
    pattern = re.compile(re.escape(text), re.IGNORECASE) if text else None
    head: tuple[str, ...] = ("time (UTC)", "source", "kind", "service", "level", "message", "origin")
    if marks is not None:
        head = (*head, "timeline")
    phased = "phase" in events.columns
    if phased:
        head = (*head, "phase")
    rows = []
    for r in events.head(limit).iter_rows(named=True):
        msg = r["message"] if len(r["message"]) <= width else r["message"][:width] + "…"
        level = r["level"] or ""
        rows.append(
            f'<tr class="pmkit-level-{html.escape(level)}">'
            f"<td>{r['ts']:%Y-%m-%d %H:%M:%S}.{r['ts'].microsecond // 1000:03d}</td>"
            f"<td>{html.escape(r['source'])}</td><td>{html.escape(r['kind'])}</td>"
            f"<td>{html.escape(r['service'] or '')}</td><td>{html.escape(level)}</td>"
            f"<td>{_highlight(msg, pattern)}</td><td>{html.escape(r['origin'])}</td>"
            + (f"<td>{html.escape(marks.get(r['origin'], ''))}</td>" if marks is not None else "")
            + (f"<td>{html.escape(r['phase'] or '')}</td>" if phased else "")
            + "</tr>"
        )
    if not rows:
        return '<p class="pmkit-empty">No events match these filters.</p>'
    return (
        '<div style="max-height:420px;overflow:auto"><table class="pmkit-events" '
        'style="font-size:12px;border-collapse:collapse"><thead><tr>'
        + "".join(f'<th style="text-align:left;position:sticky;top:0;background:#fff">{h}</th>' for h in head)
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div>"
    )


def evidence_html(milestone: Milestone) -> str:
    """A milestone's time, how it was found and its evidence row (origin, source, message...), escaped."""
    when = "not found" if milestone.ts is None else f"{as_utc(milestone.ts):{TS_FORMAT}} UTC"
    fields: list[tuple[str, Any]] = [("time", when), ("method", milestone.method), ("from", evidence_label(milestone))]
    ev = milestone.evidence
    for key in ("origin", "source", "kind", "actor", "message", "method_detail"):
        if ev.get(key) is not None:
            fields.append((key.replace("_", " "), ev[key]))
    for key, value in ev.items():
        if key not in {"origin", "source", "kind", "actor", "message", "method_detail"} and value is not None:
            fields.append((key.replace("_", " "), value))
    body = "".join(
        f'<tr><th style="text-align:left;padding-right:1em">{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>'
        for k, v in fields
    )
    return (
        f'<div class="pmkit-evidence"><strong>{html.escape(milestone.name.replace("_", " "))}</strong>'
        f"<table>{body}</table></div>"
    )
