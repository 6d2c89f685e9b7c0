"""Deploys and other changes into the ``events`` frame (``kind="deploy"``), one loader module per format.

Every event here is a change an SRE looks at when asking "what changed?": one event per deployment
or status change, commit, rollout revision or rollout event, Argo CD sync, generic deploy record.

Formats and their counting units (``parsed + rejected == inputs``; each module's docstring says more)
-----------------------------------------------------------------------------------------------------
``github-deployments`` (:mod:`pmkit.sources.deploys.github`; unit: records = deployment objects + statuses)
    GitHub REST deployments lists (with statuses), deployment objects, ``deployment`` /
    ``deployment_status`` webhook payloads.
``git-log`` (:mod:`pmkit.sources.deploys.git_log`; unit: commits)
    ``git log`` default / ``--pretty=fuller`` output, or one commit per line with a separator.
``kubectl-rollout`` (:mod:`pmkit.sources.deploys.kubectl`; unit: table rows)
    ``kubectl rollout history`` (``--revision=N`` too) and ``kubectl describe deployment`` Events tables.
``argocd`` (:mod:`pmkit.sources.deploys.argocd`; unit: records = history entries + a failed or running ``operationState``)
    Argo CD Application ``status.history`` (app get -o json, ApplicationList, or the history list).
``kubernetes-events`` (:mod:`pmkit.sources.logs.kubernetes_events`; unit: records = Event objects)
    ``kubectl get events`` lists and watch streams; rollouts (a new replica set scaled up, DeploymentRollback,
    Argo Rollouts RolloutUpdated) are changes, every other Event a log event.
``csv`` and ``json`` (:mod:`pmkit.sources.deploys.generic`; unit: rows / records)
    Generic deploy records, columns or keys found by name (``fields`` maps custom ones).

Columns, for every format
-------------------------
- ``level``: ``error`` for failure/error states (GitHub ``failure``/``error``, generic ``failed``...,
  Argo CD ``Failed``/``Error`` operations), ``warning`` for kubectl ``Warning`` events, else ``info``.
- ``actor``: who deployed (GitHub creator login, commit author, Argo CD ``initiatedBy``, kubectl ``From``).
- ``service``: ``service`` of the source if set, else what the format says (see each format).
- ``attrs`` (JSON, sorted keys): everything else, always with ``change_type`` (``deployment``,
  ``commit``, ``rollout``, ``sync``, or a generic record's ``type``) and ``rollback`` (true/false).
  ``rollback`` is true when the task, description, change cause, reason or payload says so
  (``deploy:rollback``, "Rollback to v2.14.2", ``payload.rollback_of``, ``DeploymentRollback``,
  ``kubectl rollout undo``, a ``Revert "..."`` commit, an Argo CD sync back to an earlier revision):
  change-suspect ranking relies on it.

What the loaders share lives in toolkit modules that import no loader: :mod:`pmkit.sources.changes`
(rollback words, failure states, the event message), :mod:`pmkit.sources.records` (the draft/reject
accumulator that builds the LoadResult) and :mod:`pmkit.sources.tabular` (CSV blocks, time columns).
"""
