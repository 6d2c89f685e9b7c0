"""What the Alertmanager and Grafana alerting loaders share: the payload walk, dedup keys, resolves.

Grafana's webhook is Alertmanager's plus fields, so both formats are read by
:func:`load_webhook_payloads`; the loader files only register the format and its
sniffer (with :data:`AM_MARKERS` / :data:`GRAFANA_MARKERS`, the keys that tell them apart).

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

"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from typing import Any

from pmkit.errors import SourceError
from pmkit.sources.base import LoadRequest, LoadResult, to_json
from pmkit.sources.jsondocs import (
    Collected,
    check_options,
    documents,
    json_files,
    one_line,
    records,
    str_or_none,
)
from pmkit.sources.rfc3339 import parse_time_us

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


def is_zero_time(text: Any) -> bool:
    """Whether ``text`` is Go's zero time (``0001-01-01T00:00:00Z``): Alertmanager's "not set"."""
    return isinstance(text, str) and text.strip().startswith("0001-01-01")


def _iso(us: int) -> str:
    """UTC ISO text of microseconds since the epoch (for dedup keys)."""
    return (dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=us)).isoformat() + "Z"


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


def load_webhook_payloads(req: LoadRequest, source_name: str) -> LoadResult:
    """Alertmanager-shaped webhook payloads -> ``alert`` events; ``source_name`` is ``attrs.alert_source``."""
    check_options(req)
    out = Collected()
    unknown_resolve = 0
    for path in json_files(req, out):
        docs = documents(path, out, _AM_EXPECTED)
        if docs is None:
            continue
        payloads_seen = 0
        first_bad: str | None = None
        for doc in docs:
            for origin, payload in records(doc):
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


def _am_payload(req: LoadRequest, source_name: str, origin: str, payload: dict[str, Any], out: Collected) -> int:
    """Rows for every alert of one payload; returns how many resolved alerts had no resolve time."""
    group_status = str_or_none(payload.get("status"))
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
        shared = set(common_labels) if isinstance(common_labels, dict) and heads[_am_head(alert)] > 1 else None
        outcome = _am_alert(req, a_origin, alert, common, shared)
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
    summary = next((s for s in (str_or_none(annotations.get(k)) for k in _SUMMARY_ANNOTATIONS) if s), None)
    return str_or_none(labels.get("alertname")), summary


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
    status = str_or_none(alert.get("status")) or common["group_status"]
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
    fingerprint = str_or_none(alert.get("fingerprint"))
    computed = fingerprint is None
    if fingerprint is None:
        fingerprint = alertmanager_fingerprint(labels)
    alertname = str_or_none(labels.get("alertname")) or "(no alertname)"
    severity = str_or_none(labels.get("severity"))
    service = next((s for s in (str_or_none(labels.get(k)) for k in _SERVICE_LABELS) if s), None)
    summary = next((s for s in (str_or_none(annotations.get(k)) for k in _SUMMARY_ANNOTATIONS) if s), None)
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
    distinct = "".join(f" {k}={one_line(str(labels[k]))}" for k in own)
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
                "message": head + (f": {one_line(summary)}" if summary else ""),
                "attrs": to_json({k: v for k, v in ev_attrs.items() if v is not None}),
                "origin": origin,
            }
        )
    return rows, bool(attrs.get("resolved_at_unknown"))


# what the two formats' sniffers look for: keys only Grafana's payloads have, keys of the Alertmanager shape
GRAFANA_MARKERS = re.compile(r'"(orgId|silenceURL|dashboardURL|panelURL|imageURL|valueString)"\s*:')
AM_MARKERS = re.compile(r'"(groupKey|startsAt|endsAt|generatorURL|commonLabels|groupLabels)"\s*:')
