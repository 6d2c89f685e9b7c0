"""A parquet cache of parsed sources, so re-opening a notebook is instant.

Key: pmkit's version, the loader's source code and the shared loading code (``pmkit.sources``,
``timeutil``, ``schema``), its kind/format and every option, and
the content hash (BLAKE2b) of every input file. Any change to a file or an option is a new key;
stale entries are simply never read again. Entries live in ``.pmkit-cache/`` inside
the incident folder (delete it at will).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import json
from pathlib import Path

import polars as pl

from pmkit.sources.base import LoadRequest, LoadResult

CACHE_DIR = ".pmkit-cache"


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
    """The key of a request: version + loader code + options + content of its files."""
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


def read(root: Path, key: str) -> LoadResult | None:
    """The cached result for ``key``, or None."""
    d = root / CACHE_DIR / key
    meta_path = d / "meta.json"
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text())
        frame = pl.read_parquet(d / "frame.parquet")
        rejects = pl.read_parquet(d / "rejects.parquet")
    except (OSError, ValueError, pl.exceptions.PolarsError):
        return None  # a broken entry is a miss, never an error
    return LoadResult(
        frame=frame,
        rejects=rejects,
        inputs=meta["inputs"],
        parsed_inputs=meta["parsed_inputs"],
        unit=meta["unit"],
        notes=tuple(meta["notes"]),
        table=meta["table"],
        format=meta["format"],
    )


def write(root: Path, key: str, res: LoadResult) -> None:
    """Store ``res`` under ``key`` (best effort: a read-only folder just means no cache)."""
    d = root / CACHE_DIR / key
    try:
        d.mkdir(parents=True, exist_ok=True)
        res.frame.write_parquet(d / "frame.parquet")
        res.rejects.write_parquet(d / "rejects.parquet")
        meta = {
            "inputs": res.inputs,
            "parsed_inputs": res.parsed_inputs,
            "unit": res.unit,
            "notes": list(res.notes),
            "table": res.table,
            "format": res.format,
        }
        (d / "meta.json").write_text(json.dumps(meta))
    except OSError:
        return
