"""Plotly figures a person would rather look at than read.

Every function takes frames (or analysis results) and returns a ``plotly.graph_objects.Figure``;
nothing is shown or written here. Times are UTC on every axis.

Legible by rule (tests/report/test_figures.py checks each): every line of a plot is in the legend (the
milestone, change, rollback, threshold, replayed-alert and first-page lines are shapes named with their
time, never rotated labels, which collided when milestones were minutes apart); colours come from the
Okabe-Ito palette (:data:`OKABE_ITO`), one per line, a burn rate's long window solid and its short window
dotted; a measured series never shares a milestone's colour (:data:`SERIES_COLOR`, :data:`LATENCY_COLOR`)
and no two legend lines share colour and dash; a latency axis starts at 0 in ms; the swimlane is tall enough for its whole legend.

Plotly reads a subset of HTML in its text (``<br>``, ``<a href>``, ``<span style>``, ``<b>``,
``<i>``, ``<sub>``, ``<sup>``): every text that comes from the evidence or the spec (hover text,
lane and trace names, annotations, titles) goes through :func:`pmkit.report.present.plotly_text`,
which plotly shows as the characters they are.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any

import plotly.graph_objects as go
import polars as pl

from pmkit.analysis.changes import NON_PROD
from pmkit.analysis.milestones import Milestones
from pmkit.analysis.slo import SloResult
from pmkit.report.present import plotly_text
from pmkit.timeutil import fmt_utc

if TYPE_CHECKING:
    from pmkit.pipeline import Analysis

# Okabe & Ito's colour-blind-safe palette (https://jfly.uni-koeln.de/color/): the milestone, change and burn-rate
# lines take one colour each from it, so no two lines of a figure differ by a shade a reader cannot tell apart
OKABE_ITO = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "black": "#000000",
}
KIND_COLORS = {
    "log": "#7f7f7f",
    "metric": OKABE_ITO["bluish_green"],
    "deploy": OKABE_ITO["blue"],
    "chat": OKABE_ITO["reddish_purple"],
    "alert": OKABE_ITO["orange"],
    "page": OKABE_ITO["vermillion"],
    "note": OKABE_ITO["black"],
}
MILESTONE_COLORS = {
    "impact_start": OKABE_ITO["vermillion"],
    "detected": OKABE_ITO["orange"],
    "acknowledged": OKABE_ITO["sky_blue"],
    "declared": OKABE_ITO["reddish_purple"],
    "mitigated": OKABE_ITO["bluish_green"],
    "resolved": OKABE_ITO["black"],
}
# the burn-rate windows: a long window solid, its short window dotted, each pair in its own colours
BURN_STYLES = {
    "burn_1h": (OKABE_ITO["vermillion"], "solid"),
    "burn_5m": (OKABE_ITO["reddish_purple"], "dot"),
    "burn_6h": (OKABE_ITO["blue"], "solid"),
    "burn_30m": (OKABE_ITO["bluish_green"], "dot"),
}
# the measured series in the Okabe-Ito colours no milestone line uses, so a series never reads as a milestone
SERIES_COLOR = OKABE_ITO["blue"]
LATENCY_COLOR = "#999999"
CHANGE_COLOR = "#555555"  # neutral: a change is context, the coloured lines are the incident's
ROLLBACK_COLOR = OKABE_ITO["bluish_green"]
LEGEND_ROW = 24  # pixels per legend entry (font 12, with the gap between the trace and line groups), for figures sized to their legend
_LAYOUT = {
    "template": "plotly_white",
    "margin": {"l": 60, "r": 20, "t": 50, "b": 40},
    "hovermode": "closest",
    "legend": {"tracegroupgap": 4},
}


def _vline(x: dt.datetime, name: str, color: str, dash: str, *, group: str, width: float = 1.5) -> dict[str, Any]:
    """A vertical line across the plot, named in the legend (a shape with ``showlegend``): labels on the plot
    collide when lines are minutes apart; legend entries never do."""
    return {
        "type": "line",
        "xref": "x",
        "yref": "paper",
        "x0": x,
        "x1": x,
        "y0": 0,
        "y1": 1,
        "line": {"width": width, "dash": dash, "color": color},
        "name": name,
        "showlegend": True,
        "legendgroup": group,
    }


def _milestone_lines(fig: go.Figure, milestones: Milestones | None, *, labels: bool = True) -> None:
    """Dashed vertical lines at the milestones, each named with its time in the legend (added in one layout
    update: add_vline is slow). ``labels=False`` keeps the lines out of the legend (a figure that shows them
    elsewhere)."""
    if milestones is None:
        return
    shapes = []
    for m in milestones.items:
        if m.ts is None:
            continue
        line = _vline(
            m.ts,
            f"{m.name.replace('_', ' ')} {fmt_utc(m.ts, 'hm')}",
            MILESTONE_COLORS[m.name],
            "dash",
            group="milestones",
        )
        line["showlegend"] = labels
        shapes.append(line)
    fig.update_layout(shapes=[*fig.layout.shapes, *shapes])


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
    entries = len(fig.data) + sum(1 for m in (milestones.items if milestones else ()) if m.ts is not None)
    # tall enough for every lane and for the whole legend (a scrolled legend hides its last entries)
    height = max(120 + 40 * max(1, tl["source"].n_unique()), 110 + LEGEND_ROW * entries)
    fig.update_layout(title="Timeline by source (UTC)", height=height, **_LAYOUT)
    fig.update_yaxes(type="category", title=None)
    fig.update_xaxes(title="UTC")
    if milestones is not None:  # open on the incident (older deploys stay a pan or zoom-out away)
        times = [m.ts for m in milestones.items if m.ts is not None]
        if times:
            fig.update_xaxes(range=[min(times) - dt.timedelta(hours=1), max(times) + dt.timedelta(minutes=15)])
    return fig


def _latency_axis() -> dict[str, Any]:
    """The p95 latency axis: from 0 (a latency is never negative; autorange alone padded it to "-0.56k"), in ms
    with round ticks."""
    return {
        "title": None,  # the ticks say ms and the trace's legend entry says "right axis"
        "overlaying": "y",
        "side": "right",
        "showgrid": False,
        "rangemode": "tozero",
        "tickmode": "auto",  # round values of its own, not ticks synced to the error-ratio grid (7,488 ms)
        "nticks": 6,
        "tickformat": ",.0f",
        "ticksuffix": " ms",
    }


def error_ratio(
    minutes: pl.DataFrame,
    *,
    impact: tuple[dt.datetime | None, dt.datetime | None] | None = None,
    deploys: pl.DataFrame | None = None,
    latency: pl.DataFrame | None = None,
    milestones: Milestones | None = None,
    what: str = "error ratio",
) -> go.Figure:
    """Per-minute error ratio (and p95 latency when given: ``ts``, ``p95_ms``), impact shaded, changes and
    milestones as vertical lines named in the legend (``deploys``: ``ts``, ``label``; a label starting with
    "rollback" is drawn as the rollback). ``what`` names the ratio (a latency SLI's is the share of slow
    requests, not an error ratio)."""
    m = minutes.with_columns(
        pl.when(pl.col("total") > 0).then(pl.col("bad") / pl.col("total")).otherwise(None).alias("ratio")
    )
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=m["ts"].to_list(),
            y=m["ratio"].to_list(),
            name=what,
            mode="lines",
            line={"color": SERIES_COLOR, "width": 2},
        )
    )
    if latency is not None and latency.height:
        fig.add_trace(
            go.Scatter(
                x=latency["ts"].to_list(),
                y=latency["p95_ms"].to_list(),
                name="p95 latency (ms, right axis)",
                yaxis="y2",
                mode="lines",
                line={"color": LATENCY_COLOR, "dash": "dot"},
            )
        )
        fig.update_layout(yaxis2=_latency_axis())
    shapes: list[dict[str, Any]] = []
    if impact and impact[0] is not None:
        last = m.select(pl.col("ts").max()).item() if m.height else None
        end = impact[1] or (last if isinstance(last, dt.datetime) else impact[0])
        shapes.append(_impact_rect(impact[0], end))
    if deploys is not None and deploys.height:
        for r in deploys.iter_rows(named=True):
            label = str(r.get("label") or "deploy")[:40]
            rollback = label.startswith("rollback")
            shapes.append(
                _vline(
                    r["ts"],
                    plotly_text(f"{'' if rollback else 'change '}{label} {fmt_utc(r['ts'], 'hm')}"),
                    ROLLBACK_COLOR if rollback else CHANGE_COLOR,
                    "dashdot" if rollback else "solid",
                    group="changes",
                    width=1,
                )
            )
    fig.update_layout(shapes=[*fig.layout.shapes, *shapes])
    _milestone_lines(fig, milestones)
    fig.update_layout(title=f"{what[:1].upper()}{what[1:]} per minute (UTC)", height=420, **_LAYOUT)
    fig.update_layout(yaxis={"tickformat": ".0%", "title": what, "rangemode": "tozero"})
    if latency is not None and latency.height:
        fig.update_layout(legend={"x": 1.1, "xanchor": "left"})  # clear of the right axis's tick labels
    return fig


def _impact_rect(x0: dt.datetime, x1: dt.datetime, opacity: float = 0.08) -> dict[str, Any]:
    """The impact window shaded, named in the legend."""
    return {
        "type": "rect",
        "xref": "x",
        "yref": "paper",
        "x0": x0,
        "x1": x1,
        "y0": 0,
        "y1": 1,
        "fillcolor": OKABE_ITO["vermillion"],
        "opacity": opacity,
        "line": {"width": 0},
        "layer": "below",
        "name": f"impact {fmt_utc(x0, 'hm')}–{fmt_utc(x1, 'hm')}",
        "showlegend": True,
        "legendgroup": "impact",
    }


def slo_burn(result: SloResult, *, window: tuple[dt.datetime, dt.datetime] | None = None) -> go.Figure:
    """Budget burn-down (share of the period's budget left) and burn rates against the workbook thresholds.

    Every line is named in the legend: the burn rates (a long window solid, its short window dotted, in
    colours of :data:`OKABE_ITO`), the alert thresholds, when a replayed alert would have fired, and the
    first page."""
    from plotly.subplots import make_subplots

    burn = result.burn
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.1,
        subplot_titles=("Error budget left (share of the period's budget)", "Burn rate (x the budget rate, log scale)"),
    )
    shapes: list[dict[str, Any]] = []
    fired: list[dict[str, Any]] = []
    if burn.height:
        rate = result.request_based.get("mean_requests_per_minute") or 1.0
        allowed = 1 - result.objective / 100
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
                line={"color": OKABE_ITO["black"], "width": 2},
            ),
            row=1,
            col=1,
        )
        for col, (color, dash) in BURN_STYLES.items():
            if col in burn.columns:
                # null while the window reaches before the evidence (analysis.slo.burn_rate_series)
                short_of_history = burn[col].null_count() == burn.height
                fig.add_trace(
                    go.Scatter(
                        x=burn["ts"].to_list(),
                        y=burn[col].to_list(),
                        name=col.replace("burn_", "burn rate ") + (" (not enough history)" if short_of_history else ""),
                        mode="lines",
                        line={"color": color, "width": 1.5, "dash": dash},
                    ),
                    row=2,
                    col=1,
                )
        for r in result.alerts.iter_rows(named=True):
            if r["long_window"] in ("1h", "6h"):
                shapes.append(
                    {
                        "type": "line",
                        "xref": "x2 domain",
                        "yref": "y2",
                        "x0": 0,
                        "x1": 1,
                        "y0": r["factor"],
                        "y1": r["factor"],
                        "line": {
                            "width": 1,
                            "dash": "dot",
                            "color": OKABE_ITO["black"] if r["long_window"] == "1h" else "#777777",
                        },
                        "name": plotly_text(f"threshold {r['factor']:g}x ({r['alert']})"),
                        "showlegend": True,
                        "legendgroup": "thresholds",
                    }
                )
            if r["fired_at"] is not None:
                fired.append(
                    _vline(
                        r["fired_at"],
                        plotly_text(f"{r['alert']} would have fired {fmt_utc(r['fired_at'], 'hm')}"),
                        OKABE_ITO["orange"],
                        "dash",
                        group="replay",
                        width=1,
                    )
                )
    shapes += fired  # after the thresholds, so the legend lists them together
    if result.first_page is not None:
        shapes.append(
            _vline(
                result.first_page,
                f"first page {fmt_utc(result.first_page, 'hm')}",
                OKABE_ITO["sky_blue"],
                "solid",
                group="page",
            )
        )
    if window:
        shapes.append(_impact_rect(window[0], window[1], 0.06))
    fig.update_layout(shapes=[*fig.layout.shapes, *shapes])
    peak = 1.0
    for col in BURN_STYLES:
        if col in burn.columns and burn.height:
            peak = max(peak, float(burn.select(pl.col(col).max()).item() or 0.0))
    # log axis from 0.1x to above the peak (zeros would stretch it to nothing)
    fig.update_yaxes(type="log", range=[-1, math.log10(peak * 2)], row=2, col=1, title="x budget rate")
    fig.update_yaxes(tickformat=".0%", row=1, col=1)
    fig.update_layout(
        title=plotly_text(f"SLO {result.name}: {result.objective}% over {result.period}"), height=600, **_LAYOUT
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


def sli_ratio_name(a: Analysis) -> str:
    """What the SLI's per-minute ratio is: ``error ratio``, or with a latency SLI ``share of requests slower
    than 300 ms``, with a series SLI ``share of bad minutes``."""
    if a.sli.indicator == "errors":
        return "error ratio"
    if a.sli.kind == "series":
        return "bad share of the SLI's series"
    return f"share of requests {a.sli.bad_words}"


def change_lines(suspects: pl.DataFrame, n: int = 3) -> pl.DataFrame:
    """The changes drawn as lines on the SLI figure: the top ``n`` suspects that went to production (or name
    no environment). A staging deploy at the same minute is context in the suspects table ("went to staging,
    not production"), not a line beside the production error ratio, where it reads as a cause."""
    if "environment" in suspects.columns:
        suspects = suspects.filter(~pl.col("environment").str.contains(NON_PROD).fill_null(False))
    return suspects.head(n)


def incident_figures(analysis: Analysis) -> dict[str, go.Figure]:
    """The document's figures for an :class:`~pmkit.pipeline.Analysis`, in reading order."""
    a = analysis
    ms = a.milestones
    figs: dict[str, go.Figure] = {}
    window = (ms.impact_start, ms.mitigated)
    marks = []
    for r in change_lines(a.suspects).iter_rows(named=True):
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
            what=sli_ratio_name(a),
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
