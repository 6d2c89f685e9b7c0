"""Portfolio KPIs: pure functions of the portfolio's frames, each returning a polars frame.

Every definition is in docs/analyses.md, "Portfolio". The rules they share:

- Periods are calendar weeks (ISO, from Monday), months or quarters in UTC, of an incident's ``opened`` (its
  earliest milestone, else its document's date); an incident without either is in the period ``undated``.
- An incident counts once in each group it belongs to: with two services, once under each (so a by-service
  total can exceed the number of incidents; the ``all`` rows count each incident once).
- Durations (MTTD, MTTA, MTTM, MTTR) are summarised as median and p90 (linear interpolation between the
  closest ranks, numpy's default) over the incidents where they were measured, always beside ``incidents``
  (in the group), ``measured`` and ``missing`` (the incidents lacking a milestone the figure needs): an incident
  missing a milestone stays in the count, never dropped and never taken as zero. MTTM and MTTR are grouped by
  their ``convention`` (from impact start or from detection); MTTD and MTTA do not depend on it (``any``).
- Nothing here reads the clock: "overdue" is judged on the ``as_of`` day passed in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from pmkit.spec import parse_duration

METRICS = ("mttd", "mtta", "mttm", "mttr")
CONVENTION_FREE = ("mttd", "mtta")  # measured the same whatever the convention
PERIODS = {"week": "1w", "month": "1mo", "quarter": "1q"}
LIST_COLUMNS = {"services": "service", "signatures": "signature"}  # list column -> the name of one of its items
UNDATED = "undated"
CHANGE_THRESHOLD = 0.10  # a median that moves less than 10% is "about the same"


def _every(period: str) -> str:
    try:
        return PERIODS[period]
    except KeyError:
        raise ValueError(f"period {period!r} is not known; expected one of {', '.join(PERIODS)}") from None


def period_columns(frame: pl.DataFrame, period: str, column: str = "opened") -> pl.DataFrame:
    """``frame`` with ``period_start`` (the date the period begins) and ``period`` (its label: ``2025-W07``,
    ``2025-02``, ``2025-Q1``; ``undated`` without a time)."""
    every = _every(period)
    start = pl.col(column).dt.truncate(every).dt.date()
    if period == "week":
        label = start.dt.strftime("%G-W%V")
    elif period == "month":
        label = start.dt.strftime("%Y-%m")
    else:
        label = start.dt.year().cast(pl.String) + pl.lit("-Q") + start.dt.quarter().cast(pl.String)
    return frame.with_columns(period_start=start).with_columns(period=label.fill_null(UNDATED))


def _by_columns(frame: pl.DataFrame, by: Sequence[str]) -> tuple[pl.DataFrame, list[str]]:
    """``frame`` with each list column of ``by`` exploded into one row per item (services -> service)."""
    cols = []
    for b in by:
        if b in LIST_COLUMNS:
            item = LIST_COLUMNS[b]
            frame = frame.with_columns(pl.col(b).list.unique().alias(item)).explode(item)
            frame = frame.with_columns(pl.col(item).fill_null("(none)"))
            cols.append(item)
        else:
            frame = frame.with_columns(pl.col(b).fill_null("(none)"))
            cols.append(b)
    return frame, cols


def incidents_per_period(incidents: pl.DataFrame, period: str = "month", by: str | None = "severity") -> pl.DataFrame:
    """Incidents per period and group (``by``: a column such as ``severity``, or ``services``), every period
    between the first and the last one present and every group, zero where none happened (a true zero:
    no incident opened then)."""
    frame = period_columns(incidents, period)
    frame, cols = _by_columns(frame, [by] if by else [])
    counts = frame.group_by("period_start", "period", *cols).agg(incidents=pl.col("id").n_unique())
    dated = counts.filter(pl.col("period_start").is_not_null())
    if dated.height == 0:
        return counts.sort("period", *cols)
    lo, hi = dated["period_start"].min(), dated["period_start"].max()
    grid = pl.DataFrame({"period_start": pl.date_range(lo, hi, _every(period), eager=True)})  # type: ignore[arg-type]
    grid = period_columns(grid.with_columns(_t=pl.col("period_start").cast(pl.Datetime("us"))), period, "_t").drop("_t")
    if cols:
        grid = grid.join(counts.select(cols).unique(), how="cross")
    full = grid.join(dated.drop("period"), on=["period_start", *cols], how="left").with_columns(
        pl.col("incidents").fill_null(0)
    )
    undated = counts.filter(pl.col("period_start").is_null())
    out = pl.concat([full.select(counts.columns), undated], how="vertical") if undated.height else full
    return out.select("period", "period_start", *cols, pl.col("incidents").cast(pl.Int64)).sort(
        "period_start", *cols, nulls_last=True
    )


def _long(incidents: pl.DataFrame, metrics: Sequence[str]) -> pl.DataFrame:
    """One row per incident and metric: ``metric``, ``convention`` (``any`` for MTTD/MTTA) and ``seconds``."""
    keep = [c for c in incidents.columns if c not in METRICS]
    return incidents.unpivot(index=keep, on=list(metrics), variable_name="metric", value_name="seconds").with_columns(
        convention=pl.when(pl.col("metric").is_in(CONVENTION_FREE)).then(pl.lit("any")).otherwise(pl.col("convention"))
    )


def _stats() -> list[pl.Expr]:
    s = pl.col("seconds")
    return [
        pl.col("id").n_unique().alias("incidents"),
        s.count().alias("measured"),
        s.null_count().alias("missing"),
        s.median().alias("median"),
        s.quantile(0.9, interpolation="linear").alias("p90"),
    ]


def mttx_summary(
    incidents: pl.DataFrame, by: Sequence[str] = ("severity",), metrics: Sequence[str] = METRICS
) -> pl.DataFrame:
    """Per metric, convention and group: ``incidents``, ``measured``, ``missing``, ``median`` and ``p90``
    (seconds). ``by`` names columns (``severity``, ``services``...); ``()`` gives one row per metric."""
    long, cols = _by_columns(_long(incidents, metrics), by)
    order = {m: i for i, m in enumerate(METRICS)}
    return (
        long.group_by("metric", "convention", *cols)
        .agg(_stats())
        .with_columns(pl.col("incidents", "measured", "missing").cast(pl.Int64))
        .sort(pl.col("metric").replace_strict(order, return_dtype=pl.Int64), "convention", *cols)
    )


def mttx_trend(
    incidents: pl.DataFrame,
    period: str = "quarter",
    by: Sequence[str] = (),
    metrics: Sequence[str] = METRICS,
) -> pl.DataFrame:
    """:func:`mttx_summary` per period as well (``period``, ``period_start``), oldest first."""
    long, cols = _by_columns(_long(period_columns(incidents, period), metrics), by)
    order = {m: i for i, m in enumerate(METRICS)}
    return (
        long.group_by("metric", "convention", *cols, "period_start", "period")
        .agg(_stats())
        .with_columns(pl.col("incidents", "measured", "missing").cast(pl.Int64))
        .sort(
            pl.col("metric").replace_strict(order, return_dtype=pl.Int64),
            "convention",
            *cols,
            "period_start",
            nulls_last=True,
        )
    )


def trend_change(trend: pl.DataFrame, *, min_measured: int = 3, threshold: float = CHANGE_THRESHOLD) -> pl.DataFrame:
    """The change of each metric's median between the first and the last period of :func:`mttx_trend` that have
    at least ``min_measured`` measured incidents: ``from_period``, ``to_period``, ``from_median``, ``to_median``,
    ``from_measured``, ``to_measured``, ``change`` (to/from - 1) and ``verdict``: ``shorter`` (better) when the
    median fell by more than ``threshold``, ``longer`` (worse) when it rose by more, else ``about the same``;
    ``too few`` when fewer than two periods qualify."""
    keys = [
        c
        for c in trend.columns
        if c not in {"period_start", "period", "incidents", "measured", "missing", "median", "p90"}
    ]
    ok = trend.filter((pl.col("measured") >= min_measured) & pl.col("period_start").is_not_null()).sort("period_start")
    out = ok.group_by(keys, maintain_order=True).agg(
        periods=pl.len(),
        from_period=pl.col("period").first(),
        to_period=pl.col("period").last(),
        from_median=pl.col("median").first(),
        to_median=pl.col("median").last(),
        from_measured=pl.col("measured").first(),
        to_measured=pl.col("measured").last(),
    )
    every = trend.select(keys).unique(maintain_order=True)
    out = every.join(out, on=keys, how="left")
    change = pl.col("to_median") / pl.col("from_median") - 1
    return out.with_columns(
        change=pl.when(pl.col("periods") >= 2).then(change),
    ).with_columns(
        verdict=pl.when(pl.col("periods").fill_null(0) < 2)
        .then(pl.lit("too few"))
        .when(pl.col("change") <= -threshold)
        .then(pl.lit("shorter"))
        .when(pl.col("change") >= threshold)
        .then(pl.lit("longer"))
        .otherwise(pl.lit("about the same"))
    )


def _period_days(period: str) -> float:
    return parse_duration(period).total_seconds() / 86400.0


def budget_per_period(slos: pl.DataFrame, period: str = "month") -> pl.DataFrame:
    """Error budget consumed per service, SLO and period: ``incidents``, ``measured`` (incidents with a figure),
    ``consumed_minutes`` (bad minutes, summed), ``budgets`` (the per-incident shares of the SLO period's budget,
    summed: 1.0 = one whole budget), ``period_budget_minutes`` (the SLO's budget scaled to the calendar period:
    budget x period days / SLO period days) and ``share`` = consumed_minutes / period_budget_minutes (above 1:
    the period burnt more than its budget)."""
    frame = period_columns(slos, period).filter(pl.col("period_start").is_not_null())
    days = {p: _period_days(p) for p in frame["slo_period"].unique().to_list()}
    frame = frame.with_columns(
        period_days=(pl.col("period_start").dt.offset_by(_every(period)) - pl.col("period_start")).dt.total_days(),
        slo_days=pl.col("slo_period").replace_strict(days, return_dtype=pl.Float64),
    )
    grouped = frame.group_by("period_start", "period", "service", "slo", "objective").agg(
        incidents=pl.col("id").n_unique().cast(pl.Int64),
        measured=pl.col("consumed_minutes").count().cast(pl.Int64),
        consumed_minutes=pl.col("consumed_minutes").sum(),
        budgets=pl.col("consumed").sum(),
        period_budget_minutes=(pl.col("budget_minutes") * pl.col("period_days") / pl.col("slo_days")).first(),
    )
    return grouped.with_columns(share=pl.col("consumed_minutes") / pl.col("period_budget_minutes")).sort(
        "period_start", "service", "slo"
    )


def budget_per_service(slos: pl.DataFrame) -> pl.DataFrame:
    """Error budget consumed per service and SLO over the whole portfolio, most first: ``incidents``,
    ``measured``, ``consumed_minutes``, ``budgets`` (SLO-period budgets used, summed), ``worst`` (the incident
    that used the most) and ``worst_budgets``."""
    return (
        slos.group_by("service", "slo", "objective")
        .agg(
            incidents=pl.col("id").n_unique().cast(pl.Int64),
            measured=pl.col("consumed").count().cast(pl.Int64),
            consumed_minutes=pl.col("consumed_minutes").sum(),
            budgets=pl.col("consumed").sum(),
            worst=pl.col("id").sort_by(pl.col("consumed").fill_null(-1.0), descending=True).first(),
            worst_budgets=pl.col("consumed").max(),
        )
        .sort("budgets", "service", descending=[True, False])
    )


def postmortem_completion(incidents: pl.DataFrame, by: str | None = None) -> pl.DataFrame:
    """Share of postmortems complete (no quality gate failing): ``incidents``, ``complete``, ``rate``, per group
    of ``by`` (or one row ``all``)."""
    frame, cols = _by_columns(incidents, [by] if by else [])
    if not cols:
        frame, cols = frame.with_columns(group=pl.lit("all")), ["group"]
    return (
        frame.group_by(cols)
        .agg(incidents=pl.col("id").n_unique().cast(pl.Int64), complete=pl.col("complete").sum().cast(pl.Int64))
        .with_columns(rate=pl.col("complete") / pl.col("incidents"))
        .sort(cols)
    )


def gate_failures(incidents: pl.DataFrame) -> pl.DataFrame:
    """How many postmortems fail each gate, most first (``gate``, ``incidents``, ``ids``)."""
    return (
        incidents.select("id", gate=pl.col("gates_failed"))
        .explode("gate")
        .drop_nulls("gate")
        .group_by("gate")
        .agg(incidents=pl.col("id").n_unique().cast(pl.Int64), ids=pl.col("id").unique(maintain_order=True))
        .sort("incidents", "gate", descending=[True, False])
    )


def _overdue(as_of: dt.date) -> pl.Expr:
    return (~pl.col("done")) & pl.col("due").is_not_null() & (pl.col("due") < pl.lit(as_of))


def action_items(actions: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """One row: ``items``, ``done``, ``open``, ``overdue`` (open and due before ``as_of``), ``open_no_due``,
    ``completion`` (done / items) and ``as_of``."""
    return actions.select(
        items=pl.len().cast(pl.Int64),
        done=pl.col("done").sum().cast(pl.Int64),
        open=(~pl.col("done")).sum().cast(pl.Int64),
        overdue=_overdue(as_of).sum().cast(pl.Int64),
        open_no_due=((~pl.col("done")) & pl.col("due").is_null()).sum().cast(pl.Int64),
    ).with_columns(
        completion=pl.when(pl.col("items") > 0).then(pl.col("done") / pl.col("items")),
        as_of=pl.lit(as_of),
    )


def overdue_by_owner(actions: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """Per owner (``(no owner)`` when none is named): ``items``, ``done``, ``open``, ``overdue``, ``oldest_due``
    of the overdue ones and ``days_overdue`` (as_of - oldest_due); most overdue first."""
    od = _overdue(as_of)
    return (
        actions.with_columns(pl.col("owner").fill_null("(no owner)"))
        .group_by("owner")
        .agg(
            items=pl.len().cast(pl.Int64),
            done=pl.col("done").sum().cast(pl.Int64),
            open=(~pl.col("done")).sum().cast(pl.Int64),
            overdue=od.sum().cast(pl.Int64),
            oldest_due=pl.col("due").filter(od).min(),
        )
        .with_columns(days_overdue=(pl.lit(as_of) - pl.col("oldest_due")).dt.total_days())
        .sort("overdue", "owner", descending=[True, False])
    )


def overdue_items(actions: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """The overdue action items, oldest due first, with ``days_overdue``."""
    return (
        actions.filter(_overdue(as_of))
        .with_columns(days_overdue=(pl.lit(as_of) - pl.col("due")).dt.total_days())
        .sort("due", "id")
    )


def repeat_offenders(
    incidents: pl.DataFrame, what: str = "root_cause_category", min_incidents: int = 2
) -> pl.DataFrame:
    """What recurs across incidents: each value of ``what`` (``root_cause_category``, ``services`` or
    ``signatures``) found in at least ``min_incidents`` incidents, most first: ``incidents``, ``ids``,
    ``first`` and ``last`` (opened), ``severities`` (how many of each). Incidents without a value
    (not categorised) are not a recurrence and are left out here; :func:`uncategorised` counts them."""
    item = LIST_COLUMNS.get(what, what)
    frame = incidents.select("id", "opened", "severity", pl.col(what).alias(item))
    if what in LIST_COLUMNS:
        frame = frame.with_columns(pl.col(item).list.unique()).explode(item)
    return (
        frame.drop_nulls(item)
        .group_by(item)
        .agg(
            incidents=pl.col("id").n_unique().cast(pl.Int64),
            ids=pl.col("id").sort_by("opened"),
            first=pl.col("opened").min(),
            last=pl.col("opened").max(),
            worst=pl.col("severity").min(),
        )
        .filter(pl.col("incidents") >= min_incidents)
        .sort("incidents", item, descending=[True, False])
    )


def uncategorised(incidents: pl.DataFrame) -> int:
    """Incidents without a root-cause category."""
    return int(incidents["root_cause_category"].null_count())


def missing_milestones(incidents: pl.DataFrame) -> pl.DataFrame:
    """Per milestone, how many incidents lack it (``milestone``, ``incidents``, ``ids``), in milestone order."""
    from pmkit.spec import MILESTONES

    counts = (
        incidents.select("id", milestone=pl.col("missing"))
        .explode("milestone")
        .drop_nulls("milestone")
        .group_by("milestone")
        .agg(incidents=pl.col("id").n_unique().cast(pl.Int64), ids=pl.col("id").sort())
    )
    base = pl.DataFrame({"milestone": list(MILESTONES)})
    return base.join(counts, on="milestone", how="left").with_columns(pl.col("incidents").fill_null(0))
