"""Shared fixtures.

``real``: the folder of third-party files in ``../shared/data/real`` (set
``PMKIT_SHARED`` to point elsewhere). Tests that use it are skipped, with the reason,
where it is absent: a user's clone has no ``../shared``; CI has it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
SHARED = Path(os.environ.get("PMKIT_SHARED", ROOT.parent / "shared"))
REAL = SHARED / "data" / "real"


@pytest.fixture(scope="session")
def real() -> Path:
    """Path to ../shared/data/real; skips the test when it is not there."""
    if not REAL.is_dir():
        pytest.skip(f"third-party test data not found at {REAL} (only CI and developers have ../shared)")
    return REAL


@pytest.fixture(scope="session")
def samples() -> Path:
    return SAMPLES
