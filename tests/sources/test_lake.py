"""``kind: logs, format: sql``: the incident window of a log lake, pushed down to the engine (ibis).

A hive-partitioned parquet lake (``date=.../hour=.../part-N.parquet``, three hours of three services) is
generated per module. DuckDB (embedded) runs the window and services predicates; the test checks that the
rows pmkit receives are exactly the lake's rows inside the window (computed from the generated frame by
polars), that the load report states the SQL and the row count, and that an incident with this source
loads and renders. Spark in local mode (pyspark + java) runs the same query over the same files and must
return the same rows; it skips with the reason where pyspark or java is absent.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from pmkit.errors import MissingExtraError, OutsideFolderError, SourceError
from pmkit.sources import lake
from pmkit.sources.base import LoadRequest, LoadResult, run

pytest.importorskip("ibis", reason="format sql needs the 'lake' extra (pip install 'pmkit[lake]')")
pytest.importorskip("duckdb", reason="format sql needs the 'lake' extra (pip install 'pmkit[lake]')")

UTC = dt.UTC
DAY = dt.datetime(2025, 9, 2, tzinfo=UTC)
WINDOW = (dt.datetime(2025, 9, 2, 14, 0, tzinfo=UTC), dt.datetime(2025, 9, 2, 14, 30, tzinfo=UTC))
SERVICES = ("checkout", "payments", "search")


def lake_frame() -> pl.DataFrame:
    """13:00..16:00, one row per service every 7 s; payments errors from 14:05 to 14:20."""
    n = 3 * 3600 // 7
    ts = pl.datetime_range(
        DAY + dt.timedelta(hours=13), DAY + dt.timedelta(hours=16), dt.timedelta(seconds=7), eager=True, time_zone="UTC"
    ).head(n)
    frames = []
    for k, svc in enumerate(SERVICES):
        t = ts + dt.timedelta(milliseconds=100 * k)
        bad = (t >= DAY + dt.timedelta(hours=14, minutes=5)) & (t < DAY + dt.timedelta(hours=14, minutes=20))
        frames.append(
            pl.DataFrame(
                {
                    "ts": t,
                    "service": [svc] * n,
                    "level": pl.Series(["info"] * n).zip_with(~(bad & (svc == "payments")), pl.Series(["error"] * n)),
                    "msg": [f"{svc} request {i}" for i in range(n)],
                    "user_id": [f"u{i % 97}" for i in range(n)],
                    "latency_ms": [float(i % 400) for i in range(n)],
                }
            )
        )
    return pl.concat(frames).sort("ts")


def write_lake(frame: pl.DataFrame, root: Path) -> None:
    """Hive partitions ``date=YYYY-MM-DD/hour=HH``, two files per partition (row groups of 500 rows)."""
    parts = frame.with_columns(
        date=pl.col("ts").dt.strftime("%Y-%m-%d"), hour=pl.col("ts").dt.hour(), half=pl.col("ts").dt.minute() // 30
    )
    for (date, hour, half), group in parts.group_by(["date", "hour", "half"], maintain_order=True):
        d = root / f"date={date}" / f"hour={hour:02d}"
        d.mkdir(parents=True, exist_ok=True)
        group.drop("date", "hour", "half").write_parquet(d / f"part-{half}.parquet", row_group_size=500)


@pytest.fixture(scope="module")
def lake_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pl.DataFrame]:
    root = tmp_path_factory.mktemp("inc")
    frame = lake_frame()
    write_lake(frame, root / "lake")
    return root, frame


def inside(frame: pl.DataFrame, services: tuple[str, ...] = ()) -> pl.DataFrame:
    out = frame.filter(pl.col("ts").is_between(*WINDOW, closed="both"))
    return out.filter(pl.col("service").is_in(list(services))) if services else out


def load(root: Path, **kw: object) -> LoadResult:
    args: dict[str, object] = {
        "kind": "logs",
        "format": "sql",
        "path": str(root / "lake/**/*.parquet"),
        "root": str(root),
    }
    args.update(kw)
    return run(LoadRequest(**args))  # type: ignore[arg-type]


def test_window_and_services_pushed_down(lake_dir: tuple[Path, pl.DataFrame]) -> None:
    root, frame = lake_dir
    want = inside(frame, ("payments",))
    res = load(root, window=WINDOW, options={"services": ["payments"]})
    # pmkit received exactly the lake's rows inside the window for that service: nothing outside reached it
    assert res.inputs == res.parsed == res.frame.height == want.height > 0
    assert res.outside == 0 and res.rejected == 0
    assert res.frame.get_column("ts").to_list() == want.get_column("ts").to_list()
    assert res.frame.get_column("message").to_list() == want.get_column("msg").to_list()
    assert set(res.frame.get_column("service")) == {"payments"}
    assert res.frame.filter(pl.col("level") == "error").height == want.filter(pl.col("level") == "error").height
    attrs = json.loads(res.frame.get_column("attrs")[0])
    assert attrs["user_id"] == want.get_column("user_id")[0] and attrs["hour"] == 14 and attrs["date"] == "2025-09-02"
    origin = res.frame.get_column("origin")[0]
    assert "date=2025-09-02/hour=14/part-0.parquet#" in origin
    notes = " | ".join(res.notes)
    assert "query ran on duckdb: SELECT" in notes and "READ_PARQUET([6 files: '" in notes
    assert "MAKE_TIMESTAMPTZ(2025, 9, 2, 14, 0, 0.0, 'UTC')" in notes and "IN ('payments')" in notes
    assert f"the engine returned {want.height:,} rows" in notes


def test_whole_lake_without_window(lake_dir: tuple[Path, pl.DataFrame]) -> None:
    root, frame = lake_dir
    res = load(root)
    assert res.inputs == res.frame.height == frame.height
    assert "WHERE" not in next(n for n in res.notes if n.startswith("query ran"))


def test_ndjson_and_epoch_columns(tmp_path: Path, lake_dir: tuple[Path, pl.DataFrame]) -> None:
    _, frame = lake_dir
    nd = tmp_path / "nd"
    nd.mkdir()
    frame.with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")).write_ndjson(nd / "logs.ndjson")
    res = run(LoadRequest(kind="logs", format="sql", path=str(nd / "logs.ndjson"), window=WINDOW, root=str(tmp_path)))
    assert res.frame.height == inside(frame).height
    assert res.frame.get_column("origin")[0].endswith("logs.ndjson#1")
    ep = tmp_path / "ep"
    ep.mkdir()
    frame.rename({"ts": "when"}).with_columns(pl.col("when").dt.epoch("ms")).write_parquet(ep / "x.parquet")
    req = {"kind": "logs", "format": "sql", "path": str(ep / "x.parquet"), "window": WINDOW, "root": str(tmp_path)}
    with pytest.raises(SourceError, match="set ts_format"):
        run(LoadRequest(**req, fields={"ts": "when"}))  # type: ignore[arg-type]
    res = run(LoadRequest(**req, fields={"ts": "when"}, ts_format="epoch_ms"))  # type: ignore[arg-type]
    assert res.frame.get_column("ts").to_list() == inside(frame).get_column("ts").to_list()


def test_clear_errors(lake_dir: tuple[Path, pl.DataFrame], tmp_path: Path) -> None:
    root, _ = lake_dir
    with pytest.raises(SourceError, match="no time column: looked for when"):
        load(root, window=WINDOW, fields={"ts": "when"})
    with pytest.raises(SourceError, match="no service column"):
        load(root, window=WINDOW, options={"services": ["x"]}, fields={"service": "svc"})
    with pytest.raises(OutsideFolderError, match="allow_outside"):
        run(LoadRequest(kind="logs", format="sql", path="s3://bucket/logs/*.parquet", root=str(root)))
    with pytest.raises(SourceError, match=r"options.table: required"):
        run(LoadRequest(kind="logs", format="sql", path="duckdb://", root=str(root), allow_outside=True))
    (tmp_path / "junk.parquet").write_text("not parquet")
    with pytest.raises(SourceError, match=r"junk\.parquet"):
        run(LoadRequest(kind="logs", format="sql", path=str(tmp_path / "junk.parquet"), root=str(tmp_path)))


def test_engine_by_url(tmp_path: Path, lake_dir: tuple[Path, pl.DataFrame]) -> None:
    """A connection URL and a table: the same query on that engine (here a DuckDB database file)."""
    import duckdb

    _, frame = lake_dir
    db = tmp_path / "lake.duckdb"
    con = duckdb.connect(str(db))
    con.register("frame", frame.to_arrow())
    con.execute("CREATE TABLE logs AS SELECT * FROM frame")
    con.close()
    res = run(
        LoadRequest(
            kind="logs",
            format="sql",
            path=f"duckdb://{db}",
            options={"table": "logs", "services": "checkout, search"},
            window=WINDOW,
            root=str(tmp_path),
            allow_outside=True,
        )
    )
    assert res.frame.height == inside(frame, ("checkout", "search")).height
    assert res.frame.get_column("origin")[0] == f"duckdb://{db}/logs#1"


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lake, "_absent", lambda mod: mod == "ibis")
    with pytest.raises(MissingExtraError, match=r"pip install 'pmkit\[lake\]'.*ibis-framework"):
        lake.lake_extra()


def test_incident_loads_and_renders(
    lake_dir: tuple[Path, pl.DataFrame], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, frame = lake_dir
    inc = tmp_path / "INC-LAKE-1"
    shutil.copytree(root / "lake", inc / "lake")
    (inc / "incident.yaml").write_text(
        "id: INC-LAKE-1\ntitle: Payments errors\nservices: [payments]\n"
        "window: {start: '2025-09-02T14:00:00Z', end: '2025-09-02T14:30:00Z'}\n"
        "sources:\n  - name: lake\n    kind: logs\n    format: sql\n    path: lake/**/*.parquet\n"
        "    options: {services: [payments, checkout]}\n",
        encoding="utf-8",
    )
    from pmkit.incident import Incident

    incident = Incident.load(inc, cache=False)
    assert incident.events.height == inside(frame, ("payments", "checkout")).height
    row = incident.report.row(0, named=True)
    assert row["format"] == "sql" and row["unit"] == "rows" and "query ran on duckdb" in row["notes"]
    assert row["query"].startswith("duckdb: SELECT") and "IN ('payments', 'checkout')" in row["query"]
    # the query survives the load cache (a cached load states it too)
    monkeypatch.setenv("PMKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PMKIT_CACHE_MAX_BYTES", str(2**30))
    first, again = (Incident.load(inc).report.row(0, named=True)["query"] for _ in range(2))
    assert first == again == row["query"]
    assert any((tmp_path / "cache").iterdir())
    pytest.importorskip("papermill", reason="rendering needs the render extra")
    from pmkit.report.render import render

    [res] = render([inc], tmp_path / "out", to=("md",), progress=False)
    assert res.ok, res.error
    md = (tmp_path / "out" / "INC-LAKE-1" / "postmortem.md").read_text(encoding="utf-8")
    n = inside(frame, ("payments", "checkout")).height
    assert f"| lake | logs | sql | {n:,} rows | 0 |" in md
    # the evidence section states the query the engine ran (paths relative to the folder) and its rows
    evidence = md.split("### Evidence loaded", 1)[1]
    line = next(ln for ln in evidence.splitlines() if ln.startswith("Source lake:"))
    assert f"what this query returned ({n:,} rows, {n:,} parsed): `duckdb: SELECT " in line
    assert "READ_PARQUET([6 files: 'lake/date=2025-09-02/hour=13/part-0.parquet', ...]" in line
    assert "MAKE_TIMESTAMPTZ(2025, 9, 2, 14, 0, 0.0, 'UTC')" in line and "IN ('payments', 'checkout')" in line
    assert str(inc) not in md


# ------------------------------------------------------------------------------------ Spark, local mode


@pytest.fixture(scope="module")
def spark() -> object:
    pytest.importorskip("pyspark", reason="pyspark is not installed (.ci/spark.sh installs it)")
    if shutil.which("java") is None:
        pytest.skip("java is not installed (apt-get install openjdk-17-jre-headless; .ci/spark.sh does it)")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .appName("pmkit-lake-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    yield session
    session.stop()


def test_spark_returns_the_same_rows(spark: object, lake_dir: tuple[Path, pl.DataFrame]) -> None:
    """``path: pyspark://`` with ``options.files``: Spark (local mode) reads the same lake; same events."""
    root, _ = lake_dir
    opts = {"services": ["payments"]}
    duck = load(root, window=WINDOW, options=opts)
    on_spark = run(
        LoadRequest(
            kind="logs",
            format="sql",
            path="pyspark://",
            options={**opts, "files": "lake"},
            window=WINDOW,
            root=str(root),
            allow_outside=True,
        )
    )
    assert on_spark.inputs == duck.inputs > 0 and on_spark.rejected == 0
    cols = ["ts", "service", "level", "message"]
    assert on_spark.frame.select(cols).sort(cols).equals(duck.frame.select(cols).sort(cols))
    notes = " | ".join(on_spark.notes)
    assert "query ran on pyspark: SELECT" in notes and "'payments'" in notes
