"""Datadog events API exports (format ``datadog-events``, kind ``alerts`` or ``logs``) -> events.

Reads ``GET /api/v1/events`` (``{"events": [{id, date_happened (epoch s), title, text,
alert_type, priority, source_type_name, host, tags, url}]}``, and ``{"event": {...}}`` of one
event) and the v2 ``GET /api/v2/events`` / ``POST /api/v2/events/search`` responses (``{"data":
[{"id", "type": "event", "attributes": {timestamp, message, tags, attributes: {title, status,
priority, service, source_type_name, evt{id, name, type}, monitor{...}, monitor_id, ...}}}]}``).
One file per response; a folder or glob of page files loads them all; a JSON list of event
objects and NDJSON load too.

What an SRE expects from this stream: a Datadog **monitor** event is an alert, anything else
(a deployment or change event, a user's note, an integration's event) is a log line on the
timeline. So the format is registered for both kinds and the row decides:

- A monitor event -- ``source_type_name`` mentions ``monitor``, the v2 attributes carry
  ``monitor``/``monitor_id``, ``evt.type`` mentions ``monitor``, or the title starts with a
  monitor state in brackets (``[Triggered]``, ``[Triggered on {host:a}]``, ``[Re-Triggered]``,
  ``[Warn]``, ``[No Data]``, ``[Renotify]``, ``[Recovered]``, optionally after ``[P1]``) -- is
  ``kind: alert`` with ``attrs.event_type`` ``firing`` or ``resolved``: ``resolved`` when the
  title says Recovered or the status / alert_type is ``success``/``ok``; ``firing`` otherwise.
  ``level``: resolved -> info; firing -> critical for a P1 monitor (a ``[P1]`` title or a v2
  ``monitor.priority`` of 1), else from the status /
  alert_type (error -> error, warning -> warning), else error (a firing alert is a problem
  until told otherwise). ``attrs.alertname`` is the title without its bracketed prefixes;
  ``attrs.dedup_key`` is ``<monitor id or alertname>|<time>|<event_type>``.
- Any other event is ``kind: log``; ``level`` from the status / alert_type (error -> error,
  warning/warn -> warning; info, success, user_update, recommendation, snapshot and anything
  else -> info).
- Unit: records = events. An event that is not an object or has no readable time (v1
  ``date_happened`` epoch seconds; v2 ``timestamp`` RFC 3339, else ``attributes.timestamp``
  epoch ms) is rejected with the reason, origin ``path#events[i]`` / ``path#data[i]``.
- ``service``: ``service`` (v2), else the tag ``service:``; ``attrs.env`` is the tag ``env:``.
- ``message``: the title, then ``: `` and the text's first line that is not Datadog's ``%%%``
  markdown fence (one line, at most 300 characters); alerts start with ``[FIRING]`` /
  ``[RESOLVED]``.
- ``attrs``: id, title, alert_type, status, priority, source_type_name, host, tags, env, url,
  aggregation_key, monitor_id, event_type/alertname/dedup_key (alerts), and the full text.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from pmkit.errors import SourceError
from pmkit.sources.base import LoadRequest, LoadResult, to_json
from pmkit.sources.datadogcore import check_api_error, dd_time_us, epoch_us, status_level, tag_map
from pmkit.sources.jsondocs import Collected, as_dict, check_options, documents, json_files, one_line, str_or_none
from pmkit.sources.registry import register

__all__ = ["load_datadog_events"]

_EXPECTED = (
    'a Datadog events response: v1 {"events": [{"date_happened", "title", "text", "alert_type", "tags"}]} '
    'or v2 {"data": [{"type": "event", "attributes": {"timestamp", "message", "tags", "attributes": {...}}}]}'
)
_STATE = re.compile(
    r"^\s*(?:\[(?P<prio>P[0-5])\]\s*)?\[(?P<state>Triggered|Re-Triggered|Warn|Re-Warn|No Data|Re-No Data|"
    r"Renotify|Recovered|Warn Recovered|No Data Recovered)(?: on [^\]]*)?\]\s*",
    re.IGNORECASE,
)
_LEADING_BRACKETS = re.compile(r"^\s*(?:\[[^\]]*\]\s*)+")


def _text_line(text: str | None) -> str:
    for line in (text or "").replace("\r", "\n").split("\n"):
        line = line.strip()
        if line and line != "%%%":
            return line
    return ""


def _fields(ev: dict[str, Any]) -> dict[str, Any]:
    """The v1 and v2 shapes flattened to one set of fields (v2's inner attributes win)."""
    if isinstance(ev.get("attributes"), dict):  # v2
        outer = ev["attributes"]
        inner = as_dict(outer.get("attributes"))
        return {
            "id": str_or_none(ev.get("id")) or str_or_none(as_dict(inner.get("evt")).get("id")),
            "time": ("rfc3339", outer.get("timestamp"), "attributes.timestamp")
            if outer.get("timestamp") is not None
            else ("ms", inner.get("timestamp"), "attributes.attributes.timestamp"),
            "title": str_or_none(inner.get("title")) or str_or_none(outer.get("title")),
            "text": str_or_none(outer.get("message")) or str_or_none(inner.get("text")),
            "status": str_or_none(inner.get("status")) or str_or_none(inner.get("alert_type")),
            "priority": str_or_none(inner.get("priority")),
            "service": str_or_none(inner.get("service")),
            "source_type_name": str_or_none(inner.get("source_type_name"))
            or str_or_none(as_dict(inner.get("evt")).get("source_id")),
            "evt_type": str_or_none(as_dict(inner.get("evt")).get("type")),
            "host": str_or_none(inner.get("hostname")) or str_or_none(inner.get("host")),
            "tags": outer.get("tags") if isinstance(outer.get("tags"), list) else inner.get("tags"),
            "aggregation_key": str_or_none(inner.get("aggregation_key")),
            "monitor_id": str_or_none(inner.get("monitor_id")) or str_or_none(as_dict(inner.get("monitor")).get("id")),
            "monitor": isinstance(inner.get("monitor"), dict) or inner.get("monitor_id") is not None,
            "p1": as_dict(inner.get("monitor")).get("priority") == 1,
            "url": str_or_none(inner.get("url")),
        }
    return {
        "id": str_or_none(ev.get("id_str")) or str_or_none(ev.get("id")),
        "time": ("s", ev.get("date_happened"), "date_happened"),
        "title": str_or_none(ev.get("title")),
        "text": str_or_none(ev.get("text")),
        "status": str_or_none(ev.get("alert_type")),
        "priority": str_or_none(ev.get("priority")),
        "service": None,
        "source_type_name": str_or_none(ev.get("source_type_name")),
        "evt_type": None,
        "host": str_or_none(ev.get("host")),
        "tags": ev.get("tags"),
        "aggregation_key": str_or_none(ev.get("aggregation_key")),
        "monitor_id": None,
        "monitor": False,
        "p1": False,
        "url": str_or_none(ev.get("url")),
    }


def _time_us(spec: tuple[str, Any, str], tz: str | None) -> int:
    unit, value, key = spec
    if value is None:
        raise ValueError("event has no time (v1 date_happened, v2 attributes.timestamp)")
    try:
        return epoch_us(value, "s") if unit == "s" else dd_time_us(value, tz)
    except ValueError as exc:
        raise ValueError(f"{key}: {exc}") from None


def _iso(us: int) -> str:
    return (dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=us)).isoformat()


def event_row(ev: dict[str, Any], origin: str, tz: str | None) -> dict[str, Any]:
    """One Datadog event -> an events row; ValueError with the reason when it has no readable time."""
    f = _fields(ev)
    us = _time_us(f["time"], tz)
    tags = f["tags"] if isinstance(f["tags"], list) else []
    tmap = tag_map(tags)
    title = f["title"] or ""
    state = _STATE.match(title)
    status = (f["status"] or "").lower()
    is_monitor = bool(
        state
        or f["monitor"]
        or "monitor" in (f["source_type_name"] or "").lower()
        or "monitor" in (f["evt_type"] or "").lower()
    )
    line = _text_line(f["text"])
    level: str | None
    attrs: dict[str, Any] = {
        "id": f["id"],
        "title": title or None,
        "alert_type": f["status"],
        "priority": f["priority"],
        "source_type_name": f["source_type_name"],
        "evt_type": f["evt_type"],
        "host": f["host"],
        "tags": tags or None,
        "env": tmap.get("env") or None,
        "url": f["url"],
        "aggregation_key": f["aggregation_key"],
        "monitor_id": f["monitor_id"],
        "text": f["text"],
    }
    if is_monitor:
        word = (state.group("state") if state else "").lower()
        resolved = "recovered" in word or (not word and status in ("success", "ok"))
        event_type = "resolved" if resolved else "firing"
        alertname = _LEADING_BRACKETS.sub("", title).strip() or title or (f["monitor_id"] or "monitor")
        if resolved:
            level = "info"
        elif f["p1"] or (state and (state.group("prio") or "").upper() == "P1"):
            level = "critical"
        else:
            level = {"warning": "warning", "warn": "warning"}.get(status, "error")
        attrs.update(
            event_type=event_type,
            status=event_type,
            monitor_state=state.group("state") if state else None,
            alertname=alertname,
            dedup_key=f"{f['monitor_id'] or alertname}|{_iso(us)}|{event_type}",
        )
        message = f"[{event_type.upper()}] {alertname}" + (f": {line}" if line else "")
        kind = "alert"
    else:
        level = status_level(status) if status not in ("", "user_update", "recommendation", "snapshot") else "info"
        message = (line if line.startswith(title) else title + (f": {line}" if line else "")) or "(no title)"
        kind = "log"
    return {
        "ts": us,
        "kind": kind,
        "service": f["service"] or tmap.get("service") or None,
        "level": level or "info",
        "actor": None,
        "message": one_line(message)[:300],
        "attrs": to_json({k: v for k, v in attrs.items() if v is not None}),
        "origin": origin,
    }


def _events_of(value: Any, origin: str) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        for key in ("events", "data"):
            if isinstance(value.get(key), list):
                return [(f"{origin}#{key}[{i}]", x) for i, x in enumerate(value[key])]
        if isinstance(value.get("event"), dict):
            return [(f"{origin}#event", value["event"])]
        if isinstance(value.get("data"), dict):
            return [(f"{origin}#data", value["data"])]
        if "date_happened" in value or value.get("type") == "event":
            return [(origin, value)]
    if isinstance(value, list):
        return [(f"{origin}#[{i}]", x) for i, x in enumerate(value)]
    got = f"an object with keys {sorted(value)[:8]}" if isinstance(value, dict) else f"a JSON {type(value).__name__}"
    raise SourceError(f"{origin}: {got}; expected {_EXPECTED}")


def _sniff_datadog_events(head: str) -> bool:
    """v1: ``date_happened`` or an ``events`` list with ``alert_type``; v2: an ``evt`` object, or ``"type":
    "event"`` beside ``"attributes": {`` (a ``type`` field alone is common in application JSON lines)."""
    return (
        '"date_happened"' in head
        or re.search(r'"evt"\s*:\s*\{', head) is not None
        or (re.search(r'"events"\s*:\s*\[', head) is not None and '"alert_type"' in head)
        or (
            re.search(r'"type"\s*:\s*"event"', head) is not None
            and re.search(r'"attributes"\s*:\s*\{', head) is not None
        )
    )


_DESCRIPTION = (
    "Datadog events API JSON (v1 /api/v1/events, v2 /api/v2/events): monitor events -> alerts "
    "(firing/resolved), other events -> log lines"
)
_EXAMPLE = (
    '{"events": [\n'
    '  {"id": 7301, "date_happened": 1749997620, "alert_type": "error", "priority": "normal",\n'
    '   "title": "[P1] [Triggered on {service:checkout}] Checkout 5xx rate above 5%",\n'
    '   "text": "%%%\\n5xx ratio 0.18 > 0.05\\n%%%", "source_type_name": "Monitor Alert",\n'
    '   "tags": ["env:prod", "service:checkout", "monitor"]}]}'
)


@register(
    "alerts",
    "datadog-events",
    description=_DESCRIPTION,
    example=_EXAMPLE,
    sniff=_sniff_datadog_events,
    sniff_order=20,
    options=(),
)
@register(
    "logs",
    "datadog-events",
    description=_DESCRIPTION,
    example=_EXAMPLE,
    sniff=_sniff_datadog_events,
    sniff_order=20,
    options=(),
)
def load_datadog_events(req: LoadRequest) -> LoadResult:
    """Datadog events responses -> alert and log events; unit = events (see the module docstring)."""
    check_options(req)
    out = Collected()
    seen: dict[str, str] = {}
    for path in json_files(req, out):
        for doc in documents(path, out, _EXPECTED) or []:
            check_api_error(doc.value, Path(path), "events")
            for origin, ev in _events_of(doc.value, doc.origin):
                if not isinstance(ev, dict):
                    out.reject(origin, f"a JSON {type(ev).__name__}, not an event object", ev)
                    continue
                ev_id = str_or_none(ev.get("id"))
                if ev_id is not None and ev_id in seen:
                    out.reject(origin, f"duplicate event id {ev_id} (first loaded from {seen[ev_id]})", ev)
                    continue
                try:
                    row = event_row(ev, origin, req.timezone)
                except ValueError as exc:
                    out.reject(origin, str(exc), ev)
                    continue
                if ev_id is not None:
                    seen[ev_id] = origin
                out.rows.append(row)
                out.inputs += 1
                out.parsed += 1
    kinds = [r["kind"] for r in out.rows]
    if out.rows:
        out.notes.append(
            f"datadog events: {kinds.count('alert')} monitor event(s) as alerts, {kinds.count('log')} other event(s) as logs"
        )
    return out.result("records")
