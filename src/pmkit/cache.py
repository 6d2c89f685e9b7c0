"""A parquet cache of parsed sources, so re-opening a notebook is instant.

Key: pmkit's version, the loader's source code and the shared loading code (``pmkit.sources``,
``timeutil``, ``schema``), its kind/format and every option, and
the content hash (BLAKE2b) of every input file. Any change to a file or an option is a new key;
stale entries are simply never read again, and make room for new ones.

Where: ``<cache folder>/loads/<key>/`` (``frame.parquet``, ``rejects.parquet``, ``meta.json``),
never inside the incident folder (which is often in git). The cache folder is
``platformdirs.user_cache_dir("pmkit")`` (``~/.cache/pmkit`` on Linux, ``~/Library/Caches/pmkit``
on macOS, ``%LOCALAPPDATA%\\pmkit\\Cache`` on Windows), or ``PMKIT_CACHE_DIR`` when set.

Bound: ``PMKIT_CACHE_MAX_BYTES`` (default 2 GiB; ``0`` turns the cache off). After each write
the least recently used entries are deleted until the cache fits; every read touches its entry
(the mtime of its ``meta.json``), so what is in use stays. An entry is written to a temporary
folder and renamed into place, so a reader never sees half of one.

Best effort throughout: an unwritable or unreadable folder means no cache, never an error.
Delete the folder at will.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import inspect
import json
import os
import re
import shutil
import threading
import time
from pathlib import Path

import polars as pl

from pmkit.sources.base import LoadRequest, LoadResult

ENV_DIR = "PMKIT_CACHE_DIR"
ENV_MAX_BYTES = "PMKIT_CACHE_MAX_BYTES"
DEFAULT_MAX_BYTES = 2 * 1024**3
ENTRIES = "loads"  # the entries' folder under the cache folder: eviction touches nothing else
META = "meta.json"
_KEY = re.compile(r"[0-9a-f]{32}")
_TMP = ".tmp-"
_STALE_TMP_SECONDS = 3600  # a temporary folder this old was left by a process that died mid-write


def cache_dir() -> Path:
    """The folder holding the entries: ``$PMKIT_CACHE_DIR/loads``, else ``user_cache_dir("pmkit")/loads``."""
    base = os.environ.get(ENV_DIR)
    if not base:
        from platformdirs import user_cache_dir

        base = user_cache_dir("pmkit", appauthor=False)
    return Path(base) / ENTRIES


def max_bytes() -> int:
    """The size bound: ``$PMKIT_CACHE_MAX_BYTES`` (bytes; ``0`` = no cache), else 2 GiB (also when unreadable)."""
    value = os.environ.get(ENV_MAX_BYTES, "").strip()
    try:
        return int(value) if value else DEFAULT_MAX_BYTES
    except ValueError:
        return DEFAULT_MAX_BYTES


def _file_digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@functools.cache
def _shared_code_digest() -> str:
    """Hash of the code every loader builds on: all of ``pmkit.sources`` plus ``timeutil`` and ``schema``."""
    pkg = Path(__file__).resolve().parent
    files = [*sorted((pkg / "sources").rglob("*.py")), pkg / "timeutil.py", pkg / "schema.py"]
    h = hashlib.blake2b(digest_size=16)
    for f in files:
        h.update(f.relative_to(pkg).as_posix().encode())
        h.update(_file_digest(f).encode())
    return h.hexdigest()


@functools.cache
def _code_digest(kind: str, format: str) -> str:
    """Hash of the loader's module source and of the shared loading code, so changed code never serves stale frames."""
    from pmkit.sources import registry

    func = registry.get(kind, format).func
    try:
        own = _file_digest(Path(inspect.getfile(func)))
    except (OSError, TypeError):
        own = "unknown"
    return f"{own}:{_shared_code_digest()}"


def cache_key(req: LoadRequest) -> str:
    """The key of a request: version + loader code + options (the window included) + content of its files."""
    from pmkit._version import __version__

    opts = dataclasses.asdict(req)
    opts["code"] = _code_digest(req.kind, req.format) if req.format else ""
    opts["window"] = [t.isoformat() for t in req.window] if req.window else None
    h = hashlib.blake2b(digest_size=16)
    h.update(json.dumps({"v": __version__, "opts": opts}, sort_keys=True, default=str).encode())
    for f in req.files():
        h.update(str(f.name).encode())
        h.update(_file_digest(f).encode())
    return h.hexdigest()


def read(key: str) -> LoadResult | None:
    """The cached result for ``key``, or None; a hit marks the entry as just used."""
    d = cache_dir() / key
    meta_path = d / META
    try:
        if not meta_path.is_file():
            return None
        meta = json.loads(meta_path.read_text())
        frame = pl.read_parquet(d / "frame.parquet")
        rejects = pl.read_parquet(d / "rejects.parquet")
        requests = pl.read_parquet(d / "requests.parquet") if (d / "requests.parquet").is_file() else None
    except (OSError, ValueError, pl.exceptions.PolarsError):
        return None  # a broken entry is a miss, never an error
    with contextlib.suppress(OSError):  # a read-only cache still serves
        os.utime(meta_path)  # last use, for the eviction
    return LoadResult(
        frame=frame,
        rejects=rejects,
        inputs=meta["inputs"],
        parsed_inputs=meta["parsed_inputs"],
        unit=meta["unit"],
        notes=tuple(meta["notes"]),
        table=meta["table"],
        format=meta["format"],
        outside=int(meta.get("outside", 0)),
        outside_parsed=int(meta.get("outside_parsed", 0)),
        requests=requests,
        query=str(meta.get("query", "")),
    )


def write(key: str, res: LoadResult) -> None:
    """Store ``res`` under ``key``, then evict down to :func:`max_bytes` (best effort: an unwritable folder
    just means no cache)."""
    limit = max_bytes()
    if limit <= 0:
        return
    root = cache_dir()
    tmp = root / f"{_TMP}{key}-{os.getpid()}-{threading.get_ident()}"
    try:
        tmp.mkdir(parents=True, exist_ok=True)
        res.frame.write_parquet(tmp / "frame.parquet")
        res.rejects.write_parquet(tmp / "rejects.parquet")
        if res.requests is not None:
            res.requests.write_parquet(tmp / "requests.parquet")
        meta = {
            "inputs": res.inputs,
            "parsed_inputs": res.parsed_inputs,
            "unit": res.unit,
            "notes": list(res.notes),
            "table": res.table,
            "format": res.format,
            "outside": res.outside,
            "outside_parsed": res.outside_parsed,
            "query": res.query,
        }
        (tmp / META).write_text(json.dumps(meta))
        final = root / key
        if final.exists():  # written meanwhile by another process, or a broken entry: same key, same content
            shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        return
    evict(limit)


def _entry_size(d: Path) -> int:
    return sum(f.stat().st_size for f in d.iterdir() if f.is_file())


def evict(limit: int | None = None) -> int:
    """Delete the least recently used entries until the cache holds at most ``limit`` bytes
    (default :func:`max_bytes`); returns the bytes freed. Only entry folders (named by a key) and
    stale temporary folders are ever deleted."""
    limit = max_bytes() if limit is None else limit
    root = cache_dir()
    entries: list[tuple[float, int, Path]] = []
    try:
        children = list(root.iterdir())
    except OSError:
        return 0
    now = time.time()
    for d in children:
        try:
            if d.name.startswith(_TMP) and d.is_dir():
                if now - d.stat().st_mtime > _STALE_TMP_SECONDS:
                    shutil.rmtree(d, ignore_errors=True)
                continue
            if not (_KEY.fullmatch(d.name) and d.is_dir()):
                continue
            size = _entry_size(d)
        except OSError:
            continue  # removed meanwhile
        try:
            used = (d / META).stat().st_mtime
        except OSError:
            used = 0.0  # no meta.json: a broken entry goes first
        entries.append((used, size, d))
    total = sum(size for _, size, _ in entries)
    freed = 0
    for _, size, d in sorted(entries, key=lambda e: (e[0], e[2].name)):
        if total <= limit:
            break
        shutil.rmtree(d, ignore_errors=True)
        total -= size
        freed += size
    return freed
