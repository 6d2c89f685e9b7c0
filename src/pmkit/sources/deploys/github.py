"""GitHub deployments (format ``github-deployments``) into deploy events.

Counting unit: records = deployment objects + statuses.

The REST list ``GET /repos/{o}/{r}/deployments`` (deployments, optionally each with a ``statuses``
list), one deployment object, ``GET .../statuses`` lists, and ``deployment`` / ``deployment_status``
webhook payloads (one JSON per file; a folder of them). A deployment gives an event at
``created_at`` with state ``created``; each status an event at its ``created_at`` with its state. A
``deployment_status`` webhook is one record (its status); a ``deployment`` webhook is one record (the
created event). Service: the source's ``service``, else the deployment payload's
``service``/``app``/``application``/``component``, else the repository name.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pmkit.errors import SourceError
from pmkit.sources import changes, textio
from pmkit.sources.base import LoadRequest, LoadResult
from pmkit.sources.records import Draft, Records
from pmkit.sources.registry import register

__all__ = ["load_github_deployments"]


def _payload(dep: dict[str, Any]) -> dict[str, Any]:
    """The deployment ``payload`` as a dict (GitHub returns a string when one was given as a string)."""
    p = dep.get("payload")
    if isinstance(p, str) and p.strip().startswith("{"):
        try:
            p = textio.loads(p)
        except json.JSONDecodeError:
            return {}
    return p if isinstance(p, dict) else {}


def _repo_name(dep: dict[str, Any], repo: Any) -> str | None:
    if isinstance(repo, dict) and repo.get("name"):
        return str(repo["name"])
    for key in ("repository_url", "url", "deployment_url", "statuses_url"):
        m = re.search(r"/repos/[^/]+/([^/]+)", str(dep.get(key) or ""))
        if m:
            return m.group(1)
    return None


def _payload_rollback(payload: dict[str, Any]) -> Any:
    for key in ("rollback_of", "rollback_to", "rollback_from", "rollback"):
        if payload.get(key):
            return payload[key]
    return None


class _GitHub:
    """Turns GitHub deployment objects and statuses into drafts."""

    def __init__(self, req: LoadRequest, out: Records) -> None:
        self.req, self.out = req, out

    def context(self, dep: dict[str, Any], repo: Any) -> dict[str, Any]:
        payload = _payload(dep)
        repo_name = _repo_name(dep, repo)
        service = self.req.service
        if not service:
            service = next(
                (str(payload[k]) for k in ("service", "app", "application", "component") if payload.get(k)), None
            )
        service = service or repo_name
        version = (
            payload.get("version") or payload.get("tag") or dep.get("ref") or (str(dep.get("sha") or "")[:7] or None)
        )
        task = str(dep.get("task") or "deploy")
        rollback_of = _payload_rollback(payload)
        rollback = bool(rollback_of) or bool(changes.ROLLBACK.search(f"{task} {dep.get('description') or ''}"))
        full_repo = repo.get("full_name") if isinstance(repo, dict) else None
        attrs = {
            "change_type": "deployment",
            "id": dep.get("id"),
            "sha": dep.get("sha"),
            "ref": dep.get("ref"),
            "task": dep.get("task"),
            "environment": dep.get("environment"),
            "original_environment": dep.get("original_environment"),
            "description": dep.get("description"),
            "creator": changes.login(dep.get("creator")),
            "version": str(version) if version is not None else None,
            "repository": full_repo or repo_name,
            "production_environment": dep.get("production_environment"),
            "transient_environment": dep.get("transient_environment"),
            "payload": payload or None,
            "url": dep.get("url"),
            "rollback": rollback,
        }
        if rollback_of and rollback_of is not True:
            attrs["rollback_of"] = rollback_of
        return {"service": service, "version": attrs["version"], "task": task, "rollback": rollback, "attrs": attrs}

    def created(self, dep: dict[str, Any], repo: Any, origin: str) -> None:
        ctx = self.context(dep, repo)
        verb = "rollback" if ctx["rollback"] else ctx["task"]
        attrs = {**ctx["attrs"], "state": "created"}
        env = dep.get("environment")
        msg = changes.message(verb, ctx["service"], ctx["version"], env, "created", dep.get("description"))
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.out.add(
            Draft(
                dep.get("created_at"),
                origin,
                dep,
                msg,
                attrs,
                ctx["service"],
                "info",
                changes.login(dep.get("creator")),
            )
        )

    def status(self, st: dict[str, Any], dep: dict[str, Any], repo: Any, origin: str) -> None:
        if not dep:  # a bare status (GET .../statuses): its URLs name the deployment and repository
            dep = {"url": st.get("deployment_url"), "repository_url": st.get("repository_url")}
        ctx = self.context(dep, repo)
        state = str(st.get("state") or "unknown")
        desc = st.get("description")
        # "Rolled back" on a failed/inactive status says this deployment was undone, not that it
        # is a rollback; only a bare status (no deployment object) that succeeds or runs is one.
        says_rollback = bool(changes.ROLLBACK.search(str(desc or "")))
        undone = says_rollback and state in ("failure", "error", "inactive")
        rollback = ctx["rollback"] or (says_rollback and not undone and not dep.get("id"))
        verb = "rollback" if rollback else ctx["task"]
        env = st.get("environment") or dep.get("environment")
        if not dep.get("id"):
            m = re.search(r"/deployments/(\d+)", str(st.get("deployment_url") or ""))
            if m:
                ctx["attrs"]["id"] = int(m.group(1))
        attrs = {
            **ctx["attrs"],
            "environment": env,
            "state": state,
            "status_id": st.get("id"),
            "status_description": desc or None,
            "target_url": st.get("target_url") or None,
            "log_url": st.get("log_url") or None,
            "environment_url": st.get("environment_url") or None,
            "url": st.get("target_url") or st.get("log_url") or st.get("environment_url") or ctx["attrs"].get("url"),
            "rollback": rollback,
            "rolled_back": True if undone and not ctx["rollback"] else None,
        }
        attrs = {k: v for k, v in attrs.items() if v is not None}
        actor = changes.login(st.get("creator")) or changes.login(dep.get("creator"))
        msg = changes.message(verb, ctx["service"], ctx["version"], env, state, desc)
        self.out.add(Draft(st.get("created_at"), origin, st, msg, attrs, ctx["service"], changes.level(state), actor))

    def deployment(self, dep: Any, repo: Any, origin: str) -> None:
        """A deployment object (REST): its created event and one per status in ``statuses``."""
        if not isinstance(dep, dict):
            self.out.reject(origin, "not a deployment object", dep)
            return
        if "state" in dep and "sha" not in dep and "ref" not in dep:  # a status from GET .../statuses
            self.status(dep, {}, repo, origin)
            return
        self.created(dep, repo, origin)
        statuses = dep.get("statuses")
        if statuses is None:
            return
        if not isinstance(statuses, list):
            self.out.reject(f"{origin}.statuses", "'statuses' is not a list", statuses)
            return
        for j, st in enumerate(statuses):
            if isinstance(st, dict):
                self.status(st, dep, repo, f"{origin}.statuses[{j}]")
            else:
                self.out.reject(f"{origin}.statuses[{j}]", "status is not an object", st)

    def document(self, doc: Any, path: Path) -> None:
        where = str(path)
        if isinstance(doc, dict) and isinstance(doc.get("deployments"), list):
            doc = doc["deployments"]
        if isinstance(doc, list):
            for i, dep in enumerate(doc):
                self.deployment(dep, None, f"{where}#[{i}]")
            return
        if not isinstance(doc, dict):
            raise SourceError(f"{path}: top level is a JSON {type(doc).__name__}; {_GH_EXPECTED}")
        repo = doc.get("repository")
        if isinstance(doc.get("deployment_status"), dict):
            dep = doc["deployment"] if isinstance(doc.get("deployment"), dict) else {}
            self.status(doc["deployment_status"], dep, repo, f"{where}#deployment_status")
        elif isinstance(doc.get("deployment"), dict):
            self.created(doc["deployment"], repo, f"{where}#deployment")
        elif ("sha" in doc or "ref" in doc) and "created_at" in doc:
            self.deployment(doc, repo, f"{where}#deployment")
        elif "state" in doc and "deployment_url" in doc:
            self.status(doc, {}, repo, f"{where}#status")
        else:
            other = next(
                (k for k in ("workflow_run", "workflow_job", "release", "check_run", "pusher", "commits") if k in doc),
                None,
            )
            what = f"this looks like a GitHub {other} webhook, " if other else ""
            raise SourceError(f"{path}: {what}not a deployment; {_GH_EXPECTED}; keys are {sorted(doc)[:12]}")


_GH_EXPECTED = (
    "expected a list of deployments (GET /repos/{owner}/{repo}/deployments, optionally with 'statuses'), "
    "a deployment object, or a deployment / deployment_status webhook payload"
)


def _sniff_github(head: str) -> bool:
    return changes.json_head_has(head) and (
        '"deployment_status"' in head or '"deployment"' in head or ('"sha"' in head and '"environment"' in head)
    )


@register(
    "deploys",
    "github-deployments",
    description=(
        "GitHub deployments: REST list (with statuses), deployment / deployment_status webhook payloads; "
        "one event per deployment (created) and per status"
    ),
    example='[{"id": 1, "sha": "a1b2c3d", "ref": "v2.14.3", "task": "deploy", "environment": "production", '
    '"creator": {"login": "alice"}, "created_at": "2025-06-15T14:02:11Z", '
    '"statuses": [{"state": "success", "created_at": "2025-06-15T14:05:40Z"}]}]',
    sniff=_sniff_github,
    options=(),
)
def load_github_deployments(req: LoadRequest) -> LoadResult:
    """Load GitHub deployment lists and webhook payloads; unit = deployment objects + statuses."""
    out = Records("deploy")
    gh = _GitHub(req, out)
    for path in req.files():
        gh.document(textio.read_json(path), path)
    return out.result("records")
