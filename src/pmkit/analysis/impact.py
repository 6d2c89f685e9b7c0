"""What users went through: error ratio and latency before/during/after, failures, who was hit.

Definitions (also in docs/analyses.md):

- **during** = [impact start, mitigated); **before** = the same length before impact start
  (at most 60 minutes); **after** = the same length after mitigation (at most 60 minutes).
- **error ratio** = bad / total requests of the SLI in the phase.
- **failed / total requests** = the SLI's bad and total counts during the impact.
- **affected users / tenants / endpoints** = distinct ids with at least one failed request
  during the impact (users from the request's ``user``, ``user_id``, ``customer_id`` or ``uid``, ``-`` being no id;
  endpoints are method + path with numeric and hex ids masked). Without request logs,
  distinct ids (those fields, else ``actor``) on error-level log events during the impact.
- **peak** = the highest per-minute error ratio and its minute; **impact minutes** = the
  number of bad minutes (see :func:`pmkit.analysis.sli.detect_impact`).
- **latency** p50/p95/p99 from the requests' ``duration_s``, in milliseconds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, cast

import polars as pl

from pmkit.analysis.sli import ImpactWindow, decoded_ids
from pmkit.timeutil import fmt_utc

PHASES = ("before", "during", "after")


def endpoint_expr() -> pl.Expr:
    """``METHOD /path`` with id-like path segments masked as ``{id}``.

    A segment is an id when it is all digits, a hex string or uuid of 8+ characters, or a
    prefixed id such as ``pay_8f3k2m1x`` / ``cus_12345``.
    """
    segment = r"^(\d+|[0-9a-fA-F-]{8,}|[A-Za-z]+_[A-Za-z0-9]{4,})$"
    path = (
        pl.col("path")
        .fill_null("")
        .str.replace(r"\?.*$", "")
        .str.split("/")
        .list.eval(pl.element().str.replace(segment, "{id}"))
        .list.join("/")
    )
    return pl.concat_str([pl.col("method").fill_null(""), pl.lit(" "), path]).str.strip_chars()


def _phase_bounds(start: dt.datetime, end: dt.datetime) -> dict[str, tuple[dt.datetime, dt.datetime]]:
    length = min(end - start, dt.timedelta(minutes=60))
    return {"before": (start - length, start), "during": (start, end), "after": (end, end + length)}


@dataclass(frozen=True)
class Impact:
    """The impact figures; ``phases`` is a frame with one row per phase."""

    start: dt.datetime | None
    end: dt.datetime | None
    failed_requests: float | None
    total_requests: float | None
    error_ratio: float | None
    peak_error_ratio: float | None
    peak_at: dt.datetime | None
    impact_minutes: int | None
    duration_minutes: float | None
    affected_users: int | None
    affected_tenants: int | None
    affected_endpoints: list[str] = field(default_factory=list)
    phases: pl.DataFrame = field(default_factory=pl.DataFrame)
    basis: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": fmt_utc(self.start),
            "end": fmt_utc(self.end),
            "failed_requests": self.failed_requests,
            "total_requests": self.total_requests,
            "error_ratio": self.error_ratio,
            "peak_error_ratio": self.peak_error_ratio,
            "peak_at": fmt_utc(self.peak_at),
            "impact_minutes": self.impact_minutes,
            "duration_minutes": self.duration_minutes,
            "affected_users": self.affected_users,
            "affected_tenants": self.affected_tenants,
            "affected_endpoints": self.affected_endpoints,
            "phases": self.phases.to_dicts(),
            "basis": self.basis,
        }


def assess(
    minutes: pl.DataFrame,
    window: ImpactWindow,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    requests: pl.DataFrame | None = None,
    events: pl.DataFrame | None = None,
) -> Impact:
    """Impact over [start, end) (default: the SLI's impact window; overrides pass milestones).

    ``minutes``: the SLI per minute; ``requests``: :func:`pmkit.analysis.sli.request_frame`
    rows if request logs exist; ``events``: the events frame, for affected ids when there
    are no request logs.
    """
    start = start or window.start
    end = end or window.end
    if start is None:
        return Impact(
            None, None, None, None, None, None, None, None, None, None, None, basis="no impact found in the SLI"
        )
    if end is None:
        last = cast(dt.datetime, minutes.get_column("ts").max())
        end = last + dt.timedelta(minutes=1) if minutes.height else start
    bounds = _phase_bounds(start, end)
    phase_rows = []
    for name in PHASES:
        lo, hi = bounds[name]
        total, bad = _counts(minutes, requests, lo, hi)
        row: dict[str, Any] = {
            "phase": name,
            "start": lo,
            "end": hi,
            "total": total,
            "bad": bad,
            "error_ratio": bad / total if total else None,
        }
        lat = _latency(requests, lo, hi)
        row.update(lat)
        phase_rows.append(row)
    phases = pl.DataFrame(phase_rows)
    during = phase_rows[1]
    m = minutes.filter((pl.col("ts") >= start.replace(second=0, microsecond=0)) & (pl.col("ts") < end)).with_columns(
        pl.when(pl.col("total") > 0).then(pl.col("bad") / pl.col("total")).otherwise(0.0).alias("ratio")
    )
    peak = m.sort("ratio", descending=True).row(0, named=True) if m.height else None
    users, tenants, endpoints, basis = _affected(requests, events, start, end)
    return Impact(
        start=start,
        end=end,
        failed_requests=during["bad"],
        total_requests=during["total"],
        error_ratio=during["error_ratio"],
        peak_error_ratio=peak["ratio"] if peak else None,
        peak_at=peak["ts"] if peak else None,
        impact_minutes=int(m.filter(pl.col("ratio") > window.threshold).height),
        duration_minutes=(end - start).total_seconds() / 60,
        affected_users=users,
        affected_tenants=tenants,
        affected_endpoints=endpoints,
        phases=phases,
        basis=basis,
    )


def _counts(
    minutes: pl.DataFrame, requests: pl.DataFrame | None, lo: dt.datetime, hi: dt.datetime
) -> tuple[float, float]:
    """Total and bad requests in [lo, hi): exact from request rows, else from whole minutes (lo floored)."""
    if requests is not None and requests.height:
        r = requests.filter((pl.col("ts") >= lo) & (pl.col("ts") < hi))
        return float(r.height), float((~r.get_column("ok")).sum())
    lo_min = lo.replace(second=0, microsecond=0)
    m = minutes.filter((pl.col("ts") >= lo_min) & (pl.col("ts") < hi))
    return float(m.get_column("total").sum()), float(m.get_column("bad").sum())


def _latency(requests: pl.DataFrame | None, lo: dt.datetime, hi: dt.datetime) -> dict[str, float | None]:
    out: dict[str, float | None] = {"p50_ms": None, "p95_ms": None, "p99_ms": None}
    if requests is None or requests.height == 0:
        return out
    d = requests.filter((pl.col("ts") >= lo) & (pl.col("ts") < hi)).get_column("duration_s").drop_nulls()
    if d.len() == 0:
        return out
    for q, key in ((0.5, "p50_ms"), (0.95, "p95_ms"), (0.99, "p99_ms")):
        v = d.quantile(q, interpolation="linear")
        out[key] = None if v is None else round(float(v) * 1000, 1)
    return out


def _affected(
    requests: pl.DataFrame | None, events: pl.DataFrame | None, start: dt.datetime, end: dt.datetime
) -> tuple[int | None, int | None, list[str], str]:
    if requests is not None and requests.height:
        failed = requests.filter((pl.col("ts") >= start) & (pl.col("ts") < end) & ~pl.col("ok"))
        users = (
            failed.get_column("user").drop_nulls().n_unique()
            if failed.get_column("user").null_count() < failed.height
            else None
        )
        tenants = (
            failed.get_column("tenant").drop_nulls().n_unique()
            if failed.get_column("tenant").null_count() < failed.height
            else None
        )
        endpoints = (
            failed.with_columns(endpoint_expr().alias("endpoint"))
            .group_by("endpoint")
            .len()
            .sort(["len", "endpoint"], descending=[True, False])
            .get_column("endpoint")
            .to_list()
        )
        return users, tenants, endpoints, "request logs: distinct ids with at least one failed request"
    if events is not None and events.height:
        errs = events.filter(
            (pl.col("kind") == "log")
            & pl.col("level").is_in(["error", "critical"])
            & (pl.col("ts") >= start)
            & (pl.col("ts") < end)
        )
        user, tenant = decoded_ids(pl.col("attrs"))
        # a request's user may also sit in actor (a JSON log mapping its user_id field there)
        actor = pl.when(~pl.col("actor").is_in(["-", ""])).then(pl.col("actor"))
        got = errs.select(pl.coalesce(user, actor).alias("u"), tenant.alias("t"))
        users = got.get_column("u").drop_nulls().n_unique() or None
        tenants = got.get_column("t").drop_nulls().n_unique() or None
        return users, tenants, [], "error-level log events: distinct ids (no request logs)"
    return None, None, [], "no per-request evidence"
