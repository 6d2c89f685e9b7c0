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
