"""Shared pieces of the sample generator: a version-stable RNG, time helpers, the sample container.

Times inside the generator are integer **milliseconds since the Unix epoch, UTC** (``ms``);
they are formatted only when written. Randomness comes from :class:`Rng`, which uses
nothing of :mod:`random` but ``seed(str)`` and ``random()``, the two parts whose output
Python guarantees not to change between versions, so a sample is the same bytes on every
Python the package supports.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import math
import random
import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

UTC = dt.UTC
SECOND = 1000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_POD = "bcdfghjklmnpqrstvwxz2456789"  # the alphabet Kubernetes uses for generated name suffixes


class Rng:
    """Deterministic random numbers from ``random.Random(seed).random()`` only."""

    def __init__(self, *seed: str) -> None:
        self._r = random.Random(":".join(seed))
        self.random = self._r.random

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.random()

    def randint(self, a: int, b: int) -> int:
        """An integer in ``[a, b]`` (both ends included)."""
        return a + min(int(self.random() * (b - a + 1)), b - a)

    def chance(self, p: float) -> bool:
        return self.random() < p

    def choice(self, seq: Sequence[T]) -> T:
        return seq[min(int(self.random() * len(seq)), len(seq) - 1)]

    def weighted(self, seq: Sequence[T], cum_weights: Sequence[float]) -> T:
        """One item of ``seq`` drawn with the given cumulative weights."""
        x = self.random() * cum_weights[-1]
        return seq[min(bisect.bisect_right(cum_weights, x), len(seq) - 1)]

    def expo(self, mean: float) -> float:
        return -mean * math.log(1.0 - self.random())

    def gauss(self, mu: float, sigma: float) -> float:
        u1, u2 = self.random(), self.random()
        return mu + sigma * math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)

    def poisson(self, lam: float) -> int:
        """Poisson draw: Knuth's method for small means, a rounded normal for large ones."""
        if lam <= 0:
            return 0
        if lam > 60:
            return max(0, round(self.gauss(lam, math.sqrt(lam))))
        limit, k, p = math.exp(-lam), 0, self.random()
        while p > limit:
            k += 1
            p *= self.random()
        return k

    def hex(self, n: int) -> str:
        """``n`` random hex digits (13 per draw: a draw carries 52 random bits)."""
        r = self.random
        return "".join(f"{int(r() * 4503599627370496):013x}" for _ in range(-(-n // 13)))[:n]

    def alnum(self, n: int, alphabet: str = _ALNUM) -> str:
        r, k = self.random, len(alphabet)
        return "".join([alphabet[int(r() * k)] for _ in range(n)])

    def b62(self, n: int) -> str:
        return self.alnum(n, _B62)

    def pod_suffix(self) -> str:
        return self.alnum(5, _POD)

    def uuid4(self) -> str:
        h = self.hex(32)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(self.random() * 4)]}{h[17:20]}-{h[20:]}"

    def shuffle(self, items: list[Any]) -> None:
        for i in range(len(items) - 1, 0, -1):
            j = min(int(self.random() * (i + 1)), i)
            items[i], items[j] = items[j], items[i]


# ----------------------------------------------------------------------------- times


def ms_of(text: str) -> int:
    """``2025-06-15T14:23:05.123Z`` (or any ISO time with an offset) to epoch milliseconds."""
    t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return round(t.timestamp() * 1000)


def dt_of(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, UTC)


def iso_ms(ms: int) -> str:
    """``2025-06-15T14:23:05.123Z``."""
    t = dt_of(ms - ms % 1000)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


def iso_s(ms: int) -> str:
    """``2025-06-15T14:23:05Z`` (milliseconds dropped)."""
    return dt_of(ms - ms % 1000).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_us(ms: int, extra_us: int = 0) -> str:
    """``2025-06-15T14:23:05.123456Z``: milliseconds plus ``extra_us`` (0-999) microseconds."""
    return dt_of(ms - ms % 1000).strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}{extra_us:03d}Z"


def iso_ns(ms: int, extra: int) -> str:
    """``2025-06-15T14:23:05.123456789Z`` as Go writes times: ``extra`` is the 6 digits below the ms."""
    return dt_of(ms - ms % 1000).strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}{extra:06d}Z"


def floor_minute(ms: int) -> int:
    return ms - ms % MINUTE


def hhmm(ms: int) -> str:
    return dt_of(ms).strftime("%H:%M")


class LocalClock:
    """Formats UTC milliseconds as local wall-clock time of one IANA zone (cached per second)."""

    def __init__(self, zone: str) -> None:
        self.zone = zoneinfo.ZoneInfo(zone)
        self._cache: dict[int, tuple[str, str]] = {}

    def _parts(self, sec: int) -> tuple[str, str]:
        got = self._cache.get(sec)
        if got is None:
            t = dt.datetime.fromtimestamp(sec, UTC).astimezone(self.zone)
            off = t.strftime("%z")
            got = (t.strftime("%Y-%m-%d %H:%M:%S"), t.strftime("%d/%b/%Y:%H:%M:%S ") + off)
            self._cache[sec] = got
        return got

    def naive_ms(self, ms: int) -> str:
        """``2025-06-15 16:19:03.123``: local time without an offset (what naive loggers write)."""
        return f"{self._parts(ms // 1000)[0]}.{ms % 1000:03d}"

    def clf(self, ms: int) -> str:
        """``15/Jun/2025:16:19:21 +0200``: nginx ``$time_local`` (month names in English)."""
        return self._parts(ms // 1000)[1]


def slack_ts(ms: int, micro: int) -> str:
    """Slack message id: seconds, a dot and six fraction digits (``1749997385.123456``)."""
    return f"{ms // 1000}.{(ms % 1000) * 1000 + micro:06d}"


def minutes(a_ms: int, b_ms: int) -> float:
    """``b - a`` in minutes, rounded to 0.01."""
    return round((b_ms - a_ms) / MINUTE, 2)


def p95(values: Sequence[float]) -> float:
    """Nearest-rank 95th percentile (the smallest value with at least 95% of values at or below it)."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[max(0, math.ceil(0.95 * len(s)) - 1)]


def median(values: Sequence[float]) -> float:
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


# ----------------------------------------------------------------------------- the sample


@dataclass
class Sample:
    """One generated incident folder: file contents by relative path, plus its ground truth."""

    incident_id: str
    files: dict[str, bytes] = field(default_factory=dict)
    expected: dict[str, Any] = field(default_factory=dict)

    def add(self, relpath: str, data: bytes) -> None:
        if relpath in self.files:
            raise ValueError(f"{relpath} written twice")
        self.files[relpath] = data


# ----------------------------------------------------------------------------- ground truth
#
# Blocks of ``expected.yaml`` that every sample computes the same way. Each returns a dict
# whose key order is the order written to YAML; a generator merges it into its own dict
# (``{**block, ...}``) where it needs sample-specific keys around it. Times go in as epoch
# milliseconds or as already formatted strings: Slack ``ts`` handling lives in ``writers``,
# which imports this module, so it is done by the caller.

SLO_OBJECTIVE = 99.9  # percent of good requests over the SLO period
SLO_BAD_RATIO = 0.001  # 1 - 99.9%: the share of requests (or minutes) the budget allows to be bad
SLO_PERIOD_MINUTES = 43200  # 30 days
SLO_BUDGET_MINUTES = 43.2  # 0.1% of 30 days, in minutes


def ns_to_us_iso(text: str) -> str:
    """``...05.123456789Z`` -> ``...05.123456Z`` (truncated, as the loaders read Go's nanosecond times)."""
    head, frac = text[:-1].split(".")
    return f"{head}.{frac[:6]}Z"


def span(start_ms: int, end_ms: int) -> dict[str, str]:
    """``{start, end}`` in whole seconds: the shape of every time range in the sample files."""
    return {"start": iso_s(start_ms), "end": iso_s(end_ms)}


def deployed_ms(rec: dict[str, Any]) -> int:
    """When a deployment record's first ``success`` status was posted (the rollout finished)."""
    return next(x.ms for x in rec["statuses"] if x.state == "success")


def metric_records(docs: dict[str, dict[str, Any]], queries: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Sample count and query of each Prometheus ``query_range`` document, kept for the ground truth."""
    return {
        name: {"samples": sum(len(s["values"]) for s in doc["data"]["result"]), "query": queries[name]}
        for name, doc in docs.items()
    }


def incident_tail_sources() -> list[dict[str, str]]:
    """The deploys, slack, alertmanager and pagerduty entries of ``incident.yaml`` (same paths in every sample)."""
    return [
        {"name": "deploys", "kind": "deploys", "format": "github-deployments", "path": "deploys/"},
        {"name": "slack", "kind": "chat", "format": "slack", "path": "chat/"},
        {"name": "alertmanager", "kind": "alerts", "format": "alertmanager", "path": "alerts/alertmanager/"},
        {"name": "pagerduty", "kind": "alerts", "format": "pagerduty", "path": "alerts/pagerduty/"},
    ]


def availability_slo(source: str) -> dict[str, Any]:
    """The request-based 99.9%/30d availability SLO, as declared in ``incident.yaml`` and echoed in the truth."""
    return {
        "name": "availability",
        "objective": SLO_OBJECTIVE,
        "period": "30d",
        "type": "request",
        "source": source,
        "good": "status < 500",
    }


def request_budget(failed: int, rate: float, rate_digits: int, budget_digits: int | None) -> dict[str, Any]:
    """Error budget in requests: ``failed`` requests against 0.1% of 30 days at ``rate`` requests a minute.

    ``rate_digits`` and ``budget_digits`` are how the sample rounds the rate and the budget
    (``None``: to a whole number).
    """
    budget = SLO_BAD_RATIO * rate * SLO_PERIOD_MINUTES
    return {
        "failed_requests": failed,
        "mean_requests_per_minute": round(rate, rate_digits),
        "budget_requests": round(budget, budget_digits),
        "consumed_fraction": round(failed / budget, 4),
        "equivalent_bad_minutes": round(failed / rate, 2),
    }


def time_slice_budget(bad_minutes: int, bad_minutes_in_impact: int) -> dict[str, Any]:
    """Error budget in minutes: bad minutes (overall and in the impact window) against the 43.2-minute budget."""
    return {
        "bad_minutes": bad_minutes,
        "bad_minutes_in_impact": bad_minutes_in_impact,
        "consumed_fraction_time_slice": round(bad_minutes_in_impact / SLO_BUDGET_MINUTES, 4),
    }


def mttx_minutes(
    impact_start: int, detected: int, acknowledged: int, declared: int, mitigated: int, resolved: int
) -> dict[str, Any]:
    """MTTD/MTTA/MTTM/MTTR in minutes, from impact start (MTTA from detection), plus the from-detection variants."""
    return {
        "convention": "from impact_start (MTTA from detected)",
        "mttd": minutes(impact_start, detected),
        "mtta": minutes(detected, acknowledged),
        "mttm": minutes(impact_start, mitigated),
        "mttr": minutes(impact_start, resolved),
        "mttm_from_detection": minutes(detected, mitigated),
        "mttr_from_detection": minutes(detected, resolved),
        "declared_after_detection": minutes(detected, declared),
    }


def source_count(unit: str, count: int, files: int = 1) -> dict[str, Any]:
    """One ``sources`` entry of the truth: how many records a source holds and in how many files."""
    return {"unit": unit, "count": count, "files": files}


def deploy_chat_alert_sources(
    deploys: dict[str, Any], slack_messages: int, sample: Sample, alerts: list[tuple[str, dict[str, Any]]]
) -> dict[str, dict[str, Any]]:
    """The ``deploys``, ``slack`` and ``alertmanager`` entries of ``sources``, counted as their loaders count them.

    Deploys: deployments plus their statuses, one file per repository. Slack: messages, and the
    day files (``chat/<channel>/<day>.json``) of the export. Alertmanager: alerts over all
    webhook notifications, one file each.
    """
    records = deploys["records"]
    statuses = sum(len(r["statuses"]) for r in records)
    chat_days = sum(1 for k in sample.files if k.startswith("chat/") and k.count("/") == 2)
    return {
        "deploys": {
            "unit": "records",
            "count": len(records) + statuses,
            "deployments": len(records),
            "statuses": statuses,
            "files": len(deploys["files"]),
        },
        "slack": source_count("messages", slack_messages, chat_days),
        "alertmanager": source_count("alerts", sum(len(d["alerts"]) for _, d in alerts), len(alerts)),
    }


def impact_totals(start_ms: int, end_ms: int, total: int, failed: int) -> dict[str, Any]:
    """The head of ``impact``: its window and the requests (all and failed) inside it."""
    return {
        "window": span(start_ms, end_ms),
        "total_requests": total,
        "failed_requests": failed,
        "error_ratio": round(failed / total, 4),
    }


def latency_phases(
    what: str, p95_ms: Callable[[int, int], float], window: tuple[int, int], deploy: int, lo: int, mitigated: int
) -> dict[str, Any]:
    """p95 latency before the culprit deploy, during the impact ``[lo, mitigated)`` and after it to the window's end."""
    return {
        "what": what,
        "before": p95_ms(window[0], deploy),
        "during": p95_ms(lo, mitigated),
        "after": p95_ms(mitigated, window[1]),
    }


def culprit_deployment(rec: dict[str, Any], service: str) -> dict[str, Any]:
    """The head of ``culprit``: which production deployment of which repository caused the incident."""
    return {
        "source": "deploys",
        "deployment_id": rec["id"],
        "repo": f"acme/{rec['repo']}",
        "service": service,
        "ref": rec["ver"],
        "sha": rec["sha"],
        "environment": "production",
        "created_at": iso_s(rec["created"]),
    }


def rollback_mitigation(rec: dict[str, Any]) -> dict[str, Any]:
    """The head of ``mitigation_action`` when the mitigation is the rollback deployment ``rec``."""
    return {
        "kind": "rollback",
        "deployment_id": rec["id"],
        "started": iso_s(rec["created"]),
        "completed": iso_s(deployed_ms(rec)),
    }


def rollback_deployment(rec: dict[str, Any]) -> dict[str, Any]:
    """The ``rollback`` block: the rollback deployment, what it rolled back, when it was created and done."""
    return {
        "deployment_id": rec["id"],
        "task": rec["task"],
        "ref": rec["ver"],
        "rollback_of": rec["payload"]["rollback_of"],
        "created_at": iso_s(rec["created"]),
        "completed_at": iso_s(deployed_ms(rec)),
    }


def changes_before_impact(
    records: Iterable[dict[str, Any]],
    window_start: int,
    impact_start: int,
    time_key: str,
    time_of: Callable[[dict[str, Any]], int],
) -> list[dict[str, Any]]:
    """Deployments between the window start and impact start, nearest first (ties in record order).

    ``time_of`` says which time of a record counts (creation or rollout end) and ``time_key``
    the key it is written under.
    """
    chosen = sorted(
        (r for r in records if window_start <= time_of(r) <= impact_start), key=lambda r: impact_start - time_of(r)
    )
    return [
        {
            "deployment_id": r["id"],
            "repo": f"acme/{r['repo']}",
            "ref": r["ver"],
            time_key: iso_s(time_of(r)),
            "minutes_before_impact": minutes(time_of(r), impact_start),
        }
        for r in chosen
    ]


def gaps_minutes(times_ms: Sequence[int]) -> list[float]:
    """Minutes between consecutive times (status messages, in the order given)."""
    return [minutes(a, z) for a, z in itertools.pairwise(times_ms)]


def cadence(
    declared: str,
    updates: list[str],
    resolution: str,
    gaps: list[float],
    required_minutes: int,
    pagerduty_updates: list[str] | None = None,
    max_gap_with_pagerduty: float | None = None,
) -> dict[str, Any]:
    """The ``cadence`` block: status messages from declaration to resolution and whether the gaps kept the cadence.

    ``pagerduty_updates`` and ``max_gap_with_pagerduty`` are for a sample whose PagerDuty
    incident also carries status updates; they are written only when given.
    """
    out: dict[str, Any] = {
        "required_minutes": required_minutes,
        "declared": declared,
        "updates": updates,
        "resolution_update": resolution,
        "gaps_minutes": gaps,
    }
    if pagerduty_updates is not None:
        out["pagerduty_status_updates"] = pagerduty_updates
    out["max_gap_minutes"] = max(gaps)
    if max_gap_with_pagerduty is not None:
        out["max_gap_minutes_with_pagerduty"] = max_gap_with_pagerduty
    out["kept"] = max(gaps) <= required_minutes
    return out


def alert_summary(alertname: str, starts_at: str, notifications: int, repeat_notifications: int) -> dict[str, Any]:
    """The head of ``alerts``: the paging alert's first firing and how many webhook notifications were sent."""
    return {
        "first_firing": {"alertname": alertname, "starts_at": starts_at},
        "notifications": notifications,
        "repeat_notifications": repeat_notifications,
    }


def metrics_block(
    metrics: dict[str, dict[str, Any]], semantics: dict[str, str], step_seconds: dict[str, int]
) -> dict[str, dict[str, Any]]:
    """The ``metrics`` block: per metrics file its query, step, sample count and what a value means."""
    return {
        name: {
            "file": f"metrics/{name}.json",
            "query": v["query"],
            "step_seconds": step_seconds[name],
            "samples": v["samples"],
            "value": semantics[name],
        }
        for name, v in metrics.items()
    }
