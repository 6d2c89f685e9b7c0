"""The logs/csv loader: Loki, CloudWatch Logs Insights, BigQuery and Splunk exports; sniffing; counts."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sourcetest import scaled

from pmkit.errors import SourceError
from pmkit.sources import registry, textio
from pmkit.sources.base import LoadRequest, LoadResult, run

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "csv_logs"
EXPECTED = {  # file: (rows, parsed, rejected)
    "cloudwatch-insights.csv": (7, 5, 2),
    "loki-grafana-inspect.csv": (3, 3, 0),
    "bigquery-cloud-logging.csv": (3, 3, 0),
    "splunk-export.tsv": (2, 2, 0),
}


def load(path: Path | str, **kw: Any) -> LoadResult:
    kw.setdefault("redaction", False)
    return run(LoadRequest(kind="logs", format="csv", path=str(path), **kw))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_counts_and_sniff(name: str) -> None:
    res = load(FIX / name)
    assert (res.inputs, res.parsed, res.rejected) == EXPECTED[name]
    assert res.parsed + res.rejected + res.outside == res.inputs
    head = textio.head(FIX / name)
    assert registry.sniff("logs", head) == "csv"
    assert registry.sniff("metrics", head) is None  # a log export is not a metrics CSV


def test_cloudwatch_columns_and_rejects() -> None:
    res = load(FIX / "cloudwatch-insights.csv")
    rows = res.frame.to_dicts()
    assert rows[0]["ts"] == dt.datetime(2025, 3, 14, 13, 5, 2, 118000, tzinfo=dt.UTC)
    assert [r["level"] for r in rows] == ["error", "error", "info", "warning", None]
    assert rows[4]["message"] == "Traceback (most recent call last):"  # a quoted multi-line cell: first line
    assert "TimeoutError" in json.loads(rows[4]["attrs"])["@message"]
    assert json.loads(rows[0]["attrs"])["@logStream"] == "payments/payments/4f1c2e9a8b7d4c3e"
    reasons = res.rejects.get_column("reason").to_list()
    assert reasons[0].startswith("no timestamp field") and reasons[1] == "5 fields, the header has 4"
    assert any("no UTC offset" in n for n in res.notes)


def test_loki_labels_decoded() -> None:
    res = load(FIX / "loki-grafana-inspect.csv", timezone="Europe/Berlin")
    rows = res.frame.to_dicts()
    assert [r["service"] for r in rows] == ["payments", "payments", "checkout"]
    assert rows[0]["level"] == "error" and rows[0]["ts"] == dt.datetime(2025, 3, 14, 13, 5, 2, 118000, tzinfo=dt.UTC)
    assert json.loads(rows[0]["attrs"])["labels"]["namespace"] == "prod"


def test_bigquery_utc_suffix_and_severity() -> None:
    res = load(FIX / "bigquery-cloud-logging.csv")
    assert res.frame.get_column("level").to_list() == ["error", "info", "warning"]
    assert res.frame.get_column("service").to_list() == ["payments", "payments", "checkout"]
    assert res.frame.item(0, "ts") == dt.datetime(2025, 3, 14, 13, 5, 2, 118000, tzinfo=dt.UTC)


def test_fields_override_and_errors(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text("when,text,sev\n2025-03-14T13:00:00Z,hello,ERROR\n", encoding="utf-8")
    with pytest.raises(SourceError, match="no time column"):
        load(p)
    res = load(p, fields={"ts": "when", "message": "text", "level": "sev"})
    assert res.frame.row(0, named=True)["level"] == "error" and res.frame.item(0, "message") == "hello"
    with pytest.raises(SourceError, match="unknown option"):
        load(p, options={"multiline": True})


_MSG = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from([",", '"', "\n", ";"]), max_size=30
)


@settings(max_examples=scaled(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(
            st.none() | st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2040, 1, 1)),
            _MSG,
            st.sampled_from(["ERROR", "INFO", "warning", ""]),
        ),
        max_size=12,
    ),
    sep=st.sampled_from([",", "\t", ";"]),
)
def test_property_rows_counted_and_times_read(tmp_path: Path, rows: list[tuple[Any, str, str]], sep: str) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, lineterminator="\n")
    w.writerow(["timestamp", "message", "severity"])
    for ts, msg, sev in rows:
        # a message never blank: a row of blank cells is a blank line, not a row
        w.writerow([ts.isoformat(timespec="milliseconds") + "Z" if ts else "", "m" + msg, sev])
    p = tmp_path / "logs.csv"
    p.write_text(buf.getvalue(), encoding="utf-8")
    res = load(p)
    assert res.inputs == len(rows)
    assert res.parsed + res.rejected + res.outside == res.inputs
    timed = [r for r in rows if r[0] is not None]
    assert res.parsed == len(timed)
    got = res.frame.get_column("ts").to_list()
    assert got == [r[0].replace(microsecond=r[0].microsecond // 1000 * 1000, tzinfo=dt.UTC) for r in timed]
    want_level = {"ERROR": "error", "INFO": "info", "warning": "warning"}
    for row, r in zip(res.frame.to_dicts(), timed, strict=True):
        if r[2]:
            assert row["level"] == want_level[r[2]]


def test_sniffer_takes_its_example_and_no_other() -> None:
    infos = {i.format: i for i in registry.formats("logs")}
    mine = infos["csv"]
    assert mine.sniff is not None and registry.sniff("logs", mine.example) == "csv"
    for other, info in infos.items():
        if other != "csv":
            assert not mine.sniff(info.example), f"logs/csv accepts the {other} example"
    for info in registry.formats("metrics"):  # metric CSV examples are not log exports
        assert not mine.sniff(info.example), f"logs/csv accepts the metrics {info.format} example"


# loghub's structured CSVs (real files): parsed with no option, with a ts_format, or (year-less times) all rejected
# with the reason: never a wrong time (a time-only cell such as HDFS's 203615 is not read as an epoch)
LOGHUB = [  # (system, ts_format, rows parsed of 2000)
    ("Apache", None, 2000),
    ("Hadoop", None, 2000),
    ("Zookeeper", None, 2000),
    ("HDFS", "%y%m%d %H%M%S", 2000),
    ("Spark", "%y/%m/%d %H:%M:%S", 2000),
    ("Spark", None, 0),
    ("Android", None, 0),
    ("Linux", None, 0),
    ("OpenSSH", None, 0),
]


@pytest.mark.parametrize(("system", "ts_format", "parsed"), LOGHUB)
def test_real_loghub_structured_csv(real: Path, system: str, ts_format: str | None, parsed: int) -> None:
    (path,) = (real / "loghub" / system).glob("*_structured.csv")
    res = run(LoadRequest(kind="logs", format="", path=str(path), ts_format=ts_format, redaction=False))
    assert res.format == "csv"
    assert (res.inputs, res.parsed, res.rejected) == (2000, parsed, 2000 - parsed)
    if parsed:
        assert res.frame.get_column("ts").dt.year().min() >= 2005
        assert res.frame.get_column("level").null_count() < parsed
    else:
        assert set(res.rejects.get_column("reason")) == {"unreadable timestamp (looked in Date Time; set ts_format)"}
