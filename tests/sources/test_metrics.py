"""Metrics loaders: prometheus, csv, grafana-csv (series frame, counts, rejects, real files)."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sourcetest import mutated, scaled, write

from pmkit.errors import SourceError
from pmkit.schema import SERIES_SCHEMA
from pmkit.sources import registry, textio
from pmkit.sources.base import LoadRequest, LoadResult, run
from pmkit.sources.series import parse_display_name

UTC = dt.UTC


def load(path: Path | str, fmt: str, **kw: Any) -> LoadResult:
    return run(LoadRequest(kind="metrics", format=fmt, path=str(path), **kw))


def labels_of(res: LoadResult) -> list[dict[str, str]]:
    return [json.loads(x) for x in res.frame.get_column("labels").to_list()]


def same_float(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


# ---------------------------------------------------------------------------------------- prometheus: real files

PROM_REAL = "metrics/prometheus_api_json"
NOT_METRICS = {
    "loki-streams.json": "Loki log query response",
    "api_v1_alerts_example.json": "kind alerts",
    "api_v1_rules_example.json": "kind alerts",
}


def expected_samples(doc: dict[str, Any], stem: str) -> list[tuple[str, dict[str, str], int, float]]:
    """(metric, labels, epoch us, value) for every point of a response, computed independently of the loader."""
    out = []
    data = doc["data"]
    for item in data["result"]:
        labels = dict(item["metric"])
        name = labels.pop("__name__", stem)
        pairs = item["values"] if data["resultType"] == "matrix" else [item["value"]]
        for t, v in pairs:
            us = int(Decimal(repr(t) if isinstance(t, float) else str(t)) * 1_000_000)
            out.append((name, labels, us, float(v)))
    return out


def test_real_prometheus_files_every_sample(real: Path) -> None:
    files = sorted((real / PROM_REAL).rglob("*.json"))
    assert len(files) >= 8
    checked = 0
    for f in files:
        if f.name in NOT_METRICS:
            continue
        doc = json.loads(f.read_text())
        want = expected_samples(doc, f.name.split(".")[0])
        res = load(f, "prometheus")
        assert res.inputs == res.parsed == res.frame.height == len(want), f.name
        assert res.rejected == 0
        assert res.unit == "records"
        got = [
            (m, json.loads(lab), int(ts.timestamp() * 1_000_000) if False else _us(ts), v)
            for m, lab, ts, v in res.frame.select("metric", "labels", "ts", "value").iter_rows()
        ]
        for g, w in zip(got, want, strict=True):
            assert g[:3] == w[:3], f.name
            assert same_float(g[3], w[3]), (f.name, g, w)
        checked += 1
    assert checked == 7


def _us(ts: dt.datetime) -> int:
    return (ts - dt.datetime(1970, 1, 1, tzinfo=UTC)) // dt.timedelta(microseconds=1)


def test_real_prometheus_nan_inf_and_warnings(real: Path) -> None:
    res = load(real / PROM_REAL / "grafana" / "prom-warnings.json", "prometheus")
    values = res.frame.get_column("value").to_list()
    assert values[:2] == [1.0, 0.0]
    assert values[2] == math.inf and values[3] == -math.inf and math.isnan(values[4])
    assert "prom-warnings.json: Prometheus warning: warning 1" in res.notes
    assert "prom-warnings.json: Prometheus warning: warning 2" in res.notes
    # unnamed series fall back to the file stem, named ones use __name__ (removed from labels)
    assert res.frame.get_column("metric").to_list() == ["up", "up", "prom-warnings", "prom-warnings", "prom-warnings"]
    assert labels_of(res)[0] == {"instance": "localhost:9090", "job": "prometheus"}
    nan = load(real / PROM_REAL / "grafana" / "range_nan.result.json", "prometheus")
    assert nan.frame.height == 3 and all(math.isnan(v) for v in nan.frame.get_column("value"))
    inf = load(real / PROM_REAL / "grafana" / "range_infinity.result.json", "prometheus")
    assert inf.frame.get_column("value").to_list() == [math.inf] * 3
    assert inf.frame.get_column("labels").to_list() == ["{}"] * 3


def test_real_prometheus_range_missing_keeps_series_apart(real: Path) -> None:
    res = load(real / PROM_REAL / "grafana" / "range_missing.result.json", "prometheus")
    by_job: dict[str, list[float]] = {}
    for lab, v in res.frame.select("labels", "value").iter_rows():
        by_job.setdefault(json.loads(lab)["job"], []).append(v)
    assert by_job == {"prometheus": [21.0, 32.0, 43.0], "other": [11.0, 33.0]}
    assert res.frame.item(0, "ts") == dt.datetime(2022, 1, 11, 8, 25, 33, tzinfo=UTC)


def test_real_prometheus_ms_precision(real: Path) -> None:
    res = load(real / PROM_REAL / "prometheus_docs" / "query_range_up_example.json", "prometheus")
    assert res.frame.item(0, "ts") == dt.datetime(2015, 7, 1, 20, 10, 30, 781000, tzinfo=UTC)
    assert res.frame.item(0, "origin").endswith("query_range_up_example.json#result[0].values[0]")
    assert res.frame.item(5, "origin").endswith("#result[1].values[2]")


@pytest.mark.parametrize("name", sorted(NOT_METRICS))
def test_real_not_metrics_files_get_a_clear_error(real: Path, name: str) -> None:
    path = next((real / PROM_REAL).rglob(name))
    with pytest.raises(SourceError, match=NOT_METRICS[name]) as err:
        load(path, "prometheus")
    assert str(path) in str(err.value)


def test_real_prometheus_folder_of_matrix_files_is_one_source(real: Path, tmp_path: Path) -> None:
    for f in (real / PROM_REAL / "grafana").glob("range_*.json"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    res = load(tmp_path, "prometheus", name="prom")
    assert res.frame.get_column("source").unique().to_list() == ["prom"]
    assert res.parsed == 301 + 3 + 5 + 3 + 5


# ---------------------------------------------------------------------------------------- prometheus: fixtures


def test_prometheus_status_error_names_file_and_error(tmp_path: Path) -> None:
    p = write(tmp_path, "q.json", '{"status":"error","errorType":"bad_data","error":"invalid parameter \\"query\\""}')
    with pytest.raises(SourceError, match=r"q\.json.*bad_data: invalid parameter") as err:
        load(p, "prometheus")
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize(
    ("doc", "match"),
    [
        ("[1, 2]", "top level is a JSON list"),
        ('{"status": "success"}', "no 'data' object"),
        ('{"data": {"resultType": "string", "result": [1, "x"]}}', "resultType 'string' has no samples"),
        ('{"data": {"resultType": "matrix", "result": {}}}', "'result' is a JSON dict"),
        ("{not json", "not valid JSON"),
    ],
)
def test_prometheus_wrong_shapes(tmp_path: Path, doc: str, match: str) -> None:
    with pytest.raises(SourceError, match=match):
        load(write(tmp_path, "x.json", doc), "prometheus")


def test_prometheus_vector_scalar_and_metric_option(tmp_path: Path) -> None:
    vec = write(
        tmp_path,
        "errors_ratio.json",
        json.dumps(
            {
                "status": "success",
                "data": {"resultType": "vector", "result": [{"metric": {"svc": "a"}, "value": [1750000000, "0.25"]}]},
            }
        ),
    )
    res = load(vec, "prometheus")
    assert res.frame.row(0, named=True)["metric"] == "errors_ratio"
    assert res.frame.item(0, "origin").endswith("errors_ratio.json#result[0].value")
    res = load(vec, "prometheus", options={"metric": "error_ratio"})
    assert res.frame.item(0, "metric") == "error_ratio"
    sc = write(tmp_path, "s.json", '{"status":"success","data":{"resultType":"scalar","result":[1750000000.5,"3"]}}')
    res = load(sc, "prometheus")
    assert res.frame.row(0) == (
        dt.datetime(2025, 6, 15, 15, 6, 40, 500000, tzinfo=UTC),
        "s",
        "s",
        "{}",
        3.0,
        f"{sc}#result",
    )


def test_prometheus_bad_points_are_rejected_with_origin(tmp_path: Path) -> None:
    doc = {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [
                {
                    "metric": {"__name__": "up"},
                    "values": [[1750000000, "1"], [1750000015, "oops"], "x", [1750000030000, "1"], [True, "1"]],
                },
                "not a series",
                {"metric": {"__name__": "up", "job": "b"}},
                {"metric": ["bad"], "values": []},
                {"metric": {}, "values": [[1750000000, "-Inf"], ["1750000015.5", "+Inf"], [1750000030, 2]]},
            ],
        },
    }
    res = load(write(tmp_path, "m.json", json.dumps(doc)), "prometheus")
    assert res.parsed == 4 and res.rejected == 7 and res.inputs == 11
    reasons = dict(zip([o.split("#")[1] for o in res.rejects["origin"]], res.rejects["reason"], strict=True))
    assert reasons["result[0].values[1]"] == "value 'oops' is not a number"
    assert reasons["result[0].values[2]"] == 'expected a [time, "value"] pair'
    assert reasons["result[0].values[3]"] == "time 1750000030000 is not Unix seconds"
    assert reasons["result[0].values[4]"] == "time True is not Unix seconds"
    assert reasons["result[1]"] == "series entry is not an object"
    assert reasons["result[2]"] == "series has no values or histograms"
    assert reasons["result[3]"] == "'metric' is not an object of labels"
    assert res.frame.get_column("value").to_list()[1:] == [-math.inf, math.inf, 2.0]
    assert res.frame.item(2, "ts") == dt.datetime(2025, 6, 15, 15, 6, 55, 500000, tzinfo=UTC)
    assert any("NaN or ±Inf" in n for n in res.notes)


def test_prometheus_long_series_read_vectorised_match_the_per_point_rules(tmp_path: Path) -> None:
    pairs: list[Any] = [[1750000000 + 15 * k, str(k)] for k in range(40)]
    pairs[3] = [1750000045.123456, "NaN"]
    pairs[5] = [1750000075, "n/a"]
    pairs[7] = [1.75e12, "1"]
    pairs[9] = [1750000135.5, " 2.5 "]
    doc = {
        "status": "success",
        "data": {"resultType": "matrix", "result": [{"metric": {"__name__": "q"}, "values": pairs}]},
    }
    res = load(write(tmp_path, "long.json", json.dumps(doc)), "prometheus")
    assert res.inputs == 40 and res.parsed == 38
    assert [o.split("#")[1] for o in res.rejects["origin"]] == ["result[0].values[5]", "result[0].values[7]"]
    assert res.rejects["reason"].to_list() == [
        "value 'n/a' is not a number",
        "time 1750000000000.0 is not Unix seconds",
    ]
    got = res.frame.get_column("origin").to_list()
    assert [int(o.rsplit("[", 1)[1][:-1]) for o in got] == [k for k in range(40) if k not in (5, 7)]
    assert res.frame.item(3, "ts") == dt.datetime(2025, 6, 15, 15, 7, 25, 123456, tzinfo=UTC)
    assert math.isnan(res.frame.item(3, "value")) and res.frame.item(7, "value") == 2.5


def test_prometheus_native_histograms(tmp_path: Path) -> None:
    doc = {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [
                {
                    "metric": {"__name__": "rpc_seconds"},
                    "histograms": [[1750000000, {"count": "10", "sum": "2.5", "buckets": []}]],
                }
            ],
        },
    }
    res = load(write(tmp_path, "h.json", json.dumps(doc)), "prometheus")
    assert res.parsed == 1
    assert res.frame.select("metric", "value").rows() == [("rpc_seconds_count", 10.0), ("rpc_seconds_sum", 2.5)]


def test_prometheus_bare_data_object_and_jsonc(tmp_path: Path) -> None:
    p = write(
        tmp_path, "d.jsonc", '// saved from the API\n{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]}]}'
    )
    assert load(p, "prometheus").parsed == 1


# ---------------------------------------------------------------------------------------- csv: real files


def test_real_numalogic_csv_every_row_exact_times(real: Path) -> None:
    folder = real / "metrics" / "numalogic_prometheus"
    for name, metric, hash_label in (
        ("argocd.csv", "namespace_app_http_request_error_rate", None),
        ("argorollouts.csv", "namespace_app_rollouts_http_request_error_rate", "7746fcb6bc"),
    ):
        path = folder / name
        lines = path.read_text().splitlines()
        res = load(path, "csv")
        assert res.inputs == res.parsed == res.frame.height == len(lines) - 1, name
        assert res.rejected == 0
        assert set(res.frame.get_column("metric").unique()) == {metric}
        # ns strings truncated to the microsecond, naive times read as UTC (and said so)
        want = [dt.datetime.fromisoformat(ln.split(",")[1][:26]).replace(tzinfo=UTC) for ln in lines[1:]]
        assert res.frame.get_column("ts").to_list() == want
        assert res.frame.get_column("value").to_list() == [float(ln.split(",")[2]) for ln in lines[1:]]
        want_labels = {"rollouts_pod_template_hash": hash_label} if hash_label else {}
        assert set(res.frame.get_column("labels").unique()) == {json.dumps(want_labels)}
        assert res.frame.item(0, "origin") == f"{path}:2"
        assert any("index column" in n for n in res.notes)
        assert any("no UTC offset" in n for n in res.notes)
    first = load(folder / "argorollouts.csv", "csv").frame.item(0, "ts")
    assert first == dt.datetime(2023, 6, 15, 4, 0, 52, 96999, tzinfo=UTC)


def test_real_numalogic_sniffed(real: Path) -> None:
    path = real / "metrics" / "numalogic_prometheus" / "argocd.csv"
    assert registry.sniff("metrics", textio.head(path)) == "csv"
    res = run(LoadRequest(kind="metrics", format="", path=str(path)))
    assert res.format == "csv" and res.table == "series"


# ---------------------------------------------------------------------------------------- csv: fixtures


def test_csv_long_layout_with_labels(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "long.csv",
        "timestamp,metric,value,host\n"
        "2025-06-15T14:00:00Z,cpu,0.5,a\n"
        "2025-06-15T14:00:00Z,cpu,0.7,b\n"
        '2025-06-15T14:00:30Z,"http_requests_total{code=""500""}",12,a\n'
        "2025-06-15T14:01:00Z,cpu,NaN,\n",
    )
    res = load(p, "csv")
    assert res.parsed == 4 and res.rejected == 0
    assert res.frame.get_column("metric").to_list() == ["cpu", "cpu", "http_requests_total", "cpu"]
    assert labels_of(res) == [{"host": "a"}, {"host": "b"}, {"code": "500", "host": "a"}, {}]
    assert math.isnan(res.frame.item(3, "value"))
    assert any("long layout" in n for n in res.notes)


def test_csv_wide_layout_epoch_and_rejects(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "wide.csv",
        "ts,latency_p99,error_ratio\n"
        "1750000000,0.25,0.01\n"
        "1750000030,,0.02\n"
        "\n"
        "later,0.3,0.1\n"
        "1750000090,fast,0.1\n"
        "1750000120,,\n"
        "1750000150,0.4\n"
        "1750000180,+Inf,-inf\n",
    )
    res = load(p, "csv")
    assert res.inputs == 7  # the blank line is not a row
    assert res.parsed == 3 and res.rejected == 4
    assert dict(zip(res.rejects["origin"], res.rejects["reason"], strict=True)) == {
        f"{p}:8": "2 fields, the header has 3",
        f"{p}:5": "cannot read time 'later' in column 'ts'",
        f"{p}:6": "column 'latency_p99': 'fast' is not a number",
        f"{p}:7": "no value (every value cell is empty)",
    }
    assert res.frame.height == 5  # one missing point in row 3
    assert res.frame.filter(pl.col("metric") == "error_ratio").get_column("value").to_list() == [0.01, 0.02, -math.inf]
    assert res.frame.item(0, "ts") == dt.datetime(2025, 6, 15, 15, 6, 40, tzinfo=UTC)


def test_csv_epoch_ms_go_times_and_timezone(tmp_path: Path) -> None:
    ms = write(tmp_path, "ms.csv", "timestamp,value\n1750000000123,1\n")
    assert load(ms, "csv").frame.item(0, "ts") == dt.datetime(2025, 6, 15, 15, 6, 40, 123000, tzinfo=UTC)
    go = write(
        tmp_path,
        "go.csv",
        "Time,cpu\n2022-08-22 03:51:19.573905004 +0000 UTC m=+0.079858984,0.5\n2022-08-22 03:52:19.1 +0200 CEST m=+60.1,0.6\n",
    )
    res = load(go, "csv")
    assert res.frame.get_column("ts").to_list() == [
        dt.datetime(2022, 8, 22, 3, 51, 19, 573905, tzinfo=UTC),
        dt.datetime(2022, 8, 22, 1, 52, 19, 100000, tzinfo=UTC),
    ]
    naive = write(tmp_path, "n.csv", "date;requests\n2025-06-15 14:00:00;5\n")
    res = load(naive, "csv", timezone="Europe/Berlin")
    assert res.frame.item(0, "ts") == dt.datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
    assert res.frame.item(0, "metric") == "requests"
    assert not any("no UTC offset" in n for n in res.notes)


def test_csv_value_column_named_value_takes_the_file_stem(tmp_path: Path) -> None:
    p = write(tmp_path, "nab_cpu_utilization.csv", "timestamp,value\n2014-04-02 14:29:00,42.0\n")
    res = load(p, "csv")
    assert res.frame.item(0, "metric") == "nab_cpu_utilization"
    assert load(p, "csv", options={"metric": "cpu"}).frame.item(0, "metric") == "cpu"


def test_csv_options_override_detection(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "o.csv",
        "when,name,v,zone,code\n2025-06-15T14:00:00Z,req,1,eu,200\n2025-06-15T14:00:00Z,req,2,us,500\n",
    )
    res = load(p, "csv", options={"time": "when", "metric": "name", "value": "v", "labels": ["code"]})
    assert labels_of(res) == [{"code": "200"}, {"code": "500"}]
    # numeric-looking label columns must be named; here only v is a value
    wide = load(p, "csv", options={"time": "when", "value": ["v"], "labels": ["zone", "code"], "metric": "req_total"})
    assert wide.frame.get_column("metric").to_list() == ["req_total", "req_total"]
    assert labels_of(wide) == [{"code": "200", "zone": "eu"}, {"code": "500", "zone": "us"}]
    assert "o.csv: columns ['name'] are not options.labels; ignored" in wide.notes
    with pytest.raises(SourceError, match=r"options\.time 'nope' is not a column"):
        load(p, "csv", options={"time": "nope"})
    with pytest.raises(SourceError, match=r"options.labels names \['x'\]"):
        load(p, "csv", options={"time": "when", "labels": ["x"]})


def test_csv_no_time_column_is_a_source_error(tmp_path: Path) -> None:
    p = write(tmp_path, "x.csv", "a,b\n1,2\n")
    with pytest.raises(SourceError, match=r"set options\.time"):
        load(p, "csv")


def test_csv_detects_time_column_by_content(tmp_path: Path) -> None:
    p = write(tmp_path, "x.csv", "host,at,load\nweb1,2025-06-15T14:00:00+02:00,0.5\n")
    res = load(p, "csv")
    assert res.frame.row(0)[0] == dt.datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
    assert labels_of(res) == [{"host": "web1"}]
    assert res.frame.item(0, "metric") == "load"


def test_csv_multiline_quoted_field_keeps_line_numbers(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "q.csv",
        'timestamp,metric,value,note\n2025-06-15T14:00:00Z,cpu,1,"two\nlines"\n2025-06-15T14:00:30Z,cpu,bad,x\n',
    )
    res = load(p, "csv", options={"labels": ["note"]})
    assert res.parsed == 1 and res.rejected == 1
    assert res.frame.item(0, "origin") == f"{p}:2"
    assert res.rejects.item(0, "origin") == f"{p}:4"
    assert labels_of(res) == [{"note": "two\nlines"}]


def test_csv_gzip_bom_crlf_and_empty_file(tmp_path: Path) -> None:
    data = "\ufefftimestamp,value\r\n2025-06-15T14:00:00Z,1\r\n".encode()
    p = write(tmp_path, "m.csv.gz", gzip.compress(data))
    res = load(p, "csv", options={"metric": "m"})
    assert res.parsed == 1 and res.frame.item(0, "metric") == "m"
    empty = write(tmp_path, "e.csv", "")
    res = load(empty, "csv")
    assert res.inputs == 0 and res.frame.height == 0 and "e.csv: empty file" in res.notes


def test_csv_frame_follows_series_contract(tmp_path: Path) -> None:
    p = write(tmp_path, "c.csv", "timestamp,a,b\n2025-06-15T14:00:00Z,1,2\n")
    res = load(p, "csv")
    assert dict(res.frame.schema) == SERIES_SCHEMA
    assert res.table == "series" and res.unit == "rows"


# ---------------------------------------------------------------------------------------- grafana-csv


def test_grafana_time_columns_layout_excel_semicolon(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "panel.csv",
        'sep=;\r\n"Time";"http_requests_total{code=""500"", job=""api""}";"A-series"\r\n'
        "2025-06-15 14:20:00;12;0.5\r\n2025-06-15 14:20:30;;0.7\r\n2025-06-15 14:21:00;null;null\r\n",
    )
    res = load(p, "grafana-csv", timezone="Europe/Berlin")
    assert res.parsed == 2 and res.rejected == 1
    assert res.rejects.row(0)[1:3] == (f"{p}:5", "no value (every value cell is empty)")
    assert res.frame.select("metric", "value").rows() == [
        ("http_requests_total", 12.0),
        ("A-series", 0.5),
        ("A-series", 0.7),
    ]
    assert labels_of(res)[0] == {"code": "500", "job": "api"}
    assert res.frame.item(0, "ts") == dt.datetime(2025, 6, 15, 12, 20, tzinfo=UTC)


def test_grafana_series_as_rows_layout(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "rows.csv",
        '"Series";"Time";"Value"\r\n"up{job=""api""}";2017-07-14T11:55:00+02:00;1\r\n'
        '"up{job=""api""}";2017-07-14T11:56:00+02:00;null\r\n"B-series";2017-07-14T11:56:00+02:00;3\r\n',
    )
    res = load(p, "grafana-csv")
    assert res.parsed == 2 and res.rejected == 1
    assert res.frame.select("metric", "labels", "value").rows() == [
        ("up", '{"job": "api"}', 1.0),
        ("B-series", "{}", 3.0),
    ]
    assert res.frame.item(0, "ts") == dt.datetime(2017, 7, 14, 9, 55, tzinfo=UTC)


def test_grafana_unjoined_frames_epoch_ms(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "latency.csv",
        '"Time","Value"\r\n1718460000000,1\r\n1718460030000,2\r\n\r\n'
        '"Time","{instance=""a""}","{instance=""b""}"\r\n1718460000000,3,4\r\n',
    )
    res = load(p, "grafana-csv", options={"metric": "latency_seconds"})
    assert res.parsed == 3
    assert res.frame.select("metric", "labels", "value").rows() == [
        ("latency_seconds", "{}", 1.0),
        ("latency_seconds", "{}", 2.0),
        ("latency_seconds", '{"instance": "a"}', 3.0),
        ("latency_seconds", '{"instance": "b"}', 4.0),
    ]
    assert res.frame.item(3, "origin") == f"{p}:6"
    assert res.frame.item(0, "ts") == dt.datetime(2024, 6, 15, 14, 0, tzinfo=UTC)


def test_grafana_without_time_column_explains_layouts(tmp_path: Path) -> None:
    p = write(tmp_path, "g.csv", "when,value\n1,2\n")
    with pytest.raises(SourceError, match="Series;Time;Value"):
        load(p, "grafana-csv")


def test_sniffers_tell_the_metric_formats_apart(tmp_path: Path) -> None:
    assert registry.sniff("metrics", 'sep=;\n"Time";"A"') == "grafana-csv"
    assert registry.sniff("metrics", '"Series";"Time";"Value"') == "grafana-csv"
    assert registry.sniff("metrics", "timestamp,metric,value\n1,a,2") == "csv"
    assert registry.sniff("metrics", '{"status":"success","data":{"resultType":"matrix"') == "prometheus"
    assert registry.sniff("metrics", "hello world") is None


# ---------------------------------------------------------------------------------------- display names


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ('up{job="api", instance="a:9090"}', ("up", {"job": "api", "instance": "a:9090"})),
        ('{__name__="up", job="x"}', ("up", {"job": "x"})),
        ('{job="x"}', ("", {"job": "x"})),
        ('m{path="/a,\\"b\\""}', ("m", {"path": '/a,"b"'})),
        ("A-series", ("A-series", {})),
        ("rate{broken", ("rate{broken", {})),
        ("cpu {no labels here}", ("cpu {no labels here}", {})),
    ],
)
def test_parse_display_name(text: str, want: tuple[str, dict[str, str]]) -> None:
    assert parse_display_name(text) == want


# ---------------------------------------------------------------------------------------- properties

FAST = settings(max_examples=scaled(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False),
    st.sampled_from(["1", "NaN", "+Inf", "-Inf", "x", "", "1e999", "1750000000.5", "1568234281726420425"]),
)
json_any = st.recursive(
    json_leaf, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=5), c, max_size=4), max_leaves=20
)
good_pair = st.tuples(
    st.one_of(st.integers(0, 4_000_000_000), st.floats(0, 4e9), st.sampled_from(["1750000000.5", 1e12])),
    st.one_of(st.sampled_from(["1", "NaN", "+Inf", "-Inf", "0.5", "x"]), st.floats().map(str)),
).map(list)
pair = st.one_of(good_pair, good_pair, st.lists(json_leaf, min_size=2, max_size=2), json_any)
series = st.fixed_dictionaries(
    {},
    optional={
        "metric": st.one_of(
            st.dictionaries(st.sampled_from(["__name__", "job", "a"]), st.text(max_size=4), max_size=3), json_any
        ),
        "values": st.one_of(st.lists(pair, max_size=5), st.lists(good_pair, min_size=32, max_size=40), json_any),
        "value": pair,
        "histograms": st.lists(
            st.tuples(json_leaf, st.dictionaries(st.sampled_from(["count", "sum"]), json_leaf)).map(list), max_size=2
        ),
    },
)
prom_doc = st.fixed_dictionaries(
    {
        "data": st.fixed_dictionaries(
            {
                "resultType": st.sampled_from(["matrix", "vector", "scalar", "streams", "x"]),
                "result": st.one_of(st.lists(series, max_size=4), pair),
            }
        )
    },
    optional={"status": st.sampled_from(["success", "error"]), "warnings": st.lists(json_leaf, max_size=2)},
)


@FAST
@given(doc=st.one_of(prom_doc, json_any))
def test_prometheus_never_crashes_and_keeps_count(tmp_path: Path, doc: Any) -> None:
    p = write(tmp_path, "p.json", json.dumps(doc))
    try:
        res = load(p, "prometheus")
    except SourceError:
        return
    assert res.parsed + res.rejected == res.inputs
    assert res.frame.height >= res.parsed


CSV_BASES = [
    ",timestamp,value,hash\n0,2023-06-15 04:00:40.443000064,0.0,7746fcb6bc\n1,2023-06-15 04:01:10.443000064,1.5,7746fcb6bc\n",
    "timestamp,metric,value,host\n2025-06-15T14:00:00Z,cpu,0.5,a\n1750000000,cpu,NaN,b\n",
    'sep=;\n"Time";"up{job=""a""}";"B"\n2025-06-15 14:20:00;1;null\n2025-06-15 14:20:30;;2\n',
    '"Series";"Time";"Value"\n"A";2017-07-14T11:55:00+02:00;1\n"A";1500026100000;null\n',
]
csv_cell = st.one_of(
    st.sampled_from(
        [
            "",
            "1",
            "0.5",
            "NaN",
            "-Inf",
            "null",
            "x",
            '"q,u"',
            '"',
            "2025-06-15T14:00:00Z",
            "1750000000",
            "2023-06-15 04:00:40.443000064",
        ]
    ),
    st.text(alphabet=',;"\t 0123456789.:-TZabc', max_size=8),
)
csv_line = st.lists(csv_cell, min_size=0, max_size=5).map(",".join)
csv_text = st.tuples(
    st.sampled_from(
        [
            "timestamp,value",
            ",timestamp,value,hash",
            "Time,a,b",
            "ts,metric,value,host",
            "x",
            "sep=;\nTime;A",
            '"Series";"Time";"Value"',
            "",
        ]
    ),
    st.lists(csv_line, max_size=8),
).map(lambda t: "\n".join([t[0], *t[1]]))


csv_inputs = st.one_of(
    csv_text, st.sampled_from(CSV_BASES).flatmap(lambda b: mutated(b, ',;"\n0123456789.:-TZa ', edits=4))
)


@FAST
@given(
    text=csv_inputs,
    fmt=st.sampled_from(["csv", "grafana-csv"]),
    opts=st.sampled_from([{}, {"metric": "m"}, {"separator": ";"}]),
)
def test_csv_loaders_never_crash_and_keep_count(tmp_path: Path, text: str, fmt: str, opts: dict[str, Any]) -> None:
    p = write(tmp_path, "m.csv", text)
    try:
        res = load(p, fmt, options=opts)
    except SourceError:
        return
    assert res.parsed + res.rejected == res.inputs
    assert res.frame.get_column("ts").null_count() == 0
