"""Datadog metric query exports (format ``datadog``) into the ``series`` frame.

Two API responses, told apart by their shape (one file each; a folder or glob of them loads them all):

- v1 ``GET /api/v1/query``: ``{"status": "ok", "res_type": "time_series", "series": [{"metric",
  "display_name", "scope", "tag_set", "expression", "unit", "interval", "pointlist": [[ms, value],
  ...]}], "from_date", "to_date", "query"}``. Times are epoch milliseconds (floats in the
  response; rounded to the microsecond). The metric name is ``metric``, else ``display_name``,
  else ``expression``. Labels are ``tag_set`` (``["host:a", "env:prod"]``), else ``scope``
  split on commas (``host:a,env:prod``; ``*`` means no tags).
- v2 ``POST /api/v2/query/timeseries``: ``{"data": {"type": "timeseries_response", "attributes":
  {"series": [{"group_tags", "query_index", "unit"}], "times": [ms, ...], "values": [[...], ...]}}}``.
  ``values[i]`` belongs to ``series[i]`` and its ``j``-th value to ``times[j]``. The response
  does not repeat the query, so the metric name is ``options.metric`` (a name for every
  series, or a list of names by ``query_index``), else the file name up to its first dot,
  followed by ``.q<query_index>`` when the file holds more than one query. Labels are
  ``group_tags``.

Counting unit: records = points with a value. A point whose value is ``null`` is Datadog's
"no data in this bucket": not a sample and not an error; such points are counted in the notes
only (as empty CSV cells are). A point that cannot be read (not a ``[time, value]`` pair, a
time that is not epoch milliseconds, a value that is not a number, a v2 value with no time)
is one rejected record, origin ``path#series[i].pointlist[j]`` or
``path#data.attributes.values[i][j]``; a series entry that is not an object, or has no point
list, is one rejected record too. Tags ``key:value`` become labels ``{"key": "value"}`` (a
tag without ``:`` has an empty value). Units (``unit[0].name`` / ``short_name``) and the v1
``interval`` are said in the notes. An API error response (``{"errors": [...]}``, v1
``status: error``) is a SourceError quoting Datadog's message.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pmkit.errors import SourceError
from pmkit.sources import textio
from pmkit.sources.base import LoadRequest, LoadResult, rejects_frame, to_json
from pmkit.sources.datadogcore import check_api_error, epoch_us, tag_map
from pmkit.sources.jsondocs import check_options
from pmkit.sources.registry import register
from pmkit.sources.series import file_stem, series_frame

__all__ = ["load_datadog_metrics"]

_EXPECTED = (
    'a Datadog /api/v1/query response {"series": [{"metric", "pointlist": [[ms, value]]}]} or a '
    '/api/v2/query/timeseries response {"data": {"attributes": {"series", "times", "values"}}}'
)


@dataclass
class _Points:
    """Samples, rejects and counts gathered from the responses."""

    ts: list[int] = field(default_factory=list)
    metric: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    value: list[float] = field(default_factory=list)
    origin: list[str] = field(default_factory=list)
    rej_origin: list[str] = field(default_factory=list)
    rej_reason: list[str] = field(default_factory=list)
    rej_raw: list[str | None] = field(default_factory=list)
    nulls: int = 0
    units: Counter[str] = field(default_factory=Counter)

    def reject(self, origin: str, reason: str, raw: Any) -> None:
        self.rej_origin.append(origin)
        self.rej_reason.append(reason)
        self.rej_raw.append(to_json(raw)[:2000])

    def add(self, t: Any, v: Any, origin: str, metric: str, labels: str, raw: Any) -> None:
        """One point: a sample, a null (no data), or a reject."""
        if v is None:
            self.nulls += 1
            return
        try:
            us = epoch_us(t, "ms")
        except ValueError as exc:
            self.reject(origin, str(exc), raw)
            return
        if isinstance(v, bool) or not isinstance(v, int | float):
            self.reject(origin, f"value {v!r} is not a number", raw)
            return
        self.ts.append(us)
        self.metric.append(metric)
        self.labels.append(labels)
        self.value.append(float(v))
        self.origin.append(origin)


def _labels(tags: Any, scope: Any = None) -> str:
    if not isinstance(tags, list) or not tags:
        tags = [] if not isinstance(scope, str) or scope.strip() in ("", "*") else scope.split(",")
    return to_json(tag_map(tags))


def _unit_name(unit: Any) -> str | None:
    first = unit[0] if isinstance(unit, list) and unit else unit
    if isinstance(first, dict):
        name = first.get("name") or first.get("short_name")
        return str(name) if name else None
    return None


def _v1(doc: dict[str, Any], path: Path, acc: _Points, fallback: str) -> None:
    series = doc["series"]
    if not isinstance(series, list):
        raise SourceError(f"{path}: 'series' is a JSON {type(series).__name__}; expected a list of series")
    for i, s in enumerate(series):
        here = f"{path}#series[{i}]"
        if not isinstance(s, dict):
            acc.reject(here, "series entry is not an object", s)
            continue
        points = s.get("pointlist")
        if not isinstance(points, list):
            acc.reject(here, "series has no 'pointlist' list", s)
            continue
        metric = next(
            (str(s[k]) for k in ("metric", "display_name", "expression") if isinstance(s.get(k), str) and s[k]),
            fallback,
        )
        labels = _labels(s.get("tag_set"), s.get("scope"))
        unit = _unit_name(s.get("unit"))
        interval = s.get("interval")
        said = [x for x in (unit and f"unit {unit}", interval and f"every {interval} s") if x]
        if said:
            acc.units[f"{metric}: " + ", ".join(said)] += 1
        for j, p in enumerate(points):
            where = f"{here}.pointlist[{j}]"
            if not isinstance(p, list) or len(p) != 2:
                acc.reject(where, "expected a [time in ms, value] pair", p)
                continue
            acc.add(p[0], p[1], where, metric, labels, p)


def _v2_names(req: LoadRequest, path: Path, indexes: set[int]) -> dict[int, str]:
    option = req.options.get("metric")
    if isinstance(option, list):
        names = {i: str(n) for i, n in enumerate(option)}
        missing = sorted(i for i in indexes if i not in names)
        if missing:
            raise SourceError(
                f"{path}: options.metric names {len(option)} queries; the file has query_index {missing} too"
            )
        return names
    if option is not None and not isinstance(option, str):
        raise SourceError(f"{path}: options.metric must be a name or a list of names by query_index")
    base = str(option) if option else file_stem(path)
    if len(indexes) <= 1:
        return {i: base for i in indexes}
    return {i: f"{base}.q{i}" for i in indexes}


def _v2(req: LoadRequest, doc: dict[str, Any], path: Path, acc: _Points) -> None:
    data = doc["data"]
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    attrs = data.get("attributes") if isinstance(data, dict) else None
    if not isinstance(attrs, dict):
        raise SourceError(f"{path}: 'data' has no 'attributes' object; expected {_EXPECTED}")
    if isinstance(attrs.get("columns"), list) and "times" not in attrs:
        raise SourceError(
            f"{path}: a Datadog scalar query response (data.attributes.columns: one value per group, no times); "
            "export the query from /api/v2/query/timeseries to get points"
        )
    series, times, values = attrs.get("series"), attrs.get("times"), attrs.get("values")
    for key, got in (("series", series), ("times", times), ("values", values)):
        if not isinstance(got, list):
            raise SourceError(f"{path}: data.attributes.{key} is not a list; expected {_EXPECTED}")
    assert isinstance(series, list) and isinstance(times, list) and isinstance(values, list)
    indexes = {
        s.get("query_index", 0) for s in series if isinstance(s, dict) and isinstance(s.get("query_index", 0), int)
    }
    names = _v2_names(req, path, indexes)
    for i in range(max(len(series), len(values))):
        here = f"{path}#data.attributes.values[{i}]"
        s = series[i] if i < len(series) else None
        row = values[i] if i < len(values) else None
        if not isinstance(s, dict):
            acc.reject(f"{path}#data.attributes.series[{i}]", "no series object for this values list", s)
            continue
        if not isinstance(row, list):
            acc.reject(here, "series has no values list", row)
            continue
        idx = s.get("query_index", 0)
        metric = names.get(idx, file_stem(path)) if isinstance(idx, int) else file_stem(path)
        labels = _labels(s.get("group_tags"))
        unit = _unit_name(s.get("unit"))
        if unit:
            acc.units[f"{metric}: unit {unit}"] += 1
        for j, v in enumerate(row):
            where = f"{here}[{j}]"
            if j >= len(times):
                acc.reject(where, f"value {j} has no time (times holds {len(times)})", v)
                continue
            acc.add(times[j], v, where, metric, labels, [times[j], v])


def _sniff_datadog_metrics(head: str) -> bool:
    return any(m in head for m in ('"pointlist"', '"res_type"', '"group_tags"', '"timeseries_response"'))


@register(
    "metrics",
    "datadog",
    table="series",
    description=(
        "Datadog metric queries: /api/v1/query JSON (series[].pointlist [[ms, value]]) and "
        "/api/v2/query/timeseries JSON (data.attributes series/times/values); tags -> labels"
    ),
    example=(
        '{"status":"ok","res_type":"time_series","series":[{"metric":"trace.http.request.errors",'
        '"tag_set":["service:checkout","env:prod"],"interval":60,"pointlist":[[1750000000000.0,3.0],'
        "[1750000060000.0,41.0],[1750000120000.0,null]]}]}"
    ),
    sniff=_sniff_datadog_metrics,
    sniff_order=20,
    options=("metric",),
)
def load_datadog_metrics(req: LoadRequest) -> LoadResult:
    """Datadog metric query responses -> series; unit = points with a value (see the module docstring)."""
    check_options(req, ("metric",))
    acc = _Points()
    notes: list[str] = []
    for path in req.files():
        doc = textio.read_json(path)
        check_api_error(doc, path, "metric points")
        if isinstance(doc, dict) and "series" in doc:
            fallback = str(req.options["metric"]) if isinstance(req.options.get("metric"), str) else file_stem(path)
            _v1(doc, path, acc, fallback)
        elif isinstance(doc, dict) and "data" in doc:
            _v2(req, doc, path, acc)
        else:
            got = (
                f"a JSON object with keys {sorted(doc)[:8]}"
                if isinstance(doc, dict)
                else f"a JSON {type(doc).__name__}"
            )
            raise SourceError(f"{path}: {got}; expected {_EXPECTED}")
    if acc.nulls:
        notes.append(f"{acc.nulls} null points (no data in the bucket) are not samples; not counted as records")
    notes += [f"datadog {u}" for u in sorted(acc.units)]
    return LoadResult(
        frame=series_frame(acc.ts, acc.metric, acc.labels, acc.value, acc.origin),
        rejects=rejects_frame(acc.rej_origin, acc.rej_reason, acc.rej_raw),
        inputs=len(acc.ts) + len(acc.rej_origin),
        parsed_inputs=len(acc.ts),
        unit="records",
        notes=tuple(notes),
        table="series",
    )
