"""Alertmanager webhook payloads (``alertmanager``, v4) -> ``alert`` events.

A ``firing`` event per alert at ``startsAt`` and a ``resolved`` event at ``endsAt``;
the rules (levels, messages, attrs, fingerprints, dedup keys, unknown resolve times)
are those of :mod:`pmkit.sources.alertcore`, shared with Grafana alerting. Files are
read as :mod:`pmkit.sources.alerts` says.
"""

from __future__ import annotations

from pmkit.sources.alertcore import AM_MARKERS, GRAFANA_MARKERS, load_webhook_payloads
from pmkit.sources.base import LoadRequest, LoadResult
from pmkit.sources.registry import register


def _sniff_alertmanager(head: str) -> bool:
    return bool(AM_MARKERS.search(head)) and not GRAFANA_MARKERS.search(head)


@register(
    "alerts",
    "alertmanager",
    description="Alertmanager webhook payloads (v4): a firing event per alert at startsAt, a resolved event at endsAt",
    example=(
        '{"version": "4", "status": "firing", "receiver": "team-pager", "groupKey": "{}:{alertname=\\"HighErrorRate\\"}",\n'
        ' "alerts": [{"status": "firing", "labels": {"alertname": "HighErrorRate", "severity": "critical",\n'
        '   "service": "checkout"}, "annotations": {"summary": "5xx above 5% for 10m"},\n'
        '   "startsAt": "2025-06-15T14:23:05.123456789Z", "endsAt": "0001-01-01T00:00:00Z",\n'
        '   "fingerprint": "a1b2c3d4e5f60718"}]}'
    ),
    sniff=_sniff_alertmanager,
    options=(),
)
def load_alertmanager(req: LoadRequest) -> LoadResult:
    """Alertmanager webhook payloads -> ``alert`` events (firing at startsAt, resolved at endsAt)."""
    return load_webhook_payloads(req, "alertmanager")
