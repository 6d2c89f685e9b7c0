"""The response phases (Jeli-style): detection, diagnosis, repair and communication, when and who.

Definitions (also in docs/analyses.md, "Response phases"), all times UTC:

- **Detection, diagnosis and repair follow one another** on the time axis, from the milestones
  (:mod:`pmkit.analysis.milestones`):

  - *detection*: impact start to detected (the time nobody knew; the time *before* detection counts here,
    it is what detection took). Without an impact start it starts at detection and lasts zero; an alert that
    fired before the first failing request (the milestones allow 10 min) makes it zero too. Without a
    detection (nor an acknowledgement, which then stands in) its end and diagnosis' start are unknown.
  - *diagnosis*: detected to the start of repair.
  - *repair*: the first repair move to resolved. The first repair move is the earliest of the rollback's start
    (deploy evidence, :func:`pmkit.analysis.changes.find_rollback`), the first person's message after detection
    that says a repair move (:data:`pmkit.vocab.PHASE_WORDS` ``repair``: roll back, revert, fail over, a fix
    deployed, restart/scale/drain/kill something; a question, a negation or a condition takes it back) or that
    the author put in repair (a message the words put in communication, "update: rolling back now", counts
    too; one the author put in another phase does not), and the mitigated milestone (after mitigation the team is repairing or checking
    the repair). Without any of these, repair starts at resolution and lasts zero.
  - **Monitoring after mitigation is part of repair**: the repair phase runs to resolution, and the span from
    mitigated to resolved is reported beside it (:attr:`Phases.monitoring`) as the time spent verifying.

- **Communication runs alongside**: its span is the first to the last message or page event tagged
  communication; it overlaps the other three and is not part of their sum.

- **Messages** (a person's action by the responders' rule, :func:`pmkit.analysis.response.human_action`: human
  chat messages and page events a person made) from the detection start to resolution, plus
  :data:`pmkit.analysis.response.CHAT_AFTER` for the closing words, are tagged, first rule that applies:

  1. the author's ``phases.messages`` in incident.yaml: the first pattern the text matches;
  2. the words (:data:`pmkit.vocab.PHASE_WORDS`, in :data:`pmkit.vocab.PHASE_WORD_ORDER`: communication,
     repair, diagnosis, detection), status updates published on the page (``status_update``) being
     communication; after resolution only communication words tag;
  3. the phase whose time span holds the message (after resolution: none, counted as ``outside``).

  So a message can be in a phase outside that phase's time span ("still no successful payments: nginx
  answers 502" during repair is diagnosis by its words); per phase the counts are of messages tagged with it.

- **People per phase**: the distinct persons among the phase's tagged actions, names folded as the
  responders' (:func:`pmkit.analysis.response.person_key` on the chat's real name when it gives one).

- **Overrides** (``phases:`` in incident.yaml, :class:`pmkit.spec.Phases`): ``<phase>.start``/``end`` set a
  boundary (a phase's end is the next one's start); ``communication.start``/``end`` set its span. An
  impossible order with the milestones raises :class:`PhaseOrderError`, never a negative duration.

Every function returns data; :mod:`pmkit.report.sections` writes the sentences.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from pmkit.analysis.milestones import Milestones
from pmkit.analysis.response import CHAT_AFTER, human_action, person_key, person_name
from pmkit.errors import MilestoneOrderError
from pmkit.spec import Phases as PhaseSpec
from pmkit.timeutil import fmt_utc
from pmkit.vocab import PHASE_WORD_ORDER, PHASE_WORDS

if TYPE_CHECKING:
    from polars._typing import PolarsDataType

PHASES = ("detection", "diagnosis", "repair", "communication")
SEQUENTIAL = ("detection", "diagnosis", "repair")
BY_AUTHOR = "incident.yaml"
BY_WORDS = "words"
BY_TIME = "time"
PAGE_COMMS = r"(?i)status_update"

SPANS_SCHEMA: dict[str, PolarsDataType] = {
    "phase": pl.String,
    "start": pl.Datetime("us", "UTC"),
    "end": pl.Datetime("us", "UTC"),
    "duration": pl.Duration("us"),
    "start_basis": pl.String,
    "end_basis": pl.String,
    "messages": pl.UInt32,
    "actions": pl.UInt32,
    "people": pl.List(pl.String),
}
TAGGED_SCHEMA: dict[str, PolarsDataType] = {
    "ts": pl.Datetime("us", "UTC"),
    "source": pl.String,
    "kind": pl.String,
    "actor": pl.String,
    "person": pl.String,
    "message": pl.String,
    "origin": pl.String,
    "phase": pl.String,
    "tagged_by": pl.String,
}


class PhaseOrderError(MilestoneOrderError):
    """Phase boundaries (set in incident.yaml, or inferred) in an impossible order."""


@dataclass(frozen=True)
class Boundary:
    """One phase boundary: its time and how it was found, in words for the document."""

    ts: dt.datetime | None
    basis: str


@dataclass(frozen=True)
class Phases:
    """The response phases of one incident (see the module docstring).

    ``spans``: one row per phase in :data:`PHASES` order (``phase, start, end, duration, start_basis,
    end_basis, messages, actions, people``); ``tagged``: the persons' actions in the response window with their
    ``phase`` (null: outside every phase) and ``tagged_by`` (``incident.yaml``, ``words`` or ``time``);
    ``monitoring``: mitigated to resolved, inside repair; ``bounds``: the four boundaries of the sequential
    phases (detection start, diagnosis start, repair start, repair end).
    """

    spans: pl.DataFrame
    tagged: pl.DataFrame
    monitoring: tuple[dt.datetime | None, dt.datetime | None]
    bounds: tuple[Boundary, Boundary, Boundary, Boundary]

    def span(self, phase: str) -> dict[str, Any]:
        """One phase's row of ``spans`` as a dict."""
        rows = self.spans.filter(pl.col("phase") == phase)
        if rows.height == 0:
            raise KeyError(f"{phase!r} is not a phase; expected one of {', '.join(PHASES)}")
        return rows.row(0, named=True)

    @property
    def outside(self) -> int:
        """Actions in the window no rule put in a phase (after resolution, not communication)."""
        return int(self.tagged.get_column("phase").null_count())

    @property
    def monitoring_duration(self) -> dt.timedelta | None:
        start, end = self.monitoring
        return end - start if start is not None and end is not None else None

    def to_dict(self) -> dict[str, Any]:
        """For ``pmkit analyze --json``: per phase its times (ISO UTC), seconds, bases, counts and people."""
        out: dict[str, Any] = {}
        for r in self.spans.iter_rows(named=True):
            d = r["duration"]
            out[r["phase"]] = {
                "start": fmt_utc(r["start"]),
                "end": fmt_utc(r["end"]),
                "seconds": d.total_seconds() if d is not None else None,
                "start_basis": r["start_basis"],
                "end_basis": r["end_basis"],
                "messages": r["messages"],
                "actions": r["actions"],
                "people": list(r["people"]),
            }
        mon = self.monitoring_duration
        out["monitoring"] = {
            "start": fmt_utc(self.monitoring[0]),
            "end": fmt_utc(self.monitoring[1]),
            "seconds": mon.total_seconds() if mon is not None else None,
        }
        return out


# --- the rules as expressions ------------------------------------------------------------------------------------


def says(phase: str, text: pl.Expr | None = None) -> pl.Expr:
    """True where a message says ``phase``'s words (:data:`pmkit.vocab.PHASE_WORDS`) and takes none back."""
    msg = (pl.col("message") if text is None else text).fill_null("")
    words, back = PHASE_WORDS[phase]
    hit = msg.str.contains("(?im)" + "|".join(f"(?:{p})" for p in words))
    if back:
        hit = hit & ~msg.str.contains("(?im)" + "|".join(f"(?:{p})" for p in back))
    return hit


def words_phase(text: pl.Expr | None = None) -> pl.Expr:
    """The phase a message's words say (the first of :data:`PHASE_WORD_ORDER` it :func:`says`), else null."""
    expr: pl.Expr = pl.lit(None, dtype=pl.String)
    for phase in reversed(PHASE_WORD_ORDER):  # built inside out: the first phase of the order is tested first
        expr = pl.when(says(phase, text)).then(pl.lit(phase)).otherwise(expr)
    return expr


def _page_words() -> pl.Expr:
    """A page event's phase by its type: a status update published is communication."""
    et = pl.col("attrs").str.json_path_match("$.event_type").fill_null("")
    return pl.when((pl.col("kind") == "page") & et.str.contains(PAGE_COMMS)).then(pl.lit("communication"))


def author_phase(spec: PhaseSpec | None) -> pl.Expr:
    """The phase of the first ``phases.messages`` pattern a message matches, else null. Case-insensitive: a
    pattern that starts with ``(?-i)`` matches case-sensitively."""
    expr: pl.Expr = pl.lit(None, dtype=pl.String)
    msg = pl.col("message").fill_null("")
    for rule in reversed(spec.messages if spec is not None else []):
        pattern = f"(?i){rule.pattern}"
        expr = pl.when(msg.str.contains(pattern)).then(pl.lit(rule.phase)).otherwise(expr)
    return expr


def time_phase(bounds: tuple[Boundary, Boundary, Boundary, Boundary]) -> pl.Expr:
    """The sequential phase whose span holds ``ts`` (half-open, the last closed at resolution), else null."""
    t = [b.ts for b in bounds]
    expr: pl.Expr = pl.lit(None, dtype=pl.String)
    for i in reversed(range(3)):
        lo, hi = t[i], t[i + 1]
        if lo is None or hi is None:
            continue
        inside = (pl.col("ts") >= lo) & ((pl.col("ts") < hi) | ((pl.col("ts") == hi) & pl.lit(i == 2)))
        expr = pl.when(inside).then(pl.lit(SEQUENTIAL[i])).otherwise(expr)
    return expr


def _tag(
    frame: pl.DataFrame, bounds: tuple[Boundary, Boundary, Boundary, Boundary], spec: PhaseSpec | None
) -> pl.DataFrame:
    """``frame`` (persons' actions) with ``phase`` and ``tagged_by`` by the rules of the module docstring."""
    end = bounds[3].ts
    ts = pl.col("ts")
    after = ts > end if end is not None else pl.lit(False)
    closing = (ts <= end + CHAT_AFTER) if end is not None else pl.lit(True)
    author = author_phase(spec)
    words = pl.coalesce(_page_words(), words_phase())
    words = pl.when(after & (words != "communication")).then(pl.lit(None, dtype=pl.String)).otherwise(words)
    by_time = time_phase(bounds)
    return (
        frame.with_columns(_author=pl.when(closing).then(author), _words=pl.when(closing).then(words), _time=by_time)
        .with_columns(
            phase=pl.coalesce("_author", "_words", "_time"),
            tagged_by=pl.when(pl.col("_author").is_not_null())
            .then(pl.lit(BY_AUTHOR))
            .when(pl.col("_words").is_not_null())
            .then(pl.lit(BY_WORDS))
            .when(pl.col("_time").is_not_null())
            .then(pl.lit(BY_TIME)),
        )
        .drop("_author", "_words", "_time")
    )


# --- boundaries ----------------------------------------------------------------------------------------------------


_ACTION_WORDS = {"page": "page action", "chat": "chat message"}  # as the phases table names its counts


def _who(row: dict[str, Any]) -> str:
    """``page action by Mei Chen``: the action's kind and its person, named as in the table's People column."""
    what = _ACTION_WORDS.get(row.get("kind") or "", row.get("kind") or "message")
    return f"{what} by {row.get('person') or 'someone'}"


def _bounds(
    acts: pl.DataFrame, ms: Milestones, rollback: dict[str, Any] | None, spec: PhaseSpec | None
) -> tuple[Boundary, Boundary, Boundary, Boundary]:
    """The four boundaries of detection, diagnosis and repair (see the module docstring)."""
    sp = spec or PhaseSpec()
    # detection start
    if sp.detection.start is not None:
        b0 = Boundary(sp.detection.start, "set in incident.yaml (phases.detection.start)")
    elif ms.impact_start is not None:
        b0 = Boundary(ms.impact_start, "impact start")
    else:
        b0 = Boundary(ms.detected, "detected (impact start not found)")
    # diagnosis start
    set1 = sp.diagnosis.start or sp.detection.end
    if set1 is not None:
        b1 = Boundary(set1, "set in incident.yaml (phases.diagnosis.start)")
    elif ms.detected is not None:
        b1 = Boundary(ms.detected, "detected")
        if b0.ts is not None and ms.detected < b0.ts:
            b1 = Boundary(b0.ts, "detected before the impact start, so detection took no time")
    elif ms.acknowledged is not None:
        b1 = Boundary(ms.acknowledged, "acknowledged (detection not found)")
    else:
        b1 = Boundary(None, "detection not found")
    # repair end
    if sp.repair.end is not None:
        b3 = Boundary(sp.repair.end, "set in incident.yaml (phases.repair.end)")
    else:
        b3 = Boundary(ms.resolved, "resolved")
    # repair start
    set2 = sp.repair.start or sp.diagnosis.end
    if set2 is not None:
        b2 = Boundary(set2, "set in incident.yaml (phases.repair.start)")
    else:
        b2 = _repair_start(acts, ms, rollback, b1.ts, b3.ts)
    bounds = (b0, b1, b2, b3)
    _check(bounds)
    return bounds


def _repair_start(
    acts: pl.DataFrame,
    ms: Milestones,
    rollback: dict[str, Any] | None,
    after: dt.datetime | None,
    end: dt.datetime | None,
) -> Boundary:
    """The first repair move at or after ``after`` (and by ``end``): rollback start, a message tagged repair
    (by the author or by its words), or the mitigated milestone, whichever is first."""
    options: list[Boundary] = []
    if rollback and rollback.get("start") is not None:
        options.append(Boundary(rollback["start"], "rollback started (deploy evidence)"))
    said = acts.filter(pl.col("_repair"))
    if after is not None:
        said = said.filter(pl.col("ts") >= after)
    if end is not None:
        said = said.filter(pl.col("ts") <= end)
    if said.height:
        first = said.sort("ts").row(0, named=True)
        how = "set by incident.yaml phases.messages" if first["tagged_by"] == BY_AUTHOR else "says a repair move"
        options.append(Boundary(first["ts"], f"first {_who(first)} that {how}"))
    if ms.mitigated is not None:
        options.append(Boundary(ms.mitigated, "mitigated"))
    options = [o for o in options if o.ts is not None and (after is None or o.ts >= after)]
    if end is not None:
        options = [o for o in options if o.ts is not None and o.ts <= end]
    if not options:
        return Boundary(end, "resolved (no repair move or mitigation found)")
    return min(options, key=lambda o: o.ts or dt.datetime.max.replace(tzinfo=dt.UTC))


def _check(bounds: tuple[Boundary, ...]) -> None:
    names = ("detection start", "diagnosis start", "repair start", "repair end")
    known = [(n, b) for n, b in zip(names, bounds, strict=True) if b.ts is not None]
    for (a, x), (b, y) in itertools.pairwise(known):
        assert x.ts is not None and y.ts is not None
        if y.ts < x.ts:
            raise PhaseOrderError(
                f"phase boundaries out of order: {b} {fmt_utc(y.ts)} ({y.basis}) is before {a} {fmt_utc(x.ts)} "
                f"({x.basis}); fix `phases:` or `milestones:` in incident.yaml"
            )


# --- the analysis ----------------------------------------------------------------------------------------------------


def human_actions(events: pl.DataFrame) -> pl.DataFrame:
    """The persons' actions (:func:`pmkit.analysis.response.human_action`) with their ``person`` name, by time."""
    cand = events.filter(pl.col("kind").is_in(["chat", "page"]))
    return cand.filter(human_action()).with_columns(person_name().alias("person")).sort("ts", maintain_order=True)


def find_phases(
    events: pl.DataFrame,
    ms: Milestones,
    *,
    rollback: dict[str, Any] | None = None,
    spec: PhaseSpec | None = None,
) -> Phases:
    """Tag the persons' actions with phases and measure each phase (see the module docstring)."""
    acts = human_actions(events)
    # the words and the author's patterns do not depend on the boundaries: tag once without times to find repair
    # a repair move said in a message tagged otherwise by its words (a status update "rolling back now") still
    # starts repair; the author's tag decides for the messages it matches
    pre = (
        acts.with_columns(_a=author_phase(spec))
        .with_columns(
            _repair=pl.when(pl.col("_a").is_not_null()).then(pl.col("_a") == "repair").otherwise(says("repair")),
            tagged_by=pl.when(pl.col("_a").is_not_null()).then(pl.lit(BY_AUTHOR)).otherwise(pl.lit(BY_WORDS)),
        )
        .drop("_a")
    )
    bounds = _bounds(pre, ms, rollback, spec)
    start, end = bounds[0].ts, bounds[3].ts
    window = acts
    if start is not None:
        window = window.filter(pl.col("ts") >= start)
    if end is not None:
        window = window.filter(pl.col("ts") <= end + CHAT_AFTER)
    tagged = _tag(window, bounds, spec).select(list(TAGGED_SCHEMA))
    tagged = tagged.cast(TAGGED_SCHEMA)  # type: ignore[arg-type]
    spans = _spans(tagged, bounds, spec)
    mon_start = ms.mitigated
    if mon_start is not None and bounds[2].ts is not None and mon_start < bounds[2].ts:
        mon_start = bounds[2].ts
    monitoring = (mon_start, end) if mon_start is not None and end is not None and mon_start <= end else (None, None)
    return Phases(spans, tagged, monitoring, bounds)


def _spans(
    tagged: pl.DataFrame, bounds: tuple[Boundary, Boundary, Boundary, Boundary], spec: PhaseSpec | None
) -> pl.DataFrame:
    rows: list[dict[str, Any]] = [
        {
            "phase": name,
            "start": bounds[i].ts,
            "end": bounds[i + 1].ts,
            "start_basis": bounds[i].basis,
            "end_basis": bounds[i + 1].basis,
        }
        for i, name in enumerate(SEQUENTIAL)
    ]
    comms = tagged.filter(pl.col("phase") == "communication")
    first = comms.row(0, named=True) if comms.height else None
    last = comms.row(-1, named=True) if comms.height else None
    sp = spec.communication if spec is not None else None
    c_start = Boundary(first["ts"], f"first communication, {_who(first)}") if first else Boundary(None, "none tagged")
    c_end = Boundary(last["ts"], f"last communication, {_who(last)}") if last else Boundary(None, "none tagged")
    if sp is not None and sp.start is not None:
        c_start = Boundary(sp.start, "set in incident.yaml (phases.communication.start)")
    if sp is not None and sp.end is not None:
        c_end = Boundary(sp.end, "set in incident.yaml (phases.communication.end)")
    if c_start.ts is not None and c_end.ts is not None and c_end.ts < c_start.ts:
        raise PhaseOrderError(
            f"communication ends ({fmt_utc(c_end.ts)}, {c_end.basis}) before it starts "
            f"({fmt_utc(c_start.ts)}, {c_start.basis}); fix `phases.communication` in incident.yaml"
        )
    rows.append(
        {
            "phase": "communication",
            "start": c_start.ts,
            "end": c_end.ts,
            "start_basis": c_start.basis,
            "end_basis": c_end.basis,
        }
    )
    frame = pl.DataFrame(
        rows,
        schema={k: v for k, v in SPANS_SCHEMA.items() if k in ("phase", "start", "end", "start_basis", "end_basis")},
    ).with_columns((pl.col("end") - pl.col("start")).alias("duration"))
    counts = (
        tagged.filter(pl.col("phase").is_not_null())
        .with_columns(pl.col("person").first().over(person_key(pl.col("person"))).alias("_name"))  # sorted by ts
        .group_by("phase")
        .agg(
            (pl.col("kind") == "chat").sum().cast(pl.UInt32).alias("messages"),
            (pl.col("kind") == "page").sum().cast(pl.UInt32).alias("actions"),
            # one name per person (the first they used), in the order they first acted
            pl.col("_name").unique(maintain_order=True).alias("people"),
        )
    )
    return (
        frame.join(counts, on="phase", how="left", maintain_order="left")
        .with_columns(
            pl.col("messages").fill_null(0),
            pl.col("actions").fill_null(0),
            pl.col("people").fill_null(pl.lit([], dtype=pl.List(pl.String))),
        )
        .select(list(SPANS_SCHEMA))
    )


def tag_events(events: pl.DataFrame, result: Phases, spec: PhaseSpec | None = None) -> pl.DataFrame:
    """``events`` with a ``phase`` column: a person's action by the rules of the module docstring (as in
    ``result.tagged``), any other event by its time alone (:func:`time_phase`); null outside the phases.
    Only chat and page rows are read for words, so a large log frame costs one comparison per row."""
    idx = events.with_row_index("_row")
    timed = idx.with_columns(time_phase(result.bounds).alias("phase"))
    cand = idx.filter(pl.col("kind").is_in(["chat", "page"]))
    acts = cand.filter(human_action())
    start, end = result.bounds[0].ts, result.bounds[3].ts
    if start is not None:
        acts = acts.filter(pl.col("ts") >= start)
    if end is not None:
        acts = acts.filter(pl.col("ts") <= end + CHAT_AFTER)
    people = _tag(acts, result.bounds, spec).select("_row", pl.col("phase").alias("_phase"))
    return (
        timed.join(people, on="_row", how="left", maintain_order="left")
        .with_columns(pl.coalesce("_phase", "phase").alias("phase"))
        .drop("_row", "_phase")
    )
