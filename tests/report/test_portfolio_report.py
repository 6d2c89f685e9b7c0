"""``pmkit portfolio``: the report (HTML, Markdown), the per-incident table (CSV, parquet), escaping, and the
HTML page in a real headless Chromium (every figure drawn, no console error, no request leaving the file).

The Chromium test is skipped, with the reason, where chromium or playwright is missing (tests/report/conftest.py).
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import pytest

from pmkit.cli import main
from pmkit.portfolio import Portfolio
from pmkit.report.portfolio import render_portfolio

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "data" / "portfolio"
LOAD_MS = 60_000


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Portfolio, dict[str, Path]]:
    out = tmp_path_factory.mktemp("portfolio")
    assert main(["portfolio", str(CORPUS), "-o", str(out), "--no-progress"]) == 0
    pf = Portfolio.load(CORPUS)
    return pf, {
        k: out / n
        for k, n in [
            ("html", "portfolio.html"),
            ("md", "portfolio.md"),
            ("csv", "incidents.csv"),
            ("parquet", "incidents.parquet"),
        ]
    }


def test_markdown_answers_the_question(rendered: tuple[Portfolio, dict[str, Path]]) -> None:
    pf, files = rendered
    md = files["md"].read_text(encoding="utf-8")
    assert "## Are we getting better, and where do we burn budget?" in md
    assert f"{len(pf)} incidents (2 evidence folders analysed, 60 postmortem documents read)" in md
    assert "MTTR (from impact start) median went from" in md and ": better." in md
    assert "Most error budget burnt: checkout (availability, 99.9%)" in md
    assert "overdue on 2026-01-15" in md
    assert "| MTTR (from impact start) | all | 60 | 59 | 1 |" in md  # a missing milestone is counted
    assert "| detected | 2 |" in md


def test_tables_export_one_row_per_incident(rendered: tuple[Portfolio, dict[str, Path]]) -> None:
    pf, files = rendered
    csv = pl.read_csv(files["csv"])
    parquet = pl.read_parquet(files["parquet"])
    assert csv.height == parquet.height == len(pf)
    assert sorted(csv["id"].to_list()) == sorted(pf.incidents["id"].to_list())
    assert parquet.schema["services"] == pl.List(pl.String)  # lists kept in parquet, joined in CSV
    row = csv.filter(pl.col("id") == "INC-2025-0142").row(0, named=True)
    assert row["services"] == "payments-api" and row["budget:payments-api/availability"] == pytest.approx(
        0.5148, abs=1e-4
    )


def test_service_filter_and_formats(tmp_path: Path) -> None:
    assert (
        main(["portfolio", str(CORPUS), "-o", str(tmp_path), "--service", "auth", "--to", "md", "--no-progress"]) == 0
    )
    assert [p.name for p in tmp_path.iterdir()] == ["portfolio.md"]
    md = (tmp_path / "portfolio.md").read_text(encoding="utf-8")
    assert "12 incidents of the 62 read" in md and "Only the incidents touching auth" in md
    assert "| checkout |" not in md


def test_nothing_to_read_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["portfolio", str(tmp_path), "-o", str(tmp_path / "out")]) == 1
    assert "no incident could be read" in capsys.readouterr().err
    assert main(["portfolio", str(tmp_path / "nowhere"), "-o", str(tmp_path / "out")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_incident_text_is_data_not_markup(tmp_path: Path) -> None:
    evil = "<img src=x onerror=alert(1)>[click](javascript:alert(2))"
    (tmp_path / "PM-X.md").write_text(
        "---\n"
        "id: 'PM-X'\n"
        f"title: '{evil}'\n"
        "severity: SEV2\n"
        f"services: ['{evil}']\n"
        "milestones: {impact_start: 2025-03-01T10:00:00Z, resolved: 2025-03-01T11:00:00Z}\n"
        f"root_cause_category: '{evil}'\n"
        f"signatures: ['{evil}', '</script><script>alert(3)</script>']\n"
        f"slos: [{{name: '{evil}', objective: 99.9, consumed: 0.5}}]\n"
        f"action_items: [{{action: x, owner: '{evil}', due: 2025-01-01}}]\n"
        "---\n",
        encoding="utf-8",
    )
    shutil.copy(tmp_path / "PM-X.md", tmp_path / "PM-Y.md")
    (tmp_path / "PM-Y.md").write_text(
        (tmp_path / "PM-X.md").read_text(encoding="utf-8").replace("id: 'PM-X'", "id: 'PM-Y'"), encoding="utf-8"
    )
    pf = Portfolio.load(tmp_path, as_of=dt.date(2025, 6, 1))
    files = render_portfolio(pf, tmp_path / "out")
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(files["html"].read_text(encoding="utf-8"), "html.parser")
    assert soup.find("img") is None and soup.find("a") is None
    assert not [a for el in soup.find_all(True) for a in el.attrs if a.lower().startswith("on")]
    scripts = soup.find_all("script")
    assert [s.get("type") for s in scripts] == ["application/json"] * 4 + [None, None]  # figure data, plotly, ours
    assert evil in soup.get_text()  # shown as the text it is
    md = files["md"].read_text(encoding="utf-8")
    assert "<img" not in md and "[click](" not in md  # escaped as &lt;img and \\[click\\]


def test_report_in_chromium(chromium, rendered: tuple[Portfolio, dict[str, Path]], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    _, files = rendered
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium.path, args=list(chromium.args))
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            requests: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on(
                "request",
                lambda r: requests.append(r.url) if not r.url.startswith(("file:", "data:", "blob:")) else None,
            )
            page.goto(files["html"].as_uri(), wait_until="load", timeout=LOAD_MS)
            n = page.locator(".pmkit-figure").count()
            assert n == 4
            page.wait_for_function(
                "n => [...document.querySelectorAll('.pmkit-figure')].filter(f => f.querySelector('svg.main-svg'))"
                ".length === n",
                arg=n,
                timeout=LOAD_MS,
            )
            drawn = page.evaluate(
                "[...document.querySelectorAll('.js-plotly-plot')].map(p => ({id: p.id, traces: (p.data || []).length,"
                " w: p.getBoundingClientRect().width, h: p.getBoundingClientRect().height}))"
            )
            assert {d["id"] for d in drawn} == {"fig-trend", "fig-incidents", "fig-heatmap", "fig-budget"}
            for d in drawn:
                assert d["traces"] >= 1 and d["w"] > 600 and d["h"] > 250, d
            heat = page.evaluate("document.getElementById('fig-heatmap').data[0]")
            assert heat["type"] == "heatmap" and set(heat["x"]) <= {"SEV1", "SEV2", "SEV3", "SEV4", "unknown"}
            text = page.locator("body").inner_text()
            assert "Are we getting better, and where do we burn budget?" in text
            page.screenshot(path=str(tmp_path / "portfolio.png"), full_page=True)
            assert not errors, errors
            assert not requests, requests
        finally:
            browser.close()
