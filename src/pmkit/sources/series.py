"""Building the ``series`` frame: from parallel lists of samples, and from CSV blocks by a column plan.

A toolkit shared by the metrics loaders (``prometheus``, ``csv``, ``grafana-csv``); it imports no
loader. The series contract is ``ts, source, metric, labels, value, origin``: one row per sample,
``labels`` a JSON object with sorted keys (``{}`` when a series has none), ``source`` left for
:func:`pmkit.sources.base.run`.

Value cells and series names (the rules every CSV metrics format follows)
-------------------------------------------------------------------------
- A value cell is a number (``NaN``, ``+Inf`` and ``-Inf`` kept as float NaN/inf). An empty cell
  (or ``null``, ``None``, ``NA``, ``N/A``, ``nil``) is a missing point, not an error: Grafana and
  pandas write them where a series has no sample. Any other text rejects its row.
- A series name of the Prometheus display form ``name{k="v", ...}`` or ``{__name__="name", k="v"}``
  is split into the metric name and labels (:func:`parse_display_name`); other names are used as
  is. A wide value column named ``value`` (``val``, ``y``) takes ``options.metric``, else the file
  stem (:func:`file_stem`).
- A :class:`Plan` says which column holds the time, which hold values, which are labels and, in the
  long layout, which names each row's metric; each CSV format has its own planner and
  :func:`load_csv_blocks` does the rest (times, rejects, labels, names, the load counts).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from polars.expr.whenthen import ChainedThen, Then

from pmkit.errors import SourceError
from pmkit.schema import UTC_TS
from pmkit.sources.base import LoadRequest, LoadResult, origin_expr, rejects_frame, to_json
from pmkit.sources.tabular import LINE, RAW, CsvBlock, first_content_line, parse_time_column, read_csv_blocks
from pmkit.timeutil import EPOCH_UNITS, is_aware

__all__ = [
    "GENERIC_VALUE_NAMES",
    "GRAFANA_HEADER",
    "TIME_COLUMN_NAMES",
    "Plan",
    "empty_series",
    "file_stem",
    "grafana_header",
    "load_csv_blocks",
    "need_columns",
    "numeric_share",
    "option_list",
    "parse_display_name",
    "series_frame",
    "wide_name",
]

_EMPTY_WORDS = ("", "null", "none", "na", "n/a", "nil")
GENERIC_VALUE_NAMES = ("value", "val", "y", "values")
GRAFANA_HEADER = r'^\s*"?(Time|Series)"?\s*[,;\t]'  # a Grafana panel CSV's first header (the csv sniffer leaves it)
# the names of a time column in metric CSVs (compared in lower case)
TIME_COLUMN_NAMES = (
    "timestamp", "time", "ts", "datetime", "date", "_time", "@timestamp", "time_stamp", "date_time", "timestamp_ms",
    "epoch", "unix_time",
)  # fmt: skip


def grafana_header(head: str) -> bool:
    """A Grafana panel CSV: the header starts with ``Time`` or ``Series`` and names no second time column
    (``Time,TimeStamp,PodName,...`` is a generic metric CSV with two time columns, not a Grafana export)."""
    line = first_content_line(head)
    if not re.match(GRAFANA_HEADER, line):
        return False
    names = [n.strip().strip('"').lower() for n in re.split(r"[,;\t]", line)]
    return sum(n in TIME_COLUMN_NAMES for n in names) == 1


def file_stem(path: Path) -> str:
    """A file's name up to its first dot (``range_nan.result.json`` -> ``range_nan``)."""
    return path.name.split(".")[0] or path.name


_DISPLAY = re.compile(r"^\s*([A-Za-z_:][A-Za-z0-9_:.\-]*)?\s*\{(.*)\}\s*$", re.S)
_LABEL_PAIR = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')


def parse_display_name(text: str) -> tuple[str, dict[str, str]]:
    """Split a Prometheus-style series name ``name{k="v", ...}`` into (name, labels).

    ``{__name__="up", job="x"}`` gives ``("up", {"job": "x"})``; a string that is not of that form
    is returned whole as the name with no labels (Grafana legends such as ``A-series``); a label set
    with no name (``{job="x"}``, what ``rate()`` leaves) gives ``""`` as the name.
    """
    m = _DISPLAY.match(text)
    if not m:
        return text.strip(), {}
    name, body = m.group(1) or "", m.group(2)
    labels: dict[str, str] = {}
    pos = 0
    body = body.strip()
    while pos < len(body):
        pm = _LABEL_PAIR.match(body, pos)
        if not pm or pm.end() == pos:
            return text.strip(), {}
        labels[pm.group(1)] = re.sub(r"\\(.)", r"\1", pm.group(2))
        pos = pm.end()
    return labels.pop("__name__", name) or name, labels


def _value_parts(col: str) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(value, empty, bad) expressions for a string cell: float (NaN/Inf kept), missing point, unreadable."""
    s = pl.col(col).str.strip_chars()
    empty = s.is_null() | s.str.to_lowercase().is_in(list(_EMPTY_WORDS))
    value = s.cast(pl.Float64, strict=False)
    bad = ~empty & value.is_null()
    return value, empty, bad


def numeric_share(values: pl.Series, sample: int = 500) -> float:
    """Share of the non-empty cells (of a sample) that read as numbers; 1.0 for an all-empty column."""
    frame = values.head(sample).to_frame("v")
    _, empty, bad = _value_parts("v")
    counts = frame.select((~empty).sum().alias("n"), bad.sum().alias("bad")).row(0)
    n, nbad = counts
    return 1.0 if not n else 1.0 - nbad / n


def series_frame(
    ts_us: list[int], metric: list[str], labels: list[str], value: list[float], origin: list[str]
) -> pl.DataFrame:
    """Build a series-contract frame (``source`` left for :func:`run`) from parallel lists."""
    return pl.DataFrame(
        {
            "ts": pl.Series(ts_us, dtype=pl.Int64).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
            "metric": pl.Series(metric, dtype=pl.String),
            "labels": pl.Series(labels, dtype=pl.String),
            "value": pl.Series(value, dtype=pl.Float64),
            "origin": pl.Series(origin, dtype=pl.String),
        }
    )


def empty_series() -> pl.DataFrame:
    """A series-contract frame with no rows."""
    return series_frame([], [], [], [], [])


@dataclass
class Plan:
    """How one CSV block maps to samples."""

    time: str
    value_cols: list[str]
    label_cols: list[str]
    metric_col: str | None = None  # long layout: the column naming each row's metric
    names: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)  # wide: column -> (metric, labels)


def option_list(value: Any, what: str, path: Path) -> list[str]:
    """``options.<what>`` as a list of column names (one name or a list of them; none gives [])."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    raise SourceError(f"{path}: options.{what} must be a column name or a list of them, not {value!r}")


def need_columns(cols: list[str], columns: list[str], what: str, path: Path) -> None:
    """Raise a SourceError when ``options.<what>`` names columns the block does not have."""
    missing = [c for c in cols if c not in columns]
    if missing:
        raise SourceError(f"{path}: options.{what} names {missing}, not columns of the file; the columns are {columns}")


def wide_name(col: str, metric_opt: str | None, single: bool, path: Path) -> tuple[str, dict[str, str]]:
    """(metric, labels) of a wide layout's value column: ``options.metric`` when it is the only one; a generic
    ``value`` column takes ``options.metric``, else the file stem; other names are split as display names."""
    if metric_opt and single:
        return metric_opt, {}
    if col.lower() in GENERIC_VALUE_NAMES:
        return (metric_opt or file_stem(path)), {}
    name, labels = parse_display_name(col)
    return name or metric_opt or file_stem(path), labels


def _label_json(rows: pl.DataFrame, label_cols: list[str]) -> pl.DataFrame:
    """Add ``__labels`` (a dict per row, as JSON) built from the label columns; computed once per distinct combination."""
    if not label_cols:
        return rows.with_columns(pl.lit("{}").alias("__labels"))
    keyed = rows.with_columns(
        [pl.col(c).str.strip_chars().fill_null("").alias(f"__l{i}") for i, c in enumerate(label_cols)]
    )
    keys = [f"__l{i}" for i in range(len(label_cols))]
    combos = keyed.select(keys).unique()
    jsons = [to_json({n: v for n, v in zip(label_cols, vals, strict=True) if v}) for vals in combos.iter_rows()]
    combos = combos.with_columns(pl.Series("__labels", jsons, dtype=pl.String))
    return keyed.join(combos, on=keys, how="left").drop(keys)


def _block_series(
    block: CsvBlock, plan: Plan, req: LoadRequest, notes: list[str]
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """Samples and rejects of one block; returns (series frame, rejects, parsed rows)."""
    path, rows = block.path, block.rows
    ts, guess = parse_time_column(rows.get_column(plan.time).str.strip_chars(), req.ts_format, req.timezone)
    if guess is not None and guess.fmt != "epoch_auto":
        notes.append(f"{path.name}: time column {plan.time!r} read as {guess.fmt!r}")
    if guess is not None:
        naive = guess.naive
    else:
        naive = req.ts_format is not None and req.ts_format not in EPOCH_UNITS and not is_aware(req.ts_format)
    if naive and req.timezone is None and rows.height:
        notes.append(f"{path.name}: times have no UTC offset; read as UTC (set timezone if they are local)")
    rows = rows.with_columns(ts.alias("__ts"))
    rows = _label_json(rows, plan.label_cols)
    parts = {c: _value_parts(c) for c in plan.value_cols}
    rows = rows.with_columns(
        *[parts[c][0].alias(f"__v{i}") for i, c in enumerate(plan.value_cols)],
        *[parts[c][1].alias(f"__e{i}") for i, c in enumerate(plan.value_cols)],
        *[parts[c][2].alias(f"__b{i}") for i, c in enumerate(plan.value_cols)],
    )
    tcell = pl.col(plan.time)
    reason: Then | ChainedThen = pl.when(pl.col("__ts").is_null()).then(
        pl.when(tcell.is_null() | (tcell.str.strip_chars() == ""))
        .then(pl.lit(f"no time in column {plan.time!r}"))
        .otherwise(pl.format("cannot read time '{}' in column {}", tcell, pl.lit(repr(plan.time))))
    )
    if plan.metric_col is not None:
        mcell = pl.col(plan.metric_col).str.strip_chars()
        reason = reason.when(mcell.is_null() | (mcell == "")).then(
            pl.lit(f"no metric name in column {plan.metric_col!r}")
        )
    for i, c in enumerate(plan.value_cols):
        reason = reason.when(pl.col(f"__b{i}")).then(
            pl.format("column {}: '{}' is not a number", pl.lit(repr(c)), pl.col(c))
        )
    all_empty = pl.all_horizontal([pl.col(f"__e{i}") for i in range(len(plan.value_cols))])
    reason = reason.when(all_empty).then(pl.lit("no value (every value cell is empty)"))
    rows = rows.with_columns(reason.otherwise(pl.lit(None, dtype=pl.String)).alias("__why"))
    bad = rows.filter(pl.col("__why").is_not_null())
    rej = rejects_frame(
        bad.select(origin_expr(path, LINE)).to_series(),
        bad.get_column("__why"),
        bad.get_column(RAW),
    )
    good = rows.filter(pl.col("__why").is_null())
    origin = origin_expr(path, LINE).alias("origin")
    if plan.metric_col is not None:
        long = good.select(
            pl.col("__ts").alias("ts"),
            pl.col(plan.metric_col).str.strip_chars().alias("__key"),
            "__labels",
            pl.col("__v0").alias("value"),
            pl.col("__e0").alias("__empty"),
            origin,
        )
    else:
        pieces = [
            good.select(
                pl.col("__ts").alias("ts"),
                pl.lit(c, dtype=pl.String).alias("__key"),
                "__labels",
                pl.col(f"__v{i}").alias("value"),
                pl.col(f"__e{i}").alias("__empty"),
                origin,
            )
            for i, c in enumerate(plan.value_cols)
        ]
        long = pl.concat(pieces)
    long = long.filter(~pl.col("__empty")).drop("__empty")
    metric_opt = req.options.get("metric")
    fallback = metric_opt if isinstance(metric_opt, str) and metric_opt != plan.metric_col else None
    long = _name_series(long, plan, fallback or file_stem(path))
    return long, rej, good.height


def _name_series(long: pl.DataFrame, plan: Plan, fallback: str) -> pl.DataFrame:
    """Turn (``__key``, ``__labels``) into ``metric`` and merged, sorted ``labels``; once per distinct pair."""
    import json

    pairs = long.select("__key", "__labels").unique()
    metrics: list[str] = []
    labels: list[str] = []
    for key, lab in pairs.iter_rows():
        name, extra = plan.names[key] if key in plan.names else parse_display_name(key)
        merged = {**extra, **json.loads(lab)}
        metrics.append(name or fallback)
        labels.append(to_json(merged))
    pairs = pairs.with_columns(
        pl.Series("metric", metrics, dtype=pl.String), pl.Series("labels", labels, dtype=pl.String)
    )
    out = long.join(pairs, on=["__key", "__labels"], how="left", maintain_order="left")
    return out.select("ts", "metric", "labels", "value", "origin")


def load_csv_blocks(
    req: LoadRequest, planner: Callable[[CsvBlock, LoadRequest], tuple[Plan, list[str]]], block_header: str | None
) -> LoadResult:
    """Load every file of ``req`` as CSV blocks (``block_header``: see :func:`read_csv_blocks`), each mapped to
    samples by the plan ``planner`` makes for it; unit = data rows."""
    frames: list[pl.DataFrame] = []
    rejects: list[pl.DataFrame] = []
    notes: list[str] = []
    inputs = parsed = 0
    sep_opt = req.options.get("separator")
    if sep_opt is not None and (not isinstance(sep_opt, str) or len(sep_opt) != 1 or sep_opt in '"\r\n'):
        raise SourceError(f"{req.path}: options.separator must be one character, not {sep_opt!r}")
    for path in req.files():
        blocks = read_csv_blocks(path, separator=sep_opt, block_header=block_header)
        if not blocks:
            notes.append(f"{path.name}: empty file")
        for block in blocks:
            inputs += block.inputs
            rejects.append(block.bad)
            if block.rows.height == 0:
                continue
            plan, plan_notes = planner(block, req)
            notes.extend(plan_notes)
            frame, rej, ok = _block_series(block, plan, req, notes)
            frames.append(frame)
            rejects.append(rej)
            parsed += ok
    frame = pl.concat(frames) if frames else empty_series()
    return LoadResult(
        frame=frame.with_columns(pl.col("ts").cast(UTC_TS)),
        rejects=pl.concat(rejects) if rejects else rejects_frame([], [], []),
        inputs=inputs,
        parsed_inputs=parsed,
        unit="rows",
        notes=tuple(dict.fromkeys(notes)),
        table="series",
    )
