"""Quality gates (``pmkit check``): seeds/004's Quality Gate, one pass/fail per rule, each saying why.

Gates and their definitions (also in docs/analyses.md, where a table gives each rule):

- ``evidence``: the incident folder loaded evidence: at least one event or metric sample from
  the sources incident.yaml lists. None listed, or every source empty or rejected, fails and
  names the folder (``pmkit render`` prints the same as a warning before rendering).
- ``severity``: ``severity:`` is set to a level, ``SEV1``..``SEV4`` or ``P0``..``P3``.
- ``utc_timeline``: the milestones detected, declared, mitigated and resolved are all known
  as time-zone-aware (UTC) times, and in order: detected and declared are not after
  mitigated or resolved, mitigated is not after resolved. ``spec.milestones`` overrides win
  over the ``milestones`` passed in (the inferred ones).
- ``action_items``: at least ``MIN_ACTION_ITEMS`` (2) action items, each with an owner and a
  due date.
- ``blameless``: the root cause, the trigger, the contributing factors and the 5 Whys
  (questions and answers) name no person and use no blame phrasing; who counts as a person and
  what reads as blame is :mod:`pmkit.analysis.blameless`.
- ``root_cause``: ``narrative.root_cause`` is written (not empty, not TODO/TBD).
- ``five_whys``: the policy asks for ``MIN_WHYS`` (3) levels: at least that many levels
  answered, every written level answered (an empty or placeholder answer, ``TODO``, ``TBD``,
  ``?``, is no answer: :func:`pmkit.analysis.whys.is_placeholder`), and the last answered level
  not marked ``would_still_happen: true`` (that says: dig deeper; a pass says when that check is not
  answered yet, as the document shows it as TODO). Fewer levels than the policy
  asks is said with how many are missing. Three, because fewer rarely gets past the symptom
  (seeds/002: "don't stop at the first why").
- ``cadence``: the status-update cadence the severity requires was kept (see
  :mod:`pmkit.analysis.comms`). Given as ``cadence``, or measured here from ``events`` over
  [declared (else detected), resolved] with the declared severity's interval. No cadence is
  required for SEV4/P3. Not measured (no cadence, no events) fails: the gate cannot vouch. A
  SEV1/SEV2 (a cadence of 30 minutes or tighter) with no status update at all fails, however
  short the incident (:mod:`pmkit.analysis.comms`).
- ``runbook``: ``runbook:`` names the runbook used or updated.
- ``figures_agree``: every figure stated in the narrative, the status updates and the declared
  severity that the evidence measures agrees with the measure within its tolerance
  (:mod:`pmkit.analysis.claims`); each disagreement is named with both figures and the basis.
  Not reconciled (no analysis given) fails.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from pmkit.analysis import blameless, comms, severity
from pmkit.analysis.claims import Reconciliation
from pmkit.analysis.comms import CadenceResult
from pmkit.analysis.whys import FiveWhys, is_placeholder
from pmkit.timeutil import fmt_utc

MIN_ACTION_ITEMS = 2
MIN_WHYS = 3
MILESTONES = ("detected", "declared", "mitigated", "resolved")
# (earlier, later): the earlier milestone may not come after the later one
MILESTONE_ORDER = (
    ("detected", "mitigated"),
    ("detected", "resolved"),
    ("declared", "resolved"),
    ("mitigated", "resolved"),
)

GATE_TITLES = {
    "evidence": "Evidence loaded",
    "severity": "Severity declared",
    "utc_timeline": "Timeline milestones in UTC",
    "action_items": "At least two action items with owners and due dates",
    "blameless": "Blameless root cause",
    "root_cause": "Root cause written",
    "five_whys": "5 Whys answered",
    "cadence": "Status-update cadence kept",
    "runbook": "Runbook noted",
    "figures_agree": "Stated figures agree with the evidence",
}


@dataclass(frozen=True)
class Gate:
    """One rule: passed or not, and a sentence that tells the author what is missing or wrong."""

    id: str
    title: str
    passed: bool
    why: str

    def to_text(self) -> str:
        return f"{'PASS' if self.passed else 'FAIL'} {self.id}: {self.why}"


@dataclass(frozen=True)
class GateReport:
    """Every gate for one incident; ``ok`` when all passed."""

    incident: str
    gates: tuple[Gate, ...]

    @property
    def ok(self) -> bool:
        return all(g.passed for g in self.gates)

    @property
    def failed(self) -> list[Gate]:
        return [g for g in self.gates if not g.passed]

    def __getitem__(self, gate_id: str) -> Gate:
        for g in self.gates:
            if g.id == gate_id:
                return g
        raise KeyError(f"no gate {gate_id!r}; gates are {', '.join(g.id for g in self.gates)}")

    def to_text(self) -> str:
        """One line per gate: ``PASS severity: SEV1 declared`` / ``FAIL action_items: ...``."""
        return "\n".join(g.to_text() for g in self.gates)

    def to_dict(self) -> dict[str, Any]:
        return {
            "incident": self.incident,
            "ok": self.ok,
            "failed": [g.id for g in self.failed],
            "gates": [{"id": g.id, "title": g.title, "passed": g.passed, "why": g.why} for g in self.gates],
        }


# --- helpers -----------------------------------------------------------------------


def participants(events: pl.DataFrame) -> list[str]:
    """Chat participants' names: ``actor`` of chat events plus ``attrs`` ``real_name``/``display_name``/``user_name``."""
    if events.height == 0 or "actor" not in events.columns:
        return []
    chat = events.filter(pl.col("kind") == "chat")
    cols = [pl.col("actor")]
    if "attrs" in chat.columns:
        cols += [
            pl.col("attrs").str.json_path_match(f"$.{key}").alias(key)
            for key in ("real_name", "display_name", "user_name")
        ]
    names = chat.select(pl.concat_list(cols).alias("n")).explode("n").drop_nulls().get_column("n")
    return sorted({n.strip() for n in names.to_list() if n and n.strip()})


def _short(text: str, n: int = 40) -> str:
    line = " ".join(text.split())
    return line if len(line) <= n else line[: n - 1] + "…"


def _hm(t: dt.datetime) -> str:
    return fmt_utc(t, "minute")


def _blank(text: str | None) -> bool:
    """Empty or a placeholder (``TODO``, ``TODO: ...``, ``TBD``, ``N/A``, ``?``, ``[...]``): nothing written."""
    return is_placeholder(text)


# --- gates -------------------------------------------------------------------------


def _gate(gate_id: str, passed: bool, why: str) -> Gate:
    return Gate(gate_id, GATE_TITLES[gate_id], passed, why)


def _severity_gate(spec: Any) -> Gate:
    declared = spec.severity
    if declared is None or not str(declared).strip():
        return _gate("severity", False, "no severity declared; set severity: to SEV1..SEV4 or P0..P3 in incident.yaml")
    level = severity.normalise_level(declared)
    if level is None:
        return _gate(
            "severity", False, f"severity {declared!r} is not a level; expected SEV1..SEV4 or P0..P3 (e.g. SEV1)"
        )
    return _gate("severity", True, f"{level} declared")


def _resolved_milestones(spec: Any, milestones: Mapping[str, dt.datetime | None] | None) -> dict[str, Any]:
    found = {k: (milestones or {}).get(k) for k in MILESTONES}
    overrides = getattr(spec, "milestones", None)
    for k in MILESTONES:
        v = getattr(overrides, k, None) if overrides is not None else None
        if v is not None:
            found[k] = v
    return found


def _timeline_gate(times: dict[str, Any]) -> Gate:
    missing = [k for k in MILESTONES if times[k] is None]
    naive = [k for k in MILESTONES if times[k] is not None and times[k].utcoffset() is None]
    problems = []
    if missing:
        problems.append(
            f"missing {', '.join(missing)}: set {'them' if len(missing) > 1 else 'it'} under milestones: "
            "in incident.yaml as UTC times (2025-06-15T14:23:00Z) or add the evidence"
        )
    if naive:
        problems.append(f"{', '.join(naive)} {'have' if len(naive) > 1 else 'has'} no time zone; write UTC times")
    for a, b in MILESTONE_ORDER:
        ta, tb = times[a], times[b]
        if a in naive or b in naive or ta is None or tb is None:
            continue
        if ta > tb:
            problems.append(f"{a} {_hm(ta)} is after {b} {_hm(tb)} UTC; check the milestones")
    if problems:
        return _gate("utc_timeline", False, "; ".join(problems))
    shown = ", ".join(f"{k} {fmt_utc(times[k], 'hm')}" for k in MILESTONES)
    return _gate("utc_timeline", True, f"{shown} UTC")


def _action_items_gate(spec: Any) -> Gate:
    items = list(spec.action_items)
    problems = []
    for i, item in enumerate(items, start=1):
        lacks = []
        if _blank(item.action):
            lacks.append("no action written")
        if _blank(item.owner):
            lacks.append("no owner")
        if item.due is None:
            lacks.append("no due date")
        if lacks:
            problems.append(f"action item {i} ({_short(item.action)!r}) has {' and '.join(lacks)}")
    if len(items) < MIN_ACTION_ITEMS:
        count = "no action items" if not items else f"only {len(items)} action item"
        problems.insert(0, f"{count}; write at least {MIN_ACTION_ITEMS}, each with an owner and a due date")
    if problems:
        return _gate("action_items", False, "; ".join(problems))
    return _gate("action_items", True, f"{len(items)} action items, each with an owner and a due date")


def _blameless_gate(spec: Any, people: Iterable[str]) -> Gate:
    findings = blameless.findings(spec, people)
    if findings:
        return _gate(
            "blameless",
            False,
            "; ".join(findings) + ". Describe the gap in the process or system, not the person "
            "(person handles belong in action-item owners and roles only)",
        )
    return _gate(
        "blameless", True, "root cause, contributing factors and 5 Whys name no person and use no blame phrasing"
    )


def _root_cause_gate(spec: Any, whys: FiveWhys) -> Gate:
    if not _blank(spec.narrative.root_cause):
        return _gate("root_cause", True, f"written: {_short(spec.narrative.root_cause, 60)!r}")
    hint = f" (the last 5 Whys answer says: {_short(whys.root_cause, 60)!r})" if whys.root_cause else ""
    return _gate("root_cause", False, f"narrative.root_cause is empty; write the root cause in incident.yaml{hint}")


def _levels(numbers: list[int]) -> str:
    return f"level{'s' * (len(numbers) != 1)} {', '.join(map(str, numbers))}"


def _five_whys_gate(whys: FiveWhys, authored: int, min_whys: int = MIN_WHYS) -> Gate:
    answered = whys.answered
    if authored == 0:
        return _gate(
            "five_whys",
            False,
            f"no 5 Whys written; the policy asks for {min_whys} answered levels under five_whys: in incident.yaml",
        )
    problems = []
    empty = [lv.number for lv in whys.levels if not lv.answered]
    if empty:
        problems.append(f"{_levels(empty)} {'have' if len(empty) > 1 else 'has'} no answer (empty or TODO)")
    if answered < min_whys:
        missing = min_whys - answered
        problems.insert(
            0,
            f"{answered} of the {min_whys} levels the policy asks for answered ({missing} missing; "
            "the first answers are symptoms)",
        )
    last = whys.last_answered
    if last is not None and whys.dig_deeper:
        problems.append(f"the last answered why (level {last.number}) is marked would_still_happen: true; dig deeper")
    if problems:
        return _gate("five_whys", False, "; ".join(problems))
    assert last is not None
    unchecked = "; its check, 'would the incident still have happened?', is not answered yet"
    said = unchecked if last.would_still_happen is None else ""
    return _gate("five_whys", True, f"{answered} levels answered; root cause at level {last.number}{said}")


def _cadence_gate(spec: Any, cadence: CadenceResult | None, times: dict[str, Any], events: pl.DataFrame | None) -> Gate:
    level = severity.normalise_level(spec.severity)
    if cadence is None and level is not None and severity.cadence_for(level) is None:
        return _gate("cadence", True, f"no status-update cadence required for {level}")
    if cadence is None and events is not None:
        if level is None:
            return _gate("cadence", False, "cannot measure the cadence: no valid severity declared to set the interval")
        start = times["declared"] or times["detected"]
        if start is None or times["resolved"] is None:
            return _gate(
                "cadence", False, "cannot measure the cadence: declared (or detected) and resolved times are needed"
            )
        if start.utcoffset() is None or times["resolved"].utcoffset() is None:
            return _gate("cadence", False, "cannot measure the cadence: the milestones have no time zone")
        cadence = comms.cadence(events, severity.cadence_for(level), start, times["resolved"])
    if cadence is None:
        return _gate(
            "cadence",
            False,
            "status-update cadence not measured; load the chat (or PagerDuty) evidence so updates can be found",
        )
    return _gate("cadence", cadence.kept, cadence.summary())


def _runbook_gate(spec: Any) -> Gate:
    if _blank(spec.runbook):
        return _gate(
            "runbook",
            False,
            "no runbook noted; set runbook: to the runbook used or updated during the incident "
            "(or write an action item to create one and name it here)",
        )
    return _gate("runbook", True, f"runbook noted: {_short(spec.runbook, 60)}")


def evidence_gate(
    spec: Any,
    load_report: pl.DataFrame | None,
    events: pl.DataFrame | None,
    series: pl.DataFrame | None,
    folder: str | None,
) -> Gate:
    """The ``evidence`` gate: something was loaded; else what the folder's sources gave (``pmkit render`` warns with it)."""
    where = f" from {folder}" if folder else ""
    n_events = events.height if events is not None else 0
    n_series = series.height if series is not None else 0
    if load_report is None and events is None and series is None:
        return _gate("evidence", False, "no evidence given to check; load the incident folder (pmkit check DIR)")
    rows = int(load_report.get_column("rows").sum()) if load_report is not None else n_events + n_series
    if rows:
        of = ""
        if load_report is not None:
            of = f" from {load_report.filter(pl.col('rows') > 0).height} of {load_report.height} sources"
        what = (
            f"{n_events:,} events and {n_series:,} metric samples"
            if events is not None or series is not None
            else f"{rows:,} rows"
        )
        return _gate("evidence", True, f"{what} loaded{of}")
    if not list(getattr(spec, "sources", [])) and (load_report is None or load_report.height == 0):
        return _gate(
            "evidence",
            False,
            f"no evidence loaded{where}: incident.yaml lists no sources; copy the evidence into the folder "
            "and list it under sources: in incident.yaml",
        )
    detail = ""
    if load_report is not None and load_report.height:
        parts = [
            f"{r['source']} ({r['inputs']:,} {r['unit']}, {r['rejected']:,} rejected)"
            for r in load_report.iter_rows(named=True)
        ]
        detail = ": " + ", ".join(parts) + " gave no rows"
    return _gate(
        "evidence", False, f"no evidence loaded{where}{detail}; check the paths and formats under sources: (pmkit load)"
    )


def _figures_gate(figures: Reconciliation | None) -> Gate:
    if figures is None:
        return _gate("figures_agree", False, "stated figures not reconciled: no analysis given (run pmkit check DIR)")
    wrong = figures.disagreements
    if wrong:
        n = len(wrong)
        return _gate(
            "figures_agree",
            False,
            f"{n} stated figure{'s' * (n != 1)} disagree{'s' * (n == 1)} with the evidence: "
            + "; ".join(f.finding() for f in wrong)
            + ". Correct the text or say why it differs (tolerances: docs/analyses.md)",
        )
    measured = len(figures.measured)
    if not figures.rows:
        return _gate("figures_agree", True, "no figures stated in the narrative, status updates or severity")
    n = len(figures.rows)
    if measured == 0:
        return _gate(
            "figures_agree",
            True,
            f"nothing to compare: {n} stated figure{'s' * (n != 1)}, none measurable from the evidence",
        )
    unmeasured = n - measured
    tail = f"; {unmeasured} not measurable from the evidence" if unmeasured else ""
    return _gate(
        "figures_agree",
        True,
        f"{measured} stated figure{'s' * (measured != 1)} agree{'s' * (measured == 1)} with the evidence{tail}",
    )


def check(
    spec: Any,
    *,
    people: list[str],
    cadence: CadenceResult | None = None,
    milestones: Mapping[str, dt.datetime | None] | None = None,
    events: pl.DataFrame | None = None,
    load_report: pl.DataFrame | None = None,
    series: pl.DataFrame | None = None,
    folder: str | None = None,
    figures: Reconciliation | None = None,
    min_whys: int = MIN_WHYS,
) -> GateReport:
    """Run every quality gate on an :class:`~pmkit.spec.IncidentSpec` (see module docstring).

    ``people``: handles and names of the people involved (``participants(events)`` is added when
    ``events`` is given); ``cadence``: the comms result, else measured from ``events``;
    ``milestones``: the inferred milestone times (spec overrides win); ``load_report``, ``series``
    and ``folder``: the incident's load report, metric samples and folder (the ``evidence`` gate);
    ``figures``: the stated figures reconciled (``figures_agree``); ``min_whys``: the 5 Whys policy.
    """
    times = _resolved_milestones(spec, milestones)
    if events is not None:
        people = [*people, *participants(events)]
    whys = FiveWhys.scaffold(spec.title or spec.id, authored=spec.five_whys)
    gates = (
        evidence_gate(spec, load_report, events, series, folder),
        _severity_gate(spec),
        _timeline_gate(times),
        _action_items_gate(spec),
        _blameless_gate(spec, people),
        _root_cause_gate(spec, whys),
        _five_whys_gate(whys, len(list(spec.five_whys)), min_whys),
        _cadence_gate(spec, cadence, times, events),
        _runbook_gate(spec),
        _figures_gate(figures),
    )
    return GateReport(incident=spec.id, gates=gates)
