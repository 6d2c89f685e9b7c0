"""What users went through: error ratio and latency before/during/after, failures, who was hit.

Definitions (also in docs/analyses.md):

- **during** = [impact start, mitigated], both ends included (mitigated is the last failing
  request); **before** = the same length before impact start (at most 60 minutes), **after** the
  same length after mitigation. With a metrics SLI the phases are whole minutes of samples:
  during = the minutes from the impact start's minute to the minute that ends at mitigated.
- **error ratio** = bad / total requests of the SLI in the phase (every request of the SLI: all
  endpoints); :attr:`Impact.counted` names that population and window.
- **failed / total requests** = the SLI's bad and total counts during the impact.
- **endpoints / services / tenants** frames: per group, failures and requests during the impact
  and in its baseline (the ``impact.baseline`` lookback before impact start), the p-value of a
  one-sided Poisson test and ``failing`` (:mod:`pmkit.analysis.baseline`). Failures of groups that
  are not failing are the **background** (:attr:`Impact.background`).
- **affected users / tenants / endpoints** = distinct ids with at least one failed request
  during the impact (users from the request's ``user``, ``user_id``, ``customer_id`` or ``uid``,
  in attrs or else in the path's query string, ``-`` being no id; endpoints are method + path with
  numeric and hex ids masked). When the request log names no user at all, or without request logs:
  distinct ids on error-level log events during the impact (those fields, ``uid=``-style words in
  the message, else ``actor``); :attr:`Impact.basis` says which.
- **peak** = the highest per-minute error ratio and its minute; **impact minutes** = the
  number of bad minutes (see :func:`pmkit.analysis.sli.detect_impact`).
- **latency** p50/p95/p99 from the ``duration_s`` of every request of the SLI in the phase
  window, in milliseconds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, cast

import polars as pl

from pmkit.analysis.baseline import GROUP_SCHEMA, Rule, compare_groups
from pmkit.analysis.sli import USER_FIELDS, ImpactWindow, decoded_ids
from pmkit.timeutil import fmt_utc

PHASES = ("before", "during", "after")


def endpoint_expr() -> pl.Expr:
    """``METHOD /path`` with id-like path segments masked as ``{id}``.

    A segment is an id when it is all digits, a hex string or uuid of 8+ characters, a
    prefixed id such as ``pay_8f3k2m1x`` / ``cus_12345``, or a random token of 8+ letters and
    digits mixed (``0kczpjaxyr``, ``a1b2c3d4e5``; a word such as ``v1beta1`` is shorter).
    """
    segment = r"^(\d+|[0-9a-fA-F-]{8,}|[A-Za-z]+_[A-Za-z0-9]{4,})$"
    e = pl.element()
    token = e.str.contains(r"^[A-Za-z0-9]{8,}$") & e.str.contains(r"\d") & e.str.contains(r"[A-Za-z]")
    path = (
        pl.col("path")
        .fill_null("")
        .str.replace(r"\?.*$", "")
        .str.split("/")
        .list.eval(pl.when(token).then(pl.lit("{id}")).otherwise(e.str.replace(segment, "{id}")))
        .list.join("/")
    )
    return pl.concat_str([pl.col("method").fill_null(""), pl.lit(" "), path]).str.strip_chars()


def _phase_bounds(start: dt.datetime, end: dt.datetime) -> dict[str, tuple[dt.datetime, dt.datetime]]:
    length = min(end - start, dt.timedelta(minutes=60))
    return {"before": (start - length, start), "during": (start, end), "after": (end, end + length)}


def _floor(t: dt.datetime) -> dt.datetime:
    return t.replace(second=0, microsecond=0)


def _ceil(t: dt.datetime) -> dt.datetime:
    f = _floor(t)
    return f if f == t else f + dt.timedelta(minutes=1)


def endpoint_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """A :func:`pmkit.analysis.baseline.compare_groups` frame with its group column named ``endpoint``."""
    return frame.rename({"group": "endpoint"})


ENDPOINTS_SCHEMA = pl.Schema({("endpoint" if k == "group" else k): v for k, v in GROUP_SCHEMA.items()})


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
    endpoints: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=ENDPOINTS_SCHEMA))
    services: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=GROUP_SCHEMA))
    tenants: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=GROUP_SCHEMA))
    counted: str = ""
    counted_from: dt.datetime | None = None
    counted_to: dt.datetime | None = None
    rule: Rule = field(default_factory=Rule)

    @property
    def failing_endpoints(self) -> list[str]:
        """The endpoints whose error rate rose significantly above their own baseline (most failures first)."""
        return self.endpoints.filter(pl.col("failing")).get_column("endpoint").to_list()

    @property
    def background(self) -> dict[str, Any]:
        """Failures of endpoints that are not failing (at their baseline rate, or too few): how many endpoints,
        how many failures, and which."""
        bg = self.endpoints.filter(~pl.col("failing") & (pl.col("failed") > 0))
        return {
            "endpoints": bg.height,
            "failures": int(bg.get_column("failed").sum()) if bg.height else 0,
            "which": bg.get_column("endpoint").to_list(),
        }

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
            "counted": self.counted,
            "counted_from": fmt_utc(self.counted_from),
            "counted_to": fmt_utc(self.counted_to),
            "baseline": {
                "lookback_minutes": self.rule.lookback.total_seconds() / 60,
                "min_share": self.rule.min_share,
                "alpha": self.rule.alpha,
            },
            "failing_endpoints": self.failing_endpoints,
            "background": self.background,
            "endpoints": self.endpoints.to_dicts(),
            "services": self.services.rename({"group": "service"}).to_dicts(),
            "tenants": self.tenants.rename({"group": "tenant"}).to_dicts(),
        }


def assess(
    minutes: pl.DataFrame,
    window: ImpactWindow,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    requests: pl.DataFrame | None = None,
    events: pl.DataFrame | None = None,
    rule: Rule | None = None,
    sli: str | None = None,
    bad_words: str = "failed",
) -> Impact:
    """Impact over [start, end] (default: the SLI's impact window; the pipeline passes the milestones).

    ``minutes``: the SLI per minute; ``requests``: :func:`pmkit.analysis.sli.request_frame`
    rows if request logs exist; ``events``: the events frame, for affected ids when the
    requests name no user; ``rule``: the baseline test's settings; ``sli`` names the SLI
    for :attr:`Impact.counted` ("request log 'nginx'"); ``bad_words`` says what its bad requests are
    (``failed``, ``slower than 300 ms``) for the basis of the affected users.
    """
    rule = rule or Rule()
    start = start or window.start
    end = end or window.end
    if start is None:
        return Impact(
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            basis="no impact found in the SLI",
            rule=rule,
        )
    if end is None:
        last = cast(dt.datetime, minutes.get_column("ts").max())
        end = last + dt.timedelta(minutes=1) if minutes.height else start
    exact = requests is not None and requests.height > 0
    # request rows are counted in exactly [start, end]; minute counts in the whole minutes that cover it
    lo, hi = (start, end) if exact else (_floor(start), _ceil(end))
    bounds = _phase_bounds(lo, hi)
    phase_rows = []
    for name in PHASES:
        a, b = bounds[name]
        total, bad = _counts(minutes, requests, a, b, closed=name != "before" and exact, open_start=name == "after")
        row: dict[str, Any] = {
            "phase": name,
            "start": a,
            "end": b,
            "total": total,
            "bad": bad,
            "error_ratio": bad / total if total else None,
        }
        row.update(_latency(requests, a, b, closed=name != "before", open_start=name == "after"))
        phase_rows.append(row)
    phases = pl.DataFrame(phase_rows)
    during = phase_rows[1]
    m = minutes.filter((pl.col("ts") >= _floor(start)) & (pl.col("ts") < _ceil(end + dt.timedelta(microseconds=1))))
    m = m.with_columns(pl.when(pl.col("total") > 0).then(pl.col("bad") / pl.col("total")).otherwise(0.0).alias("ratio"))
    peak = m.sort("ratio", descending=True).row(0, named=True) if m.height else None
    users, tenants, endpoints, basis = _affected(requests, events, start, end)
    if bad_words != "failed":
        basis = basis.replace("at least one failed request", f"at least one request {bad_words}")
    groups = {"endpoints": pl.DataFrame(schema=GROUP_SCHEMA), "services": pl.DataFrame(schema=GROUP_SCHEMA)}
    tenant_groups = pl.DataFrame(schema=GROUP_SCHEMA)
    if exact and requests is not None:
        groups["endpoints"] = compare_groups(requests, endpoint_expr(), start=start, end=end, rule=rule)
        groups["services"] = compare_groups(requests, pl.col("service"), start=start, end=end, rule=rule)
        tenant_groups = compare_groups(requests, pl.col("tenant"), start=start, end=end, rule=rule)
    what = sli or "the SLI"
    counted = (
        f"{what}, all endpoints, {fmt_utc(lo, 'hms')}-{fmt_utc(hi, 'hms')} UTC"
        if exact
        else f"{what}, all requests, the whole minutes {fmt_utc(lo, 'hm')}-{fmt_utc(hi, 'hm')} UTC"
    )
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
        endpoints=endpoint_frame(groups["endpoints"]),
        services=groups["services"],
        tenants=tenant_groups,
        counted=counted,
        counted_from=lo,
        counted_to=hi,
        rule=rule,
    )


def _in(lo: dt.datetime, hi: dt.datetime, *, closed: bool, open_start: bool = False) -> pl.Expr:
    """``ts`` in the phase: [lo, hi) or [lo, hi] (``closed``), (lo, ...] with ``open_start``."""
    left = (pl.col("ts") > lo) if open_start else (pl.col("ts") >= lo)
    return left & ((pl.col("ts") <= hi) if closed else (pl.col("ts") < hi))


def _counts(
    minutes: pl.DataFrame,
    requests: pl.DataFrame | None,
    lo: dt.datetime,
    hi: dt.datetime,
    *,
    closed: bool = False,
    open_start: bool = False,
) -> tuple[float, float]:
    """Total and bad requests of the phase: exact from request rows, else the whole minutes in [lo, hi)."""
    if requests is not None and requests.height:
        r = requests.filter(_in(lo, hi, closed=closed, open_start=open_start))
        return float(r.height), float((~r.get_column("ok")).sum())
    m = minutes.filter((pl.col("ts") >= lo) & (pl.col("ts") < hi))
    return float(m.get_column("total").sum()), float(m.get_column("bad").sum())


def _latency(
    requests: pl.DataFrame | None, lo: dt.datetime, hi: dt.datetime, *, closed: bool = False, open_start: bool = False
) -> dict[str, float | None]:
    """p50/p95/p99 (ms) of ``duration_s`` over every request of the SLI in the phase (all endpoints)."""
    out: dict[str, float | None] = {"p50_ms": None, "p95_ms": None, "p99_ms": None}
    if requests is None or requests.height == 0:
        return out
    d = requests.filter(_in(lo, hi, closed=closed, open_start=open_start)).get_column("duration_s").drop_nulls()
    if d.len() == 0:
        return out
    for q, key in ((0.5, "p50_ms"), (0.95, "p95_ms"), (0.99, "p99_ms")):
        v = d.quantile(q, interpolation="linear")
        out[key] = None if v is None else round(float(v) * 1000, 1)
    return out


_MESSAGE_ID = r"\b(?:" + "|".join(USER_FIELDS) + r")[=:]\s*([A-Za-z0-9_.@-]+)"


def _affected(
    requests: pl.DataFrame | None, events: pl.DataFrame | None, start: dt.datetime, end: dt.datetime
) -> tuple[int | None, int | None, list[str], str]:
    """Distinct users, tenants and endpoints with a failure in [start, end], and the basis of those counts."""
    endpoints: list[str] = []
    if requests is not None and requests.height:
        failed = requests.filter(_in(start, end, closed=True) & ~pl.col("ok"))
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
        if users is not None or requests.get_column("user").null_count() < requests.height:
            return users, tenants, endpoints, "request logs: distinct ids with at least one failed request"
        from_logs, log_tenants, _, _ = _affected(None, events, start, end)
        if from_logs is not None:
            return (
                from_logs,
                tenants if tenants is not None else log_tenants,
                endpoints,
                "error-level log events: distinct user ids (the request log names no user)",
            )
        return users, tenants, endpoints, "request logs: no user ids in the requests or the error-level logs"
    if events is not None and events.height:
        errs = events.filter(
            (pl.col("kind") == "log") & pl.col("level").is_in(["error", "critical"]) & _in(start, end, closed=True)
        )
        user, tenant = decoded_ids(pl.col("attrs"))
        # a request's user may also sit in actor (a JSON log mapping its user_id field there), or in the message
        actor = pl.when(~pl.col("actor").is_in(["-", ""])).then(pl.col("actor"))
        said = pl.col("message").str.extract(_MESSAGE_ID, 1)
        said = pl.when(~said.is_in(["-", ""])).then(said)
        got = errs.select(pl.coalesce(user, actor, said).alias("u"), tenant.alias("t"))
        users = got.get_column("u").drop_nulls().n_unique() or None
        tenants = got.get_column("t").drop_nulls().n_unique() or None
        return users, tenants, endpoints, "error-level log events: distinct ids (the SLI reads no request log)"
    return None, None, endpoints, "no per-request evidence"
