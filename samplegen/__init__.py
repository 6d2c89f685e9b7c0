"""Deterministic sample incidents with ground truth: ``generate("data/samples")``.

A development tool, not part of pmkit's wheel: run it from the repository root as
``python -m samplegen data/samples`` (or ``make samples``). The wheel ships the files it
wrote (``data/samples/INC-*``), not the code that writes them.

Each incident module builds a :class:`~samplegen.common.Sample` (file bytes by
relative path plus the ground truth written to ``expected.yaml``); :func:`generate`
writes them. Same code, same bytes: randomness is seeded per incident and component,
nothing reads the clock, JSON keeps a fixed key order and gzip a zero mtime.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from samplegen import engine, migration, payments, scenarios
from samplegen.common import Sample

COMMITTED = Path(__file__).resolve().parents[1] / "data" / "samples"  # samplegen/ sits at the repository root
INCIDENTS: dict[str, Callable[[], Sample]] = {
    payments.ID: payments.build,
    migration.ID: migration.build,
    **{sc.id: (lambda sc=sc: engine.build(sc)) for sc in scenarios.SCENARIOS},
}


def build(incident_id: str, *, large_lines: int | None = None) -> Sample:
    """One incident's files and ground truth, in memory."""
    if large_lines is not None:
        if incident_id != payments.ID:
            raise ValueError(f"the large variant exists for {payments.ID} only, not {incident_id}")
        return payments.build(large_lines=large_lines)
    try:
        return INCIDENTS[incident_id]()
    except KeyError:
        raise ValueError(f"unknown sample {incident_id!r}; expected one of {', '.join(INCIDENTS)}") from None


def write(sample: Sample, out_dir: str | Path) -> list[Path]:
    """Replace ``out_dir/<incident id>/`` with the sample's files; returns the paths written."""
    root = Path(out_dir) / sample.incident_id
    if root.exists():
        shutil.rmtree(root)
    written = []
    for rel in sorted(sample.files):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(sample.files[rel])
        written.append(path)
    return written


def generate(out_dir: str | Path, *, only: Iterable[str] | None = None, large_lines: int | None = None) -> list[Path]:
    """Write the samples under ``out_dir`` (``only``: some incident ids) and return the files written.

    ``large_lines``: write instead the benchmark variant of INC-2025-0142, whose access log
    (plain, not gzipped) has exactly that many lines; it belongs in a folder that is not
    committed.
    """
    if large_lines is not None:
        if Path(out_dir).resolve() == COMMITTED.resolve():
            raise ValueError(f"the large variant must not replace the committed sample in {COMMITTED}")
        return write(build(payments.ID, large_lines=large_lines), out_dir)
    ids = list(INCIDENTS) if only is None else list(only)
    written: list[Path] = []
    for incident_id in ids:
        written += write(build(incident_id), out_dir)
    return written


__all__ = ["COMMITTED", "INCIDENTS", "build", "generate", "write"]
