"""log4j: layouts, multi-line records joined, counts, rejects, sniffing."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sourcetest import scaled

from pmkit.sources import registry
from pmkit.sources.base import LoadRequest, LoadResult, run
from pmkit.sources.logs.log4j import sniff

UTC = dt.UTC
KAFKA = "logs/elastic_examples/kafka0/logs/server.log.2016-12-19-16"


def load(path: Path | str, **kw: Any) -> LoadResult:
    return run(LoadRequest("logs", "log4j", str(path), **kw))


def write(tmp_path: Path, text: str) -> Path:
    f = tmp_path / "app.log"
    f.write_text(text)
    return f


def test_kafka_sample_records_joined(real: Path) -> None:
    path = real / KAFKA
    physical = path.read_text().splitlines()
    res = load(path)
    assert (res.inputs, res.parsed, res.rejected) == (537, 537, 0)
    assert res.frame.height == sum(ln.startswith("[") for ln in physical) == 399
    first = res.frame.row(0, named=True)
    attrs = json.loads(first["attrs"])
    assert first["ts"] == dt.datetime(2016, 12, 19, 16, 31, 46, 143000, tzinfo=UTC)
    assert (first["level"], first["message"], first["kind"]) == ("info", "KafkaConfig values:", "log")
    assert first["origin"] == f"{path}:1"
    # the config dump: lines 2..139, the logger closing the record on its last line
    assert attrs == {"continuation": "\n".join(physical[1:139]), "logger": "kafka.server.KafkaConfig"}
    assert attrs["continuation"].startswith("\tadvertised.host.name = null\n")
    second = res.frame.row(1, named=True)
    assert (second["message"], json.loads(second["attrs"])) == ("starting", {"logger": "kafka.server.KafkaServer"})
    assert second["origin"] == f"{path}:140"
    assert any("read as UTC" in n for n in res.notes)


LAYOUT_CASES = [
    (
        "2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:FastLeaderElection@774] - "
        "Notification time out: 3200",
        "info",
        "Notification time out: 3200",
        {"line": 774, "logger": "FastLeaderElection", "thread": "QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181"},
    ),
    (
        "2016-12-19 16:31:46,143 WARN [main-SendThread] org.apache.zookeeper.ClientCnxn - Session 0x0 closed",
        "warning",
        "Session 0x0 closed",
        {"logger": "org.apache.zookeeper.ClientCnxn", "thread": "main-SendThread"},
    ),
    (
        "2015-10-18 18:01:48,963 INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: Executing with tokens:",
        "info",
        "Executing with tokens:",
        {"logger": "org.apache.hadoop.mapreduce.v2.app.MRAppMaster", "thread": "main"},
    ),
    (
        "2016-12-19 16:31:46,143 [http-nio-8080-exec-1] ERROR com.example.Api - request failed",
        "error",
        "request failed",
        {"logger": "com.example.Api", "thread": "http-nio-8080-exec-1"},
    ),
    ("17/06/09 20:10:41 INFO Remoting: Starting remoting", "info", "Starting remoting", {"logger": "Remoting"}),
    ("2016-12-19T16:31:46.143+01:00 FATAL out of memory", "critical", "out of memory", {}),
    ("[2016-12-19 16:31:46,143] some text with no level", None, "some text with no level", {}),
]


@pytest.mark.parametrize(("line", "level", "message", "attrs"), LAYOUT_CASES)
def test_layouts(tmp_path: Path, line: str, level: str | None, message: str, attrs: dict[str, Any]) -> None:
    res = load(write(tmp_path, line + "\n"))
    assert (res.parsed, res.rejected) == (1, 0)
    row = res.frame.row(0, named=True)
    assert (row["level"], row["message"], json.loads(row["attrs"])) == (level, message, attrs)


def test_times_and_timezone(tmp_path: Path) -> None:
    text = "2016-12-19 16:31:46,143 INFO [t] a.B: x\n2016-12-19T16:31:46.5+01:00 INFO [t] a.B: y\n17/06/09 20:10:41 INFO a: z\n"
    res = load(write(tmp_path, text), timezone="Europe/Paris")
    assert res.frame["ts"].to_list() == [
        dt.datetime(2016, 12, 19, 15, 31, 46, 143000, tzinfo=UTC),
        dt.datetime(2016, 12, 19, 15, 31, 46, 500000, tzinfo=UTC),
        dt.datetime(2017, 6, 9, 18, 10, 41, tzinfo=UTC),
    ]
    assert not any("read as UTC" in n for n in res.notes)


def test_stack_trace_orphans_and_bad_times(tmp_path: Path) -> None:
    text = (
        "\tat orphan.Before(First.java:1)\n"
        "2024-03-01 10:00:00,000 ERROR [main] com.x.Svc - call failed\n"
        "java.lang.IllegalStateException: boom\n"
        "\tat com.x.Svc.call(Svc.java:42)\n"
        "\n"
        "Caused by: java.io.IOException: eof\n"
        "2024-13-01 10:00:01,000 INFO [main] com.x.Svc - month 13\n"
        "\tat nowhere\n"
        "2024-03-01 10:00:02,000 INFO [main] com.x.Svc - fine\n"
    )
    res = load(write(tmp_path, text))
    assert (res.inputs, res.parsed, res.rejected) == (9, 6, 3)
    first = res.frame.row(0, named=True)
    assert first["message"] == "call failed"
    assert json.loads(first["attrs"])["continuation"] == (
        "java.lang.IllegalStateException: boom\n\tat com.x.Svc.call(Svc.java:42)\n\nCaused by: java.io.IOException: eof"
    )
    assert res.frame["message"].to_list() == ["call failed", "fine"]
    assert res.rejects["reason"].to_list() == [
        "continuation line before the first log4j record of the file",
        "timestamp 2024-13-01 10:00:01,000 not readable",
        "continues line 7, which was rejected: timestamp 2024-13-01 10:00:01,000 not readable",
    ]
    assert res.rejects["origin"].str.extract(r":(\d+)$").to_list() == ["1", "7", "8"]


def test_java_level_words(tmp_path: Path) -> None:
    text = (
        "2024-03-01 10:00:00,000 CONFIG [main] a.B - x\n"
        "2024-03-01 10:00:00,000 SEVERE [main] a.B - x\n"
        "2024-03-01 10:00:00,000 FINEST [main] a.B - x\n"
        "2024-03-01 10:00:00,000 ALL x\n"
    )
    res = load(write(tmp_path, text))
    assert res.frame["level"].to_list() == ["info", "error", "debug", None]
    assert res.frame["message"][3] == "ALL x"  # not a level word: the plain layout


def test_sniffer(real: Path) -> None:
    def head(p: Path) -> str:
        return "\n".join(p.read_text().splitlines()[:20])

    assert sniff(head(real / KAFKA))
    for system in ("Zookeeper", "Hadoop", "Spark"):
        assert sniff(head(real / "loghub" / system / f"{system}_2k.log")), system
    assert not sniff(head(real / "loghub/Linux/Linux_2k.log"))
    assert not sniff(head(real / "logs/syslog_rfc_examples/rfc5424_section6.5_examples.log"))
    assert not sniff('{"ts": "2025-01-20T10:00:00Z"}')
    assert not sniff("2025-01-20 10:00:00 no level here\n")
    assert registry.get("logs", "log4j").sniff is sniff


@settings(max_examples=scaled(40), deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(max_size=40),
            st.sampled_from(["\tat a.B(C.java:1)", "", "[2016-12-19 16:31:46,143] INFO x (a.B)"]),
            st.builds(lambda a, b: a + b, st.sampled_from(["2016-12-19 16:31:46,143 ", "[2016-99-19 16:31:46,1] ",
                                                          "17/06/09 20:10:41 "]), st.text(max_size=30)),
        ),
        max_size=25,
    )
)  # fmt: skip
def test_arbitrary_lines_never_break_the_count_rule(lines: list[str]) -> None:
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "x.log"
        f.write_text("\n".join(lines), encoding="utf-8")
        res = load(f)
        assert res.parsed + res.rejected == res.inputs
