"""``incident.yaml``: the incident folder's spec, as a validated pydantic model.

The reference page is ``docs/incident-yaml.md``. Errors name the file, the key path
(``sources[2].format``), what was found and what was expected; unknown keys are an
error with a "did you mean" hint, because a misspelt key silently ignored is an
override silently lost.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pmkit.errors import SpecError

SOURCE_KINDS = ("logs", "metrics", "deploys", "chat", "alerts")
MILESTONES = ("impact_start", "detected", "acknowledged", "declared", "mitigated", "resolved")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(m|h|d|w)$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _aware(value: dt.datetime | None, what: str = "time") -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"{what} {value.isoformat()} has no UTC offset; write it as 2025-06-15T14:23:00Z")
    return value.astimezone(dt.UTC) if value is not None else None


def parse_duration(text: str) -> dt.timedelta:
    """``30d``, ``28d``, ``6h``, ``5m``, ``1w`` to a timedelta."""
    m = _DURATION.match(str(text).strip())
    if not m:
        raise ValueError(f"{text!r} is not a duration; expected a number and a unit: 5m, 6h, 30d, 4w")
    n, unit = float(m.group(1)), m.group(2)
    return {
        "m": dt.timedelta(minutes=n),
        "h": dt.timedelta(hours=n),
        "d": dt.timedelta(days=n),
        "w": dt.timedelta(weeks=n),
    }[unit]


class Redaction(_Strict):
    """What is redacted where evidence enters pmkit (every source's events, rejects and series labels).

    The rules are :mod:`pmkit.redaction`'s (``pmkit.redaction.RULE_NAMES`` lists their names); the load
    report says how many values each rule redacted, per source.
    """

    enabled: bool = True
    ips: bool = False  # also redact IP addresses
    disable: list[str] = Field(default_factory=list)  # rule names that do not run, e.g. [phone]
    extra: list[str | dict[str, str]] = Field(default_factory=list)  # patterns, or {name, pattern, replacement}
    allow: list[str] = Field(default_factory=list)  # exact strings never redacted (a public test card...)

    @model_validator(mode="after")
    def _rules_exist(self) -> Redaction:
        from pmkit.redaction import Rules  # pmkit.redaction sits below the spec (shared vocabulary)

        Rules.from_mapping(self.rules_mapping())  # unknown rule names and bad patterns are errors here
        return self

    def rules_mapping(self) -> dict[str, Any]:
        """The mapping :meth:`pmkit.redaction.Rules.from_mapping` reads."""
        return {"disable": list(self.disable), "extra": list(self.extra), "allow": list(self.allow), "ips": self.ips}


class PullRecord(_Strict):
    """Where a pulled source's file came from (``pmkit pull``): enough to run the query again, no secret.

    ``url`` is the server without credentials, ``query`` the query as sent, ``start``/``end``/``step`` its
    range, ``pulled_at`` when it ran, ``query_file`` the query saved next to the response, ``auth_env`` the
    *name* of the environment variable that held the Authorization header (its value is never stored).
    """

    url: str
    query: str
    start: dt.datetime
    end: dt.datetime
    step: str
    pulled_at: dt.datetime
    query_file: str | None = None
    auth_env: str | None = None

    @field_validator("start", "end", "pulled_at")
    @classmethod
    def _utc(cls, v: dt.datetime) -> dt.datetime:
        return _aware(v)  # type: ignore[return-value]


class SourceSpec(_Strict):
    """One evidence source: a file, glob or folder in one format."""

    kind: Literal["logs", "metrics", "deploys", "chat", "alerts"]
    path: str
    format: str | None = None
    name: str | None = None
    service: str | None = None
    timezone: str | None = None
    ts_format: str | None = None
    year: int | None = None
    pattern: str | None = None
    patterns: dict[str, str] = Field(default_factory=dict)
    fields: dict[str, str] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)
    allow_outside: bool = False  # read a path that resolves outside the incident folder (.., absolute, symlink)
    pull: PullRecord | None = None  # written by `pmkit pull`: the query that produced the file at `path`

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                zoneinfo.ZoneInfo(v)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise ValueError(
                    f"{v!r} is not an IANA time zone; expected a name such as UTC or Europe/Berlin"
                ) from None
        return v

    @property
    def label(self) -> str:
        """The source's name: ``name`` if set, else the path's stem."""
        return self.name or Path(self.path.rstrip("/")).name.split(".")[0] or self.kind


_LATENCY = re.compile(r"^(\d+(?:\.\d+)?)\s*(ms|s)$")


class LatencySpec(_Strict):
    """A latency SLO: a request (or a minute of a latency series) is good when faster than ``threshold``."""

    threshold: str = Field(description="a duration with its unit: 300ms, 0.3s, 1.5s")
    percentile: float | None = Field(default=None, gt=0, lt=100, description="with a series: which quantile, e.g. 99")

    @field_validator("threshold", mode="before")
    @classmethod
    def _with_unit(cls, v: Any) -> str:
        if isinstance(v, int | float) and not isinstance(v, bool):
            raise ValueError(f"a latency threshold needs its unit: write {v}ms or {v}s")
        m = _LATENCY.match(str(v).strip())
        if not m or float(m.group(1)) <= 0:
            raise ValueError("expected a positive duration in ms or s, e.g. 300ms or 0.3s")
        return str(v).strip()

    @property
    def seconds(self) -> float:
        """The threshold in seconds."""
        m = _LATENCY.match(self.threshold)
        assert m is not None  # checked by the validator
        return float(m.group(1)) * (1e-3 if m.group(2) == "ms" else 1.0)


class SloSpec(_Strict):
    """A service level objective the incident is measured against (see docs/analyses.md)."""

    name: str
    objective: float = Field(gt=0, lt=100, description="percent, e.g. 99.9")
    period: str = "30d"
    type: Literal["request", "time-slice"] = "request"
    source: str | None = None
    good: str | None = None
    metric: str | None = None
    value: Literal["count", "rate"] = "count"
    slice: str = "1m"
    slice_threshold: float | None = None
    prior_consumed: float | None = Field(default=None, ge=0)
    declared_bad_minutes: float | None = Field(default=None, ge=0)
    latency: LatencySpec | None = None

    @field_validator("period", "slice")
    @classmethod
    def _duration(cls, v: str) -> str:
        parse_duration(v)
        return v

    @field_validator("slice")
    @classmethod
    def _one_minute(cls, v: str) -> str:
        if parse_duration(v) != dt.timedelta(minutes=1):
            raise ValueError("slices are one minute (the SLI is counted per minute): set 1m or leave it out")
        return v


class ImpactSpec(_Strict):
    """How failing groups are told from background failures (docs/analyses.md, "Impact").

    ``baseline``: the lookback before the impact start that gives each endpoint, service and tenant
    its own error rate; ``min_share``: the least share of the impact's failures a failing group holds;
    ``alpha``: the one-sided Poisson test's significance level.
    """

    baseline: str = "60m"
    min_share: float = Field(default=0.01, ge=0, le=1)
    alpha: float = Field(default=0.001, gt=0, lt=1)

    @field_validator("baseline")
    @classmethod
    def _lookback(cls, v: str) -> str:
        if parse_duration(v) <= dt.timedelta(0):
            raise ValueError("the baseline lookback must be longer than 0, e.g. 60m")
        return v


class Milestones(_Strict):
    """Author overrides: each set value wins over what pmkit infers."""

    impact_start: dt.datetime | None = None
    detected: dt.datetime | None = None
    acknowledged: dt.datetime | None = None
    declared: dt.datetime | None = None
    mitigated: dt.datetime | None = None
    resolved: dt.datetime | None = None

    @field_validator("*")
    @classmethod
    def _utc(cls, v: dt.datetime | None) -> dt.datetime | None:
        return _aware(v)


class Annotation(_Strict):
    """A note the author adds to one event of the timeline (``id``: the event's id, see :class:`TimelineCuration`)."""

    id: str
    note: str

    @field_validator("id", "note")
    @classmethod
    def _text(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("is empty; write the event id (`pmkit timeline --ids DIR` lists them) and a note")
        return v.strip()


class TimelineCuration(_Strict):
    """The author's say on the curated timeline (docs/incident-yaml.md, ``timeline:``).

    An event id is the event's origin relative to the incident folder (``logs/app.log:1234``,
    ``chat/inc/2025-06-15.json#12``), or its time to the second and its source
    (``2025-06-15T14:35:50Z slack``, or ``14:35:50 slack`` on any day); ``pmkit timeline --ids DIR``
    prints them. ``star`` keeps an event whatever the rules say, ``hide`` drops it, ``annotate``
    adds a note to its line, ``margin`` is how long before impact start the window opens.
    """

    star: list[str] = Field(default_factory=list)
    hide: list[str] = Field(default_factory=list)
    annotate: list[Annotation] = Field(default_factory=list)
    margin: str = "15m"

    @field_validator("star", "hide")
    @classmethod
    def _ids(cls, v: list[str]) -> list[str]:
        for x in v:
            if not str(x).strip():
                raise ValueError("holds an empty id; `pmkit timeline --ids DIR` lists the events' ids")
        return [str(x).strip() for x in v]

    @field_validator("margin")
    @classmethod
    def _duration(cls, v: str) -> str:
        parse_duration(v)
        return v

    @model_validator(mode="after")
    def _not_both(self) -> TimelineCuration:
        both = sorted(set(self.star) & set(self.hide))
        if both:
            raise ValueError(f"{', '.join(map(repr, both))} is both starred and hidden; keep it in one list:")
        return self

    @property
    def margin_td(self) -> dt.timedelta:
        return parse_duration(self.margin)


class Window(_Strict):
    """The analysis window; loaders also use it to anchor year-less timestamps."""

    start: dt.datetime
    end: dt.datetime

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, v: dt.datetime) -> dt.datetime:
        return _aware(v)  # type: ignore[return-value]

    @model_validator(mode="after")
    def _order(self) -> Window:
        if self.end <= self.start:
            raise ValueError(f"end {self.end.isoformat()} is not after start {self.start.isoformat()}")
        return self


class ActionItem(_Strict):
    action: str
    owner: str | None = None
    due: dt.date | None = None
    priority: str | None = None
    status: str = "open"
    # the item's part of its tracker key (``<incident id>#<id>``; default its 1-based position) and the issue that
    # tracks it (a URL or a tracker key, written by ``pmkit actions sync``): docs/actions.md
    id: str | None = Field(default=None, min_length=1, pattern=r"^\S+$")
    tracker: str | None = None
    # shown in the customer-facing postmortem (render --audience public): true = the action's text,
    # a string = that customer wording; false (default) = internal only
    public: bool | str = False

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v  # ``id: 3`` is the id "3"


class PublicSpec(_Strict):
    """``public:``: what the customer-facing postmortem (``pmkit render --audience public``) may name and say.

    ``allow``: names that may appear although the incident knows them as internal (a product name);
    ``services``: internal service id -> the name customers know it by (those names are allowed too);
    ``title``, ``summary``, ``cause``, ``what_we_did``, ``what_we_are_doing``: the author's customer text,
    each replacing the generated one. Author text here is checked like generated text: a leak is an error.
    """

    allow: list[str] = Field(default_factory=list)
    services: dict[str, str] = Field(default_factory=dict)
    title: str | None = None
    summary: str | None = None
    cause: str | None = None
    what_we_did: str | None = None
    what_we_are_doing: str | None = None


class Why(_Strict):
    why: str
    answer: str | None = None
    would_still_happen: bool | None = None


class Narrative(_Strict):
    """What only the author can write. Anything left out renders as a marked TODO."""

    summary: str | None = None
    root_cause: str | None = None
    # a short label for the kind of cause (config-change, capacity...), which the portfolio counts across incidents
    root_cause_category: str | None = None
    trigger: str | None = None
    resolution: str | None = None
    contributing_factors: list[str] = Field(default_factory=list)
    went_well: list[str] = Field(default_factory=list)
    went_wrong: list[str] = Field(default_factory=list)
    lucky: list[str] = Field(default_factory=list)
    lessons: list[str] = Field(default_factory=list)
    customer_impact: str | None = None
    # the author's words above the measured facts of the Leadup, Detection, Response and Recovery sections
    leadup: str | None = None
    detection: str | None = None
    response: str | None = None
    recovery: str | None = None


class Facts(_Strict):
    """What the evidence cannot tell but severity policies ask about."""

    total_users: int | None = Field(
        default=None, ge=0, description="active users in the period, for the affected share"
    )
    data_loss: bool = False
    security_breach: bool = False
    workaround: bool | None = None
    revenue_impact: str | None = None
    user_facing: bool = True


def _zone(v: str | None) -> str | None:
    """``v`` if it names an IANA time zone (``Europe/Berlin``), else a ValueError that says what is expected."""
    if v is not None:
        try:
            zoneinfo.ZoneInfo(v)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{v!r} is not an IANA time zone; expected a name such as UTC or Europe/Berlin") from None
    return v


class IncidentSpec(_Strict):
    """The whole ``incident.yaml``."""

    id: str
    title: str = ""
    services: list[str] = Field(default_factory=list)
    severity: str | None = None
    severity_policy: str = "sev"
    status: str | None = None
    facts: Facts = Field(default_factory=Facts)
    window: Window | None = None
    roles: dict[str, str] = Field(default_factory=dict)
    runbook: str | None = None
    sources: list[SourceSpec] = Field(default_factory=list)
    slos: list[SloSpec] = Field(default_factory=list)
    milestones: Milestones = Field(default_factory=Milestones)
    impact: ImpactSpec = Field(default_factory=ImpactSpec)
    timeline: TimelineCuration = Field(default_factory=TimelineCuration)
    narrative: Narrative = Field(default_factory=Narrative)
    five_whys: list[Why] = Field(default_factory=list)
    action_items: list[ActionItem] = Field(default_factory=list)
    redaction: Redaction = Field(default_factory=Redaction)
    public: PublicSpec = Field(default_factory=PublicSpec)  # the customer-facing version's allow-list and text
    # the document's header (seeds/000 "Authors", "Date"); tags for filing and search
    authors: list[str] = Field(default_factory=list)
    date: dt.date | None = None  # the day the postmortem was written (its draft)
    published: dt.date | None = None  # the day it was published (circulated)
    tags: list[str] = Field(default_factory=list)
    # times in the document are UTC; with a zone they also read in local time: "14:19 UTC (16:19 CEST)"
    display_timezone: str | None = None

    @field_validator("authors", "tags", mode="before")
    @classmethod
    def _names(cls, v: Any) -> Any:
        if isinstance(v, str):  # "authors: alice" is one author, not a list of letters
            v = [v]
        if isinstance(v, list):
            for i, x in enumerate(v):
                if not isinstance(x, str) or not x.strip():
                    raise ValueError(f"item {i} is {x!r}; expected a list of non-empty names, e.g. [alice, '@bob']")
        return v

    @field_validator("display_timezone")
    @classmethod
    def _known_zone(cls, v: str | None) -> str | None:
        return _zone(v)

    @field_validator("date", "published", mode="before")
    @classmethod
    def _day(cls, v: Any) -> Any:
        if isinstance(v, dt.datetime):
            return v.date()
        if isinstance(v, str):
            try:
                return dt.date.fromisoformat(v.strip())
            except ValueError:
                raise ValueError("expected a day written as 2025-06-15") from None
        return v

    @model_validator(mode="after")
    def _published_after_date(self) -> IncidentSpec:
        if self.date is not None and self.published is not None and self.published < self.date:
            raise ValueError(
                f"published {self.published.isoformat()} is before date {self.date.isoformat()}; "
                "date is when the postmortem was written, published when it was circulated"
            )
        return self

    @model_validator(mode="after")
    def _unique_names(self) -> IncidentSpec:
        seen: dict[str, int] = {}
        for i, s in enumerate(self.sources):
            if s.label in seen:
                raise ValueError(
                    f"sources[{i}] is named {s.label!r} like sources[{seen[s.label]}]; give one of them a distinct name:"
                )
            seen[s.label] = i
        return self


# --- error messages -------------------------------------------------------------


def _loc_text(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that owns the last key of ``loc`` (for did-you-mean hints)."""
    model: Any = IncidentSpec
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            return None
        ann = field.annotation
        for arg in getattr(ann, "__args__", ()) or (ann,):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                model = arg
                break
        else:
            return None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _problem(err: Mapping[str, Any]) -> str:
    loc = tuple(err["loc"])
    where = _loc_text(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        model = _model_at(loc)
        known = sorted(model.model_fields) if model else []
        hint = difflib.get_close_matches(str(loc[-1]), known, n=1)
        msg = f"{where}: unknown key"
        if hint:
            msg += f"; did you mean {hint[0]!r}?"
        elif known:
            msg += f"; expected one of {', '.join(known)}"
        return msg
    if kind == "missing":
        return f"{where}: required key is missing"
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return f"{where}: found {_describe(err.get('input'))}, expected {expected}"
    msg = err["msg"].removeprefix("Value error, ")
    found = err.get("input")
    if isinstance(found, dict | list):
        return f"{where}: {msg}"
    return f"{where}: found {_describe(found)}; {msg[0].lower() + msg[1:] if msg else msg}"


def parse_spec(
    data: Any, path: str = "incident.yaml", checks: Iterable[Callable[[IncidentSpec], list[str]]] = ()
) -> IncidentSpec:
    """Validate already-parsed YAML data; raise :class:`SpecError` listing every problem.

    ``checks`` are further rules from higher up the flow, each returning its problems as
    ``key.path: what was found, what was expected`` lines: :func:`pmkit.incident.load_spec` passes
    the registry's format check (which formats exist is known to ``pmkit.sources``, not here)."""
    if not isinstance(data, dict):
        raise SpecError(path, [f"(top level): found {type(data).__name__}, expected a mapping with at least 'id:'"])
    try:
        spec = IncidentSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(path, [_problem(dict(e)) for e in exc.errors()]) from None
    problems = [p for check in checks for p in check(spec)]
    if problems:
        raise SpecError(path, problems)
    return spec


def load_spec(path: str | Path, checks: Iterable[Callable[[IncidentSpec], list[str]]] = ()) -> IncidentSpec:
    """Read and validate ``incident.yaml`` (a file, or a folder that holds one); see :func:`parse_spec`."""
    path = Path(path)
    if path.is_dir():
        path = path / "incident.yaml"
    if not path.is_file():
        raise SpecError(
            str(path), ["file not found; an incident folder holds an incident.yaml (create one with `pmkit new`)"]
        )
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        raise SpecError(str(path), [f"not valid YAML at {where}: {getattr(exc, 'problem', exc)}"]) from None
    return parse_spec(data, str(path), checks)
