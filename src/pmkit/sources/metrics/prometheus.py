"""Prometheus HTTP API JSON responses (format ``prometheus``) into the ``series`` frame.

Counting unit: records = samples. Every ``[t, "v"]`` pair of a matrix ``values`` list, every vector
``value``, the scalar result, every native-histogram point. A pair that cannot be read (wrong shape,
time not Unix seconds, value not a number) is one rejected record, origin ``path#result[i].values[j]``.
A series entry that is not an object or carries no points at all is one rejected record too.

Prometheus responses that are not metric samples
------------------------------------------------
``status: error`` raises a SourceError with the file and Prometheus' ``errorType: error``. Loki log
queries (``resultType: streams``) and ``/api/v1/alerts`` / ``/api/v1/rules`` responses raise a
SourceError saying what the file is and which kind reads it. Top-level ``warnings`` (and ``infos``)
become notes of the load. Native-histogram points give ``<metric>_count`` and ``<metric>_sum`` rows
(buckets are not kept). Long ``values`` lists are read vectorised; the rules above are the same.

Metric names and labels: the ``__name__`` label (removed from ``labels``), else ``options.metric``,
else the file name up to its first dot (``range_nan.result.json`` -> ``range_nan``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import polars as pl

from pmkit.errors import SourceError
from pmkit.sources import textio
from pmkit.sources.base import LoadRequest, LoadResult, rejects_frame, to_json
from pmkit.sources.registry import register
from pmkit.sources.series import file_stem, series_frame

__all__ = ["load_prometheus"]

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
        slow = series_frame(self.ts, self.metric, self.labels, self.value, self.origin)
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
    """Query responses, error responses (so they get the error with Prometheus' errorType), and
    /api/v1/alerts|rules responses (so they get the "use kind alerts" error)."""
    if '"resultType"' in head or ('"status"' in head and '"errorType"' in head):
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
    options=("metric",),
)
def load_prometheus(req: LoadRequest) -> LoadResult:
    """Load Prometheus API JSON responses; unit = samples (see the module docstring)."""
    acc = _Acc()
    notes: list[str] = []
    option_metric = req.options.get("metric")
    for path in req.files():
        doc = textio.read_json(path)
        data = _prom_data(doc, path)
        fallback = str(option_metric) if option_metric else file_stem(path)
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
