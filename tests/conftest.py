"""Shared fixtures.

``real``: the folder of third-party files in ``../shared/data/real`` (set
``PMKIT_SHARED`` to point elsewhere). Tests that use it are skipped, with the reason,
where it is absent: a user's clone has no ``../shared``; CI has it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests: CI and `make test` run the fixed, derandomized profile "ci" (the same examples every
# run, so a red CI is reproducible); `make test-random` runs the longer randomized "release" profile
# (HYPOTHESIS_PROFILE=release; each test's example budget times PMKIT_HYPOTHESIS_SCALE, see sourcetest.scaled).
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("release", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

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
