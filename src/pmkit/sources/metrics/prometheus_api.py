"""Metrics pulled from a live Prometheus (format ``prometheus-api``): the saved ``query_range`` response.

``pmkit pull prometheus URL --query Q`` (:mod:`pmkit.pull`) runs the range query over the incident window,
writes the response into the incident folder next to the query (``metrics/<name>.prometheus.json`` and
``metrics/<name>.promql``) and records the source with its ``pull:`` record (URL without credentials,
query, start, end, step, pulled-at time, query file, ``auth_env``) in incident.yaml. Loading never touches
the network: the render is reproducible offline from the saved file.

The response is read by the ``prometheus`` loader (looked up in the registry, so the rules are one:
records = samples, see :mod:`pmkit.sources.metrics.prometheus`). The load report's notes say where the
data came from: the URL, the query, its window and step and when it was pulled.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pmkit.errors import SourceError
from pmkit.sources import registry
from pmkit.sources.base import LoadRequest, LoadResult
from pmkit.sources.registry import register


def provenance(pull: Any) -> str:
    """The load-report note of a ``pull:`` record: which query produced this evidence, from where, when."""
    if not isinstance(pull, dict):
        return "no pull: record; the file is read as it is"
    return (
        f"pulled from {pull.get('url')} at {pull.get('pulled_at')}: query_range {pull.get('query')!r} "
        f"from {pull.get('start')} to {pull.get('end')} step {pull.get('step')}"
    )


@register(
    "metrics",
    "prometheus-api",
    table="series",
    description=(
        "a Prometheus query_range response saved by `pmkit pull prometheus` (its pull: record says the URL, "
        "query, window and step); read offline"
    ),
    example='{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"api"},'
    '"values":[[1435781430.781,"1"],[1435781445.781,"1"]]}]}}',
    options=("pull", "metric"),
)
def load_prometheus_api(req: LoadRequest) -> LoadResult:
    """Read the saved response with the ``prometheus`` loader; add the pull's provenance to the notes."""
    pull = req.options.get("pull")
    options = {k: v for k, v in req.options.items() if k != "pull"}
    try:
        res = registry.get("metrics", "prometheus").func(replace(req, format="prometheus", options=options))
    except SourceError as exc:
        if isinstance(pull, dict):
            raise SourceError(f"{exc} (pulled by `pmkit pull prometheus`: {provenance(pull)}; pull it again)") from None
        raise
    query = provenance(pull) if isinstance(pull, dict) else ""
    return replace(res, notes=(provenance(pull), *res.notes), query=query)
