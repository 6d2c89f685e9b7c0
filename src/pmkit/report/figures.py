"""Plotly figures a person would rather look at than read.

Every function takes frames (or analysis results) and returns a ``plotly.graph_objects.Figure``;
nothing is shown or written here. Times are UTC on every axis.

Plotly reads a subset of HTML in its text (``<br>``, ``<a href>``, ``<span style>``, ``<b>``,
``<i>``, ``<sub>``, ``<sup>``): every text that comes from the evidence or the spec (hover text,
lane and trace names, annotations, titles) goes through :func:`pmkit.report.present.plotly_text`,
which plotly shows as the characters they are.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING

import plotly.graph_objects as go
import polars as pl

from pmkit.analysis.milestones import Milestones
from pmkit.analysis.slo import SloResult
from pmkit.report.present import plotly_text

if TYPE_CHECKING:
    from pmkit.pipeline import Analysis

KIND_COLORS = {
    "log": "#7f8c8d",
    "metric": "#16a085",
    "deploy": "#2980b9",
    "chat": "#8e44ad",
    "alert": "#e67e22",
    "page": "#c0392b",
    "note": "#2c3e50",
}
MILESTONE_COLORS = {
    "impact_start": "#c0392b",
    "detected": "#e67e22",
    "acknowledged": "#f1c40f",
    "declared": "#8e44ad",
    "mitigated": "#27ae60",
    "resolved": "#2c3e50",
}
_LAYOUT = {"template": "plotly_white", "margin": {"l": 60, "r": 20, "t": 50, "b": 40}, "hovermode": "closest"}


def _milestone_lines(fig: go.Figure, milestones: Milestones | None, *, labels: bool = True) -> None:
    """Dashed vertical lines (and labels) at the milestones, added in one layout update (add_vline is slow)."""
    if milestones is None:
        return
    shapes, notes = [], []
    for m in milestones.items:
        if m.ts is None:
            continue
        color = MILESTONE_COLORS[m.name]
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": m.ts,
                "x1": m.ts,
                "y0": 0,
                "y1": 1,
                "line": {"width": 1, "dash": "dash", "color": color},
            }
        )
        if labels:
            notes.append(
                {
                    "x": m.ts,
                    "y": 1.0,
                    "xref": "x",
                    "yref": "paper",
                    "text": m.name.replace("_", " "),
                    "showarrow": False,
                    "textangle": -90,
                    "xanchor": "right",
                    "yanchor": "top",
                    "font": {"size": 10, "color": color},
                }
            )
    fig.update_layout(shapes=[*fig.layout.shapes, *shapes], annotations=[*fig.layout.annotations, *notes])


def swimlane(timeline: pl.DataFrame, milestones: Milestones | None = None, *, key_only: bool = True) -> go.Figure:
    """Events by source (one lane each) over time, coloured by kind, with the milestones as lines.

    With ``key_only`` (default) only key events are drawn, plus error logs thinned to one
    marker per source and minute so a million-line log stays drawable.
    """
    tl = timeline
    if key_only and "key" in tl.columns:
        errs = (
            tl.filter((pl.col("kind") == "log") & pl.col("level").is_in(["error", "critical"]) & ~pl.col("key"))
            .with_columns(pl.col("ts").dt.truncate("1m").alias("_m"))
            .unique(["source", "_m"], keep="first", maintain_order=True)
            .drop("_m")
        )
        tl = pl.concat([tl.filter(pl.col("key")), errs]).sort("ts")
    fig = go.Figure()
    for kind in KIND_COLORS:
        part = tl.filter(pl.col("kind") == kind)
        if part.height == 0:
            continue
        fig.add_trace(
            go.Scattergl(
                x=part["ts"].to_list(),
                y=[plotly_text(s) for s in part["source"].to_list()],
                mode="markers",
                name=kind,
                marker={
                    "color": KIND_COLORS[kind],
                    "size": 9 if kind != "log" else 6,
                    "symbol": "line-ns-open" if kind == "log" else "circle",
                },
                text=[plotly_text(m[:160]) for m in part["message"].to_list()],
                hovertemplate="%{x|%H:%M:%S} UTC<br>%{text}<extra>%{y}</extra>",
            )
        )
    _milestone_lines(fig, milestones)
    fig.update_layout(title="Timeline by source (UTC)", height=120 + 40 * max(1, tl["source"].n_unique()), **_LAYOUT)
    fig.update_yaxes(type="category", title=None)
    fig.update_xaxes(title="UTC")
    if milestones is not None:  # open on the incident (older deploys stay a pan or zoom-out away)
        times = [m.ts for m in milestones.items if m.ts is not None]
        if times:
            fig.update_xaxes(range=[min(times) - dt.timedelta(hours=1), max(times) + dt.timedelta(minutes=15)])
    return fig


def error_ratio(
    minutes: pl.DataFrame,
    *,
    impact: tuple[dt.datetime | None, dt.datetime | None] | None = None,
    deploys: pl.DataFrame | None = None,
    latency: pl.DataFrame | None = None,
    milestones: Milestones | None = None,
) -> go.Figure:
    """Per-minute error ratio (and p95 latency when given: ``ts``, ``p95_ms``), impact shaded, deploys marked."""
    m = minutes.with_columns(
        pl.when(pl.col("total") > 0).then(pl.col("bad") / pl.col("total")).otherwise(None).alias("ratio")
    )
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=m["ts"].to_list(), y=m["ratio"].to_list(), name="error ratio", mode="lines", line={"color": "#c0392b"}
        )
    )
    if latency is not None and latency.height:
        fig.add_trace(
            go.Scatter(
                x=latency["ts"].to_list(),
                y=latency["p95_ms"].to_list(),
                name="p95 latency (ms)",
                yaxis="y2",
                mode="lines",
                line={"color": "#2980b9", "dash": "dot"},
            )
        )
        fig.update_layout(yaxis2={"title": "p95 latency (ms)", "overlaying": "y", "side": "right", "showgrid": False})
    if impact and impact[0] is not None:
        end = impact[1] or (m["ts"].max() if m.height else impact[0])
        fig.add_vrect(x0=impact[0], x1=end, fillcolor="#c0392b", opacity=0.08, line_width=0, annotation_text="impact")
    if deploys is not None and deploys.height:
        rows = list(deploys.iter_rows(named=True))
        fig.update_layout(
            shapes=[
                *fig.layout.shapes,
                *(
                    {
                        "type": "line",
                        "xref": "x",
                        "yref": "paper",
                        "x0": r["ts"],
                        "x1": r["ts"],
                        "y0": 0,
                        "y1": 1,
                        "line": {"width": 1, "color": KIND_COLORS["deploy"]},
                    }
                    for r in rows
                ),
            ],
            annotations=[
                *fig.layout.annotations,
                *(
                    {
                        "x": r["ts"],
                        "y": 0,
                        "xref": "x",
                        "yref": "paper",
                        "text": plotly_text(str(r.get("label") or "deploy")[:30]),
                        "showarrow": False,
                        "textangle": -90,
                        "xanchor": "left",
                        "yanchor": "bottom",
                        "font": {"size": 9},
                    }
                    for r in rows
                ),
            ],
        )
    _milestone_lines(fig, milestones, labels=False)
    fig.update_layout(title="Error ratio per minute (UTC)", height=380, **_LAYOUT)
    fig.update_layout(yaxis={"tickformat": ".0%", "title": "error ratio", "rangemode": "tozero"})
    return fig


def slo_burn(result: SloResult, *, window: tuple[dt.datetime, dt.datetime] | None = None) -> go.Figure:
    """Budget burn-down (share of the period's budget left) and burn rates against the workbook thresholds."""
    from plotly.subplots import make_subplots

    burn = result.burn
    allowed = 1 - result.objective / 100
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        subplot_titles=("Error budget left (share of the period's budget)", "Burn rate"),
    )
    if burn.height:
        rate = result.request_based.get("mean_requests_per_minute") or 1.0
        spent = burn.with_columns((pl.col("bad").cum_sum() / (rate * result.budget_minutes)).alias("spent"))
        if result.type == "time-slice":
            ratio = pl.when(pl.col("total") > 0).then(pl.col("bad") / pl.col("total")).otherwise(0.0)
            thr = result.time_slice.get("threshold") or allowed
            spent = burn.with_columns(((ratio > thr).cast(pl.Float64).cum_sum() / result.budget_minutes).alias("spent"))
        prior = 0.0
        if result.remaining is not None and result.consumed is not None:
            prior = 1 - result.remaining - result.consumed
        start_left = 1.0 - prior
        fig.add_trace(
            go.Scatter(
                x=spent["ts"].to_list(),
                y=(start_left - spent["spent"]).to_list(),
                name="budget left",
                mode="lines",
                line={"color": "#27ae60"},
            ),
            row=1,
            col=1,
        )
        for col, color in (
            ("burn_5m", "#e74c3c"),
            ("burn_1h", "#c0392b"),
            ("burn_30m", "#e67e22"),
            ("burn_6h", "#d35400"),
        ):
            if col in burn.columns:
                # null while the window reaches before the evidence (analysis.slo.burn_rate_series)
                short_of_history = burn.height > 0 and burn[col].null_count() == burn.height
                fig.add_trace(
                    go.Scatter(
                        x=burn["ts"].to_list(),
                        y=burn[col].to_list(),
                        name=col.replace("burn_", "burn ") + (" (not enough history)" if short_of_history else ""),
                        mode="lines",
                        line={"color": color, "width": 1},
                    ),
                    row=2,
                    col=1,
                )
        for r in result.alerts.iter_rows(named=True):
            if r["long_window"] in ("1h", "6h"):
                fig.add_hline(
                    y=r["factor"],
                    line_dash="dot",
                    line_width=1,
                    row=2,
                    col=1,
                    annotation_text=plotly_text(f"{r['alert']}: {r['factor']:g}x"),
                    annotation_font_size=9,
                )
            if r["fired_at"] is not None:
                fig.add_vline(x=r["fired_at"], line_dash="dash", line_color="#e67e22", line_width=1)
    if result.first_page is not None:
        fig.add_vline(
            x=result.first_page,
            line_color="#c0392b",
            line_width=1,
            annotation_text="first page",
            annotation_font_size=9,
        )
    if window:
        fig.add_vrect(x0=window[0], x1=window[1], fillcolor="#c0392b", opacity=0.06, line_width=0)
    peak = 1.0
    for col in ("burn_5m", "burn_1h", "burn_30m", "burn_6h"):
        if col in burn.columns and burn.height:
            peak = max(peak, float(burn.select(pl.col(col).max()).item() or 0.0))
    # log axis from 0.1x to above the peak (zeros would stretch it to nothing)
    fig.update_yaxes(type="log", range=[-1, math.log10(peak * 2)], row=2, col=1, title="x budget rate")
    fig.update_yaxes(tickformat=".0%", row=1, col=1)
    fig.update_layout(
        title=plotly_text(f"SLO {result.name}: {result.objective}% over {result.period}"), height=560, **_LAYOUT
    )
    return fig


def signatures_over_time(events: pl.DataFrame, template_ids: pl.Series, top: pl.DataFrame, *, n: int = 6) -> go.Figure:
    """Counts per minute of the top ``n`` signatures (``top``: rows with ``template``), stacked."""
    fig = go.Figure()
    ev = events.with_columns(template_ids.alias("_tpl")).filter(pl.col("_tpl").is_not_null())
    for tpl in top.head(n).get_column("template").to_list():
        per = ev.filter(pl.col("_tpl") == tpl).group_by_dynamic("ts", every="1m").agg(pl.len().alias("n"))
        fig.add_trace(go.Bar(x=per["ts"].to_list(), y=per["n"].to_list(), name=plotly_text(tpl[:60])))
    fig.update_layout(barmode="stack", title="Log signatures per minute (UTC)", height=360, **_LAYOUT)
    return fig


def latency_per_minute(analysis: Analysis) -> pl.DataFrame | None:
    """p95 latency per minute (``ts``, ``p95_ms``) from request durations, else from a latency metric."""
    sli = analysis.sli
    if sli.requests is not None and sli.requests.get_column("duration_s").drop_nulls().len():
        return (
            sli.requests.drop_nulls("duration_s")
            .sort("ts")
            .group_by_dynamic("ts", every="1m")
            .agg((pl.col("duration_s").quantile(0.95) * 1000).alias("p95_ms"))
        )
    series = analysis.incident.series
    lat = series.filter(pl.col("metric").str.contains("(?i)latency|duration"))
    if lat.height == 0:
        return None
    name = lat.get_column("metric").sort()[0]
    scale = 1000.0 if "second" in name else 1.0
    return (
        lat.filter(pl.col("metric") == name)
        .sort("ts")
        .group_by_dynamic("ts", every="1m")
        .agg((pl.col("value").max() * scale).alias("p95_ms"))
    )


def incident_figures(analysis: Analysis) -> dict[str, go.Figure]:
    """The document's figures for an :class:`~pmkit.pipeline.Analysis`, in reading order."""
    a = analysis
    ms = a.milestones
    figs: dict[str, go.Figure] = {}
    window = (ms.impact_start, ms.mitigated)
    marks = []
    for r in a.suspects.head(3).iter_rows(named=True):
        marks.append({"ts": r["ts"], "label": f"{r['service']} {r['version'] or ''}".strip()})
    if a.rollback and a.rollback.get("start"):
        marks.append({"ts": a.rollback["start"], "label": f"rollback {a.rollback.get('version') or ''}".strip()})
    deploys = pl.DataFrame(marks, schema={"ts": pl.Datetime("us", "UTC"), "label": pl.String})
    if a.sli.minutes.height:
        figs["error_ratio"] = error_ratio(
            a.sli.minutes,
            impact=window,
            deploys=deploys,
            latency=latency_per_minute(a),
            milestones=ms,
        )
    slo_window = (ms.impact_start, ms.mitigated) if ms.impact_start and ms.mitigated else None
    for slo in a.slos:
        if slo.burn.height:
            figs[f"slo_{slo.name}"] = slo_burn(slo, window=slo_window)
    figs["swimlane"] = swimlane(a.timeline.frame, ms)
    if a.signatures.height and ms.impact_start is not None:
        from pmkit.analysis.signatures import template_of

        logs = a.incident.events
        figs["signatures"] = signatures_over_time(logs, template_of(logs), a.signatures)
    return figs
