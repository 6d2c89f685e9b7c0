"""Blameless wording: who counts as a person in a postmortem's analysis texts, and what reads as blame.

The ``blameless`` quality gate (:mod:`pmkit.analysis.gates`) runs :func:`findings` on the root
cause, the trigger, the contributing factors and the 5 Whys (questions and answers); the
customer-facing check of the comms drafts reads the same ``TEAM_WORDS`` and ``COMMON_WORDS``.

- a **person** is an entry of ``people`` (chat participants' handles, real names, display
  names; ``gates.participants()`` collects them from the events, and ``gates.check`` adds them
  when given ``events``) or a value of ``roles:`` that is not a team handle. Names
  are matched as whole words, case-insensitively, with or without a leading ``@``. Names
  shorter than 3 characters and names that are common words (``COMMON_WORDS``: Will, Max,
  Mark, ...) count only when written as an ``@mention``.
- every ``@handle`` in those texts is a person too, unless it is a team handle: one of its
  parts (split on ``-``, ``_``, ``.``) is a team word (``TEAM_WORDS``: team, sre, oncall,
  platform, backend, ...) and it is not a known person. ``@backend-team`` may appear in a
  root cause; ``@jane-doe`` may not. Person handles belong in action-item owners and roles.
- **blame phrasing** is any of ``BLAME_PHRASES`` ("human error", "'s fault", "should have
  known", "careless", "negligent", "forgot", "incompetent", "blame", ...). "failed to" counts
  only after a person word (engineer, operator, reviewer, he, she, someone, ...): "the pods
  failed to start" is a system fact, not blame.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# fmt: off
TEAM_WORDS = frozenset({
    "team", "teams", "squad", "crew", "guild", "group", "sre", "sres", "oncall", "on-call", "ops", "devops", "dev",
    "devs", "eng", "engineering", "platform", "infra", "infrastructure", "backend", "frontend", "api", "web", "mobile",
    "payments", "dba", "dbas", "db", "data", "security", "sec", "secops", "support", "qa", "release", "releases",
    "network", "netops", "core",
})
COMMON_WORDS = frozenset({
    "will", "max", "mark", "may", "june", "april", "august", "bill", "rich", "sue", "pat", "ray", "rob", "chase",
    "grant", "hope", "joy", "faith", "summer", "art", "sky", "dawn", "page", "lance", "frank", "victor", "miles",
    "drew", "gene", "jack", "jay", "dean", "earl", "amber", "ruby", "crystal", "rose", "ivy", "iris", "penny",
    "sandy", "chip", "dash", "eve", "nick", "guy", "herb", "hunter", "mason", "cash", "price", "case",
})
# fmt: on
BLAME_PHRASES: tuple[tuple[str, str], ...] = (
    ("human error", r"\bhuman errors?\b"),
    ("operator error", r"\boperator errors?\b"),
    ("'s fault", r"\w+'s fault\b|\bfault of\b|\bat fault\b"),
    (
        "should have",
        r"\bshould(?:'ve| have) (?:known|caught|noticed|checked|tested|seen|realized|realised|been more)\b",
    ),
    ("careless", r"\bcareless(?:ly|ness)?\b"),
    ("negligent", r"\bnegligen(?:t|ce|tly)\b"),
    ("incompetent", r"\bincompeten(?:t|ce)\b"),
    ("blame", r"\bblam(?:e|ed|es|ing)\b"),
    ("forgot", r"\bforg(?:ot|otten)\b"),
    ("sloppy", r"\bsloppy\b|\blazy\b"),
    ("dropped the ball", r"\bdropped the ball\b|\bscrewed up\b|\bmessed up\b"),
    ("did not bother", r"\b(?:didn't|did not) bother\b"),
    ("mistake by", r"\bmistake (?:by|of)\b|\b(?:his|her|their) mistake\b"),
    (
        "failed to",
        r"\b(?:he|she|they|engineers?|developers?|devs?|operators?|on-?call(?:er)?|reviewers?|someone|somebody|"
        r"nobody|authors?|admins?|the person|team members?)\s+(?:had\s+|has\s+)?failed to\b",
    ),
)
_BLAME = [(label, re.compile(pattern, re.IGNORECASE)) for label, pattern in BLAME_PHRASES]
_HANDLE = re.compile(r"(?<![\w.@])@([A-Za-z0-9](?:[\w.-]*[A-Za-z0-9_])?)")


def is_team(handle: str) -> bool:
    """A team handle: one of its parts (split on ``-``, ``_``, ``.``), or the whole, is a team word."""
    parts = {p for p in re.split(r"[-_.]", handle.lower()) if p}
    return bool(parts & TEAM_WORDS) or handle.lower() in TEAM_WORDS


def person_patterns(people: Iterable[str]) -> list[tuple[str, re.Pattern[str]]]:
    """Each person once, with the pattern that finds the name as a whole word (``@`` only for short and common names)."""
    out = []
    seen: set[str] = set()
    for raw in people:
        name = " ".join(str(raw).split()).lstrip("@")
        key = name.lower()
        if not name or key in seen:
            continue
        seen.add(key)
        body = r"\s+".join(re.escape(w) for w in name.split())
        mention_only = len(name) < 3 or key in COMMON_WORDS
        prefix = "@" if mention_only else "@?"
        out.append((name, re.compile(rf"(?<![\w@.-]){prefix}{body}(?![\w-])", re.IGNORECASE)))
    return out


def analysis_texts(spec: Any) -> list[tuple[str, str]]:
    """The texts that must be blameless, labelled: root cause, trigger, contributing factors, 5 Whys."""
    n = spec.narrative
    texts = [("root cause", n.root_cause), ("trigger", n.trigger)]
    texts += [(f"contributing factor {i}", t) for i, t in enumerate(n.contributing_factors, start=1)]
    for i, w in enumerate(spec.five_whys, start=1):
        texts += [(f"5 Whys question {i}", w.why), (f"5 Whys answer {i}", w.answer)]
    return [(label, t) for label, t in texts if t]


def findings(spec: Any, people: Iterable[str]) -> list[str]:
    """One line per text that names a person or uses blame phrasing, saying what it found; empty when none.

    ``people`` are the known persons (``gates.participants``); the roles that are not team handles join them.
    """
    role_people = [v for v in getattr(spec, "roles", {}).values() if v and not is_team(v.lstrip("@"))]
    known = [*people, *role_people]
    persons = person_patterns(known)
    known_keys = {" ".join(str(p).split()).lstrip("@").lower() for p in known}
    out = []
    for label, text in analysis_texts(spec):
        found: list[str] = []
        for name, pattern in persons:
            if pattern.search(text):
                found.append(f"names {name!r}")
        for handle in dict.fromkeys(_HANDLE.findall(text)):
            if handle.lower() in known_keys or is_team(handle):
                continue
            found.append(f"mentions @{handle}")
        for _phrase, pattern in _BLAME:
            m = pattern.search(text)
            if m:
                found.append(f"says {m.group(0)!r}")
        if found:
            out.append(f"{label} {', '.join(dict.fromkeys(found))}")
    return out
