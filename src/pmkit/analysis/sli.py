"""The service level indicator as per-minute counts: ``ts``, ``total``, ``bad``.

Two evidence shapes give it:

- **Request logs** (access logs, JSON request logs): one event per request, its fields in
  ``attrs``. A request is *good* when the SLO's ``good`` condition holds (a SQL
  expression over the fields, e.g. ``status < 500``; default ``status < 500``).
- **Request-count metrics** (Prometheus ``increase(...)``/``rate(...)`` by status code):
  each sample counts requests with a label ``code`` or ``status``. Values are read as
  *requests in the step that ends at ts* (``options.value: count``, the default, for
  ``increase`` queries) or *requests per second* (``options.value: rate``), multiplied by
  the step.

Then :func:`detect_impact` finds the impact window in the minutes: the baseline error
ratio, a threshold above it, and the run of bad minutes that is the incident.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import polars as pl

from pmkit.sources.requests import DURATION_FIELDS, TENANT_FIELDS, USER_FIELDS, id_value, typed_requests

__all__ = ["DURATION_FIELDS", "TENANT_FIELDS", "USER_FIELDS"]  # re-exported: the analyses name them from here

UTC_TS = pl.Datetime("us", "UTC")
MINUTES_SCHEMA = pl.Schema({"ts": UTC_TS, "total": pl.Float64(), "bad": pl.Float64()})
DEFAULT_GOOD = "status < 500"


def decoded_ids(attrs: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """The user and the tenant named by an attrs JSON column, decoded once (``"-"`` and ``""`` read as null)."""
    f = attrs.str.json_decode(pl.Struct({k: pl.String for k in (*USER_FIELDS, *TENANT_FIELDS)})).struct.field
    return pl.coalesce(*(id_value(f(k)) for k in USER_FIELDS)), pl.coalesce(*(id_value(f(k)) for k in TENANT_FIELDS))


def request_frame(
    events: pl.DataFrame,
    *,
    source: str | None = None,
    good: str | None = None,
    requests: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per request event: ``ts``, ``ok``, ``status``, ``path``, ``user``, ``tenant``, ``duration_s``, ``service``, ``origin``.

    A request event is a log event whose attrs carry an HTTP ``status``. ``good`` is a
    SQL condition over these columns (``status``, ``method``, ``path``, ``user``, ``tenant``,
    ``service``, ``level``) and the request's duration as ``duration_s``, ``duration_ms`` or
    ``latency_ms`` (one value, read from the first of :data:`DURATION_FIELDS` the attrs carry:
    ``duration_s``, ``request_time``, ``latency_s``, ``response_time_s`` in seconds, ``duration_ms``,
    ``latency_ms``, ``response_time_ms``, ``elapsed_ms`` in milliseconds). A request for which the
    condition is null (no duration logged and the condition asks for one) is not good. The user is
    the first of :data:`USER_FIELDS` in attrs, else the first of them in the path's query string
    (``?q=shoes&uid=u_42``); the tenant likewise (:mod:`pmkit.sources.requests` holds the definitions).

    ``requests``: the typed requests frame the load built (``Incident.requests``): read directly, the
    attrs JSON is not decoded again; without it the request events of ``events`` are decoded here.
    """
    typed = typed_requests(events) if requests is None else requests
    if source is not None:
        typed = typed.filter(pl.col("source") == source)
    df = typed.select(
        "ts", "service", "level", "origin", "status", "method", "path", "user", "tenant", "duration_s"
    ).with_columns(
        (pl.col("duration_s") * 1000).alias("duration_ms"), (pl.col("duration_s") * 1000).alias("latency_ms")
    )
    cond = pl.sql_expr(good or DEFAULT_GOOD)
    return df.with_columns(cond.fill_null(False).alias("ok"))


def minutes_from_requests(requests: pl.DataFrame, every: str = "1m") -> pl.DataFrame:
    """Per-slice totals and bad counts from :func:`request_frame` rows (gaps filled with 0)."""
    if requests.height == 0:
        return pl.DataFrame(schema=MINUTES_SCHEMA)
    return _regular(
        requests.sort("ts")
        .group_by_dynamic("ts", every=every)
        .agg(pl.len().cast(pl.Float64).alias("total"), (~pl.col("ok")).sum().cast(pl.Float64).alias("bad")),
        every,
    )


def minutes_from_series(
    series: pl.DataFrame,
    *,
    source: str | None = None,
    metric: str | None = None,
    good: str | None = None,
    value: str = "count",
    every: str = "1m",
) -> pl.DataFrame:
    """Per-slice totals and bad counts from request-count samples labelled by status code.

    ``good`` is a SQL condition over the labels (``code`` or ``status`` read as an integer
    column ``status``); default ``status < 500``. Samples whose value covers the step that
    ends at ``ts`` are attributed to the slice that step belongs to.
    """
    s = _by_status(series, source=source, metric=metric)
    if s.height == 0:
        return pl.DataFrame(schema=MINUTES_SCHEMA)
    s = s.sort("ts")
    step = _step_seconds(s)
    count = pl.col("value").fill_nan(0.0) * (step if value == "rate" else 1.0)
    ok = pl.sql_expr(good or DEFAULT_GOOD).fill_null(False)
    s = s.with_columns((pl.col("ts") - dt.timedelta(seconds=step)).alias("ts"), count.alias("n"), ok.alias("ok"))
    out = s.group_by_dynamic("ts", every=every).agg(
        pl.col("n").sum().alias("total"), pl.col("n").filter(~pl.col("ok")).sum().alias("bad")
    )
    return _regular(out.with_columns(pl.col("total").cast(pl.Float64), pl.col("bad").cast(pl.Float64)), every)


def failing_sample(
    series: pl.DataFrame,
    at: dt.datetime,
    *,
    source: str | None = None,
    metric: str | None = None,
    good: str | None = None,
) -> dict[str, object] | None:
    """The sample at ``at`` (the end of its step) that counts bad requests (``good`` false, value > 0), most
    requests first: with ``at`` = the impact window's end, the last failing sample of the incident (mitigated's
    evidence with a metrics SLI)."""
    s = _by_status(series.filter(pl.col("ts") == at), source=source, metric=metric)
    if s.height == 0:
        return None
    bad = s.filter(~pl.sql_expr(good or DEFAULT_GOOD).fill_null(False) & (pl.col("value") > 0))
    return bad.sort(["value", "origin"], descending=[True, False]).row(0, named=True) if bad.height else None


def _step_seconds(s: pl.DataFrame) -> float:
    diffs = s.select(pl.col("ts").unique().sort().diff().dt.total_microseconds().drop_nulls().median()).item()
    return float(diffs) / 1e6 if diffs else 60.0


def _regular(df: pl.DataFrame, every: str) -> pl.DataFrame:
    return (
        df.sort("ts")
        .upsample("ts", every=every)
        .with_columns(pl.col("total").fill_null(0.0), pl.col("bad").fill_null(0.0))
        .select(list(MINUTES_SCHEMA))
    )


@dataclass(frozen=True)
class ImpactWindow:
    """Where the SLI says users were hurt.

    ``start``: the first minute of the first run of bad minutes that is the incident;
    ``end``: the first minute after its last bad minute (the SLI back to baseline and
    staying there for ``stay`` minutes). ``threshold``: the error ratio above which a
    minute is bad; ``baseline_ratio``: the pooled error ratio of the baseline.
    """

    start: dt.datetime | None
    end: dt.datetime | None
    threshold: float
    baseline_ratio: float
    baseline: tuple[dt.datetime, dt.datetime] | None
    bad_minutes: int
    peak_ratio: float
    peak_at: dt.datetime | None
    method: str


def detect_impact(
    minutes: pl.DataFrame,
    *,
    baseline: tuple[dt.datetime, dt.datetime] | None = None,
    stay: int = 10,
    floor: float = 0.01,
    alone: float = 0.5,
) -> ImpactWindow:
    """Find the impact window in per-minute SLI counts.

    Baseline ratio: the pooled ratio of the given window, else the median of the per-minute
    ratios (robust while the incident covers less than half the data). Threshold: the largest of
    3 x the baseline ratio, the baseline ratio + 4 binomial standard deviations at the
    baseline's median traffic per minute (so 1 failure in 10 requests is not an incident),
    and ``floor`` (1%). A minute is bad when its ratio exceeds the threshold. The incident
    starts at the first run of 2 bad minutes (or one minute at >= ``alone``, 50%; a time-slice SLI,
    whose bad minutes are all 100%, passes more than 1 so it always needs two), takes in later bad
    minutes until ``stay`` good minutes follow in a row, and ends at the first minute after
    its last bad minute (the SLI back to baseline and staying there).
    """
    m = minutes.sort("ts").with_columns(
        pl.when(pl.col("total") > 0).then(pl.col("bad") / pl.col("total")).otherwise(0.0).alias("ratio")
    )
    if m.height == 0:
        return ImpactWindow(None, None, floor, 0.0, None, 0, 0.0, None, "no SLI data")
    active = m.filter(pl.col("total") > 0)
    if baseline is not None:
        b = active.filter((pl.col("ts") >= baseline[0]) & (pl.col("ts") < baseline[1]))
        total_b = float(b.select(pl.col("total").sum()).item() or 0.0)
        p = float(b.select(pl.col("bad").sum()).item()) / total_b if total_b else 0.0
    else:
        b = active
        p = float(active.select(pl.col("ratio").median()).item() or 0.0)
    n = float(b.select(pl.col("total").median()).item() or 1.0)
    q = max(p, 1.0 / n)
    threshold = max(3 * p, p + 4 * math.sqrt(q * (1 - q) / n), floor)
    m = m.with_columns(((pl.col("ratio") > threshold) & (pl.col("total") > 0)).alias("is_bad"))
    flags = m.get_column("is_bad").to_list()
    ratios = m.get_column("ratio").to_list()
    ts = m.get_column("ts").to_list()
    start_i = None
    for i, bad in enumerate(flags):  # per minute, not per log line: a few hundred iterations
        if bad and ((i + 1 < len(flags) and flags[i + 1]) or ratios[i] >= alone):
            start_i = i
            break
    peak_i = max(range(len(ratios)), key=lambda i: ratios[i])
    if start_i is None:
        return ImpactWindow(
            None, None, threshold, p, baseline, 0, ratios[peak_i], ts[peak_i], "SLI never left its baseline"
        )
    last_bad, good_run = start_i, 0
    for i in range(start_i + 1, len(flags)):
        if flags[i]:
            last_bad, good_run = i, 0
        else:
            good_run += 1
            if good_run >= stay:
                break
    end = ts[last_bad + 1] if last_bad + 1 < len(ts) else None
    window = range(start_i, last_bad + 1)
    peak_in = max(window, key=lambda i: ratios[i])
    return ImpactWindow(
        start=ts[start_i],
        end=end,
        threshold=threshold,
        baseline_ratio=p,
        baseline=baseline,
        bad_minutes=sum(1 for i in window if flags[i]),
        peak_ratio=ratios[peak_in],
        peak_at=ts[peak_in],
        method=f"error ratio above {threshold:.2%} (baseline {p:.3%})",
    )


def _by_status(series: pl.DataFrame, *, source: str | None, metric: str | None) -> pl.DataFrame:
    """The samples of one source/metric that carry a status code (label ``code`` or ``status``), as ``status``."""
    s = series
    if source is not None:
        s = s.filter(pl.col("source") == source)
    if metric is not None:
        s = s.filter(pl.col("metric") == metric)
    code = pl.coalesce(
        pl.col("labels").str.json_path_match("$.code"), pl.col("labels").str.json_path_match("$.status")
    ).str.slice(0, 3)
    return s.with_columns(code.cast(pl.Int64, strict=False).alias("status")).filter(pl.col("status").is_not_null())
