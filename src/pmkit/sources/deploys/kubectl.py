"""kubectl rollout history and describe output (format ``kubectl-rollout``) into deploy events.

Counting unit: table rows.

``kubectl rollout history`` (``REVISION  CHANGE-CAUSE`` rows), ``rollout history --revision=N`` (one
record: the revision, its change-cause and images) and ``kubectl describe deployment`` ``Events:``
tables in both layouts (old ``FirstSeen LastSeen Count From SubObjectPath Type Reason Message``, new
``Type Reason Age From Message``). Only table rows are records; every other line (headers, pod
template, conditions, blank lines) is context read for the object name, namespace and revision
details, not an input record. A row that cannot be read (or whose age is ``<unknown>``) is rejected.
kubectl prints no times, only ages relative to when it ran, so an anchor is needed: ``options.at``
(ISO time the command ran), else the end of the incident window (said in the notes). Event time =
anchor - first-seen age (``(x3 over 10m)`` and ``FirstSeen`` give it), rounded as kubectl rounds
ages; ``rollout history`` revisions carry no time at all and are all placed at ``options.at``
(required; said in ``attrs.time_source``). Service: the deployment name.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import polars as pl

from pmkit.errors import SourceError
from pmkit.sources import changes, textio
from pmkit.sources.base import LoadRequest, LoadResult
from pmkit.sources.records import Draft, Records
from pmkit.sources.registry import register
from pmkit.timeutil import parse_ts

__all__ = ["load_kubectl_rollout"]

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


def _anchor(req: LoadRequest, path: Path, out: Records, *, window_ok: bool) -> dt.datetime | None:
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
    parsed, _ = parse_ts(pl.Series([str(at)], dtype=pl.String), None, req.timezone)
    value: dt.datetime | None = parsed.item()
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

    def __init__(self, req: LoadRequest, out: Records, path: Path) -> None:
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
                cause_m = re.search(r"kubernetes\.io/change-cause=(.*)$", text)
                if cause_m:
                    detail["change_cause"] = cause_m.group(1).strip()
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
        rollback = bool(cause and changes.ROLLBACK.search(cause))
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
        self.out.add(Draft(at.isoformat(), self.origin(no), raw, msg, attrs, self.service(name), "info", None))

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
        self.out.add(Draft(ts.isoformat(), self.origin(no), row, msg, attrs, self.service(name), level, actor))


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
    options=("at",),
)
def load_kubectl_rollout(req: LoadRequest) -> LoadResult:
    """Load kubectl rollout history / describe output; unit = table rows (see the module docstring)."""
    out = Records("deploy")
    for path in req.files():
        _Kubectl(req, out, path).run()
    return out.result("rows")
