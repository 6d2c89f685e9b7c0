"""Fixtures of the rendering tests: one sample rendered once per session, shared by the pipeline and browser tests.

Rendering is seconds per incident (a kernel, the analysis, nbconvert), so the outputs are made
once and only read by the tests.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from pmkit.report.render import RenderResult, render

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "data" / "samples"
SAMPLE = SAMPLES / "INC-2025-0142"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
STANDIN = FIXTURES / "standin.ipynb"


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> RenderResult:
    """INC-2025-0142 rendered to HTML and Markdown with pmkit's postmortem notebook (in this process)."""
    out = tmp_path_factory.mktemp("rendered")
    [result] = render([SAMPLE], out, to=("html", "md"), jobs=1, progress=False)
    assert result.ok, result.error
    return result


@dataclass(frozen=True)
class Chromium:
    """The system Chromium that the browser tests drive through Playwright (no browser download)."""

    path: str
    args: tuple[str, ...] = (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    )


@pytest.fixture(scope="session")
def chromium() -> Chromium:
    """Debian's chromium (or ``PMKIT_CHROMIUM``) with Playwright to drive it; the test is skipped without them."""
    path = os.environ.get("PMKIT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file():
        pytest.skip(f"no chromium at {path} (apt-get install chromium, .ci/browser.sh, or set PMKIT_CHROMIUM)")
    if importlib.util.find_spec("playwright") is None:
        pytest.skip("playwright is not installed (pip install playwright; the system chromium is used)")
    return Chromium(path)
