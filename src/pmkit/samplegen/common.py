"""Shared pieces of the sample generator: a version-stable RNG, time helpers, the sample container.

Times inside the generator are integer **milliseconds since the Unix epoch, UTC** (``ms``);
they are formatted only when written. Randomness comes from :class:`Rng`, which uses
nothing of :mod:`random` but ``seed(str)`` and ``random()``, the two parts whose output
Python guarantees not to change between versions, so a sample is the same bytes on every
Python the package supports.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import random
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

UTC = dt.UTC
SECOND = 1000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_POD = "bcdfghjklmnpqrstvwxz2456789"  # the alphabet Kubernetes uses for generated name suffixes


class Rng:
    """Deterministic random numbers from ``random.Random(seed).random()`` only."""

    def __init__(self, *seed: str) -> None:
        self._r = random.Random(":".join(seed))
        self.random = self._r.random

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.random()

    def randint(self, a: int, b: int) -> int:
        """An integer in ``[a, b]`` (both ends included)."""
        return a + min(int(self.random() * (b - a + 1)), b - a)

    def chance(self, p: float) -> bool:
        return self.random() < p

    def choice(self, seq: Sequence[T]) -> T:
        return seq[min(int(self.random() * len(seq)), len(seq) - 1)]

    def weighted(self, seq: Sequence[T], cum_weights: Sequence[float]) -> T:
        """One item of ``seq`` drawn with the given cumulative weights."""
        x = self.random() * cum_weights[-1]
        return seq[min(bisect.bisect_right(cum_weights, x), len(seq) - 1)]

    def expo(self, mean: float) -> float:
        return -mean * math.log(1.0 - self.random())

    def gauss(self, mu: float, sigma: float) -> float:
        u1, u2 = self.random(), self.random()
        return mu + sigma * math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)

    def poisson(self, lam: float) -> int:
        """Poisson draw: Knuth's method for small means, a rounded normal for large ones."""
        if lam <= 0:
            return 0
        if lam > 60:
            return max(0, round(self.gauss(lam, math.sqrt(lam))))
        limit, k, p = math.exp(-lam), 0, self.random()
        while p > limit:
            k += 1
            p *= self.random()
        return k

    def hex(self, n: int) -> str:
        """``n`` random hex digits (13 per draw: a draw carries 52 random bits)."""
        r = self.random
        return "".join(f"{int(r() * 4503599627370496):013x}" for _ in range(-(-n // 13)))[:n]

    def alnum(self, n: int, alphabet: str = _ALNUM) -> str:
        return "".join(alphabet[int(self.random() * len(alphabet))] for _ in range(n))

    def b62(self, n: int) -> str:
        return self.alnum(n, _B62)

    def pod_suffix(self) -> str:
        return self.alnum(5, _POD)

    def uuid4(self) -> str:
        h = self.hex(32)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(self.random() * 4)]}{h[17:20]}-{h[20:]}"

    def shuffle(self, items: list[Any]) -> None:
        for i in range(len(items) - 1, 0, -1):
            j = min(int(self.random() * (i + 1)), i)
            items[i], items[j] = items[j], items[i]


# ----------------------------------------------------------------------------- times


def ms_of(text: str) -> int:
    """``2025-06-15T14:23:05.123Z`` (or any ISO time with an offset) to epoch milliseconds."""
    t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return round(t.timestamp() * 1000)


def dt_of(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, UTC)


def iso_ms(ms: int) -> str:
    """``2025-06-15T14:23:05.123Z``."""
    t = dt_of(ms - ms % 1000)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


def iso_s(ms: int) -> str:
    """``2025-06-15T14:23:05Z`` (milliseconds dropped)."""
    return dt_of(ms - ms % 1000).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_us(ms: int, extra_us: int = 0) -> str:
    """``2025-06-15T14:23:05.123456Z``: milliseconds plus ``extra_us`` (0-999) microseconds."""
    return dt_of(ms - ms % 1000).strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}{extra_us:03d}Z"


def iso_ns(ms: int, extra: int) -> str:
    """``2025-06-15T14:23:05.123456789Z`` as Go writes times: ``extra`` is the 6 digits below the ms."""
    return dt_of(ms - ms % 1000).strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}{extra:06d}Z"


def floor_minute(ms: int) -> int:
    return ms - ms % MINUTE


def hhmm(ms: int) -> str:
    return dt_of(ms).strftime("%H:%M")


class LocalClock:
    """Formats UTC milliseconds as local wall-clock time of one IANA zone (cached per second)."""

    def __init__(self, zone: str) -> None:
        self.zone = zoneinfo.ZoneInfo(zone)
        self._cache: dict[int, tuple[str, str]] = {}

    def _parts(self, sec: int) -> tuple[str, str]:
        got = self._cache.get(sec)
        if got is None:
            t = dt.datetime.fromtimestamp(sec, UTC).astimezone(self.zone)
            off = t.strftime("%z")
            got = (t.strftime("%Y-%m-%d %H:%M:%S"), t.strftime("%d/%b/%Y:%H:%M:%S ") + off)
            self._cache[sec] = got
        return got

    def naive_ms(self, ms: int) -> str:
        """``2025-06-15 16:19:03.123``: local time without an offset (what naive loggers write)."""
        return f"{self._parts(ms // 1000)[0]}.{ms % 1000:03d}"

    def clf(self, ms: int) -> str:
        """``15/Jun/2025:16:19:21 +0200``: nginx ``$time_local`` (month names in English)."""
        return self._parts(ms // 1000)[1]


def slack_ts(ms: int, micro: int) -> str:
    """Slack message id: seconds, a dot and six fraction digits (``1749997385.123456``)."""
    return f"{ms // 1000}.{(ms % 1000) * 1000 + micro:06d}"


def minutes(a_ms: int, b_ms: int) -> float:
    """``b - a`` in minutes, rounded to 0.01."""
    return round((b_ms - a_ms) / MINUTE, 2)


def p95(values: Sequence[float]) -> float:
    """Nearest-rank 95th percentile (the smallest value with at least 95% of values at or below it)."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[max(0, math.ceil(0.95 * len(s)) - 1)]


def median(values: Sequence[float]) -> float:
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


# ----------------------------------------------------------------------------- the sample


@dataclass
class Sample:
    """One generated incident folder: file contents by relative path, plus its ground truth."""

    incident_id: str
    files: dict[str, bytes] = field(default_factory=dict)
    expected: dict[str, Any] = field(default_factory=dict)

    def add(self, relpath: str, data: bytes) -> None:
        if relpath in self.files:
            raise ValueError(f"{relpath} written twice")
        self.files[relpath] = data
