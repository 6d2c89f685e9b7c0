"""The customer-facing rule: which words of a text name something internal, and the sentences that do not.

The status page update and the resolution announcement of :mod:`pmkit.report.comms` name
nothing internal. Generated sentences use no names at all (no service ids, versions, hosts,
people; the headline is the spec's title).
Author text is taken sentence by sentence, parenthetical asides removed, and a sentence is dropped
when it names anything internal: a person (roles, chat/page/deploy actors and chat profile names,
full names case-insensitively, first names when capitalised), an ``@handle``, an email, a URL, a
host or dotted identifier (``db-01.internal``, ``users.preferences``), an IP address, a version
(``v2.14.3``, ``2.3.0``) unless the spec's title names it, code (backticks, ``snake_case``,
``SCREAMING_SNAKE``), a service id with a ``-``, ``_``, ``.`` or digit (``payments-api``; plain
words such as ``api`` stay), the incident id, or money (``$``, ``€``, ``£``, revenue). Team
handles and bots count only in full (``payments-team``, not ``payments``), and common words that
are also names (``analysis.blameless.COMMON_WORDS``) only as ``@handles``. A sentence that
refers back (``This ...``) goes with a dropped predecessor. A title that names something internal
becomes a TODO marker. The same check is :func:`internal_names`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import polars as pl

from pmkit.analysis import blameless, gates
from pmkit.report.comms_facts import todo

if TYPE_CHECKING:
    from pmkit.pipeline import Analysis

_ALWAYS_INTERNAL = (
    r"@[A-Za-z0-9][\w.-]*[A-Za-z0-9_]|@[A-Za-z0-9]",
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\.",
    r"\b[a-z][a-z0-9+.-]*://",
    r"\b[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z][A-Za-z0-9-]+\b",  # hosts and dotted identifiers
    r"\b[0-9]{1,3}(?:\.[0-9]{1,3}){3}\b",
    # IPv6: eight groups, or groups around "::" (a time such as 14:23:01 is neither)
    r"(?<![\w:])(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}"
    r"|(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4})*)?::(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4})*)?)(?![\w:])",
    r"`",
    r"\b[a-z0-9]+_[a-z0-9_]+\b",
    r"\b[A-Z0-9]+_[A-Z0-9_]+\b",
    r"[$€£]\s?[0-9][0-9.,]*[KkMmBb]?",
    r"(?i)\brevenue\b",
)
_VERSION = re.compile(r"\b[vV][0-9]+(?:\.[0-9]+)*\b|\b[0-9]+\.[0-9]+\.[0-9]+(?:[-+.][0-9A-Za-z.]+)?\b")
_HOSTS_NOT = re.compile(r"^(?:e\.g|i\.e|a\.m|p\.m)$", re.IGNORECASE)


def _people(analysis: Analysis) -> list[str]:
    """Names of people and handles from the spec's roles and the events' actors."""
    spec = analysis.incident.spec
    names: list[str] = []
    for value in spec.roles.values():
        names += [p.strip().lstrip("@") for p in re.split(r"[,;/]|\band\b", str(value)) if p.strip()]
    events = analysis.incident.events
    if events.height and "actor" in events.columns:
        names += gates.participants(events)
        actors = events.filter(pl.col("kind").is_in(["chat", "page", "deploy"])).get_column("actor").drop_nulls()
        names += actors.unique().to_list()
    for item in spec.action_items:
        if item.owner:
            names.append(item.owner.lstrip("@"))
    return sorted({" ".join(n.split()) for n in names if n and len(n.strip()) >= 2})


def _services(analysis: Analysis) -> list[str]:
    """Internal service ids: spec services, changed and event services that are identifiers."""
    found = set(analysis.incident.spec.services)
    events = analysis.incident.events
    if events.height and "service" in events.columns:
        found |= set(events.get_column("service").drop_nulls().unique().to_list())
    found |= set(analysis.suspects.get_column("service").drop_nulls().to_list()) if analysis.suspects.height else set()
    if analysis.rollback and analysis.rollback.get("service"):
        found.add(analysis.rollback["service"])
    return sorted(s for s in found if re.search(r"[-_.0-9]", s))


def _name_patterns(people: Iterable[str], services: Iterable[str], incident_id: str) -> list[re.Pattern[str]]:
    """Patterns for everything internal; see the module docstring for which forms of a name count."""
    pats = [re.compile(p) for p in _ALWAYS_INTERNAL]
    for raw in people:
        base = re.sub(r"\[bot\]$", "", raw).strip()
        words = [w for w in re.split(r"[\s._-]+", base) if w]
        if not words:
            continue
        team = any(w.lower() in blameless.TEAM_WORDS for w in words)
        bot = raw.endswith("[bot]") or any(w.lower().endswith("bot") for w in words)
        if len(words) == 1:
            word = words[0].lower()
            if not team and word not in blameless.COMMON_WORDS and len(word) >= 3:
                pats.append(re.compile(rf"(?<![\w@]){re.escape(words[0])}(?![\w])", re.IGNORECASE))
            continue
        full = r"[\s._-]+".join(re.escape(w) for w in words)
        pats.append(re.compile(rf"(?<![\w@]){full}(?![\w])", re.IGNORECASE))
        first = words[0]
        if not (team or bot) and len(first) >= 3 and first.isalpha() and first.lower() not in blameless.COMMON_WORDS:
            pats.append(re.compile(rf"(?<![\w@]){re.escape(first.capitalize())}(?![\w])"))
    for svc in services:
        pats.append(re.compile(rf"(?<![\w-]){re.escape(svc)}(?![\w-])", re.IGNORECASE))
    if incident_id:
        pats.append(re.compile(re.escape(incident_id), re.IGNORECASE))
    return list({(p.pattern, p.flags): p for p in pats}.values())


def checker(analysis: Analysis) -> Callable[[str], list[str]]:
    """:func:`internal_names` for one analysis, with its names gathered once."""
    spec = analysis.incident.spec
    public_versions = set(_VERSION.findall(spec.title or ""))
    patterns = _name_patterns(_people(analysis), _services(analysis), spec.id)

    def check(text: str) -> list[str]:
        spans = [
            (m.start(), m.end()) for pat in patterns for m in pat.finditer(text) if not _HOSTS_NOT.match(m.group(0))
        ]
        spans += [(m.start(), m.end()) for m in _VERSION.finditer(text) if m.group(0) not in public_versions]
        merged: list[tuple[int, int]] = []
        for start, end in sorted(spans):
            if merged and start < merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        return [text[a:b] for a, b in merged]

    return check


def internal_names(text: str, analysis: Analysis) -> list[str]:
    """The internal names in ``text`` by the customer-facing rule (module docstring), in order; empty when none.

    Overlapping hits (``Jane Doe`` and ``Jane``) count once.
    """
    return checker(analysis)(text)


def sentences(text: str) -> list[str]:
    """``text``'s sentences, parenthetical asides (nested too) removed and whitespace folded."""
    prev = None
    while prev != text:  # nested asides
        prev, text = text, re.sub(r"\s*\([^()]*\)", "", text)
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z0-9\"'])", " ".join(text.split()))
    return [p.strip() for p in parts if p.strip()]


_REFERS_BACK = re.compile(r"^(?:This|That|These|Those|It|They|He|She|Then)\b")


def public_sentences(text: str | None, check: Callable[[str], list[str]]) -> str | None:
    """``text``'s sentences that name nothing internal, joined; ``None`` when none is left.

    A sentence that refers back (``This prevented ...``) goes with the dropped sentence before it.
    """
    if not text:
        return None
    kept: list[str] = []
    dropped = False
    for sentence in sentences(text):
        dropped = bool(check(sentence)) or (dropped and bool(_REFERS_BACK.match(sentence)))
        if not dropped:
            kept.append(sentence)
    if not kept:
        return None
    out = " ".join(kept)
    return out if out.endswith((".", "!", "?")) else out + "."


def public_title(analysis: Analysis, check: Callable[[str], list[str]]) -> str:
    """The spec's title for customers, or a TODO marker when it is empty or names something internal."""
    title = (analysis.incident.spec.title or "").strip()
    if not title or check(title):
        return todo("public title")
    return title
