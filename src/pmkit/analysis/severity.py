"""Severity: classified from measured impact and the author's facts, by a named policy.

Definitions (also in docs/analyses.md). Shares and ratios are fractions (0.25 = 25%).

- **Levels** come in two scales: ``SEV1``..``SEV4`` and ``P0``..``P3``. They map one to one by
  rank: P0 = SEV1, P1 = SEV2, P2 = SEV3, P3 = SEV4. Written forms such as ``sev-1``, ``Sev 2``
  or ``p0`` are read; anything else (``SEV0``, ``critical``) is not a level.
- **Services down** (complete outage): the peak per-minute error ratio is >= ``OUTAGE_RATIO``
  (0.95) on a user-facing service. Computed from ``peak_error_ratio`` unless given.
- **Affected share**, in this order of preference: affected users / total users (both known);
  else the mean error ratio during the impact (the share of failing requests stands in for
  the share of users, and the reasons say so); else the peak error ratio (an upper bound);
  else unknown. An incident that is not user-facing affects a share of 0.
- **All users**: affected share >= ``ALL_USERS`` (0.95; user counts are rounded, "~10,000").
- **Most requests failing** (a feature unavailable): mean error ratio during the impact
  >= ``MAJOR_RATIO`` (0.5).
- **Minimal impact** (cosmetic): affected share < ``MINIMAL_SHARE`` (0.01).
- **Revenue impact** is the author's text (``facts.revenue_impact``); "none", "no", "0",
  "$0" and "n/a" count as none. It is graded only by the ``p`` policy.

Policies (the most severe rule that applies wins; the reasons list every rule that applied):

- ``sev`` (default; seeds/003, impact matrix): SEV1 services down, data loss, security breach
  or all users; SEV2 share > 25%; SEV3 share 5-25%; SEV4 share < 5%. The matrix's workaround
  row only lowers: with a workaround available, a SEV2 that rests on the share alone becomes
  SEV3. No workaround never raises a level (the "None" column describes SEV1 incidents; it
  does not make one).
- ``responder`` (seeds/004, decision rules): SEV1 widespread user-facing outage (services down
  or all users), data loss or security breach; SEV2 share > 10%; SEV3 a user-facing feature
  broken (share >= 1%), with or without a workaround (the reasons say which); SEV4 cosmetic
  (share < 1%) or internal tooling (not user-facing).
- ``p`` (seeds/000, P0-P3): P0 complete outage (services down or all users), data loss,
  security breach, or revenue-generating features down (revenue impact stated and most
  requests failing); P1 most requests failing (major feature unavailable), share > 10%, or
  SLO violated; P2 share >= 1%; P3 share < 1% or not user-facing. "SLA violation imminent"
  has no fact to read and is not graded.
- ``workflow`` (seeds/001, declaration matrix): SEV1 complete outage, data loss, security
  breach or all users; SEV2 share > 50%; SEV3 share >= 1% (or a SEV2 with a workaround
  available); SEV4 share < 1% or not user-facing.

When the share is unknown and no SEV1/P0 fact applies, the level is the scale's lowest and
``confidence`` is ``low``; ``medium`` when the share came from an error ratio; ``high`` when
from user counts or a stated fact. Missing facts never raise: the reasons say what was unknown.

**Declared** severity (``severity:`` in incident.yaml) always wins: ``final`` is the declared
level, ``mismatch`` compares ranks across scales (a declared P0 matches a classified SEV1).
**Cadence** (required interval between status updates) and **response** follow the final
level: rank 1 (SEV1/P0) 15 min, rank 2 30 min, rank 3 2 h, rank 4 none (seeds/000, /004).
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pmkit.timeutil import fmt_duration

OUTAGE_RATIO = 0.95
ALL_USERS = 0.95
MAJOR_RATIO = 0.5
MINIMAL_SHARE = 0.01
SEV_SHARE_SEV2 = 0.25
SEV_SHARE_SEV3 = 0.05
SIGNIFICANT_SHARE = 0.10
MAJORITY_SHARE = 0.50

SCALES = {"SEV": ("SEV1", "SEV2", "SEV3", "SEV4"), "P": ("P0", "P1", "P2", "P3")}

CADENCE = {
    1: dt.timedelta(minutes=15),
    2: dt.timedelta(minutes=30),
    3: dt.timedelta(hours=2),
    4: None,
}

RESPONSE = {
    "SEV1": "All hands: incident commander, exec notified, status page within 10 min, updates every 15 min, "
    "response within 5 min.",
    "SEV2": "Dedicated responders: status page within 30 min, updates every 30 min, response within 15 min.",
    "SEV3": "Next business day: updates every 2 h during work hours (status page if customer-visible), "
    "response within 1 h.",
    "SEV4": "Backlog: no active incident process, fix in a coming sprint.",
    "P0": "Page immediately: response under 5 min, all hands, incident commander required, updates every 15 min.",
    "P1": "Notify on-call: response within 15 min, incident commander when longer than 1 h, updates every 30 min.",
    "P2": "Create a ticket: response within 1 h, no incident commander, updates every 2 h.",
    "P3": "Informational: next business day, updates as needed.",
}

_LEVEL = re.compile(r"^\s*(sev|p)\s*[-_ ]?\s*(\d)\s*$", re.IGNORECASE)
_NO_REVENUE = re.compile(r"^\s*(none|no|n/?a|nil|\$?\s*0+([.,]0+)?\s*\w*|-)?\s*$", re.IGNORECASE)


# --- levels --------------------------------------------------------------------------


def normalise_level(text: str | None) -> str | None:
    """``"sev-1"`` -> ``"SEV1"``, ``"p0"`` -> ``"P0"``; ``None`` for anything that is not a level."""
    if text is None:
        return None
    m = _LEVEL.match(str(text))
    if not m:
        return None
    scale, n = m.group(1).upper(), int(m.group(2))
    level = f"{scale}{n}"
    return level if level in SCALES[scale] else None


def rank(level: str) -> int:
    """1 (most severe) to 4: SEV1 and P0 are 1, SEV4 and P3 are 4."""
    norm = normalise_level(level)
    if norm is None:
        raise ValueError(f"{level!r} is not a severity level; expected SEV1..SEV4 or P0..P3")
    return int(norm[-1]) + (1 if norm.startswith("P") else 0)


def in_scale(level: str, scale: str) -> str:
    """The same rank in the other scale: ``in_scale("P0", "SEV")`` is ``"SEV1"``."""
    return SCALES[scale.upper()][rank(level) - 1]


def cadence_for(level: str) -> dt.timedelta | None:
    """Required interval between status updates for a level; ``None`` when none is required."""
    return CADENCE[rank(level)]


def response_for(level: str) -> str:
    """What the level asks of the responders (seeds/000 for P levels, seeds/003-004 for SEV)."""
    norm = normalise_level(level)
    if norm is None:
        raise ValueError(f"{level!r} is not a severity level; expected SEV1..SEV4 or P0..P3")
    return RESPONSE[norm]


# --- facts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ImpactFacts:
    """What the impact analysis measured plus what the author states in ``facts:``.

    ``affected_fraction`` is derived from ``affected_users / total_users`` when both are known
    and it is not given; ``services_down`` from ``peak_error_ratio >= 0.95`` on a user-facing
    service when not given. ``service`` names the service the peak was measured on.
    """

    peak_error_ratio: float | None = None
    error_ratio_during: float | None = None
    affected_users: int | None = None
    total_users: int | None = None
    affected_fraction: float | None = None
    duration_minutes: float | None = None
    failed_requests: float | None = None
    services_down: bool | None = None
    data_loss: bool = False
    security_breach: bool = False
    workaround: bool | None = None
    user_facing: bool = True
    revenue_impact: str | None = None
    slo_violated: bool | None = None
    service: str | None = None

    def __post_init__(self) -> None:
        for name in ("peak_error_ratio", "error_ratio_during", "affected_fraction"):
            v = getattr(self, name)
            if v is not None and not 0 <= v <= 1:
                raise ValueError(f"{name} is {v}; expected a fraction between 0 and 1 (0.25 for 25%)")
        if self.affected_fraction is None and self.affected_users is not None and self.total_users:
            object.__setattr__(self, "affected_fraction", min(1.0, self.affected_users / self.total_users))
        if self.services_down is None and self.peak_error_ratio is not None:
            object.__setattr__(self, "services_down", self.user_facing and self.peak_error_ratio >= OUTAGE_RATIO)

    @classmethod
    def from_impact(cls, impact: Any = None, spec: Any = None, **given: Any) -> ImpactFacts:
        """Gather facts from an impact result (``pmkit.analysis.impact.Impact`` or alike) and a spec.

        Reads ``peak_error_ratio``, ``error_ratio`` (as ``error_ratio_during``), ``affected_users``,
        ``duration_minutes`` and ``failed_requests`` from ``impact``; ``total_users``, ``data_loss``,
        ``security_breach``, ``workaround``, ``user_facing`` and ``revenue_impact`` from
        ``spec.facts`` (the author's word wins over keyword arguments for those); keyword
        arguments fill the rest (``slo_violated``, ``service``, ...).
        """
        values: dict[str, Any] = {}
        if impact is not None:
            for src, dst in (
                ("peak_error_ratio", "peak_error_ratio"),
                ("error_ratio", "error_ratio_during"),
                ("affected_users", "affected_users"),
                ("duration_minutes", "duration_minutes"),
                ("failed_requests", "failed_requests"),
            ):
                v = getattr(impact, src, None)
                if v is not None:
                    values[dst] = v
        values.update(given)
        facts = getattr(spec, "facts", None)
        if facts is not None:
            for name in ("total_users", "data_loss", "security_breach", "workaround", "user_facing", "revenue_impact"):
                v = getattr(facts, name, None)
                if v is not None:
                    values[name] = v
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


# --- classification ------------------------------------------------------------------


def _pct(x: float) -> str:
    return f"{x * 100:.3g}%"


def _has_revenue(text: str | None) -> bool:
    return text is not None and not _NO_REVENUE.match(text)


@dataclass(frozen=True)
class _Share:
    value: float | None
    basis: str  # users | error ratio | peak | not user-facing | unknown
    text: str


def _share(f: ImpactFacts) -> _Share:
    if not f.user_facing:
        return _Share(0.0, "not user-facing", "not user-facing (internal): no users affected")
    if f.affected_fraction is not None:
        if f.affected_users is not None and f.total_users:
            text = f"{f.affected_users:,} of {f.total_users:,} users affected ({_pct(f.affected_fraction)})"
        else:
            text = f"{_pct(f.affected_fraction)} of users affected"
        return _Share(f.affected_fraction, "users", text)
    lead = (
        f"~{f.affected_users:,} users affected but total users unknown (set facts.total_users for the share); "
        if f.affected_users is not None
        else "affected users unknown; "
    )
    if f.error_ratio_during is not None:
        return _Share(
            f.error_ratio_during,
            "error ratio",
            lead + f"mean error ratio during impact {_pct(f.error_ratio_during)} stands in for the affected share",
        )
    if f.peak_error_ratio is not None:
        return _Share(
            f.peak_error_ratio,
            "peak",
            lead + f"peak error ratio {_pct(f.peak_error_ratio)} stands in for the affected share (an upper bound)",
        )
    return _Share(None, "unknown", lead + "no error ratio measured either: the affected share is unknown")


def _on(f: ImpactFacts) -> str:
    return f" on {f.service}" if f.service else ""


@dataclass(frozen=True)
class _Hit:
    """A rule that applied: its rank, the sentence, and what it rests on (fact, share or ratio)."""

    rank: int
    reason: str
    basis: str


# A policy's rules return every rule that applied.
Rule = Callable[[ImpactFacts, _Share], list[_Hit]]


def _hard_facts(f: ImpactFacts, s: _Share, outage_word: str) -> list[_Hit]:
    hits: list[_Hit] = []
    if f.services_down and f.peak_error_ratio is not None:
        hits.append(_Hit(1, f"peak error ratio {_pct(f.peak_error_ratio)}{_on(f)}: {outage_word}", "fact"))
    elif f.services_down:
        hits.append(_Hit(1, f"services down{_on(f)} (given): {outage_word}", "fact"))
    if f.data_loss:
        hits.append(_Hit(1, "data loss stated in facts", "fact"))
    if f.security_breach:
        hits.append(_Hit(1, "security breach stated in facts", "fact"))
    if s.value is not None and s.value >= ALL_USERS:
        hits.append(_Hit(1, f"{s.text}: all users", "share"))
    return hits


def _workaround_lowers(hits: list[_Hit], f: ImpactFacts) -> list[_Hit]:
    """A SEV2 that rests on the share alone becomes SEV3 when a workaround is available (seeds/003, /001)."""
    if f.workaround and hits and min(h.rank for h in hits) == 2:
        return [_Hit(3, f"{h.reason}; a workaround is available, so SEV3", h.basis) if h.rank == 2 else h for h in hits]
    return hits


def _share_rule(s: _Share, bands: list[tuple[float, int, str]], below: tuple[int, str]) -> list[_Hit]:
    """The first band whose threshold the share exceeds (``>`` for the first, ``>=`` after), else ``below``."""
    if s.value is None or s.value >= ALL_USERS:
        return []
    if s.basis == "not user-facing":
        return [_Hit(below[0], s.text, "share")]
    for i, (threshold, level, words) in enumerate(bands):
        if s.value > threshold or (i > 0 and s.value >= threshold):
            return [_Hit(level, f"{s.text}: {words}", "share")]
    return [_Hit(below[0], f"{s.text}: {below[1]}", "share")]


def _rules_sev(f: ImpactFacts, s: _Share) -> list[_Hit]:
    hits = _hard_facts(f, s, "complete outage")
    hits += _share_rule(s, [(SEV_SHARE_SEV2, 2, "more than 25%"), (SEV_SHARE_SEV3, 3, "5-25%")], (4, "fewer than 5%"))
    return _workaround_lowers(hits, f)


def _rules_responder(f: ImpactFacts, s: _Share) -> list[_Hit]:
    how = {True: "a workaround exists", False: "no workaround", None: "workaround unknown"}[f.workaround]
    hits = _hard_facts(f, s, "widespread user-facing outage")
    hits += _share_rule(
        s,
        [
            (SIGNIFICANT_SHARE, 2, "a significant segment (more than 10%)"),
            (MINIMAL_SHARE, 3, f"a minor feature broken ({how})"),
        ],
        (4, "cosmetic (less than 1%)"),
    )
    return hits


def _rules_p(f: ImpactFacts, s: _Share) -> list[_Hit]:
    hits = _hard_facts(f, s, "complete outage")
    ratio = f.error_ratio_during
    if f.user_facing and ratio is not None and ratio >= MAJOR_RATIO:
        if _has_revenue(f.revenue_impact):
            words = f"with revenue impact {f.revenue_impact}: revenue-generating features down"
            hits.append(_Hit(1, f"mean error ratio {_pct(ratio)}{_on(f)} {words}", "ratio"))
        else:
            hits.append(_Hit(2, f"mean error ratio {_pct(ratio)}{_on(f)}: major feature unavailable", "ratio"))
    if f.slo_violated:
        hits.append(_Hit(2, "SLO violated", "fact"))
    hits += _share_rule(
        s,
        [
            (SIGNIFICANT_SHARE, 2, "a significant subset (more than 10%)"),
            (MINIMAL_SHARE, 3, "a small subset (under 10%)"),
        ],
        (4, "minimal (less than 1%)"),
    )
    return hits


def _rules_workflow(f: ImpactFacts, s: _Share) -> list[_Hit]:
    hits = _hard_facts(f, s, "complete outage")
    hits += _share_rule(
        s, [(MAJORITY_SHARE, 2, "more than 50%"), (MINIMAL_SHARE, 3, "fewer than 50%")], (4, "cosmetic (less than 1%)")
    )
    return _workaround_lowers(hits, f)


@dataclass(frozen=True)
class Policy:
    """A named way to classify: its scale (``SEV`` or ``P``), where it comes from, and its rules."""

    name: str
    scale: str
    title: str
    rules: Rule = field(repr=False)


POLICIES: dict[str, Policy] = {
    p.name: p
    for p in (
        Policy("sev", "SEV", "SEV1-SEV4 impact matrix (seeds/003)", _rules_sev),
        Policy("responder", "SEV", "SEV1-SEV4 decision rules (seeds/004)", _rules_responder),
        Policy("p", "P", "P0-P3 scale (seeds/000)", _rules_p),
        Policy("workflow", "SEV", "SEV1-SEV3 declaration matrix, >50% users for SEV2 (seeds/001)", _rules_workflow),
    )
}


def get_policy(name: str) -> Policy:
    """The policy called ``name`` (case-insensitive); the error lists the known ones."""
    key = str(name).strip().lower()
    if key in POLICIES:
        return POLICIES[key]
    hint = difflib.get_close_matches(key, list(POLICIES), n=1)
    also = f"; did you mean {hint[0]!r}?" if hint else ""
    raise ValueError(f"severity policy {name!r} is unknown; expected one of {', '.join(POLICIES)}{also}")


@dataclass(frozen=True)
class SeverityResult:
    """The classified level, why, and what the final (declared or classified) level asks for."""

    level: str
    policy: str
    reasons: tuple[str, ...]
    declared: str | None
    mismatch: bool
    final: str
    cadence: dt.timedelta | None
    response: str
    confidence: str
    facts: ImpactFacts

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "policy": self.policy,
            "reasons": list(self.reasons),
            "declared": self.declared,
            "mismatch": self.mismatch,
            "final": self.final,
            "cadence_minutes": None if self.cadence is None else self.cadence.total_seconds() / 60,
            "response": self.response,
            "confidence": self.confidence,
            "facts": self.facts.to_dict(),
        }

    def to_text(self) -> str:
        """A few lines for the terminal."""
        head = f"{self.final} ({'declared' if self.declared else 'classified'})"
        if self.declared:
            head += f"; classified {self.level} by policy {self.policy}"
            if self.mismatch:
                head += ": MISMATCH"
        else:
            head += f" by policy {self.policy}"
        cad = "none required" if self.cadence is None else f"every {fmt_duration(self.cadence, 'decimal')}"
        lines = [head, f"confidence: {self.confidence}", f"status updates: {cad}", f"response: {self.response}"]
        lines += [f"- {r}" for r in self.reasons]
        return "\n".join(lines)


def _context(f: ImpactFacts, policy: Policy) -> list[str]:
    out = []
    if f.duration_minutes is not None:
        out.append(f"impact lasted {f.duration_minutes:,.0f} min")
    if f.failed_requests is not None:
        out.append(f"{f.failed_requests:,.0f} failed requests")
    if f.revenue_impact and policy.name != "p":
        out.append(f"revenue impact {f.revenue_impact} (not graded by policy {policy.name})")
    if f.slo_violated and policy.name != "p":
        out.append("SLO violated")
    if f.user_facing and f.peak_error_ratio is None and f.services_down is None:
        out.append("peak error ratio unknown: whether the service was fully down is unknown")
    if policy.name in ("sev", "workflow") and f.workaround is None:
        out.append("workaround unknown (set facts.workaround)")
    return out


def classify(impact: ImpactFacts, policy: str = "sev", declared: str | None = None) -> SeverityResult:
    """Classify ``impact`` by ``policy`` (``sev``, ``responder``, ``p``, ``workflow``); see module docstring.

    ``declared`` (the author's ``severity:``) wins as ``final``; ``mismatch`` compares ranks across
    scales. A declared value that is not a level is kept, ignored for ``final``, and named in the
    reasons (the ``severity`` quality gate fails on it).
    """
    pol = get_policy(policy)
    share = _share(impact)
    hits = sorted(pol.rules(impact, share), key=lambda h: h.rank)
    if hits:
        best = hits[0].rank
        top = {h.basis for h in hits if h.rank == best}
        confidence = "high" if "fact" in top or share.basis in ("users", "not user-facing") else "medium"
        reasons = [h.reason for h in hits]
    else:
        best, confidence = 4, "low"
        reasons = [f"{share.text}: no rule above {SCALES[pol.scale][3]} applies (measure impact or set facts)"]
    if share.basis not in ("users", "not user-facing") and not any(share.text in r for r in reasons):
        reasons.append(share.text)
    reasons += _context(impact, pol)
    level = SCALES[pol.scale][best - 1]

    final = level
    mismatch = False
    norm = normalise_level(declared) if declared is not None else None
    if declared is not None and norm is None:
        reasons.append(f"declared severity {declared!r} is not a level (SEV1..SEV4 or P0..P3): ignored")
    elif norm is not None:
        final = norm
        mismatch = rank(norm) != best
        if mismatch:
            same = in_scale(norm, pol.scale)
            shown = norm if same == norm else f"{norm} (= {same})"
            reasons.append(f"declared {shown} differs from the classified {level}; the declared level wins")
    return SeverityResult(
        level=level,
        policy=pol.name,
        reasons=tuple(reasons),
        declared=declared,
        mismatch=mismatch,
        final=final,
        cadence=cadence_for(final),
        response=response_for(final),
        confidence=confidence,
        facts=impact,
    )
