"""Argo CD application history (format ``argocd``) into deploy (sync) events.

Counting unit: records = history entries + a failed or running ``operationState``.

An Application object (``argocd app get -o json``, ``kubectl get application -o json``), an
ApplicationList, its ``status.history`` list, or a ``{"history": [...]}`` object. Each entry ``{id,
revision, deployedAt, deployStartedAt, source{repoURL, path, targetRevision}, initiatedBy{username |
automated}}`` is a sync event at ``deployedAt``: a successful rollout (``attrs.state`` success) that
started at ``deployStartedAt`` (``attrs.started_at``), of version ``source.targetRevision`` when that
names one (a tag, a chart version; not a branch such as ``HEAD``/``main`` or a commit), else of the
revision's first 12 characters (``attrs.version``; the commit in ``attrs.sha``). Argo CD keeps only successful syncs in history, so
an ``operationState`` that is not ``Succeeded`` is one more record (a ``Succeeded`` one repeats the
newest history entry and is not counted). An entry whose revision equals an earlier, not immediately
preceding entry's is a rollback. Service: the Application name.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pmkit.errors import SourceError
from pmkit.sources import changes, textio
from pmkit.sources.base import LoadRequest, LoadResult
from pmkit.sources.records import Draft, Records
from pmkit.sources.registry import register

__all__ = ["load_argocd"]


def _argo_revision(entry: dict[str, Any]) -> Any:
    """``revision``, or the first of ``revisions`` (multi-source applications)."""
    revs = entry.get("revisions")
    return entry.get("revision") or (revs[0] if isinstance(revs, list) and revs else None)


_SHA = re.compile(r"[0-9a-f]{7,40}")
_BRANCHES = frozenset({"head", "main", "master", "trunk", "develop", "development"})


def _argo_version(target: Any, revision: Any) -> str | None:
    """The version a sync deployed: ``source.targetRevision`` when it names one (a tag such as ``v3.8.0``, a
    chart version), else the synced revision (the commit, 12 characters). A branch (``HEAD``, ``main``...) or
    the commit itself is not a version."""
    t = str(target).strip() if target is not None else ""
    if t and t.lower() not in _BRANCHES and t != str(revision) and not _SHA.fullmatch(t):
        return t
    return str(revision)[:12] if revision else None


def _argo_actor(initiated: Any) -> str | None:
    if not isinstance(initiated, dict):
        return None
    if initiated.get("username"):
        return str(initiated["username"])
    return "argocd (automated)" if initiated.get("automated") else None


def _argo_apps(doc: Any, path: Path) -> list[tuple[str | None, Any, Any, str]]:
    """(app name, history, operationState, origin prefix) for each application in the document."""
    where = str(path)
    if isinstance(doc, list):
        return [(None, doc, None, f"{where}#")]
    if not isinstance(doc, dict):
        raise SourceError(f"{path}: top level is a JSON {type(doc).__name__}; {_ARGO_EXPECTED}")
    if isinstance(doc.get("items"), list):
        apps: list[tuple[str | None, Any, Any, str]] = []
        for k, item in enumerate(doc["items"]):
            apps.extend((n, h, o, f"{where}#items[{k}].{p.split('#', 1)[1]}") for n, h, o, p in _argo_apps(item, path))
        return apps
    if "history" in doc and "status" not in doc:
        return [(None, doc["history"], doc.get("operationState"), f"{where}#history")]
    status = doc.get("status")
    if isinstance(status, dict) and ("history" in status or "operationState" in status or "sync" in status):
        meta = doc["metadata"] if isinstance(doc.get("metadata"), dict) else {}
        return [(meta.get("name"), status.get("history", []), status.get("operationState"), f"{where}#status.history")]
    raise SourceError(f"{path}: {_ARGO_EXPECTED}; keys are {sorted(doc)[:12]}")


_ARGO_EXPECTED = (
    "expected an Argo CD Application (argocd app get -o json), an ApplicationList, its status.history list, "
    'or {"history": [...]}'
)


def _argo_entry(
    entry: dict[str, Any], app: str | None, req: LoadRequest, rollback_to: int | None
) -> tuple[str, dict[str, Any], str | None, str | None]:
    source = entry["source"] if isinstance(entry.get("source"), dict) else {}
    sources = entry.get("sources") if isinstance(entry.get("sources"), list) else None
    revision = _argo_revision(entry)
    target = source.get("targetRevision")
    service = (
        req.service or app or (Path(str(source["path"])).name if source.get("path") else None) or source.get("chart")
    )
    attrs = {
        "change_type": "sync",
        "application": app,
        "id": entry.get("id"),
        "revision": revision,
        "revisions": entry.get("revisions"),
        "deploy_started_at": entry.get("deployStartedAt"),
        "deployed_at": entry.get("deployedAt"),
        "repo_url": source.get("repoURL"),
        "path": source.get("path"),
        "chart": source.get("chart"),
        "target_revision": target,
        "sources": sources,
        "initiated_by": entry.get("initiatedBy"),
        "rollback": rollback_to is not None,
        "rollback_to_id": rollback_to,
    }
    version = str(revision)[:12] if revision else None
    if target and version and str(target) != str(revision):
        version = f"{version} ({target})"
    # what the change model reads (analysis/changes.py): the version deployed, the commit, a successful
    # rollout (history holds successful syncs only) and when it started
    attrs["version"] = _argo_version(target, revision)
    attrs["sha"] = str(revision) if revision and _SHA.fullmatch(str(revision)) else None
    attrs["state"] = "success"
    attrs["started_at"] = entry.get("deployStartedAt")
    return (
        version or "",
        {k: v for k, v in attrs.items() if v is not None},
        service,
        _argo_actor(entry.get("initiatedBy")),
    )


def _sniff_argocd(head: str) -> bool:
    return changes.json_head_has(head) and ('"deployedAt"' in head or "argoproj.io" in head)


@register(
    "deploys",
    "argocd",
    description=(
        "Argo CD Application status.history (app get -o json, ApplicationList, or the history list) plus a failed "
        "operationState; one sync event per history entry"
    ),
    example='{"metadata": {"name": "payments-api"}, "status": {"history": [{"id": 7, "revision": "a1b2c3d", '
    '"deployStartedAt": "2025-06-15T14:01:50Z", "deployedAt": "2025-06-15T14:02:11Z", '
    '"source": {"repoURL": "https://github.com/acme/deploy", "path": "payments", "targetRevision": "HEAD"}, '
    '"initiatedBy": {"username": "alice"}}]}}',
    sniff=_sniff_argocd,
    options=(),
)
def load_argocd(req: LoadRequest) -> LoadResult:
    """Load Argo CD application history; unit = history entries + non-Succeeded operationStates."""
    out = Records("deploy")
    for path in req.files():
        try:
            doc = textio.read_json(path)
        except SourceError as exc:
            raise SourceError(f"{exc}; {_ARGO_EXPECTED} (the argocd app history table output is not read)") from None
        for app, history, op, prefix in _argo_apps(doc, path):
            if not isinstance(history, list):
                raise SourceError(f"{path}: status.history is a JSON {type(history).__name__}, expected a list")
            if not history:
                out.notes.append(f"{path.name}: application {app or '?'} has an empty history")
            seen: list[tuple[Any, Any]] = []  # (revision, id) in order
            for k, entry in enumerate(history):
                origin = f"{prefix}[{k}]"
                if not isinstance(entry, dict):
                    out.reject(origin, "history entry is not an object", entry)
                    continue
                rev = _argo_revision(entry)
                earlier = [eid for r, eid in seen[:-1] if r == rev and rev is not None]
                prev_rev = seen[-1][0] if seen else None
                rollback_to = earlier[-1] if earlier and prev_rev != rev else None
                seen.append((rev, entry.get("id")))
                version, attrs, service, actor = _argo_entry(entry, app, req, rollback_to)
                verb = "rollback" if rollback_to is not None else "sync"
                msg = changes.message(verb, service, version or None, None, "deployed", None)
                out.add(Draft(entry.get("deployedAt"), origin, entry, msg, attrs, service, "info", actor))
            if isinstance(op, dict) and op.get("phase") and op.get("phase") != "Succeeded":
                phase = str(op["phase"])
                operation = op["operation"] if isinstance(op.get("operation"), dict) else {}
                sync = operation["sync"] if isinstance(operation.get("sync"), dict) else {}
                result = op["syncResult"] if isinstance(op.get("syncResult"), dict) else {}
                revision = result.get("revision") or sync.get("revision")
                service = req.service or app
                attrs = {
                    "change_type": "sync",
                    "application": app,
                    "phase": phase,
                    "revision": revision,
                    "started_at": op.get("startedAt"),
                    "finished_at": op.get("finishedAt"),
                    "operation_message": op.get("message"),
                    "retry_count": op.get("retryCount"),
                    "rollback": False,
                }
                attrs = {k: v for k, v in attrs.items() if v is not None}
                level = "error" if phase in ("Failed", "Error") else "info"
                msg = changes.message(
                    "sync", service, str(revision)[:12] if revision else None, None, phase, op.get("message")
                )
                when = op.get("finishedAt") or op.get("startedAt")
                actor = _argo_actor(operation.get("initiatedBy"))
                out.add(
                    Draft(
                        when,
                        prefix.replace("status.history", "status.operationState"),
                        op,
                        msg,
                        attrs,
                        service,
                        level,
                        actor,
                    )
                )
    return out.result("records")
