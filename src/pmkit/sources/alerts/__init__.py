"""Alert and page loaders, one file per format (kind ``alerts``):

- ``alertmanager`` (:mod:`.alertmanager`): Alertmanager webhook payloads (v4) -> ``alert`` events.
- ``grafana-alert`` (:mod:`.grafana`): Grafana alerting webhook payloads -> ``alert`` events.
- ``pagerduty`` (:mod:`.pagerduty`): PagerDuty v3 webhooks, legacy v2 webhooks, Events API v2 and
  change events -> ``page`` events (``deploy`` for change events).
- ``datadog-events`` (:mod:`.datadog_events`, also registered for kind ``logs``): Datadog events API
  v1/v2 JSON -> ``alert`` events for monitor events (firing/resolved), ``log`` events for the rest.

What Alertmanager and Grafana share lives in :mod:`pmkit.sources.alertcore`; the JSON document
reading all three share in :mod:`pmkit.sources.jsondocs`, the time parser in :mod:`pmkit.sources.rfc3339`.

Every loader here reads JSON documents: one file, a glob, or a folder of files (in a
folder or glob only ``*.json``, ``*.jsonc``, ``*.ndjson``, ``*.jsonl`` and their
``.gz`` forms are read; other files, such as a README, are skipped and the load
notes say which). A file holds one document, a JSON list of them, or one document
per line (NDJSON). A file that is not JSON at all, or in which nothing has the
expected shape, raises :class:`~pmkit.errors.SourceError` naming the file and what
was expected; a single record that cannot be used goes to the rejects with its
origin (``path#alerts[2]``, ``path#messages[0]``, ``path:7`` for an NDJSON line).

Times are RFC 3339 / ISO 8601 with any offset (``Z``, ``-05:00``, ``+0000``) and any
number of fraction digits; they are read exactly, truncated (never rounded) to the
microsecond, and a time without an offset is read in the source's ``timezone``
(UTC when none is given).
"""
