"""JSON lines read as series (logs/jsonl with `as: series`, metrics/jsonl): values, labels, counters as increases."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sourcetest import scaled

from pmkit.errors import SourceError
from pmkit.sources.base import LoadRequest, LoadResult, run

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "jsonl_series" / "nginxplus-status.jsonl"
NGINX_OPTS = {
    "as": "series",
    "values": ["connections.active", "requests.total", "server_zones.*.responses.5xx"],
    "counters": ["requests.total", "server_zones.*.responses.*"],
}


def load(path: Path | str, kind: str = "logs", **kw: Any) -> LoadResult:
    kw.setdefault("redaction", False)
    return run(LoadRequest(kind=kind, format="jsonl", path=str(path), **kw))


def test_nginx_plus_counters_and_gauges() -> None:
    res = load(FIX, options=NGINX_OPTS)
    assert res.table == "series" and (res.inputs, res.parsed, res.rejected) == (7, 6, 1)
    assert res.rejects.item(0, "origin").endswith(":4") and "no timestamp" in res.rejects.item(0, "reason")
    by = {m: g.sort("ts").get_column("value").to_list() for (m,), g in res.frame.group_by("metric")}
    assert by["connections.active"] == [12, 13, 14, 15, 16, 17]  # a gauge, as read
    # 5xx counter: +5, +60, +60, then the reload (the counter restarts at 2: the increase is 2), +60
    assert by["server_zones.payments.responses.5xx:increase"] == [5, 60, 60, 2, 60]
    assert res.frame.get_column("ts").min() == dt.datetime(2025, 3, 14, 13, tzinfo=dt.UTC)
    as_metrics = load(FIX, kind="metrics", options={k: v for k, v in NGINX_OPTS.items() if k != "as"})
    assert as_metrics.frame.drop("source").equals(res.frame.drop("source"))


def test_labels_and_errors(tmp_path: Path) -> None:
    p = tmp_path / "m.jsonl"
    p.write_text(
        '{"ts":"2025-03-14T13:00:00Z","host":"a","q":{"depth":3},"ok":true}\n'
        '{"ts":"2025-03-14T13:01:00Z","host":"b","q":{"depth":5},"ok":false}\n'
    )
    res = load(p, options={"as": "series", "labels": "host"})
    assert res.frame.select("metric", "labels", "value").rows() == [
        ("q.depth", '{"host":"a"}', 3.0),
        ("q.depth", '{"host":"b"}', 5.0),
    ]
    with pytest.raises(SourceError, match="match no numeric field"):
        load(p, options={"as": "series", "values": "nope"})
    with pytest.raises(SourceError, match="unknown option"):
        load(p, options={"as": "series", "multiline": True})
    with pytest.raises(SourceError, match=r"options\.as"):
        load(p, options={"as": "table"})


@settings(max_examples=scaled(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(
        st.tuples(st.integers(0, 50), st.booleans(), st.floats(-5, 5, allow_nan=False)), min_size=1, max_size=15
    )
)
def test_property_counter_increases(tmp_path: Path, steps: list[tuple[int, bool, float]]) -> None:
    """Increases add up to what the counter counted, restarts included; the gauge comes through as written."""
    t0 = dt.datetime(2025, 3, 14, 13, tzinfo=dt.UTC)
    value, lines, counted = 0, [], 0
    for i, (add, restart, gauge) in enumerate(steps):
        if restart and i and add < value:  # a restart shows only as a drop (as for Prometheus)
            value = add  # restarted from 0, then counted `add`
        else:
            value += add
        if i:
            counted += add
        ts = (t0 + dt.timedelta(seconds=10 * i)).isoformat()
        lines.append(json.dumps({"time": ts, "hits": value, "temp": gauge}))
    p = tmp_path / "c.jsonl"
    p.write_text("\n".join(lines) + "\n")
    res = load(p, options={"as": "series", "counters": "hits"})
    assert res.parsed + res.rejected + res.outside == res.inputs == len(steps)
    inc = res.frame.filter(pl.col("metric") == "hits:increase").get_column("value")
    assert inc.len() == len(steps) - 1 and inc.sum() == counted and (inc >= 0).all()
    assert res.frame.filter(pl.col("metric") == "temp").get_column("value").to_list() == [s[2] for s in steps]


def test_window_counts_lines_outside() -> None:
    win = (dt.datetime(2025, 3, 14, 13, 2, tzinfo=dt.UTC), dt.datetime(2025, 3, 14, 13, 4, tzinfo=dt.UTC))
    res = load(FIX, options=NGINX_OPTS, window=win)
    assert (res.inputs, res.parsed, res.rejected, res.outside) == (7, 3, 1, 3)
    inc = res.frame.filter(pl.col("metric") == "server_zones.payments.responses.5xx:increase").sort("ts")
    assert inc.get_column("value").to_list() == [60, 60, 2]  # 13:02's increase is taken from the 13:01 line
    assert res.frame.get_column("ts").is_between(*win).all()
