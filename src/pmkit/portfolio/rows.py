"""One portfolio row per incident, from an evidence folder or a postmortem document, loaded in parallel.

A row is a JSON-ready dict: ``id``, ``title``, ``kind`` (``folder``/``document``), ``path``, ``date``,
``severity_declared``, ``severity_classified``, ``severity_policy``, ``services``, ``root_cause_category``,
``convention``, ``milestones`` (the six, ISO times or null), ``mttx`` (``mttd``, ``mtta``, ``mttm``, ``mttr`` in
seconds or null, measured with ``convention``), ``signatures`` (log templates), ``gates_failed`` (the quality
gates the postmortem fails; empty = complete), ``slos`` (one dict per SLO: ``service``, ``slo``, ``objective``,
``period``, ``budget_minutes``, ``consumed``, ``consumed_minutes``) and ``action_items`` (``action``, ``owner``,
``due``, ``status``).

An evidence folder is loaded with :meth:`pmkit.incident.Incident.load` (its sources through the per-source
cache, :mod:`pmkit.cache`) and analysed with :func:`pmkit.pipeline.analyze`, the same figures as
``pmkit analyze --json``; the folder's row is then kept in the row cache (``<cache folder>/portfolio/<key>.json``)
under a key made of pmkit's version, the code of everything the row is computed with (``pmkit`` but ``report``
and the face), the convention and the content of every file of the folder. Folders are analysed in worker
processes (``spawn``, so polars' threads are never forked); documents are read in the calling process.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import functools
import hashlib
import json
import multiprocessing
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pmkit import cache
from pmkit.errors import PmkitError

ROWS = "portfolio"  # the row cache's folder beside cache.ENTRIES


def folder_row(path: str, convention: str = "impact") -> dict[str, Any]:
    """The row of an evidence folder: the incident loaded (sources cached) and analysed."""
    from pmkit.analysis.mttx import mttx_seconds
    from pmkit.analysis.severity import normalise_level
    from pmkit.incident import Incident
    from pmkit.pipeline import analyze

    inc = Incident.load(path)
    a = analyze(inc, convention=convention)
    spec = inc.spec
    times = a.milestones.times()
    services = list(spec.services)
    by_source = {s.label: s.service for s in spec.sources}
    slos = []
    for res, slo_spec in zip(a.slos, spec.slos, strict=False):
        service = by_source.get(slo_spec.source or "") or (services[0] if services else None)
        slos.append(
            {
                "service": service,
                "slo": res.name,
                "objective": res.objective,
                "period": res.period,
                "budget_minutes": res.budget_minutes,
                "consumed": res.consumed,
                "consumed_minutes": None if res.consumed is None else res.consumed * res.budget_minutes,
            }
        )
    mt = mttx_seconds(a.milestones, convention)
    gates = a.gates()
    return {
        "id": spec.id,
        "title": spec.title,
        "kind": "folder",
        "path": str(path),
        "date": spec.date.isoformat() if spec.date else None,
        "severity_declared": spec.severity,
        "severity_classified": normalise_level(a.severity.level) or a.severity.level,
        "severity_policy": spec.severity_policy,
        "services": services,
        "root_cause_category": spec.narrative.root_cause_category,
        "convention": convention,
        "milestones": {k: (v.isoformat() if v is not None else None) for k, v in times.items()},
        "mttx": {k: mt[k] for k in ("mttd", "mtta", "mttm", "mttr")},
        "signatures": [str(t) for t in a.signatures["template"].to_list()] if a.signatures.height else [],
        "gates_failed": [g.id for g in gates.failed],
        "slos": slos,
        "action_items": [
            {"action": x.action, "owner": x.owner, "due": x.due.isoformat() if x.due else None, "status": x.status}
            for x in spec.action_items
        ],
    }


@functools.cache
def _code_digest() -> str:
    """Hash of the code a folder's row is computed with: every module of pmkit but the report and the face."""
    pkg = Path(__file__).resolve().parents[1]
    skip = {"report", "cli.py", "cli_commands.py", "scaffold.py", "__init__.py"}
    h = hashlib.blake2b(digest_size=16)
    for f in sorted(pkg.rglob("*.py")):
        rel = f.relative_to(pkg)
        if rel.parts[0] in skip:
            continue
        h.update(rel.as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def row_key(folder: Path, convention: str) -> str:
    """The row cache key of a folder: version + code + convention + every file's name and content."""
    from pmkit._version import __version__

    h = hashlib.blake2b(digest_size=16)
    h.update(json.dumps([__version__, _code_digest(), convention]).encode())
    for f in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(f.relative_to(folder).as_posix().encode())
        with f.open("rb") as fh:
            for chunk in iter(functools.partial(fh.read, 1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def _row_cache_dir() -> Path:
    return cache.cache_dir().parent / ROWS


def cached_row(key: str) -> dict[str, Any] | None:
    """The cached row for ``key``, or None (a broken entry is a miss)."""
    try:
        row = json.loads((_row_cache_dir() / f"{key}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return row if isinstance(row, dict) else None


def store_row(key: str, row: dict[str, Any]) -> None:
    """Keep ``row`` under ``key`` (best effort; written whole then renamed, so a reader never sees half)."""
    if cache.max_bytes() <= 0:
        return
    d = _row_cache_dir()
    tmp = d / f".tmp-{key}-{os.getpid()}"
    try:
        d.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(row), encoding="utf-8")
        tmp.replace(d / f"{key}.json")
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _folder_job(path: str, convention: str, key: str | None) -> dict[str, Any]:
    """Worker: the folder's row, or ``{"error": ...}`` naming the folder (the other incidents still load)."""
    try:
        row = folder_row(path, convention)
    except PmkitError as exc:
        return {"error": f"{path}: {exc}"}
    except Exception as exc:  # a bug of ours or an unreadable folder: one incident, not the portfolio
        return {"error": f"{path}: {type(exc).__name__}: {exc} (a pmkit bug: please report it)"}
    if key is not None:
        store_row(key, row)
    return row


def _document_job(path: str) -> dict[str, Any]:
    from pmkit.portfolio.frontmatter import document_row

    try:
        return document_row(path)
    except PmkitError as exc:
        return {"error": str(exc)}


def load_rows(
    folders: Iterable[Path],
    documents: Iterable[Path],
    *,
    convention: str = "impact",
    use_cache: bool = True,
    jobs: int | None = None,
    tick: Callable[[int], None] | None = None,
    stats: dict[str, int] | None = None,
) -> list[dict[str, Any]]:
    """Every row, in the order given (folders, then documents); a failed one is ``{"error": message}``.

    ``tick(n)`` is called as ``n`` more incidents are done (the progress bar); ``stats`` receives
    ``cached`` (folders whose row came from the row cache) and ``analysed`` (folders analysed)."""
    folders, documents = list(folders), list(documents)
    out: list[dict[str, Any] | None] = [None] * (len(folders) + len(documents))
    todo: list[tuple[int, str, str | None]] = []
    caching = use_cache and cache.max_bytes() > 0
    for i, f in enumerate(folders):
        key = row_key(f, convention) if caching else None
        hit = cached_row(key) if key is not None else None
        if hit is not None:
            out[i] = hit
            if tick:
                tick(1)
        else:
            todo.append((i, str(f), key))
    for j, d in enumerate(documents, start=len(folders)):
        out[j] = _document_job(str(d))
        if tick:
            tick(1)
    if stats is not None:
        stats["cached"] = len(folders) - len(todo)
        stats["analysed"] = len(todo)
    workers = max(1, min(len(todo), jobs or os.cpu_count() or 1))
    if len(todo) == 1 or workers == 1:
        for i, folder, key in todo:
            out[i] = _folder_job(folder, convention, key)
            if tick:
                tick(1)
    elif todo:
        ctx = multiprocessing.get_context("spawn")
        with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = {pool.submit(_folder_job, f, convention, key): i for i, f, key in todo}
            for fut in cf.as_completed(futures):
                out[futures[fut]] = fut.result()
                if tick:
                    tick(1)
    return [r if r is not None else {"error": "not loaded"} for r in out]
