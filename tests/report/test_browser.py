"""The rendered HTML in a real headless Chromium, opened from a file URL as a reader would.

Every plotly figure must be drawn (an ``svg.main-svg`` inside each ``.js-plotly-plot``), the
console must stay free of errors, no request may leave the file (the document is offline by
design), and nothing from code cells may be visible. A full-page screenshot goes to the test's
tmp folder, and to ``docs/img/postmortem.png`` when ``PMKIT_SCREENSHOT=1`` (for the README).

Skipped, with the reason, where Debian's chromium or the playwright package is missing; CI
installs both (``.ci/browser.sh``). Playwright drives the system chromium: no browser download.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pmkit.report.render import RenderResult

ROOT = Path(__file__).resolve().parents[2]
LOAD_MS = 60_000  # a 5 MB page with plotly.js on a busy 2-core machine
CODE_SELECTORS = (
    ".jp-CodeCell .jp-InputArea",
    ".jp-InputArea-editor",
    ".jp-InputPrompt",
    ".jp-OutputPrompt",
    ".celltag_parameters",
    ".celltag_injected-parameters",
    ".highlight",
)


@pytest.fixture(scope="module")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium.path, args=list(chromium.args))
        try:
            yield b
        finally:
            b.close()


def test_rendered_html_in_chromium(browser, rendered: RenderResult, tmp_path: Path) -> None:
    html = rendered.files["html"]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.on("request", lambda r: requests.append(r.url) if not r.url.startswith(("file:", "data:", "blob:")) else None)
    page.goto(html.as_uri(), wait_until="load", timeout=LOAD_MS)

    figures = page.locator(".pmkit-figure")
    n = figures.count()
    assert n >= 3
    # plotly marks a drawn figure with .js-plotly-plot and puts its svg.main-svg layers inside
    page.wait_for_function(
        "n => document.querySelectorAll('.js-plotly-plot').length === n && "
        "[...document.querySelectorAll('.js-plotly-plot')].every(p => p.querySelector('svg.main-svg'))",
        arg=n,
        timeout=LOAD_MS,
    )
    drawn = page.evaluate(
        "[...document.querySelectorAll('.js-plotly-plot')].map(p => ({"
        " svgs: p.querySelectorAll('svg.main-svg').length,"
        " traces: (p.data || []).length,"
        " width: p.getBoundingClientRect().width, height: p.getBoundingClientRect().height }))"
    )
    assert len(drawn) == n
    for d in drawn:
        assert d["svgs"] >= 1 and d["traces"] >= 1 and d["width"] > 600 and d["height"] > 200, d
    assert page.locator(".pmkit-missing").count() == 0

    for sel in CODE_SELECTORS:
        visible = [e for e in page.locator(sel).all() if e.is_visible()]
        assert not visible, f"{sel}: {len(visible)} visible"
    text = page.locator("body").inner_text()
    assert "Postmortem: INC-2025-0142" in text
    for code in ("incident_dir", "import pmkit", "In [", "Out["):
        assert code not in text, code

    shot = tmp_path / "postmortem.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000
    if os.environ.get("PMKIT_SCREENSHOT") == "1":
        dest = ROOT / "docs" / "img" / "postmortem.png"
        dest.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(dest), full_page=False)
    assert not errors, errors
    assert not requests, f"the document fetched from the network: {requests}"
    page.close()
