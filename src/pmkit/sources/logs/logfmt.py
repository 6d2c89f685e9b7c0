"""The ``logfmt`` logs format: lines of ``key=value`` pairs, ts/level/msg recognised as in ``jsonl``.

Every physical line ends in an event (counted in ``parsed_inputs``) or in the rejects
with its ``path:line`` and a reason; blank lines are rejected as ``blank line``. Values
are strings (quoted values unescaped); a bare key reads as ``"true"``. Fields become
columns and ``attrs`` by the rules of :mod:`pmkit.sources.fieldmap`.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from pmkit.sources import textio
from pmkit.sources.base import LoadRequest, LoadResult
from pmkit.sources.fieldmap import finish_records, line_origins, load_records
from pmkit.sources.linescan import BLANK, in_line_order, share
from pmkit.sources.registry import register

_LF_TOKEN = r'[^\s="]+(?:=(?:"(?:[^"\\]|\\.)*"|[^\s"]*))?'
_LF_LINE = r"^\s*(?:" + _LF_TOKEN + r"\s+)*" + _LF_TOKEN + r"\s*$"
_LF_PY = re.compile(_LF_LINE)
_LF_PAIR_PY = re.compile(r'(?:^|\s)[^\s="]+=')


def _logfmt_records(lines: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series]:
    """Records (one row per logfmt line, string values) and a reason per line (null when parsed)."""
    col = pl.col
    ok_expr = col("line").str.contains(_LF_LINE) & col("line").str.contains("=", literal=True)
    df = lines.with_columns(_ok=ok_expr.fill_null(False), _blank=BLANK)
    reason = df.select(
        pl.when(col("_blank"))
        .then(pl.lit("blank line"))
        .when(~col("_ok"))
        .then(pl.lit('not logfmt (expected key=value pairs, values with spaces in "quotes")'))
    ).to_series()
    good = df.filter(col("_ok")).select("line_no", "line")
    if good.height == 0:
        return pl.DataFrame(), reason
    toks = good.select("line_no", tok=col("line").str.extract_all(_LF_TOKEN)).explode("tok")
    kv = toks.with_columns(
        key=col("tok").str.extract(r"^([^=]+)", 1),
        raw=col("tok").str.extract(r"^[^=]+=(.*)$", 1),
    ).with_columns(
        value=pl.when(col("raw").is_null())
        .then(pl.lit("true"))
        .when(col("raw").str.starts_with('"') & col("raw").str.ends_with('"') & (col("raw").str.len_chars() >= 2))
        .then(
            col("raw")
            .str.slice(1, col("raw").str.len_chars() - 2)
            .str.replace_many(["\\\\", '\\"', "\\n", "\\t", "\\r"], ["\\", '"', "\n", "\t", "\r"], leftmost=True)
        )
        .otherwise(col("raw"))
    )
    wide = kv.pivot(on="key", index="line_no", values="value", aggregate_function="first", maintain_order=True)
    wide = good.select("line_no").join(wide, on="line_no", how="left", maintain_order="left").drop("line_no")
    return wide, reason


def _load_logfmt_file(path: Path, req: LoadRequest, notes: list[str]) -> tuple[pl.DataFrame, pl.DataFrame, int, int]:
    lines = textio.read_lines(path)
    texts = lines.get_column("line")
    records, reason = _logfmt_records(lines)
    ok = reason.is_null()
    rejects = pl.DataFrame(
        {
            "origin": line_origins(path, lines.get_column("line_no").filter(~ok)),
            "reason": reason.filter(~ok),
            "raw": texts.filter(~ok),
        }
    )
    events, more = finish_records(
        path,
        records,
        lines.get_column("line_no").filter(ok),
        req,
        notes,
        lambda nos: texts.gather(nos.cast(pl.Int64) - 1),
    )
    return events, in_line_order(pl.concat([rejects, more])), lines.height, events.height


def _sniff_logfmt(head: str) -> bool:
    def ok(ln: str) -> bool:
        s = ln.strip()
        return not s.startswith(("{", "[")) and bool(_LF_PY.match(s)) and len(_LF_PAIR_PY.findall(s)) >= 2

    return share(head, ok) >= 0.5


@register(
    "logs",
    "logfmt",
    description="logfmt key=value lines (ts/level/msg recognised like jsonl)",
    example='ts=2025-03-14T13:05:02.118Z level=error msg="payment authorisation failed" service=payments '
    "user_id=cus_123 duration=5.002s",
    sniff=_sniff_logfmt,
)
def load_logfmt(req: LoadRequest) -> LoadResult:
    """logfmt lines: one event per line of ``key=value`` pairs."""
    return load_records(req, _load_logfmt_file)
