"""The kubernetes-events loader: kubectl lists (JSON, YAML), watch streams, both Event APIs, changes, counts."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sourcetest import scaled

from pmkit.errors import SourceError
from pmkit.sources import registry, textio
from pmkit.sources.base import LoadRequest, LoadResult, run
from pmkit.sources.logs.kubernetes_events import workload_name

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "kubernetes_events"
# file: (inputs, parsed, rejected, changes)
EXPECTED = {
    "events-v1-list.json": (12, 12, 0, 1),
    "events-k8s-io-v1.yaml": (5, 5, 0, 1),
    "watch-objects.json": (3, 3, 0, 0),
    "watch-events.jsonl": (6, 4, 2, 1),
}


def load(path: Path | str, kind: str = "logs", **kw: Any) -> LoadResult:
    kw.setdefault("redaction", False)
    return run(LoadRequest(kind=kind, format="kubernetes-events", path=str(path), **kw))


def attrs(res: LoadResult) -> list[dict[str, Any]]:
    return [json.loads(a) for a in res.frame.get_column("attrs").to_list()]


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("kind", ["logs", "deploys"])
def test_fixture_counts_and_sniff(name: str, kind: str) -> None:
    n_in, n_ok, n_rej, n_changes = EXPECTED[name]
    res = load(FIX / name, kind)
    assert (res.inputs, res.parsed, res.rejected) == (n_in, n_ok, n_rej)
    assert res.parsed + res.rejected + res.outside == res.inputs
    assert (res.frame.get_column("kind") == "deploy").sum() == n_changes
    assert registry.sniff(kind, textio.head(FIX / name)) == "kubernetes-events"


def test_core_v1_columns() -> None:
    res = load(FIX / "events-v1-list.json")
    rows = res.frame.to_dicts()
    a = attrs(res)
    unhealthy = next(i for i, x in enumerate(a) if x["reason"] == "Unhealthy")
    assert rows[unhealthy]["level"] == "warning"
    assert rows[unhealthy]["service"] == "payments"
    assert rows[unhealthy]["actor"] == "kubelet"
    assert rows[unhealthy]["ts"] == dt.datetime(2025, 3, 14, 13, 4, 51, tzinfo=dt.UTC)  # lastTimestamp
    assert a[unhealthy]["count"] == 14 and a[unhealthy]["first_seen"] == "2025-03-14T13:00:31Z"
    assert a[unhealthy]["ts_from"] == "lastTimestamp" and a[unhealthy]["namespace"] == "prod"
    sched = next(i for i, x in enumerate(a) if x["reason"] == "Scheduled")
    assert a[sched]["ts_from"] == "eventTime" and rows[sched]["actor"] == "default-scheduler"
    assert rows[sched]["ts"] == dt.datetime(2025, 3, 14, 13, 0, 5, 214396, tzinfo=dt.UTC)
    assert {r["level"] for r in rows if json.loads(r["attrs"])["type"] == "Normal"} == {"info"}


def test_changes_are_new_revisions_only() -> None:
    res = load(FIX / "events-v1-list.json")
    deploys = res.frame.filter(res.frame.get_column("kind") == "deploy")
    assert deploys.height == 1  # the autoscaler's scale-up of checkout's current replica set is no change
    a = json.loads(deploys.item(0, "attrs"))
    assert (
        a["change_type"] == "rollout"
        and a["rollback"] is False
        and a["replica_set"] == a["version"] == "payments-7d9f8b6c5d"
    )
    off = load(FIX / "events-v1-list.json", options={"changes": False})
    assert set(off.frame.get_column("kind")) == {"log"}


def test_events_k8s_io_v1() -> None:
    res = load(FIX / "events-k8s-io-v1.yaml")
    a = attrs(res)
    rows = res.frame.to_dicts()
    rb = next(i for i, x in enumerate(a) if x["reason"] == "DeploymentRollback")
    assert rows[rb]["kind"] == "deploy" and a[rb]["rollback"] is True
    fs = next(i for i, x in enumerate(a) if x["reason"] == "FailedScheduling")
    assert a[fs]["ts_from"] == "series.lastObservedTime" and a[fs]["count"] == 5
    assert rows[fs]["service"] == "web" and rows[fs]["level"] == "warning"
    assert all(x["api"] == "events.k8s.io/v1" for x in a)
    live = next(i for i, x in enumerate(a) if x["reason"] == "Unhealthy")
    assert (
        a[live]["ts_from"] == "deprecatedLastTimestamp" and a[live]["count"] == 3 and a[live]["host"] == "node-pool-a-1"
    )


def test_watch_stream() -> None:
    res = load(FIX / "watch-events.jsonl")
    assert [x.get("watch") for x in attrs(res)] == ["ADDED", "ADDED", "ADDED", "MODIFIED"]
    reasons = res.rejects.get_column("reason").to_list()
    assert reasons[0].startswith("watch DELETED") and reasons[1].startswith("not valid JSON")
    assert res.rejects.get_column("origin").to_list()[0].endswith("watch-events.jsonl:5")


@pytest.mark.parametrize(
    ("kind", "name", "want"),
    [
        ("Pod", "payments-7d9f8b6c5d-x2x9p", "payments"),
        ("Pod", "web-0", "web"),
        ("Pod", "node-exporter-k7wqz", "node-exporter"),
        ("ReplicaSet", "payments-7d9f8b6c5d", "payments"),
        ("Deployment", "payments-api", "payments-api"),
        ("Node", "node-pool-a-1", "node-pool-a-1"),
    ],
)
def test_workload_name(kind: str, name: str, want: str) -> None:
    assert workload_name(kind, name) == want


def test_bad_input_errors(tmp_path: Path) -> None:
    p = tmp_path / "ev.yaml"
    p.write_text("items:\n  - a: [\n", encoding="utf-8")
    with pytest.raises(SourceError, match="kubectl get events"):
        load(p)
    with pytest.raises(SourceError, match="unknown option"):
        load(FIX / "events-v1-list.json", options={"multiline": True})
    other = tmp_path / "pods.json"
    other.write_text(json.dumps({"kind": "List", "items": [{"kind": "Pod", "metadata": {"name": "x"}}]}))
    res = load(other)
    assert res.rejected == 1 and "not a Kubernetes Event" in res.rejects.item(0, "reason")


_TS = st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 1, 1)).map(
    lambda d: d.replace(microsecond=0).isoformat() + "Z"
)


@st.composite
def _event(draw: st.DrawFn) -> dict[str, Any]:
    new = draw(st.booleans())
    obj = {
        "kind": draw(st.sampled_from(["Pod", "Deployment", "Node"])),
        "name": draw(st.from_regex(r"[a-z]{1,8}-[0-9]", fullmatch=True)),
        "namespace": "ns",
    }
    times = {k: draw(st.none() | _TS) for k in ("first", "last", "event")}
    ev: dict[str, Any] = {"kind": "Event", "reason": draw(st.sampled_from(["BackOff", "Pulled", "Killing"]))}
    ev["type"] = draw(st.sampled_from(["Warning", "Normal"]))
    if new:
        ev.update(
            apiVersion="events.k8s.io/v1", regarding=obj, note=draw(st.text(max_size=20)), eventTime=times["event"]
        )
        ev.update(deprecatedFirstTimestamp=times["first"], deprecatedLastTimestamp=times["last"])
    else:
        ev.update(apiVersion="v1", involvedObject=obj, message=draw(st.text(max_size=20)), eventTime=times["event"])
        ev.update(firstTimestamp=times["first"], lastTimestamp=times["last"], count=draw(st.integers(1, 99)))
    return ev


@settings(max_examples=scaled(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    events=st.lists(_event(), max_size=8),
    shape=st.sampled_from(["list", "yaml", "watch", "objects"]),
    junk=st.booleans(),
)
def test_property_counts_levels_times(tmp_path: Path, events: list[dict[str, Any]], shape: str, junk: bool) -> None:
    if shape == "list":
        text = json.dumps({"apiVersion": "v1", "kind": "List", "items": events}, indent=4)
    elif shape == "yaml":
        text = yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": events})
    elif shape == "watch":
        text = "".join(json.dumps({"type": "ADDED", "object": e}) + "\n" for e in events)
    else:
        text = "".join(json.dumps(e, indent=4) + "\n" for e in events)
    extra = shape in ("watch", "objects") and junk
    if extra:
        text += '{"type": "ADDED", "object": {"kind"\n'
    p = tmp_path / "events.txt"
    p.write_text(text, encoding="utf-8")
    if not text.strip():
        return
    res = load(p)
    timed = [
        e
        for e in events
        if e.get("lastTimestamp")
        or e.get("deprecatedLastTimestamp")
        or e.get("eventTime")
        or e.get("firstTimestamp")
        or e.get("deprecatedFirstTimestamp")
    ]
    assert res.inputs == len(events) + extra
    assert res.parsed == len(timed)
    assert res.parsed + res.rejected + res.outside == res.inputs
    assert res.frame.get_column("level").to_list() == ["warning" if e["type"] == "Warning" else "info" for e in timed]
    want = [
        e.get("lastTimestamp")
        or e.get("deprecatedLastTimestamp")
        or e.get("eventTime")
        or e.get("firstTimestamp")
        or e.get("deprecatedFirstTimestamp")
        for e in timed
    ]
    got = [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in res.frame.get_column("ts").to_list()]
    assert got == want


@pytest.mark.parametrize("kind", ["logs", "deploys"])
def test_sniffer_takes_its_example_and_no_other(kind: str) -> None:
    infos = {i.format: i for i in registry.formats(kind)}
    mine = infos["kubernetes-events"]
    assert mine.sniff is not None and registry.sniff(kind, mine.example) == "kubernetes-events"
    for other, info in infos.items():
        if other != "kubernetes-events":
            assert not mine.sniff(info.example), f"kubernetes-events accepts the {other} example"
