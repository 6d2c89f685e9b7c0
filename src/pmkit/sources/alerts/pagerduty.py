"""PagerDuty webhooks and Events API documents (``pagerduty``) -> ``page`` events.

Files are read as :mod:`pmkit.sources.alerts` says (JSON documents, RFC 3339 times).

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

import re
from collections.abc import Iterator
from typing import Any

from pmkit.errors import SourceError
from pmkit.sources.base import LoadRequest, LoadResult, to_json
from pmkit.sources.jsondocs import (
    Collected,
    Doc,
    as_dict,
    check_options,
    documents,
    json_files,
    one_line,
    records,
    str_or_none,
)
from pmkit.sources.registry import register
from pmkit.sources.rfc3339 import parse_time_us

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
    ref = as_dict(ref)
    return str_or_none(ref.get("summary")) or str_or_none(ref.get("name"))


def _summaries(refs: Any, key: str | None = None) -> list[str]:
    items = refs if isinstance(refs, list) else []
    names = [_summary(as_dict(x).get(key) if key else x) for x in items]
    return [n for n in names if n]


def _incident_attrs(inc: dict[str, Any]) -> dict[str, Any]:
    """attrs shared by v3 and legacy incidents."""
    service = as_dict(inc.get("service"))
    return {
        "incident_id": str_or_none(inc.get("id")),
        "incident_number": inc.get("number", inc.get("incident_number")),
        "title": str_or_none(inc.get("title")) or str_or_none(inc.get("summary")),
        "status": str_or_none(inc.get("status")),
        "urgency": str_or_none(inc.get("urgency")),
        "priority": _summary(inc.get("priority")),
        "service": _summary(service),
        "service_id": str_or_none(service.get("id")),
        "escalation_policy": _summary(inc.get("escalation_policy")),
        "assignees": _summaries(inc.get("assignees")) or _summaries(inc.get("assignments"), "assignee"),
        "teams": _summaries(inc.get("teams")),
        "incident_key": str_or_none(inc.get("incident_key")),
        "html_url": str_or_none(inc.get("html_url")),
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
    return one_line(text)


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
    data = as_dict(ev.get("data"))
    agent = _summary(ev.get("agent"))
    data_type = str_or_none(data.get("type")) or ""
    attrs: dict[str, Any] = {
        "event_type": event_type,
        "pd_event_type": raw_type,
        "pd_format": "v3",
        "event_id": str_or_none(ev.get("id")),
        "resource_type": str_or_none(ev.get("resource_type")),
        "data_type": data_type or None,
        "agent_id": str_or_none(as_dict(ev.get("agent")).get("id")),
        "client": _summary(ev.get("client")),
    }
    extra: str | None = None
    if data_type == "service" or (str_or_none(ev.get("resource_type")) == "service" and "incident" not in data):
        attrs.update(
            {
                "service": _summary(data),
                "service_id": str_or_none(data.get("id")),
                "teams": _summaries(data.get("teams")),
            }
        )
        verb = event_type.removeprefix("service_").replace("_", " ")
        message = one_line(f"PagerDuty service {_summary(data) or str_or_none(data.get('id')) or '(unknown)'} {verb}")
        message += f" by {agent}" if agent else ""
        return _pd_row(ts, event_type, attrs, agent, message, service=attrs.get("service"))
    inc = data if data_type == "incident" else as_dict(data.get("incident"))
    attrs.update(_incident_attrs(inc))
    if data_type == "incident_note":
        attrs["note"] = data.get("content")
        extra = str_or_none(data.get("content"))
    elif data_type == "incident_status_update":
        attrs["status_update"] = data.get("message")
        extra = str_or_none(data.get("message"))
    elif data_type == "incident_responder":
        attrs.update({"responder": _summary(data.get("user")), "responder_state": str_or_none(data.get("state"))})
        attrs["responder_message"] = data.get("message")
        extra = " ".join(x for x in (_summary(data.get("user")), str_or_none(data.get("message"))) if x) or None
    elif data_type == "incident_conference_bridge":
        attrs["conference_url"] = data.get("conference_url")
        numbers = data.get("conference_numbers")
        attrs["conference_numbers"] = [
            as_dict(n).get("number") for n in (numbers if isinstance(numbers, list) else []) if as_dict(n)
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
    inc = as_dict(msg.get("incident"))
    agent = _summary(entries[0].get("agent")) if entries else None
    attrs: dict[str, Any] = {
        "event_type": event_type,
        "pd_event_type": raw_type,
        "pd_format": "v2-webhook",
        "event_id": str_or_none(msg.get("id")),
        **_incident_attrs(inc),
    }
    attrs["acknowledgers"] = _summaries(inc.get("acknowledgements"), "acknowledger")
    if entries:
        attrs["log_entry_type"] = str_or_none(entries[0].get("type"))
        attrs["log_entry_summary"] = str_or_none(entries[0].get("summary"))
        attrs["agent_id"] = str_or_none(as_dict(entries[0].get("agent")).get("id"))
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
    summary = str_or_none(payload.get("summary"))
    client = str_or_none(rec.get("client"))
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
        message = one_line(f"Change: {summary or '(no summary)'}") + (
            f" ({payload['source']})" if str_or_none(payload.get("source")) else ""
        )
        return {**_pd_row(ts, "change", attrs, None, message), "kind": "deploy", "level": "info"}
    assert isinstance(action, str)  # not a change event: event_action was checked to be a string above
    event_type = normalise_event_type(action)
    severity = str_or_none(payload.get("severity"))
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
    tail = summary or (f"dedup_key {rec['dedup_key']}" if str_or_none(rec.get("dedup_key")) else None)
    message = one_line(head + (f": {tail}" if tail else ""))
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


def _pd_records(doc: Doc) -> Iterator[tuple[str, Any]]:
    for origin, rec in records(doc):
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
    options=(),
)
def load_pagerduty(req: LoadRequest) -> LoadResult:
    """PagerDuty webhooks and Events API documents -> ``page`` events (``deploy`` for change events)."""
    check_options(req)
    out = Collected()
    for path in json_files(req, out):
        docs = documents(path, out, _PD_EXPECTED)
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
