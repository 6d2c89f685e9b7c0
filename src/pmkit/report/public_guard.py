"""The last check on the customer-facing postmortem: no internal identifier of the incident reaches it.

:func:`internal_identifiers` collects every identifier the incident knows, each with where it came
from (docs/incident-yaml.md, "`public`"):

- **incident.yaml**: the incident ``id``, ``services``, the ``roles`` handles, ``authors``, action item
  ``owner``\\ s and ``tracker`` issues, the sources' ``name``/``service``/``path`` and pull URLs, the ``runbook``;
- **the events frame**: every ``service`` and ``actor`` value (people, bots, user ids), and from every
  ``message`` and ``attrs`` text the identifier-shaped tokens: IP addresses, URLs, emails, ``@handles``,
  ``#channels``, hosts and dotted names (``db-01.internal``), versions (``v2.14.3``, ``2.3.0``), commit
  shas (7-40 hex digits with a digit and a letter), names with a hyphen and a digit (pods, channels:
  ``payments-api-7d9f8b-x2k4p``), and the values of the ``attrs`` keys that name hosts, pods, people,
  users, commits, versions and deployments (``host``, ``pod``, ``user_id``, ``sha``, ``ref``, ...);
- **the series frame**: metric names and label values.

A person's handle (``@jane-doe``) also counts without ``@``, as its words (``jane doe``) and as its first
name when that is three letters or more and not a common word (``analysis.blameless.COMMON_WORDS``);
team handles (a word of ``analysis.blameless.TEAM_WORDS``: ``@payments-team``), bots and user ids count in
full only. From free text and
``attrs`` values only identifier-shaped values count (a digit, one of ``-_.@:/#``, or an inner capital):
a plain word such as ``checkout`` in an attribute is not an identifier, while the spec's and the
events' service names and actors always are. Numbers count from six digits on (a deployment id; shorter
ones cannot be told from the counts and clock times the text states); anything under three characters
never counts.

:func:`check` finds them in a text: case-insensitively, not inside a longer word (letters, digits,
``_``), after masking the allowed names (``public.allow`` and the customer names of ``public.services``).
URLs, emails, IP addresses and ``@handles`` are refused wherever they come from, unless allowed.
:func:`enforce` raises :class:`PublicLeakError` naming each identifier, where the incident knows it from,
and where in the public text it appears.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from pmkit.analysis.blameless import COMMON_WORDS, TEAM_WORDS
from pmkit.errors import PmkitError

if TYPE_CHECKING:
    from pmkit.incident import Incident
    from pmkit.spec import IncidentSpec

# identifier-shaped tokens of free text (messages, attrs JSON)
TOKEN_PATTERNS = {
    "IP address": r"\b\d{1,3}(?:\.\d{1,3}){3}\b",
    "URL": r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>\\]+",
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+",
    "handle": r"@[A-Za-z0-9][\w.-]*[A-Za-z0-9_]",
    "channel": r"#[A-Za-z0-9][\w-]*[-_0-9][\w-]*",
    "host or dotted name": r"\b[A-Za-z0-9][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*\.[A-Za-z][A-Za-z0-9_-]+\b",
    "version": r"\b[vV]\d+(?:\.\d+)+(?:[-+][0-9A-Za-z.]+)?\b|\b\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.]+)?\b",
    "commit sha": r"\b[0-9a-f]{7,40}\b",
    "pod or hyphenated id": r"\b[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)+\b",
}
# attrs keys whose values name hosts, pods, people, users, commits, versions, deployments
ATTR_KEYS = (
    "host",
    "hostname",
    "server",
    "pod",
    "pod_name",
    "node",
    "instance",
    "container",
    "cluster",
    "namespace",
    "ip",
    "client_ip",
    "remote_addr",
    "addr",
    "user",
    "user_id",
    "uid",
    "username",
    "email",
    "customer",
    "customer_id",
    "tenant",
    "sha",
    "commit",
    "ref",
    "version",
    "deployment",
    "deployment_id",
    "repo",
    "repository",
    "channel",
    "creator",
    "assignee",
    "actor",
    "author",
)
_ATTR_VALUE = r'"(?:' + "|".join(ATTR_KEYS) + r')"\s*:\s*"(?:[^"\\]|\\.)+"'
_SHAPED = re.compile(r"[0-9\-_.@:/#]|[a-z][A-Z]")


class PublicLeakError(PmkitError, ValueError):
    """The public text names an internal identifier; the message names each one and where it came from."""


@dataclass(frozen=True)
class Leak:
    """One internal identifier found in the public text: the text, where the incident knows it from, where it is."""

    identifier: str
    origin: str
    part: str


def _shaped(value: str) -> bool:
    """Identifier-shaped: a digit, one of ``-_.@:/#``, or an inner capital (see the module docstring)."""
    return bool(_SHAPED.search(value))


def _keep(value: str) -> bool:
    v = value.strip()
    if len(v) < 3:
        return False
    return not (v.isdigit() and len(v) < 6)


def _add(out: dict[str, tuple[str, str]], value: str | None, origin: str) -> None:
    if value is None:
        return
    v = " ".join(str(value).split())
    if _keep(v):
        out.setdefault(v.lower(), (v, origin))


def _person(out: dict[str, tuple[str, str]], raw: str, origin: str) -> None:
    """A person or bot: the handle, without ``@``, its words, and its first name (module docstring)."""
    for part in re.split(r"[,;/]|\band\b", raw):
        name = part.strip()
        if not name:
            continue
        bare = name.lstrip("@")
        _add(out, name, origin)
        _add(out, bare, origin)
        words = [w for w in re.split(r"[\s._-]+", re.sub(r"\[bot\]$", "", bare)) if w]
        team = any(w.lower() in TEAM_WORDS for w in words)
        bot = bare.endswith("[bot]") or any(w.lower().endswith("bot") for w in words)
        if team or bot or not all(w.isalpha() for w in words):
            continue  # teams, bots and user ids count in full only
        if len(words) > 1:
            _add(out, " ".join(words), origin)
            if len(words[0]) >= 3 and words[0].lower() not in COMMON_WORDS:
                _add(out, words[0], origin)


def spec_identifiers(spec: IncidentSpec) -> dict[str, tuple[str, str]]:
    """The identifiers ``incident.yaml`` names: lower-cased -> (identifier, where from)."""
    out: dict[str, tuple[str, str]] = {}
    _add(out, spec.id, "incident.yaml id")
    for i, svc in enumerate(spec.services):
        _add(out, svc, f"incident.yaml services[{i}]")
    for role, who in spec.roles.items():
        _person(out, who, f"incident.yaml roles.{role}")
    for i, who in enumerate(spec.authors):
        _person(out, who, f"incident.yaml authors[{i}]")
    for i, item in enumerate(spec.action_items):
        if item.owner:
            _person(out, item.owner, f"incident.yaml action_items[{i}].owner")
        _add(out, item.tracker, f"incident.yaml action_items[{i}].tracker")
    for i, src in enumerate(spec.sources):
        if src.name and _shaped(src.name):
            _add(out, src.name, f"incident.yaml sources[{i}].name")
        _add(out, src.service, f"incident.yaml sources[{i}].service")
        if _shaped(src.path.rstrip("/*")):
            _add(out, src.path.rstrip("/*"), f"incident.yaml sources[{i}].path")
        if src.pull is not None:
            _add(out, src.pull.url, f"incident.yaml sources[{i}].pull.url")
    _add(out, spec.runbook, "incident.yaml runbook")
    return out


def _tokens(texts: pl.Series) -> dict[str, str]:
    """Identifier-shaped tokens of a text column, each with the kind of pattern that found it (vectorised)."""
    found: dict[str, str] = {}
    texts = texts.drop_nulls().unique()
    if texts.len() == 0:
        return found
    for kind, pattern in TOKEN_PATTERNS.items():
        hits = texts.str.extract_all(pattern).explode().drop_nulls().unique()
        for tok in hits.to_list():
            if kind == "commit sha" and not (re.search(r"\d", tok) and re.search(r"[a-f]", tok)):
                continue
            if kind == "pod or hyphenated id" and not re.search(r"\d", tok):
                continue
            found.setdefault(tok, kind)
    return found


def event_identifiers(events: pl.DataFrame, series: pl.DataFrame | None = None) -> dict[str, tuple[str, str]]:
    """The identifiers of the evidence: lower-cased -> (identifier, where from), per the module docstring."""
    out: dict[str, tuple[str, str]] = {}
    if events.height:
        for col in ("service", "actor"):
            if col not in events.columns:
                continue
            rows = events.select(col, "source").drop_nulls(col).group_by(col).agg(pl.col("source").first()).rows()
            for value, source in sorted(rows, key=lambda r: str(r[0])):
                if col == "actor":
                    _person(out, str(value), f"events: actor of source {source!r}")
                else:
                    _add(out, str(value), f"events: service of source {source!r}")
        for col in ("message", "attrs"):
            if col not in events.columns:
                continue
            for tok, kind in sorted(_tokens(events.get_column(col)).items()):
                _add(out, tok, f"events: {kind} in {col}")
        if "attrs" in events.columns:
            pairs = events.get_column("attrs").drop_nulls().str.extract_all(_ATTR_VALUE).explode().drop_nulls().unique()
            for pair in sorted(pairs.to_list()):
                key, _, value = pair.partition(":")
                value = value.strip().strip('"')
                if _shaped(value) or key.strip('"') in ("user", "user_id", "uid", "username", "actor", "author"):
                    _add(out, value, f"events: attrs.{key.strip(chr(34))}")
    if series is not None and series.height:
        for metric in series.get_column("metric").drop_nulls().unique().sort().to_list():
            if _shaped(metric):
                _add(out, metric, "series: metric name")
        values = series.get_column("labels").drop_nulls().str.extract_all(r':\s*"(?:[^"\\]|\\.)+"').explode()
        for v in values.drop_nulls().unique().sort().to_list():
            value = v.split(":", 1)[1].strip().strip('"')
            if _shaped(value):
                _add(out, value, "series: label value")
    return out


def internal_identifiers(incident: Incident) -> dict[str, tuple[str, str]]:
    """Every internal identifier of the incident: lower-cased -> (identifier, where from); the spec's first."""
    out = spec_identifiers(incident.spec)
    for key, value in event_identifiers(incident.events, incident.series).items():
        out.setdefault(key, value)
    return out


def allowed_names(spec: IncidentSpec) -> list[str]:
    """The names the public text may use: ``public.allow`` and the customer names of ``public.services``."""
    return [n for n in (*spec.public.allow, *spec.public.services.values()) if n and n.strip()]


def _mask(text: str, allowed: Iterable[str]) -> str:
    """``text`` with every allowed name blanked out (longest first), so nothing inside one counts."""
    for name in sorted(set(allowed), key=len, reverse=True):
        text = re.sub(re.escape(name), lambda m: " " * len(m.group(0)), text, flags=re.IGNORECASE)
    return text


_KIND_PHRASE = {"URL": "a URL", "email": "an email address", "IP address": "an IP address", "handle": "an @handle"}
_LONG = 160  # identifiers longer than this are looked up by search, the others through the text's spans


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _hits(text: str, identifiers: Mapping[str, tuple[str, str]], longest: int) -> list[tuple[int, int, str]]:
    """Every identifier in ``text`` as (start, end, key): each span that starts and ends at a word boundary
    (not inside a longer word) looked up in ``identifiers``; a few hundred spans for a page, not one
    search per identifier."""
    low = text.lower()
    n = len(text)
    ends = [j for j in range(1, n + 1) if j == n or not _is_word(text[j])]
    out = []
    k0 = 0
    for i in range(n):
        if i and _is_word(text[i - 1]):
            continue
        while k0 < len(ends) and ends[k0] <= i:
            k0 += 1
        for j in ends[k0:]:
            if j - i > longest:
                break
            if low[i:j] in identifiers:
                out.append((i, j, low[i:j]))
    return out


class Guard:
    """The identifiers of one incident, prepared once, and the allowed names: :meth:`check` any number of texts."""

    def __init__(self, identifiers: Mapping[str, tuple[str, str]], allowed: Iterable[str] = ()) -> None:
        self.allowed = list(allowed)
        allowed_lower = {a.lower() for a in self.allowed}
        self.idents = {k: v for k, v in identifiers.items() if k not in allowed_lower}
        self.short = {k: v for k, v in self.idents.items() if len(k) <= _LONG}
        self.long_keys = [k for k in self.idents if len(k) > _LONG]
        self.longest = max(map(len, self.short), default=0)

    def check(self, parts: Mapping[str, str]) -> list[Leak]:
        """The internal identifiers in the public text, per part (``{"Summary": text, ...}``), in order found.

        A hit inside a longer one (``jane`` in ``@jane-doe``) is reported once, as the longer one.
        """
        leaks: list[Leak] = []
        for part, text in parts.items():
            masked = _mask(text, self.allowed)
            found: list[tuple[int, int, str, str]] = [
                (i, j, *self.idents[k]) for i, j, k in _hits(masked, self.short, self.longest)
            ]
            low = masked.lower()
            for k in self.long_keys:
                at = low.find(k)
                if at != -1:
                    found.append((at, at + len(k), *self.idents[k]))
            for kind, phrase in _KIND_PHRASE.items():
                found += [
                    (m.start(), m.end(), m.group(0), f"{phrase}, never public unless allowed")
                    for m in re.finditer(TOKEN_PATTERNS[kind], masked)
                ]
            found.sort(key=lambda h: (h[0], -(h[1] - h[0])))
            reach = -1
            seen: set[str] = set()
            for _i, j, ident, origin in found:
                if j <= reach or ident.lower() in seen:
                    continue  # inside a hit already reported, or named already
                reach = max(reach, j)
                seen.add(ident.lower())
                leaks.append(Leak(ident, origin, part))
        return leaks


def check(
    parts: Mapping[str, str], identifiers: Mapping[str, tuple[str, str]], allowed: Iterable[str] = ()
) -> list[Leak]:
    """:meth:`Guard.check` for one call."""
    return Guard(identifiers, allowed).check(parts)


def guard_for(incident: Incident) -> Guard:
    """The guard of an incident: its identifiers (:func:`internal_identifiers`) and its allowed names."""
    return Guard(internal_identifiers(incident), allowed_names(incident.spec))


def enforce(parts: Mapping[str, str], incident: Incident, guard: Guard | None = None) -> None:
    """Raise :class:`PublicLeakError` when the public text names an internal identifier (module docstring)."""
    leaks = (guard or guard_for(incident)).check(parts)
    if leaks:
        shown = "; ".join(f"{lk.identifier!r} ({lk.origin}) in {lk.part}" for lk in leaks[:10])
        more = f"; and {len(leaks) - 10} more" if len(leaks) > 10 else ""
        raise PublicLeakError(
            f"{incident.spec.id}: the public postmortem would name internal identifiers: {shown}{more}. "
            "Reword the public text (incident.yaml public:), map the service under public.services, or add the "
            "name to public.allow when it is public"
        )
