"""Tables in text files: CSV blocks read into string rows, and time columns read into UTC times.

A toolkit for the loaders that read delimited text (metrics ``csv`` and ``grafana-csv``, deploys
``csv``): it imports no loader. :func:`read_csv_blocks` reads a file (gzip, BOM, CRLF, an Excel
``sep=X`` first line, several header blocks) into :class:`CsvBlock` s whose cells are all strings,
with each row's line number and text kept for origins and rejects; rows whose field count differs
from the header are rejects already. :func:`parse_time_column` reads a column of times with
:func:`pmkit.timeutil.parse_ts` rules, tolerating a few bad cells in an epoch column.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pmkit.errors import SourceError
from pmkit.sources import textio
from pmkit.sources.base import origin_expr, rejects_frame
from pmkit.timeutil import TsGuess, parse_ts

__all__ = [
    "LINE",
    "LOG_CSV_NAMES",
    "RAW",
    "CsvBlock",
    "first_content_line",
    "header_names",
    "looks_like_log_csv",
    "parse_time_column",
    "read_csv_blocks",
]

LINE = "__pmkit_line"  # column of a CsvBlock's rows: 1-based line of the row's first physical line
RAW = "__pmkit_raw"  # column of a CsvBlock's rows: the row's text
_SEPARATORS = (",", ";", "\t", "|")
_QUOTED = r'"(?:[^"]|"")*"'


def parse_time_column(
    values: pl.Series, ts_format: str | None, timezone: str | None
) -> tuple[pl.Series, TsGuess | None]:
    """:func:`pmkit.timeutil.parse_ts`, except that a column whose non-empty values are mostly numbers is read
    as epochs (unit by magnitude) even when a few cells are not: one bad cell must reject its row, not make
    the whole column unreadable."""
    if values.dtype == pl.String and ts_format is None:
        sample = values.drop_nulls().head(200)
        numeric = sample.str.strip_chars().str.contains(r"^-?[0-9]+(\.[0-9]+)?$").sum()
        if sample.len() and numeric < sample.len() and numeric / sample.len() > 0.5:
            ts, _ = parse_ts(values.str.strip_chars(), "epoch_auto", timezone)
            return ts, TsGuess("epoch_auto", False, int(numeric), sample.len())
    return parse_ts(values, ts_format, timezone)


def first_content_line(head: str) -> str:
    """The first line of ``head`` that is neither blank nor an Excel ``sep=X`` line ("" when none is)."""
    for line in head.lstrip("\ufeff").splitlines():
        if line.strip() and not re.fullmatch(r"\s*sep=.\s*", line):
            return line
    return ""


@dataclass(frozen=True)
class CsvBlock:
    """One header and its data rows, every cell a string.

    ``rows`` has the (deduplicated) ``columns`` plus ``__pmkit_line`` (1-based line of the row's
    first physical line) and ``__pmkit_raw`` (the row's text); ``bad`` holds the rows whose field
    count differs from the header, already as rejects; ``header_names`` keeps the names as written.
    """

    path: Path
    header_line: int
    columns: list[str]
    header_names: list[str]
    rows: pl.DataFrame
    bad: pl.DataFrame
    separator: str

    @property
    def inputs(self) -> int:
        return self.rows.height + self.bad.height


def _pick_separator(header: str) -> str:
    unquoted = re.sub(_QUOTED, "", header)
    counts = {s: unquoted.count(s) for s in _SEPARATORS}
    best = max(_SEPARATORS, key=lambda s: counts[s])
    return best if counts[best] else ","


def _split_header(line: str, sep: str, path: Path) -> list[str]:
    try:
        fields = next(csv.reader([line], delimiter=sep), [])
    except csv.Error as exc:
        raise SourceError(f"{path}: cannot read the CSV header: {exc}") from None
    return [f.strip() for f in fields]


def _dedupe(names: list[str]) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for i, n in enumerate(names):
        base = n or f"column_{i + 1}"
        cand, k = base, 2
        while cand in seen or cand in (LINE, RAW):
            cand, k = f"{base}_{k}", k + 1
        seen.add(cand)
        out.append(cand)
    return out


def _parse_rows(data: pl.DataFrame, names: list[str], sep: str, path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split data lines (``line_no``, ``line``; no blanks) into string columns; (rows, bad-field-count rejects)."""
    schema = dict.fromkeys(names, pl.String)
    empty_rows = pl.DataFrame(schema={**schema, LINE: pl.UInt32, RAW: pl.String})
    if data.height == 0:
        return empty_rows, rejects_frame([], [], [])
    text = data.get_column("line").str.join("\n").item()
    df: pl.DataFrame | None
    try:
        df = pl.read_csv(
            io.BytesIO(text.encode("utf-8")),
            has_header=False,
            schema=schema,
            separator=sep,
            quote_char='"',
            truncate_ragged_lines=True,
            encoding="utf8-lossy",
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError:
        df = None
    n = len(names)
    if df is not None and df.height == data.height:
        df = df.with_columns(data.get_column("line_no").cast(pl.UInt32).alias(LINE), data.get_column("line").alias(RAW))
        df = df.with_columns((pl.col(RAW).str.count_matches(sep, literal=True) + 1).alias("__nf"))
        quoted = df.get_column("__nf").ne(n) & df.get_column(RAW).str.contains('"', literal=True)
        if quoted.any():  # separators inside quoted fields do not count
            recount = df.filter(quoted).select(
                pl.col(RAW).str.replace_all(_QUOTED, "").str.count_matches(sep, literal=True) + 1
            )
            df = df.with_columns(df.get_column("__nf").scatter(quoted.arg_true(), recount.to_series().cast(pl.UInt32)))
        good = df.filter(pl.col("__nf") == n).drop("__nf")
        bad = df.filter(pl.col("__nf") != n)
        rej = bad.select(
            origin_expr(path, LINE).alias("origin"),
            pl.format("{} fields, the header has {}", pl.col("__nf"), pl.lit(n)).alias("reason"),
            pl.col(RAW).alias("raw"),
        )
        return good, rejects_frame(rej["origin"], rej["reason"], rej["raw"])
    # quoted fields spanning lines (or input polars refuses): the csv module, which tracks lines
    line_nos = data.get_column("line_no").to_list()
    rows: list[list[str | None]] = []
    starts: list[int] = []
    raws: list[str] = []
    rej_o: list[str] = []
    rej_r: list[str] = []
    rej_raw: list[str] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    prev = 0
    try:
        for rec in reader:
            start = line_nos[min(prev, len(line_nos) - 1)]
            raw = sep.join(rec)
            prev = reader.line_num
            if len(rec) != n:
                rej_o.append(f"{path}:{start}")
                rej_r.append(f"{len(rec)} fields, the header has {n}")
                rej_raw.append(raw)
                continue
            rows.append([c if c != "" else None for c in rec])
            starts.append(start)
            raws.append(raw)
    except csv.Error as exc:
        raise SourceError(
            f"{path}: cannot split into CSV fields near line {line_nos[min(prev, len(line_nos) - 1)]}: {exc}"
        ) from None
    cols = {name: [r[i] for r in rows] for i, name in enumerate(names)}
    good = pl.DataFrame({**cols, LINE: starts, RAW: raws}, schema={**schema, LINE: pl.UInt32, RAW: pl.String})
    return good, rejects_frame(rej_o, rej_r, rej_raw)


def read_csv_blocks(path: Path, *, separator: str | None = None, block_header: str | None = None) -> list[CsvBlock]:
    """Read a CSV file (gzip, BOM, CRLF handled) into header + string rows, vectorised with polars.

    A first line ``sep=X`` (Excel) sets the separator. ``block_header`` is a regex: later lines that
    match it start a new block with their own header (Grafana's unjoined frames). An empty file
    gives no block.
    """
    lines = textio.read_lines(path)
    content = lines.filter(pl.col("line").str.strip_chars() != "")
    if content.height == 0:
        return []
    first = content.row(0, named=True)
    sep = separator
    m = re.fullmatch(r"\s*sep=(.)\s*", first["line"])
    if m:
        sep = sep or m.group(1)
        content = content.slice(1)
        if content.height == 0:
            return []
    header_nos = [int(content.item(0, "line_no"))]
    if block_header:
        later = content.slice(1).filter(pl.col("line").str.contains(block_header))
        header_nos += [int(x) for x in later.get_column("line_no").to_list()]
    blocks: list[CsvBlock] = []
    for k, hno in enumerate(header_nos):
        end = header_nos[k + 1] if k + 1 < len(header_nos) else None
        header = content.filter(pl.col("line_no") == hno).item(0, "line")
        bsep = sep or _pick_separator(header)
        names_raw = _split_header(header, bsep, path)
        names = _dedupe(names_raw)
        data = content.filter(
            (pl.col("line_no") > hno) & (pl.col("line_no") < end if end is not None else pl.lit(True))
        )
        rows, bad = _parse_rows(data.select("line_no", "line"), names, bsep, path)
        blocks.append(CsvBlock(path, hno, names, names_raw, rows, bad, bsep))
    return blocks


# Log exports as CSV (logs ``csv``): the names each event column goes by, compared in lower case. Here, not in the
# loader, because the metrics CSV sniffer must leave such files to the logs one.
LOG_CSV_NAMES: dict[str, tuple[str, ...]] = {
    "ts": ("time", "timestamp", "@timestamp", "_time", "date", "datetime", "eventtime", "tsns"),
    "message": ("message", "@message", "line", "msg", "log", "text", "textpayload", "_raw", "body", "content"),
    "level": ("level", "severity", "loglevel", "log_level", "detected_level", "levelname"),
    "service": ("service", "svc", "service.name", "service_name", "app", "application", "container_name"),
}


def header_names(head: str) -> list[str]:
    """The lower-case column names of a CSV head's first content line (split at the separator it holds most)."""
    line = first_content_line(head)
    if not line or line.lstrip().startswith(("{", "[")):
        return []
    sep = _pick_separator(line)
    if sep not in re.sub(_QUOTED, "", line):
        return []
    return [c.strip().strip('"').strip().lower() for c in _split_header(line, sep, Path("head"))]


def looks_like_log_csv(head: str) -> bool:
    """A CSV header with a time column and a text message column (Loki, CloudWatch Logs Insights, BigQuery...)."""
    try:
        names = set(header_names(head))
    except SourceError:
        return False
    return bool(names & set(LOG_CSV_NAMES["ts"])) and bool(names & set(LOG_CSV_NAMES["message"]))
