"""``sink``: a source streamed into a parquet file gives what ``run`` gives, checked the same way."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pmkit.errors import SourceError
from pmkit.sources.base import LoadRequest, run, sink

LINE = (
    '203.0.113.9 - alice [14/Mar/2025:14:05:02 +0100] "GET /api/v1/payments?id=7 HTTP/1.1" 502 173 '
    '"https://shop.example.com/cart" "Mozilla/5.0 \\"Bot\\" v1" rt=0.085 uid=cus_{n}'
)


def _same(req: LoadRequest, out: Path) -> None:
    streamed = sink(req, out)
    loaded = run(req)
    assert_frame_equal(pl.read_parquet(out), loaded.frame)
    assert_frame_equal(streamed.rejects, loaded.rejects)
    assert (streamed.rows, streamed.inputs, streamed.parsed, streamed.rejected) == (
        loaded.frame.height,
        loaded.inputs,
        loaded.parsed,
        loaded.rejected,
    )
    assert streamed.notes == loaded.notes
    assert not list(out.parent.glob(".*partial")), "the partial file is left behind"


@pytest.mark.parametrize("fmt", ["combined", "common"])
def test_access_log_streamed_equals_loaded(tmp_path: Path, fmt: str) -> None:
    lines = [LINE.format(n=i) for i in range(50)]
    lines[7] = lines[7][:40]  # cut short: a reject
    lines[9] = ""
    lines[11] = '10.0.0.1, 10.0.0.2 - - [14/Mar/2025:13:05:02 +0000] "GET / HTTP/1.1" 200 1 "-" "x\x01y"'
    path = tmp_path / "access.log"
    path.write_text("\n".join(lines) + "\n")
    _same(LoadRequest(kind="logs", format=fmt, path=str(path), service="payments"), tmp_path / "out" / "e.parquet")


def test_format_sniffed_and_said(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_text(LINE.format(n=1) + "\n")
    res = sink(LoadRequest(kind="logs", format="", path=str(path)), tmp_path / "e.parquet")
    assert res.format == "combined" and "sniffed 'combined'" in res.notes[0]


def test_key_first_seen_after_the_sample_is_kept(tmp_path: Path) -> None:
    """Keys come from the first 10,000 lines; one first used later makes the load run again with it."""
    lines = [LINE.format(n=i) for i in range(10_001)]
    lines[-1] += " region=eu-west-1"
    path = tmp_path / "access.log"
    path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "e.parquet"
    sink(LoadRequest(kind="logs", format="combined", path=str(path)), out)
    last = pl.read_parquet(out).get_column("attrs")[-1]
    assert '"region":"eu-west-1"' in last


def test_unit_separator_byte_falls_back(tmp_path: Path) -> None:
    """A 0x1F byte makes the CSV scanner refuse the file: the lines are read another way, nothing lost."""
    path = tmp_path / "access.log"
    path.write_bytes((LINE.format(n=1) + "\n" + LINE.format(n=2).replace("Bot", "B\x1fot") + "\n").encode())
    _same(LoadRequest(kind="logs", format="combined", path=str(path)), tmp_path / "e.parquet")


def test_loader_without_a_lazy_form_is_loaded_then_written(tmp_path: Path) -> None:
    path = tmp_path / "app.jsonl"
    path.write_text('{"ts":"2025-03-14T13:05:02Z","level":"warn","msg":"slow"}\nnot json\n')
    _same(LoadRequest(kind="logs", format="jsonl", path=str(path)), tmp_path / "e.parquet")


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"nope\.log: no such file"):
        sink(LoadRequest(kind="logs", format="combined", path=str(tmp_path / "nope.log")), tmp_path / "e.parquet")
    assert not (tmp_path / "e.parquet").exists()
