"""Reading lines: numbering, blank lines, CRLF, BOM, gzip, odd bytes; JSON with comments."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmkit.errors import SourceError
from pmkit.sources.textio import lines_frame, read_json, read_lines


def test_lines_keep_numbers_and_blanks(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    p.write_bytes(b'\xef\xbb\xbffirst\r\n\r\nthird "q\n')
    df = read_lines(p)
    assert df["line_no"].to_list() == [1, 2, 3]
    assert df["line"].to_list() == ["first", "", 'third "q']


def test_gzip_is_transparent(tmp_path: Path) -> None:
    p = tmp_path / "a.log.gz"
    p.write_bytes(gzip.compress(b"x\ny\n", mtime=0))
    assert read_lines(p)["line"].to_list() == ["x", "y"]


@given(st.binary(max_size=300))
def test_any_bytes_split_like_python(data: bytes) -> None:
    """Lines end at LF, CRLF or a lone CR, as Python's universal newlines cut them (str.splitlines would also
    cut at VT, FF, FS, GS, RS, NEL, LS and PS, which log lines may hold as data)."""
    df = lines_frame(data)
    text = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="replace")
    expected = io.StringIO(text, newline=None).read().split("\n") if text else []
    if expected and expected[-1] == "":
        expected.pop()
    assert df["line"].to_list() == expected
    assert df["line_no"].to_list() == list(range(1, len(expected) + 1))


def test_json_with_comments_and_errors(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonc"
    p.write_text('/* leading comment */\n{"a": "not // a comment", "b": 1} // trailing\n')
    assert read_json(p) == {"a": "not // a comment", "b": 1}
    bad = tmp_path / "bad.json"
    bad.write_text('{"a": 1,\n "b": }')
    with pytest.raises(SourceError, match=r"bad.json:2: not valid JSON"):
        read_json(bad)
