"""The ``logfmt`` logs format: lines of ``key=value`` pairs, ts/level/msg recognised as in ``jsonl``.

Every physical line ends in an event (counted in ``parsed_inputs``) or in the rejects
with its ``path:line`` and a reason; blank lines are rejected as ``blank line``. Values
are strings (quoted values unescaped); a bare key reads as ``"true"``. Fields become
columns and ``attrs`` by the rules of :mod:`pmkit.sources.fieldmap`.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import polars as pl

from pmkit.sources import textio, window
from pmkit.sources.base import LoadRequest, LoadResult
from pmkit.sources.fieldmap import finish_records, line_origins, load_multiline_file, load_records, multiline_rule
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


_TS_KEYS = ("ts", "time", "timestamp", "@timestamp", "t", "date")  # fieldmap's ts candidates


def logfmt_cheap_ts(req: LoadRequest) -> pl.Expr:
    """The window prefilter's time of a logfmt line: the value of the ``ts`` field (``fields: {ts: ...}``, else
    the one candidate key the line holds; null when it holds several) read as ISO 8601."""
    given = req.fields.get("ts")
    keys = [given] if given else list(_TS_KEYS)
    alt = "|".join(re.escape(k) for k in keys)
    pair = r"(?:^|\s)(?:" + alt + r')=(?:"([^"\\]*)"|([^\s"]*))'
    line = pl.col("line")
    value = pl.coalesce(line.str.extract(pair, 1), line.str.extract(pair, 2))
    one = line.str.count_matches(r"(?:^|\s)(?:" + alt + ")=") == 1
    return pl.when(one).then(window.iso_cheap(value, req.timezone))


def _load_logfmt_file(
    path: Path, req: LoadRequest, notes: list[str], outside: list[tuple[int, int]] | None = None
) -> tuple[pl.DataFrame, pl.DataFrame, int, int]:
    lines = textio.read_lines(path)
    rule = multiline_rule(req)
    if rule is not None:
        ok_line = pl.col("line").str.contains(_LF_LINE) & pl.col("line").str.contains("=", literal=True)
        events, rejects, n_in, n_ok, out = load_multiline_file(
            path, lines, rule, req, notes, _logfmt_records, ok_line, logfmt_cheap_ts(req)
        )
        notes.append(rule.describe())
        if outside is not None:
            outside.append(out)
        return events, rejects, n_in, n_ok
    every_text = lines.get_column("line")  # by line number, for the raw text of rejects found later
    if req.window is not None and outside is not None:
        lines, n_out = window.prefilter(lines, logfmt_cheap_ts(req), req.window)
        outside.append((n_out, 0))
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
        lambda nos: every_text.gather(nos.cast(pl.Int64) - 1),
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
    options=("multiline",),
)
def load_logfmt(req: LoadRequest) -> LoadResult:
    """logfmt lines: one event per line of ``key=value`` pairs."""
    outside: list[tuple[int, int]] = []
    res = load_records(req, lambda path, r, notes: _load_logfmt_file(path, r, notes, outside))
    pre, post = sum(o[0] for o in outside), sum(o[1] for o in outside)
    return replace(res, inputs=res.inputs + pre + post, outside=pre + post, outside_parsed=post)
