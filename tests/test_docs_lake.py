"""docs/lake.md's examples work as shown.

Every ```yaml block is a whole incident.yaml that validates with the spec and the format registry; the ones
that read local files load: the test writes the files their sources name (a combined access log, a
hive-partitioned parquet lake) with requests inside and outside the window, and checks the load keeps
exactly the requests inside. Every ``pmkit`` command of a ```sh block parses with pmkit's own CLI parser, and
every ``python bench/...`` command in the text names options that script accepts.
"""

from __future__ import annotations

import datetime as dt
import re
import shlex
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml

from pmkit import spec as spec_mod
from pmkit.cli import build_parser
from pmkit.sources import registry

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "lake.md"


def blocks(lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", DOC.read_text(encoding="utf-8"), flags=re.S | re.M)


def test_doc_has_its_examples() -> None:
    assert len(blocks("yaml")) >= 4 and blocks("sh")
    text = DOC.read_text(encoding="utf-8")
    assert text.startswith("# When your evidence outgrows one machine")
    assert "LAKE100M" not in text and "TODO" not in text


@pytest.mark.parametrize("n", range(len(blocks("yaml"))))
def test_yaml_examples_validate(n: int) -> None:
    data = yaml.safe_load(blocks("yaml")[n])
    spec = spec_mod.parse_spec(data, f"docs/lake.md yaml block {n + 1}", checks=(registry.check_formats,))
    assert spec.sources


def _window(data: dict[str, object]) -> tuple[dt.datetime, dt.datetime]:
    w = data["window"]
    assert isinstance(w, dict)
    return tuple(dt.datetime.fromisoformat(str(w[k]).replace("Z", "+00:00")) for k in ("start", "end"))  # type: ignore[return-value]


def _requests(window: tuple[dt.datetime, dt.datetime]) -> pl.DataFrame:
    """One request a minute from an hour before the window to an hour after it."""
    start = window[0] - dt.timedelta(hours=1)
    ts = pl.datetime_range(start, window[1] + dt.timedelta(hours=1), dt.timedelta(minutes=1), eager=True)
    n = ts.len()
    return pl.DataFrame(
        {
            "ts": ts.dt.convert_time_zone("UTC"),
            "service": ["edge"] * n,
            "method": ["GET"] * n,
            "path": [f"/api/v1/items/{i}" for i in range(n)],
            "status": [500 if i % 3 == 0 else 200 for i in range(n)],
        }
    )


def _write(fmt: str, path: str, folder: Path, rows: pl.DataFrame) -> None:
    if fmt == "combined":
        lines = rows.select(
            pl.format(
                '10.0.0.1 - - [{}] "{} {} HTTP/1.1" {} 512 "-" "curl/8.5.0"',
                pl.col("ts").dt.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "method",
                "path",
                "status",
            )
        ).to_series()
        (folder / path).write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif fmt == "sql":
        base = folder / path.split("*", 1)[0]
        parts = rows.with_columns(date=pl.col("ts").dt.strftime("%Y-%m-%d"), hour=pl.col("ts").dt.hour())
        for (date, hour), group in parts.group_by(["date", "hour"], maintain_order=True):
            d = base / f"date={date}" / f"hour={hour:02d}"
            d.mkdir(parents=True, exist_ok=True)
            group.drop("date", "hour").write_parquet(d / "part-00000.parquet")
    else:
        raise AssertionError(f"docs/lake.md shows a local {fmt} source: teach this test to write one")


@pytest.mark.parametrize("n", range(len(blocks("yaml"))))
def test_local_examples_load_the_window(n: int, tmp_path: Path) -> None:
    data = yaml.safe_load(blocks("yaml")[n])
    local = [s for s in data["sources"] if not s.get("allow_outside")]
    if not local:
        pytest.skip("reads outside the folder (s3://, an engine URL): validated above, not loaded")
    if any(s["format"] == "sql" for s in local):
        pytest.importorskip("duckdb", reason="format sql needs the 'lake' extra")
        pytest.importorskip("ibis", reason="format sql needs the 'lake' extra")
    from pmkit.incident import Incident

    window = _window(data)
    rows = _requests(window)
    folder = tmp_path / data["id"]
    folder.mkdir()
    (folder / "incident.yaml").write_text(blocks("yaml")[n], encoding="utf-8")
    for src in local:
        _write(src["format"], src["path"], folder, rows)
    inc = Incident.load(folder, cache=False)
    want = rows.filter(pl.col("ts").is_between(*window, closed="both")).height
    assert inc.report.get_column("rows").to_list() == [want] * len(local) and want > 0
    assert inc.report.get_column("rejected").sum() == 0
    assert inc.events.get_column("ts").min() == window[0] and inc.events.get_column("ts").max() == window[1]
    for row in inc.report.iter_rows(named=True):
        if row["format"] == "sql":  # the load report states the query it ran and the rows it returned
            assert row["query"].startswith("duckdb: SELECT") and " WHERE " in row["query"]
            assert f"the engine returned {want:,} rows" in row["notes"]


def test_sh_commands_parse() -> None:
    commands = [ln.strip() for b in blocks("sh") for ln in b.splitlines() if ln.strip().startswith("pmkit ")]
    assert commands
    parser = build_parser()
    for cmd in commands:
        args = parser.parse_args(shlex.split(cmd)[1:])
        assert callable(args.func), cmd


def test_bench_commands_name_real_options() -> None:
    text = DOC.read_text(encoding="utf-8")
    found = re.findall(r"`python (bench/\w+\.py)([^`]*)`", text)
    assert found
    for script, rest in found:
        helps = subprocess.run(
            [sys.executable, str(ROOT / script), "--help"], capture_output=True, text=True, check=True, cwd=ROOT
        ).stdout
        for option in re.findall(r"--[a-z][a-z-]*", rest):
            assert option in helps, f"{script} has no {option}"
