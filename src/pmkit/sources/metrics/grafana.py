"""Grafana panel CSV exports (format ``grafana-csv``) into the ``series`` frame.

Counting unit: data rows (see :mod:`pmkit.sources.metrics`); value cells and series names follow
:mod:`pmkit.sources.series` (``name{k="v", ...}`` display names are split into metric and labels).

The two layouts supported
-------------------------
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
data" off); all go through :func:`pmkit.sources.tabular.parse_time_column`.
"""

from __future__ import annotations

from pmkit.errors import SourceError
from pmkit.sources.base import LoadRequest, LoadResult
from pmkit.sources.registry import register
from pmkit.sources.series import Plan, grafana_header, load_csv_blocks, need_columns, option_list, wide_name
from pmkit.sources.tabular import CsvBlock

__all__ = ["load_grafana_csv"]


def _sniff_grafana(head: str) -> bool:
    return grafana_header(head)


def _plan_grafana(block: CsvBlock, req: LoadRequest) -> tuple[Plan, list[str]]:
    """The two Grafana layouts: ``Time,<series>...`` and ``Series;Time;Value``."""
    path, columns = block.path, block.columns
    low = {c.lower(): c for c in columns}
    if "time" not in low:
        raise SourceError(
            f"{path}:{block.header_line}: no 'Time' column; a Grafana panel CSV starts with 'Time,<series>...' "
            f"(series joined by time) or 'Series;Time;Value' (series as rows); the header is {block.header_names}"
        )
    time = low["time"]
    labels = option_list(req.options.get("labels"), "labels", path)
    need_columns(labels, columns, "labels", path)
    if "series" in low and "value" in low:
        notes = [f"{path.name}: Grafana series-as-rows layout ({low['series']}, {time}, {low['value']})"]
        return Plan(time, [low["value"]], labels, metric_col=low["series"]), notes
    value_cols = [c for c in columns if c != time and c not in labels]
    if not value_cols:
        raise SourceError(f"{path}:{block.header_line}: a 'Time' column but no series columns")
    metric_opt = req.options.get("metric")
    names = {
        c: wide_name(c, metric_opt if isinstance(metric_opt, str) else None, len(value_cols) == 1, path)
        for c in value_cols
    }
    notes = [f"{path.name}: Grafana time-columns layout (block at line {block.header_line}), {len(value_cols)} series"]
    return Plan(time, value_cols, labels, names=names), notes


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
    options=("labels", "metric", "separator"),
)
def load_grafana_csv(req: LoadRequest) -> LoadResult:
    """Load Grafana panel CSV exports; unit = data rows (layouts in the module docstring)."""
    return load_csv_blocks(req, _plan_grafana, r'^\s*"?Time"?\s*[,;\t]')
