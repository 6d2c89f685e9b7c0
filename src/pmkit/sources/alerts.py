"""Alert and page loaders: Alertmanager and Grafana alerting webhooks, PagerDuty.

Every loader here reads JSON documents: one file, a glob, or a folder of files (in a
folder or glob only ``*.json``, ``*.jsonc``, ``*.ndjson``, ``*.jsonl`` and their
``.gz`` forms are read; other files, such as a README, are skipped and the load
notes say which). A file holds one document, a JSON list of them, or one document
per line (NDJSON). A file that is not JSON at all, or in which nothing has the
expected shape, raises :class:`~pmkit.errors.SourceError` naming the file and what
was expected; a single record that cannot be used goes to the rejects with its
origin (``path#alerts[2]``, ``path#messages[0]``, ``path:7`` for an NDJSON line).

Times are RFC 3339 / ISO 8601 with any offset (``Z``, ``-05:00``, ``+0000``) and any
number of fraction digits; they are read exactly, truncated (never rounded) to the
microsecond, and a time without an offset is read in the source's ``timezone``
(UTC when none is given).

Alertmanager (``alertmanager``) and Grafana alerting (``grafana-alert``)
-------------------------------------------------------------------------
Unit: the alerts inside the payloads (records). Each alert gives

- a ``firing`` event at ``startsAt``, and
- when the alert's status is ``resolved``, a ``resolved`` event at ``endsAt``.

The per-alert ``status`` wins over the group's (kept as ``attrs.group_status``); an
alert without a status takes the group's. ``endsAt`` of ``0001-01-01T00:00:00Z`` (Go's
zero time) means "not ended" and is null. A resolved alert whose ``endsAt`` is the
zero time (hand-made payloads do this) has no known resolve time: it gives only its
firing event, marked ``attrs.resolved_at_unknown = true``, and the load notes say how
many there were. No time is invented for it.

- ``kind`` is ``alert``; ``attrs.event_type`` is ``firing`` or ``resolved`` (the
  transition the row stands for) and ``attrs.status`` the alert's status.
- ``level``: resolved events are ``info``. Firing events map ``labels.severity``
  (case-insensitive): critical, crit, page, fatal, emergency, emerg, alert, disaster,
  p0, p1, sev0, sev1 -> ``critical``; error, err, major, high, p2, sev2 -> ``error``;
  warning, warn, minor, medium, average, p3, sev3 -> ``warning``; info, informational,
  information, notice, low, none, ok, debug, p4, p5, sev4, sev5 -> ``info``; no
  severity or any other value -> ``error`` (a firing alert is a problem until told
  otherwise).
- ``service``: the first of the labels ``service``, ``app``, ``application``,
  ``job`` (the source's ``service`` fills it when none is there).
- ``message``: ``[FIRING] <alertname> (<severity>): <summary>`` where the summary is
  the first of the annotations ``summary``, ``message``, ``description``, ``title``. When
  alerts of one payload would read the same, the labels each does not share with the
  others (those outside ``commonLabels``) follow the severity: ``[FIRING] KubePodCrashLooping
  (warning) pod=payments-api-7c9d5b8f4-sf5px: Pod is crash looping.``
- ``attrs``: alertname, labels, annotations, fingerprint, generatorURL, groupKey,
  receiver, status, group_status, startsAt, endsAt (as written), externalURL,
  groupLabels, and for Grafana orgId, values, valueString, silenceURL, dashboardURL,
  panelURL, imageURL and the payload's title, state and message.
- ``attrs.fingerprint``: as sent; when the payload has none (older Alertmanager,
  hand-made payloads) it is computed as Alertmanager does (FNV-1a 64 over the sorted
  labels, ``0xff`` separators) and ``attrs.fingerprint_computed`` is true. Grafana
  computes its own fingerprints differently, so only compare like with like.
- ``attrs.dedup_key`` = ``<fingerprint>|<startsAt as UTC>|<event_type>``: the same
  alert repeated in later notifications is loaded as it is (every notification is
  evidence) and the timeline folds rows sharing this key.

Both formats read both shapes (Grafana's is Alertmanager's plus fields); the format
name sets ``attrs.alert_source``. Grafana's legacy (pre-8) webhook is not read.

PagerDuty (``pagerduty``)
-------------------------
Unit: events (records). Recognised records and the time each event gets:

- v3 webhook ``{"event": {id, event_type, resource_type, occurred_at, agent, client,
  data}}`` (or the bare inner object): ``occurred_at``.
- Legacy v2 webhook ``{"messages": [{event: "incident.trigger", created_on,
  incident, log_entries}]}``: each message is a record, at ``created_on`` (else its
  first log entry's ``created_at``).
- Events API v2 ``{routing_key, event_action, dedup_key, payload{...}}``:
  ``payload.timestamp``. An event without one (acknowledge and resolve events
  usually have no payload) has no time in the file -- PagerDuty stamps it on
  receipt -- so it is rejected with that reason rather than given an invented time.
- Change events ``{routing_key, payload{summary, timestamp, source,
  custom_details}, links}`` (no ``event_action``): ``payload.timestamp``; they are
  changes, not pages, so ``kind`` is ``deploy`` with ``attrs.change_event = true``.

Records that are PagerDuty objects but not events -- a webhook subscription, an
event's ``data`` object shown without its envelope (incident, incident_note,
service...) -- are rejected with a reason saying what they are, so that a folder of
mixed documents still loads.

``attrs.event_type`` is normalised so milestones can find it: v3 types drop the
``incident.`` prefix and use ``_`` for the remaining dots (``incident.triggered`` ->
``triggered``, ``incident.responder.added`` -> ``responder_added``,
``service.updated`` -> ``service_updated``); legacy v2 and Events API verbs become
the same past tense (``trigger`` -> ``triggered``, ``acknowledge`` ->
``acknowledged``, ``unacknowledge`` -> ``unacknowledged``, ``resolve`` ->
``resolved``, ``assign`` -> ``reassigned``, ``escalate`` -> ``escalated``,
``delegate`` -> ``delegated``, ``annotate`` -> ``annotated``); change events are
``change``. The type as written is kept in ``attrs.pd_event_type``.

- ``kind``: ``page`` (``deploy`` for change events).
- ``actor``: who acted -- the v3 ``agent`` summary, the legacy first log entry's
  agent, the Events API ``client``.
- ``level``: triggered, reopened and escalated incidents: urgency high ->
  ``critical``, low -> ``warning``, unknown -> ``error``; an Events API trigger uses
  its ``payload.severity`` (critical, error, warning, info; ``error`` when absent);
  unacknowledged -> ``warning``; everything else (acknowledged, resolved, notes...)
  -> ``info``.
- ``service``: the incident's service name/summary (v3 and legacy) or, for
  ``service.*`` events, the service itself; Events API and change events carry no
  service name (their routing key stands for one), so it stays null.
- ``message``: ``PagerDuty incident #1234 acknowledged by Jane: <title>``.
- ``attrs``: event_type, pd_event_type, pd_format (``v3``, ``v2-webhook``,
  ``events-v2``, ``change``), event_id, incident_id, incident_number, title, status,
  urgency, priority, service, service_id, escalation_policy, assignees, teams,
  incident_key, html_url, and what the event carries (note, status update,
  responder, conference bridge; Events API severity, source, component, group,
  class, custom_details, dedup_key, links). ``routing_key`` is an integration secret
  and is never copied.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zoneinfo
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from pmkit import schema
from pmkit.errors import SourceError
from pmkit.sources import textio
from pmkit.sources.base import LoadRequest, LoadResult, rejects_frame, to_json
from pmkit.sources.registry import register

# --------------------------------------------------------------------------- times

_RFC3339 = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"\s*(Z|z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?\s*$"
)
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_US = 1_000_000
_MIN_US = (dt.date(1, 1, 1).toordinal() - _EPOCH_ORDINAL) * 86400 * _US
_MAX_US = (dt.date(9999, 12, 31).toordinal() - _EPOCH_ORDINAL + 1) * 86400 * _US - 1


def is_zero_time(text: Any) -> bool:
    """Whether ``text`` is Go's zero time (``0001-01-01T00:00:00Z``): Alertmanager's "not set"."""
    return isinstance(text, str) and text.strip().startswith("0001-01-01")


def parse_time_us(text: Any, tz: str | None = None) -> int:
    """Microseconds since the epoch (UTC) of an RFC 3339 / ISO 8601 time, read exactly.

    Fraction digits beyond six are truncated; an offset without a colon (``+0000``)
    is accepted; a time without an offset is read in ``tz`` (UTC when None).
    Raises ValueError with a reason when the value is not such a time.
    """
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a time string")
    m = _RFC3339.match(text)
    if m is None:
        raise ValueError(f"{text!r} is not an RFC 3339 time")
    year, month, day, hour, minute = (int(m.group(i)) for i in range(1, 6))
    second = int(m.group(6) or 0)
    try:
        ordinal = dt.date(year, month, day).toordinal()
    except ValueError:
        raise ValueError(f"{text!r} is not a valid date") from None
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"{text!r} is not a valid time of day")
    micro = int((m.group(7) or "")[:6].ljust(6, "0"))
    local = ((ordinal - _EPOCH_ORDINAL) * 86400 + hour * 3600 + minute * 60 + second) * _US + micro
    off = m.group(8)
    if off is None:
        offset_us = 0
        if tz and tz.upper() != "UTC":
            try:
                offset = dt.datetime(year, month, day, hour, minute, second, tzinfo=zoneinfo.ZoneInfo(tz)).utcoffset()
            except (zoneinfo.ZoneInfoNotFoundError, ValueError, OverflowError) as exc:
                raise ValueError(f"cannot read {text!r} in time zone {tz!r}: {exc}") from None
            offset_us = int(offset.total_seconds()) * _US if offset is not None else 0
    elif off.upper() in ("Z", "UTC", "GMT"):
        offset_us = 0
    else:
        sign = -1 if off[0] == "-" else 1
        digits = off[1:].replace(":", "")
        off_h, off_m = int(digits[:2]), int(digits[2:4] or 0)
        if off_h > 23 or off_m > 59:
            raise ValueError(f"{text!r} has an invalid UTC offset")
        offset_us = sign * (off_h * 3600 + off_m * 60) * _US
    value = local - offset_us
    if not _MIN_US <= value <= _MAX_US:
        raise ValueError(f"{text!r} is outside the years 1-9999 in UTC")
    return value


def _iso(us: int) -> str:
    """UTC ISO text of microseconds since the epoch (for dedup keys)."""
    return (dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=us)).isoformat() + "Z"


# --------------------------------------------------------------------------- shared


@dataclass
class _Out:
    """Rows, rejects and counts gathered while walking the documents."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    rej_origin: list[str] = field(default_factory=list)
    rej_reason: list[str] = field(default_factory=list)
    rej_raw: list[str | None] = field(default_factory=list)
    inputs: int = 0
    parsed: int = 0
    notes: list[str] = field(default_factory=list)

    def reject(self, origin: str, reason: str, raw: Any) -> None:
        self.inputs += 1
        self.rej_origin.append(origin)
        self.rej_reason.append(reason)
        self.rej_raw.append(raw if isinstance(raw, str) or raw is None else _compact(raw))

    def result(self, unit: str) -> LoadResult:
        return LoadResult(
            frame=_events_frame(self.rows),
            rejects=rejects_frame(self.rej_origin, self.rej_reason, self.rej_raw),
            inputs=self.inputs,
            parsed_inputs=self.parsed,
            unit=unit,
            notes=tuple(self.notes),
        )


_EVENT_COLUMNS = ("ts", "kind", "service", "level", "actor", "message", "attrs", "origin")


def _events_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Rows (``ts`` as integer microseconds since the epoch, UTC) to an events frame."""
    types: dict[str, pl.DataType] = {c: pl.String() for c in _EVENT_COLUMNS}
    types["ts"] = pl.Int64()
    df = pl.DataFrame({c: [r.get(c) for r in rows] for c in _EVENT_COLUMNS}, schema=types)
    df = df.with_columns(pl.col("ts").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))
    return schema.conform(df, "events")


def _compact(obj: Any) -> str:
    try:
        return json.dumps(obj, ensure_ascii=False, default=str)
    except (TypeError, ValueError):  # pragma: no cover - json.loads output always dumps
        return repr(obj)


def _one_line(text: str) -> str:
    """Newlines become `` ⏎ `` so a message stays one readable line."""
    lines = [ln.rstrip() for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return " ⏎ ".join(ln for ln in lines if ln.strip()) if len(lines) > 1 else text.strip()


def _str(value: Any) -> str | None:
    """A non-empty string or None (numbers become strings)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value
    return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


_JSON_SUFFIXES = (".json", ".jsonc", ".ndjson", ".jsonl")
_LINES_SUFFIXES = (".ndjson", ".jsonl")


def _stem_suffix(path: Path) -> str:
    name = path.name.lower()
    return name[:-3].rsplit(".", 1)[-1] if name.endswith(".gz") else path.suffix.lower().lstrip(".")


def _json_files(req: LoadRequest, out: _Out) -> list[Path]:
    """The source's files; in a folder or glob, only JSON-named ones (the rest are noted)."""
    files = req.files()
    if Path(req.path).is_file():
        return files
    keep = [f for f in files if "." + _stem_suffix(f) in _JSON_SUFFIXES]
    skipped = [f.name for f in files if f not in keep]
    if skipped:
        shown = ", ".join(skipped[:5]) + (", ..." if len(skipped) > 5 else "")
        out.notes.append(f"skipped {len(skipped)} file(s) that are not JSON by name: {shown}")
    if not keep:
        raise SourceError(f"{req.path}: none of its {len(files)} files is a .json/.jsonc/.ndjson/.jsonl file")
    return keep


@dataclass(frozen=True)
class _Doc:
    """One parsed JSON value with where it came from; ``line`` is set for NDJSON lines."""

    origin: str
    value: Any
    line: int | None = None


def _documents(path: Path, out: _Out, expected: str) -> list[_Doc] | None:
    """The JSON documents of one file: the whole file, or one per line (NDJSON).

    Returns None for an empty file (noted). NDJSON lines that are not JSON are
    rejected here (one input each). A file that is neither raises SourceError.
    """
    data = textio.read_bytes(path).decode("utf-8-sig", errors="replace")
    if not data.strip():
        out.notes.append(f"{path.name}: empty file, nothing to load")
        return None
    lines_mode = "." + _stem_suffix(path) in _LINES_SUFFIXES
    if not lines_mode:
        try:
            return [_Doc(str(path), textio.parse_json(data, path))]
        except SourceError as exc:
            first_error = exc
        lines = [ln for ln in data.split("\n") if ln.strip()]
        if len(lines) < 2 or not _parses(lines[0]):
            raise SourceError(f"{first_error}; expected {expected}") from None
    docs: list[_Doc] = []
    for no, line in enumerate(data.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        try:
            docs.append(_Doc(f"{path}:{no}", json.loads(line), no))
        except json.JSONDecodeError as exc:
            out.reject(f"{path}:{no}", f"not valid JSON ({exc.msg} at column {exc.colno})", line)
    return docs


def _parses(line: str) -> bool:
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    return True


def _records(doc: _Doc) -> Iterator[tuple[str, Any]]:
    """A document's records: the document, or each element of a top-level list."""
    if isinstance(doc.value, list):
        for i, item in enumerate(doc.value):
            yield f"{doc.origin}#[{i}]", item
    else:
        yield doc.origin, doc.value


def _check_options(req: LoadRequest, allowed: tuple[str, ...] = ()) -> None:
    unknown = sorted(set(req.options) - set(allowed))
    if unknown:
        expect = f"expected {', '.join(allowed)}" if allowed else "it takes none"
        raise SourceError(f"{req.path}: unknown option(s) {unknown} for {req.kind}/{req.format}; {expect}")


# --------------------------------------------------------------------------- alertmanager

_SEVERITY_LEVELS: dict[str, str] = {}
for _level, _names in {
    "critical": "critical crit page fatal emergency emerg alert disaster p0 p1 sev0 sev1",
    "error": "error err major high p2 sev2",
    "warning": "warning warn minor medium average p3 sev3",
    "info": "info informational information notice low none ok debug p4 p5 sev4 sev5",
}.items():
    for _name in _names.split():
        _SEVERITY_LEVELS[_name] = _level

_SERVICE_LABELS = ("service", "app", "application", "job")
_SUMMARY_ANNOTATIONS = ("summary", "message", "description", "title")
_GRAFANA_ALERT_FIELDS = ("values", "valueString", "silenceURL", "dashboardURL", "panelURL", "imageURL")
_GRAFANA_PAYLOAD_FIELDS = ("orgId", "title", "state", "message")
_AM_EXPECTED = (
    "an Alertmanager webhook payload (a JSON object with version, status, receiver and an 'alerts' list), "
    "a list of them, or one per line"
)


def severity_level(severity: Any, event_type: str) -> str:
    """The normalised level of an alert event (see the module docstring for the table)."""
    if event_type == "resolved":
        return "info"
    return _SEVERITY_LEVELS.get(str(severity).strip().lower(), "error") if severity is not None else "error"


def alertmanager_fingerprint(labels: dict[str, Any]) -> str:
    """Alertmanager's fingerprint of a label set: FNV-1a 64 over sorted name/value pairs, 0xff-separated."""
    h = 0xCBF29CE484222325
    for name in sorted(labels):
        for part in (str(name), str(labels[name])):
            for byte in part.encode("utf-8") + b"\xff":
                h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def _is_am_payload(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("alerts"), list)


def _load_alertmanager(req: LoadRequest, source_name: str) -> LoadResult:
    _check_options(req)
    out = _Out()
    unknown_resolve = 0
    for path in _json_files(req, out):
        docs = _documents(path, out, _AM_EXPECTED)
        if docs is None:
            continue
        payloads_seen = 0
        first_bad: str | None = None
        for doc in docs:
            for origin, payload in _records(doc):
                if not _is_am_payload(payload):
                    reason = _not_am_reason(payload)
                    first_bad = first_bad or reason
                    out.reject(origin, reason, payload)
                    continue
                payloads_seen += 1
                unknown_resolve += _am_payload(req, source_name, origin, payload, out)
        if payloads_seen == 0 and first_bad is not None and not any(d.line for d in docs):
            raise SourceError(f"{path}: {first_bad}; expected {_AM_EXPECTED}")
    if unknown_resolve:
        out.notes.append(
            f"{unknown_resolve} resolved alert(s) carry the zero endsAt (0001-01-01): their resolve time is "
            "unknown, so only their firing event was loaded (attrs.resolved_at_unknown)"
        )
    return out.result("alerts")


def _not_am_reason(value: Any) -> str:
    if isinstance(value, dict):
        if "evalMatches" in value or "ruleName" in value:
            return "a legacy (pre-8) Grafana alert webhook, not an Alertmanager-shaped payload"
        if "alerts" in value:
            return "'alerts' is not a list"
        return "not an Alertmanager webhook payload: no 'alerts' list"
    return f"not an Alertmanager webhook payload: a JSON {type(value).__name__}, not an object"


def _am_payload(req: LoadRequest, source_name: str, origin: str, payload: dict[str, Any], out: _Out) -> int:
    """Rows for every alert of one payload; returns how many resolved alerts had no resolve time."""
    group_status = _str(payload.get("status"))
    common: dict[str, Any] = {
        "alert_source": source_name,
        "group_status": group_status,
        "groupKey": payload.get("groupKey"),
        "receiver": payload.get("receiver"),
        "externalURL": payload.get("externalURL"),
        "groupLabels": payload.get("groupLabels"),
        "version": payload.get("version"),
    }
    for key in _GRAFANA_PAYLOAD_FIELDS:
        if key in payload:
            common[key] = payload[key]
    truncated = payload.get("truncatedAlerts")
    if isinstance(truncated, int) and not isinstance(truncated, bool) and truncated > 0:
        out.notes.append(f"{origin}: {truncated} alert(s) were truncated by Alertmanager (max_alerts); not in the file")
    unknown = 0
    # alerts of one notification that would read the same (the pods of KubePodCrashLooping...) name the
    # labels they do not share, so their rows can be told apart
    common_labels = payload.get("commonLabels")
    heads = Counter(_am_head(a) for a in payload["alerts"])
    for i, alert in enumerate(payload["alerts"]):
        a_origin = f"{origin}#alerts[{i}]"
        alike = isinstance(common_labels, dict) and heads[_am_head(alert)] > 1
        outcome = _am_alert(req, a_origin, alert, common, set(common_labels) if alike else None)
        if isinstance(outcome, str):
            out.reject(a_origin, outcome, alert)
            continue
        rows, resolve_unknown = outcome
        out.inputs += 1
        out.parsed += 1
        out.rows.extend(rows)
        unknown += resolve_unknown
    return unknown


def _am_head(alert: Any) -> tuple[str | None, str | None]:
    """What an alert's message says: alertname and summary annotation (to find alerts that read alike)."""
    labels = alert.get("labels") if isinstance(alert, dict) else None
    annotations = alert.get("annotations") if isinstance(alert, dict) else None
    labels = labels if isinstance(labels, dict) else {}
    annotations = annotations if isinstance(annotations, dict) else {}
    summary = next((s for s in (_str(annotations.get(k)) for k in _SUMMARY_ANNOTATIONS) if s), None)
    return _str(labels.get("alertname")), summary


def _am_alert(
    req: LoadRequest, origin: str, alert: Any, common: dict[str, Any], shared: set[str] | None = None
) -> tuple[list[dict[str, Any]], bool] | str:
    """The events of one alert and whether its resolve time is unknown, or the reason it is rejected.

    ``shared`` are the payload's common label names when another alert of the payload reads the
    same: the message then names the labels this alert does not share (``pod=...``).
    """
    if not isinstance(alert, dict):
        return f"alert is a JSON {type(alert).__name__}, not an object"
    labels = alert.get("labels", {})
    annotations = alert.get("annotations", {})
    if labels is None:
        labels = {}
    if annotations is None:
        annotations = {}
    if not isinstance(labels, dict):
        return "alert 'labels' is not an object"
    if not isinstance(annotations, dict):
        return "alert 'annotations' is not an object"
    status = _str(alert.get("status")) or common["group_status"]
    if status is None:
        return "alert has no status and neither has its payload (expected firing or resolved)"
    status = status.lower()
    if status not in ("firing", "resolved"):
        return f"alert status {status!r} is neither firing nor resolved"
    starts_raw = alert.get("startsAt")
    if starts_raw is None or is_zero_time(starts_raw):
        return "alert has no startsAt"
    try:
        starts = parse_time_us(starts_raw, req.timezone)
    except ValueError as exc:
        return f"startsAt: {exc}"
    ends_raw = alert.get("endsAt")
    ends: int | None = None
    if ends_raw is not None and not is_zero_time(ends_raw):
        try:
            ends = parse_time_us(ends_raw, req.timezone)
        except ValueError as exc:
            return f"endsAt: {exc}"
    fingerprint = _str(alert.get("fingerprint"))
    computed = fingerprint is None
    if fingerprint is None:
        fingerprint = alertmanager_fingerprint(labels)
    alertname = _str(labels.get("alertname")) or "(no alertname)"
    severity = _str(labels.get("severity"))
    service = next((s for s in (_str(labels.get(k)) for k in _SERVICE_LABELS) if s), None)
    summary = next((s for s in (_str(annotations.get(k)) for k in _SUMMARY_ANNOTATIONS) if s), None)
    attrs: dict[str, Any] = {
        **common,
        "alertname": alertname,
        "labels": labels,
        "annotations": annotations,
        "fingerprint": fingerprint,
        "generatorURL": alert.get("generatorURL"),
        "status": status,
        "startsAt": starts_raw,
        "endsAt": ends_raw,
    }
    if computed:
        attrs["fingerprint_computed"] = True
    for key in _GRAFANA_ALERT_FIELDS:
        if key in alert:
            attrs[key] = alert[key]
    events: list[tuple[str, int]] = [("firing", starts)]
    if status == "resolved":
        if ends is not None:
            events.append(("resolved", ends))
        else:
            attrs["resolved_at_unknown"] = True
    own = sorted(k for k in labels if shared is not None and k not in shared and k not in ("alertname", "severity"))
    distinct = "".join(f" {k}={_one_line(str(labels[k]))}" for k in own)
    rows: list[dict[str, Any]] = []
    starts_iso = _iso(starts)
    for event_type, ts in events:
        head = f"[{event_type.upper()}] {alertname}" + (f" ({severity})" if severity else "") + distinct
        ev_attrs = {**attrs, "event_type": event_type, "dedup_key": f"{fingerprint}|{starts_iso}|{event_type}"}
        rows.append(
            {
                "ts": ts,
                "kind": "alert",
                "service": service,
                "level": severity_level(severity, event_type),
                "actor": None,
                "message": head + (f": {_one_line(summary)}" if summary else ""),
                "attrs": to_json({k: v for k, v in ev_attrs.items() if v is not None}),
                "origin": origin,
            }
        )
    return rows, bool(attrs.get("resolved_at_unknown"))


_GRAFANA_MARKERS = re.compile(r'"(orgId|silenceURL|dashboardURL|panelURL|imageURL|valueString)"\s*:')
_AM_MARKERS = re.compile(r'"(groupKey|startsAt|endsAt|generatorURL|commonLabels|groupLabels)"\s*:')


def _sniff_alertmanager(head: str) -> bool:
    return bool(_AM_MARKERS.search(head)) and not _GRAFANA_MARKERS.search(head)


def _sniff_grafana(head: str) -> bool:
    return bool(_GRAFANA_MARKERS.search(head)) and ('"alerts"' in head or bool(_AM_MARKERS.search(head)))


@register(
    "alerts",
    "alertmanager",
    description="Alertmanager webhook payloads (v4): a firing event per alert at startsAt, a resolved event at endsAt",
    example=(
        '{"version": "4", "status": "firing", "receiver": "team-pager", "groupKey": "{}:{alertname=\\"HighErrorRate\\"}",\n'
        ' "alerts": [{"status": "firing", "labels": {"alertname": "HighErrorRate", "severity": "critical",\n'
        '   "service": "checkout"}, "annotations": {"summary": "5xx above 5% for 10m"},\n'
        '   "startsAt": "2025-06-15T14:23:05.123456789Z", "endsAt": "0001-01-01T00:00:00Z",\n'
        '   "fingerprint": "a1b2c3d4e5f60718"}]}'
    ),
    sniff=_sniff_alertmanager,
)
def load_alertmanager(req: LoadRequest) -> LoadResult:
    """Alertmanager webhook payloads -> ``alert`` events (firing at startsAt, resolved at endsAt)."""
    return _load_alertmanager(req, "alertmanager")


@register(
    "alerts",
    "grafana-alert",
    description="Grafana alerting webhook payloads (Alertmanager shape plus orgId, values, panel/dashboard URLs)",
    example=(
        '{"receiver": "oncall", "status": "firing", "orgId": 1, "title": "[FIRING:1] HighLatency",\n'
        ' "state": "alerting", "alerts": [{"status": "firing", "labels": {"alertname": "HighLatency"},\n'
        '   "annotations": {"summary": "p99 above 2s"}, "startsAt": "2025-06-15T16:25:00+02:00",\n'
        '   "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "c6eadffa33fcdf37", "values": {"B": 2.4},\n'
        '   "dashboardURL": "https://grafana.example/d/abc", "panelURL": "https://grafana.example/d/abc?viewPanel=2"}]}'
    ),
    sniff=_sniff_grafana,
)
def load_grafana_alert(req: LoadRequest) -> LoadResult:
    """Grafana alerting webhook payloads -> ``alert`` events (the Alertmanager rules, Grafana fields kept)."""
    return _load_alertmanager(req, "grafana")


# --------------------------------------------------------------------------- pagerduty

_LEGACY_VERBS = {
    "trigger": "triggered",
    "acknowledge": "acknowledged",
    "unacknowledge": "unacknowledged",
    "resolve": "resolved",
    "assign": "reassigned",
    "escalate": "escalated",
    "delegate": "delegated",
    "annotate": "annotated",
}
_PAGE_RAISING = ("triggered", "reopened", "escalated")
_URGENCY_LEVELS = {"high": "critical", "low": "warning"}
_EVENTS_API_SEVERITIES = ("critical", "error", "warning", "info")
_PD_EXPECTED = (
    'PagerDuty events: a v3 webhook {"event": {...}}, a legacy v2 webhook {"messages": [...]}, '
    "an Events API v2 event {routing_key, event_action, payload} or a change event; one per file, a list, "
    "or one per line"
)


def normalise_event_type(raw: str) -> str:
    """PagerDuty event type or action -> the normalised name (``incident.trigger`` -> ``triggered``)."""
    text = raw.strip().lower()
    if text in _LEGACY_VERBS:
        return _LEGACY_VERBS[text]
    if text.startswith("incident."):
        rest = text[len("incident.") :]
        if rest in _LEGACY_VERBS:
            return _LEGACY_VERBS[rest]
        return rest.replace(".", "_")
    return text.replace(".", "_")


def _pd_level(event_type: str, urgency: Any = None, severity: Any = None, events_api: bool = False) -> str:
    if event_type in _PAGE_RAISING:
        if events_api:
            sev = str(severity).strip().lower() if severity is not None else ""
            return sev if sev in _EVENTS_API_SEVERITIES else "error"
        return _URGENCY_LEVELS.get(str(urgency).strip().lower(), "error") if urgency is not None else "error"
    if event_type == "unacknowledged":
        return "warning"
    return "info"


def _summary(ref: Any) -> str | None:
    """The human name of a PagerDuty reference object (summary, else name)."""
    ref = _dict(ref)
    return _str(ref.get("summary")) or _str(ref.get("name"))


def _summaries(refs: Any, key: str | None = None) -> list[str]:
    items = refs if isinstance(refs, list) else []
    names = [_summary(_dict(x).get(key) if key else x) for x in items]
    return [n for n in names if n]


def _incident_attrs(inc: dict[str, Any]) -> dict[str, Any]:
    """attrs shared by v3 and legacy incidents."""
    service = _dict(inc.get("service"))
    return {
        "incident_id": _str(inc.get("id")),
        "incident_number": inc.get("number", inc.get("incident_number")),
        "title": _str(inc.get("title")) or _str(inc.get("summary")),
        "status": _str(inc.get("status")),
        "urgency": _str(inc.get("urgency")),
        "priority": _summary(inc.get("priority")),
        "service": _summary(service),
        "service_id": _str(service.get("id")),
        "escalation_policy": _summary(inc.get("escalation_policy")),
        "assignees": _summaries(inc.get("assignees")) or _summaries(inc.get("assignments"), "assignee"),
        "teams": _summaries(inc.get("teams")),
        "incident_key": _str(inc.get("incident_key")),
        "html_url": _str(inc.get("html_url")),
    }


def _incident_message(event_type: str, attrs: dict[str, Any], agent: str | None, extra: str | None) -> str:
    if extra is None and event_type in ("reassigned", "delegated", "escalated") and attrs.get("assignees"):
        extra = "to " + ", ".join(attrs["assignees"])
    number = attrs.get("incident_number")
    ident = f"#{number}" if isinstance(number, int | str) and not isinstance(number, bool) and str(number) else None
    ident = ident or attrs.get("incident_id") or "(unknown)"
    text = f"PagerDuty incident {ident} {event_type.replace('_', ' ')}"
    if agent:
        text += f" by {agent}"
    if attrs.get("title"):
        text += f": {attrs['title']}"
    if extra:
        text += f" -- {extra}"
    return _one_line(text)


def _v3_event(req: LoadRequest, ev: dict[str, Any]) -> dict[str, Any] | str:
    raw_type = ev.get("event_type")
    if not isinstance(raw_type, str) or not raw_type.strip():
        return "v3 webhook event has no event_type"
    if ev.get("occurred_at") is None:
        return f"v3 webhook event {raw_type} has no occurred_at"
    try:
        ts = parse_time_us(ev.get("occurred_at"), req.timezone)
    except ValueError as exc:
        return f"occurred_at: {exc}"
    event_type = normalise_event_type(raw_type)
    data = _dict(ev.get("data"))
    agent = _summary(ev.get("agent"))
    data_type = _str(data.get("type")) or ""
    attrs: dict[str, Any] = {
        "event_type": event_type,
        "pd_event_type": raw_type,
        "pd_format": "v3",
        "event_id": _str(ev.get("id")),
        "resource_type": _str(ev.get("resource_type")),
        "data_type": data_type or None,
        "agent_id": _str(_dict(ev.get("agent")).get("id")),
        "client": _summary(ev.get("client")),
    }
    extra: str | None = None
    if data_type == "service" or (_str(ev.get("resource_type")) == "service" and "incident" not in data):
        attrs.update(
            {"service": _summary(data), "service_id": _str(data.get("id")), "teams": _summaries(data.get("teams"))}
        )
        verb = event_type.removeprefix("service_").replace("_", " ")
        message = _one_line(f"PagerDuty service {_summary(data) or _str(data.get('id')) or '(unknown)'} {verb}")
        message += f" by {agent}" if agent else ""
        return _pd_row(ts, event_type, attrs, agent, message, service=attrs.get("service"))
    inc = data if data_type == "incident" else _dict(data.get("incident"))
    attrs.update(_incident_attrs(inc))
    if data_type == "incident_note":
        attrs["note"] = data.get("content")
        extra = _str(data.get("content"))
    elif data_type == "incident_status_update":
        attrs["status_update"] = data.get("message")
        extra = _str(data.get("message"))
    elif data_type == "incident_responder":
        attrs.update({"responder": _summary(data.get("user")), "responder_state": _str(data.get("state"))})
        attrs["responder_message"] = data.get("message")
        extra = " ".join(x for x in (_summary(data.get("user")), _str(data.get("message"))) if x) or None
    elif data_type == "incident_conference_bridge":
        attrs["conference_url"] = data.get("conference_url")
        attrs["conference_numbers"] = [
            _dict(n).get("number")
            for n in (data.get("conference_numbers") if isinstance(data.get("conference_numbers"), list) else [])
            if _dict(n)
        ]
    elif data_type and data_type != "incident":
        attrs["data"] = data
    if event_type == "priority_updated" and attrs.get("priority"):
        extra = f"priority {attrs['priority']}"
    message = _incident_message(event_type, attrs, agent, extra)
    return _pd_row(ts, event_type, attrs, agent, message, service=attrs.get("service"), urgency=attrs.get("urgency"))


def _legacy_message(req: LoadRequest, msg: dict[str, Any]) -> dict[str, Any] | str:
    raw_type = msg.get("event")
    if not isinstance(raw_type, str) or not raw_type.strip():
        return "legacy v2 webhook message has no event"
    log_entries = msg.get("log_entries")
    entries = [e for e in log_entries if isinstance(e, dict)] if isinstance(log_entries, list) else []
    when = msg.get("created_on")
    if when is None and entries:
        when = entries[0].get("created_at")
    if when is None:
        return f"legacy v2 webhook message {raw_type} has no created_on"
    try:
        ts = parse_time_us(when, req.timezone)
    except ValueError as exc:
        return f"created_on: {exc}"
    event_type = normalise_event_type(raw_type)
    inc = _dict(msg.get("incident"))
    agent = _summary(entries[0].get("agent")) if entries else None
    attrs: dict[str, Any] = {
        "event_type": event_type,
        "pd_event_type": raw_type,
        "pd_format": "v2-webhook",
        "event_id": _str(msg.get("id")),
        **_incident_attrs(inc),
    }
    attrs["acknowledgers"] = _summaries(inc.get("acknowledgements"), "acknowledger")
    if entries:
        attrs["log_entry_type"] = _str(entries[0].get("type"))
        attrs["log_entry_summary"] = _str(entries[0].get("summary"))
        attrs["agent_id"] = _str(_dict(entries[0].get("agent")).get("id"))
    message = _incident_message(event_type, attrs, agent, None)
    return _pd_row(ts, event_type, attrs, agent, message, service=attrs.get("service"), urgency=attrs.get("urgency"))


def _events_api(req: LoadRequest, rec: dict[str, Any]) -> dict[str, Any] | str:
    action = rec.get("event_action")
    change = action is None
    if not change and (not isinstance(action, str) or not action.strip()):
        return "Events API v2 event_action is not a string"
    payload = rec.get("payload")
    if payload is not None and not isinstance(payload, dict):
        return "Events API v2 'payload' is not an object"
    payload = payload or {}
    what = "change event" if change else f"Events API v2 {action} event"
    if payload.get("timestamp") is None:
        return (
            f"{what} has no payload.timestamp: PagerDuty stamps such events when it receives them, "
            "so the file does not say when it happened"
        )
    try:
        ts = parse_time_us(payload.get("timestamp"), req.timezone)
    except ValueError as exc:
        return f"payload.timestamp: {exc}"
    summary = _str(payload.get("summary"))
    client = _str(rec.get("client"))
    attrs: dict[str, Any] = {
        "summary": summary,
        "source": payload.get("source"),
        "custom_details": payload.get("custom_details"),
        "links": rec.get("links"),
        "images": rec.get("images"),
        "client": client,
        "client_url": rec.get("client_url"),
        "dedup_key": rec.get("dedup_key"),
    }
    if change:
        attrs.update({"event_type": "change", "pd_event_type": "change", "pd_format": "change", "change_event": True})
        message = _one_line(f"Change: {summary or '(no summary)'}") + (
            f" ({payload['source']})" if _str(payload.get("source")) else ""
        )
        return {**_pd_row(ts, "change", attrs, None, message), "kind": "deploy", "level": "info"}
    event_type = normalise_event_type(action)
    severity = _str(payload.get("severity"))
    attrs.update(
        {
            "event_type": event_type,
            "pd_event_type": action,
            "pd_format": "events-v2",
            "severity": severity,
            "component": payload.get("component"),
            "group": payload.get("group"),
            "class": payload.get("class"),
        }
    )
    head = f"PagerDuty alert {event_type.replace('_', ' ')}" + (f" ({severity})" if severity else "")
    tail = summary or (f"dedup_key {rec['dedup_key']}" if _str(rec.get("dedup_key")) else None)
    message = _one_line(head + (f": {tail}" if tail else ""))
    row = _pd_row(ts, event_type, attrs, client, message)
    row["level"] = _pd_level(event_type, severity=severity, events_api=True)
    return row


def _pd_row(
    ts: int,
    event_type: str,
    attrs: dict[str, Any],
    actor: str | None,
    message: str,
    *,
    service: str | None = None,
    urgency: Any = None,
) -> dict[str, Any]:
    clean = {k: v for k, v in attrs.items() if v is not None and v != []}
    return {
        "ts": ts,
        "kind": "page",
        "service": service,
        "level": _pd_level(event_type, urgency=urgency),
        "actor": actor,
        "message": message,
        "attrs": to_json(clean),
    }


_PD_OBJECT_TYPES = re.compile(r"^(incident|service|webhook|pagey|escalation|priority|user|team)")


def _pd_classify(req: LoadRequest, rec: Any) -> tuple[dict[str, Any] | str, bool]:
    """One record -> (row or reject reason, whether it was recognised as PagerDuty at all)."""
    if not isinstance(rec, dict):
        return f"a JSON {type(rec).__name__}, not a PagerDuty event object", False
    ev = rec.get("event")
    if isinstance(ev, dict):
        return _v3_event(req, ev), True
    if "event_type" in rec and ("occurred_at" in rec or "resource_type" in rec):
        return _v3_event(req, rec), True
    if isinstance(ev, str):
        return _legacy_message(req, rec), True
    if "event_action" in rec or ("routing_key" in rec and "payload" in rec):
        return _events_api(req, rec), True
    if "webhook_subscription" in rec or rec.get("type") == "webhook_subscription":
        return "a webhook subscription object, not an event", True
    kind = rec.get("type")
    if isinstance(kind, str) and _PD_OBJECT_TYPES.match(kind):
        return (
            f"a PagerDuty {kind} object (the data of a v3 webhook event) without the event envelope: "
            "no event_type or occurred_at, so not an event"
        ), True
    return f"not a PagerDuty event; expected {_PD_EXPECTED}", False


def _pd_records(doc: _Doc) -> Iterator[tuple[str, Any]]:
    for origin, rec in _records(doc):
        if isinstance(rec, dict) and isinstance(rec.get("messages"), list) and "event" not in rec:
            for i, msg in enumerate(rec["messages"]):
                yield f"{origin}#messages[{i}]", msg
        else:
            yield origin, rec


def _sniff_pagerduty(head: str) -> bool:
    return bool(
        re.search(r'"(event_type|occurred_at|event_action|routing_key|webhook_subscription)"\s*:', head)
        or re.search(r'"event"\s*:\s*"incident\.', head)
        or (re.search(r'"payload"\s*:\s*\{', head) and re.search(r'"(summary|dedup_key)"\s*:', head))
        or ('"messages"' in head and "incident." in head)
    )


@register(
    "alerts",
    "pagerduty",
    description="PagerDuty v3 webhook events, legacy v2 webhooks, Events API v2 and change events -> page events",
    example=(
        '{"event": {"id": "5ac64822-4adc-4fda-ade0-410becf0de4f", "event_type": "incident.acknowledged",\n'
        '  "resource_type": "incident", "occurred_at": "2025-06-15T14:31:07.412Z",\n'
        '  "agent": {"type": "user_reference", "summary": "Jane Doe"},\n'
        '  "data": {"type": "incident", "id": "PGR0VU2", "number": 1234, "title": "Checkout 5xx",\n'
        '    "urgency": "high", "service": {"summary": "checkout"}}}}'
    ),
    sniff=_sniff_pagerduty,
)
def load_pagerduty(req: LoadRequest) -> LoadResult:
    """PagerDuty webhooks and Events API documents -> ``page`` events (``deploy`` for change events)."""
    _check_options(req)
    out = _Out()
    for path in _json_files(req, out):
        docs = _documents(path, out, _PD_EXPECTED)
        if docs is None:
            continue
        recognised = 0
        first_bad: str | None = None
        for doc in docs:
            for origin, rec in _pd_records(doc):
                outcome, known = _pd_classify(req, rec)
                recognised += known
                if isinstance(outcome, str):
                    first_bad = first_bad or outcome
                    out.reject(origin, outcome, rec)
                    continue
                out.inputs += 1
                out.parsed += 1
                out.rows.append({**outcome, "origin": origin})
        if recognised == 0 and first_bad is not None and not any(d.line for d in docs):
            raise SourceError(f"{path}: {first_bad}")
    return out.result("events")
