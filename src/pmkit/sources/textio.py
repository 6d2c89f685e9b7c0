"""Reading raw files: lines with their numbers, JSON documents, gzip, BOMs, line endings, UTF-16.

Shared by every loader so that "nothing lost" starts with the same count of input
lines everywhere. Lines end at LF, CRLF or a lone CR (old Mac exports, some Windows
tools, terminal captures), mixed in one file if need be. UTF-16 and UTF-32 files with a
byte-order mark are decoded (Windows PowerShell's ``>`` writes UTF-16LE); UTF-8 BOMs are
dropped; bytes that are not UTF-8 become U+FFFD and the load report says so
(:func:`encoding_note`).
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
import re
import zlib
from itertools import accumulate
from pathlib import Path
from typing import Any

import polars as pl

from pmkit.errors import SourceError


def read_bytes(path: Path) -> bytes:
    """The file's bytes; ``.gz`` files are decompressed (rotated logs usually are)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if path.suffix == ".gz" or data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:  # bad header, cut short, corrupt deflate data
            raise SourceError(f"{path}: looks gzip-compressed but cannot be decompressed: {exc}") from None
    return to_utf8(data, path)


# byte-order marks of the encodings decoded to UTF-8 (longest first: UTF-32LE's starts like UTF-16LE's)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def bom_encoding(data: bytes) -> str | None:
    """The UTF-16/32 encoding a byte-order mark at the start of ``data`` names, or None."""
    return next((enc for bom, enc in _BOMS if data.startswith(bom)), None)


def to_utf8(data: bytes, path: Path) -> bytes:
    """``data`` as UTF-8: UTF-16/32 with a BOM decoded (a broken one is an error naming the encoding)."""
    enc = bom_encoding(data)
    if enc is None:
        return data
    bom = next(b for b, e in _BOMS if e == enc)
    try:
        return data[len(bom) :].decode(enc).encode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"{path}: starts with a {enc.upper()} byte-order mark but is not valid {enc.upper()} at byte "
            f"{exc.start + len(bom)}; re-save it as UTF-8"
        ) from None


def encoding_note(path: Path) -> str | None:
    """What the load report says about a file's encoding (from its first 64 KiB), or None for plain UTF-8."""
    try:
        with path.open("rb") as fh:
            start = fh.read(64 * 1024)
    except OSError:
        return None
    enc = bom_encoding(start)
    if enc is not None:
        return f"{path.name}: decoded from {enc.upper()} (byte-order mark)"
    if start[:2] == b"\x1f\x8b" or not start:
        return None
    try:
        start.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(start) - 4:  # not just a character cut at the 64 KiB boundary
            return (
                f"{path.name}: not UTF-8 (byte 0x{start[exc.start]:02x} at offset {exc.start}); such bytes are read "
                "as U+FFFD (re-save the file as UTF-8 to keep them)"
            )
    return None


def read_lines(path: Path) -> pl.DataFrame:
    """``line_no`` (1-based, UInt32) and ``line`` (String, no line ending) for every physical line.

    Blank lines stay (as empty strings) so line numbers match what an editor shows; a
    UTF-8 BOM at the start is dropped, ``\\r`` before ``\\n`` is dropped, bytes that
    are not UTF-8 are replaced (U+FFFD) rather than failing the file.
    """
    return lines_frame(read_bytes(path))


# Polars' CSV reader as a line splitter: one string column, on a separator byte (0x1F, the unit
# separator) that text never holds, no quoting; bad UTF-8 bytes become U+FFFD.
LINES_AS_CSV: dict[str, Any] = {
    "has_header": False,
    "separator": "\x1f",
    "quote_char": None,
    "new_columns": ["line"],
    "schema": {"line": pl.String},
    "encoding": "utf8-lossy",
}


_EOL = re.compile(r"\r\n|\r|\n")
_LAST_EOL = re.compile(r"(?:\r\n|\r|\n)\Z")


def lines_frame(data: bytes) -> pl.DataFrame:
    """Split bytes into the ``line_no``/``line`` frame of :func:`read_lines` (a leading BOM dropped)."""
    schema = {"line_no": pl.UInt32, "line": pl.String}
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data:
        return pl.DataFrame(schema=schema)
    if b"\x1f" not in data and b"\r" not in data.replace(b"\r\n", b""):  # no lone CR
        # fast path: polars' CSV reader with a separator that does not occur
        df = pl.read_csv(io.BytesIO(data), **LINES_AS_CSV).with_columns(pl.col("line").fill_null(""))
    else:
        text = data.decode("utf-8", errors="replace")
        text = _LAST_EOL.sub("", text)
        df = pl.Series("line", _EOL.split(text), dtype=pl.String).to_frame()
    return df.with_row_index("line_no", offset=1).with_columns(pl.col("line").str.strip_suffix("\r"))


def read_head_bytes(path: Path, n: int) -> bytes:
    """The first ``n`` bytes of a file as stored (b"" when it cannot be read: the reader says why later)."""
    try:
        with path.open("rb") as fh:
            return fh.read(n)
    except OSError:
        return b""


def line_endings(path: Path, chunk: int = 1 << 22) -> tuple[int, bool]:
    """``(lines, plain)`` of a file on disk, read in chunks (flat memory): how many physical lines
    :func:`read_lines` will count, and whether every line ends in LF or CRLF (no lone CR, no UTF-16/32
    byte-order mark), the files the fast line readers (polars' CSV and NDJSON readers) cut the same way."""
    n = cr = crlf = 0
    last, prev = b"\n", b""
    with path.open("rb") as fh:
        first = True
        while block := fh.read(chunk):
            if first and bom_encoding(block[:4]):
                return len(read_lines(path)), False
            first = False
            n += block.count(b"\n")
            if prev == b"\r" or b"\r" in block:  # most files hold no CR: one fast scan decides
                cr += block.count(b"\r")
                crlf += block.count(b"\r\n") + (prev == b"\r" and block[:1] == b"\n")
            prev = last = block[-1:]
    if cr == crlf:
        return n + (last != b"\n" and last != b""), True
    return len(read_lines(path)), False


def read_json(path: Path, *, allow_comments: bool = False) -> Any:
    """A whole-file JSON document; ``allow_comments`` strips leading ``/* */`` and ``//`` comments (.jsonc)."""
    return parse_json(read_bytes(path).decode("utf-8-sig", errors="replace"), path, allow_comments=allow_comments)


def read_text(path: Path) -> str:
    """The whole file as text (gzip, UTF-16/32 BOMs and a UTF-8 BOM handled; bad bytes read as U+FFFD)."""
    return read_bytes(path).decode("utf-8-sig", errors="replace")


def parse_json(text: str, path: Path, *, allow_comments: bool = False) -> Any:
    """:func:`read_json` on text already read from ``path`` (errors name the file and line)."""
    if allow_comments or path.suffix == ".jsonc":
        text = _strip_comments(text)
    try:
        return loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg} at column {exc.colno})") from None


MAX_JSON_DEPTH = 128
"""How deeply JSON may nest (arrays and objects inside each other) for pmkit to read it: serde_json's default.
Deeper input is refused before any parser sees it: polars and pyarrow crash the process (a native stack
overflow) on JSON nested some 900 and 100,000 levels deep, Python's json stops near 1,000 levels, and the
expressions that turn nested records into attrs grow with the depth."""

_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.S)
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def too_deep_at(text: str, limit: int = MAX_JSON_DEPTH) -> int | None:
    """The offset in JSON ``text`` of the bracket that nests deeper than ``limit`` levels, or None.

    Brackets inside strings do not count; the text need not be valid JSON (a truncated document is
    measured as far as it goes). Free for text with few brackets; else one pass over them.
    """
    if text.count("[") + text.count("{") <= limit:
        return None
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    if max(accumulate(map(_STEP.__getitem__, brackets)), default=0) <= limit:
        return None
    depth = 0
    for m in _JSON_TOKEN.finditer(text):
        step = _STEP.get(m.group())
        if step is not None:
            depth += step
            if depth > limit:
                return m.start()
    return None  # pragma: no cover - the count above found one


def loads(text: str) -> Any:
    """``json.loads``, refusing text nested deeper than :data:`MAX_JSON_DEPTH` with a
    :class:`json.JSONDecodeError` (``msg`` says so, ``lineno``/``colno`` say where) like any other bad JSON."""
    at = too_deep_at(text)
    if at is not None:
        raise json.JSONDecodeError(f"nested deeper than {MAX_JSON_DEPTH} levels", text, at)
    return json.loads(text)


def _strip_comments(text: str) -> str:
    """Remove ``/* ... */`` and ``// ...`` comments outside JSON strings."""
    out: list[str] = []
    i, n, in_str = 0, len(text), False
    while i < n:
        c = text[i]
        if in_str:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 1
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
            out.append(c)
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end - 1
        else:
            out.append(c)
        i += 1
    return "".join(out)


def head(path: Path, n: int = 20) -> str:
    """The first ``n`` lines of a file as text (for sniffing formats): its first 64 KiB only, decompressed if gzip."""
    try:
        with path.open("rb") as fh:
            gz = path.suffix == ".gz" or fh.read(2) == b"\x1f\x8b"
        with gzip.open(path, "rb") if gz else path.open("rb") as fh:
            data = fh.read(64 * 1024)
        enc = bom_encoding(data)
        if enc is not None:
            return "\n".join(data.decode(enc, errors="replace").lstrip("\ufeff").splitlines()[:n])
    except OSError as exc:  # gzip.BadGzipFile is an OSError
        raise SourceError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (EOFError, zlib.error) as exc:
        raise SourceError(f"{path}: looks gzip-compressed but cannot be decompressed: {exc}") from None
    return "\n".join(data.decode("utf-8-sig", errors="replace").splitlines()[:n])
