"""The response phases in the document (the Response section's "Phases"), the figure and the explorer: every
figure shown is a field of :attr:`pmkit.pipeline.Analysis.phases`, on both main samples and a bare folder."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import polars as pl
import pytest
import yaml

import pmkit
from pmkit.pipeline import analyze
from pmkit.report import document, figures
from pmkit.report.explore_filters import filter_events
from pmkit.report.figures import OKABE_ITO, PHASE_COLORS
from pmkit.report.sections import NOT_FOUND, clock
from pmkit.timeutil import fmt_duration

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"


@pytest.fixture(scope="module", params=["INC-2025-0142", "INC-20250120-103000"])
def case(request: pytest.FixtureRequest):
    a = analyze(pmkit.Incident.load(SAMPLES / request.param))
    return a, document.build(a)


def _row(md: str, phase: str) -> list[str]:
    line = next(x for x in md.splitlines() if x.startswith(f"| {phase} |"))
    return [c.strip() for c in line.strip("|").split("|")]


def test_phases_table_states_the_analysis(case) -> None:
    a, doc = case
    md = doc["response"].markdown
    assert "### Phases" in md
    zone = a.incident.spec.display_timezone
    for r in a.phases.spans.iter_rows(named=True):
        cells = _row(md, r["phase"].capitalize())
        assert cells[1] == clock(r["start"], zone, style="hms", missing=NOT_FOUND)
        assert cells[2] == clock(r["end"], zone, style="hms", missing=NOT_FOUND)
        assert cells[3].startswith(fmt_duration(r["duration"], "precise"))
        assert cells[5:7] == [str(r["messages"]), str(r["actions"])]
        assert cells[7] == (f"{', '.join(r['people'])} ({len(r['people'])})" if r["people"] else "none")
    # the detection row is the time to detect of the Detection section, from the same milestones
    ms = a.milestones
    assert _row(md, "Detection")[3] == fmt_duration(ms.detected - ms.impact_start, "precise")
    total = fmt_duration(ms.resolved - ms.impact_start, "precise")
    assert f"- Detection, diagnosis and repair together: {total} (impact start to resolved)." in md
    mon = fmt_duration(ms.resolved - ms.mitigated, "precise")
    assert f"(mitigated) to {clock(ms.resolved, zone, style='hms')} (resolved), {mon}." in md


def test_payments_phases_read_as_the_evidence() -> None:
    a = analyze(pmkit.Incident.load(SAMPLES / "INC-2025-0142"))
    md = document.build(a)["response"].markdown
    # the ground truth's milestones (expected.yaml) bound detection; Mei Chen's page note "Rolling back to
    # v2.14.2" (14:35:40) is the first repair move, 10 s before the decision in chat and before the rollback
    assert _row(md, "Detection")[1:4] == ["14:19:23 UTC (16:19:23 CEST)", "14:23:01 UTC (16:23:01 CEST)", "3 min 39 s"]
    assert _row(md, "Diagnosis")[4] == "detected → first page action by Mei Chen that says a repair move"
    assert _row(md, "Repair")[2] == "15:47:05 UTC (17:47:05 CEST)"
    assert "Tom Becker" in _row(md, "Communication")[7] and "Tom Becker" not in _row(md, "Diagnosis")[7]
    assert "- 1 action after resolution in no phase" in md


def test_phases_figure_bars_are_the_spans_in_their_colours(case) -> None:
    a, _ = case
    fig = figures.incident_figures(a)["phases"]
    bars = [t for t in fig.data if t.type == "bar" and not t.name.startswith("monitoring")]
    spans = a.phases.spans.filter(pl.col("duration").is_not_null())
    assert len(bars) == spans.height == 4
    for bar, r in zip(bars, spans.iter_rows(named=True), strict=True):
        assert bar.name.startswith(r["phase"]) and bar.marker.color == PHASE_COLORS[r["phase"]]
        assert bar.base[0] == r["start"] and bar.x[0] == pytest.approx(r["duration"].total_seconds() * 1000, abs=1e-3)
        assert fmt_duration(r["duration"], "precise") in bar.name
    assert len(set(PHASE_COLORS.values())) == 4 and set(PHASE_COLORS.values()) <= set(OKABE_ITO.values())
    mon = next(t for t in fig.data if t.name.startswith("monitoring"))
    assert mon.base[0] == a.milestones.mitigated and mon.marker.pattern.fgcolor == PHASE_COLORS["repair"]
    ticks = next(t for t in fig.data if t.type == "scatter")
    assert len(ticks.x) == a.phases.tagged.filter(pl.col("phase").is_not_null()).height


def test_bare_folder_phases_say_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    shutil.copy(SAMPLES / "INC-2025-0142" / "logs" / "access.log.gz", tmp_path / "logs" / "access.log.gz")
    spec = {
        "id": "INC-BARE-2",
        "services": ["payments-api"],
        "sources": [{"name": "nginx", "kind": "logs", "format": "combined", "path": "logs/access.log.gz"}],
    }
    (tmp_path / "incident.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    a = analyze(pmkit.Incident.load(tmp_path, cache=False))
    md = document.build(a)["response"].markdown
    det = _row(md, "Detection")
    assert det[2] == NOT_FOUND and det[3] == "unknown" and det[4] == "impact start → detection not found"
    assert _row(md, "Communication")[1:4] == [NOT_FOUND, NOT_FOUND, "unknown"]
    assert "together" not in md  # no resolution: no total


def test_explorer_phase_column_and_filter() -> None:
    pytest.importorskip("ipywidgets")
    from pmkit.report.explore import Explorer

    inc = pmkit.Incident.load(SAMPLES / "INC-2025-0311-checkout")
    a = analyze(inc)
    ex = Explorer(inc, a)
    assert ex.phases is not None and [o[1] for o in ex.phases.options][:4] == [
        "detection",
        "diagnosis",
        "repair",
        "communication",
    ]
    ex.phases.value = ("communication",)
    comms = a.phases.tagged.filter(pl.col("phase") == "communication")
    start, end = ex.window.value
    want = comms.filter((pl.col("ts") >= start) & (pl.col("ts") < end)).height
    assert (
        ex.filtered.height
        == want
        == a.phases.span("communication")["messages"] + a.phases.span("communication")["actions"]
    )
    assert "<th" in ex.table.value and ">phase</th>" in ex.table.value and ">communication</td>" in ex.table.value
    assert filter_events(ex.events, **ex.filters()).equals(ex.filtered)
    ex._on_reset()
    assert ex.phases.value == () and ex.filters()["phases"] is None
    # without an analysis there is no phase to filter on
    assert Explorer(dataclasses.replace(inc)).phases is None


def test_notebook_view_of_the_phases_escapes_and_states_the_spans(case) -> None:
    from pmkit.report.notebook import to_html

    a, _ = case
    html = to_html(a.phases)
    for r in a.phases.spans.iter_rows(named=True):
        assert f"<td>{r['phase']}</td>" in html and f"<td>{fmt_duration(r['duration'], 'precise')}</td>" in html
    assert "Monitoring after mitigation, inside repair" in html
    evil = dataclasses.replace(
        a.phases, spans=a.phases.spans.with_columns(pl.lit(["<script>x</script>"]).alias("people"))
    )
    assert "<script>" not in to_html(evil) and "&lt;script&gt;" in to_html(evil)


def test_evidence_text_in_the_phases_is_escaped() -> None:
    """A person's name comes from the evidence: in the table, the boundaries and the figure it is text."""
    inc = pmkit.Incident.load(SAMPLES / "INC-2025-0311-checkout")
    evil = "<img src=x onerror=alert(1)>"
    bob = pl.col("actor") == "bob-lee"
    events = inc.events.with_columns(  # the handle and the chat's real name (the name the phases show)
        pl.when(bob).then(pl.lit(evil)).otherwise(pl.col("actor")).alias("actor"),
        pl.when(bob).then(pl.col("attrs").str.replace("Bob Lee", evil, literal=True)).otherwise(pl.col("attrs")),
    )
    assert events.filter(pl.col("attrs").str.contains(evil, literal=True)).height
    a = analyze(dataclasses.replace(inc, events=events))
    md = document.build(a)["response"].markdown
    phases = md[md.index("### Phases") :]
    assert evil in a.phases.span("diagnosis")["end_basis"]  # the data keeps the text as it was
    assert "<img" not in phases and "onerror" in phases
    fig = figures.phases_figure(a.phases).to_plotly_json()
    assert "<img" not in str(fig)
