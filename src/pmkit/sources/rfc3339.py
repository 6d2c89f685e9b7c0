"""RFC 3339 / ISO 8601 times as written in JSON documents (webhook payloads), read exactly.

A Python parser, not the vectorised one of :mod:`pmkit.timeutil`: the alert and page
loaders read one time per record from nested JSON, and must read any number of
fraction digits (truncated, never rounded, to the microsecond), offsets with or
without a colon, and reject what is not a real time with a reason.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from typing import Any

_RFC3339 = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"\s*(Z|z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?\s*$"
)
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_US = 1_000_000
_MIN_US = (dt.date(1, 1, 1).toordinal() - _EPOCH_ORDINAL) * 86400 * _US
_MAX_US = (dt.date(9999, 12, 31).toordinal() - _EPOCH_ORDINAL + 1) * 86400 * _US - 1


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
