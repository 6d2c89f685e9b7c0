"""Metric CSVs: the time column is the first time-named one (Time, TimeStamp, date...), a second is ignored
with a note; Grafana's sniffer leaves two-time-column files to the generic csv; the labels option."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sourcetest import scaled

from pmkit.sources import registry, textio
from pmkit.sources.base import LoadRequest, LoadResult, run

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "metrics_csv"


def load(path: Path | str, fmt: str = "csv", **kw: Any) -> LoadResult:
    kw.setdefault("redaction", False)
    return run(LoadRequest(kind="metrics", format=fmt, path=str(path), **kw))


def test_nezha_shaped_time_column() -> None:
    path = FIX / "nezha-shaped.csv"
    assert registry.sniff("metrics", textio.head(path)) == "csv"  # not grafana-csv: it has two time columns
    res = load(path)
    assert (res.inputs, res.parsed, res.rejected) == (12, 12, 0)
    per = res.frame.group_by("metric", "labels").len()
    assert per.height == 6 * 3 and set(per.get_column("len")) == {4}  # 6 metrics x 3 pods, 4 points each
    assert set(res.frame.get_column("metric")) == {
        "CpuUsage(m)", "CpuUsageRate(%)", "MemoryUsage(Mi)", "MemoryUsageRate(%)", "NetworkReceiveBytes",
        "NetworkTransmitBytes",
    }  # fmt: skip
    assert {json.loads(x)["PodName"] for x in res.frame.get_column("labels")} == {
        "adservice-7b8c9d6f5-x2x9p", "cartservice-6d7f8b9c4-k7wqz", "frontend-5f6d7c8b9-mhv4n",
    }  # fmt: skip
    assert res.frame.get_column("ts").min() == dt.datetime(2022, 8, 22, 3, 51, 19, 573905, tzinfo=dt.UTC)
    assert any("'TimeStamp' is a second time column" in n and "+199,999,999 s" in n for n in res.notes)


def test_time_option_and_labels_option(tmp_path: Path) -> None:
    p = tmp_path / "wide.csv"
    p.write_text(
        "date,region,shard,errors,requests\n2025-03-14T13:00:00Z,eu,7,1,100\n2025-03-14T13:01:00Z,eu,7,2,120\n"
    )
    # shard looks numeric: without labels: it is a metric; labels: names it a label
    assert "shard" in set(load(p).frame.get_column("metric"))
    res = load(p, options={"labels": ["region", "shard"]})
    assert set(res.frame.get_column("metric")) == {"errors", "requests"}
    assert json.loads(res.frame.item(0, "labels")) == {"region": "eu", "shard": "7"}
    both = tmp_path / "both.csv"
    both.write_text("Time,TimeStamp,v\n2025-03-14 13:00:00,1741957200,1\n")
    assert load(both, options={"time": "TimeStamp"}).frame.item(0, "ts") == dt.datetime(2025, 3, 14, 13, tzinfo=dt.UTC)


def test_grafana_export_still_sniffed(tmp_path: Path) -> None:
    p = tmp_path / "panel.csv"
    p.write_text('"Time","A-series"\n2025-03-14 13:00:00,1\n')
    assert registry.sniff("metrics", textio.head(p)) == "grafana-csv"


def test_real_numalogic(real: Path) -> None:
    for f in sorted((real / "metrics" / "numalogic_prometheus").glob("*.csv")):
        res = run(LoadRequest(kind="metrics", format="", path=str(f), redaction=False))
        assert res.format == "csv" and res.rejected == 0 and res.parsed == res.inputs
        assert res.frame.group_by("metric", "labels").len().get_column("len").min() > 100


_NAMES = st.sampled_from(["Time", "timestamp", "TIME", "date", "Date_Time", "ts"])


@settings(max_examples=scaled(30), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    first=_NAMES,
    second=st.none() | st.sampled_from(["TimeStamp", "epoch", "unix_time"]),
    n_rows=st.integers(1, 8),
    n_metrics=st.integers(1, 3),
    pos=st.integers(0, 3),
)
def test_property_one_series_per_metric(
    tmp_path: Path, first: str, second: str | None, n_rows: int, n_metrics: int, pos: int
) -> None:
    metrics = [f"m{i}" for i in range(n_metrics)]
    others = [*metrics, "host"]
    cols = [first, *others]
    if second:
        cols.insert(min(pos, len(cols) - 1) + 1, second)
    t0 = dt.datetime(2025, 3, 14, 13, tzinfo=dt.UTC)
    lines = [",".join(cols)]
    for r in range(n_rows):
        t = t0 + dt.timedelta(minutes=r)
        cell = {first: t.strftime("%Y-%m-%d %H:%M:%S"), "host": "web-a"}
        if second:
            cell[second] = str(int(t.timestamp()) + 3600)
        cell.update({m: str(r + i) for i, m in enumerate(metrics)})
        lines.append(",".join(cell[c] for c in cols))
    p = tmp_path / "m.csv"
    p.write_text("\n".join(lines) + "\n")
    res = load(p)
    assert res.parsed + res.rejected + res.outside == res.inputs == n_rows
    per = res.frame.group_by("metric", "labels").len()
    assert sorted(per.get_column("metric")) == metrics
    assert set(per.get_column("len")) == {n_rows}
    assert res.frame.get_column("ts").min() == t0
