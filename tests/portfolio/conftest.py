"""The committed portfolio corpus (data/portfolio: 60 generated postmortems plus the two bundled samples) loaded
once per session, and the truth the generator planted (data/portfolio/truth.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pmkit.portfolio import Portfolio

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "data" / "portfolio"


@pytest.fixture(scope="session")
def corpus() -> Portfolio:
    return Portfolio.load(CORPUS, jobs=2)


@pytest.fixture(scope="session")
def truth() -> dict[str, Any]:
    return yaml.safe_load((CORPUS / "truth.yaml").read_text(encoding="utf-8"))
