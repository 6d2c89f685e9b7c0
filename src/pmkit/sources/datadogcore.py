"""What the Datadog loaders share: tags, times, statuses and API error envelopes.

A toolkit for ``metrics/datadog``, ``logs/datadog`` and the ``datadog-events`` loaders;
it registers nothing.

- Tags are Datadog's ``key:value`` strings (a tag without ``:`` is a key with an empty
  value); :func:`tag_map` turns a list of them into a dict, the first value of a key
  winning (Datadog allows a key more than once; every value is kept in ``attrs.tags``).
- Times: API times are epoch milliseconds (metrics), epoch seconds (v1 events) or
  RFC 3339 strings (logs, v2 events); :func:`epoch_us` reads a number of a named unit
  exactly enough (milliseconds as floats, as the v1 query API writes them, are rounded
  to the microsecond).
- Statuses: Datadog's log and event statuses (``emerg``, ``alert``, ``critical``,
  ``error``, ``warn``/``warning``, ``notice``, ``info``, ``debug``, ``ok``/``success``)
  to pmkit levels through :data:`pmkit.sources.levels.LEVEL_NAMES`, plus ``ok`` and
  ``success`` -> ``info``. Anything else -> null (kept as written in ``attrs``).
- An API error response (``{"errors": ["..."]}`` or v1 ``{"status": "error", "error":
  "..."}``) is not evidence: :func:`check_api_error` raises a SourceError quoting it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pmkit.errors import SourceError
from pmkit.sources.levels import LEVEL_NAMES
from pmkit.sources.rfc3339 import parse_time_us

_US = 1_000_000
_UNIT_US = {"s": _US, "ms": 1_000, "us": 1}
_MAX_US = 253402300799 * _US  # 9999-12-31T23:59:59Z


def tag_map(tags: Any) -> dict[str, str]:
    """``["env:prod", "service:api", "flag"]`` -> ``{"env": "prod", "service": "api", "flag": ""}`` (first wins)."""
    out: dict[str, str] = {}
    if isinstance(tags, str):
        tags = [t for t in tags.split(",")]
    if not isinstance(tags, list):
        return out
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip():
            continue
        key, _, value = tag.strip().partition(":")
        out.setdefault(key, value)
    return out


def epoch_us(value: Any, unit: str) -> int:
    """Microseconds since the epoch of a number in ``unit`` (``s``, ``ms``, ``us``); ValueError when not a time."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"time {value!r} is not a number of {unit}")
    if isinstance(value, float) and value != value:
        raise ValueError(f"time {value!r} is not a number of {unit}")
    us = round(value * _UNIT_US[unit]) if isinstance(value, float) else value * _UNIT_US[unit]
    if not 0 <= us <= _MAX_US:
        raise ValueError(f"time {value!r} is not epoch {unit} between 1970 and 9999")
    return int(us)


_EXTRA_LEVELS = {"ok": "info", "success": "info", "warn": "warning", "emergency": "critical"}


def status_level(status: Any) -> str | None:
    """A Datadog log/event status to a pmkit level (None when it is not one)."""
    if not isinstance(status, str):
        return None
    word = status.strip().lower()
    return _EXTRA_LEVELS.get(word) or LEVEL_NAMES.get(word)


def check_api_error(doc: Any, path: Path, what: str) -> None:
    """SourceError when ``doc`` is a Datadog API error response instead of ``what``."""
    if not isinstance(doc, dict):
        return
    errors = doc.get("errors")
    if isinstance(errors, list) and errors and not doc.get("data") and not doc.get("series"):
        shown = "; ".join(
            str(e.get("detail") or e.get("title") or e) if isinstance(e, dict) else str(e) for e in errors
        )
        raise SourceError(f"{path}: a Datadog API error response, not {what}: errors: {shown[:300]}")
    if doc.get("status") == "error" and "series" in doc:
        raise SourceError(f"{path}: the Datadog query failed (status error): {str(doc.get('error') or '')[:300]}")


def dd_time_us(value: Any, tz: str | None = None) -> int:
    """An RFC 3339 string or epoch milliseconds (Datadog writes both) as epoch microseconds; ValueError if neither."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return epoch_us(value, "ms")
    return parse_time_us(value, tz)
