"""Notebook views: every result object has one, rendered from report/views, escaped, registered with IPython."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

import pmkit as pm
from pmkit.analysis import changes
from pmkit.pipeline import Analysis, analyze
from pmkit.report import notebook, present

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "samples" / "INC-2025-0142"
EVIL = "<script>alert('x')</script> & \"q\""


@pytest.fixture(scope="module")
def analysis() -> Analysis:
    return analyze(pm.Incident.load(SAMPLE))


def results(a: Analysis) -> dict[str, object]:
    ms = a.milestones
    return {
        "Analysis": a,
        "Incident": a.incident,
        "Timeline": a.timeline,
        "CuratedTimeline": a.curated,
        "Milestones": ms,
        "Phases": a.phases,
        "Impact": a.impact,
        "SloResult": a.slos[0],
        "SeverityResult": a.severity,
        "CadenceResult": a.cadence,
        "FiveWhys": a.whys,
        "GateReport": a.gates(),
        "ChangeReport": changes.change_report(
            a.incident.events, impact_start=ms.impact_start, services=["payments-api"], mitigated=ms.mitigated
        ),
    }


def test_every_result_object_has_a_view_and_no_repr_html(analysis: Analysis) -> None:
    objs = results(analysis)
    assert {name for _, name in notebook.VIEWS} == set(objs)
    for name, obj in objs.items():
        assert not hasattr(obj, "_repr_html_"), name  # the objects are data; report/ presents them
        page = notebook.to_html(obj)
        assert page.startswith("<") and page.endswith(">"), name
        assert "\n" not in page.replace(analysis.incident.summary(), ""), name  # one line of HTML


def test_views_escape_text_as_html_escape_does(analysis: Analysis) -> None:
    report = dataclasses.replace(analysis.gates(), incident=EVIL)
    page = notebook.to_html(report)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;q&quot;" in page


def test_analysis_view_holds_the_parts(analysis: Analysis) -> None:
    page = notebook.to_html(analysis)
    for part in (analysis.milestones, analysis.impact, analysis.slos[0], analysis.severity):
        assert notebook.to_html(part) in page
    assert page.startswith("<div><h3>INC-2025-0142: Payment processing failures</h3>")


def test_unknown_objects_have_no_view() -> None:
    with pytest.raises(TypeError, match="no HTML view for int"):
        notebook.to_html(3)


def test_register_with_an_ipython_formatter(analysis: Analysis) -> None:
    formatters = pytest.importorskip("IPython.core.formatters")
    html = formatters.HTMLFormatter()
    assert html(analysis.severity) is None
    notebook.register(html)
    notebook.register(html)  # twice is harmless
    assert html(analysis.severity) == notebook.to_html(analysis.severity)
    assert html(analysis) == notebook.to_html(analysis)


def test_register_outside_ipython_does_nothing() -> None:
    notebook.register()  # no running shell in pytest: returns quietly


def test_markdown_tables_join_rows_without_a_trailing_newline() -> None:
    rows = [{"source": "a|b", "kind": "log", "format": "json", "parsed": 1234, "unit": "lines", "rejected": 0}]
    assert present.table("evidence", rows=rows * 2) == (
        "| Source | Kind | Format | Parsed | Rejected |\n|---|---|---|---|---|\n"
        "| a\\|b | log | json | 1,234 lines | 0 |\n| a\\|b | log | json | 1,234 lines | 0 |"
    )
    assert present.table("evidence", rows=[]).endswith("|---|---|---|---|---|\n")  # an empty table: header only


def test_templates_compile() -> None:
    for env, folder in ((present.markdown_env(), "tables"), (present.html_env(), "views")):
        names = env.list_templates()
        assert names, folder
        for name in names:
            env.get_template(name)
        assert all(re.fullmatch(r"\w+\.(md|html)\.j2", n) for n in names), names
