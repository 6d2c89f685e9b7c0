"""Metric samples into the ``series`` frame: Prometheus HTTP API JSON, generic CSV, Grafana panel CSV.

Every loader here ends in the ``series`` contract (``ts, source, metric, labels, value, origin``):
one row per sample, ``labels`` a JSON object with sorted keys (``{}`` when a series has none).

Definitions (what the load report's counts mean)
------------------------------------------------
sample
    One ``(time, value)`` point of one series. ``NaN``, ``+Inf`` and ``-Inf`` are samples: Prometheus
    writes them on purpose (an empty ratio, an overflowing bucket) and they are kept as float NaN/inf.
unit, ``prometheus``
    records = samples: every ``[t, "v"]`` pair of a matrix ``values`` list, every vector ``value``,
    the scalar result, every native-histogram point. A pair that cannot be read (wrong shape, time not
    Unix seconds, value not a number) is one rejected record, origin ``path#result[i].values[j]``.
    A series entry that is not an object or carries no points at all is one rejected record too.
unit, ``csv`` / ``grafana-csv``
    records = data rows (blank lines are not rows). A row is parsed when its time reads and it gives at
    least one sample; it is rejected (origin ``path:line``) when its time cannot be read, a value cell
    is not a number, its field count differs from the header, or every value cell is empty. An empty
    cell (or ``null``, ``None``, ``NA``, ``N/A``, ``nil``) is a missing point, not an error: Grafana
    and pandas write them where a series has no sample.

Prometheus responses that are not metric samples
------------------------------------------------
``status: error`` raises a SourceError with the file and Prometheus' ``errorType: error``. Loki log
queries (``resultType: streams``) and ``/api/v1/alerts`` / ``/api/v1/rules`` responses raise a
SourceError saying what the file is and which kind reads it. Top-level ``warnings`` (and ``infos``)
become notes of the load. Native-histogram points give ``<metric>_count`` and ``<metric>_sum`` rows
(buckets are not kept). Long ``values`` lists are read vectorised; the rules above are the same.

Metric names and labels
-----------------------
- prometheus: the ``__name__`` label (removed from ``labels``), else ``options.metric``, else the
  file name up to its first dot (``range_nan.result.json`` -> ``range_nan``).
- csv/grafana-csv: a series name of the Prometheus display form ``name{k="v", ...}`` or
  ``{__name__="name", k="v"}`` is split into the metric name and labels; other names are used as is.
  A wide value column named ``value`` (``val``, ``y``) takes ``options.metric``, else the file stem.

Generic CSV (format ``csv``): layout detection, overridable with ``options``
---------------------------------------------------------------------------
- ``separator``: the ``sep=X`` first line (Excel), else ``options.separator``, else whichever of
  ``,`` ``;`` tab ``|`` occurs most in the header line.
- ``time``: ``options.time``, else the first column named timestamp, time, ts, datetime, date,
  _time, @timestamp, time_stamp (any case), else the first column whose values read as date-times.
  Times go through :func:`parse_time_column` (:func:`pmkit.timeutil.parse_ts` rules: ``ts_format``,
  ``timezone`` for naive times, epoch seconds/ms/us/ns told apart by magnitude, nanosecond fractions
  truncated to microseconds, Go ``time.String()`` accepted; a mostly numeric column is read as
  epochs even when a few cells are not, so those cells reject only their rows).
- an index column (an empty header name, ``Unnamed: 0`` or ``index``, as pandas writes) is ignored.
- long layout (``timestamp,metric,value[,labels...]``) when ``options.metric`` names a column or a
  column is named metric, metric_name, __name__ or series. ``value`` is ``options.value``, else the
  column named value/val/y, else the only other numeric column. Every other column is a label
  unless ``options.labels`` lists them (then exactly those; the others are ignored, said in a note).
- wide layout (``timestamp,col1,col2,...``) otherwise: each numeric column is one metric (or only
  ``options.value``, a name or a list). Columns whose values are mostly not numbers (for example a
  ``rollouts_pod_template_hash``) become labels of every sample in their row; ``options.labels``
  names label columns explicitly (needed when a label looks numeric).

Grafana panel CSV (format ``grafana-csv``): the two layouts supported
--------------------------------------------------------------------
No real export was available to check against, so the layouts follow Grafana's exporter code:

1. time columns, "Series joined by time" (Grafana 7+ Inspect > Data > Download CSV, and the older
   "series as columns"): a ``Time`` column then one column per series named by its display name;
   ``,`` or ``;`` separated (Grafana uses the browser locale), quoted header, CRLF, optional
   ``sep=;`` first line ("Download for Excel"), empty cells or ``null`` where a series has no point.
   Several frames exported unjoined (each block with its own ``Time,...`` header after a blank line)
   are read block by block.
2. series as rows (Grafana up to 6): ``Series;Time;Value`` with one row per point.

Time values are ``YYYY-MM-DD HH:mm:ss`` in the dashboard's time zone (set ``timezone``), ISO 8601
with an offset (``YYYY-MM-DDTHH:mm:ssZ``, Grafana 6's default) or epoch milliseconds ("Formatted
data" off); all go through :func:`parse_time_column`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import polars as pl

from pmkit.errors import SourceError
from pmkit.schema import UTC_TS
from pmkit.sources import textio
from pmkit.sources.base import LoadRequest, LoadResult, origin_expr, rejects_frame, to_json
from pmkit.sources.registry import register
from pmkit.timeutil import EPOCH_UNITS, TsGuess, is_aware, parse_ts

__all__ = [
    "CsvBlock",
    "load_csv",
    "load_grafana_csv",
    "load_prometheus",
    "parse_display_name",
    "parse_time_column",
    "read_csv_blocks",
]

# ---------------------------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------------------------

_LINE = "__pmkit_line"
_RAW = "__pmkit_raw"
_EMPTY_WORDS = ("", "null", "none", "na", "n/a", "nil")
_GENERIC_VALUE_NAMES = ("value", "val", "y", "values")
_TIME_NAMES = ("timestamp", "time", "ts", "datetime", "date", "_time", "@timestamp", "time_stamp")
_METRIC_NAMES = ("metric", "metric_name", "__name__", "series")
_INDEX_NAMES = ("", "unnamed: 0", "index")
_SEPARATORS = (",", ";", "\t", "|")
_QUOTED = r'"(?:[^"]|"")*"'


def _stem(path: Path) -> str:
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


def _numeric_share(values: pl.Series, sample: int = 500) -> float:
    """Share of the non-empty cells (of a sample) that read as numbers; 1.0 for an all-empty column."""
    frame = values.head(sample).to_frame("v")
    _, empty, bad = _value_parts("v")
    counts = frame.select((~empty).sum().alias("n"), bad.sum().alias("bad")).row(0)
    n, nbad = counts
    return 1.0 if not n else 1.0 - nbad / n


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


def _series_frame(
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


def _empty_series() -> pl.DataFrame:
    return _series_frame([], [], [], [], [])


# ---------------------------------------------------------------------------------------------
# prometheus
# ---------------------------------------------------------------------------------------------

_MAX_EPOCH_S = 1e11  # year 5138: anything larger is not Unix seconds (ms or ns epochs are)


def _prom_time(t: Any) -> tuple[int | None, str]:
    """Unix seconds (number or numeric string) to epoch microseconds, or (None, reason)."""
    if isinstance(t, bool) or not isinstance(t, int | float | str):
        return None, f"time {t!r} is not Unix seconds"
    try:
        d = Decimal(str(t).strip()) if isinstance(t, str) else Decimal(repr(t)) if isinstance(t, float) else Decimal(t)
    except InvalidOperation:
        return None, f"time {t!r} is not Unix seconds"
    if not d.is_finite() or abs(d) >= Decimal(_MAX_EPOCH_S):
        return None, f"time {t!r} is not Unix seconds"
    return int((d * 1_000_000).to_integral_value()), ""


def _prom_value(v: Any) -> tuple[float | None, str]:
    """A sample value ("1", "NaN", "+Inf", or a bare number) to float, or (None, reason)."""
    if isinstance(v, bool):
        return None, f"value {v!r} is not a number"
    if isinstance(v, int | float):
        return float(v), ""
    if isinstance(v, str):
        try:
            return float(v.strip()), ""
        except ValueError:
            return None, f"value {v!r} is not a number"
    return None, f"value {v!r} is not a number"


@dataclass
class _Acc:
    """Samples and rejects collected while walking JSON documents."""

    ts: list[int] = field(default_factory=list)
    metric: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    value: list[float] = field(default_factory=list)
    origin: list[str] = field(default_factory=list)
    rej_origin: list[str] = field(default_factory=list)
    rej_reason: list[str] = field(default_factory=list)
    rej_raw: list[str | None] = field(default_factory=list)
    seq: list[int] = field(default_factory=list)  # input order of the samples above
    bulk: list[pl.DataFrame] = field(default_factory=list)  # vectorised batches (see :meth:`points`)
    inputs: int = 0
    parsed: int = 0
    odd: int = 0  # NaN / Inf samples, said in the notes
    next_seq: int = 0

    def reject(self, origin: str, reason: str, raw: Any) -> None:
        self.inputs += 1
        self.rej_origin.append(origin)
        self.rej_reason.append(reason)
        self.rej_raw.append(to_json(raw)[:2000])

    def point(self, pair: Any, origin: str, metric: str, labels: str) -> None:
        """One ``[t, "v"]`` pair: a sample or a reject."""
        if not isinstance(pair, list) or len(pair) != 2:
            self.reject(origin, 'expected a [time, "value"] pair', pair)
            return
        us, why = _prom_time(pair[0])
        if us is None:
            self.reject(origin, why, pair)
            return
        val, why = _prom_value(pair[1])
        if val is None:
            self.reject(origin, why, pair)
            return
        self.inputs += 1
        self.parsed += 1
        if val != val or val in (float("inf"), float("-inf")):
            self.odd += 1
        self.seq.append(self.next_seq)
        self.next_seq += 1
        self.ts.append(us)
        self.metric.append(metric)
        self.labels.append(labels)
        self.value.append(val)
        self.origin.append(origin)

    def histogram(self, pair: Any, origin: str, metric: str, labels: str) -> None:
        """A native-histogram point ``[t, {count, sum, buckets}]``: ``<metric>_count`` and ``<metric>_sum`` rows."""
        if not isinstance(pair, list) or len(pair) != 2 or not isinstance(pair[1], dict):
            self.reject(origin, "expected a [time, {count, sum, buckets}] histogram point", pair)
            return
        us, why = _prom_time(pair[0])
        if us is None:
            self.reject(origin, why, pair)
            return
        count, why_c = _prom_value(pair[1].get("count"))
        total, why_s = _prom_value(pair[1].get("sum"))
        if count is None or total is None:
            self.reject(origin, f"histogram {why_c or why_s}", pair)
            return
        self.inputs += 1
        self.parsed += 1
        for suffix, val in (("_count", count), ("_sum", total)):
            self.seq.append(self.next_seq)
            self.next_seq += 1
            self.ts.append(us)
            self.metric.append(metric + suffix)
            self.labels.append(labels)
            self.value.append(val)
            self.origin.append(origin)

    def points(self, points: list[Any], prefix: str, metric: str, labels: str) -> None:
        """A matrix ``values`` list. When every pair is ``[number, "string"]`` (what Prometheus writes) it is
        read vectorised; pairs that do not read go through :meth:`point`, which says why."""
        fast = len(points) >= 32 and all(
            type(p) is list
            and len(p) == 2
            and (type(p[0]) is float or (type(p[0]) is int and -_MAX_EPOCH_S < p[0] < _MAX_EPOCH_S))
            and type(p[1]) is str
            for p in points
        )
        if not fast:
            for j, pair in enumerate(points):
                self.point(pair, f"{prefix}[{j}]", metric, labels)
            return
        df = pl.DataFrame(
            {"t": [p[0] for p in points], "v": [p[1] for p in points]}, schema={"t": pl.Float64, "v": pl.String}
        ).with_row_index("j")
        df = df.with_columns(pl.col("v").str.strip_chars().cast(pl.Float64, strict=False).alias("value"))
        ok = pl.col("t").is_finite() & (pl.col("t").abs() < _MAX_EPOCH_S) & pl.col("value").is_not_null()
        for j in df.filter(~ok).get_column("j").to_list():
            self.point(points[j], f"{prefix}[{j}]", metric, labels)
        good = df.filter(ok)
        base = self.next_seq
        self.next_seq += len(points)
        self.inputs += good.height
        self.parsed += good.height
        self.odd += good.select((pl.col("value").is_nan() | pl.col("value").is_infinite()).sum()).item()
        self.bulk.append(
            good.select(
                (pl.col("t") * 1e6)
                .round(0)
                .cast(pl.Int64)
                .cast(pl.Datetime("us"))
                .dt.replace_time_zone("UTC")
                .alias("ts"),
                pl.lit(metric, dtype=pl.String).alias("metric"),
                pl.lit(labels, dtype=pl.String).alias("labels"),
                "value",
                pl.format("{}[{}]", pl.lit(prefix), pl.col("j")).alias("origin"),
                (pl.col("j").cast(pl.Int64) + base).alias("__seq"),
            )
        )

    def frame(self) -> pl.DataFrame:
        slow = _series_frame(self.ts, self.metric, self.labels, self.value, self.origin)
        if not self.bulk:
            return slow
        slow = slow.with_columns(pl.Series("__seq", self.seq, dtype=pl.Int64))
        return pl.concat([slow, *self.bulk]).sort("__seq").drop("__seq")

    def rejects(self) -> pl.DataFrame:
        return rejects_frame(self.rej_origin, self.rej_reason, self.rej_raw)


def _prom_data(doc: Any, path: Path) -> dict[str, Any]:
    """The ``data`` object of a Prometheus API response, or a SourceError saying what the file is."""
    expected = 'a Prometheus HTTP API response {"status": "success", "data": {"resultType": ..., "result": [...]}}'
    if not isinstance(doc, dict):
        raise SourceError(f"{path}: top level is a JSON {type(doc).__name__}; expected {expected}")
    if doc.get("status") == "error":
        raise SourceError(
            f"{path}: the Prometheus query failed (status error): {doc.get('errorType', 'unknown error type')}: "
            f"{doc.get('error', 'no error message')}"
        )
    data = doc.get("data", doc if "resultType" in doc else None)
    if not isinstance(data, dict):
        raise SourceError(f"{path}: no 'data' object; expected {expected}")
    if "resultType" not in data:
        if isinstance(data.get("alerts"), list):
            raise SourceError(
                f"{path}: this is a Prometheus /api/v1/alerts response (alert states), not metric samples; "
                "load it with kind alerts"
            )
        if isinstance(data.get("groups"), list):
            raise SourceError(
                f"{path}: this is a Prometheus /api/v1/rules response (rule and alert states), not metric samples; "
                "load it with kind alerts"
            )
        raise SourceError(f"{path}: 'data' has no 'resultType'; expected {expected}")
    rtype = data.get("resultType")
    if rtype == "streams":
        raise SourceError(
            f"{path}: this is a Loki log query response (resultType streams): log lines, not metric samples; "
            "load it with kind logs. Loki metric queries (rate(), count_over_time()) return matrix or vector and load here"
        )
    if rtype not in ("matrix", "vector", "scalar"):
        raise SourceError(f"{path}: resultType {rtype!r} has no samples; expected matrix, vector or scalar")
    return data


def _walk_prometheus(data: dict[str, Any], path: Path, acc: _Acc, fallback_metric: str) -> None:
    """Add the samples of one response's ``data`` to ``acc``."""
    rtype, result = data["resultType"], data.get("result")
    where = str(path)
    if rtype == "scalar":
        acc.point(result, f"{where}#result", fallback_metric, "{}")
        return
    if not isinstance(result, list):
        raise SourceError(f"{path}: 'result' is a JSON {type(result).__name__}; a {rtype} result is a list of series")
    for i, item in enumerate(result):
        here = f"{where}#result[{i}]"
        if not isinstance(item, dict):
            acc.reject(here, "series entry is not an object", item)
            continue
        raw_labels = item.get("metric", {})
        if not isinstance(raw_labels, dict):
            acc.reject(here, "'metric' is not an object of labels", item)
            continue
        labels = {str(k): str(v) for k, v in raw_labels.items()}
        metric = labels.pop("__name__", None) or fallback_metric
        lab = to_json(labels)
        keys = ("values", "histograms") if rtype == "matrix" else ("value", "histogram")
        if not any(k in item for k in keys):
            acc.reject(here, f"series has no {' or '.join(keys)}", item)
            continue
        if rtype == "matrix":
            for key in ("values", "histograms"):
                points = item.get(key)
                if points is None:
                    continue
                if not isinstance(points, list):
                    acc.reject(f"{here}.{key}", f"'{key}' is not a list", points)
                elif key == "values":
                    acc.points(points, f"{here}.values", metric, lab)
                else:
                    for j, pair in enumerate(points):
                        acc.histogram(pair, f"{here}.histograms[{j}]", metric, lab)
        else:
            if "value" in item:
                acc.point(item["value"], f"{here}.value", metric, lab)
            if "histogram" in item:
                acc.histogram(item["histogram"], f"{here}.histogram", metric, lab)


def _sniff_prometheus(head: str) -> bool:
    """Query responses, and /api/v1/alerts|rules responses (so they get the "use kind alerts" error)."""
    if '"resultType"' in head:
        return True
    return '"status"' in head and '"data"' in head and ('"activeAt"' in head or '"groups"' in head)


@register(
    "metrics",
    "prometheus",
    table="series",
    description=(
        "Prometheus HTTP API query_range (matrix), query (vector) and scalar JSON responses; NaN/+Inf/-Inf kept; "
        "one file or a folder/glob of them"
    ),
    example='{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"api"},'
    '"values":[[1435781430.781,"1"],[1435781445.781,"NaN"]]}]}}',
    sniff=_sniff_prometheus,
)
def load_prometheus(req: LoadRequest) -> LoadResult:
    """Load Prometheus API JSON responses; unit = samples (see the module docstring)."""
    acc = _Acc()
    notes: list[str] = []
    option_metric = req.options.get("metric")
    for path in req.files():
        doc = textio.read_json(path)
        data = _prom_data(doc, path)
        fallback = str(option_metric) if option_metric else _stem(path)
        _walk_prometheus(data, path, acc, fallback)
        for key in ("warnings", "infos"):
            extra = doc.get(key) if isinstance(doc, dict) else None
            if isinstance(extra, list):
                notes.extend(f"{path.name}: Prometheus {key[:-1]}: {w}" for w in extra)
    if acc.odd:
        notes.append(f"{acc.odd} samples are NaN or ±Inf; kept as float NaN/inf")
    return LoadResult(
        frame=acc.frame(),
        rejects=acc.rejects(),
        inputs=acc.inputs,
        parsed_inputs=acc.parsed,
        unit="records",
        notes=tuple(notes),
        table="series",
    )


# ---------------------------------------------------------------------------------------------
# CSV reading (shared with the deploys csv loader)
# ---------------------------------------------------------------------------------------------


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
        while cand in seen or cand in (_LINE, _RAW):
            cand, k = f"{base}_{k}", k + 1
        seen.add(cand)
        out.append(cand)
    return out


def _parse_rows(data: pl.DataFrame, names: list[str], sep: str, path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split data lines (``line_no``, ``line``; no blanks) into string columns; (rows, bad-field-count rejects)."""
    schema = dict.fromkeys(names, pl.String)
    empty_rows = pl.DataFrame(schema={**schema, _LINE: pl.UInt32, _RAW: pl.String})
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
        df = df.with_columns(
            data.get_column("line_no").cast(pl.UInt32).alias(_LINE), data.get_column("line").alias(_RAW)
        )
        df = df.with_columns((pl.col(_RAW).str.count_matches(sep, literal=True) + 1).alias("__nf"))
        quoted = df.get_column("__nf").ne(n) & df.get_column(_RAW).str.contains('"', literal=True)
        if quoted.any():  # separators inside quoted fields do not count
            recount = df.filter(quoted).select(
                pl.col(_RAW).str.replace_all(_QUOTED, "").str.count_matches(sep, literal=True) + 1
            )
            df = df.with_columns(df.get_column("__nf").scatter(quoted.arg_true(), recount.to_series().cast(pl.UInt32)))
        good = df.filter(pl.col("__nf") == n).drop("__nf")
        bad = df.filter(pl.col("__nf") != n)
        rej = bad.select(
            origin_expr(path, _LINE).alias("origin"),
            pl.format("{} fields, the header has {}", pl.col("__nf"), pl.lit(n)).alias("reason"),
            pl.col(_RAW).alias("raw"),
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
    good = pl.DataFrame({**cols, _LINE: starts, _RAW: raws}, schema={**schema, _LINE: pl.UInt32, _RAW: pl.String})
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


# ---------------------------------------------------------------------------------------------
# CSV -> series
# ---------------------------------------------------------------------------------------------


@dataclass
class _Plan:
    """How one CSV block maps to samples."""

    time: str
    value_cols: list[str]
    label_cols: list[str]
    metric_col: str | None = None  # long layout: the column naming each row's metric
    names: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)  # wide: column -> (metric, labels)


def _find(columns: list[str], wanted: tuple[str, ...]) -> str | None:
    low = {c.lower(): c for c in reversed(columns)}
    for w in wanted:
        if w in low:
            return low[w]
    return None


def _option_list(value: Any, what: str, path: Path) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    raise SourceError(f"{path}: options.{what} must be a column name or a list of them, not {value!r}")


def _need_columns(cols: list[str], columns: list[str], what: str, path: Path) -> None:
    missing = [c for c in cols if c not in columns]
    if missing:
        raise SourceError(f"{path}: options.{what} names {missing}, not columns of the file; the columns are {columns}")


def _looks_like_time(values: pl.Series) -> bool:
    vals = values.drop_nulls().head(200)
    if vals.len() == 0 or _numeric_share(vals) > 0.5:
        return False
    parsed, _ = parse_ts(vals)
    return parsed.null_count() == 0


def _wide_name(col: str, metric_opt: str | None, single: bool, path: Path) -> tuple[str, dict[str, str]]:
    if metric_opt and single:
        return metric_opt, {}
    if col.lower() in _GENERIC_VALUE_NAMES:
        return (metric_opt or _stem(path)), {}
    name, labels = parse_display_name(col)
    return name or metric_opt or _stem(path), labels


def _plan_csv(block: CsvBlock, req: LoadRequest) -> tuple[_Plan, list[str]]:
    """Choose time, metric, value and label columns for a generic CSV block (see the module docstring)."""
    path, columns, opts = block.path, block.columns, req.options
    notes: list[str] = []
    ignored: list[str] = []
    time_opt = opts.get("time")
    if time_opt is not None:
        if time_opt not in columns:
            raise SourceError(f"{path}: options.time {time_opt!r} is not a column; the columns are {columns}")
        time = str(time_opt)
    else:
        found = _find(columns, _TIME_NAMES)
        if found is None:
            found = next((c for c in columns if _looks_like_time(block.rows.get_column(c))), None)
        if found is None:
            raise SourceError(
                f"{path}: cannot tell which column holds the time (none is named {', '.join(_TIME_NAMES)} and none "
                f"reads as date-times); set options.time to one of {columns}"
            )
        time = found
    first = block.header_names[0].lower() if block.header_names else None
    if columns and columns[0] != time and first in _INDEX_NAMES:
        ignored.append(columns[0])
        notes.append(f"{path.name}: first column {block.header_names[0]!r} is an index column; ignored")
    labels_opt = _option_list(opts.get("labels"), "labels", path)
    _need_columns(labels_opt, columns, "labels", path)
    values_opt = _option_list(opts.get("value"), "value", path)
    _need_columns(values_opt, columns, "value", path)
    metric_opt = opts.get("metric")
    if metric_opt is not None and not isinstance(metric_opt, str):
        raise SourceError(f"{path}: options.metric must be a column name or a metric name, not {metric_opt!r}")
    metric_col = metric_opt if metric_opt in columns else None
    if metric_opt is None:
        metric_col = _find([c for c in columns if c not in (time, *ignored)], _METRIC_NAMES)
    rest = [c for c in columns if c not in (time, *ignored, *labels_opt) and c != metric_col]
    if metric_col is not None:  # long layout
        if values_opt:
            if len(values_opt) != 1:
                raise SourceError(f"{path}: the long layout has one value column; options.value lists {values_opt}")
            value = values_opt[0]
        else:
            value = _find(rest, _GENERIC_VALUE_NAMES) or ""
            if not value:
                numeric = [c for c in rest if _numeric_share(block.rows.get_column(c)) > 0.5]
                if len(numeric) != 1:
                    raise SourceError(
                        f"{path}: long layout (metric column {metric_col!r}) but cannot tell the value column "
                        f"among {rest}; set options.value"
                    )
                value = numeric[0]
        labels = labels_opt or [c for c in rest if c != value]
        unused = [c for c in rest if c != value and c not in labels]
        if unused:
            notes.append(f"{path.name}: columns {unused} are not options.labels; ignored")
        notes.append(
            f"{path.name}: long layout: time={time!r}, metric={metric_col!r}, value={value!r}, labels={labels}"
        )
        return _Plan(time, [value], labels, metric_col=metric_col), notes
    if values_opt:
        value_cols = values_opt
        labels = labels_opt or [c for c in rest if c not in value_cols]
    else:
        value_cols, auto_labels = [], []
        for c in rest:
            (value_cols if _numeric_share(block.rows.get_column(c)) > 0.5 else auto_labels).append(c)
        labels = labels_opt or auto_labels
    unused = [c for c in rest if c not in value_cols and c not in labels]
    if unused:
        notes.append(f"{path.name}: columns {unused} are not options.labels; ignored")
    if not value_cols:
        raise SourceError(f"{path}: no numeric value column besides the time column {time!r}; columns are {columns}")
    names = {c: _wide_name(c, metric_opt, len(value_cols) == 1, path) for c in value_cols}
    shown = ", ".join(f"{c!r}->{names[c][0]}" for c in value_cols[:8]) + (" ..." if len(value_cols) > 8 else "")
    notes.append(f"{path.name}: wide layout: time={time!r}, metrics {shown}" + (f", labels={labels}" if labels else ""))
    return _Plan(time, value_cols, labels, names=names), notes


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
    block: CsvBlock, plan: _Plan, req: LoadRequest, notes: list[str]
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
    reason = pl.when(pl.col("__ts").is_null()).then(
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
        bad.select(origin_expr(path, _LINE)).to_series(),
        bad.get_column("__why"),
        bad.get_column(_RAW),
    )
    good = rows.filter(pl.col("__why").is_null())
    origin = origin_expr(path, _LINE).alias("origin")
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
    long = _name_series(long, plan, fallback or _stem(path))
    return long, rej, good.height


def _name_series(long: pl.DataFrame, plan: _Plan, fallback: str) -> pl.DataFrame:
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


def _load_csv_blocks(
    req: LoadRequest, planner: Callable[[CsvBlock, LoadRequest], tuple[_Plan, list[str]]], block_header: str | None
) -> LoadResult:
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
    frame = pl.concat(frames) if frames else _empty_series()
    return LoadResult(
        frame=frame.with_columns(pl.col("ts").cast(UTC_TS)),
        rejects=pl.concat(rejects) if rejects else rejects_frame([], [], []),
        inputs=inputs,
        parsed_inputs=parsed,
        unit="rows",
        notes=tuple(dict.fromkeys(notes)),
        table="series",
    )


_TIMEISH = re.compile(
    r"(?i)(^|[,;\t|\"])\s*\"?(timestamp|time|ts|datetime|date|_time|@timestamp|time_stamp)\"?\s*([,;\t|]|$)"
)
_GRAFANA_HEADER = r'^\s*"?(Time|Series)"?\s*[,;\t]'


def _first_content_line(head: str) -> str:
    for line in head.lstrip("\ufeff").splitlines():
        if line.strip() and not re.fullmatch(r"\s*sep=.\s*", line):
            return line
    return ""


def _sniff_csv(head: str) -> bool:
    line = _first_content_line(head)
    if not line or line.lstrip().startswith(("{", "[")) or re.match(_GRAFANA_HEADER, line):
        return False
    return bool(_TIMEISH.search(line)) or line.startswith(",timestamp,")


def _sniff_grafana(head: str) -> bool:
    return bool(re.match(_GRAFANA_HEADER, _first_content_line(head)))


@register(
    "metrics",
    "csv",
    table="series",
    description=(
        "generic metric CSV, long (timestamp,metric,value[,labels]) or wide (timestamp,col1,col2,...), "
        "options time/metric/value/labels/separator; pandas index columns, ns and Go times, epochs"
    ),
    example=",timestamp,namespace_app_http_request_error_rate\n0,2023-06-15 04:00:40.443000064,0.0",
    sniff=_sniff_csv,
)
def load_csv(req: LoadRequest) -> LoadResult:
    """Load generic metric CSVs; unit = data rows (see the module docstring for the layout rules)."""
    return _load_csv_blocks(req, _plan_csv, None)


def _plan_grafana(block: CsvBlock, req: LoadRequest) -> tuple[_Plan, list[str]]:
    """The two Grafana layouts: ``Time,<series>...`` and ``Series;Time;Value``."""
    path, columns = block.path, block.columns
    low = {c.lower(): c for c in columns}
    if "time" not in low:
        raise SourceError(
            f"{path}:{block.header_line}: no 'Time' column; a Grafana panel CSV starts with 'Time,<series>...' "
            f"(series joined by time) or 'Series;Time;Value' (series as rows); the header is {block.header_names}"
        )
    time = low["time"]
    labels = _option_list(req.options.get("labels"), "labels", path)
    _need_columns(labels, columns, "labels", path)
    if "series" in low and "value" in low:
        notes = [f"{path.name}: Grafana series-as-rows layout ({low['series']}, {time}, {low['value']})"]
        return _Plan(time, [low["value"]], labels, metric_col=low["series"]), notes
    value_cols = [c for c in columns if c != time and c not in labels]
    if not value_cols:
        raise SourceError(f"{path}:{block.header_line}: a 'Time' column but no series columns")
    metric_opt = req.options.get("metric")
    names = {
        c: _wide_name(c, metric_opt if isinstance(metric_opt, str) else None, len(value_cols) == 1, path)
        for c in value_cols
    }
    notes = [f"{path.name}: Grafana time-columns layout (block at line {block.header_line}), {len(value_cols)} series"]
    return _Plan(time, value_cols, labels, names=names), notes


@register(
    "metrics",
    "grafana-csv",
    table="series",
    description=(
        "Grafana panel CSV export: 'Time,<series>...' (series joined by time, ',' or ';', optional sep= line) "
        "or 'Series;Time;Value' (series as rows)"
    ),
    example='"Time","http_requests_total{code=\\"500\\"}","A-series"\n2025-06-15 14:20:00,12,0.5',
    sniff=_sniff_grafana,
)
def load_grafana_csv(req: LoadRequest) -> LoadResult:
    """Load Grafana panel CSV exports; unit = data rows (layouts in the module docstring)."""
    return _load_csv_blocks(req, _plan_grafana, r'^\s*"?Time"?\s*[,;\t]')
