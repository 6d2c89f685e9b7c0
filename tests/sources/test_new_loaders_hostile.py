"""The loaders of issue 12 (kubernetes-events, logs/csv, JSON lines as series) on every broken and adversarial file of
``tests/fixtures/hostile``: a pmkit error naming the file, or every input accounted for; never a traceback or a hang."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sourcetest import within_budget

from pmkit.errors import PmkitError
from pmkit.sources.base import LoadRequest, run

FILES = Path(__file__).resolve().parents[1] / "fixtures" / "hostile" / "files"
LOADERS: list[tuple[str, str, dict[str, Any]]] = [
    ("logs", "kubernetes-events", {}),
    ("deploys", "kubernetes-events", {}),
    ("logs", "csv", {}),
    ("logs", "jsonl", {"as": "series", "counters": "all"}),
    ("metrics", "jsonl", {}),
    ("metrics", "csv", {}),
]
HOSTILE = sorted(p.name for p in FILES.iterdir() if p.is_file()) if FILES.is_dir() else []


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize(("kind", "fmt", "opts"), LOADERS, ids=[f"{k}/{f}" for k, f, _ in LOADERS])
def test_hostile_file(name: str, kind: str, fmt: str, opts: dict[str, Any]) -> None:
    path = FILES / name
    req = LoadRequest(kind=kind, format=fmt, path=str(path), options=opts, redaction=False)
    try:
        res = within_budget(lambda: run(req), f"{kind}/{fmt} on {name}")
    except PmkitError as exc:
        assert name in str(exc) or str(path) in str(exc), f"the error does not name the file: {exc}"
        return
    assert res.parsed + res.rejected + res.outside == res.inputs
    assert res.rejects.get_column("origin").null_count() == 0
    assert res.rejects.get_column("reason").null_count() == 0
