"""SLIs from series alone: latency and success/error-rate series as per-minute ``ts, total, bad``.

The request SLI (:mod:`pmkit.analysis.sli`) counts requests. When the evidence holds no
requests, or the SLO asks for latency, a metric series can stand in, in the same MINUTES
frame so budget, burn replay and impact read it unchanged (each minute weighs 1):

- **Latency series** (a histogram quantile or a p90/p99 gauge): a *time slice*. A minute is
  bad (``bad = 1``) when the series' highest value in it is above the threshold, else good;
  ``total = 1`` for every minute with a sample. Values are seconds unless the name says
  milliseconds (``_ms``, ``millis``).
- **Success-rate / error-rate series** (a ratio 0..1, or a percentage when a value exceeds 1 or
  the name says ``percent``/``pct``): ``bad`` = the minute's mean error fraction (1 - success),
  ``total = 1``.

A series with several label sets is read as one: per minute the worst value across them (the
highest latency, the highest error fraction).

**Threshold from the baseline** (no threshold given): the pre-incident baseline is the
series' samples at or below 5 x its median (the incident is assumed to cover less than half of
the evidence, as the error-ratio baseline of :func:`~pmkit.analysis.sli.detect_impact`
assumes); the threshold is ``BASELINE_FACTOR`` (2) x the baseline's 99th percentile. The same
rule applies to a request log's durations (:func:`latency_threshold`).

**Which series, without an SLO** (:func:`auto_series_sli`): series whose metric name says
latency, response time, request duration, a percentile (p50..p999, ``quantile``) or a
success/error rate (``success_rate``, ``availability``, ``error_ratio``...). Counters
(``_total``, ``_count``, ``_sum``, ``_bucket``) are never taken. A name that says only
``duration`` (a transaction's age, a job's run time) is taken only when nothing stronger is
found. A minute is bad when it is bad in any chosen series (``bad`` is the largest).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

from pmkit.analysis.sli import MINUTES_SCHEMA

Kind = Literal["latency", "error-rate", "success-rate"]
BASELINE_FACTOR = 2.0
BASELINE_CUT = 5.0  # samples above this many medians are not baseline

_COUNTER = re.compile(r"(_total|_count|_sum|_bucket|_created|_info)$", re.I)
_LATENCY = re.compile(
    r"latenc|response_?time|resp_time|rtt|request_duration|req_duration|http.*duration|duration.*(seconds|_ms)"
    r"|(^|[^a-z0-9])p(50|75|90|95|99|999)([^a-z0-9]|$)|quantile",
    re.I,
)
_WEAK_LATENCY = re.compile(r"duration|elapsed", re.I)
_SUCCESS = re.compile(r"success|availability|uptime|good_ratio|apdex", re.I)
_ERROR = re.compile(r"(error|fail|5xx|err)[a-z_]*?(rate|ratio|percent|pct|share|fraction)|error_?rate", re.I)
_PERCENT = re.compile(r"percent|pct", re.I)
_MS = re.compile(r"(^|[^a-z])(ms|millis|milliseconds)([^a-z]|$)", re.I)  # api_latency_ms, "p99 latency (ms)"


def series_kind(metric: str) -> tuple[Kind | None, str]:
    """What a metric name says it measures, and why: ``("latency", "its name says latency")``.

    ``(None, reason)`` for counters and names that say nothing an SLI can use.
    """
    if _COUNTER.search(metric):
        return None, "a counter (use it with a request-count SLO)"
    if _ERROR.search(metric):
        return "error-rate", "its name says an error rate"
    if _SUCCESS.search(metric):
        return "success-rate", "its name says a success rate"
    m = _LATENCY.search(metric)
    if m:
        said = m.group(0).strip("_.:-")
        word = next((t for t in re.split(r"[_.:\-]", metric) if said.lower() in t.lower()), said)  # latenc -> latency
        return "latency", f"its name says latency ({word!r})"
    if _WEAK_LATENCY.search(metric):
        return "latency", "its name says duration"
    return None, "its name says neither latency nor a success/error rate"


def unit_seconds(metric: str) -> float:
    """Seconds per unit of a latency series: 0.001 when the name says milliseconds, else 1."""
    return 1e-3 if _MS.search(metric) else 1.0


def fmt_seconds(s: float) -> str:
    """``300 ms``, ``1.5 s``: a latency for people."""
    return f"{s * 1000:,.4g} ms" if s < 1 else f"{s:,.4g} s"


def baseline_threshold(values: pl.Series, factor: float = BASELINE_FACTOR) -> tuple[float, float] | None:
    """``(threshold, baseline p99)`` from a series' samples (see the module docstring), None without samples."""
    v = values.drop_nulls().drop_nans()
    if v.len() == 0:
        return None
    med = float(v.median() or 0.0)  # type: ignore[arg-type]
    base = v.filter(v <= BASELINE_CUT * med) if med > 0 else v
    p99 = float(base.quantile(0.99, interpolation="linear") or 0.0)
    return factor * p99, p99


def latency_threshold(durations_s: pl.Series) -> tuple[float, float] | None:
    """A request log's latency threshold in seconds from its durations: 2 x the baseline p99 (module docstring)."""
    return baseline_threshold(durations_s)


@dataclass(frozen=True)
class SeriesSli:
    """A series SLI: its minutes (``ts, total, bad``), which series, the rule and why it was taken."""

    minutes: pl.DataFrame
    source: str
    metrics: tuple[str, ...]
    kind: str
    threshold_s: float | None  # latency: the threshold in seconds
    basis: str
    reasons: tuple[str, ...] = field(default_factory=tuple)


def _per_minute(s: pl.DataFrame, agg: pl.Expr) -> pl.DataFrame:
    return (
        s.sort("ts")
        .group_by_dynamic("ts", every="1m")
        .agg(agg.alias("v"))
        .filter(pl.col("v").is_not_null() & pl.col("v").is_not_nan())
    )


def _minutes(per_minute: pl.DataFrame, bad: pl.Expr) -> pl.DataFrame:
    if per_minute.height == 0:
        return pl.DataFrame(schema=MINUTES_SCHEMA)
    return (
        per_minute.select("ts", pl.lit(1.0).alias("total"), bad.cast(pl.Float64).alias("bad"))
        .upsample("ts", every="1m")
        .with_columns(pl.col("total").fill_null(0.0), pl.col("bad").fill_null(0.0))
        .select(list(MINUTES_SCHEMA))
    )


def latency_minutes(
    series: pl.DataFrame, *, metric: str, threshold_s: float | None = None
) -> tuple[pl.DataFrame, float, str] | None:
    """Time slices of one latency metric: ``(minutes, threshold in seconds, how the threshold was set)``.

    ``series`` holds that metric's samples (any label sets); a minute is bad when its highest value
    is above the threshold (given, else from the baseline). None when there is no sample, or
    the baseline is all zeros (no threshold can be derived).
    """
    unit = unit_seconds(metric)
    pm = _per_minute(series, pl.col("value").max() * unit)
    if pm.height == 0:
        return None
    if threshold_s is None:
        got = baseline_threshold(pm.get_column("v"))
        if got is None:
            return None
        threshold_s, p99 = got
        if threshold_s <= 0:  # a baseline of zeros (no traffic) sets no threshold
            return None
        how = f"{BASELINE_FACTOR:g} x its baseline p99 of {fmt_seconds(p99)}"
    else:
        how = "the SLO's threshold"
    return _minutes(pm, pl.col("v") > threshold_s), threshold_s, how


def histogram_minutes(
    series: pl.DataFrame, *, threshold_s: float, metric: str | None = None, value: str = "count"
) -> tuple[pl.DataFrame, str, float] | None:
    """Request counts from histogram buckets: ``(minutes, metric, bucket bound in seconds)``, None without buckets.

    ``series`` holds ``<name>_bucket`` samples labelled ``le`` (with ``increase(...)`` each sample
    counts the requests of the step that ends at ``ts``; with ``value: rate`` they are per second).
    A request is good when it falls in the bucket ``le`` = the largest bound at or below the
    threshold (a threshold between two bounds counts the requests between them as bad: the
    histogram cannot tell); total = the ``+Inf`` bucket. Other labels are summed.
    """
    b = series.filter(pl.col("metric").str.ends_with("_bucket"))
    if metric is not None:
        b = b.filter(pl.col("metric") == metric)
    le = pl.col("labels").str.json_path_match("$.le")
    b = b.with_columns(le.alias("le"), le.cast(pl.Float64, strict=False).alias("bound")).filter(
        pl.col("bound").is_not_null()
    )
    if b.height == 0:
        return None
    name = sorted(b.get_column("metric").unique().to_list())[0]
    b = b.filter(pl.col("metric") == name)
    unit = unit_seconds(name.removesuffix("_bucket"))
    bounds = b.filter(pl.col("bound") * unit <= threshold_s + 1e-12).get_column("bound")
    if bounds.len() == 0 or not b.get_column("bound").is_infinite().any():
        return None
    bound = float(bounds.max())  # type: ignore[arg-type]
    step = float(b.select(pl.col("ts").unique().sort().diff().dt.total_seconds().median()).item() or 60.0)
    n = pl.col("value").fill_nan(0.0) * (step if value == "rate" else 1.0)
    per_ts = (
        b.filter((pl.col("bound") == bound) | pl.col("bound").is_infinite())
        .group_by("ts")
        .agg(
            n.filter(pl.col("bound").is_infinite()).sum().alias("total"),
            n.filter(pl.col("bound") == bound).sum().alias("good"),
        )
        .with_columns((pl.col("ts") - dt.timedelta(seconds=step)).alias("ts"))
        .sort("ts")
    )
    m = (
        per_ts.group_by_dynamic("ts", every="1m")
        .agg(pl.col("total").sum(), (pl.col("total") - pl.col("good")).clip(0.0).sum().alias("bad"))
        .upsample("ts", every="1m")
        .with_columns(pl.col("total").fill_null(0.0).cast(pl.Float64), pl.col("bad").fill_null(0.0).cast(pl.Float64))
        .select(list(MINUTES_SCHEMA))
    )
    return m, name, bound * unit


def ratio_minutes(series: pl.DataFrame, *, metric: str, kind: Kind) -> tuple[pl.DataFrame, str] | None:
    """Per-minute bad fraction of a success- or error-rate metric: ``(minutes, the scale read)``."""
    v = series.get_column("value").drop_nulls().drop_nans()
    if v.len() == 0:
        return None
    percent = bool(_PERCENT.search(metric)) or float(v.max() or 0.0) > 1.0  # type: ignore[arg-type]
    scale = 100.0 if percent else 1.0
    frac = (pl.col("value") / scale).clip(0.0, 1.0)
    error = ((1 - frac) if kind == "success-rate" else frac).round(12)  # 1 - 0.999 is 0.0010000000000000009
    pm = _per_minute(series, error.max())  # the worst label set: the highest error fraction
    if pm.height == 0:
        return None
    return _minutes(pm, pl.col("v")), "a percentage" if percent else "a ratio 0..1"


def series_sli(
    series: pl.DataFrame,
    *,
    source: str,
    metric: str | None = None,
    threshold_s: float | None = None,
    percentile: float | None = None,
    kind: Kind | None = None,
) -> SeriesSli | None:
    """The SLI of one source's latency or rate series (an SLO's ``source`` that holds no request counts).

    ``metric`` picks the series (else ``percentile`` picks a latency series whose name says
    ``p<percentile>`` or whose ``quantile`` label is it; else the first by name that says latency or
    a rate). ``threshold_s`` makes a latency series' time slices (else the baseline rule).
    """
    s = series.filter(pl.col("source") == source)
    names = sorted(s.get_column("metric").unique().to_list()) if s.height else []
    if metric is not None:
        names = [n for n in names if n == metric]
    if percentile is not None and metric is None:
        tag = f"{percentile:g}".replace(".", "")
        picked = [n for n in names if re.search(rf"(^|[^0-9])p{tag}([^0-9]|$)", n)]
        if picked:
            names = picked
        else:
            q = f"{percentile / 100:g}"
            s = s.filter(pl.col("labels").str.json_path_match("$.quantile").cast(pl.Float64, strict=False) == float(q))
            names = sorted(s.get_column("metric").unique().to_list()) if s.height else []
    for name in names:
        k, why = series_kind(name)
        k = kind or (k if k is not None or threshold_s is None else "latency")
        if k is None:
            continue
        got = _one(s.filter(pl.col("metric") == name), source, name, k, threshold_s, why)
        if got is not None:
            return got
    return None


def _one(
    s: pl.DataFrame, source: str, metric: str, kind: Kind, threshold_s: float | None, why: str
) -> SeriesSli | None:
    if kind == "latency":
        lat = latency_minutes(s, metric=metric, threshold_s=threshold_s)
        if lat is None:
            return None
        minutes, thr, how = lat
        basis = f"time slices of metric {metric!r} above {fmt_seconds(thr)}"
        reason = f"metric {metric!r} of source {source!r}: {why}; a minute is bad above {fmt_seconds(thr)} ({how})"
        return SeriesSli(minutes, source, (metric,), kind, thr, basis, (reason,))
    rat = ratio_minutes(s, metric=metric, kind=kind)
    if rat is None:
        return None
    minutes, scale = rat
    word = "error" if kind == "error-rate" else "success"
    basis = f"per-minute error fraction of {word}-rate metric {metric!r}"
    reason = f"metric {metric!r} of source {source!r}: {why}, read as {scale}"
    return SeriesSli(minutes, source, (metric,), kind, None, basis, (reason,))


def auto_series_sli(series: pl.DataFrame) -> SeriesSli | None:
    """The SLI taken from series alone when no SLO names one (rules in the module docstring).

    Every series whose name says latency or a success/error rate is read against its own
    baseline; the minutes are combined (a minute is bad when any chosen series is bad in it).
    None when no series qualifies.
    """
    if series.height == 0:
        return None
    pairs = series.select("source", "metric").unique().sort("source", "metric").rows()
    strong: list[tuple[str, str, Kind, str]] = []
    weak: list[tuple[str, str, Kind, str]] = []
    for source, metric in pairs:  # one iteration per series name, not per sample
        kind, why = series_kind(metric)
        if kind is None:
            continue
        (weak if why == "its name says duration" else strong).append((source, metric, kind, why))
    chosen = strong or weak
    parts = []
    for source, metric, kind, why in chosen:
        got = _one(
            series.filter((pl.col("source") == source) & (pl.col("metric") == metric)), source, metric, kind, None, why
        )
        if got is not None:
            parts.append(got)
    if not parts:
        return None
    minutes = (
        pl.concat([p.minutes for p in parts])
        .group_by("ts")
        .agg(pl.col("total").max(), pl.col("bad").max())
        .sort("ts")
        .upsample("ts", every="1m")
        .with_columns(pl.col("total").fill_null(0.0), pl.col("bad").fill_null(0.0))
        .select(list(MINUTES_SCHEMA))
    )
    basis = "; ".join(p.basis for p in parts)
    if len(parts) > 1:
        basis = f"minutes bad in any of: {basis}"
    sources = sorted({p.source for p in parts})
    return SeriesSli(
        minutes,
        sources[0] if len(sources) == 1 else ", ".join(sources),
        tuple(m for p in parts for m in p.metrics),
        parts[0].kind if len({p.kind for p in parts}) == 1 else "mixed",
        parts[0].threshold_s if len(parts) == 1 else None,
        basis,
        tuple(r for p in parts for r in p.reasons),
    )
