"""A small client for Prometheus' HTTP API ``/api/v1/query_range`` (stdlib ``urllib``; no dependency).

What ``pmkit pull prometheus`` talks through (:mod:`pmkit.pull`). It runs one range query and returns the
response body as Prometheus wrote it (the ``prometheus-api`` loader reads that file later, offline).

Step: Prometheus refuses a range query whose series would have more than 11,000 points
(``exceeded maximum resolution of 11,000 points per timeseries``). :func:`choose_step` picks the smallest
step of a fixed ladder (15s, 30s, 1m, 2m, 5m, 10m, 15m, 30m, 1h, 2h, 6h, 12h, 1d) that keeps
``(end - start) / step + 1`` at or under :data:`MAX_POINTS` (10,000: a margin under the limit); 15s is the
floor (the common scrape interval: a finer step only repeats samples). A step given by hand is checked
against the same limit before anything is sent.

Credentials: a URL's ``user:password@`` is used for HTTP basic auth and never written down
(:func:`public_url` is what is recorded); an ``Authorization`` header comes from an environment variable
whose *name* is recorded (``auth_env``), its value never.

Errors (:class:`PullError`) name the URL and the query: connection refused or unreachable, a timeout, an
HTTP status (with Prometheus' ``errorType: error`` when the body is its JSON error), a body that is not
JSON, and a ``status: error`` response.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from pmkit.errors import SourceError

__all__ = ["MAX_POINTS", "PullError", "RangeQuery", "choose_step", "parse_step", "public_url", "query_range"]

# Prometheus' own limit is 11,000 points per series; pmkit stays under it with a margin.
PROMETHEUS_MAX_POINTS = 11_000
MAX_POINTS = 10_000
_LADDER_S = (15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400)
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class PullError(SourceError):
    """A query against a live Prometheus failed; the message names the URL and the query."""


@dataclass(frozen=True)
class RangeQuery:
    """One ``query_range`` call: base URL (``http://host:9090``, or with a path prefix), PromQL, times, step."""

    url: str
    query: str
    start: dt.datetime
    end: dt.datetime
    step_s: float
    auth_env: str | None = None
    timeout_s: float = 60.0


def parse_step(text: str) -> float:
    """``15s``, ``1m``, ``2h``, ``500ms`` or a bare number of seconds to seconds; ValueError otherwise."""
    t = str(text).strip()
    for unit in sorted(_UNITS, key=len, reverse=True):
        if t.endswith(unit):
            num = t[: -len(unit)]
            break
    else:
        num, unit = t, "s"
    try:
        value = float(num) * _UNITS[unit]
    except ValueError:
        raise ValueError(f"step {text!r} is not a duration; expected e.g. 15s, 1m, 5m") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"step {text!r} must be longer than 0")
    return value


def step_text(seconds: float) -> str:
    """Seconds as Prometheus writes a step: ``15s``, ``5m``, ``2h``, ``1d`` (whole units where they fit)."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def points(start: dt.datetime, end: dt.datetime, step_s: float) -> int:
    """Points per series of a range query: ``floor((end - start) / step) + 1``."""
    return math.floor((end - start).total_seconds() / step_s) + 1


def choose_step(start: dt.datetime, end: dt.datetime) -> float:
    """The smallest ladder step (module docstring) that keeps a series at or under :data:`MAX_POINTS`."""
    for s in _LADDER_S:
        if points(start, end, s) <= MAX_POINTS:
            return float(s)
    return float(math.ceil((end - start).total_seconds() / (MAX_POINTS - 1)))


def public_url(url: str) -> str:
    """``url`` without ``user:password@``: what is recorded in incident.yaml."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def _endpoint(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PullError(f"{url!r} is not a Prometheus URL; expected http(s)://host:port (e.g. http://localhost:9090)")
    return public_url(url) + "/api/v1/query_range"


def _headers(q: RangeQuery) -> dict[str, str]:
    headers = {"Accept": "application/json", "User-Agent": "pmkit-pull"}
    parts = urllib.parse.urlsplit(q.url)
    if parts.username is not None:
        pair = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    if q.auth_env:
        value = os.environ.get(q.auth_env)
        if not value:
            raise PullError(
                f"auth_env {q.auth_env!r}: the environment variable is not set (or empty); it holds the whole "
                "Authorization header value, e.g. 'Bearer <token>'"
            )
        headers["Authorization"] = value
    return headers


def _prom_error(body: bytes) -> str | None:
    """``errorType: error`` of a Prometheus JSON error body, else None."""
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    if isinstance(doc, dict) and doc.get("status") == "error":
        return f"{doc.get('errorType', 'unknown error type')}: {doc.get('error', 'no error message')}"
    return None


def query_range(q: RangeQuery) -> tuple[bytes, dict[str, Any]]:
    """Run ``q``; return the response body (bytes, as Prometheus sent it) and the decoded document.

    Raises :class:`PullError` naming the URL and the query (module docstring) on every failure.
    """
    endpoint = _endpoint(q.url)
    where = f"Prometheus at {public_url(q.url)} (query {q.query!r})"
    n = points(q.start, q.end, q.step_s)
    if q.end <= q.start:
        raise PullError(f"{where}: end {q.end.isoformat()} is not after start {q.start.isoformat()}")
    if n > PROMETHEUS_MAX_POINTS:
        raise PullError(
            f"{where}: step {step_text(q.step_s)} gives {n:,} points per series over "
            f"{q.start.isoformat()}..{q.end.isoformat()}; Prometheus allows {PROMETHEUS_MAX_POINTS:,}: "
            "give a longer --step or leave it out (pmkit then chooses one)"
        )
    form = urllib.parse.urlencode(
        {
            "query": q.query,
            "start": f"{q.start.timestamp():.3f}",
            "end": f"{q.end.timestamp():.3f}",
            "step": f"{q.step_s:g}",
        }
    ).encode()
    req = urllib.request.Request(endpoint, data=form, headers=_headers(q), method="POST")
    req.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(req, timeout=q.timeout_s) as resp:
            body: bytes = resp.read()
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        said = _prom_error(raw)
        detail = f"; Prometheus says {said}" if said else ""
        raise PullError(f"{where}: HTTP {exc.code} {exc.reason}{detail}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        text = "connection refused" if isinstance(reason, ConnectionRefusedError) else str(reason)
        raise PullError(f"{where}: cannot connect ({text}); is Prometheus running and the URL right?") from None
    except TimeoutError:
        raise PullError(f"{where}: no answer within {q.timeout_s:g}s (--timeout)") from None
    try:
        doc = json.loads(body)
    except ValueError:
        raise PullError(f"{where}: the answer is not JSON; is the URL a Prometheus server?") from None
    if not isinstance(doc, dict) or "status" not in doc:
        raise PullError(f"{where}: the answer is not a Prometheus API response (no 'status')")
    if doc["status"] == "error":
        raise PullError(
            f"{where}: the query failed: {doc.get('errorType', 'unknown error type')}: {doc.get('error', 'no message')}"
        )
    return body, doc
