"""JSON lines decoded losslessly: every field of every line, types inferred over all rows.

``pl.read_ndjson`` infers the schema from the first 100 rows and silently drops fields
first seen later; :func:`read_ndjson_lossless` reads every field. :func:`decode_objects`
decodes a column of texts that may hold anything: a reason per text that is not a JSON
object (found by bisecting polars reads, Python only on small leaves), and fields whose
types conflict across lines kept as JSON text. Lines nested deeper than
:data:`pmkit.sources.textio.MAX_JSON_DEPTH` never reach polars or pyarrow (both crash the
process on very deep input): :func:`read_ndjson_lossless` refuses the input, :func:`decode_objects`
gives those lines a reason.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from pmkit.sources import textio

if TYPE_CHECKING:
    from polars._typing import PolarsDataType

_PROBE_SCHEMA = {"__pmkit_probe__": pl.String}
_LEAF = 256


def _to_ndjson_bytes(texts: pl.Series) -> bytes:
    """Join strings into NDJSON bytes without going through Python strings."""
    buf = io.BytesIO()
    texts.rename("l").to_frame().write_csv(buf, include_header=False, quote_style="never")
    return buf.getvalue()


_OPENERS = r"[\[{]"


def too_deep(texts: pl.Series) -> pl.Series:
    """Per text, where it nests deeper than :data:`~pmkit.sources.textio.MAX_JSON_DEPTH` (``not valid JSON:
    nested deeper than ... at column ...``), else null. Only texts with that many brackets are looked at."""
    limit = textio.MAX_JSON_DEPTH
    out = pl.Series("reason", [None] * texts.len(), dtype=pl.String)
    many = (texts.str.count_matches(_OPENERS) > limit).fill_null(False)
    if not many.any():
        return out
    idx = many.arg_true()
    reasons = []
    for text in texts.gather(idx).to_list():
        at = textio.too_deep_at(text, limit)
        reasons.append(None if at is None else f"not valid JSON: nested deeper than {limit} levels at column {at + 1}")
    return out.scatter(idx, pl.Series(reasons, dtype=pl.String))


def _screen(source: Path | bytes) -> bool:
    """Whether pyarrow's JSON reader may read ``source``: one cheap pass over its lines.

    Raises ``polars.exceptions.ComputeError`` when a line nests deeper than
    :data:`~pmkit.sources.textio.MAX_JSON_DEPTH` (polars and pyarrow crash the process, past catching,
    some hundreds or thousands of levels down). False when a line does not start an object: pyarrow
    crashes on a first line ``null``, reads a later ``null`` as a record of nulls, and reads two objects
    on one line as two records (a blank line elsewhere then evens the count), where polars refuses or
    skips them line by line (and the loaders then say which lines are not objects).
    """
    lines = pl.scan_csv(io.BytesIO(source) if isinstance(source, bytes) else source, **textio.LINES_AS_CSV)
    line = pl.col("line")
    flagged = (
        lines.with_columns(
            many=(line.str.count_matches(_OPENERS) > textio.MAX_JSON_DEPTH).fill_null(False),
            other=(~line.str.contains(r"^\x{feff}?\s*\{")).fill_null(True),  # an empty line reads as null
        )
        .filter(pl.col("many") | pl.col("other"))
        .collect()
    )
    if not flagged.height:
        return True
    many = flagged.filter("many").get_column("line")
    if many.len() and too_deep(many).is_not_null().any():
        raise pl.exceptions.ComputeError(f"a line is nested deeper than {textio.MAX_JSON_DEPTH} levels")
    return not flagged.get_column("other").any()


def _json_error(text: str) -> str:
    try:
        value = textio.loads(text)
    except json.JSONDecodeError as exc:
        return f"not valid JSON: {exc.msg} at column {exc.colno}"
    except (RecursionError, ValueError) as exc:
        return f"not valid JSON: {exc}"
    if isinstance(value, dict):
        return ""
    kind = "null" if value is None else type(value).__name__.replace("str", "string").replace("dict", "object")
    return f"a JSON {kind}, not an object"


def _syntax_check(texts: pl.Series) -> pl.Series:
    """Reason per text ('' when it is a JSON object), found by bisecting polars reads; Python only on small leaves."""
    reasons = [""] * texts.len()

    def visit(lo: int, hi: int) -> None:
        if lo >= hi:
            return
        chunk = texts.slice(lo, hi - lo)
        try:
            pl.read_ndjson(_to_ndjson_bytes(chunk), schema=_PROBE_SCHEMA)
            return
        except pl.exceptions.PolarsError:
            pass
        if hi - lo <= _LEAF:
            for i, text in enumerate(chunk.to_list(), start=lo):
                reasons[i] = _json_error(text)
            return
        mid = (lo + hi) // 2
        visit(lo, mid)
        visit(mid, hi)

    step = 1 << 16
    for start in range(0, texts.len(), step):
        visit(start, min(start + step, texts.len()))
    return pl.Series("reason", reasons, dtype=pl.String)


def _python_records(texts: pl.Series) -> tuple[pl.DataFrame, list[str]]:
    """Decode with Python's json, unifying conflicting types (they become JSON text) so polars can hold them."""
    objs = [json.loads(t) for t in texts.to_list()]
    conflicts: list[str] = []
    _unify(objs, "", conflicts)
    payload = "\n".join(json.dumps(o, ensure_ascii=False, allow_nan=False) for o in objs).encode("utf-8", "replace")
    return pl.read_ndjson(payload, infer_schema_length=None), conflicts


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int" if -(2**63) <= v < 2**63 else "bigint"
    if isinstance(v, float):
        return "float" if math.isfinite(v) else "nonfinite"
    if isinstance(v, str):
        return "str"
    return "dict" if isinstance(v, dict) else "list"


def _unify(objs: list[Any], where: str, conflicts: list[str]) -> None:
    """Make every key's values one JSON type across records (in place); conflicting keys become strings."""
    keys: dict[str, set[str]] = {}
    for o in objs:
        for k, v in o.items():
            keys.setdefault(k, set()).add(_kind(v))
    for k, kinds in keys.items():
        kinds.discard("null")
        path = f"{where}.{k}" if where else k
        if kinds <= {"int", "float"} or (len(kinds) == 1 and kinds <= {"str", "bool"}):
            continue
        if kinds == {"dict"}:
            _unify([o[k] for o in objs if isinstance(o.get(k), dict)], path, conflicts)
            continue
        if kinds == {"list"}:
            elems = [e for o in objs if isinstance(o.get(k), list) for e in o[k]]
            ekinds = {_kind(e) for e in elems} - {"null"}
            if ekinds == {"dict"}:
                _unify(elems, path + "[]", conflicts)
                continue
            if ekinds <= {"int", "float"} or (len(ekinds) <= 1 and ekinds <= {"str", "bool"}):
                continue
        conflicts.append(path)
        for o in objs:
            v = o.get(k)
            if v is not None and not isinstance(v, str):
                o[k] = json.dumps(v, ensure_ascii=False) if _kind(v) not in ("nonfinite",) else str(v)


def _float_paths(dtype: PolarsDataType, expr: pl.Expr) -> list[pl.Expr]:
    """For every float field (nested ones too), whether a value is at least 2**63 in size."""
    if dtype == pl.Float64:
        return [(expr.abs() >= 2.0**63).any()]
    if isinstance(dtype, pl.Struct):
        return [e for f in dtype.fields for e in _float_paths(f.dtype, expr.struct.field(f.name))]
    if isinstance(dtype, pl.List) and _float_paths(dtype.inner, pl.element()):
        return [expr.list.eval(pl.any_horizontal(_float_paths(dtype.inner, pl.element()))).list.any().any()]
    return []


def _has_temporal(dtype: PolarsDataType) -> bool:
    if dtype.is_temporal():
        return True
    if isinstance(dtype, pl.Struct):
        return any(_has_temporal(f.dtype) for f in dtype.fields)
    return isinstance(dtype, pl.List) and _has_temporal(dtype.inner)


def read_ndjson_lossless(source: Path | bytes) -> pl.DataFrame:
    """Every field of every JSON line, its type inferred over all rows (``pl.read_ndjson`` looks at 100 by default).

    pyarrow's JSON reader goes first: it adds fields first seen late and runs on every core,
    2.7x faster here than polars inferring over all rows. Where it would read differently from
    polars, polars reads instead: when it refuses the input (a type conflict, a repeated key),
    turns a time-like string into a timestamp, or may have turned an integer beyond 64 bits into
    a float (any float of that size). Raises ``polars.exceptions.PolarsError`` as polars does. The
    order of fields (top-level and nested) may differ from polars'; the loaders go by name and sort
    nested fields when they write attrs. A line nested deeper than :data:`~pmkit.sources.textio.MAX_JSON_DEPTH`
    raises ``ComputeError`` before either reader runs; input with a line that is not an object goes to polars
    (:func:`_screen`).
    """
    import pyarrow as pa  # pyarrow ships no type hints
    import pyarrow.json as pa_json

    table = None
    if _screen(source):
        try:
            table = pa_json.read_json(io.BytesIO(source) if isinstance(source, bytes) else str(source))
        except (pa.ArrowException, OSError, ValueError):
            table = None
    if table is not None:
        df = pl.DataFrame(table)
        if not any(_has_temporal(d) for d in df.schema.values()):
            checks = [e for name, d in df.schema.items() for e in _float_paths(d, pl.col(name))]
            if not checks or not any(df.select(e.alias(f"big{i}") for i, e in enumerate(checks)).row(0)):
                return df
    return pl.read_ndjson(source, infer_schema_length=None)


def decode_objects(texts: pl.Series) -> tuple[pl.DataFrame, pl.Series, list[str]]:
    """Decode JSON object texts (:func:`read_ndjson_lossless`, then polars and Python for the faulty ones).

    Returns the records (one row per text that is a JSON object, in order), the reason
    per input text (null for decoded ones; blank texts read ``blank line``, texts nested too deep say so) and the paths
    of fields whose types conflicted (kept as JSON text). The schema is inferred from
    every line (``read_ndjson`` by default looks at 100 and silently drops later fields).
    """
    blank = ~texts.str.contains(r"\S").fill_null(False)
    deep = too_deep(texts)
    reason = pl.select(pl.when(blank).then(pl.lit("blank line")).otherwise(deep)).to_series()
    skip = blank | deep.is_not_null()
    cand = texts.filter(~skip)
    conflicts: list[str] = []
    if cand.len() == 0:
        return pl.DataFrame(), reason, conflicts
    try:
        records = read_ndjson_lossless(_to_ndjson_bytes(cand))
        if records.height == cand.len():
            return records, reason, conflicts
    except pl.exceptions.PolarsError:
        pass
    syntax = _syntax_check(cand)
    ok = syntax == ""
    good = cand.filter(ok)
    if good.len() == 0:
        records = pl.DataFrame()
    else:
        try:
            records = read_ndjson_lossless(_to_ndjson_bytes(good))
            if records.height != good.len():
                raise pl.exceptions.ComputeError("row count mismatch")
        except pl.exceptions.PolarsError:
            records, conflicts = _python_records(good)
    full = pl.Series("reason", [None] * texts.len(), dtype=pl.String)
    idx = pl.arange(0, texts.len(), eager=True).filter(~skip)
    full = full.scatter(idx, syntax.replace("", None))
    reason = pl.select(pl.coalesce(reason, full)).to_series()
    return records, reason, conflicts
