"""Figures the people wrote, beside the figures the evidence gives: ``pmkit check``'s ``figures_agree``.

Definitions (also in docs/analyses.md, "Stated figures"):

- **Where figures are read**: the declared ``severity:``; the prose of ``narrative:`` (summary,
  customer impact, root cause, trigger, resolution); every status update
  (:func:`pmkit.analysis.comms.status_updates`: chat updates and PagerDuty status updates).
  Markdown markup and the chat loader's ``⏎`` are removed; a text is cut into clauses at line
  breaks, ``;``, ``|`` and sentence ends, and every rule below looks inside one clause.
- **A number** is ``2400``, ``2,400``, ``1.8k``, ``1.8 million``, ``45``; with a qualifier before it:
  *about* (about, approximately, around, roughly, nearly, almost, some, estimated, ``~``), *at
  least* (over, more than, at least, above) or *at most* (under, less than, fewer than, up to).
  A number glued to a letter, ``.``, ``#``, ``$``, ``/``, ``:`` or ``-`` is no figure: versions
  (``v2.14.3``), times (``14:28``), ids (``INC-2025-0142``, ``#4821``), money (``$340K``),
  percentiles (``p99``).
- **What is claimed** (first rule that reads the number):

  | quantity | written as (e.g.) |
  |---|---|
  | severity | ``SEV1``, ``Sev-2``, ``P0`` (the declared ``severity:`` and any level an update names) |
  | error ratio | ``80% of requests failed``, ``failed (100% of them at the worst)``, ``high error rate (80%)``, ``error rate peaked at 60%``, ``40% errors``; ``complete outage``, ``fully down``, ``all payment attempts are failing`` = 100%. Not: ``error rate back to normal (0.05%)``, ``dropped to 2%`` (a level after recovery), ``support tickets increased 500%`` |
  | affected share | ``85% of users``, ``30% of customers`` |
  | failed requests | a number before (up to three words such as failed, payment, unique, then) transactions, requests, payments, orders, calls, checkouts, purchases |
  | total requests | the same after ``of`` / ``out of`` (``3,023 of 4,614 requests``) |
  | affected users | users, customers, accounts, merchants, clients, people, shoppers, buyers, subscribers, members |
  | affected tenants | tenants, organisations, orgs, workspaces |
  | impact duration | a duration (``45 minutes``, ``45-minute``, ``~45 min``, ``1 h 30 min``, ``1.5 hours``, ``an hour``, ``half an hour``) in a clause that says outage, down, unavailable, disruption, degraded, failing, errors or impact before it, or followed by ``of downtime`` / ``outage``. Not after within, in, every, after, next, per |
  | incident duration | a duration in a clause that says duration, lasted, took or incident (``Duration: 45 minutes``) |

  ``5 Whys``, ``48 hours`` (a promise), ``45 minutes at baseline``, ``500 errors`` (a status code)
  are no claims. A count of users "of N active users" (a total) is the author's fact, not a claim.
- **Transactions**: a count of transactions, payments, orders, checkouts or purchases is measured
  as the failed **write requests** (``POST``, ``PUT``, ``PATCH``, ``DELETE``) of the request log in
  the same window, with their endpoints named, when the request log has write requests; else as
  failed requests. (INC-2025-0142: "about 2,400 transactions" beside 2,362 failed
  ``POST /api/v1/payments``, not the 3,023 failed requests that include reads and health checks.)
  A count of users in the same clause as such a count ("2,400 transactions from 1,800 customers") is
  measured as the distinct users of those failed write requests.
- **Measured** (the :class:`~pmkit.analysis.impact.Impact` of the analysis): failed requests,
  total requests, affected users and tenants, the impact duration (impact start to mitigated),
  the peak and the mean error ratio during the impact, affected users / ``facts.total_users``, the
  classified severity. A figure in a **status update posted during the impact** is measured over
  [impact start, the update's time) (the update could not know what came after); one posted
  before the impact start is not measured. The incident duration is the closer of the impact
  duration and impact start to resolved.
- **Agrees** (the tolerances): counts within 20% of the measured figure (``COUNT_TOLERANCE``);
  durations within 5 minutes or 20%, whichever is larger; error ratios within 10 percentage
  points of the peak or of the mean error ratio; a severity of the same rank (SEV1 = P0). *At
  least N* agrees when the measure is at least N less the tolerance, *at most N* when it is at
  most N plus it. A classification of low confidence measures no severity; a figure with
  nothing measured is shown and neither agrees nor disagrees.
- **Rows**: one per quantity, value, qualifier and measurement window; ``where`` lists every
  place it is stated, narrative first.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from pmkit.analysis import impact as impact_mod
from pmkit.analysis import severity as severity_mod
from pmkit.analysis.impact import Impact
from pmkit.analysis.sli import ImpactWindow
from pmkit.timeutil import fmt_duration, fmt_utc

COUNT_TOLERANCE = 0.20
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
_TRANSACTION_NOUN = re.compile(r"^(?:transactions?|payments?|orders?|checkouts?|purchases?)$")
DURATION_TOLERANCE = 0.20
DURATION_TOLERANCE_MIN = 5.0
RATIO_TOLERANCE = 0.10
NARRATIVE_FIELDS = ("summary", "customer_impact", "root_cause", "trigger", "resolution")

QUANTITIES = {
    "severity": "severity",
    "error_ratio": "error ratio",
    "affected_share": "share of users affected",
    "failed_requests": "failed requests",
    "total_requests": "requests",
    "affected_users": "users affected",
    "affected_tenants": "tenants affected",
    "duration": "impact duration",
    "incident_duration": "incident duration",
}

_APPROX = (
    r"about|approximately|approx\.?|around|roughly|nearly|almost|some|circa|ca\.|an\s+estimated|estimated|est\.|~|≈"
)
_LOWER = r"over|more\s+than|at\s+least|above|upwards\s+of|>"
_UPPER = r"under|less\s+than|fewer\s+than|below|at\s+most|up\s+to|<"
_QUAL = rf"(?:(?P<q>{_APPROX}|{_LOWER}|{_UPPER})\s*)?"
_NUM = r"(?<![\w.,#$€£/:\-])(?P<n>\d{1,3}(?:,\d{3})+(?![\d,])|\d+(?:\.\d+)?)(?!\d|[.:,]\d)"
_MULT = r"(?:\s?(?P<mult>k|thousand|m|mn|million)(?![\w]))?"
_ADJ = (
    r"(?:(?:failed|failing|unsuccessful|errored|dropped|lost|rejected|declined|affected|impacted|unique|distinct|"
    r"individual|active|paying|end|api|http|payment|checkout|customer|user|card|online|more)[\s-]+){0,3}"
)
_REQ = r"transactions?|requests?|payments?|orders?|calls?|checkouts?|purchases?"
_USR = r"users?|customers?|accounts?|merchants?|clients?|people|shoppers?|buyers?|subscribers?|members?"
_TEN = r"tenants?|organi[sz]ations?|orgs?|workspaces?"
COUNT_RE = re.compile(
    rf"{_QUAL}{_NUM}{_MULT}\s+{_ADJ}(?:(?P<req>{_REQ})|(?P<usr>{_USR})|(?P<ten>{_TEN}))\b", re.IGNORECASE
)
PERCENT_RE = re.compile(rf"{_QUAL}{_NUM}\s*(?:%|\s?percent\b)", re.IGNORECASE)
_WORD_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "ten": 10, "fifteen": 15, "thirty": 30}
DURATION_RE = re.compile(
    rf"{_QUAL}(?:{_NUM}(?:\s*|-)(?P<unit>hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)\b"
    r"(?:\s*(?:and\s+)?(?P<n2>\d{1,2})\s*(?:minutes?|mins?|m)\b)?"
    r"|(?P<word>an\s+hour\s+and\s+a\s+half|half\s+an\s+hour|a\s+half\s+hour|an\s+hour"
    rf"|(?P<wn>{'|'.join(_WORD_NUMBERS)})[\s-]+(?P<wunit>hours?|minutes?)))\b",
    re.IGNORECASE,
)
SEVERITY_RE = re.compile(r"(?<![\w-])(?:(?i:sev)[ -]?[0-4]|P[0-4])(?![\w.])")
OUTAGE_RE = re.compile(
    r"\b(?:(?:complete|total|full)\s+(?:outage|downtime|blackout)|(?:completely|fully|entirely|totally|hard)\s+down|"
    r"all\s+(?:\w+\s+){0,2}?(?:requests|transactions|payments|attempts|calls|checkouts|orders)\s+"
    r"(?:were\s+|are\s+|have\s+been\s+)?(?:fail\w*|erroring|rejected))\b",
    re.IGNORECASE,
)
_FAIL_WORD = r"fail\w*|error\w*|unavailable|down|timed?\s*out|rejected|declined|broke\w*|unsuccessful"
_PCT_OF = re.compile(
    r"^\s*of\s+(?:(?:the|all|our|them|payment|api|http|checkout|incoming|customer|user)\s+){0,2}"
    rf"(?P<what>{_REQ}|traffic|them|{_USR})\b",
    re.IGNORECASE,
)
_PCT_ERRORS_AFTER = re.compile(
    r"^\s*(?:error\s+(?:rate|ratio)|failure\s+rate|errors?|failures?|5xx|of\s+errors|failed|failing)\b", re.IGNORECASE
)
_PCT_RATE_BEFORE = re.compile(
    r"\b(?:error|failure)\s+(?:rate|ratio)\b(?P<gap>(?:\s+[\w']+){0,3}?)\s*[(:=]?\s*$", re.IGNORECASE
)
_PCT_GAP_STOP = re.compile(r"\b(?:to|normal|baseline|below|under|back|down|less|before)\b", re.IGNORECASE)
_DUR_IMPACT = re.compile(
    r"\b(?:outage|downtime|down|unavailab\w*|disrupt\w*|degrad\w*|fail\w*|errors?|impact\w*|broken)\b", re.IGNORECASE
)
_DUR_IMPACT_AFTER = re.compile(
    r"^\s*(?:-?\s*long\s+)?(?:of\s+)?(?:(?:complete|total|full|partial)\s+)?(?:outage|downtime|disruption|degradation|errors|failures|impact)\b",
    re.IGNORECASE,
)
_DUR_INCIDENT = re.compile(r"\b(?:duration|lasted|lasting|took|incident)\b", re.IGNORECASE)
_DUR_STOP = re.compile(r"\b(?:within|in|every|after|next|per|each|ago|later|once)\s*$", re.IGNORECASE)
_CLAUSE = re.compile(r"\n+|;\s+|\|\s*|(?<=[\w%)\]])[.!?]\s+(?=[A-Z(*])")


@dataclass(frozen=True)
class Claim:
    """One figure as stated: what it is about, its value, how it was qualified, and where."""

    quantity: str
    value: float
    text: str
    qualifier: str = "exact"  # exact | about | at least | at most
    where: str = ""
    at: dt.datetime | None = None  # when it was stated (status updates); None for incident.yaml
    noun: str = ""  # the word counted: "transactions", "requests", "customers"

    @property
    def unit(self) -> str:
        return {"error_ratio": "%", "affected_share": "%", "duration": "min", "incident_duration": "min"}.get(
            self.quantity, "level" if self.quantity == "severity" else "count"
        )


def clean(text: str) -> str:
    """The text as a reader sees it: no Markdown emphasis or code marks, ``⏎`` as line breaks."""
    text = text.replace("⏎", "\n").replace("\r", "\n")
    text = re.sub(r"\*\*|__|`", "", text)
    text = re.sub(r"(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w)", "", text)
    return text


def clauses(text: str) -> list[str]:
    """A text cut at line breaks, ``;``, ``|`` and sentence ends (where every rule looks)."""
    return [c.strip() for c in _CLAUSE.split(clean(text)) if c and c.strip()]


def _qualifier(q: str | None) -> str:
    if not q:
        return "exact"
    q = " ".join(q.lower().split())
    if re.fullmatch(_LOWER, q):
        return "at least"
    if re.fullmatch(_UPPER, q):
        return "at most"
    return "about"


def _number(n: str, mult: str | None = None) -> float:
    value = float(n.replace(",", ""))
    m = (mult or "").lower()
    if m in ("k", "thousand"):
        value *= 1e3
    elif m in ("m", "mn", "million"):
        value *= 1e6
    return value


def _percent_kind(clause: str, m: re.Match[str]) -> str | None:
    after, before = clause[m.end() :], clause[: m.start()]
    of = _PCT_OF.match(after)
    if of:
        if re.fullmatch(_USR, of.group("what"), re.IGNORECASE):
            return "affected_share"
        near = before.split()[-3:]
        if re.search(_FAIL_WORD, " ".join(near) + " " + after[of.end() : of.end() + 40], re.IGNORECASE):
            return "error_ratio"
        return None
    if _PCT_ERRORS_AFTER.match(after):
        return "error_ratio"
    rate = _PCT_RATE_BEFORE.search(before)
    if rate and not _PCT_GAP_STOP.search(rate.group("gap") or ""):
        return "error_ratio"
    return None


def _duration_minutes(m: re.Match[str]) -> float | None:
    word = m.group("word")
    if word:
        w = " ".join(word.lower().split())
        if m.group("wn"):
            n = _WORD_NUMBERS[m.group("wn").lower()]
            return float(n * 60 if m.group("wunit").lower().startswith("h") else n)
        return {"an hour and a half": 90.0, "half an hour": 30.0, "a half hour": 30.0, "an hour": 60.0}[w]
    value = _number(m.group("n"))
    unit = m.group("unit").lower()
    if unit.startswith("h"):
        value *= 60
    elif unit.startswith("s"):
        value /= 60
    if m.group("n2"):
        value += float(m.group("n2"))
    return value


def _take(found: list[tuple[int, int, Claim]], start: int, end: int, claim: Claim) -> None:
    """Keep a claim unless an earlier rule already read that part of the clause."""
    if not any(start < e and s < end for s, e, _ in found):
        found.append((start, end, claim))


def _clause_claims(clause: str, where: str, at: dt.datetime | None) -> list[Claim]:
    """The claims of one clause, by the rules in order (severity, outage, percent, count, duration)."""
    found: list[tuple[int, int, Claim]] = []
    for m in SEVERITY_RE.finditer(clause):
        level = severity_mod.normalise_level(m.group(0))
        if level is not None:
            _take(
                found, m.start(), m.end(), Claim("severity", float(severity_mod.rank(level)), level, "exact", where, at)
            )
    for m in OUTAGE_RE.finditer(clause):
        _take(found, m.start(), m.end(), Claim("error_ratio", 100.0, m.group(0), "exact", where, at))
    for m in PERCENT_RE.finditer(clause):
        kind = _percent_kind(clause, m)
        if kind:
            claim = Claim(kind, _number(m.group("n")), m.group(0), _qualifier(m.group("q")), where, at)
            _take(found, m.start(), m.end(), claim)
    for m in COUNT_RE.finditer(clause):
        total = re.search(r"\b(?:out\s+)?of\s*$", clause[: m.start()], re.IGNORECASE) is not None
        if m.group("req"):
            kind = "total_requests" if total else "failed_requests"
        elif total:
            continue  # "of 11,238 active users": the population, the author's fact
        else:
            kind = "affected_users" if m.group("usr") else "affected_tenants"
        value = _number(m.group("n"), m.group("mult"))
        noun = (m.group("req") or m.group("usr") or m.group("ten")).lower()
        claim = Claim(kind, value, m.group(0), _qualifier(m.group("q")), where, at, noun)
        _take(found, m.start(), m.end(), claim)
    for m in DURATION_RE.finditer(clause):
        minutes = _duration_minutes(m)
        before, after = clause[: m.start()], clause[m.end() :]
        if minutes is None or _DUR_STOP.search(before):
            continue
        if _DUR_IMPACT.search(before[-80:]) or _DUR_IMPACT_AFTER.match(after):
            kind = "duration"
        elif _DUR_INCIDENT.search(before[-80:]):
            kind = "incident_duration"
        else:
            continue
        _take(found, m.start(), m.end(), Claim(kind, minutes, m.group(0), _qualifier(m.group("q")), where, at))
    out = [c for _, _, c in sorted(found, key=lambda x: x[0])]
    if any(c.quantity == "failed_requests" and _TRANSACTION_NOUN.match(c.noun) for c in out):
        # "2,400 transactions from 1,800 customers": the customers are those of the failed transactions
        out = [
            dataclasses.replace(c, noun=c.noun + " of transactions") if c.quantity == "affected_users" else c
            for c in out
        ]
    return out


def extract(text: str | None, where: str = "", at: dt.datetime | None = None) -> list[Claim]:
    """Every figure stated in ``text`` (see the module docstring), in reading order."""
    return [c for clause in clauses(text or "") for c in _clause_claims(clause, where, at)]


def stated(spec: Any, updates: pl.DataFrame | None = None) -> list[Claim]:
    """The figures of an incident: declared severity, the narrative's prose, then the status updates in time order."""
    out: list[Claim] = []
    level = severity_mod.normalise_level(getattr(spec, "severity", None))
    if level is not None:
        out.append(Claim("severity", float(severity_mod.rank(level)), level, "exact", "incident.yaml severity"))
    narrative = getattr(spec, "narrative", None)
    for name in NARRATIVE_FIELDS:
        out += extract(getattr(narrative, name, None), f"narrative.{name}")
    if updates is not None and updates.height:
        for r in updates.sort("ts").iter_rows(named=True):
            where = f"status update {fmt_utc(r['ts'], 'hm')} UTC ({r.get('source') or r.get('kind')})"
            out += extract(r["message"], where, r["ts"])
    return out


@dataclass(frozen=True)
class FigureCheck:
    """One stated figure beside its measure: ``agrees`` is None when nothing could be measured."""

    quantity: str
    stated: str
    value: float
    qualifier: str
    where: tuple[str, ...]
    measured: float | None
    measured_text: str
    basis: str
    agrees: bool | None
    tolerance: str

    @property
    def label(self) -> str:
        """What the figure is about, in words: ``failed requests``, ``impact duration``."""
        if self.quantity == "failed_requests" and self.measured_text.endswith("failed write requests"):
            return "failed transactions"
        return QUANTITIES.get(self.quantity, self.quantity)

    def finding(self) -> str:
        """``narrative.summary says 'about 2,400 transactions'; measured 3,023 failed requests (basis)``."""
        more = len(self.where) - 1
        places = self.where[0] + (f" (and {more} more)" if more else "")
        return f"{places} says {self.stated!r}; measured {self.measured_text} ({self.basis})"

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


@dataclass(frozen=True)
class Reconciliation:
    """Every stated figure of an incident checked against the evidence (see the module docstring)."""

    rows: tuple[FigureCheck, ...]

    @property
    def disagreements(self) -> list[FigureCheck]:
        return [r for r in self.rows if r.agrees is False]

    @property
    def measured(self) -> list[FigureCheck]:
        return [r for r in self.rows if r.agrees is not None]

    def findings(self) -> list[str]:
        return [r.finding() for r in self.disagreements]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": [r.to_dict() for r in self.rows],
            "disagreements": len(self.disagreements),
            "tolerances": {
                "counts": COUNT_TOLERANCE,
                "durations": {"relative": DURATION_TOLERANCE, "minutes": DURATION_TOLERANCE_MIN},
                "error_ratio_points": RATIO_TOLERANCE,
            },
        }


def _hms(t: dt.datetime | None) -> str:
    return fmt_utc(t, "hms", missing="?")


def _pct(v: float) -> str:
    return f"{v:.1%}" if 0 < v < 0.1 else f"{v:.0%}"


def _within(claim: Claim, measured: float, tol: float) -> bool:
    if claim.qualifier == "at least":
        return measured >= claim.value - tol
    if claim.qualifier == "at most":
        return measured <= claim.value + tol
    return abs(claim.value - measured) <= tol


@dataclass(frozen=True)
class Evidence:
    """What the measures come from: the analysis' impact, its SLI and the classified severity."""

    impact: Impact
    minutes: pl.DataFrame
    window: ImpactWindow
    requests: pl.DataFrame | None = None
    events: pl.DataFrame | None = None
    sli_name: str | None = None
    severity: severity_mod.SeverityResult | None = None
    resolved: dt.datetime | None = None
    total_users: int | None = None


def _cut(claim: Claim, imp: Impact) -> dt.datetime | None:
    """The end of the window a claim is measured over: its update's time when posted during the impact."""
    if claim.at is None or imp.end is None or claim.at >= imp.end:
        return None
    return claim.at


def _impact_to(ev: Evidence, cut: dt.datetime | None, cache: dict[dt.datetime, Impact]) -> Impact:
    imp = ev.impact
    if cut is None or imp.start is None:
        return imp
    if cut not in cache:
        cache[cut] = impact_mod.assess(
            ev.minutes, ev.window, start=imp.start, end=cut, requests=ev.requests, events=ev.events
        )
    return cache[cut]


def _failed_writes(
    requests: pl.DataFrame | None, start: dt.datetime | None, end: dt.datetime | None
) -> tuple[int, list[str]] | None:
    """Failed write requests (``WRITE_METHODS``) in [start, end] (the impact's stated window, both ends included) and their endpoints (most failures first, at
    most three); None without request rows that carry methods, or with no write request in the window."""
    if requests is None or start is None or end is None or "method" not in requests.columns:
        return None
    window = requests.filter((pl.col("ts") >= start) & (pl.col("ts") <= end))
    writes = window.filter(pl.col("method").str.to_uppercase().is_in(list(WRITE_METHODS)))
    if writes.height == 0:
        return None
    failed = writes.filter(~pl.col("ok"))
    endpoints = (
        failed.with_columns(impact_mod.endpoint_expr().alias("endpoint"))
        .group_by("endpoint")
        .len()
        .sort(["len", "endpoint"], descending=[True, False])
        .get_column("endpoint")
        .head(3)
        .to_list()
    )
    return failed.height, endpoints or ["write requests"]


def _failed_write_users(
    requests: pl.DataFrame | None, start: dt.datetime | None, end: dt.datetime | None
) -> int | None:
    """Distinct user ids of the failed write requests in [start, end]; None without writes or user ids."""
    if requests is None or start is None or end is None or not {"method", "user"} <= set(requests.columns):
        return None
    failed = requests.filter(
        (pl.col("ts") >= start)
        & (pl.col("ts") <= end)
        & pl.col("method").str.to_uppercase().is_in(list(WRITE_METHODS))
        & ~pl.col("ok")
    )
    users = failed.get_column("user").drop_nulls()
    return users.n_unique() if users.len() else None


def _measure(claim: Claim, ev: Evidence, cut: dt.datetime | None, cache: dict[dt.datetime, Impact]) -> FigureCheck:
    q = claim.quantity

    def row(measured: float | None, measured_text: str, basis: str, agrees: bool | None, tolerance: str) -> FigureCheck:
        return FigureCheck(
            q,
            claim.text,
            claim.value,
            claim.qualifier,
            (claim.where,),
            measured,
            measured_text,
            basis,
            agrees,
            tolerance,
        )

    def unmeasured(why: str, tolerance: str = "") -> FigureCheck:
        return row(None, "not measured", why, None, tolerance)

    if q == "severity":
        sev = ev.severity
        if sev is None or sev.confidence == "low":
            return unmeasured("the evidence does not classify the incident with confidence", "same rank")
        agrees = severity_mod.rank(sev.level) == int(claim.value)
        reason = sev.reasons[0] if sev.reasons else ""
        return row(
            measured=float(severity_mod.rank(sev.level)),
            measured_text=f"classified {sev.level}",
            basis=f"policy {sev.policy!r}" + (f": {reason}" if reason else ""),
            agrees=agrees,
            tolerance="same rank",
        )
    imp = ev.impact
    if imp.start is None:
        return unmeasured("no impact was found in the SLI")
    if claim.at is not None and claim.at <= imp.start:
        return unmeasured(f"stated at {_hms(claim.at)}, before the impact start {_hms(imp.start)} UTC")
    m = _impact_to(ev, cut, cache)
    end = cut or m.end
    upto = " (up to the update)" if cut is not None else ""
    window = f"{_hms(m.start)}-{_hms(end)} UTC{upto}"
    sli = ev.sli_name or "the SLI"
    count_tol = f"within {COUNT_TOLERANCE:.0%}"

    if q == "failed_requests" and _TRANSACTION_NOUN.match(claim.noun):
        writes = _failed_writes(ev.requests, m.start, end)
        if writes is not None:
            n, endpoints = writes
            return row(
                float(n),
                f"{n:,} failed write requests",
                f"{sli}, {', '.join(endpoints)}, {window}",
                _within(claim, float(n), COUNT_TOLERANCE * n),
                count_tol,
            )
    if q in ("failed_requests", "total_requests"):
        v = m.failed_requests if q == "failed_requests" else m.total_requests
        if v is None:
            return unmeasured(f"{sli} gives no request counts", count_tol)
        noun = "failed requests" if q == "failed_requests" else "requests"
        return row(
            measured=v,
            measured_text=f"{v:,.0f} {noun}",
            basis=f"{sli}, {window}",
            agrees=_within(claim, v, COUNT_TOLERANCE * v),
            tolerance=count_tol,
        )
    if q == "affected_users" and claim.noun.endswith(" of transactions"):
        writers = _failed_write_users(ev.requests, m.start, end)
        if writers is not None:
            return row(
                float(writers),
                f"{writers:,} users with a failed write request",
                f"{sli}: distinct ids of failed write requests, {window}",
                _within(claim, float(writers), COUNT_TOLERANCE * writers),
                count_tol,
            )
    if q in ("affected_users", "affected_tenants"):
        ids = m.affected_users if q == "affected_users" else m.affected_tenants
        noun = "users" if q == "affected_users" else "tenants"
        if ids is None:
            return unmeasured(f"no {noun[:-1]} ids in the evidence ({m.basis})", count_tol)
        n = ids
        return row(
            measured=float(n),
            measured_text=f"{n:,} {noun}",
            basis=f"{m.basis}, {window}",
            agrees=_within(claim, float(n), COUNT_TOLERANCE * n),
            tolerance=count_tol,
        )
    if q == "affected_share":
        if m.affected_users is None or not ev.total_users:
            return unmeasured("affected users or facts.total_users unknown", "within 10 points")
        share = m.affected_users / ev.total_users
        return row(
            measured=share * 100,
            measured_text=f"{_pct(share)} ({m.affected_users:,} of {ev.total_users:,} users)",
            basis=f"{m.basis}, {window}; total users from facts.total_users",
            agrees=_within(claim, share * 100, RATIO_TOLERANCE * 100),
            tolerance="within 10 points",
        )
    if q == "error_ratio":
        if m.peak_error_ratio is None or m.error_ratio is None:
            return unmeasured(f"{sli} gives no error ratio")
        peak, mean = m.peak_error_ratio * 100, m.error_ratio * 100
        agrees = _within(claim, peak, RATIO_TOLERANCE * 100) or _within(claim, mean, RATIO_TOLERANCE * 100)
        return row(
            measured=peak,
            measured_text=f"peak {_pct(m.peak_error_ratio)} ({fmt_utc(m.peak_at, 'hm', missing='?')} UTC), "
            f"mean {_pct(m.error_ratio)}",
            basis=f"per-minute error ratio of {sli}, {window}",
            agrees=agrees,
            tolerance="within 10 points of the peak or the mean",
        )
    # durations
    if end is None:
        return unmeasured("the impact has no end (mitigated) in the evidence")
    tol_text = f"within {DURATION_TOLERANCE_MIN:g} min or {DURATION_TOLERANCE:.0%}"
    impact_min = (end - m.start).total_seconds() / 60 if m.start else None
    options = [(impact_min, f"impact start {_hms(m.start)} to {'the update' if cut else 'mitigated'} {_hms(end)} UTC")]
    if q == "incident_duration" and cut is None and ev.resolved is not None and m.start is not None:
        options.append(
            (
                (ev.resolved - m.start).total_seconds() / 60,
                f"impact start {_hms(m.start)} to resolved {_hms(ev.resolved)} UTC",
            )
        )
    valid = [(v, b) for v, b in options if v is not None]
    if not valid:
        return unmeasured("no impact start in the evidence")
    v, basis = min(valid, key=lambda o: abs(o[0] - claim.value))
    tol = max(DURATION_TOLERANCE_MIN, DURATION_TOLERANCE * v)
    return row(
        measured=v,
        measured_text=fmt_duration(dt.timedelta(minutes=v), "min_s"),
        basis=basis,
        agrees=_within(claim, v, tol),
        tolerance=tol_text,
    )


def reconcile(claims: Iterable[Claim], evidence: Evidence) -> Reconciliation:
    """Each stated figure beside its measure; the same figure stated in several places is one row."""
    cache: dict[dt.datetime, Impact] = {}
    rows: dict[tuple[Any, ...], FigureCheck] = {}
    for c in claims:
        timeless = c.quantity == "severity"  # a level is not a running count
        cut = None if timeless else _cut(c, evidence.impact)
        early = (
            not timeless and c.at is not None and evidence.impact.start is not None and c.at <= evidence.impact.start
        )
        key = (c.quantity, c.value, c.qualifier, cut, early)
        if key in rows:
            row = rows[key]
            if c.where not in row.where:
                rows[key] = dataclasses.replace(row, where=(*row.where, c.where))
            continue
        rows[key] = _measure(c, evidence, cut, cache)
    return Reconciliation(tuple(rows.values()))


def reconcile_incident(spec: Any, updates: pl.DataFrame | None, evidence: Evidence) -> Reconciliation:
    """:func:`stated` then :func:`reconcile`: the whole check for one incident."""
    return reconcile(stated(spec, updates), evidence)


def frame(rec: Reconciliation) -> pl.DataFrame:
    """The rows as a frame (where joined by ``; ``), for a notebook."""
    cols: Sequence[str] = ("quantity", "stated", "where", "measured_text", "basis", "agrees", "tolerance")
    return pl.DataFrame(
        [{k: ("; ".join(r.where) if k == "where" else getattr(r, k)) for k in cols} for r in rec.rows],
        schema={k: (pl.Boolean if k == "agrees" else pl.String) for k in cols},
    )
