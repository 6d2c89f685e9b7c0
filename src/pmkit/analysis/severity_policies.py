"""Severity policies: the thresholds, the measured terms they grade, and each named policy's rules.

:func:`pmkit.analysis.severity.classify` runs the policy it is given on an
:class:`~pmkit.analysis.severity.ImpactFacts`; this module is the data it decides by. Definitions
(also in docs/analyses.md). Shares and ratios are fractions (0.25 = 25%).

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
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pmkit.analysis.severity import ImpactFacts

OUTAGE_RATIO = 0.95
ALL_USERS = 0.95
MAJOR_RATIO = 0.5
MINIMAL_SHARE = 0.01
SEV_SHARE_SEV2 = 0.25
SEV_SHARE_SEV3 = 0.05
SIGNIFICANT_SHARE = 0.10
MAJORITY_SHARE = 0.50

_NO_REVENUE = re.compile(r"^\s*(none|no|n/?a|nil|\$?\s*0+([.,]0+)?\s*\w*|-)?\s*$", re.IGNORECASE)


# --- the affected share ------------------------------------------------------------


def _pct(x: float) -> str:
    return f"{x * 100:.3g}%"


def _has_revenue(text: str | None) -> bool:
    return text is not None and not _NO_REVENUE.match(text)


@dataclass(frozen=True)
class Share:
    """The affected share a policy grades, what it rests on, and the sentence that says so."""

    value: float | None
    basis: str  # users | error ratio | peak | not user-facing | unknown
    text: str


def affected_share(f: ImpactFacts) -> Share:
    """The affected share by the order of preference in the module docstring (users, mean ratio, peak)."""
    if not f.user_facing:
        return Share(0.0, "not user-facing", "not user-facing (internal): no users affected")
    if f.affected_fraction is not None:
        if f.affected_users is not None and f.total_users:
            text = f"{f.affected_users:,} of {f.total_users:,} users affected ({_pct(f.affected_fraction)})"
        else:
            text = f"{_pct(f.affected_fraction)} of users affected"
        return Share(f.affected_fraction, "users", text)
    lead = (
        f"~{f.affected_users:,} users affected but total users unknown (set facts.total_users for the share); "
        if f.affected_users is not None
        else "affected users unknown; "
    )
    if f.error_ratio_during is not None:
        return Share(
            f.error_ratio_during,
            "error ratio",
            lead + f"mean error ratio during impact {_pct(f.error_ratio_during)} stands in for the affected share",
        )
    if f.peak_error_ratio is not None:
        return Share(
            f.peak_error_ratio,
            "peak",
            lead + f"peak error ratio {_pct(f.peak_error_ratio)} stands in for the affected share (an upper bound)",
        )
    return Share(None, "unknown", lead + "no error ratio measured either: the affected share is unknown")


def _on(f: ImpactFacts) -> str:
    return f" on {f.service}" if f.service else ""


@dataclass(frozen=True)
class Hit:
    """A rule that applied: its rank, the sentence, and what it rests on (fact, share or ratio)."""

    rank: int
    reason: str
    basis: str


# --- the rules ---------------------------------------------------------------------

# A policy's rules return every rule that applied.
Rule = Callable[["ImpactFacts", Share], list[Hit]]


def _hard_facts(f: ImpactFacts, s: Share, outage_word: str) -> list[Hit]:
    hits: list[Hit] = []
    if f.services_down and f.peak_error_ratio is not None:
        hits.append(Hit(1, f"peak error ratio {_pct(f.peak_error_ratio)}{_on(f)}: {outage_word}", "fact"))
    elif f.services_down:
        hits.append(Hit(1, f"services down{_on(f)} (given): {outage_word}", "fact"))
    if f.data_loss:
        hits.append(Hit(1, "data loss stated in facts", "fact"))
    if f.security_breach:
        hits.append(Hit(1, "security breach stated in facts", "fact"))
    if s.value is not None and s.value >= ALL_USERS:
        hits.append(Hit(1, f"{s.text}: all users", "share"))
    return hits


def _workaround_lowers(hits: list[Hit], f: ImpactFacts) -> list[Hit]:
    """A SEV2 that rests on the share alone becomes SEV3 when a workaround is available (seeds/003, /001)."""
    if f.workaround and hits and min(h.rank for h in hits) == 2:
        return [Hit(3, f"{h.reason}; a workaround is available, so SEV3", h.basis) if h.rank == 2 else h for h in hits]
    return hits


def _share_rule(s: Share, bands: list[tuple[float, int, str]], below: tuple[int, str]) -> list[Hit]:
    """The first band whose threshold the share exceeds (``>`` for the first, ``>=`` after), else ``below``."""
    if s.value is None or s.value >= ALL_USERS:
        return []
    if s.basis == "not user-facing":
        return [Hit(below[0], s.text, "share")]
    for i, (threshold, level, words) in enumerate(bands):
        if s.value > threshold or (i > 0 and s.value >= threshold):
            return [Hit(level, f"{s.text}: {words}", "share")]
    return [Hit(below[0], f"{s.text}: {below[1]}", "share")]


def _rules_sev(f: ImpactFacts, s: Share) -> list[Hit]:
    hits = _hard_facts(f, s, "complete outage")
    hits += _share_rule(s, [(SEV_SHARE_SEV2, 2, "more than 25%"), (SEV_SHARE_SEV3, 3, "5-25%")], (4, "fewer than 5%"))
    return _workaround_lowers(hits, f)


def _rules_responder(f: ImpactFacts, s: Share) -> list[Hit]:
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


def _rules_p(f: ImpactFacts, s: Share) -> list[Hit]:
    hits = _hard_facts(f, s, "complete outage")
    ratio = f.error_ratio_during
    if f.user_facing and ratio is not None and ratio >= MAJOR_RATIO:
        if _has_revenue(f.revenue_impact):
            words = f"with revenue impact {f.revenue_impact}: revenue-generating features down"
            hits.append(Hit(1, f"mean error ratio {_pct(ratio)}{_on(f)} {words}", "ratio"))
        else:
            hits.append(Hit(2, f"mean error ratio {_pct(ratio)}{_on(f)}: major feature unavailable", "ratio"))
    if f.slo_violated:
        hits.append(Hit(2, "SLO violated", "fact"))
    hits += _share_rule(
        s,
        [
            (SIGNIFICANT_SHARE, 2, "a significant subset (more than 10%)"),
            (MINIMAL_SHARE, 3, "a small subset (under 10%)"),
        ],
        (4, "minimal (less than 1%)"),
    )
    return hits


def _rules_workflow(f: ImpactFacts, s: Share) -> list[Hit]:
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
