"""Line-oriented log files beyond :mod:`pmkit.sources.textio`: lazy and streamed line frames, and
the small rules the line loaders share (blank lines, sniffing by share of lines, rejects in line order).

:func:`scan_lines` and :func:`stream_lines` give the ``line_no``/``line`` frame of
:func:`textio.read_lines` as a lazy query (the access-log loader runs on them), the second
one in batches for files larger than memory.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from pmkit.errors import SourceError
from pmkit.sources import textio

if TYPE_CHECKING:
    from polars._typing import EngineType

BLANK = ~pl.col("line").str.contains(r"\S")  # a line with nothing but blanks


def is_gzip(path: Path) -> bool:
    """Whether the file is gzip-compressed (a ``.gz`` name or the gzip magic bytes)."""
    if path.suffix == ".gz":
        return True
    try:
        with path.open("rb") as fh:
            return fh.read(2) == b"\x1f\x8b"
    except OSError as exc:
        raise SourceError(f"{path}: cannot read: {exc.strerror or exc}") from None


def scan_lines(path: Path) -> pl.LazyFrame:
    """``line_no``/``line`` of every physical line, as :func:`textio.read_lines` counts them, lazily.

    Plain files are scanned with polars' CSV reader on a separator byte (0x1F) that text
    never contains, the fastest reader for whole loads (it buffers the file, so use
    :func:`stream_lines` where memory matters); a line holding that byte makes the collect
    fail and :func:`collect_lines` falls back to :func:`textio.read_lines`. Gzip files,
    empty files and files with lone CR line endings or a UTF-16/32 byte-order mark (which
    the CSV reader would cut differently) are read with textio directly.
    """
    if is_gzip(path) or path.stat().st_size == 0 or not textio.line_endings(path)[1]:
        return textio.read_lines(path).lazy()  # gzip, empty, lone CRs or UTF-16: cut as textio cuts
    return _csv_lines(path)


def _csv_lines(path: Path) -> pl.LazyFrame:
    """:func:`scan_lines` of a plain file (LF or CRLF line ends), without checking that it is one."""
    return pl.scan_csv(path, **textio.LINES_AS_CSV, row_index_name="line_no", row_index_offset=1).with_columns(
        pl.col("line").fill_null("")
    )


def stream_lines(path: Path, batch_bytes: int = 1 << 20) -> pl.LazyFrame:
    """``line_no``/``line`` of every physical line as a lazy source that reads the file in batches.

    Lines are cut exactly as :func:`textio.read_lines` cuts them (each batch goes through
    :func:`textio.lines_frame`), gzip is decompressed as it is read, and memory holds a
    few batches at a time: the source for files larger than memory. (Polars' CSV scanner,
    even streamed, buffers the whole file; the engine reads a few batches ahead, so keep
    them small: 1 MiB batches kept a 177 MiB log's windowed scan at a 131 MiB peak.)
    """
    import gzip

    from polars.io.plugins import register_io_source

    def batches(data: bytes, offset: int) -> pl.DataFrame:
        if offset and data.startswith(b"\xef\xbb\xbf"):  # a BOM inside the file is text: keep it
            return textio.lines_frame(b"\n" + data).slice(1).with_columns(pl.col("line_no") + offset - 1)
        return textio.lines_frame(data).with_columns(pl.col("line_no") + offset)

    if not is_gzip(path) and textio.bom_encoding(textio.read_head_bytes(path, 4)):
        return textio.read_lines(path).lazy()  # UTF-16/32: decoded whole

    def source(
        with_columns: list[str] | None, predicate: pl.Expr | None, n_rows: int | None, batch_size: int | None
    ) -> Iterator[pl.DataFrame]:
        offset, rest, first = 0, b"", True
        opener = gzip.open if is_gzip(path) else open
        with opener(path, "rb") as fh:
            while True:
                chunk = fh.read(batch_bytes)
                data = rest + chunk
                if chunk:
                    cut = data.rfind(b"\n") + 1
                    if cut == 0:  # one line longer than a batch: keep reading
                        rest = data
                        continue
                    data, rest = data[:cut], data[cut:]
                if first:
                    data, first = data.removeprefix(b"\xef\xbb\xbf"), False
                if data:
                    df = batches(data, offset)
                    offset += df.height
                    if predicate is not None:
                        df = df.filter(predicate)
                    if with_columns is not None:
                        df = df.select(with_columns)
                    if n_rows is not None:
                        df = df.head(n_rows)
                        n_rows -= df.height
                    yield df
                    if n_rows == 0:
                        return
                if not chunk:
                    return

    return register_io_source(source, schema={"line_no": pl.UInt32, "line": pl.String}, explain_name="pmkit lines")


def windowed_lines(
    path: Path, cheap_ts: pl.Expr, window: tuple[dt.datetime, dt.datetime], margin: dt.timedelta | None = None
) -> tuple[pl.DataFrame, int]:
    """The lines of ``path`` whose cheap time (``cheap_ts`` over ``line``) is inside the window with its margin
    (``margin``, default :data:`pmkit.sources.window.MARGIN`) or unreadable
    (:func:`pmkit.sources.window.lazy_prefilter`), and how many lines were dropped as outside.

    A plain file (LF or CRLF line ends) is read :data:`WINDOW_CHUNK_BYTES` at a time, each chunk's lines
    prefiltered before the next is read, so memory follows a chunk and the lines kept, not the file (polars'
    CSV scanner maps and touches the whole file: a 1.5 GiB log's window then peaked at 1.6 GB); its line count
    comes from counting its line ends (:func:`textio.line_endings`, bytes only). Other files (gzip, lone CRs)
    are scanned whole and counted from the lines read."""
    from pmkit.sources.window import MARGIN, lazy_prefilter

    def kept_and_total(lines: pl.LazyFrame) -> tuple[pl.DataFrame, int]:
        kept = (
            lazy_prefilter(lines, cheap_ts, window, MARGIN if margin is None else margin)
            .filter(~pl.col("_outside"))
            .drop("_outside")
            .collect(engine="streaming")
        )
        return kept, int(lines.select(pl.len()).collect(engine="streaming").item())

    n_lines, plain = _plain_lines(path)
    if plain:  # read in chunks: memory follows a chunk and the lines kept, not the file
        prefilter = partial(
            lazy_prefilter, cheap_ts=cheap_ts, window=window, margin=MARGIN if margin is None else margin
        )
        parts, n_read = [], 0
        for chunk in _chunk_lines(path):
            n_read += chunk.height
            parts.append(prefilter(chunk.lazy()).filter(~pl.col("_outside")).drop("_outside").collect())
        kept = pl.concat(parts) if parts else textio.lines_frame(b"")
        return kept, (n_read if n_lines is None else n_lines) - kept.height
    try:
        kept, total = kept_and_total(scan_lines(path))
    except pl.exceptions.PolarsError:  # a 0x1F byte: read the lines as textio does
        kept, total = kept_and_total(textio.read_lines(path).lazy())
    return kept, total - kept.height


@dataclass
class Outside:
    """How many lines :func:`windowed_chunks` found outside the window (set when its iterator is exhausted)."""

    lines: int = 0


def windowed_chunks(
    path: Path,
    cheap_ts: pl.Expr,
    window: tuple[dt.datetime, dt.datetime],
    outside: Outside,
    margin: dt.timedelta | None = None,
) -> Iterator[pl.DataFrame]:
    """:func:`windowed_lines` one chunk at a time: the kept lines of each :data:`WINDOW_CHUNK_BYTES` of a
    plain file (chunks with none are skipped), so a caller that parses each before the next holds the parsed
    rows and one chunk, never all the window's raw lines (at 10,000,000 lines: 625,116 kept lines, 94 MB of
    text). ``outside.lines`` is added the lines dropped, counted as :func:`windowed_lines` counts them,
    once the iterator is exhausted. Other files (gzip, lone CRs) come as one frame."""
    from pmkit.sources.window import MARGIN, lazy_prefilter

    n_lines, plain = _plain_lines(path)
    if not plain:
        kept, n = windowed_lines(path, cheap_ts, window, margin)
        outside.lines += n
        if kept.height:
            yield kept
        return
    pad = MARGIN if margin is None else margin
    n_kept = n_read = 0
    for chunk in _chunk_lines(path):
        n_read += chunk.height
        kept = (
            lazy_prefilter(chunk.lazy(), cheap_ts, window, pad).filter(~pl.col("_outside")).drop("_outside").collect()
        )
        n_kept += kept.height
        if kept.height:
            yield kept
    outside.lines += (n_read if n_lines is None else n_lines) - n_kept


def _plain_lines(path: Path) -> tuple[int | None, bool]:
    """``(lines, plain)`` as :func:`textio.line_endings` gives them, except that a file with no CR byte and no
    UTF-16/32 byte-order mark (LF line ends only: plain) gives None lines, to count from the chunks as they are
    read (:func:`_chunk_lines` cuts them as :func:`textio.read_lines` does) instead of a pass of its own."""
    if is_gzip(path) or path.stat().st_size == 0:
        return 0, False
    if not _holds_cr(path) and not textio.bom_encoding(textio.read_head_bytes(path, 4)):
        return None, True
    return textio.line_endings(path)


_MAP_BYTES = 64 << 20  # a multiple of every platform's mmap granularity


def _holds_cr(path: Path) -> bool:
    """Whether the file holds a CR byte: a memchr over the file mapped 64 MiB at a time (0.16 CPU-s for
    1.4 GiB, where :func:`textio.line_endings`' count of every line end took 1.1 s; mapped whole, the file's
    pages counted in the peak RSS); True when it cannot be mapped."""
    import mmap

    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            for offset in range(0, size, _MAP_BYTES):
                length = min(_MAP_BYTES, size - offset)
                with mmap.mmap(fh.fileno(), length, offset=offset, access=mmap.ACCESS_READ) as mm:
                    if mm.find(b"\r") >= 0:
                        return True
        return False
    except (OSError, ValueError):
        return True


def head_lines(path: Path, n: int) -> pl.DataFrame:
    """The first ``n`` lines of ``path`` as :func:`textio.read_lines` gives them, reading only as many
    chunks as they take (polars' CSV scanner, even with ``head``, maps and touches the whole file)."""
    if is_gzip(path) or path.stat().st_size == 0 or textio.bom_encoding(textio.read_head_bytes(path, 4)):
        return scan_lines(path).head(n).collect()
    parts, got = [], 0
    for chunk in _chunk_lines(path, 1 << 20):
        parts.append(chunk.head(n - got))
        got += parts[-1].height
        if got >= n:
            break
    return pl.concat(parts) if parts else textio.lines_frame(b"")


# 8 MiB: at 10M lines (1.4 GiB) 4.6 CPU-s and a 269 MB peak (2 MiB: 5.4 CPU-s, 214 MB; polars' CSV scan of the
# whole file: 3.3 CPU-s, 478 MB); the chunk's share of the peak does not grow with the file
WINDOW_CHUNK_BYTES = 8 << 20


def _chunk_lines(path: Path, chunk_bytes: int | None = None) -> Iterator[pl.DataFrame]:
    """``line_no``/``line`` frames of a plain file (LF or CRLF line ends), ``chunk_bytes`` of it at a time, cut
    at line ends and numbered as :func:`textio.read_lines` numbers them (polars' CSV reader on each chunk)."""
    offset, rest = 0, b""
    size = chunk_bytes or WINDOW_CHUNK_BYTES
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(size)
            data = rest + chunk
            if chunk:
                cut = data.rfind(b"\n") + 1
                if cut == 0:  # one line longer than a chunk: keep reading
                    rest = data
                    continue
                data, rest = data[:cut], data[cut:]
            if data:
                if offset and data.startswith(b"\xef\xbb\xbf"):  # a BOM inside the file is text: keep it
                    df = textio.lines_frame(b"\n" + data).slice(1).with_columns(pl.col("line_no") - 1)
                elif data.startswith(b"\xef\xbb\xbf") or b"\x1f" in data or b"\r" in data:
                    df = textio.lines_frame(data)
                else:  # the common case, without lines_frame's copy of every line (its CR strip)
                    df = pl.read_csv(data, **textio.LINES_AS_CSV).select(
                        pl.int_range(1, pl.len() + 1, dtype=pl.UInt32).alias("line_no"), pl.col("line").fill_null("")
                    )
                yield df.with_columns(pl.col("line_no") + offset)
                offset += df.height
            if not chunk:
                return


def collect_lines(
    files: Sequence[Path],
    build: Callable[[pl.LazyFrame, Path], pl.LazyFrame],
    *,
    streaming: bool = True,
    lines_of: Callable[[Path], pl.LazyFrame] | None = None,
) -> pl.DataFrame:
    """Run ``build(lines, path)`` over every file as one lazy query (regexes compiled once); ``lines_of``
    gives a file's lines when they were read already (the window's prefilter)."""
    engine: EngineType = "streaming" if streaming else "auto"

    def plan(eager: bool) -> pl.LazyFrame:
        parts = [
            build(lines_of(f) if lines_of else textio.read_lines(f).lazy() if eager else scan_lines(f), f)
            for f in files
        ]
        return parts[0] if len(parts) == 1 else pl.concat(parts, how="vertical")

    try:
        return plan(False).collect(engine=engine)
    except pl.exceptions.PolarsError:
        # a 0x1F byte (or anything else the CSV scanner refuses): read the lines as textio does
        return plan(True).collect(engine=engine)


def share(head: str, pred: Callable[[str], bool]) -> float:
    """The share of the non-blank lines of ``head`` for which ``pred`` holds (0 when there are none)."""
    lines = [ln for ln in head.splitlines() if ln.strip()]
    return sum(1 for ln in lines if pred(ln)) / len(lines) if lines else 0.0


def in_line_order(rejects: pl.DataFrame) -> pl.DataFrame:
    """Rejects sorted by the line number at the end of their ``origin`` (``path:line``), ties kept in order."""
    return rejects.sort(pl.col("origin").str.extract(r":([0-9]+)$", 1).cast(pl.Int64), maintain_order=True)
