"""The typed requests frame: the request events' fields decoded once at load, read by the SLI without attrs."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from pmkit import schema
from pmkit.analysis.sli import request_frame
from pmkit.sources.requests import REQUESTS_SCHEMA, typed_requests

T0 = dt.datetime(2025, 6, 15, 14, 0, tzinfo=dt.UTC)


def _events(attrs: list[dict[str, object] | str], kind: str = "log") -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "ts": T0 + dt.timedelta(seconds=i),
                "source": "web",
                "kind": kind,
                "service": "api",
                "level": "info",
                "actor": None,
                "message": "m",
                "attrs": a if isinstance(a, str) else json.dumps(a),
                "origin": f"a.log:{i + 1}",
            }
            for i, a in enumerate(attrs)
        ],
        schema=schema.EVENTS_SCHEMA,
    )


def test_typed_columns_from_attrs() -> None:
    ev = _events(
        [
            {"status": 502, "method": "GET", "path": "/p?uid=u_9", "bytes": 173, "duration_ms": 250},
            {"status": "200", "user_id": "-", "customer_id": "c1", "tenant_id": "t1", "request_time": "0.5"},
            {"status": "n/a", "path": "/x"},  # a status that is no number: not a request
            {"state": "firing"},  # no status at all
        ]
    )
    got = typed_requests(ev)
    assert got.schema == pl.Schema(REQUESTS_SCHEMA)
    assert got.select("status", "method", "path", "user", "tenant", "bytes", "duration_s").rows() == [
        (502, "GET", "/p?uid=u_9", "u_9", None, 173, 0.25),
        (200, None, None, "c1", "t1", None, 0.5),
    ]
    assert got["origin"].to_list() == ["a.log:1", "a.log:2"]


def test_only_log_events_are_requests() -> None:
    assert typed_requests(_events([{"status": 500}], kind="alert")).height == 0
    assert typed_requests(schema.empty("events")).schema == pl.Schema(REQUESTS_SCHEMA)


@pytest.mark.parametrize("good", [None, "status < 400", "status < 500 and duration_s < 0.3"])
def test_request_frame_reads_the_typed_frame_like_the_attrs(good: str | None) -> None:
    ev = _events(
        [
            {"status": 200, "path": "/a", "user": "u1", "duration_s": 0.1},
            {"status": 503, "path": "/b?tenant=t2", "duration_s": 0.9},
            {"status": 404, "path": "/c"},
        ]
    )
    decoded = request_frame(ev, good=good)
    typed = request_frame(ev, good=good, requests=typed_requests(ev))
    assert typed.equals(decoded)
    assert request_frame(ev, source="other", requests=typed_requests(ev)).height == 0


def test_incident_requests_are_built_once_and_cached_with_the_sources(
    samples: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    from pmkit import incident
    from pmkit.incident import Incident

    monkeypatch.setenv("PMKIT_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "INC-2025-0142"
    shutil.copytree(samples / "INC-2025-0142", folder)
    first = Incident.load(folder)  # a cold load: typed per source, then cached with it
    assert first.requests.height
    assert request_frame(first.events, requests=first.requests).equals(request_frame(first.events))
    assert list((tmp_path / "cache").rglob("requests.parquet"))
    decoded: list[int] = []
    monkeypatch.setattr(incident, "typed_requests", lambda ev: decoded.append(ev.height) or typed_requests(ev))
    again = Incident.load(folder)  # from the cache: nothing decoded again
    assert again.requests.equals(first.requests) and decoded == []
    assert again.requests is again.requests  # built once
    fewer = dataclasses.replace(again, events=again.events.head(10))  # a new frame: its own requests
    assert fewer.requests.height <= 10 and decoded == [10]


def test_without_the_cache_the_requests_are_built_on_first_use(samples: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pmkit import incident
    from pmkit.incident import Incident

    monkeypatch.setenv("PMKIT_CACHE_MAX_BYTES", "0")
    decoded: list[int] = []
    monkeypatch.setattr(incident, "typed_requests", lambda ev: decoded.append(ev.height) or typed_requests(ev))
    inc = Incident.load(samples / "INC-20250120-103000")
    assert decoded == []  # a bare load decodes nothing
    assert inc.requests.height and decoded == [inc.events.height]


_ODD_ACCESS_LINES = r"""203.0.113.9 - alice [15/Jun/2025:14:00:00 +0000] "GET /pay?uid=u_42&tenant=t9 HTTP/1.1" 502 173 "-" "curl/8.5.0" rt=0.085 uid=cus_1
203.0.113.9 - - [15/Jun/2025:14:00:01 +0000] "POST /a\"b\x22c\\d HTTP/1.1" 200 - "-" "ua" request_time=0.5 user_id=- customer_id=c_7
10.0.0.1 - - [15/Jun/2025:14:00:02 +0000] "GET /x?user=-&customer_id=c_9 HTTP/1.1" 404 12 "-" "ua" urt="0.050, 0.020" tenant_id=t1 rt=inf
vhost.example 198.51.100.7, 10.0.0.1 - - [15/Jun/2025:14:00:03 +0000] "GET /search?q=1 HTTP/1.1" 200 5 "-" "ua" duration_ms=12 tenant=
203.0.113.9 - - [15/Jun/2025:14:00:04 +0000] "" 400 0 "-" "-" latency_ms=abc user=bob status=7 path=/p
203.0.113.9 - - [15/Jun/2025:14:00:05 +0000] "GET /p?password=hunter2&uid=u_1 HTTP/1.1" 500 1 "https://u:pw@example.com/" "ua" rt=1e-3 token=Zx8Kq2LmN4pR7sT1vW3yB5dF
203.0.113.9 - - [15/Jun/2025:14:00:06 +0000] "GARBLED" 200 1 "-" "ua" elapsed_ms=7 response_time_s=2
203.0.113.9 - - [15/Jun/2025:14:00:07 +0000] "GET /cut HTTP/1.1" 200 1 "-" "cut short
"""


@pytest.mark.parametrize("redaction", [None, False])
def test_access_log_typed_fields_equal_the_decoded_attrs(tmp_path: Path, redaction: bool | None) -> None:
    """The access-log loader hands over its request fields typed (no JSON written and decoded again): they
    equal what typed_requests decodes from the events' attrs, escapes, query strings, "-", trailing ids and
    durations, redacted rows (decoded from their redacted attrs) included."""
    from pmkit.sources.base import LoadRequest, run

    path = tmp_path / "access.log"
    path.write_text(_ODD_ACCESS_LINES)
    res = run(LoadRequest(kind="logs", format="combined", path=str(path), name="web", redaction=redaction))
    assert res.requests is not None and res.frame.height == 8
    expected = typed_requests(res.frame)
    assert res.requests.equals(expected), (res.requests, expected)
    assert expected.get_column("user").to_list()[:3] == ["alice", "c_7", "c_9"]


def test_loader_fields_follow_rows_dropped_after_the_loader(tmp_path: Path) -> None:
    """Rows dropped between the loader and the requests frame (the exact window, times out of range) are
    matched by origin: the requests frame is that of the rows kept."""
    from pmkit.sources.base import LoadRequest, run
    from pmkit.sources.requests import from_loader

    path = tmp_path / "access.log"
    path.write_text(_ODD_ACCESS_LINES)
    res = run(LoadRequest(kind="logs", format="combined", path=str(path), name="web", redaction=False))
    assert res.requests is not None
    typed = res.requests.select("origin", "status", "method", "path", "user", "tenant", "bytes", "duration_s")
    kept = res.frame.gather([0, 2, 5, 7])
    got = from_loader(kept, typed, kept.get_column("attrs"))
    assert got.equals(typed_requests(kept)) and got.height == 4
