"""Fixtures of the rendering tests: one sample rendered once per session, shared by the pipeline and browser tests.

Rendering is seconds per incident (a kernel, the analysis, nbconvert), so the outputs are made
once and only read by the tests.
"""

from __future__ import annotations

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
