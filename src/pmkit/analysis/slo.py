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
- **Replay** (:func:`replay_alerts`): an alert would have fired only in a slice whose long
  window the evidence fully covers; missing history is never assumed, and what could not be
  judged says how much history was missing. Firings are set against the impact start and the
  real first page (or, without one, the first alert).
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

    Column ``burn_<window>`` = (bad / total over the trailing window) / (1 - objective), and null
    while the window reaches back before the evidence starts: missing history is never made up
    (no padding at a baseline), so an alert is only judged on a window the evidence covers.
    ``seen_<window>`` is the same ratio over the part of the window the evidence holds (equal to
    ``burn_<window>`` once covered): what the replay quotes when a window is not covered yet.
    """
    allowed = 1 - objective / 100
    m = minutes.sort("ts")
    if m.height == 0:
        return m.with_columns(
            [pl.lit(None, pl.Float64).alias(f"{p}_{_label(w)}") for w in windows for p in ("burn", "seen")]
        )
    t0 = m.get_column("ts").min()
    step = _step(m)
    held = (pl.col("ts") - t0).dt.total_seconds() + step  # seconds of evidence up to the end of each slice
    cols = []
    for w in windows:
        period = f"{int(w.total_seconds())}s"
        bad = pl.col("bad").rolling_sum_by("ts", window_size=period)
        total = pl.col("total").rolling_sum_by("ts", window_size=period)
        seen = pl.when(total > 0).then(bad / total / allowed).otherwise(0.0)
        cols.append(seen.alias(f"seen_{_label(w)}"))
        cols.append(pl.when(held >= w.total_seconds()).then(seen).alias(f"burn_{_label(w)}"))
    return m.with_columns(cols)


def _step(m: pl.DataFrame) -> float:
    d = m.select(pl.col("ts").diff().dt.total_seconds().median()).item()
    return float(d) if d else 60.0


REPLAY_SCHEMA = pl.Schema(
    {
        "alert": pl.String(),
        "severity": pl.String(),
        "factor": pl.Float64(),
        "long_window": pl.String(),
        "short_window": pl.String(),
        "window": pl.Duration("us"),
        "short": pl.Duration("us"),
        "evidence_start": pl.Datetime("us", "UTC"),
        "history": pl.Duration("us"),
        "covered_from": pl.Datetime("us", "UTC"),
        "fired_at": pl.Datetime("us", "UTC"),
        "at_the_latest": pl.Boolean(),
        "uncovered_at": pl.Datetime("us", "UTC"),
        "missing_at": pl.Duration("us"),
        "vs_impact": pl.Duration("us"),
        "vs_page": pl.Duration("us"),
        "vs_alert": pl.Duration("us"),
    }
)


def replay_alerts(
    minutes: pl.DataFrame,
    objective: float,
    period: str | dt.timedelta = "30d",
    *,
    burns: pl.DataFrame | None = None,
    impact_start: dt.datetime | None = None,
    first_page: dt.datetime | None = None,
    first_alert: dt.datetime | None = None,
) -> pl.DataFrame:
    """When each workbook alert would have fired on this evidence, and what the evidence cannot say.

    **The rule**: an alert *would have fired* in the first slice where its long window is fully
    covered by evidence and both windows burn faster than its factor. History before the
    evidence is never assumed. One row per alert:

    - ``window`` and ``short`` (the long and short windows as durations), ``evidence_start`` (the first slice), ``history``: the most
      evidence the long window ever holds (``window`` once covered, else all the evidence);
      ``covered_from``: the first slice whose long window is covered (null: never, not enough history).
    - ``fired_at``: the first covered slice where both windows burn > factor (null: never).
      ``at_the_latest``: it fired in the first covered slice, so with more history it may have
      fired earlier (the evidence cannot say).
    - ``uncovered_at``: the first slice where both windows burned faster than the factor on the
      evidence there was, while the long window was not covered (null: none);
      ``missing_at``: how much history its long window lacked then.
    - ``vs_impact``, ``vs_page``, ``vs_alert``: ``fired_at`` minus the impact start (its minute),
      the first page and the first alert (negative: before; null when either is unknown).

    ``burns`` is :func:`burn_rate_series` over the alerts' windows when the caller has it already.
    """
    alerts = burn_rate_alerts(period)
    if burns is None:
        windows = sorted({a.long_window for a in alerts} | {a.short_window for a in alerts})
        burns = burn_rate_series(minutes, objective, windows)
    burns = burns.sort("ts")
    t0 = _first_ts(burns)
    step = dt.timedelta(seconds=_step(burns)) if burns.height else dt.timedelta(minutes=1)
    t_last = cast(dt.datetime, burns.get_column("ts").max()) if burns.height else None
    impact_minute = impact_start.replace(second=0, microsecond=0) if impact_start is not None else None
    rows = []
    for a in alerts:
        long, short = _label(a.long_window), _label(a.short_window)
        covered = pl.col(f"burn_{long}").is_not_null()
        hot = (pl.col(f"seen_{long}") > a.factor) & (pl.col(f"seen_{short}") > a.factor)
        covered_from = _first_ts(burns.filter(covered))
        fired_at = _first_ts(burns.filter(covered & hot))
        uncovered_at = _first_ts(burns.filter(~covered & hot))
        history = None
        if t0 is not None and t_last is not None:
            history = min(a.long_window, t_last + step - t0)
        missing = None
        if uncovered_at is not None and t0 is not None:
            missing = a.long_window - (uncovered_at + step - t0)
        rows.append(
            {
                "alert": a.name,
                "severity": a.severity,
                "factor": a.factor,
                "long_window": long,
                "short_window": short,
                "window": a.long_window,
                "short": a.short_window,
                "evidence_start": t0,
                "history": history,
                "covered_from": covered_from,
                "fired_at": fired_at,
                "at_the_latest": fired_at is not None and fired_at == covered_from,
                "uncovered_at": uncovered_at,
                "missing_at": missing,
                "vs_impact": _minus(fired_at, impact_minute),
                "vs_page": _minus(fired_at, first_page),
                "vs_alert": _minus(fired_at, first_alert),
            }
        )
    return pl.DataFrame(rows, schema=REPLAY_SCHEMA)


def _first_ts(frame: pl.DataFrame) -> dt.datetime | None:
    return cast(dt.datetime, frame.get_column("ts").min()) if frame.height else None


def _minus(a: dt.datetime | None, b: dt.datetime | None) -> dt.timedelta | None:
    return a - b if a is not None and b is not None else None


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
    first_alert: dt.datetime | None = None
    impact_start: dt.datetime | None = None

    @property
    def evidence_start(self) -> dt.datetime | None:
        """The first slice of the SLI: no burn-rate window reaches before it."""
        return cast(dt.datetime, self.burn.get_column("ts").min()) if self.burn.height else None

    def to_dict(self) -> dict[str, object]:
        alerts = [
            {
                k: fmt_utc(v) if isinstance(v, dt.datetime) else v.total_seconds() if isinstance(v, dt.timedelta) else v
                for k, v in r.items()
            }
            for r in self.alerts.to_dicts()
        ]
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
            "first_alert": fmt_utc(self.first_alert),
            "impact_start": fmt_utc(self.impact_start),
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
    first_alert: dt.datetime | None = None,
    impact_start: dt.datetime | None = None,
) -> SloResult:
    """Measure one SLO on per-minute SLI counts; ``window`` is the incident's impact window.

    Request-based: bad events in the window over the period's expected events (the mean
    request rate of the data times the period). Time-slice: minutes in the window whose
    error ratio exceeds ``slice_threshold`` (default ``1 - objective``). The burn-rate alerts are
    replayed (:func:`replay_alerts`) against ``impact_start`` and the real ``first_page`` (a page
    triggered; None when the evidence holds none) and ``first_alert`` (the first alert firing).
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
        alerts=replay_alerts(
            minutes,
            objective,
            period,
            burns=burn,
            impact_start=impact_start,
            first_page=first_page,
            first_alert=first_alert,
        ),
        first_page=first_page,
        first_alert=first_alert,
        impact_start=impact_start,
    )
