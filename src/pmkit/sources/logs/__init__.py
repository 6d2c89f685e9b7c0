"""Loaders of kind ``logs``, one module per format.

- :mod:`.access`: ``combined`` and ``common`` access logs (nginx/Apache)
- :mod:`.nginx_error`: ``nginx-error``
- :mod:`.jsonl`: ``jsonl`` (JSON lines, Docker json-file)
- :mod:`.logfmt`: ``logfmt``
- :mod:`.syslog`: ``syslog`` (RFC 3164, RFC 5424, ISO 8601-stamped)
- :mod:`.log4j`: ``log4j`` (Java logging layouts)
- :mod:`.grok`: ``grok`` (any grok expression, or a loghub preset)
- :mod:`.datadog`: ``datadog`` (Datadog log search JSON pages; records = logs)
- ``datadog-events`` (:mod:`pmkit.sources.alerts.datadog_events`, registered for kinds ``logs`` and
  ``alerts``): Datadog events API JSON; monitor events become alerts, other events log lines
- :mod:`.kubernetes_events`: ``kubernetes-events`` (kubectl get events lists and watch streams; also a
  ``deploys`` format: rollouts as changes)
- :mod:`.csv`: ``csv`` (log exports as CSV/TSV: CloudWatch Logs Insights, Loki, BigQuery, Splunk)

``jsonl`` with ``options: {as: series}`` gives metric series instead of events (:mod:`pmkit.sources.jsonseries`).

Every physical line ends in an event (counted in ``parsed_inputs``) or in the rejects
with its ``path:line`` and a reason. What several of them share lives in toolkit modules
directly under :mod:`pmkit.sources` (``linescan``, ``jsonattrs``, ``ndjson``, ``fieldmap``,
``multiline``, ``levels``, ``yearless``, ``grokcore``).
"""
