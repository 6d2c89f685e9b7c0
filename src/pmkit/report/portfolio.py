"""The portfolio report: "are we getting better, and where do we burn budget?" as HTML and Markdown.

:func:`portfolio_view` turns a :class:`pmkit.portfolio.Portfolio` into the facts the templates show (each
sentence with its population and window); :func:`portfolio_figures` draws the plotly figures (incidents per
period, the MTTx trend, MTTR by service x severity, budget burn per service); :func:`render_portfolio`
writes ``portfolio.html`` (``report/views/portfolio_page.html.j2``: self-contained, plotly.js inline, no
request leaves the file, the page passed through :func:`pmkit.report.sanitize.clean_document`),
``portfolio.md`` (``report/tables/portfolio.md.j2``) and the per-incident table as ``incidents.csv`` (list
columns joined by ``; ``) and ``incidents.parquet`` (lists kept). The KPIs are :mod:`pmkit.portfolio.kpis`;
nothing is computed here that the KPIs do not define.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import polars as pl

from pmkit.portfolio import Portfolio
from pmkit.portfolio import kpis as K
from pmkit.report.present import html_env, markdown_env, plotly_text
from pmkit.timeutil import fmt_duration

SEVERITY_COLORS = {"SEV1": "#D55E00", "SEV2": "#E69F00", "SEV3": "#0072B2", "SEV4": "#009E73", "unknown": "#999999"}
METRIC_NAMES = {"mttd": "MTTD", "mtta": "MTTA", "mttm": "MTTM", "mttr": "MTTR"}
METRIC_COLORS = {"mttd": "#0072B2", "mtta": "#009E73", "mttm": "#E69F00", "mttr": "#D55E00"}
CONVENTION_WORDS = {"impact": "from impact start", "detection": "from detection", "any": ""}
_LAYOUT: dict[str, Any] = {"template": "plotly_white", "margin": {"l": 70, "r": 20, "t": 50, "b": 50}, "height": 420}


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 60.0


def _dur(seconds: float | None) -> str:
    return fmt_duration(seconds, missing="not measured")


def metric_label(metric: str, convention: str) -> str:
    """``MTTR (from impact start)``; MTTD and MTTA have no convention."""
    words = CONVENTION_WORDS.get(convention, convention)
    return f"{METRIC_NAMES[metric]} ({words})" if words else METRIC_NAMES[metric]


@dataclass(frozen=True)
class PortfolioView:
    """What the portfolio report says: headline sentences and the tables, as plain values."""

    title: str
    as_of: dt.date
    period: str
    trend_period: str
    services: tuple[str, ...]
    incidents: int
    read: int
    span: str
    sources: dict[str, int]
    headline: tuple[str, ...]
    counts: list[dict[str, Any]]
    mttx: list[dict[str, Any]]
    trend: list[dict[str, Any]]
    budget: list[dict[str, Any]]
    budget_periods: list[dict[str, Any]]
    completion: list[dict[str, Any]]
    gates: list[dict[str, Any]]
    actions: dict[str, Any]
    owners: list[dict[str, Any]]
    repeats: dict[str, list[dict[str, Any]]]
    uncategorised: int
    missing: list[dict[str, Any]]
    problems: tuple[str, ...]
    skipped: tuple[str, ...]
    rows: list[dict[str, Any]] = field(default_factory=list)


def _trend_sentence(r: dict[str, Any]) -> str:
    label = metric_label(r["metric"], r["convention"])
    if r["verdict"] == "too few":
        return f"{label}: too few measured incidents for a trend (fewer than two periods with 3 or more measured)."
    pct = f"{r['change'] * 100:+.0f}%"
    better = {"shorter": "better", "longer": "worse", "about the same": "about the same"}[r["verdict"]]
    return (
        f"{label} median went from {_dur(r['from_median'])} in {r['from_period']} ({r['from_measured']} measured) "
        f"to {_dur(r['to_median'])} in {r['to_period']} ({r['to_measured']} measured), {pct}: {better}."
    )


def portfolio_view(
    pf: Portfolio, *, period: str = "month", trend_period: str = "quarter", services: list[str] | None = None
) -> PortfolioView:
    """The facts of the report (see docs/analyses.md, "Portfolio", for every definition)."""
    sub = pf.only(services)
    inc = sub.incidents
    first, last = inc.select(
        pl.col("opened").min().dt.date().alias("a"), pl.col("opened").max().dt.date().alias("b")
    ).row(0)
    span = f"{first} to {last} (UTC, by the earliest milestone)" if first is not None else "no dates"
    change = K.trend_change(K.mttx_trend(inc, trend_period))
    trend_rows = [{**r, "sentence": _trend_sentence(r)} for r in change.iter_rows(named=True)]
    budget = K.budget_per_service(sub.slos)
    per_period = K.budget_per_period(sub.slos, period)
    completion = K.postmortem_completion(inc)
    gates = K.gate_failures(inc)
    actions = K.action_items(sub.actions, pf.as_of).row(0, named=True)
    owners = K.overdue_by_owner(sub.actions, pf.as_of)
    repeats = {w: K.repeat_offenders(inc, w) for w in ("root_cause_category", "services", "signatures")}
    missing = K.missing_milestones(inc)

    headline = []
    for r in trend_rows:
        if r["metric"] in ("mttr", "mttd") and r["convention"] in ("impact", "any"):
            headline.append(_trend_sentence(r))
    if budget.height:
        top = budget.row(0, named=True)
        worst_period = per_period.sort("share", descending=True, nulls_last=True).row(0, named=True)
        headline.append(
            f"Most error budget burnt: {top['service']} ({top['slo']}, {top['objective']:g}%), "
            f"{top['budgets']:.2f} SLO-period budgets over {top['incidents']} incidents "
            f"({top['consumed_minutes']:.0f} bad minutes); the largest single burn was {top['worst']} "
            f"({top['worst_budgets']:.2f} of a budget). Worst {period}: {worst_period['service']} in "
            f"{worst_period['period']}, {worst_period['share'] * 100:.0f}% of that {period}'s budget."
        )
    c = completion.row(0, named=True) if completion.height else None
    if c:
        most = gates.row(0, named=True) if gates.height else None
        headline.append(
            f"Postmortems complete (no quality gate failing): {c['complete']} of {c['incidents']} "
            f"({c['rate'] * 100:.0f}%)"
            + (f"; most failed gate: {most['gate']} ({most['incidents']})." if most else ".")
        )
    if actions["items"]:
        od = owners.filter(pl.col("overdue") > 0)
        who = od.row(0, named=True) if od.height else None
        headline.append(
            f"Action items done: {actions['done']} of {actions['items']} ({actions['completion'] * 100:.0f}%); "
            f"{actions['overdue']} overdue on {pf.as_of.isoformat()}"
            + (f", most held by {who['owner']} ({who['overdue']})." if who else ".")
        )
    cats = repeats["root_cause_category"]
    if cats.height:
        top_cat = cats.row(0, named=True)
        headline.append(
            f"Most recurring root-cause category: {top_cat['root_cause_category']} ({top_cat['incidents']} incidents); "
            f"{K.uncategorised(inc)} incidents have no category."
        )
    lacking = inc.filter(pl.col("missing").list.len() > 0).height
    headline.append(
        f"{lacking} of {inc.height} incidents lack at least one milestone: they are counted as missing in the "
        "MTTx figures, never dropped and never taken as zero."
    )

    def rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
        return frame.to_dicts()

    mttx = K.mttx_summary(inc, by=("severity",))
    overall = K.mttx_summary(inc, by=()).with_columns(severity=pl.lit("all"))
    mttx_all = pl.concat([mttx, overall.select(mttx.columns)], how="vertical")
    return PortfolioView(
        title="Incident portfolio",
        as_of=pf.as_of,
        period=period,
        trend_period=trend_period,
        services=tuple(services or ()),
        incidents=inc.height,
        read=len(pf),
        span=span,
        sources=dict(pf.sources),
        headline=tuple(headline),
        counts=rows(K.incidents_per_period(inc, period, "severity")),
        mttx=[{**r, "label": metric_label(r["metric"], r["convention"])} for r in rows(mttx_all)],
        trend=trend_rows,
        budget=rows(budget),
        budget_periods=rows(per_period),
        completion=rows(K.postmortem_completion(inc, "severity")) + rows(completion),
        gates=rows(gates),
        actions=actions,
        owners=rows(owners.filter(pl.col("overdue") > 0)),
        repeats={k: rows(v) for k, v in repeats.items()},
        uncategorised=K.uncategorised(inc),
        missing=rows(missing),
        problems=pf.problems,
        skipped=pf.skipped,
        rows=rows(inc.select("id", "title", "kind", "opened", "severity", "services", "missing", "mttr", "complete")),
    )


# ---------------------------------------------------------------------------------------------------- figures


def _severity_order(values: list[str]) -> list[str]:
    return sorted(set(values), key=lambda s: (s == "unknown", s))


def fig_incidents(pf: Portfolio, period: str = "month") -> go.Figure:
    """Incidents per period, stacked by severity."""
    counts = K.incidents_per_period(pf.incidents, period, "severity")
    fig = go.Figure()
    for sev in _severity_order(counts["severity"].to_list()):
        part = counts.filter(pl.col("severity") == sev)
        fig.add_bar(
            x=part["period"].to_list(),
            y=part["incidents"].to_list(),
            name=plotly_text(sev),
            marker_color=SEVERITY_COLORS.get(sev, "#999999"),
        )
    fig.update_layout(
        **_LAYOUT,
        barmode="stack",
        title=f"Incidents per {period} by severity",
        yaxis_title="incidents",
        xaxis_type="category",
    )
    return fig


def fig_trend(pf: Portfolio, period: str = "quarter") -> go.Figure:
    """Median MTTD, MTTA, MTTM and MTTR per period (minutes; MTTM/MTTR from impact start), p90 of MTTR dotted;
    each point's hover gives measured and missing."""
    trend = K.mttx_trend(pf.incidents, period).filter(pl.col("convention").is_in(["any", "impact"]))
    fig = go.Figure()
    for metric in K.METRICS:
        part = trend.filter(pl.col("metric") == metric)
        if part.height == 0:
            continue
        label = metric_label(metric, "any" if metric in K.CONVENTION_FREE else "impact")
        fig.add_scatter(
            x=part["period"].to_list(),
            y=[_minutes(v) for v in part["median"].to_list()],
            mode="lines+markers",
            name=f"{label} median",
            line={"color": METRIC_COLORS[metric]},
            customdata=list(zip(part["measured"].to_list(), part["missing"].to_list(), strict=True)),
            hovertemplate="%{x}: %{y:.0f} min<br>%{customdata[0]} measured, %{customdata[1]} missing<extra></extra>",
        )
        if metric == "mttr":
            fig.add_scatter(
                x=part["period"].to_list(),
                y=[_minutes(v) for v in part["p90"].to_list()],
                mode="lines+markers",
                name=f"{label} p90",
                line={"color": METRIC_COLORS[metric], "dash": "dot"},
            )
    fig.update_layout(
        **_LAYOUT, title=f"MTTx per {period}: median (p90 of MTTR dotted)", yaxis_title="minutes", xaxis_type="category"
    )
    return fig


def fig_heatmap(pf: Portfolio) -> go.Figure:
    """Median MTTR (from impact start) by service x severity, each cell with its measured and missing counts."""
    stats = K.mttx_summary(pf.incidents, by=("services", "severity"), metrics=("mttr",)).filter(
        pl.col("convention") == "impact"
    )
    services = sorted(set(stats["service"].to_list()))
    sevs = _severity_order(stats["severity"].to_list())
    cells = {(r["service"], r["severity"]): r for r in stats.iter_rows(named=True)}
    z, text = [], []
    for svc in services:
        zr, tr = [], []
        for sev in sevs:
            r = cells.get((svc, sev))
            zr.append(_minutes(r["median"]) if r else None)
            tr.append(
                f"{_dur(r['median'])}<br>n={r['measured']}" + (f", {r['missing']} missing" if r["missing"] else "")
                if r
                else ""
            )
        z.append(zr)
        text.append(tr)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=sevs,
            y=[plotly_text(s) for s in services],
            text=text,
            texttemplate="%{text}",
            colorscale="Oranges",
            colorbar={"title": "minutes"},
            hovertemplate="%{y} %{x}: median MTTR %{z:.0f} min<extra></extra>",
        )
    )
    fig.update_layout(
        **{**_LAYOUT, "height": max(300, 60 * len(services) + 120)},
        title="Median MTTR (from impact start), service x severity",
    )
    return fig


def fig_budget(pf: Portfolio, period: str = "month") -> go.Figure:
    """Error budget burnt per service and period, as a share of that period's budget (100% line dashed)."""
    per = K.budget_per_period(pf.slos, period)
    fig = go.Figure()
    palette = ["#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
    keys = per.select("service", "slo").unique().sort("service", "slo").rows()
    periods = per["period"].unique().sort().to_list()
    for i, (svc, slo) in enumerate(keys):
        part = per.filter((pl.col("service") == svc) & (pl.col("slo") == slo))
        values = dict(zip(part["period"].to_list(), part["share"].to_list(), strict=True))
        fig.add_scatter(
            x=periods,
            y=[(values.get(p) or 0.0) * 100 for p in periods],
            mode="lines+markers",
            name=plotly_text(f"{svc} / {slo}"),
            line={"color": palette[i % len(palette)]},
            hovertemplate="%{x}: %{y:.0f}% of the budget<extra>" + plotly_text(svc) + "</extra>",
        )
    fig.add_hline(y=100, line_dash="dash", line_color="#555555", annotation_text="the period's whole budget")
    fig.update_layout(
        **_LAYOUT,
        title=f"Error budget burnt per service, % of each {period}'s budget",
        yaxis_title="% of budget",
        xaxis_type="category",
    )
    return fig


def portfolio_figures(pf: Portfolio, *, period: str = "month", trend_period: str = "quarter") -> dict[str, go.Figure]:
    """The report's figures, by name."""
    return {
        "incidents": fig_incidents(pf, period),
        "trend": fig_trend(pf, trend_period),
        "heatmap": fig_heatmap(pf),
        "budget": fig_budget(pf, period),
    }


# ---------------------------------------------------------------------------------------------------- writing


def _figure_json(fig: go.Figure) -> str:
    """The figure as JSON safe inside ``<script type="application/json">`` (no ``</`` can close it)."""
    return str(fig.to_json()).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def portfolio_markdown(view: PortfolioView) -> str:
    """The Markdown report."""
    return markdown_env().get_template("portfolio.md.j2").render(v=view, dur=_dur)


def portfolio_html(view: PortfolioView, figures: dict[str, go.Figure]) -> str:
    """The HTML page: the view, the figures as inert JSON, plotly.js and the script that draws them (after the
    trusted marker), cleaned by :func:`pmkit.report.sanitize.clean_document`."""
    from plotly.offline import get_plotlyjs

    from pmkit.report.sanitize import clean_document

    token = secrets.token_hex(16)
    page = (
        html_env()
        .get_template("portfolio_page.html.j2")
        .render(
            v=view,
            dur=_dur,
            figures=[(name, _figure_json(fig)) for name, fig in figures.items()],
            token=token,
            plotlyjs=get_plotlyjs(),
        )
    )
    return clean_document(page, trusted=token)


def render_portfolio(
    pf: Portfolio,
    out: str | Path,
    *,
    period: str = "month",
    trend_period: str = "quarter",
    services: list[str] | None = None,
    to: tuple[str, ...] = ("html", "md", "csv", "parquet"),
) -> dict[str, Path]:
    """Write the report and the per-incident table into ``out``; returns the files by format."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sub = pf.only(services)
    view = portfolio_view(pf, period=period, trend_period=trend_period, services=services)
    files: dict[str, Path] = {}
    if "html" in to:
        figures = portfolio_figures(sub, period=period, trend_period=trend_period)
        files["html"] = out / "portfolio.html"
        files["html"].write_text(portfolio_html(view, figures), encoding="utf-8")
    if "md" in to:
        files["md"] = out / "portfolio.md"
        files["md"].write_text(portfolio_markdown(view), encoding="utf-8")
    if "csv" in to:
        files["csv"] = out / "incidents.csv"
        sub.table().write_csv(files["csv"])
    if "parquet" in to:
        files["parquet"] = out / "incidents.parquet"
        sub.incidents.write_parquet(files["parquet"])
    return files


__all__ = [
    "PortfolioView",
    "portfolio_figures",
    "portfolio_html",
    "portfolio_markdown",
    "portfolio_view",
    "render_portfolio",
]
