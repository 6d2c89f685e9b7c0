"""Grafana alerting webhook payloads (``grafana-alert``) -> ``alert`` events.

Grafana's webhook is Alertmanager's plus fields (orgId, values, valueString, silence,
dashboard, panel and image URLs; the payload's title, state and message), all kept in
``attrs``; the rules are those of :mod:`pmkit.sources.alertcore` and ``attrs.alert_source``
is ``grafana``. Grafana computes its own fingerprints, so only compare like with like.
Grafana's legacy (pre-8) webhook is not read.
"""

from __future__ import annotations

from pmkit.sources.alertcore import AM_MARKERS, GRAFANA_MARKERS, load_webhook_payloads
from pmkit.sources.base import LoadRequest, LoadResult
from pmkit.sources.registry import register


def _sniff_grafana(head: str) -> bool:
    return bool(GRAFANA_MARKERS.search(head)) and ('"alerts"' in head or bool(AM_MARKERS.search(head)))


@register(
    "alerts",
    "grafana-alert",
    description="Grafana alerting webhook payloads (Alertmanager shape plus orgId, values, panel/dashboard URLs)",
    example=(
        '{"receiver": "oncall", "status": "firing", "orgId": 1, "title": "[FIRING:1] HighLatency",\n'
        ' "state": "alerting", "alerts": [{"status": "firing", "labels": {"alertname": "HighLatency"},\n'
        '   "annotations": {"summary": "p99 above 2s"}, "startsAt": "2025-06-15T16:25:00+02:00",\n'
        '   "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "c6eadffa33fcdf37", "values": {"B": 2.4},\n'
        '   "dashboardURL": "https://grafana.example/d/abc", "panelURL": "https://grafana.example/d/abc?viewPanel=2"}]}'
    ),
    sniff=_sniff_grafana,
    options=(),
)
def load_grafana_alert(req: LoadRequest) -> LoadResult:
    """Grafana alerting webhook payloads -> ``alert`` events (the Alertmanager rules, Grafana fields kept)."""
    return load_webhook_payloads(req, "grafana")
