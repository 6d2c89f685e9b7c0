"""Postmortems written as documents: Markdown with YAML front matter, read into one portfolio row.

For teams whose older postmortems are documents, not evidence. The front matter (between a first line
``---`` and the next ``---``) holds what the portfolio counts; the Markdown body is not read::

    ---
    id: PM-2025-007
    title: "search: capacity"
    date: 2025-02-08                 # needed only when no milestone is given
    severity: SEV2                   # declared (SEV1..SEV4 or P0..P3)
    severity_policy: sev             # the policy that classifies `impact:` (sev, responder, p, workflow)
    services: [search]
    milestones: {impact_start: 2025-02-08T05:59:05Z, detected: ..., acknowledged: ..., declared: ...,
                 mitigated: ..., resolved: ...}   # each optional; times need a UTC offset
    convention: impact               # MTTM/MTTR from impact start (impact) or detection (detection)
    root_cause_category: capacity
    signatures: ["request shed: concurrency limit reached"]
    impact: {peak_error_ratio: 0.97, duration_minutes: 15, affected_users: 36121, total_users: 200000}
    slos:
      - {name: availability, service: search, objective: 99.5, period: 30d, consumed: 0.0622}
    action_items:
      - {action: Load-test search, owner: "@search-team", due: 2025-03-13, status: done}
    ---

Unknown top-level keys (authors, tags...) are allowed and ignored; inside ``milestones``, ``slos``,
``impact`` and ``action_items`` an unknown key is an error (a misspelt milestone must not vanish).
Every problem is reported at once as ``file: key.path: found ..., expected ...``
(:class:`pmkit.errors.SpecError`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pmkit.analysis.severity import ImpactFacts, classify
from pmkit.analysis.slo import budget_minutes
from pmkit.errors import SpecError
from pmkit.spec import MILESTONES, parse_duration

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _aware(v: Any) -> Any:
    if isinstance(v, dt.datetime) and v.tzinfo is None:
        raise ValueError(f"{v.isoformat()} has no UTC offset; expected a time such as 2025-06-15T14:23:00Z")
    return v


class DocMilestones(_Strict):
    impact_start: dt.datetime | None = None
    detected: dt.datetime | None = None
    acknowledged: dt.datetime | None = None
    declared: dt.datetime | None = None
    mitigated: dt.datetime | None = None
    resolved: dt.datetime | None = None

    @field_validator("*", mode="after")
    @classmethod
    def _utc(cls, v: Any) -> Any:
        return _aware(v).astimezone(dt.UTC) if isinstance(v, dt.datetime) else v


class DocSlo(_Strict):
    """One SLO's budget consumed by the incident: ``consumed`` (share of the SLO period's budget, 0.25 = a
    quarter) or ``consumed_minutes`` (bad minutes), not both."""

    name: str
    service: str | None = None
    objective: float = Field(gt=0, lt=100)
    period: str = "30d"
    consumed: float | None = Field(default=None, ge=0)
    consumed_minutes: float | None = Field(default=None, ge=0)

    @field_validator("period")
    @classmethod
    def _period(cls, v: str) -> str:
        parse_duration(v)
        return v

    @model_validator(mode="after")
    def _one_measure(self) -> DocSlo:
        if self.consumed is not None and self.consumed_minutes is not None:
            raise ValueError("give consumed (a share of the budget) or consumed_minutes, not both")
        return self


class DocActionItem(_Strict):
    action: str
    owner: str | None = None
    due: dt.date | None = None
    priority: str | None = None
    status: str = "open"
    id: str | None = Field(default=None, min_length=1, pattern=r"^\S+$")  # as incident.yaml's (docs/actions.md)
    tracker: str | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v  # ``id: 3`` is the id "3"

    @field_validator("due", mode="before")
    @classmethod
    def _day(cls, v: Any) -> Any:
        return v.date() if isinstance(v, dt.datetime) else v


class DocImpact(_Strict):
    """The facts a severity policy grades (:class:`pmkit.analysis.severity.ImpactFacts`)."""

    peak_error_ratio: float | None = Field(default=None, ge=0, le=1)
    error_ratio_during: float | None = Field(default=None, ge=0, le=1)
    affected_users: int | None = Field(default=None, ge=0)
    total_users: int | None = Field(default=None, ge=0)
    duration_minutes: float | None = Field(default=None, ge=0)
    failed_requests: float | None = Field(default=None, ge=0)
    data_loss: bool = False
    security_breach: bool = False
    workaround: bool | None = None
    user_facing: bool = True


class PostmortemDoc(BaseModel):
    """The front matter of a postmortem document."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    title: str = ""
    date: dt.date | None = None
    severity: str | None = None
    severity_policy: Literal["sev", "responder", "p", "workflow"] = "sev"
    services: list[str] = Field(default_factory=list)
    milestones: DocMilestones = Field(default_factory=DocMilestones)
    convention: Literal["impact", "detection"] = "impact"
    root_cause_category: str | None = None
    signatures: list[str] = Field(default_factory=list)
    impact: DocImpact | None = None
    slos: list[DocSlo] = Field(default_factory=list)
    action_items: list[DocActionItem] = Field(default_factory=list)

    @field_validator("id", "severity", "root_cause_category", "title", mode="before")
    @classmethod
    def _text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v

    @field_validator("date", mode="before")
    @classmethod
    def _day(cls, v: Any) -> Any:
        return v.date() if isinstance(v, dt.datetime) else v

    @field_validator("services", "signatures", mode="before")
    @classmethod
    def _listed(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _placed_in_time(self) -> PostmortemDoc:
        if self.date is None and all(getattr(self.milestones, m) is None for m in MILESTONES):
            raise ValueError("no milestone and no date: give date (the day of the incident) or a milestone")
        return self


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _problem(err: Any) -> str:
    where = _loc(tuple(err["loc"]))
    kind = err["type"]
    if kind == "missing":
        return f"{where}: required key is missing"
    if kind == "extra_forbidden":
        return f"{where}: unknown key"
    msg = str(err["msg"]).removeprefix("Value error, ")
    found = err.get("input")
    if isinstance(found, dict | list):
        return f"{where}: {msg}"
    text = repr(found)
    text = text if len(text) <= 60 else text[:57] + "..."
    return f"{where}: found {text}; {msg[:1].lower() + msg[1:]}"


def front_matter(text: str) -> str | None:
    """The YAML between a first line ``---`` and the next line ``---`` (or ``...``); None when the text has none."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        return None
    for i, line in enumerate(lines[1:], start=1):
        if line.strip() in ("---", "..."):
            return "\n".join(lines[1:i])
    return None


def has_front_matter(path: Path) -> bool:
    """Whether the file starts with a ``---`` line (a postmortem document, not a README)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(8).lstrip(b"\xef\xbb\xbf")
    except OSError:
        return False
    return head.startswith(b"---")


def parse_document(path: str | Path) -> PostmortemDoc:
    """Read and validate one postmortem document; :class:`SpecError` names the file and every bad key."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(str(p), [f"(file): cannot be read as UTF-8 text ({exc})"]) from None
    block = front_matter(text)
    if block is None:
        raise SpecError(str(p), ["(front matter): expected a first line '---', the YAML, then a line '---'"])
    try:
        data = yaml.load(block, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        raise SpecError(str(p), [f"(front matter): not valid YAML{where}: {getattr(exc, 'problem', exc)}"]) from None
    if not isinstance(data, dict):
        raise SpecError(str(p), [f"(front matter): found {type(data).__name__}, expected a mapping with 'id:'"])
    try:
        return PostmortemDoc.model_validate(data)
    except ValidationError as exc:
        raise SpecError(str(p), [_problem(e) for e in exc.errors()]) from None


def document_gates(doc: PostmortemDoc) -> list[str]:
    """The gates a document fails (its postmortem is complete when none does):

    - ``severity``: a declared severity;
    - ``milestones``: impact_start, detected, mitigated and resolved all given (MTTD, MTTM, MTTR measurable);
    - ``root_cause``: a root-cause category;
    - ``action_items``: at least one, each with an owner and a due date.
    """
    failed = []
    if not doc.severity:
        failed.append("severity")
    ms = doc.milestones
    if any(getattr(ms, m) is None for m in ("impact_start", "detected", "mitigated", "resolved")):
        failed.append("milestones")
    if not doc.root_cause_category:
        failed.append("root_cause")
    if not doc.action_items or any(a.owner is None or a.due is None for a in doc.action_items):
        failed.append("action_items")
    return failed


def _span(a: dt.datetime | None, b: dt.datetime | None) -> float | None:
    return None if a is None or b is None else (b - a).total_seconds()


def document_row(path: str | Path) -> dict[str, Any]:
    """One portfolio row (the dict :mod:`pmkit.portfolio.rows` documents) from a postmortem document."""
    doc = parse_document(path)
    ms = doc.milestones
    origin = ms.impact_start if doc.convention == "impact" else ms.detected
    classified = None
    if doc.impact is not None:
        facts = ImpactFacts(**doc.impact.model_dump(), service=doc.services[0] if doc.services else None)
        classified = classify(facts, doc.severity_policy).level
    services = list(doc.services)
    slos = []
    for s in doc.slos:
        budget = budget_minutes(s.objective, s.period)
        consumed = (
            s.consumed
            if s.consumed is not None
            else (None if s.consumed_minutes is None else s.consumed_minutes / budget)
        )
        slos.append(
            {
                "service": s.service or (services[0] if services else None),
                "slo": s.name,
                "objective": s.objective,
                "period": s.period,
                "budget_minutes": budget,
                "consumed": consumed,
                "consumed_minutes": None if consumed is None else consumed * budget,
            }
        )
    return {
        "id": doc.id,
        "title": doc.title,
        "kind": "document",
        "path": str(path),
        "date": doc.date.isoformat() if doc.date else None,
        "severity_declared": doc.severity,
        "severity_classified": classified,
        "severity_policy": doc.severity_policy,
        "services": services,
        "root_cause_category": doc.root_cause_category,
        "convention": doc.convention,
        "milestones": {m: (getattr(ms, m).isoformat() if getattr(ms, m) else None) for m in MILESTONES},
        "mttx": {
            "mttd": _span(ms.impact_start, ms.detected),
            "mtta": _span(ms.detected, ms.acknowledged),
            "mttm": _span(origin, ms.mitigated),
            "mttr": _span(origin, ms.resolved),
        },
        "signatures": list(doc.signatures),
        "gates_failed": document_gates(doc),
        "slos": slos,
        "action_items": [
            {"action": a.action, "owner": a.owner, "due": a.due.isoformat() if a.due else None, "status": a.status}
            for a in doc.action_items
        ],
    }
