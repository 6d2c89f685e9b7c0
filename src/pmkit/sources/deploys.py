"""Deploys and other changes into the ``events`` frame (``kind="deploy"``).

Every event here is a change an SRE looks at when asking "what changed?": one event per deployment
or status change, commit, rollout revision or rollout event, Argo CD sync, generic deploy record.

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

Formats and their counting units (``parsed + rejected == inputs``)
------------------------------------------------------------------
``github-deployments`` (unit: records = deployment objects + statuses)
    The REST list ``GET /repos/{o}/{r}/deployments`` (deployments, optionally each with a
    ``statuses`` list), one deployment object, ``GET .../statuses`` lists, and ``deployment`` /
    ``deployment_status`` webhook payloads (one JSON per file; a folder of them). A deployment gives
    an event at ``created_at`` with state ``created``; each status an event at its ``created_at``
    with its state. A ``deployment_status`` webhook is one record (its status); a ``deployment``
    webhook is one record (the created event). Service: the source's ``service``, else the
    deployment payload's ``service``/``app``/``application``/``component``, else the repository name.
``git-log`` (unit: commits; a non-blank line before the first ``commit`` line is one rejected record)
    ``git log`` default and ``--pretty=fuller``/``medium`` output (``--stat``/``--name-status``
    file lines kept in ``attrs.files``), and one-line formats such as
    ``--pretty=format:'%H|%an|%aI|%s'`` (``options: {separator: "|", columns: [sha, author, date,
    subject]}``; the separator is detected after a leading hash when not given). Commits are
    changes, so they are ``kind="deploy"`` events with ``attrs.change_type = "commit"``. The time is
    the commit date when the output has one (``fuller``), else the author date (``Date:``);
    ``options.date: author`` forces the author date.
``kubectl-rollout`` (unit: table rows)
    ``kubectl rollout history`` (``REVISION  CHANGE-CAUSE`` rows), ``rollout history --revision=N``
    (one record: the revision, its change-cause and images) and ``kubectl describe deployment``
    ``Events:`` tables in both layouts (old ``FirstSeen LastSeen Count From SubObjectPath Type
    Reason Message``, new ``Type Reason Age From Message``). Only table rows are records; every
    other line (headers, pod template, conditions, blank lines) is context read for the object name,
    namespace and revision details, not an input record. A row that cannot be read (or whose age is
    ``<unknown>``) is rejected. kubectl prints no times, only ages relative to when it ran, so an
    anchor is needed: ``options.at`` (ISO time the command ran), else the end of the incident window
    (said in the notes). Event time = anchor - first-seen age (``(x3 over 10m)`` and ``FirstSeen``
    give it), rounded as kubectl rounds ages; ``rollout history`` revisions carry no time at all and
    are all placed at ``options.at`` (required; said in ``attrs.time_source``). Service: the
    deployment name.
``argocd`` (unit: records = history entries + a failed or running ``operationState``)
    An Application object (``argocd app get -o json``, ``kubectl get application -o json``), an
    ApplicationList, its ``status.history`` list, or a ``{"history": [...]}`` object. Each entry
    ``{id, revision, deployedAt, deployStartedAt, source{repoURL, path, targetRevision},
    initiatedBy{username | automated}}`` is a sync event at ``deployedAt``. Argo CD keeps only
    successful syncs in history, so an ``operationState`` that is not ``Succeeded`` is one more
    record (a ``Succeeded`` one repeats the newest history entry and is not counted). An entry whose
    revision equals an earlier, not immediately preceding entry's is a rollback. Service: the
    Application name.
``csv`` and ``json`` (unit: rows / records)
    Generic deploy records. Columns or keys are found by name (any case): time ``ts, time,
    timestamp, deployed_at, created_at, date, ...``; ``service``/app; ``version``/revision/tag;
    ``actor``/user/author/deployer; ``description``/message; ``environment``/env; ``status``/state;
    ``type``/kind/action; ``sha``; ``id``; ``url``. ``fields`` maps a canonical name to the column
    or key (dotted paths into nested JSON objects), e.g. ``fields: {ts: finished, actor: who.login}``.
    JSON: a list of objects, an object holding one under deployments/items/data/records/events,
    or JSON lines. Rows without a readable time are rejected.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from pmkit.errors import SourceError
from pmkit.schema import UTC_TS
from pmkit.sources import textio
from pmkit.sources.base import LoadRequest, LoadResult, origin_expr, rejects_frame, to_json
from pmkit.sources.tabular import parse_time_column, read_csv_blocks
from pmkit.sources.registry import register
from pmkit.timeutil import parse_ts as _parse_ts
from pmkit.timeutil import ts_expr

__all__ = [
    "load_argocd",
    "load_csv",
    "load_git_log",
    "load_github_deployments",
    "load_json",
    "load_kubectl_rollout",
]

_ROLLBACK = re.compile(r"(?i)\b(roll(?:ed|ing)?[\s_-]?back|rollback|revert(?:ed|ing)?|rollout undo)\b")
_ERROR_STATES = ("failure", "failed", "fail", "error", "errored")


def _level(state: str | None) -> str:
    return "error" if state and state.strip().lower() in _ERROR_STATES else "info"


def _one_line(text: Any) -> str:
    return " ".join(str(text).split()) if text is not None else ""


def _message(
    verb: str, service: str | None, version: str | None, env: str | None, state: str | None, desc: str | None
) -> str:
    """``deploy payments-api v2.14.3 to production: success (description)``, leaving out what is missing."""
    parts = [verb]
    if service:
        parts.append(_one_line(service))
    if version:
        parts.append(_one_line(version))
    if env:
        parts.append(f"to {_one_line(env)}")
    text = " ".join(parts)
    if state:
        text += f": {_one_line(state)}"
    if desc and _one_line(desc):
        text += f" ({_one_line(desc)})"
    return text


@dataclass
class _Draft:
    """An event before its time is parsed (times are parsed together, vectorised)."""

    ts: Any
    origin: str
    record: Any
    message: str
    attrs: dict[str, Any]
    service: str | None = None
    level: str = "info"
    actor: str | None = None


def _parse_times(values: list[Any], ts_format: str | None, timezone: str | None) -> tuple[pl.Series, Any]:
    """Times of JSON records: numbers are epochs (unit by magnitude, or ``ts_format``), strings go through
    :func:`pmkit.timeutil.parse_ts`; the two kinds are parsed apart so one file may mix them."""
    numeric = [isinstance(v, int | float) and not isinstance(v, bool) for v in values]
    texts = pl.Series(
        "ts", [None if v is None or numeric[i] else str(v).strip() for i, v in enumerate(values)], dtype=pl.String
    )
    ts, guess = parse_time_column(texts, ts_format, timezone)
    if any(numeric):
        nums = pl.Series("n", [float(v) if numeric[i] else None for i, v in enumerate(values)], dtype=pl.Float64)
        fmt = ts_format if ts_format in ("epoch", "epoch_ms", "epoch_us", "epoch_ns") else None
        finite = nums.is_finite().fill_null(False) & (nums.abs() < 1e19).fill_null(False)
        epochs, _ = _parse_ts(pl.select(pl.when(finite).then(nums)).to_series(), fmt, None)
        ts = pl.select(pl.coalesce(epochs, ts)).to_series().alias("ts")
    return ts, guess


@dataclass
class _Out:
    """Events and rejects collected while walking one source."""

    drafts: list[_Draft] = field(default_factory=list)
    rej_origin: list[str] = field(default_factory=list)
    rej_reason: list[str] = field(default_factory=list)
    rej_raw: list[str | None] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    inputs: int = 0

    def add(self, draft: _Draft) -> None:
        self.inputs += 1
        self.drafts.append(draft)

    def reject(self, origin: str, reason: str, raw: Any) -> None:
        self.inputs += 1
        self.rej_origin.append(origin)
        self.rej_reason.append(reason)
        self.rej_raw.append(raw if isinstance(raw, str) or raw is None else to_json(raw)[:2000])

    def result(self, unit: str, ts_format: str | None = None, timezone: str | None = None) -> LoadResult:
        """Parse every draft's time; drafts whose time cannot be read become rejects."""
        ts, guess = _parse_times([d.ts for d in self.drafts], ts_format, timezone)
        if guess is not None and guess.naive and timezone is None and ts.null_count() < ts.len():
            self.notes.append(f"times have no UTC offset ({guess.fmt}); read as UTC (set timezone if they are local)")
        keep: list[int] = []
        for i, (d, t) in enumerate(zip(self.drafts, ts.to_list(), strict=True)):
            if t is None:
                self.rej_origin.append(d.origin)
                self.rej_reason.append("no time" if d.ts in (None, "") else f"cannot read time {d.ts!r}")
                self.rej_raw.append(to_json(d.record)[:2000] if not isinstance(d.record, str) else d.record)
            else:
                keep.append(i)
        kept = [self.drafts[i] for i in keep]
        frame = pl.DataFrame(
            {
                "ts": ts.gather(keep) if keep else pl.Series("ts", [], dtype=UTC_TS),
                "kind": pl.Series([("deploy") for _ in kept], dtype=pl.String),
                "service": pl.Series([d.service for d in kept], dtype=pl.String),
                "level": pl.Series([d.level for d in kept], dtype=pl.String),
                "actor": pl.Series([d.actor for d in kept], dtype=pl.String),
                "message": pl.Series([d.message for d in kept], dtype=pl.String),
                "attrs": pl.Series([to_json(d.attrs) for d in kept], dtype=pl.String),
                "origin": pl.Series([d.origin for d in kept], dtype=pl.String),
            }
        )
        return LoadResult(
            frame=frame.with_columns(pl.col("ts").cast(UTC_TS)),
            rejects=rejects_frame(self.rej_origin, self.rej_reason, self.rej_raw),
            inputs=self.inputs,
            parsed_inputs=len(kept),
            unit=unit,
            notes=tuple(dict.fromkeys(self.notes)),
        )


def _sniff_json_has(head: str, *needles: str) -> bool:
    return head.lstrip("\ufeff \t\r\n").startswith(("{", "[")) and all(n in head for n in needles)


# ---------------------------------------------------------------------------------------------
# github-deployments
# ---------------------------------------------------------------------------------------------


def _login(user: Any) -> str | None:
    if isinstance(user, dict):
        v = user.get("login") or user.get("name")
        return str(v) if v else None
    return str(user) if isinstance(user, str) and user else None


def _payload(dep: dict[str, Any]) -> dict[str, Any]:
    """The deployment ``payload`` as a dict (GitHub returns a string when one was given as a string)."""
    p = dep.get("payload")
    if isinstance(p, str) and p.strip().startswith("{"):
        try:
            p = json.loads(p)
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

    def __init__(self, req: LoadRequest, out: _Out) -> None:
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
        rollback = bool(rollback_of) or bool(_ROLLBACK.search(f"{task} {dep.get('description') or ''}"))
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
            "creator": _login(dep.get("creator")),
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
        msg = _message(verb, ctx["service"], ctx["version"], env, "created", dep.get("description"))
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.out.add(
            _Draft(dep.get("created_at"), origin, dep, msg, attrs, ctx["service"], "info", _login(dep.get("creator")))
        )

    def status(self, st: dict[str, Any], dep: dict[str, Any], repo: Any, origin: str) -> None:
        if not dep:  # a bare status (GET .../statuses): its URLs name the deployment and repository
            dep = {"url": st.get("deployment_url"), "repository_url": st.get("repository_url")}
        ctx = self.context(dep, repo)
        state = str(st.get("state") or "unknown")
        desc = st.get("description")
        # "Rolled back" on a failed/inactive status says this deployment was undone, not that it
        # is a rollback; only a bare status (no deployment object) that succeeds or runs is one.
        says_rollback = bool(_ROLLBACK.search(str(desc or "")))
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
        actor = _login(st.get("creator")) or _login(dep.get("creator"))
        msg = _message(verb, ctx["service"], ctx["version"], env, state, desc)
        self.out.add(_Draft(st.get("created_at"), origin, st, msg, attrs, ctx["service"], _level(state), actor))

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
            dep = doc.get("deployment") if isinstance(doc.get("deployment"), dict) else {}
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
    return _sniff_json_has(head) and (
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
)
def load_github_deployments(req: LoadRequest) -> LoadResult:
    """Load GitHub deployment lists and webhook payloads; unit = deployment objects + statuses."""
    out = _Out()
    gh = _GitHub(req, out)
    for path in req.files():
        gh.document(textio.read_json(path), path)
    return out.result("records")


# ---------------------------------------------------------------------------------------------
# git-log
# ---------------------------------------------------------------------------------------------

_COMMIT_RE = r"^commit ([0-9a-f]{7,64})\b"
_GIT_HEADERS = ("Author", "AuthorDate", "Commit", "CommitDate", "Date", "Merge")
_GIT_DATE_FORMATS = (
    "%b %d %H:%M:%S %Y %z",  # default, after the weekday is dropped
    "%Y-%m-%d %H:%M:%S %z",  # --date=iso
    "%Y-%m-%dT%H:%M:%S%#z",  # --date=iso-strict, %aI
    "%d %b %Y %H:%M:%S %z",  # --date=rfc, after the weekday is dropped
    "%s %z",  # --date=raw
)
_GIT_NAIVE_FORMATS = ("%b %d %H:%M:%S %Y", "%Y-%m-%d %H:%M:%S")  # --date=local / iso-local


def _git_ts(expr: pl.Expr, req: LoadRequest) -> pl.Expr:
    """Git's date forms to UTC; the weekday is dropped first (hand-written logs often get it wrong)."""
    if req.ts_format:
        return ts_expr(expr, req.ts_format, req.timezone)
    clean = expr.str.strip_chars().str.replace(r"^[A-Z][a-z]{2},?\s+", "")
    return pl.coalesce(
        [ts_expr(clean, f, req.timezone, normalised=False) for f in (*_GIT_DATE_FORMATS, *_GIT_NAIVE_FORMATS)]
    )


def _person(expr: pl.Expr, part: int) -> pl.Expr:
    """``Name <email>``: part 1 the name, part 2 the email."""
    return expr.str.extract(r"^\s*(.*?)\s*(?:<([^>]*)>)?\s*$", part).replace("", None)


def _git_frame(commits: pl.DataFrame, req: LoadRequest, path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Commits (columns sha, author, author_date, committer, commit_date, subject, body, refs, merge, files,
    origin, raw) to (events, rejects)."""
    prefer = str(req.options.get("date", "commit")).lower()
    date_raw = (
        pl.col("author_date") if prefer == "author" else pl.coalesce(pl.col("commit_date"), pl.col("author_date"))
    )
    df = commits.with_columns(date_raw.alias("__date"))
    df = df.with_columns(_git_ts(pl.col("__date"), req).alias("ts"))
    subject = pl.col("subject").fill_null("")
    rollback = subject.str.starts_with('Revert "') | subject.str.contains(_ROLLBACK.pattern)
    df = df.with_columns(
        _person(pl.col("author"), 1).alias("author_name"),
        _person(pl.col("author"), 2).alias("author_email"),
        _person(pl.col("committer"), 1).alias("committer_name"),
        _person(pl.col("committer"), 2).alias("committer_email"),
        rollback.alias("rollback"),
        pl.lit("commit").alias("change_type"),
    )
    attr_cols = {
        "author": "author_name",
        "author_date": "author_date",
        "author_email": "author_email",
        "body": "body",
        "change_type": "change_type",
        "commit_date": "commit_date",
        "committer": "committer_name",
        "committer_email": "committer_email",
        "files": "files",
        "merge": "merge",
        "refs": "refs",
        "rollback": "rollback",
        "sha": "sha",
        "subject": "subject",
    }
    bad = df.filter(pl.col("ts").is_null())
    reasons = bad.select(
        pl.when(pl.col("__date").is_null())
        .then(pl.lit("commit has no date (no Date:/AuthorDate:/CommitDate: line or date field)"))
        .otherwise(pl.format("cannot read commit date '{}'", pl.col("__date")))
    ).to_series()
    rej = rejects_frame(bad.get_column("origin"), reasons, bad.get_column("raw"))
    good = df.filter(pl.col("ts").is_not_null())
    events = good.select(
        pl.col("ts").cast(UTC_TS),
        pl.lit("deploy").alias("kind"),
        pl.lit(req.service, dtype=pl.String).alias("service"),
        pl.lit("info").alias("level"),
        pl.col("author_name").alias("actor"),
        pl.concat_str([pl.lit("commit "), pl.col("sha").str.slice(0, 7), pl.lit(" "), subject])
        .str.strip_chars()
        .alias("message"),
        pl.struct([pl.col(src).alias(name) for name, src in sorted(attr_cols.items())])
        .struct.json_encode()
        .alias("attrs"),
        pl.col("origin"),
    )
    return events, rej


def _git_blocks(lines: pl.DataFrame, path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``git log`` medium/fuller output: one row per commit (vectorised), plus rejects for stray lines."""
    df = lines.with_columns(pl.col("line").str.contains(_COMMIT_RE).alias("is_commit"))
    df = df.with_columns(pl.col("is_commit").cum_sum().alias("grp"))
    stray = df.filter((pl.col("grp") == 0) & (pl.col("line").str.strip_chars() != ""))
    stray_rej = rejects_frame(
        stray.select(origin_expr(path)).to_series(),
        ["line before the first 'commit <sha>' line: not part of any commit"] * stray.height,
        stray.get_column("line"),
    )
    body = df.filter(pl.col("grp") > 0)
    header_re = r"^(" + "|".join(_GIT_HEADERS) + r"):\s*(.*)$"
    body = body.with_columns(
        ((pl.col("line").str.strip_chars() == "") & ~pl.col("is_commit")).cum_sum().over("grp").alias("after_blank"),
    ).with_columns(
        pl.when(pl.col("after_blank") == 0).then(pl.col("line").str.extract(header_re, 1)).alias("hkey"),
        pl.when(pl.col("after_blank") == 0).then(pl.col("line").str.extract(header_re, 2)).alias("hval"),
        ((pl.col("after_blank") > 0) & pl.col("line").str.starts_with("    ")).alias("is_msg"),
    )
    is_other = (
        ~pl.col("is_commit") & pl.col("hkey").is_null() & ~pl.col("is_msg") & (pl.col("line").str.strip_chars() != "")
    )

    def hdr(key: str) -> pl.Expr:
        return pl.col("hval").filter(pl.col("hkey") == key).first().str.strip_chars()

    agg = body.group_by("grp", maintain_order=True).agg(
        pl.col("line_no").first(),
        pl.col("line").first().alias("commit_line"),
        hdr("Author").alias("author"),
        pl.coalesce(hdr("AuthorDate"), hdr("Date")).alias("author_date"),
        hdr("Commit").alias("committer"),
        hdr("CommitDate").alias("commit_date"),
        hdr("Merge").alias("merge"),
        pl.col("line").filter(pl.col("is_msg")).str.slice(4).alias("msg"),
        pl.col("line").filter(is_other).str.strip_chars().alias("files"),
        pl.col("line").str.join("\n").alias("raw"),
    )
    msg = pl.col("msg").list.join("\n").str.strip_chars()
    commits = agg.select(
        pl.col("commit_line").str.extract(_COMMIT_RE, 1).alias("sha"),
        pl.col("commit_line").str.extract(r"\(([^()]*)\)\s*$", 1).alias("refs"),
        "author",
        "author_date",
        "committer",
        "commit_date",
        pl.col("merge").str.split(" "),
        msg.str.split("\n").list.first().str.strip_chars().alias("subject"),
        msg.str.splitn("\n", 2).struct.field("field_1").str.strip_chars().replace("", None).alias("body"),
        pl.when(pl.col("files").list.len() > 0).then(pl.col("files")).alias("files"),
        origin_expr(path).alias("origin"),
        "raw",
    )
    return commits, stray_rej


_GIT_COLUMNS = ("sha", "author", "date", "subject")
_GIT_KNOWN = {
    "sha",
    "author",
    "author_email",
    "date",
    "author_date",
    "commit_date",
    "committer",
    "committer_email",
    "subject",
    "body",
    "refs",
}


def _git_separated(lines: pl.DataFrame, path: Path, sep: str, columns: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One commit per line, fields split by ``sep`` (the last field keeps any further separators)."""
    content = lines.filter(pl.col("line").str.strip_chars() != "")
    n = len(columns)
    parts = pl.col("line").str.splitn(sep, n)
    df = content.with_columns(
        (pl.col("line").str.count_matches(sep, literal=True) + 1).alias("__nf"),
        *[parts.struct.field(f"field_{i}").str.strip_chars().alias(f"__c{i}") for i in range(n)],
    )
    origin = origin_expr(path)
    short = df.filter(pl.col("__nf") < n)
    rej = rejects_frame(
        short.select(origin).to_series(),
        short.select(
            pl.format("{} fields, expected {} ({})", pl.col("__nf"), pl.lit(n), pl.lit(sep.join(columns)))
        ).to_series(),
        short.get_column("line"),
    )
    ok = df.filter(pl.col("__nf") >= n)
    get = {c: pl.col(f"__c{i}") for i, c in enumerate(columns)}
    none = pl.lit(None, dtype=pl.String)
    author = get.get("author", none)
    if "author_email" in get:
        author = pl.concat_str([author, pl.lit(" <"), get["author_email"], pl.lit(">")])
    committer = get.get("committer", none)
    if "committer_email" in get:
        committer = pl.concat_str([committer, pl.lit(" <"), get["committer_email"], pl.lit(">")])
    commits = ok.select(
        get.get("sha", none).alias("sha"),
        get.get("refs", none).alias("refs"),
        author.alias("author"),
        pl.coalesce(get.get("author_date", none), get.get("date", none)).alias("author_date"),
        committer.alias("committer"),
        get.get("commit_date", none).alias("commit_date"),
        pl.lit(None, dtype=pl.List(pl.String)).alias("merge"),
        get.get("subject", none).alias("subject"),
        get.get("body", none).alias("body"),
        pl.lit(None, dtype=pl.List(pl.String)).alias("files"),
        origin.alias("origin"),
        pl.col("line").alias("raw"),
    )
    return commits, rej


def _sniff_git(head: str) -> bool:
    return bool(re.match(r"commit [0-9a-f]{7,64}\b|[0-9a-f]{7,64}\|", head.lstrip("\ufeff \r\n")))


@register(
    "deploys",
    "git-log",
    description=(
        "git log output (default, --pretty=fuller, --stat) or one line per commit (--pretty=format:'%H|%an|%aI|%s' "
        "with options separator/columns); commits as change events"
    ),
    example="commit 3f2a9c1e0b7d4a5f6e8c9d0b1a2f3e4d5c6b7a89\nAuthor: Alice <alice@example.com>\n"
    "Date:   Sun Jun 15 14:18:00 2025 +0200\n\n    Raise payment retry limit",
    sniff=_sniff_git,
)
def load_git_log(req: LoadRequest) -> LoadResult:
    """Load ``git log`` output; unit = commits (see the module docstring)."""
    events: list[pl.DataFrame] = []
    rejects: list[pl.DataFrame] = []
    notes: list[str] = []
    inputs = 0
    sep_opt = req.options.get("separator")
    cols_opt = req.options.get("columns", list(_GIT_COLUMNS))
    if not isinstance(cols_opt, list) or not cols_opt or not all(isinstance(c, str) for c in cols_opt):
        raise SourceError(f"{req.path}: options.columns must be a list of field names such as {list(_GIT_COLUMNS)}")
    if sep_opt is not None and (not isinstance(sep_opt, str) or not sep_opt):
        raise SourceError(f"{req.path}: options.separator must be a non-empty string, not {sep_opt!r}")
    for path in req.files():
        lines = textio.read_lines(path)
        content = lines.filter(pl.col("line").str.strip_chars() != "")
        if content.height == 0:
            notes.append(f"{path.name}: empty file")
            continue
        first = str(content.item(0, "line"))
        if re.match(r"^[*|\\/ ]+commit [0-9a-f]{7,64}", first):
            raise SourceError(f"{path}: git log --graph output is not supported; run git log without --graph")
        sep = sep_opt
        if sep is None and not re.match(_COMMIT_RE, first):
            m = re.match(r"^[0-9a-f]{7,64}([|\t;,\x1f])", first)
            if m:
                sep = m.group(1)
                notes.append(f"{path.name}: one commit per line, separator {sep!r}, fields {cols_opt}")
            elif re.match(r"^[0-9a-f]{7,64} \S", first):
                raise SourceError(
                    f"{path}: looks like git log --oneline, which has no dates to place commits on a timeline; "
                    "use git log --pretty=format:'%H|%an|%aI|%s' (options.separator '|')"
                )
        if sep is not None:
            unknown = [c for c in cols_opt if c not in _GIT_KNOWN]
            if unknown or ("date" not in cols_opt and "author_date" not in cols_opt and "commit_date" not in cols_opt):
                raise SourceError(
                    f"{path}: options.columns {cols_opt} must name a date field and only these: {sorted(_GIT_KNOWN)}"
                )
            commits, rej = _git_separated(lines, path, sep, cols_opt)
        else:
            if not re.match(_COMMIT_RE, first) and content.filter(pl.col("line").str.contains(_COMMIT_RE)).height == 0:
                raise SourceError(
                    f"{path}: no 'commit <sha>' lines; expected git log output (default or --pretty=fuller) or one "
                    "commit per line with options.separator"
                )
            commits, rej = _git_blocks(lines, path)
        ev, bad_dates = _git_frame(commits, req, path)
        inputs += commits.height + rej.height
        events.append(ev)
        rejects.extend([rej, bad_dates])
    frame = pl.concat(events) if events else _empty_events()
    rej_all = pl.concat(rejects) if rejects else rejects_frame([], [], [])
    return LoadResult(
        frame=frame,
        rejects=rej_all,
        inputs=inputs,
        parsed_inputs=frame.height,
        unit="commits",
        notes=tuple(dict.fromkeys(notes)),
    )


def _empty_events() -> pl.DataFrame:
    return _Out().result("records").frame


# ---------------------------------------------------------------------------------------------
# kubectl-rollout
# ---------------------------------------------------------------------------------------------

_OBJ_QUOTED = re.compile(r'^(?P<kind>[\w.-]+) "(?P<name>[^"]+)"(?: (?:with )?revision #?(?P<rev>\d+))?\s*$')
_OBJ_SLASH = re.compile(r"^(?P<kind>[\w-]+)(?:\.[\w.-]+)?/(?P<name>[\w.-]+)(?: (?:with )?revision #?(?P<rev>\d+))?\s*$")
_HISTORY_HEADER = re.compile(r"^\s*REVISION\s+CHANGE-CAUSE\s*$")
_AGE = re.compile(r"^(?:([0-9]+)y)?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?$")
_MAX_AGE_S = 100 * 365 * 86400
_AGE_FULL = re.compile(r"^(\S+)(?:\s+\(x(\d+) over (\S+)\))?$")
_EVENT_COLUMNS = {
    "type": "type",
    "reason": "reason",
    "age": "age",
    "from": "from",
    "message": "message",
    "firstseen": "first_seen",
    "lastseen": "last_seen",
    "count": "count",
    "subobjectpath": "subobject",
}
_NEW_ROW = re.compile(
    r"^\s*(?P<type>Normal|Warning)\s+(?P<reason>\S+)\s+(?P<age><unknown>|<invalid>|\S+(?: \(x\d+ over \S+\))?)\s+"
    r"(?P<from>\S+(?:, \S+)?)\s+(?P<message>.*)$"
)
_OLD_ROW = re.compile(
    r"^\s*(?P<first_seen>\S+)\s+(?P<last_seen>\S+)\s+(?P<count>\d+)\s+(?P<from>\{[^}]*\}|\S+)\s+(?:(?P<subobject>\S+)\s+)?"
    r"(?P<type>Normal|Warning)\s+(?P<reason>\S+)\s+(?P<message>.*)$"
)


def _age_seconds(text: str | None) -> int | None:
    """kubectl's rounded ages (``15s``, ``12m``, ``3h5m``, ``2d``, ``1y``) to seconds; None for ``<unknown>``."""
    if not text:
        return None
    m = _AGE.match(text.strip())
    if not m or not any(m.groups()):
        return None
    y, d, h, mi, s = (int(g) if g else 0 for g in m.groups())
    return (((y * 365 + d) * 24 + h) * 60 + mi) * 60 + s


def _anchor(req: LoadRequest, path: Path, out: _Out, *, window_ok: bool) -> dt.datetime | None:
    """``options.at`` (when kubectl ran), else the incident window end when allowed; None if neither."""
    at = req.options.get("at")
    if at is None:
        if window_ok and req.window is not None:
            out.notes.append(
                f"kubectl ages anchored on the incident window end {req.window[1].isoformat()} (set options.at)"
            )
            return req.window[1].astimezone(dt.UTC)
        return None
    if isinstance(at, dt.datetime):
        if at.tzinfo is None:
            import zoneinfo

            at = at.replace(tzinfo=zoneinfo.ZoneInfo(req.timezone or "UTC"))
        return at.astimezone(dt.UTC)
    parsed, _ = _parse_ts(pl.Series([str(at)], dtype=pl.String), None, req.timezone)
    value = parsed.item()
    if value is None:
        raise SourceError(f"{path}: options.at {at!r} is not a time; write it as 2025-06-15T14:30:00Z")
    return value


def _need_anchor(path: Path, *, describe: bool) -> SourceError:
    """The error for kubectl output with nothing to anchor its times on."""
    if describe:
        what, has = "kubectl describe output", "ages relative to when kubectl ran"
        alt = ", or give the incident a window (its end is used)"
    else:
        what, has, alt = "kubectl rollout history", "revision numbers", ""
    return SourceError(
        f"{path}: {what} has no timestamps, only {has}; set options.at to the time the command was run "
        f"(ISO 8601, e.g. 2025-06-15T14:30:00Z){alt}"
    )


def _header_starts(header: str) -> list[tuple[str, int]]:
    return [(m.group(0), m.start()) for m in re.finditer(r"\S+", header)]


def _slice_row(row: str, starts: list[tuple[str, int]]) -> dict[str, str] | None:
    """Cut a fixed-width row at the header's column starts; None when a cut falls inside a word."""
    cells: dict[str, str] = {}
    for k, (name, pos) in enumerate(starts):
        end = starts[k + 1][1] if k + 1 < len(starts) else len(row)
        if k > 0 and 0 < pos < len(row) and not row[pos - 1].isspace() and not row[pos].isspace():
            return None
        if k + 1 < len(starts) and 0 < end < len(row) and not row[end - 1].isspace() and not row[end].isspace():
            return None
        key = _EVENT_COLUMNS.get(name.lower().replace("-", ""))
        if key:
            cells[key] = row[pos:end].strip()
    return cells


def _event_cells(row: str, starts: list[tuple[str, int]], old: bool) -> dict[str, str] | None:
    cells = _slice_row(row, starts)
    if cells is None or cells.get("type") not in ("Normal", "Warning"):
        m = (_OLD_ROW if old else _NEW_ROW).match(row)
        cells = {k: (v or "") for k, v in m.groupdict().items()} if m else None
    return cells


class _Kubectl:
    """Walks one kubectl output file; records are table rows."""

    def __init__(self, req: LoadRequest, out: _Out, path: Path) -> None:
        self.req, self.out, self.path = req, out, path
        self.lines = [(int(n), str(t)) for n, t in textio.read_lines(path).iter_rows()]

    def origin(self, no: int) -> str:
        return f"{self.path}:{no}"

    def service(self, name: str | None) -> str | None:
        return self.req.service or name

    def run(self) -> None:
        texts = [t for _, t in self.lines]
        if any(re.match(r"^NAME\s+DESIRED\s+CURRENT\s+READY", t) for t in texts):
            raise SourceError(
                f"{self.path}: this is 'kubectl get rs' output (ReplicaSet counts with ages relative to each printed "
                "line), not rollout history or describe events; kubectl-rollout reads 'kubectl rollout history' and "
                "'kubectl describe deployment'"
            )
        has_history = any(_HISTORY_HEADER.match(t) for t in texts)
        has_events = any(re.match(r"^Events:", t) for t in texts)
        first = next((t for t in texts if t.strip()), "")
        m = _OBJ_QUOTED.match(first) or _OBJ_SLASH.match(first)
        has_revision = bool(m and m.group("rev"))
        if not (has_history or has_events or has_revision):
            raise SourceError(
                f"{self.path}: not kubectl rollout output: expected a 'REVISION  CHANGE-CAUSE' table "
                "(kubectl rollout history), a '<kind> \"name\" revision N' pod template (--revision=N) or an "
                "'Events:' table (kubectl describe deployment)"
            )
        if has_history or has_revision:
            self.history()
        if has_events:
            self.describe()

    def history(self) -> None:
        at = _anchor(self.req, self.path, self.out, window_ok=False)
        if at is None:
            raise _need_anchor(self.path, describe=False)
        kind = name = None
        in_table = False
        detail: dict[str, Any] | None = None
        for no, text in self.lines:
            m = _OBJ_QUOTED.match(text) or _OBJ_SLASH.match(text)
            if m:
                self.flush_detail(detail, at)
                detail = None
                kind, name, in_table = m.group("kind").rstrip("s"), m.group("name"), False
                if m.group("rev"):
                    detail = {
                        "no": no,
                        "kind": kind,
                        "name": name,
                        "revision": int(m.group("rev")),
                        "images": [],
                        "raw": [text],
                    }
                continue
            if detail is not None:
                detail["raw"].append(text)
                cause = re.search(r"kubernetes\.io/change-cause=(.*)$", text)
                if cause:
                    detail["change_cause"] = cause.group(1).strip()
                image = re.match(r"^\s*Image:\s*(\S+)", text)
                if image:
                    detail["images"].append(image.group(1))
                tmpl = re.search(r"pod-template-hash=(\S+)", text)
                if tmpl:
                    detail["pod_template_hash"] = tmpl.group(1)
                continue
            if _HISTORY_HEADER.match(text):
                in_table = True
                continue
            if not in_table:
                continue
            if not text.strip():
                in_table = False
                continue
            row = re.match(r"^\s*([0-9]+)\s+(.*?)\s*$", text)
            if not row:
                self.out.reject(self.origin(no), "history row is not 'REVISION  CHANGE-CAUSE'", text)
                continue
            rev, cause = int(row.group(1)), row.group(2)
            self.revision_event(no, text, kind, name, rev, None if cause in ("<none>", "") else cause, at, {})
        self.flush_detail(detail, at)

    def flush_detail(self, detail: dict[str, Any] | None, at: dt.datetime) -> None:
        if detail is None:
            return
        extra = {"images": detail["images"] or None, "pod_template_hash": detail.get("pod_template_hash")}
        self.revision_event(
            detail["no"], "\n".join(detail["raw"]), detail["kind"], detail["name"], detail["revision"],
            detail.get("change_cause"), at, extra,
        )  # fmt: skip

    def revision_event(
        self,
        no: int,
        raw: str,
        kind: str | None,
        name: str | None,
        rev: int,
        cause: str | None,
        at: dt.datetime,
        extra: dict[str, Any],
    ) -> None:
        rollback = bool(cause and _ROLLBACK.search(cause))
        attrs = {
            "change_type": "rollout",
            "object_kind": kind,
            "object": name,
            "revision": rev,
            "change_cause": cause,
            "rollback": rollback,
            "time_source": "options.at: kubectl rollout history prints no times, every revision is placed at it",
            **{k: v for k, v in extra.items() if v is not None},
        }
        msg = f"{name or 'rollout'} revision {rev}: {cause or 'no change-cause recorded'}"
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.out.add(_Draft(at.isoformat(), self.origin(no), raw, msg, attrs, self.service(name), "info", None))

    def describe(self) -> None:
        at = _anchor(self.req, self.path, self.out, window_ok=True)
        if at is None:
            raise _need_anchor(self.path, describe=True)
        name = namespace = revision = None
        i, n = 0, len(self.lines)
        while i < n:
            no, text = self.lines[i]
            field_m = re.match(r"^(Name|Namespace|Annotations):\s*(.*)$", text)
            if field_m:
                key, val = field_m.groups()
                if key == "Name":
                    name = val.strip() or None
                elif key == "Namespace":
                    namespace = val.strip() or None
                else:
                    rev = re.search(r"deployment\.kubernetes\.io/revision=(\d+)", val)
                    revision = int(rev.group(1)) if rev else revision
            ev = re.match(r"^Events:\s*(.*)$", text)
            if not ev:
                i += 1
                continue
            i += 1
            if ev.group(1).strip():  # "Events:  <none>"
                continue
            while i < n and not self.lines[i][1].strip():
                i += 1
            if i >= n:
                break
            header = self.lines[i][1]
            starts = _header_starts(header)
            names = {s.lower() for s, _ in starts}
            old = "firstseen" in names
            if not ({"type", "reason", "message"} <= names and ("age" in names or old)):
                i += 1
                continue
            i += 1
            while i < n:
                no, row = self.lines[i]
                if not row.strip() or not row[:1].isspace():
                    break
                i += 1
                if re.fullmatch(r"[\s-]+", row):
                    continue
                self.event_row(no, row, starts, old, at, {"object": name, "namespace": namespace, "revision": revision})

    def event_row(
        self, no: int, row: str, starts: list[tuple[str, int]], old: bool, at: dt.datetime, ctx: dict[str, Any]
    ) -> None:
        cells = _event_cells(row, starts, old)
        if cells is None:
            self.out.reject(self.origin(no), "row does not match the Events table columns", row)
            return
        count = None
        if old:
            last_s, first_s = _age_seconds(cells.get("last_seen")), _age_seconds(cells.get("first_seen"))
            age_text = cells.get("first_seen", "")
            count = int(cells["count"]) if re.fullmatch(r"[0-9]+", cells.get("count", "")) else None
        else:
            am = _AGE_FULL.match(cells.get("age", ""))
            last_s = _age_seconds(am.group(1)) if am else None
            first_s = _age_seconds(am.group(3)) if am and am.group(3) else last_s
            count = int(am.group(2)) if am and am.group(2) else None
            age_text = cells.get("age", "")
        if first_s is None or first_s > _MAX_AGE_S or (last_s is not None and last_s > _MAX_AGE_S):
            self.out.reject(self.origin(no), f"age {age_text!r} cannot be placed in time", row)
            return
        ts = at - dt.timedelta(seconds=first_s)
        reason, message, etype = cells.get("reason", ""), cells.get("message", ""), cells.get("type", "")
        actor = cells.get("from", "").strip("{} ").strip() or None
        rollback = reason == "DeploymentRollback" or bool(re.search(r"(?i)\brolled back\b", message))
        attrs = {
            "change_type": "rollout",
            "object_kind": "deployment",
            **{k: v for k, v in ctx.items() if v is not None},
            "reason": reason,
            "type": etype,
            "from": actor,
            "count": count,
            "age": cells.get("age") or None,
            "first_seen_age": cells.get("first_seen") or None,
            "last_seen_age": cells.get("last_seen") or None,
            "first_seen": ts.isoformat(),
            "last_seen": (at - dt.timedelta(seconds=last_s)).isoformat() if last_s is not None else None,
            "sub_object_path": cells.get("subobject") or None,
            "rollback": rollback,
            "time_source": "anchor minus kubectl's rounded age",
        }
        attrs = {k: v for k, v in attrs.items() if v is not None}
        name = ctx.get("object")
        msg = f"{name} {reason}: {message}" if name else f"{reason}: {message}"
        level = "warning" if etype == "Warning" else "info"
        self.out.add(_Draft(ts.isoformat(), self.origin(no), row, msg, attrs, self.service(name), level, actor))


def _sniff_kubectl(head: str) -> bool:
    return bool(
        re.search(r"(?m)^\s*REVISION\s+CHANGE-CAUSE\s*$", head)
        or re.search(r'(?m)^[\w.-]+ "[^"]+"(?: revision \d+)?\s*$', head)
        or (re.search(r"(?m)^Name:\s", head) and re.search(r"(?m)^(Replicas|StrategyType|Selector):", head))
    )


@register(
    "deploys",
    "kubectl-rollout",
    description=(
        "kubectl rollout history (options.at required), rollout history --revision=N, and kubectl describe "
        "deployment Events tables (old and new layouts; ages anchored on options.at or the incident window end)"
    ),
    example='deployments "nginx-deployment"\nREVISION    CHANGE-CAUSE\n1           kubectl apply --filename=nginx.yaml\n'
    "2           kubectl set image deployment/nginx-deployment nginx=nginx:1.16.1",
    sniff=_sniff_kubectl,
)
def load_kubectl_rollout(req: LoadRequest) -> LoadResult:
    """Load kubectl rollout history / describe output; unit = table rows (see the module docstring)."""
    out = _Out()
    for path in req.files():
        _Kubectl(req, out, path).run()
    return out.result("rows")


# ---------------------------------------------------------------------------------------------
# argocd
# ---------------------------------------------------------------------------------------------


def _argo_revision(entry: dict[str, Any]) -> Any:
    """``revision``, or the first of ``revisions`` (multi-source applications)."""
    revs = entry.get("revisions")
    return entry.get("revision") or (revs[0] if isinstance(revs, list) and revs else None)


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
        apps = []
        for k, item in enumerate(doc["items"]):
            apps.extend((n, h, o, f"{where}#items[{k}].{p.split('#', 1)[1]}") for n, h, o, p in _argo_apps(item, path))
        return apps
    if "history" in doc and "status" not in doc:
        return [(None, doc["history"], doc.get("operationState"), f"{where}#history")]
    status = doc.get("status")
    if isinstance(status, dict) and ("history" in status or "operationState" in status or "sync" in status):
        meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
        return [(meta.get("name"), status.get("history", []), status.get("operationState"), f"{where}#status.history")]
    raise SourceError(f"{path}: {_ARGO_EXPECTED}; keys are {sorted(doc)[:12]}")


_ARGO_EXPECTED = (
    "expected an Argo CD Application (argocd app get -o json), an ApplicationList, its status.history list, "
    'or {"history": [...]}'
)


def _argo_entry(
    entry: dict[str, Any], app: str | None, req: LoadRequest, rollback_to: int | None
) -> tuple[str, dict[str, Any], str | None, str | None]:
    source = entry.get("source") if isinstance(entry.get("source"), dict) else {}
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
    return (
        version or "",
        {k: v for k, v in attrs.items() if v is not None},
        service,
        _argo_actor(entry.get("initiatedBy")),
    )


def _sniff_argocd(head: str) -> bool:
    return _sniff_json_has(head) and ('"deployedAt"' in head or "argoproj.io" in head)


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
)
def load_argocd(req: LoadRequest) -> LoadResult:
    """Load Argo CD application history; unit = history entries + non-Succeeded operationStates."""
    out = _Out()
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
                msg = _message(verb, service, version or None, None, "deployed", None)
                out.add(_Draft(entry.get("deployedAt"), origin, entry, msg, attrs, service, "info", actor))
            if isinstance(op, dict) and op.get("phase") and op.get("phase") != "Succeeded":
                phase = str(op["phase"])
                operation = op.get("operation") if isinstance(op.get("operation"), dict) else {}
                sync = operation.get("sync") if isinstance(operation.get("sync"), dict) else {}
                result = op.get("syncResult") if isinstance(op.get("syncResult"), dict) else {}
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
                msg = _message(
                    "sync", service, str(revision)[:12] if revision else None, None, phase, op.get("message")
                )
                when = op.get("finishedAt") or op.get("startedAt")
                actor = _argo_actor(operation.get("initiatedBy"))
                out.add(
                    _Draft(
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


# ---------------------------------------------------------------------------------------------
# generic csv / json records
# ---------------------------------------------------------------------------------------------

_CANON: dict[str, tuple[str, ...]] = {
    "ts": ("ts", "time", "timestamp", "deployed_at", "deployedat", "created_at", "createdat", "finished_at", "date",
           "datetime", "@timestamp", "started_at", "when"),
    "service": ("service", "app", "application", "component", "project"),
    "version": ("version", "revision", "release", "tag", "image_tag"),
    "actor": ("actor", "user", "author", "deployer", "deployed_by", "triggered_by", "username", "by"),
    "description": ("description", "message", "summary", "note", "notes", "title"),
    "environment": ("environment", "env", "stage", "cluster"),
    "status": ("status", "state", "result", "outcome", "conclusion"),
    "type": ("type", "kind", "action", "event", "event_type"),
    "sha": ("sha", "commit", "git_sha", "commit_sha"),
    "id": ("id", "deploy_id", "deployment_id"),
    "url": ("url", "link", "html_url", "target_url"),
}  # fmt: skip
_DEPLOY_WORDS = ("", "deploy", "deployment", "release")


def _resolve_columns(
    columns: Iterable[str], fields: dict[str, str], where: str, *, allow_paths: bool
) -> dict[str, str]:
    """Canonical name -> column/key: ``fields`` first, then the first column whose name (any case) matches."""
    cols = list(columns)
    unknown = sorted(set(fields) - set(_CANON))
    if unknown:
        raise SourceError(f"{where}: fields {unknown} are not known deploy fields; expected some of {sorted(_CANON)}")
    low = {c.lower(): c for c in reversed(cols)}
    out: dict[str, str] = {}
    for canon, names in _CANON.items():
        if canon in fields:
            target = fields[canon]
            if target not in cols and not allow_paths:
                raise SourceError(
                    f"{where}: fields.{canon} names {target!r}, which is not a column; the columns are {cols}"
                )
            out[canon] = target
            continue
        hit = next((low[n] for n in names if n in low and low[n] not in out.values()), None)
        if hit is not None:
            out[canon] = hit
    return out


def _dig(obj: Any, key: str) -> Any:
    if isinstance(obj, dict) and key in obj:
        return obj[key]
    cur = obj
    for part in key.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def _record_draft(rec: dict[str, Any], cols: dict[str, str], req: LoadRequest, origin: str) -> _Draft:
    def get(canon: str) -> str | None:
        v = _dig(rec, cols[canon]) if canon in cols else None
        if isinstance(v, dict | list):
            return _login(v) if isinstance(v, dict) else to_json(v)
        return None if v is None or (isinstance(v, str) and not v.strip()) else str(v).strip()

    vals = {c: get(c) for c in _CANON}
    raw_ts = _dig(rec, cols["ts"]) if "ts" in cols else None
    kind = (vals["type"] or "").lower()
    rollback_flag = rec.get("rollback") in (True, "true", "yes", 1) or bool(rec.get("rollback_of"))
    text = " ".join(v for v in (vals["type"], vals["status"], vals["description"]) if v)
    rollback = rollback_flag or bool(_ROLLBACK.search(text))
    verb = "rollback" if rollback else ("deploy" if kind in _DEPLOY_WORDS else vals["type"] or "deploy")
    version = vals["version"] or (vals["sha"][:7] if vals["sha"] else None)
    service = req.service or vals["service"]
    used = set(cols.values())
    attrs = {k: v for k, v in rec.items() if k not in used and v is not None and v != ""}
    attrs.update(
        {
            k: vals[k]
            for k in ("version", "environment", "status", "sha", "id", "url", "description", "type")
            if vals[k] is not None
        }
    )
    attrs["change_type"] = vals["type"] or "deployment"
    attrs["rollback"] = rollback
    msg = _message(verb, service, version, vals["environment"], vals["status"], vals["description"])
    return _Draft(raw_ts, origin, rec, msg, attrs, service, _level(vals["status"]), vals["actor"])


def _json_records(path: Path) -> list[tuple[str, Any]]:
    """(origin, record) pairs from a JSON list, an object holding one, one object, or JSON lines
    (``.jsonl``/``.ndjson``, or a file whose first line is a JSON object on its own)."""
    where = str(path)
    try:
        doc = textio.read_json(path)
    except SourceError:
        # JSON lines: a .jsonl/.ndjson file, or one whose first line is an object by itself
        lines = textio.read_lines(path).filter(pl.col("line").str.strip_chars() != "")
        if lines.height < 2:
            raise
        if not any(s in (".jsonl", ".ndjson") for s in path.suffixes):
            try:
                first = json.loads(str(lines.item(0, "line")))
            except json.JSONDecodeError:
                first = None
            if not isinstance(first, dict):
                raise
        recs: list[tuple[str, Any]] = []
        for no, line in lines.iter_rows():
            try:
                recs.append((f"{where}:{no}", json.loads(line)))
            except json.JSONDecodeError as exc:
                recs.append((f"{where}:{no}", _BadLine(line, exc.msg)))
        return recs
    if isinstance(doc, dict):
        for key in ("deployments", "deploys", "items", "data", "records", "events", "results"):
            if isinstance(doc.get(key), list):
                return [(f"{where}#{key}[{i}]", r) for i, r in enumerate(doc[key])]
        return [(f"{where}#document", doc)]
    if isinstance(doc, list):
        return [(f"{where}#[{i}]", r) for i, r in enumerate(doc)]
    raise SourceError(f"{path}: top level is a JSON {type(doc).__name__}; expected a list of deploy records (objects)")


@dataclass(frozen=True)
class _BadLine:
    """A JSON-lines line that is not JSON."""

    text: str
    why: str


def _sniff_json(head: str) -> bool:
    low = head.lower()
    return _sniff_json_has(head) and any(
        f'"{k}"' in low for k in ("deployed_at", "deploy_id", "deployer", "deployed_by")
    )


@register(
    "deploys",
    "json",
    description="generic deploy records as JSON (list, object with a list, or JSON lines); fields maps custom keys",
    example='[{"deployed_at": "2025-06-15T14:02:11Z", "service": "payments-api", "version": "v2.14.3", '
    '"actor": "alice", "environment": "production", "status": "success"}]',
    sniff=_sniff_json,
)
def load_json(req: LoadRequest) -> LoadResult:
    """Load generic JSON deploy records; unit = records."""
    out = _Out()
    for path in req.files():
        for origin, rec in _json_records(path):
            if isinstance(rec, _BadLine):
                out.reject(origin, f"not JSON ({rec.why})", rec.text)
                continue
            if not isinstance(rec, dict):
                out.reject(origin, "record is not an object", rec)
                continue
            cols = _resolve_columns(rec.keys(), req.fields, str(path), allow_paths=True)
            if "ts" not in cols:
                out.reject(origin, f"no time field (looked for {', '.join(_CANON['ts'])}; map one with fields.ts)", rec)
                continue
            out.add(_record_draft(rec, cols, req, origin))
    return out.result("records", req.ts_format, req.timezone)


def _csv_events(block: Any, req: LoadRequest, out_notes: list[str]) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """One CSV block of deploy rows to (events, rejects, parsed rows), vectorised."""
    path, rows = block.path, block.rows
    cols = _resolve_columns(block.columns, req.fields, str(path), allow_paths=False)
    if "ts" not in cols:
        raise SourceError(
            f"{path}: no time column (looked for {', '.join(_CANON['ts'])}); map one with fields.ts; the columns are "
            f"{block.columns}"
        )
    s = {
        c: pl.col(cols[c]).str.strip_chars().replace("", None) if c in cols else pl.lit(None, dtype=pl.String)
        for c in _CANON
    }
    ts, guess = parse_time_column(rows.get_column(cols["ts"]).str.strip_chars(), req.ts_format, req.timezone)
    if guess is not None and guess.naive and req.timezone is None:
        out_notes.append(
            f"{path.name}: times have no UTC offset ({guess.fmt}); read as UTC (set timezone if they are local)"
        )
    text = pl.concat_str([s["type"], s["status"], s["description"]], separator=" ", ignore_nulls=True)
    rollback = text.str.contains(_ROLLBACK.pattern).fill_null(False)
    for extra in ("rollback", "rollback_of"):
        col = next((c for c in block.columns if c.lower() == extra), None)
        if col is not None:
            flag = pl.col(col).str.strip_chars().str.to_lowercase()
            rollback = rollback | (
                flag.is_in(["true", "yes", "1"]) if extra == "rollback" else flag.is_not_null() & (flag != "")
            )
    service = pl.lit(req.service, dtype=pl.String) if req.service else s["service"]
    version = pl.coalesce(s["version"], s["sha"].str.slice(0, 7))
    kind = s["type"].str.to_lowercase().fill_null("")
    verb = (
        pl.when(rollback)
        .then(pl.lit("rollback"))
        .when(kind.is_in(list(_DEPLOY_WORDS)))
        .then(pl.lit("deploy"))
        .otherwise(s["type"])
    )
    env = pl.concat_str([pl.lit("to "), s["environment"]])
    head = pl.concat_str([verb, service, version, env], separator=" ", ignore_nulls=True)
    message = pl.concat_str(
        [
            head,
            pl.when(s["status"].is_not_null()).then(pl.concat_str([pl.lit(": "), s["status"]])).otherwise(pl.lit("")),
            pl.when(s["description"].is_not_null())
            .then(pl.concat_str([pl.lit(" ("), s["description"], pl.lit(")")]))
            .otherwise(pl.lit("")),
        ]
    ).str.replace_all(r"\s+", " ")
    used = set(cols.values())
    attr_exprs = {c: pl.col(c) for c in block.columns if c not in used}
    attr_exprs.update(
        {k: s[k] for k in ("version", "environment", "status", "sha", "id", "url", "description", "type") if k in cols}
    )
    attr_exprs["change_type"] = s["type"].fill_null("deployment")
    attr_exprs["rollback"] = rollback
    level = (
        pl.when(s["status"].str.to_lowercase().is_in(list(_ERROR_STATES)))
        .then(pl.lit("error"))
        .otherwise(pl.lit("info"))
    )
    df = rows.with_columns(ts.alias("__ts"))
    origin = origin_expr(path, "__pmkit_line")
    bad = df.filter(pl.col("__ts").is_null())
    tcell = pl.col(cols["ts"])
    rej = bad.select(
        origin.alias("origin"),
        pl.when(tcell.is_null() | (tcell.str.strip_chars() == ""))
        .then(pl.lit(f"no time in column {cols['ts']!r}"))
        .otherwise(pl.format("cannot read time '{}' in column {}", tcell, pl.lit(repr(cols["ts"]))))
        .alias("reason"),
        pl.col("__pmkit_raw").alias("raw"),
    )
    good = df.filter(pl.col("__ts").is_not_null())
    events = good.select(
        pl.col("__ts").cast(UTC_TS).alias("ts"),
        pl.lit("deploy").alias("kind"),
        service.alias("service"),
        level.alias("level"),
        s["actor"].alias("actor"),
        message.alias("message"),
        pl.struct([attr_exprs[k].alias(k) for k in sorted(attr_exprs)]).struct.json_encode().alias("attrs"),
        origin.alias("origin"),
    )
    return events, rejects_frame(rej["origin"], rej["reason"], rej["raw"]), good.height


def _sniff_deploy_csv(head: str) -> bool:
    first = next((ln for ln in head.lstrip("\ufeff").splitlines() if ln.strip()), "").lower()
    if first.startswith(("{", "[")) or ("," not in first and ";" not in first and "\t" not in first):
        return False
    names = {n.strip().strip('"') for n in re.split(r"[,;\t]", first)}
    return bool(names & {"deployed_at", "deploy_id", "deployer", "deployed_by"}) or (
        bool(names & set(_CANON["ts"]))
        and bool(names & {"version", "environment", "env", "release"})
        and "service" in names
    )


@register(
    "deploys",
    "csv",
    description="generic deploy records as CSV (time, service, version, actor, environment, status, ...); fields maps custom columns",
    example="deployed_at,service,version,actor,environment,status\n2025-06-15T14:02:11Z,payments-api,v2.14.3,alice,production,success",
    sniff=_sniff_deploy_csv,
)
def load_csv(req: LoadRequest) -> LoadResult:
    """Load generic CSV deploy records; unit = data rows (vectorised)."""
    frames: list[pl.DataFrame] = []
    rejects: list[pl.DataFrame] = []
    notes: list[str] = []
    inputs = parsed = 0
    sep = req.options.get("separator")
    if sep is not None and (not isinstance(sep, str) or len(sep) != 1 or sep in '"\r\n'):
        raise SourceError(f"{req.path}: options.separator must be one character, not {sep!r}")
    for path in req.files():
        for block in read_csv_blocks(path, separator=sep):
            inputs += block.inputs
            rejects.append(block.bad)
            if block.rows.height == 0:
                continue
            ev, rej, ok = _csv_events(block, req, notes)
            frames.append(ev)
            rejects.append(rej)
            parsed += ok
    return LoadResult(
        frame=pl.concat(frames) if frames else _empty_events(),
        rejects=pl.concat(rejects) if rejects else rejects_frame([], [], []),
        inputs=inputs,
        parsed_inputs=parsed,
        unit="rows",
        notes=tuple(dict.fromkeys(notes)),
    )
