"""Datadog log search exports (format ``datadog``) -> one ``log`` event per log.

Reads the responses of ``POST /api/v2/logs/events/search`` and ``GET /api/v2/logs/events``
(``{"data": [{"id", "type": "log", "attributes": {timestamp, status, service, host, message,
tags, attributes{...}}}], "links": {"next"}, "meta": {"page": {"after"}, "status", "warnings"}}``),
one file per page: a folder or glob of page files loads them all. The v1 ``POST
/api/v1/logs-queries/list`` response (``{"logs": [{"id", "content": {...}}], "nextLogId"}``) reads
the same way, ``content`` standing for ``attributes``. A JSON list of log objects
(``[{"id", "attributes": {...}}]``, what a client's paginator yields) and NDJSON (one log object
per line, ``.jsonl``/``.ndjson``) load too.

- Unit: records = logs (the elements of ``data``). A log without ``attributes``, without a
  readable ``timestamp`` (RFC 3339; epoch milliseconds are read too), or that is not an object
  is rejected with the reason, origin ``path#data[i]`` (``path:line`` for NDJSON).
- A log whose ``id`` was already loaded from another page (overlapping page exports) is
  rejected as a duplicate naming the first origin, so it is counted once.
- ``level``: ``status`` (Datadog's emerg, alert, critical, error, warn, notice, info, debug,
  ok) through the shared level table; ``ok``/``success`` -> info; others -> null.
- ``service``: ``service``, else the tag ``service:``; ``attrs.env`` is the tag ``env:``
  (else the custom attribute ``env``).
- ``message``: ``message`` (one line, newlines as `` ⏎ ``), else the custom attributes'
  ``message``, ``error.message``, else ``(no message)``.
- ``actor``: the custom attribute ``usr.id`` / ``usr.name`` / ``usr.email`` (Datadog's standard
  user attributes), else null.
- ``attrs``: the custom attributes (``attributes.attributes``) as they are, then ``id``,
  ``host``, ``ddsource`` (the log's ``source``), ``tags``, ``env``, ``dd_status`` (the status as
  written) and Datadog's standard HTTP attributes in the names the request analyses read:
  ``http.status_code`` -> ``status``, ``http.method`` -> ``method``, ``http.url_details.path``
  (else ``http.url``) -> ``path``, ``duration`` (nanoseconds) -> ``duration_s``, ``usr.id`` ->
  ``user``.
- Logs are JSON documents walked one record at a time, as the alert loaders walk theirs: on 10,000
  logs that was ten times faster than reading the same fields with polars JSON paths, which parse
  every document again for each field.
- Notes: pages whose ``meta.status`` is ``timeout`` (partial results), ``meta.warnings``, and
  when every page file still has a next cursor (``meta.page.after`` / ``links.next``): more
  logs matched than were exported.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pmkit.errors import SourceError
from pmkit.sources.base import LoadRequest, LoadResult, to_json
from pmkit.sources.datadogcore import check_api_error, dd_time_us, status_level, tag_map
from pmkit.sources.jsondocs import Collected, as_dict, check_options, documents, json_files, one_line, str_or_none
from pmkit.sources.registry import register

__all__ = ["load_datadog_logs"]

_EXPECTED = (
    'a Datadog logs search response {"data": [{"id", "type": "log", "attributes": {"timestamp", "status", '
    '"service", "message", "tags", "attributes"}}]}'
)


def _path_get(obj: dict[str, Any], dotted: str) -> Any:
    """``a.b.c`` in nested objects, or a flat key ``a.b.c`` (both occur in Datadog attributes)."""
    if dotted in obj:
        return obj[dotted]
    cur: Any = obj
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def _http_fields(custom: dict[str, Any]) -> dict[str, Any]:
    """Datadog's standard attributes under the names the request analyses read."""
    out: dict[str, Any] = {}
    code = _path_get(custom, "http.status_code")
    if isinstance(code, str) and code.strip().isdigit():
        code = int(code)
    if isinstance(code, int) and not isinstance(code, bool):
        out["status"] = code
    method = _path_get(custom, "http.method")
    if isinstance(method, str):
        out["method"] = method
    path = _path_get(custom, "http.url_details.path") or _path_get(custom, "http.url")
    if isinstance(path, str):
        out["path"] = path
    duration = custom.get("duration")
    if isinstance(duration, int | float) and not isinstance(duration, bool):
        out["duration_s"] = duration / 1e9
    user = _path_get(custom, "usr.id")
    if user is not None and not isinstance(user, dict | list):
        out["user"] = str(user)
    return out


def log_row(log: dict[str, Any], origin: str, tz: str | None) -> dict[str, Any]:
    """One Datadog log object -> an events row; ValueError with the reason when it has no readable time."""
    attrs_in = log.get("attributes") if "attributes" in log else log.get("content")
    if not isinstance(attrs_in, dict):
        raise ValueError("log has no 'attributes' object (v1: 'content')")
    if attrs_in.get("timestamp") is None:
        raise ValueError("log has no attributes.timestamp")
    try:
        us = dd_time_us(attrs_in["timestamp"], tz)
    except ValueError as exc:
        raise ValueError(f"attributes.timestamp: {exc}") from None
    custom = as_dict(attrs_in.get("attributes"))
    tags = attrs_in.get("tags") if isinstance(attrs_in.get("tags"), list) else []
    tmap = tag_map(tags)
    service = str_or_none(attrs_in.get("service")) or tmap.get("service") or None
    env = tmap.get("env") or str_or_none(custom.get("env"))
    message = (
        str_or_none(attrs_in.get("message"))
        or str_or_none(custom.get("message"))
        or str_or_none(_path_get(custom, "error.message"))
        or "(no message)"
    )
    actor = next(
        (str(v) for k in ("usr.id", "usr.name", "usr.email") if (v := _path_get(custom, k)) not in (None, "")), None
    )
    attrs: dict[str, Any] = dict(custom)
    attrs.update(
        {
            k: v
            for k, v in {
                "id": str_or_none(log.get("id")),
                "host": str_or_none(attrs_in.get("host")),
                "ddsource": str_or_none(attrs_in.get("source")),
                "tags": tags or None,
                "env": env,
                "dd_status": str_or_none(attrs_in.get("status")),
            }.items()
            if v is not None
        }
    )
    attrs.update(_http_fields(custom))
    return {
        "ts": us,
        "kind": "log",
        "service": service,
        "level": status_level(attrs_in.get("status")),
        "actor": actor,
        "message": one_line(message),
        "attrs": to_json(attrs),
        "origin": origin,
    }


def _logs_of(value: Any, origin: str) -> tuple[list[tuple[str, Any]], dict[str, Any]]:
    """The (origin, log) pairs of one document and its page envelope (empty for a bare list or log)."""
    if isinstance(value, dict) and isinstance(value.get("data"), list):
        return [(f"{origin}#data[{i}]", x) for i, x in enumerate(value["data"])], value
    if isinstance(value, dict) and isinstance(value.get("logs"), list):  # v1 /api/v1/logs-queries/list
        cursor = {"meta": {"page": {"after": value["nextLogId"]}}} if value.get("nextLogId") else {"meta": {}}
        return [(f"{origin}#logs[{i}]", x) for i, x in enumerate(value["logs"])], cursor
    if isinstance(value, list):
        return [(f"{origin}#[{i}]", x) for i, x in enumerate(value)], {}
    if isinstance(value, dict) and (
        isinstance(value.get("attributes"), dict) or isinstance(value.get("content"), dict)
    ):
        return [(origin, value)], {}
    got = f"an object with keys {sorted(value)[:8]}" if isinstance(value, dict) else f"a JSON {type(value).__name__}"
    raise SourceError(f"{origin}: {got}; expected {_EXPECTED}")


def _sniff_datadog_logs(head: str) -> bool:
    """A log object (``"type": "log"`` beside ``"attributes": {``), or a page (``"data": [`` of objects with
    ``"attributes": {`` and a timestamp); an app's JSON lines with a ``data`` object or a ``type`` field are not."""
    attributes = re.search(r'"attributes"\s*:\s*\{', head) is not None
    return attributes and (
        re.search(r'"type"\s*:\s*"log"', head) is not None
        or (re.search(r'"data"\s*:\s*\[', head) is not None and '"timestamp"' in head)
    )


@register(
    "logs",
    "datadog",
    description=(
        "Datadog log search JSON (/api/v2/logs/events/search: data[].attributes {timestamp, status, service, "
        "message, tags, attributes}); page files of a folder load together, duplicate ids once"
    ),
    example=(
        '{"data": [\n'
        '  {"id": "AQAAAZdT", "type": "log", "attributes": {"timestamp": "2025-06-15T14:27:03.120Z", "status": "error",\n'
        '   "service": "checkout", "host": "i-0a1b", "message": "POST /api/checkout 500",\n'
        '   "tags": ["env:prod", "service:checkout"], "attributes": {"http": {"status_code": 500, "method": "POST"}}}}],\n'
        ' "meta": {"page": {"after": "eyJ..."}}, "links": {"next": "https://api.datadoghq.com/api/v2/logs/events?..."}}'
    ),
    sniff=_sniff_datadog_logs,
    sniff_order=25,
    options=(),
)
def load_datadog_logs(req: LoadRequest) -> LoadResult:
    """Datadog log search pages -> ``log`` events; unit = logs (see the module docstring)."""
    check_options(req)
    out = Collected()
    seen: dict[str, str] = {}
    pages = with_cursor = 0
    for path in json_files(req, out):
        docs = documents(path, out, _EXPECTED)
        for doc in docs or []:
            check_api_error(doc.value, Path(path), "logs")
            logs, envelope = _logs_of(doc.value, doc.origin)
            if envelope:
                pages += 1
                meta = as_dict(envelope.get("meta"))
                if as_dict(meta.get("page")).get("after") or as_dict(envelope.get("links")).get("next"):
                    with_cursor += 1
                if meta.get("status") == "timeout":
                    out.notes.append(f"{path.name}: Datadog says the search timed out (meta.status timeout): partial")
                for w in meta.get("warnings") or []:
                    out.notes.append(f"{path.name}: Datadog warning: {as_dict(w).get('detail') or w}")
            for origin, log in logs:
                if not isinstance(log, dict):
                    out.reject(origin, f"a JSON {type(log).__name__}, not a log object", log)
                    continue
                log_id = str_or_none(log.get("id"))
                if log_id is not None and log_id in seen:
                    out.reject(origin, f"duplicate log id {log_id} (first loaded from {seen[log_id]})", log)
                    continue
                try:
                    row = log_row(log, origin, req.timezone)
                except ValueError as exc:
                    out.reject(origin, str(exc), log)
                    continue
                if log_id is not None:
                    seen[log_id] = origin
                out.rows.append(row)
                out.inputs += 1
                out.parsed += 1
    if pages and with_cursor == pages:
        out.notes.append(
            f"every page file ({pages}) has a next-page cursor (meta.page.after / links.next): "
            "more logs matched the search than were exported"
        )
    return out.result("records")
