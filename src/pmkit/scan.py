"""``pmkit new ID --scan DIR``: propose an incident's sources from a folder of collected evidence.

Every file under DIR (recursively) is looked at once:

- **skipped** with a reason when it is empty, hidden, binary, a byte-for-byte duplicate of a file already
  taken, a zip that is not a Slack export, or when no format's sniffer recognises its first lines (or the
  formats that did could not load it);
- a **Slack export** (a folder holding ``users.json``/``channels.json``, or the ``.zip`` Slack delivers) is
  one ``chat``/``slack`` source as a whole;
- any other file is sniffed with every registered sniffer of every kind (:func:`candidates`: formats named
  after a product, e.g. ``alertmanager`` or ``prometheus``, before the generic syntaxes ``jsonl``, ``logfmt``,
  ``csv``, ``json``; then by the sniffer's own order) and **trial-loaded** with each accepting format in that
  order, whole, without a window: the first that parses it without being mostly rejected
  (:func:`pmkit.sources.verdict.mostly_rejected`) is chosen. A line format that takes ``multiline`` is tried
  again with ``multiline: traceback`` when lines were rejected, and keeps it when that rejects fewer.

Files of the same kind and format are one source (logs and metrics also share the file name up to its
first dot, so rotated ``access.log``, ``access.log.1`` are one source). The service is the one the
loaded events name (the most frequent); else, for logs, the file or folder name when it is not a generic
word (``access``, ``app``, ``events``...); else none, said in a comment. Nothing is invented: the window
and the milestones are written only as commented suggestions, from the alert/page events the evidence holds.

The evidence is hard-linked (copied when linking fails) into the new incident folder, under
``<kind>/``: an incident folder reads its evidence from inside itself (the containment rule).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from pmkit.errors import PmkitError
from pmkit.sources import registry, textio, verdict
from pmkit.sources.base import LoadRequest, LoadResult, run
from pmkit.sources.slackexport import META_FILES

# formats named after a data syntax rather than a product: any file of that syntax passes their sniffer
GENERIC = frozenset({"jsonl", "json", "csv", "logfmt", "grok"})
# when two kinds' sniffers accept a file with the same rank, the narrower kind wins (logs take anything)
KIND_ORDER = ("alerts", "deploys", "chat", "metrics", "logs")
# file/folder names that say what a log is, not whose (no service is taken from them)
GENERIC_NAMES = frozenset(
    [
        "access",
        "error",
        "errors",
        "app",
        "application",
        "events",
        "event",
        "log",
        "logs",
        "messages",
        "syslog",
        "output",
        "out",
        "stdout",
        "stderr",
        "alerts",
        "alert",
        "metrics",
        "deploys",
        "deployments",
        "chat",
        "export",
        "data",
        "evidence",
        "incident",
        "current",
        "tmp",
        "server",
    ]
)
_SAMPLE_CHARS = 100
# kinds whose files are one delivered payload each (a webhook body, an API page): a byte-identical second file
# is a second delivery (Alertmanager re-sends a notification unchanged), not a copy of the evidence
PAYLOAD_KINDS = frozenset({"alerts"})


@dataclass(frozen=True)
class Seen:
    """What the scan keeps of a trial load (the frames themselves are let go: evidence can be large)."""

    counts: str  # "parsed 8,647 of 8,647 lines"
    first: str  # the first event, as evidence
    lo: dt.datetime | None  # the earliest and latest event or sample
    hi: dt.datetime | None
    services: dict[str, int]  # events per service the events name
    notes: tuple[str, ...]
    alerts: pl.DataFrame | None  # ts and message of alert/page events (small), else None

    @classmethod
    def of(cls, res: LoadResult, kind: str) -> Seen:
        frame = res.frame
        ts = frame.get_column("ts") if frame.height else None
        lo, hi = (ts.min(), ts.max()) if ts is not None else (None, None)
        services: dict[str, int] = {}
        if "service" in frame.columns:
            vc = frame.get_column("service").drop_nulls().value_counts()
            services = {str(k): int(n) for k, n in vc.iter_rows()}
        return cls(
            _counts(res),
            _first_event(res),
            lo if isinstance(lo, dt.datetime) else None,
            hi if isinstance(hi, dt.datetime) else None,
            services,
            tuple(res.notes),
            frame.select("ts", "message") if kind == "alerts" and frame.height else None,
        )


@dataclass
class Found:
    """One file (or Slack export) the scan took: its kind/format and the evidence for the choice."""

    files: list[Path]  # the files under DIR (a Slack export folder: every file in it)
    root: Path  # the file itself, or the Slack export's folder
    top: Path  # the scanned folder
    kind: str
    format: str
    why: list[str]
    seen: Seen
    options: dict[str, Any] = field(default_factory=dict)
    content_service: str | None = None
    content_service_basis: str = ""

    @property
    def group_key(self) -> tuple[str, str, str, str]:
        stem = self.root.name.split(".")[0] if self.kind in ("logs", "metrics") else ""
        return (self.kind, self.format, json.dumps(self.options, sort_keys=True), stem)


@dataclass
class Proposal:
    """A proposed source: a group of :class:`Found` of one kind/format."""

    name: str
    kind: str
    format: str
    path: str  # relative to the incident folder
    members: list[Found]
    options: dict[str, Any]
    service: str | None
    service_why: str
    comments: list[str]


@dataclass
class ScanResult:
    """What the scan proposes: sources, skipped files (path, reason) and the commented suggestions."""

    proposals: list[Proposal]
    skipped: list[tuple[str, str]]
    services: list[tuple[str, str]]  # (service, basis)
    suggestions: list[str]


def candidates(head: str) -> list[registry.LoaderInfo]:
    """Every loader whose sniffer accepts ``head``, in the order the scan tries them (see the module doc)."""
    return sorted(
        registry.accepting(head),
        key=lambda i: (
            i.format in GENERIC,
            i.sniff_order,
            KIND_ORDER.index(i.kind) if i.kind in KIND_ORDER else len(KIND_ORDER),
        ),
    )


def _short(text: str, limit: int = _SAMPLE_CHARS) -> str:
    """One line of evidence for a YAML comment: control characters and newlines out, cut to ``limit``."""
    flat = re.sub(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]+", " ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _is_binary(head: str) -> bool:
    """Text sniffers cannot read it: NUL bytes, or mostly undecodable bytes, in its first lines."""
    if "\x00" in head:
        return True
    return len(head) > 0 and head.count("\ufffd") > 0.1 * len(head)


def _keys_of(head: str) -> str:
    """The top-level keys of the first JSON object of ``head`` (field evidence), or ''."""
    text = head.lstrip()
    if not text.startswith(("{", "[")):
        return ""
    first = text.splitlines()[0]
    for doc in (first, text):
        try:
            obj = json.loads(doc)
        except ValueError:
            continue
        if isinstance(obj, list) and obj and isinstance(obj[0], dict):
            obj = obj[0]
        if isinstance(obj, dict):
            keys = list(obj)[:8]
            return ", ".join(keys) + (", …" if len(obj) > 8 else "")
    return ""


def _small_text(path: Path, limit: int = 4 << 20) -> str:
    """The whole text of a small file (a pretty-printed JSON document spans more than the sniffed head), else ''."""
    try:
        return textio.read_bytes(path).decode("utf-8", errors="replace") if path.stat().st_size <= limit else ""
    except PmkitError:
        return ""


def _fits(res: LoadResult) -> bool:
    return res.parsed > 0 and not verdict.mostly_rejected(res.parsed, res.rejected)


def _trial(kind: str, fmt: str, path: Path, options: dict[str, Any] | None = None) -> LoadResult | str:
    """Load ``path`` whole as kind/format (no window; evidence redacted as in any load), or the loader's
    error (without the path it starts with) when it refuses the file."""
    try:
        return run(LoadRequest(kind=kind, format=fmt, path=str(path), options=options or {}))
    except PmkitError as exc:
        return str(exc).replace(f"{path}: ", "").replace(str(path), path.name)
    except Exception as exc:  # a loader bug on a stranger's file: the file is skipped with that reason, not the scan
        return f"the loader failed: {type(exc).__name__}: {exc}"


def _counts(res: LoadResult) -> str:
    unit = res.unit
    said = f"parsed {res.parsed:,} of {res.inputs:,} {unit}"
    return said + (f" ({res.rejected:,} rejected)" if res.rejected else "")


def _first_reject(res: LoadResult) -> str:
    """``; first reject: <reason>`` (what the loader said of the file), or ''."""
    if res.rejects.height == 0 or "reason" not in res.rejects.columns:
        return ""
    return f"; first reject: {_short(str(res.rejects.get_column('reason')[0]), 120)}"


def _first_event(res: LoadResult) -> str:
    """The first parsed event or sample as evidence: its time and message (or metric)."""
    frame = res.frame
    if frame.height == 0:
        return ""
    row = frame.row(frame.get_column("ts").arg_min() or 0, named=True)  # no sort of a big frame
    what = row.get("message") if "message" in frame.columns else f"{row.get('metric')} {row.get('labels')}"
    ts = row["ts"].strftime("%Y-%m-%dT%H:%M:%SZ") if row.get("ts") is not None else "?"
    return f"first: {ts} {_short(str(what), 80)!r}"


def _content_service(res: LoadResult) -> tuple[str | None, str]:
    """The service the loaded events name most often (events: ``service``; series: a ``service``/``app``/``job``
    label), with the basis said."""
    frame = res.frame
    if "service" in frame.columns:
        vc = frame.get_column("service").drop_nulls().value_counts(sort=True)
        if vc.height:
            top, n = vc.row(0)
            others = f"; also {', '.join(map(str, vc.get_column('service').to_list()[1:4]))}" if vc.height > 1 else ""
            return str(top), f"{top} in {n:,} of {frame.height:,} events{others}"
    if "labels" in frame.columns and frame.height:
        for label in ("service", "app"):  # not `job`: the scrape job (kube-state-metrics), not whose
            vals = (
                frame.select(pl.col("labels").str.json_path_match(f"$.{label}").alias("v"))
                .get_column("v")
                .drop_nulls()
                .unique()
                .to_list()
            )
            if len(vals) == 1:
                return str(vals[0]), f"{vals[0]} in every sample's {label!r} label"
    return None, ""


def _name_service(path: Path, top: Path) -> str | None:
    """A service from the file name up to its first dot, else its folder's name (a folder under the scanned
    one: the scanned folder's own name says nothing of one file), unless generic."""
    names = [path.name.split(".")[0]] + ([path.parent.name] if path.parent != top else [])
    for name in names:
        words = set(re.split(r"[-_.\s]+", name.lower()))
        if name and not words <= GENERIC_NAMES and re.fullmatch(r"[A-Za-z][A-Za-z0-9._-]*", name):
            return name
    return None


def _slack_roots(files: list[Path], top: Path) -> list[Path]:
    """Folders under ``top`` that hold a Slack export (``users.json`` or ``channels.json`` at their top)."""
    roots = sorted({f.parent for f in files if f.name in META_FILES})
    return [r for r in roots if not any(o != r and o in r.parents for o in roots)]


def _hidden(path: Path, top: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(top).parts)


def scan_files(top: Path, exclude: Path | None = None) -> tuple[list[Found], list[tuple[str, str]]]:
    """Classify every file under ``top``: what was taken (:class:`Found`) and what was skipped, with why."""
    if not top.is_dir():
        raise PmkitError(f"--scan {top}: not a folder; give the folder that holds the evidence")
    top = top.resolve()
    every = sorted(
        p
        for p in top.rglob("*")
        if p.is_file() and not (exclude is not None and (exclude == p or exclude in p.parents))
    )
    found: list[Found] = []
    skipped: list[tuple[str, str]] = []
    rel = lambda p: p.relative_to(top).as_posix()  # noqa: E731
    seen: dict[str, Path] = {}

    def take_slack(root: Path, members: list[Path]) -> bool:
        res = _trial("chat", "slack", root)
        if isinstance(res, str) or not _fits(res):
            return False
        channels = sorted({m.split("/")[0] for m in _slack_members(root)})
        found.append(
            Found(
                members,
                root,
                top,
                "chat",
                "slack",
                [
                    f"a Slack export ({'zip' if root.is_file() else 'folder'}: "
                    f"{', '.join(n for n in META_FILES if n in _slack_members(root, meta=True))}; "
                    f"channels {', '.join(channels[:6]) or '-'})",
                    f"{_counts(res)}; {_first_event(res)}",
                ],
                Seen.of(res, "chat"),
            )
        )
        return True

    # an incident folder below (one made by an earlier scan, say) is an incident of its own, not evidence
    incidents = sorted({p.parent for p in every if p.name == "incident.yaml" and p.parent != top})
    visible = []
    for p in every:
        inside = next((d for d in incidents if d in p.parents or d == p.parent), None)
        if inside is not None:
            if p.parent == inside and p.name == "incident.yaml":
                skipped.append((rel(inside) + "/", "an incident folder of its own (incident.yaml): not scanned"))
        elif _hidden(p, top):
            skipped.append((rel(p), "hidden file"))
        elif p.parent == top and p.name in ("incident.yaml", "expected.yaml"):
            skipped.append((rel(p), "an incident spec, not evidence"))
        else:
            visible.append(p)
    in_slack: set[Path] = set()
    for root in _slack_roots(visible, top):
        members = [p for p in visible if root in p.parents]
        if take_slack(root, members):
            in_slack.update(members)
    rest = [p for p in visible if p not in in_slack]
    digests = {p: _digest(p) for p in rest if p.stat().st_size > 0}
    # of byte-identical files the one with the shortest name is the original ("copy of x.log", "x (1).log")
    for p in sorted(digests, key=lambda p: (len(rel(p)), rel(p))):
        seen.setdefault(digests[p], p)
    for p in rest:
        if p not in digests:
            skipped.append((rel(p), "empty file"))
            continue
        twin = seen[digests[p]]
        if twin != p and zipfile.is_zipfile(p):
            skipped.append((rel(p), f"duplicate of {rel(twin)} (same bytes)"))
            continue
        if zipfile.is_zipfile(p):
            if not take_slack(p, [p]):
                skipped.append((rel(p), "a zip archive that is not a Slack export: unpack it and scan the folder"))
            continue
        try:
            head = textio.head(p)
        except PmkitError as exc:
            skipped.append((rel(p), _short(str(exc).removeprefix(f"{p}: "), 160)))
            continue
        if _is_binary(head):
            if textio.read_head_bytes(p, 4) == b"PAR1":
                said = "a Parquet file (binary): if it is a log lake, a source with kind logs, format sql reads it (docs/lake.md)"
            else:
                said = "binary (not text): no loader reads it"
            skipped.append((rel(p), said))
            continue
        if not head.strip():
            skipped.append((rel(p), "blank: only whitespace in its first lines"))
            continue
        cands = candidates(head)
        if not cands:
            first = next((ln for ln in head.splitlines() if ln.strip()), "")
            hint = (
                "a JSON document no loader recognises"
                if first.lstrip().startswith(("{", "["))
                else "if it is a log, `pmkit grok --suggest FILE` proposes a pattern (format: grok)"
            )
            said = f"unknown format: no sniffer recognised its first lines (first: {_short(first, 60)!r}); {hint}"
            skipped.append((rel(p), said))
            continue
        chosen = _choose(p, top, cands, head)
        if isinstance(chosen, str):
            skipped.append((rel(p), chosen))
        elif twin != p and chosen.kind not in PAYLOAD_KINDS:
            skipped.append((rel(p), f"duplicate of {rel(twin)} (same bytes): its events would count twice"))
        else:
            if twin != p:
                chosen.why.append(f"same bytes as {rel(twin)}: kept, a re-sent notification is an event of its own")
            found.append(chosen)
    return found, skipped


def _slack_members(root: Path, meta: bool = False) -> list[str]:
    """Relative names in a Slack export folder or zip (``meta``: the top-level list files only)."""
    if root.is_file():
        with zipfile.ZipFile(root) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/") and not n.startswith("__MACOSX/")]
        base = min((n for n in names if n.rsplit("/", 1)[-1] in META_FILES), key=lambda n: n.count("/"), default="")
        prefix = base[: base.rfind("/") + 1]
        names = [n[len(prefix) :] for n in names if n.startswith(prefix)]
    else:
        names = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]
    return [n for n in names if "/" not in n] if meta else [n for n in names if "/" in n]


def _choose(path: Path, top: Path, cands: list[registry.LoaderInfo], head: str) -> Found | str:
    """Trial-load ``path`` with each candidate in order; the first that fits, or why none did."""
    tried = []
    for info in cands:
        res = _trial(info.kind, info.format, path)
        options: dict[str, Any] = {}
        unjoined = 0
        if not isinstance(res, str) and res.rejected and info.options and "multiline" in info.options:
            joined = _trial(info.kind, info.format, path, {"multiline": "traceback"})
            if not isinstance(joined, str) and joined.rejected < res.rejected:
                unjoined = res.rejected
                res, options = joined, {"multiline": "traceback"}
        if isinstance(res, str) or not _fits(res):
            said = _short(res, 200) if isinstance(res, str) else _counts(res) + _first_reject(res)
            tried.append(f"{info.kind}/{info.format}: {said}")
            continue
        others = [f"{c.kind}/{c.format}" for c in cands if c is not info]
        why = [
            f"sniffer {info.kind}/{info.format} accepted its first lines"
            + (f" (also: {', '.join(others)})" if others else "")
        ]
        keys = _keys_of(head) or _keys_of(_small_text(path))
        if keys:
            why.append(f"fields: {keys}")
        else:
            first = next((ln for ln in head.splitlines() if ln.strip()), "")
            why.append(f"line: {_short(first, 90)!r}")
        why.append(f"{_counts(res)}; {_first_event(res)}")
        if options:
            why.append(f"multiline: traceback joins continuation lines (without it {unjoined:,} lines were rejected)")
        service, basis = _content_service(res) if info.table == "events" or info.kind == "metrics" else (None, "")
        return Found([path], path, top, info.kind, info.format, why, Seen.of(res, info.kind), options, service, basis)
    return f"the sniffers' formats did not load it ({'; '.join(tried)})"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-").lower() or "source"


def propose(found: list[Found]) -> list[Proposal]:
    """Group what was found into sources (one per kind/format, plus name stem for logs and metrics)."""
    groups: dict[tuple[str, str, str, str], list[Found]] = {}
    for f in found:
        groups.setdefault(f.group_key, []).append(f)
    proposals: list[Proposal] = []
    used: set[str] = set()
    for (kind, fmt, _, stem), members in groups.items():
        base = _slug(
            stem if stem else (fmt if len(members) > 1 or fmt == "slack" else members[0].root.name.split(".")[0])
        )
        name = base
        n = 2
        while name in used:
            name, n = f"{base}-{n}", n + 1
        used.add(name)
        single = len(members) == 1 and members[0].root.is_file()
        path = f"{kind}/{members[0].root.name}" if single else f"{kind}/{name}/"
        service, service_why = _service_of(kind, members)
        comments = list(members[0].why)
        if len(members) > 1:
            comments = [f"{members[0].root.name}: {comments[0]}", *comments[1:]]
            for m in members[1:6]:
                again = next((w for w in m.why if w.startswith("same bytes")), "")
                comments.append(f"{m.root.name}: {m.seen.counts}; {m.seen.first}{'; ' + again if again else ''}")
            if len(members) > 6:
                comments.append(f"… and {len(members) - 6} more files the same sniffer accepted")
        proposals.append(Proposal(name, kind, fmt, path, members, members[0].options, service, service_why, comments))
    order = {k: i for i, k in enumerate(("logs", "metrics", "deploys", "chat", "alerts"))}
    return sorted(proposals, key=lambda p: (order.get(p.kind, 9), p.name))


def _service_of(kind: str, members: list[Found]) -> tuple[str | None, str]:
    """The source's ``service:`` and the reason (see the module doc)."""
    named = {m.content_service for m in members if m.content_service}
    if named:
        if len(named) == 1:
            only = members[0] if members[0].content_service else next(m for m in members if m.content_service)
            if kind in ("logs", "metrics"):
                return named.pop(), f"from the content: {only.content_service_basis}"
            return None, f"not set: the events carry their own ({only.content_service_basis})"
        return None, f"not set: the events name several services ({', '.join(sorted(named)[:5])})"
    if kind == "logs":
        names = {_name_service(m.root, m.top) for m in members}
        if len(names) == 1 and (svc := names.pop()):
            return svc, "from the file name (the events name no service)"
        return None, "unknown: the events name no service and the file name is generic; set service: if you know it"
    if kind == "metrics":  # a metrics file is named after its metric or query, not a service
        return None, "unknown: no sample has one service or app label; set service: if the metric is one service's"
    return None, ""


def _ts(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def suggestions(proposals: list[Proposal]) -> tuple[list[tuple[str, str]], list[str]]:
    """Incident-level proposals: the services (from the logs' content) and commented time suggestions
    (first/last alert or page, the span of the events), each with its basis. Nothing is set from them."""
    counts: dict[str, int] = {}
    for p in proposals:
        if p.kind == "logs":
            for m in p.members:
                for svc, n in m.seen.services.items():
                    counts[svc] = counts.get(svc, 0) + n
    total = sum(counts.values())
    services = [
        (s, f"{n:,} log events name it") for s, n in sorted(counts.items(), key=lambda kv: -kv[1]) if n >= 0.05 * total
    ][:5]
    if not services:  # no log names one: the services the log sources were given from their file names
        named = sorted({p.service for p in proposals if p.kind == "logs" and p.service})
        services = [(s, "a log file's name") for s in named][:5]
    lines: list[str] = []
    alerts = [m.seen.alerts for p in proposals for m in p.members if m.seen.alerts is not None]
    spans = [(m.seen.lo, m.seen.hi) for p in proposals if p.kind in ("logs", "metrics") for m in p.members]
    if not any(lo for lo, _ in spans):  # deploy and chat histories reach back days: theirs only when nothing else
        spans = [(m.seen.lo, m.seen.hi) for p in proposals for m in p.members]
    if alerts:
        al = pl.concat(alerts).sort("ts")
        first, last = al.row(0, named=True), al.row(-1, named=True)
        lines.append(f"first alert/page: {_ts(first['ts'])}  {_short(str(first['message']), 70)!r}")
        lines.append(f"last alert/page:  {_ts(last['ts'])}  {_short(str(last['message']), 70)!r}")
    los = [lo for lo, _ in spans if lo is not None]
    his = [hi for _, hi in spans if hi is not None]
    if los and his:
        lo, hi = min(los), max(his)
        what = "logs and metrics span" if any(p.kind in ("logs", "metrics") for p in proposals) else "events span"
        lines.append(f"the {what} {_ts(lo)} .. {_ts(hi)}")
        lines.append("window:                          # that span (narrow it to the incident)")
        lines.append(f"  start: {_ts(lo)}")
        lines.append(f"  end: {_ts(hi)}")
    if alerts:
        lines.append(
            f"milestones: {{detected: {_ts(first['ts'])}}}   # the first alert/page, if that is how it was detected"
        )
    return services, lines


def scan(top: Path, exclude: Path | None = None) -> ScanResult:
    """Scan ``top`` and propose (see the module doc)."""
    found, skipped = scan_files(top, exclude)
    proposals = propose(found)
    services, lines = suggestions(proposals)
    return ScanResult(proposals, skipped, services, lines)


def _q(value: str) -> str:
    """A YAML scalar: plain when safe, else double-quoted (JSON's quoting is valid YAML)."""
    return (
        value
        if re.fullmatch(r"[A-Za-z0-9_./*-][A-Za-z0-9_./*: -]*", value) and ": " not in value
        else json.dumps(value)
    )


def render_yaml(incident_id: str, top: Path, result: ScanResult) -> str:
    """The incident.yaml text: the proposed sources with a comment each, the skipped files, the suggestions."""
    out = [
        "# incident.yaml, proposed by `pmkit new --scan` from the evidence in",
        f"#   {_short(str(top), 200)}",
        "# Check each source (the comment says why it was chosen), then fill in title, narrative, slos...",
        "# Reference: docs/incident-yaml.md; `pmkit formats` lists every kind/format.",
        f"id: {_q(incident_id)}",
        'title: ""                     # one line: what users saw',
    ]
    if result.services:
        out.append("services:                     # the services the logs name (most events first)")
        out += [f"  - {_q(s)}   # {why}" for s, why in result.services]
    else:
        out.append("services: []                  # no log names a service; list the affected ones")
    out.append("# severity: SEV2")
    if result.suggestions:
        out.append("# Times found in the evidence (suggestions only; nothing below is set until you uncomment it):")
        out += [f"# {line}" for line in result.suggestions]
    else:
        out.append("# window: not set: no timed events were found; pmkit reads the whole files")
    out.append("")
    out.append("sources:" if result.proposals else "sources: []")
    for p in result.proposals:
        out.append(f"  # {p.name}: {p.kind}/{p.format}, {len(p.members)} {'file' if len(p.members) == 1 else 'files'}")
        out += [f"  #   {_short(c, 160)}" for c in p.comments]
        out.append(f"  - name: {_q(p.name)}")
        out.append(f"    kind: {p.kind}")
        out.append(f"    format: {p.format}")
        out.append(f"    path: {_q(p.path)}")
        if p.service:
            out.append(f"    service: {_q(p.service)}   # {_short(p.service_why, 120)}")
        elif p.service_why:
            out.append(f"    # service: {_short(p.service_why, 140)}")
        if any(any("no UTC offset" in n for n in m.seen.notes) for m in p.members):
            out.append(
                "    # timezone: ...   # its times have no UTC offset and are read as UTC; set the IANA zone they were written in"
            )
        if any(any("times have no year" in n for n in m.seen.notes) for m in p.members):
            out.append("    # year: ...   # its times have no year (read in 2000); set the year, or the window above")
        if p.options:
            out.append("    options:")
            out += [f"      {k}: {_q(str(v))}" for k, v in p.options.items()]
    out.append("")
    if result.skipped:
        out.append(f"# Skipped ({len(result.skipped)} files):")
        out += [f"#   {_short(path, 120)}: {_short(reason, 160)}" for path, reason in result.skipped]
    else:
        out.append("# Skipped: nothing (every file was taken)")
    out += [
        "",
        'roles: {}                     # e.g. {incident_commander: "@jane-doe"}',
        "slos: []",
        "milestones: {}                # overrides, e.g. {impact_start: 2025-06-15T14:18:00Z}",
        "narrative: {}                 # summary, leadup, root_cause, detection, response, recovery, ...",
        "authors: []",
        "tags: []",
        "five_whys: []",
        "action_items: []",
        "",
    ]
    return "\n".join(out)


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def place(result: ScanResult, root: Path) -> int:
    """Hard-link (or copy) each proposal's files into ``root`` at its path; the number of files placed."""
    n = 0
    for p in result.proposals:
        target = root / p.path
        for m in p.members:
            if m.root.is_dir():  # a Slack export folder: its tree as it is
                for f in m.files:
                    _link(f, target / f.relative_to(m.root))
                    n += 1
            elif p.path.endswith("/"):
                dst = target / m.root.name
                if dst.exists():
                    dst = target / f"{m.root.parent.name}-{m.root.name}"
                _link(m.root, dst)
                n += 1
            else:
                _link(m.root, target)
                n += 1
    return n


def scan_incident(incident_id: str, top: Path, root: Path) -> tuple[ScanResult, int]:
    """Scan ``top``, place the evidence in the new incident folder ``root`` and write its incident.yaml."""
    result = scan(top, exclude=root.resolve() if root.resolve().is_relative_to(top.resolve()) else None)
    root.mkdir(parents=True, exist_ok=True)
    placed = place(result, root)
    (root / "incident.yaml").write_text(render_yaml(incident_id, top, result), encoding="utf-8")
    return result, placed


def summary(result: ScanResult) -> Iterable[str]:
    """What ``pmkit new --scan`` prints: one line per source and per skipped file."""
    for p in result.proposals:
        svc = f", service {p.service}" if p.service else ""
        yield f"  {p.kind}/{p.format}: {p.name} ({len(p.members)} file{'s' * (len(p.members) != 1)}{svc}) -> {p.path}"
    for path, reason in result.skipped:
        yield f"  skipped {path}: {reason}"
