"""The ``kubernetes-events`` format (kinds ``logs`` and ``deploys``): Kubernetes Event objects.

What it reads
-------------
- ``kubectl get events -o json`` / ``-o yaml``: a ``List`` (or ``EventList``) whose ``items`` are Events;
- ``kubectl get events --watch -o json``: Event objects one after another, pretty-printed or one per line;
- ``kubectl get events --watch --output-watch-events -o json``: ``{"type": "ADDED", "object": {...}}`` per line;
- a single Event object; several YAML documents (``---``);
- both APIs: core/v1 (``involvedObject``, ``message``, ``source``, ``firstTimestamp``/``lastTimestamp``,
  ``count``) and events.k8s.io/v1 (``regarding``, ``note``, ``reportingController``, ``eventTime``,
  ``series.count``/``series.lastObservedTime``, ``deprecatedCount``/``deprecatedFirstTimestamp``/
  ``deprecatedLastTimestamp``/``deprecatedSource``).

Counting unit: records = Event objects (a watch notification is one record). An Event becomes one event;
a record is rejected (origin ``path:line`` of its object, ``#items[i]`` for list items) when it is not an
Event, has no time, is a watch ``DELETED`` notification (the Event object expired: not an occurrence),
a ``BOOKMARK`` or ``ERROR`` notification, or is text that does not parse as JSON (one reject per unreadable
stretch up to the next object that starts a line).

Columns
-------
- ``ts``: when the event was last seen, the first present of ``series.lastObservedTime``,
  ``lastTimestamp`` (``deprecatedLastTimestamp``), ``eventTime``, ``firstTimestamp``
  (``deprecatedFirstTimestamp``), ``metadata.creationTimestamp``. A repeated event (count 57) is placed at
  its last occurrence, as ``kubectl get events`` sorts it; ``attrs.first_seen`` keeps the first and
  ``attrs.ts_from`` names the field the time came from. The scheduler writes only ``eventTime`` (core/v1
  shows null first/last timestamps), which is why ``eventTime`` comes before ``firstTimestamp``.
- ``level``: ``type`` ``Warning`` -> ``warning``, ``Normal`` (or none) -> ``info``.
- ``service``: the workload of the object the event is about (``involvedObject``/``regarding``): a
  Deployment, StatefulSet, DaemonSet, Service... by its name; a ReplicaSet by its name less the
  pod-template hash (``payments-7d9f8b6c5d`` -> ``payments``); a Pod by its name less the generated
  suffixes (``payments-7d9f8b6c5d-x2x9p`` -> ``payments``, ``web-0`` -> ``web``). The source's ``service``
  wins when set. ``attrs`` keeps ``namespace``, ``object_kind``, ``object_name`` as written.
- ``actor``: the component that reported it (``reportingController``, ``reportingComponent``,
  ``source.component``): ``deployment-controller``, ``kubelet``, ``default-scheduler``.
- ``message``: ``<reason> <Kind>/<name>: <message or note>``.
- ``attrs``: ``reason``, ``type``, ``namespace``, ``object_kind``, ``object_name``, ``field_path``,
  ``count`` (``series.count``, else ``count``, else ``deprecatedCount``), ``first_seen``, ``last_seen``,
  ``ts_from``, ``reporting_instance``, ``host``, ``action``, ``api`` (``v1`` or ``events.k8s.io/v1``),
  ``event`` (``metadata.name``), ``watch`` (the notification type, on watch streams).

Changes (kind ``deploy``)
-------------------------
Deploy-shaped events become change events (``kind: deploy``, ``attrs.change_type: rollout``,
``attrs.rollback``) whichever kind the source is; every other Event is a ``log`` event:

- ``ScalingReplicaSet`` "Scaled up replica set R ..." on a Deployment, when it is the first event in the
  file scaling R up and the message says ``from 0`` or the same Deployment scales another replica set
  down in the file: a new revision coming up (a plain scale-up of the current replica set by an
  autoscaler is not a change); ``attrs.replica_set`` and ``attrs.version`` = R (the replica set names the
  revision: its suffix is the pod-template hash);
- ``DeploymentRollback`` (``rollback: true``);
- Argo Rollouts ``RolloutUpdated`` ("Rollout updated to revision N").

``kind: deploys, format: kubernetes-events`` reads the file whole (change suspects look back before the
incident); ``kind: logs`` applies the incident window. ``options: {changes: false}`` keeps every event a
``log`` event.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from pmkit.errors import SourceError
from pmkit.sources import textio
from pmkit.sources.base import LoadRequest, LoadResult, dedupe_notes
from pmkit.sources.changes import ROLLBACK
from pmkit.sources.records import Draft, Records
from pmkit.sources.registry import register

__all__ = ["load_kubernetes_events", "workload_name"]

_OPTIONS = ("changes",)
_WATCH_TYPES = ("ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR")
# generated name suffixes (k8s.io/apimachinery rand.String alphabet: consonants and digits without vowels,
# 0, 1, 3): a ReplicaSet's pod-template hash, a Pod's 5-character suffix
_ALNUM = "[bcdfghjklmnpqrstvwxz2456789]"
_POD_OF_RS = re.compile(rf"^(.+)-{_ALNUM}{{6,10}}-{_ALNUM}{{5}}$")
_RS_NAME = re.compile(rf"^(.+)-{_ALNUM}{{6,10}}$")
_POD_OF_SET = re.compile(rf"^(.+)-(?:[0-9]+|{_ALNUM}{{5}})$")
_SCALED_UP = re.compile(r"^Scaled up replica set (\S+)")
_SCALED_DOWN = re.compile(r"^Scaled down replica set (\S+)")


def workload_name(kind: str | None, name: str | None) -> str | None:
    """The workload an object belongs to, from its kind and generated name (see the module docstring)."""
    if not name:
        return None
    if kind == "Pod":
        m = _POD_OF_RS.match(name) or _POD_OF_SET.match(name)
        return m.group(1) if m else name
    if kind == "ReplicaSet":
        m = _RS_NAME.match(name)
        return m.group(1) if m else name
    return name


def _str(v: Any) -> str | None:
    return str(v) if v is not None and v != "" else None


def _dict(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


# ---------------------------------------------------------------------------------------------- reading


def _json_stream(text: str, path: Path, out: Records) -> Iterator[tuple[str, Any]]:
    """The JSON values of ``text`` one after another (a document, NDJSON, concatenated pretty objects), each with
    its origin ``path:line``; an unreadable stretch up to the next line that starts with ``{`` is one reject."""
    dec = json.JSONDecoder()
    pos, line, n = 0, 1, len(text)
    ws = re.compile(r"\s*")
    while True:
        m = ws.match(text, pos)
        end = m.end() if m else pos
        line += text.count("\n", pos, end)
        pos = end
        if pos >= n:
            return
        try:
            value, stop = dec.raw_decode(text, pos)
        except (json.JSONDecodeError, RecursionError) as exc:
            nxt = text.find("\n{", pos + 1)
            stop = n if nxt < 0 else nxt + 1
            why = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deep"
            out.reject(f"{path}:{line}", f"not valid JSON ({why})", text[pos:stop][:2000])
            line += text.count("\n", pos, stop)
            pos = stop
            continue
        yield f"{path}:{line}", value
        line += text.count("\n", pos, stop)
        pos = stop


def _yaml_docs(text: str, path: Path) -> Iterator[tuple[str, Any]]:
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}" if where is not None else ""
        raise SourceError(
            f"{path}: neither JSON nor YAML{at} ({getattr(exc, 'problem', None) or exc}); expected the output of "
            "`kubectl get events -o json` or `-o yaml`"
        ) from None
    for i, d in enumerate(docs):
        yield (str(path) if len(docs) == 1 else f"{path}#doc{i}"), d


def _records(value: Any, origin: str, out: Records) -> Iterator[tuple[str, Any, str | None]]:
    """(origin, Event object, watch type) for each record of one parsed value; non-records are rejected."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            yield from _records(item, f"{origin}#[{i}]", out)
        return
    if not isinstance(value, dict):
        out.reject(origin, f"a JSON {type(value).__name__}, not an Event object", json.dumps(value)[:2000])
        return
    if isinstance(value.get("items"), list):
        for i, item in enumerate(value["items"]):
            yield origin + f"#items[{i}]", item, None
        return
    if value.get("type") in _WATCH_TYPES and "object" in value:
        yield origin, value["object"], str(value["type"])
        return
    yield origin, value, None


def _is_event(obj: Any) -> bool:
    return isinstance(obj, dict) and (
        obj.get("kind") == "Event" or "involvedObject" in obj or ("regarding" in obj and "reason" in obj)
    )


# ---------------------------------------------------------------------------------------------- one Event


def _when(ev: dict[str, Any]) -> tuple[Any, str | None]:
    """The event's time and the field it came from (the fallback order of the module docstring)."""
    meta = _dict(ev.get("metadata"))
    for name, value in (
        ("series.lastObservedTime", _dict(ev.get("series")).get("lastObservedTime")),
        ("lastTimestamp", ev.get("lastTimestamp")),
        ("deprecatedLastTimestamp", ev.get("deprecatedLastTimestamp")),
        ("eventTime", ev.get("eventTime")),
        ("firstTimestamp", ev.get("firstTimestamp")),
        ("deprecatedFirstTimestamp", ev.get("deprecatedFirstTimestamp")),
        ("metadata.creationTimestamp", meta.get("creationTimestamp")),
    ):
        if value not in (None, ""):
            return value, name
    return None, None


def _draft(ev: dict[str, Any], origin: str, watch: str | None, service: str | None) -> Draft:
    obj = _dict(ev.get("involvedObject")) or _dict(ev.get("regarding"))
    src = _dict(ev.get("source")) or _dict(ev.get("deprecatedSource"))
    meta = _dict(ev.get("metadata"))
    series = _dict(ev.get("series"))
    new_api = "regarding" in ev or str(ev.get("apiVersion", "")).startswith("events.k8s.io")
    kind, name = _str(obj.get("kind")), _str(obj.get("name"))
    reason = _str(ev.get("reason"))
    text = _str(ev.get("note")) if new_api else _str(ev.get("message"))
    text = text or _str(ev.get("message")) or _str(ev.get("note")) or ""
    ts, ts_from = _when(ev)
    count = series.get("count") or ev.get("count") or ev.get("deprecatedCount")
    first = ev.get("eventTime") or ev.get("firstTimestamp") or ev.get("deprecatedFirstTimestamp")
    last = series.get("lastObservedTime") or ev.get("lastTimestamp") or ev.get("deprecatedLastTimestamp")
    attrs = {
        "note_text": text,  # for the change rules; removed before the event is written
        "reason": reason,
        "type": _str(ev.get("type")),
        "namespace": _str(obj.get("namespace")) or _str(meta.get("namespace")),
        "object_kind": kind,
        "object_name": name,
        "field_path": _str(obj.get("fieldPath")),
        "count": count if isinstance(count, int) else None,
        "first_seen": _str(first),
        "last_seen": _str(last),
        "ts_from": ts_from,
        "reporting_instance": _str(ev.get("reportingInstance")),
        "host": _str(src.get("host")),
        "action": _str(ev.get("action")),
        "api": "events.k8s.io/v1" if new_api else "v1",
        "event": _str(meta.get("name")),
        "watch": watch,
    }
    what = f"{kind}/{name}" if kind and name else (name or kind or "")
    message = " ".join(p for p in (reason, what) if p) + (": " if reason or what else "") + " ".join(text.split())
    actor = _str(ev.get("reportingController")) or _str(ev.get("reportingComponent")) or _str(src.get("component"))
    return Draft(
        ts=ts,
        origin=origin,
        record=ev,
        message=message.strip().rstrip(":"),
        attrs={k: v for k, v in attrs.items() if v is not None},
        service=service or workload_name(kind, name),
        level="warning" if ev.get("type") == "Warning" else "info",
        actor=actor,
    )


def _mark_changes(drafts: list[Draft]) -> None:
    """Tag deploy-shaped drafts with ``change_type``/``rollback`` (the rules of the module docstring), in time order."""
    downs: dict[tuple[str, str], set[str]] = {}
    for d in drafts:
        m = _SCALED_DOWN.match(d.attrs.get("note_text", ""))
        if d.attrs.get("reason") == "ScalingReplicaSet" and m:
            key = (d.attrs.get("namespace", ""), d.attrs.get("object_name", ""))
            downs.setdefault(key, set()).add(m.group(1))
    seen: set[tuple[str, str]] = set()
    for d in sorted(drafts, key=lambda d: str(d.ts)):
        reason, text = d.attrs.get("reason"), d.attrs.get("note_text", "")
        ns = d.attrs.get("namespace", "")
        if reason == "ScalingReplicaSet" and d.attrs.get("object_kind") == "Deployment":
            m = _SCALED_UP.match(text)
            if not m:
                continue
            rs = m.group(1)
            first = (ns, rs) not in seen
            seen.add((ns, rs))
            others_down = downs.get((ns, d.attrs.get("object_name", "")), set()) - {rs}
            if first and (" from 0 " in text + " " or bool(others_down)):
                d.attrs.update(change_type="rollout", rollback=False, replica_set=rs, version=rs)
        elif reason == "DeploymentRollback":
            d.attrs.update(change_type="rollout", rollback=True)
        elif reason == "RolloutUpdated":
            d.attrs.update(change_type="rollout", rollback=bool(ROLLBACK.search(text)))


# ---------------------------------------------------------------------------------------------- the loader


def _values(path: Path, out: Records) -> Iterator[tuple[str, Any]]:
    text = textio.read_text(path)
    if not text.strip():
        out.notes.append(f"{path.name}: empty file, nothing to load")
        return
    if text.lstrip().startswith(("{", "[")):
        yield from _json_stream(text, path, out)
    else:
        yield from _yaml_docs(text, path)


def _load(req: LoadRequest) -> LoadResult:
    unknown = sorted(set(req.options) - set(_OPTIONS))
    if unknown:
        raise SourceError(
            f"{req.key or req.path}: unknown option(s) {unknown} for {req.kind}/kubernetes-events; expected changes"
        )
    changes = req.options.get("changes", True)
    if not isinstance(changes, bool):
        raise SourceError(f"{req.key or req.path}: options.changes must be true or false, not {changes!r}")
    out = Records("log")
    for path in req.files():
        for origin, value in _values(path, out):
            for rec_origin, ev, watch in _records(value, origin, out):
                if watch in ("BOOKMARK", "ERROR"):
                    out.reject(rec_origin, f"watch {watch} notification, not an Event", ev)
                elif watch == "DELETED":
                    out.reject(
                        rec_origin, "watch DELETED notification (the Event object expired; not an occurrence)", ev
                    )
                elif not _is_event(ev):
                    kind = ev.get("kind") if isinstance(ev, dict) else type(ev).__name__
                    out.reject(rec_origin, f"not a Kubernetes Event (kind {kind!r})", ev)
                else:
                    out.add(_draft(ev, rec_origin, watch, None))
    if changes:
        _mark_changes(out.drafts)
    for d in out.drafts:
        d.attrs.pop("note_text", None)
    res = out.result("records", req.ts_format, req.timezone)
    frame = res.frame.with_columns(
        kind=pl.when(pl.col("attrs").str.contains('"change_type":', literal=True))
        .then(pl.lit("deploy"))
        .otherwise(pl.lit("log"))
    )
    n_changes = int((frame.get_column("kind") == "deploy").sum())
    notes = [*res.notes]
    if changes:
        notes.append(
            f"{n_changes} deploy-shaped event(s) read as changes (kind deploy); options.changes: false keeps them logs"
        )
    return LoadResult(
        frame=frame,
        rejects=res.rejects,
        inputs=res.inputs,
        parsed_inputs=res.parsed_inputs,
        unit="records",
        notes=dedupe_notes(notes),
    )


_SNIFF = re.compile(
    r'(?m)(^\s*"?kind"?\s*:\s*"?Event(List)?"?\s*,?\s*$|"?involvedObject"?\s*:|"?reportingController"?\s*:|'
    r'"?regarding"?\s*:\s*\{?\s*$)'
)


def _sniff(head: str) -> bool:
    """Kubernetes Events: an ``involvedObject``/``regarding``/``reportingController`` key or ``kind: Event``."""
    return bool(_SNIFF.search(head)) or '"kind":"Event"' in head.replace(" ", "")


_EXAMPLE = """{
    "apiVersion": "v1",
    "items": [
        {
            "count": 3,
            "firstTimestamp": "2025-03-14T13:01:12Z",
            "involvedObject": {"kind": "Pod", "name": "payments-7d9f8b6c5d-x2x9p", "namespace": "prod"},
            "kind": "Event",
            "lastTimestamp": "2025-03-14T13:04:40Z",
            "message": "Back-off restarting failed container",
            "reason": "BackOff",
            "source": {"component": "kubelet"},
            "type": "Warning"
        }
    ],
    "kind": "List"
}"""
_DESCRIPTION = (
    "Kubernetes Events (kubectl get events -o json/-o yaml, --watch streams, core/v1 and events.k8s.io/v1); "
    "Warning -> warning; rollouts (ScalingReplicaSet of a new replica set, DeploymentRollback) as changes"
)

register(
    "logs",
    "kubernetes-events",
    description=_DESCRIPTION,
    example=_EXAMPLE,
    sniff=_sniff,
    sniff_order=40,
    options=("changes",),
)(_load)
load_kubernetes_events = register(
    "deploys",
    "kubernetes-events",
    description=_DESCRIPTION + "; read whole (not windowed)",
    example=_EXAMPLE,
    sniff=_sniff,
    sniff_order=40,
    options=("changes",),
)(_load)
