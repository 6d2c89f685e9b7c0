"""Windowed reads cut plain files in chunks: every chunk size gives textio's lines, numbered alike."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pmkit.sources import textio
from pmkit.sources.linescan import _chunk_lines, head_lines

CASES = {
    "lf": b"a 1\nbb 2\n\nccc 3\n",
    "no final newline": b"a 1\nbb 2\nlast",
    "crlf": b"a 1\r\nbb 2\r\n\r\nccc\r\n",
    "bom first": b"\xef\xbb\xbfa 1\nb 2\n",
    "bom inside": b"a 1\n\xef\xbb\xbfb 2\nc\n",
    "unit separator": b"a\x1fb\nc 2\n",
    "long line": b"x" * 300 + b"\nshort\n" + b"y" * 257 + b"\n",
    "quotes and commas": b'"a, "b\nc,d\n"\n',
    "utf-8": "é 1\n漢字 2\n".encode(),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("chunk", [1, 3, 7, 64, 1 << 20])
def test_chunks_are_textio_lines(tmp_path: Path, name: str, chunk: int) -> None:
    path = tmp_path / "a.log"
    path.write_bytes(CASES[name])
    want = textio.read_lines(path)
    got = pl.concat(list(_chunk_lines(path, chunk)))
    assert got.rows() == want.rows()
    assert got.schema == want.schema


@pytest.mark.parametrize("n", [1, 2, 10])
def test_head_lines(tmp_path: Path, n: int) -> None:
    path = tmp_path / "a.log"
    path.write_bytes(b"".join(b"line %d\n" % i for i in range(5)))
    assert head_lines(path, n).rows() == textio.read_lines(path).head(n).rows()
