"""Metric samples into the ``series`` frame, one loader module per format.

Formats
-------
``prometheus`` (:mod:`pmkit.sources.metrics.prometheus`)
    Prometheus HTTP API JSON: query_range (matrix), query (vector) and scalar responses.
``csv`` (:mod:`pmkit.sources.metrics.csv`)
    Generic metric CSV, long (``timestamp,metric,value[,labels]``) or wide (``timestamp,col1,col2,...``).
``grafana-csv`` (:mod:`pmkit.sources.metrics.grafana`)
    Grafana panel CSV export: ``Time,<series>...`` (series joined by time) or ``Series;Time;Value``.
``datadog`` (:mod:`pmkit.sources.metrics.datadog`)
    Datadog ``/api/v1/query`` (``series[].pointlist``) and ``/api/v2/query/timeseries`` JSON responses;
    records = points with a value (``null`` points are empty buckets, noted, not records).
``jsonl`` (:mod:`pmkit.sources.logs.jsonl`, rules in :mod:`pmkit.sources.jsonseries`)
    JSON lines whose fields are numbers (NGINX Plus status): chosen fields as series, counters as increases.

Every loader here ends in the ``series`` contract (``ts, source, metric, labels, value, origin``):
one row per sample, ``labels`` a JSON object with sorted keys (``{}`` when a series has none).

Definitions (what the load report's counts mean)
------------------------------------------------
sample
    One ``(time, value)`` point of one series. ``NaN``, ``+Inf`` and ``-Inf`` are samples: Prometheus
    writes them on purpose (an empty ratio, an overflowing bucket) and they are kept as float NaN/inf.
unit, ``prometheus``
    records = samples (see :mod:`pmkit.sources.metrics.prometheus`).
unit, ``csv`` / ``grafana-csv``
    records = data rows (blank lines are not rows). A row is parsed when its time reads and it gives at
    least one sample; it is rejected (origin ``path:line``) when its time cannot be read, a value cell
    is not a number, its field count differs from the header, or every value cell is empty. An empty
    cell (or ``null``, ``None``, ``NA``, ``N/A``, ``nil``) is a missing point, not an error: Grafana
    and pandas write them where a series has no sample.

What the loaders share lives in toolkit modules that import no loader: :mod:`pmkit.sources.series`
(the series frame, value cells, display names, the CSV column plan) and :mod:`pmkit.sources.tabular`
(CSV blocks, time columns).
"""
