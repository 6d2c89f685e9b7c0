"""Severity: classified from measured impact and the author's facts, by a named policy.

Definitions (also in docs/analyses.md). Shares and ratios are fractions (0.25 = 25%).

- **Levels** come in two scales: ``SEV1``..``SEV4`` and ``P0``..``P3``. They map one to one by
  rank: P0 = SEV1, P1 = SEV2, P2 = SEV3, P3 = SEV4. Written forms such as ``sev-1``, ``Sev 2``
  or ``p0`` are read; anything else (``SEV0``, ``critical``) is not a level.
- **Measured terms** (services down, affected share, all users, most requests failing, minimal
  impact, revenue impact) and the **policies** ``sev`` (default), ``responder``, ``p`` and
  ``workflow`` that grade them are defined in :mod:`pmkit.analysis.severity_policies`; the most
  severe rule that applies wins, and the reasons list every rule that applied.

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
import re
from dataclasses import dataclass
from typing import Any

from pmkit.analysis.severity_policies import OUTAGE_RATIO, Policy, affected_share, get_policy
from pmkit.timeutil import fmt_duration

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
    share = affected_share(impact)
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
