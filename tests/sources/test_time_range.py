"""Times outside 1900..2199 (year 0, year 10000, epochs that overflow or are in the wrong unit) are
per-record rejects in every loader, never a crash (``ValueError: year 0 is out of range`` used to end
the load the moment a frame was turned into Python objects)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from sourcetest import write

from pmkit import timeutil
from pmkit.sources.base import LoadRequest, run

GOOD = "2025-06-15T14:00:00Z"

# (kind, format, file text, how many records must be rejected for their time)
CASES = [
    (
        "deploys",
        "json",
        json.dumps(
            [
                {"ts": -6.2e16, "service": "a"},  # what hypothesis found: year 0 in the deploys JSON loader
                {"ts": "0000-01-01T00:00:00Z", "service": "a"},
                {"ts": "10000-01-01T00:00:00Z", "service": "a"},
                {"ts": 1e30, "service": "a"},
                {"ts": GOOD, "service": "a"},
            ]
        ),
        4,
    ),
    ("deploys", "csv", f"deployed_at,service\n-62000000000000000,a\n0000-01-01T00:00:00Z,a\n{GOOD},a\n", 2),
    (
        "deploys",
        "github-deployments",
        json.dumps(
            [
                {
                    "id": 1,
                    "sha": "a1b2c3d",
                    "ref": "v1",
                    "task": "deploy",
                    "environment": "production",
                    "creator": {"login": "alice"},
                    "created_at": "0000-01-01T00:00:00Z",
                    "statuses": [{"state": "success", "created_at": GOOD}],
                }
            ]
        ),
        1,
    ),
    (
        "deploys",
        "argocd",
        json.dumps(
            {
                "metadata": {"name": "pay"},
                "status": {"history": [{"id": 7, "revision": "a1b2c3d", "deployedAt": "0000-06-15T14:02:11Z"}]},
            }
        ),
        1,
    ),
    ("deploys", "git-log", "commit 3f2a9c1e\nAuthor: A <a@b.c>\nDate:   Sun Jun 15 14:18:00 0000 +0200\n\n    x\n", 1),
    (
        "logs",
        "jsonl",
        f'{{"ts": -6.2e16, "msg": "a"}}\n{{"ts": "0000-01-01T00:00:00Z", "msg": "b"}}\n{{"ts": "{GOOD}", "msg": "c"}}\n',
        2,
    ),
    ("logs", "logfmt", f"ts=0000-01-01T00:00:00Z msg=a\nts={GOOD} msg=c\n", 1),
    (
        "logs",
        "combined",
        '1.2.3.4 - - [14/Mar/0000:13:05:02 +0000] "GET / HTTP/1.1" 200 1 "-" "c"\n'
        '1.2.3.4 - - [14/Mar/2025:13:05:02 +0000] "GET / HTTP/1.1" 200 1 "-" "c"\n',
        1,
    ),
    (
        "logs",
        "syslog",
        "<34>1 0000-10-11T22:14:15.003Z host app - - - x\n<34>1 2003-10-11T22:14:15.003Z host app - - - y\n",
        1,
    ),
    ("logs", "log4j", "[0000-12-19 16:31:46,143] INFO a (k)\n[2016-12-19 16:31:46,143] INFO b (k)\n", 1),
    ("logs", "nginx-error", "0000/03/14 13:05:02 [error] 31#31: x\n2025/03/14 13:05:02 [error] 31#31: y\n", 1),
    (
        "metrics",
        "prometheus",
        json.dumps(
            {
                "status": "success",
                "data": {
                    "resultType": "matrix",
                    "result": [
                        {"metric": {"__name__": "up"}, "values": [[-6.2e16, "1"], [1e30, "1"], [1435781430.7, "1"]]}
                    ],
                },
            }
        ),
        2,
    ),
    ("metrics", "csv", f"timestamp,metric,value\n0000-01-01T00:00:00Z,a,1\n-62000000000000000,a,1\n{GOOD},a,2\n", 2),
    ("metrics", "grafana-csv", '"Time","x"\n0000-06-15 14:20:00,12\n2025-06-15 14:20:00,12\n', 1),
    (
        "alerts",
        "alertmanager",
        json.dumps(
            {
                "version": "4",
                "status": "firing",
                "alerts": [
                    {"status": "firing", "labels": {"alertname": "A"}, "startsAt": "0000-01-01T00:00:00Z"},
                    {"status": "firing", "labels": {"alertname": "B"}, "startsAt": "1850-01-01T00:00:00Z"},
                    {"status": "firing", "labels": {"alertname": "C"}, "startsAt": GOOD},
                ],
            }
        ),
        2,
    ),
    ("chat", "transcript", "[0000-06-15 14:23:10] alice: a\n[2025-06-15 14:23:10] bob: b\n", 1),
]


@pytest.mark.parametrize(("kind", "fmt", "text", "rejected"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_out_of_range_times_are_rejects(tmp_path: Path, kind: str, fmt: str, text: str, rejected: int) -> None:
    res = run(LoadRequest(kind=kind, format=fmt, path=str(write(tmp_path, "f.txt", text))))
    assert res.rejected == rejected, res.rejects.to_dicts()
    assert res.parsed + res.rejected == res.inputs
    assert res.frame.select(timeutil.in_range(pl.col("ts")).all()).item()
    res.frame.get_column("ts").to_list()  # Python datetimes: the step that crashed


def test_the_net_in_run_names_the_range(tmp_path: Path) -> None:
    """A loader that reads times its own way (alertmanager's Python parser) still cannot pass 1850 on."""
    res = run(LoadRequest(kind="alerts", format="alertmanager", path=str(write(tmp_path, "a.json", CASES[-2][2]))))
    reasons = res.rejects.get_column("reason").to_list()
    assert any(
        "1850-01-01T00:00:00 is outside the range pmkit reads (1900-01-01..2199-12-31 UTC)" in r for r in reasons
    )


@pytest.mark.parametrize(
    ("values", "fmt"),
    [
        (["0000-01-01T00:00:00Z", "10000-01-01T00:00:00Z", "1899-12-31T23:59:59Z", "2200-01-01T00:00:00Z"], None),
        (["-62000000000000000", "1e30", "99999999999999999999"], "epoch"),
    ],
)
def test_parse_ts_nulls_out_of_range(values: list[str], fmt: str | None) -> None:
    good = ["2025-06-15T14:00:00Z"] if fmt is None else ["1750000000"]
    ts, _ = timeutil.parse_ts(pl.Series(values + good), fmt)
    assert ts.null_count() == len(values)
    assert ts.to_list()[-1].year == 2025


def test_numeric_epochs_out_of_range() -> None:
    ts, _ = timeutil.parse_ts(pl.Series([-6.2e16, 1e30, 1.75e9]))
    assert ts.null_count() == 2
