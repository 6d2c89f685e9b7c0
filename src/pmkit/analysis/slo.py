"""SLO error budgets, burn rates and the SRE workbook's multiwindow burn-rate alerts.

Definitions (also in docs/analyses.md):

- **Objective** ``o`` is a percentage (99.9). The **error budget** is ``1 - o/100`` of the
  period: 99.9% over 30 days allows 0.1% of 43,200 minutes = **43.2 minutes**.
- **Burn rate** = error ratio / (1 - o/100). A burn rate of 1 spends exactly the budget
  over the period; 14.4 over one hour spends 2% of a 30-day budget.
- **Request-based** SLO: good/total events. The incident's consumption is its bad events
  over the period's expected events, ``bad / ((1 - o) * rate * period)``, where ``rate`` is
  the mean request rate observed in the data. ``equivalent_bad_minutes`` = bad / rate per
  minute: the minutes of total outage that would have cost the same.
- **Time-slice** SLO: the period is cut into slices (1 minute by default); a slice is bad
  when its error ratio exceeds ``slice_threshold`` (default ``1 - o``). Budget = allowed bad
  minutes; consumption = bad minutes / budget minutes.
- **Multiwindow, multi-burn-rate alerts** (SRE workbook, ch. 5): page when the burn rate
  over a long window *and* its short window (1/12 of it) both exceed a factor chosen so
  the long window spends a set share of the budget: 2% in 1 h (page), 5% in 6 h (page),
  10% in 3 days (ticket). ``factor = share * period / long_window``, so a 30-day period
  gives 14.4, 6 and 1, and a 28-day period 13.44, 5.6 and 0.9333.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import cast

import polars as pl

from pmkit.spec import parse_duration
from pmkit.timeutil import fmt_utc


def period_minutes(period: str | dt.timedelta) -> float:
    """Minutes in an SLO period given as ``30d``/``28d``/``4w`` or a timedelta."""
    td = parse_duration(period) if isinstance(period, str) else period
    return td.total_seconds() / 60


def budget_minutes(objective: float, period: str | dt.timedelta = "30d") -> float:
    """Allowed bad minutes: ``(1 - objective/100) * period``. 99.9 over 30d gives 43.2."""
    return (1 - objective / 100) * period_minutes(period)


def burn_rate(error_ratio: float, objective: float) -> float:
    """Error ratio divided by the error budget ratio ``1 - objective/100``."""
    return error_ratio / (1 - objective / 100)


def consumed_by_outage(minutes: float, objective: float, period: str | dt.timedelta = "30d") -> float:
    """Share of the period's budget a total outage of ``minutes`` uses (1.0 = all of it)."""
    return minutes / budget_minutes(objective, period)


@dataclass(frozen=True)
class BurnRateAlert:
    """One multiwindow burn-rate alert: fires when both windows burn faster than ``factor``."""

    name: str
    severity: str
    budget_share: float
    long_window: dt.timedelta
    short_window: dt.timedelta
    factor: float


WORKBOOK_ALERTS = (
    ("2% in 1h", "page", 0.02, dt.timedelta(hours=1), dt.timedelta(minutes=5)),
    ("5% in 6h", "page", 0.05, dt.timedelta(hours=6), dt.timedelta(minutes=30)),
    ("10% in 3d", "ticket", 0.10, dt.timedelta(days=3), dt.timedelta(hours=6)),
)


def burn_rate_alerts(period: str | dt.timedelta = "30d") -> list[BurnRateAlert]:
    """The workbook's three alerts with factors derived from the SLO period."""
    total = period_minutes(period)
    return [
        BurnRateAlert(name, sev, share, long, short, share * total / (long.total_seconds() / 60))
        for name, sev, share, long, short in WORKBOOK_ALERTS
    ]


def minute_counts(frame: pl.DataFrame, *, every: str = "1m") -> pl.DataFrame:
    """Bucket an SLI frame (``ts``, ``total``, ``bad`` per row) into regular slices, gaps filled with 0."""
    if frame.height == 0:
        return pl.DataFrame(schema={"ts": pl.Datetime("us", "UTC"), "total": pl.Float64, "bad": pl.Float64})
    out = (
        frame.sort("ts")
        .group_by_dynamic("ts", every=every)
        .agg(pl.col("total").sum().cast(pl.Float64), pl.col("bad").sum().cast(pl.Float64))
        .upsample("ts", every=every)
        .with_columns(pl.col("total").fill_null(0.0), pl.col("bad").fill_null(0.0))
    )
    return out


def burn_rate_series(minutes: pl.DataFrame, objective: float, windows: list[dt.timedelta]) -> pl.DataFrame:
    """Burn rate over trailing windows for each slice of ``minutes`` (``ts``, ``total``, ``bad``).

    Column ``burn_<window>`` = (bad / total over the trailing window) / (1 - objective).
    Where a window reaches back before the evidence starts, the missing minutes are taken
    to have run at the evidence's baseline (its median per-minute error ratio and mean
    traffic): a burn-rate alert has history in production, and without this a 3-day window
    over two minutes of data would "fire" on one failed request.
    """
    allowed = 1 - objective / 100
    m = minutes.sort("ts")
    if m.height == 0:
        return m.with_columns([pl.lit(0.0).alias(f"burn_{_label(w)}") for w in windows])
    ratio = pl.when(pl.col("total") > 0).then(pl.col("bad") / pl.col("total"))
    base_ratio = float(m.select(ratio.median()).item() or 0.0)
    base_total = float(cast(float | None, m.get_column("total").mean()) or 0.0)
    t0 = m.get_column("ts").min()
    step = _step(m)
    cols = []
    for w in windows:
        name = f"burn_{_label(w)}"
        period = f"{int(w.total_seconds())}s"
        covered = ((pl.col("ts") - t0).dt.total_seconds() + step).clip(upper_bound=w.total_seconds())
        missing = (w.total_seconds() - covered) / step
        bad = pl.col("bad").rolling_sum_by("ts", window_size=period) + missing * base_total * base_ratio
        total = pl.col("total").rolling_sum_by("ts", window_size=period) + missing * base_total
        cols.append(pl.when(total > 0).then(bad / total / allowed).otherwise(0.0).alias(name))
    return m.with_columns(cols)


def _step(m: pl.DataFrame) -> float:
    d = m.select(pl.col("ts").diff().dt.total_seconds().median()).item()
    return float(d) if d else 60.0


def replay_alerts(
    minutes: pl.DataFrame, objective: float, period: str | dt.timedelta = "30d", *, burns: pl.DataFrame | None = None
) -> pl.DataFrame:
    """When each workbook alert would have fired on this data (first slice where both windows burn > factor).

    Columns: alert, severity, factor, long_window, short_window, fired_at (null if it never fired).
    ``burns`` is :func:`burn_rate_series` over the alerts' windows when the caller has it already.
    """
    alerts = burn_rate_alerts(period)
    if burns is None:
        windows = sorted({a.long_window for a in alerts} | {a.short_window for a in alerts})
        burns = burn_rate_series(minutes, objective, windows)
    rows = []
    for a in alerts:
        cond = (pl.col(f"burn_{_label(a.long_window)}") > a.factor) & (
            pl.col(f"burn_{_label(a.short_window)}") > a.factor
        )
        fired = burns.filter(cond).get_column("ts")
        rows.append(
            {
                "alert": a.name,
                "severity": a.severity,
                "factor": a.factor,
                "long_window": _label(a.long_window),
                "short_window": _label(a.short_window),
                "fired_at": fired.min() if fired.len() else None,
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "alert": pl.String,
            "severity": pl.String,
            "factor": pl.Float64,
            "long_window": pl.String,
            "short_window": pl.String,
            "fired_at": pl.Datetime("us", "UTC"),
        },
    )


def _label(w: dt.timedelta) -> str:
    s = int(w.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s % size == 0:
            return f"{s // size}{unit}"
    return f"{s}s"


@dataclass(frozen=True)
class SloResult:
    """One SLO measured on the incident. See the module docstring for every definition.

    ``consumed`` is the share of the period's budget this incident used (1.0 = all of it),
    measured the way the SLO is defined (request-based or time-slice); both measures are
    kept (``request_based`` and ``time_slice``) because postmortems quote both. ``declared``
    holds the downtime the incident report declares, shown beside the measured figure.
    """

    name: str
    objective: float
    period: str
    type: str
    budget_minutes: float
    consumed: float | None
    remaining: float | None
    request_based: dict[str, float | None]
    time_slice: dict[str, float | None]
    declared: dict[str, float] | None
    burn: pl.DataFrame
    alerts: pl.DataFrame
    first_page: dt.datetime | None

    def to_dict(self) -> dict[str, object]:
        alerts = [{**r, "fired_at": fmt_utc(r["fired_at"])} for r in self.alerts.to_dicts()]
        return {
            "name": self.name,
            "objective": self.objective,
            "period": self.period,
            "type": self.type,
            "budget_minutes": round(self.budget_minutes, 4),
            "consumed": self.consumed,
            "consumed_minutes": self.consumed * self.budget_minutes if self.consumed is not None else None,
            "remaining": self.remaining,
            "request_based": self.request_based,
            "time_slice": self.time_slice,
            "declared": self.declared,
            "burn_rate_alerts": alerts,
            "first_page": fmt_utc(self.first_page),
        }


def evaluate(
    minutes: pl.DataFrame,
    *,
    name: str,
    objective: float,
    period: str = "30d",
    type: str = "request",
    window: tuple[dt.datetime, dt.datetime] | None = None,
    slice_threshold: float | None = None,
    prior_consumed: float | None = None,
    declared_bad_minutes: float | None = None,
    first_page: dt.datetime | None = None,
) -> SloResult:
    """Measure one SLO on per-minute SLI counts; ``window`` is the incident's impact window.

    Request-based: bad events in the window over the period's expected events (the mean
    request rate of the data times the period). Time-slice: minutes in the window whose
    error ratio exceeds ``slice_threshold`` (default ``1 - objective``).
    """
    budget = budget_minutes(objective, period)
    allowed = 1 - objective / 100
    m = minutes
    if window is not None:  # whole minutes: the one holding the impact start counts
        lo = window[0].replace(second=0, microsecond=0)
        m = minutes.filter((pl.col("ts") >= lo) & (pl.col("ts") < window[1]))
    rate = float(cast(float | None, minutes.get_column("total").mean()) or 0.0) if minutes.height else 0.0
    bad = float(m.get_column("bad").sum()) if m.height else 0.0
    total = float(m.get_column("total").sum()) if m.height else 0.0
    equivalent = bad / rate if rate else None
    req = {
        "bad_events": bad,
        "total_events": total,
        "mean_requests_per_minute": rate,
        "equivalent_bad_minutes": equivalent,
        "consumed": equivalent / budget if equivalent is not None else None,
    }
    threshold = round(allowed, 12) if slice_threshold is None else slice_threshold
    ratio = pl.when(pl.col("total") > 0).then(pl.col("bad") / pl.col("total")).otherwise(0.0)
    bad_minutes = float(m.filter(ratio > threshold).height) if m.height else 0.0
    ts_: dict[str, float | None] = {
        "bad_minutes": bad_minutes,
        "threshold": threshold,
        "consumed": bad_minutes / budget,
    }
    consumed = ts_["consumed"] if type == "time-slice" else req["consumed"]
    remaining = None
    if prior_consumed is not None and consumed is not None:
        remaining = 1 - prior_consumed - consumed
    declared = None
    if declared_bad_minutes is not None:
        declared = {
            "bad_minutes": declared_bad_minutes,
            "consumed": declared_bad_minutes / budget,
            "over_budget_minutes": declared_bad_minutes - budget,
        }
    alerts = burn_rate_alerts(period)
    windows = sorted({a.long_window for a in alerts} | {a.short_window for a in alerts})
    burn = burn_rate_series(minutes, objective, windows)
    return SloResult(
        name=name,
        objective=objective,
        period=period,
        type=type,
        budget_minutes=budget,
        consumed=consumed,
        remaining=remaining,
        request_based=req,
        time_slice=ts_,
        declared=declared,
        burn=burn,
        alerts=replay_alerts(minutes, objective, period, burns=burn),
        first_page=first_page,
    )
