"""How pmkit's result objects show in a notebook: HTML views rendered from ``report/views/*.html.j2``.

The result objects themselves stay data (:mod:`pmkit.analysis`, :mod:`pmkit.pipeline`,
:mod:`pmkit.timeline`, :mod:`pmkit.incident` hold no HTML). :func:`to_html` renders any of them;
:func:`register` tells IPython to use it, by class name, so displaying a result in a notebook
shows the view as before. ``pmkit.report`` registers on import when it runs inside IPython;
elsewhere (a script, the CLI) nothing happens.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import polars as pl
from markupsafe import Markup

from pmkit.analysis.milestones import evidence_label
from pmkit.analysis.whys import CHECK_QUESTION, TODO
from pmkit.report.present import view

if TYPE_CHECKING:
    from pmkit.analysis.changes import ChangeReport
    from pmkit.analysis.comms import CadenceResult
    from pmkit.analysis.curate import CuratedTimeline
    from pmkit.analysis.gates import GateReport
    from pmkit.analysis.impact import Impact
    from pmkit.analysis.milestones import Milestones
    from pmkit.analysis.phases import Phases
    from pmkit.analysis.severity import SeverityResult
    from pmkit.analysis.slo import SloResult
    from pmkit.analysis.whys import FiveWhys
    from pmkit.incident import Incident
    from pmkit.pipeline import Analysis
    from pmkit.timeline import Timeline

TIMELINE_ROWS = 200


def change_report_html(report: ChangeReport) -> str:
    suspects = list(report.suspects.head(20).iter_rows(named=True))
    return view("changes", report=report, suspects=suspects, rb=report.rollback)


def cadence_html(result: CadenceResult) -> str:
    return view(
        "cadence", summary=result.summary(), intervals=result.intervals.iter_rows(named=True), notes=result.notes
    )


def gates_html(report: GateReport) -> str:
    return view("gates", report=report)


def impact_html(impact: Impact) -> str:
    return view("impact", impact=impact)


def milestones_html(milestones: Milestones) -> str:
    return view("milestones", milestones=milestones.items, label=evidence_label)


def phases_html(result: Phases) -> str:
    mon = result.monitoring if result.monitoring[0] is not None and result.monitoring[1] is not None else None
    return view("phases", rows=result.spans.iter_rows(named=True), monitoring=mon, outside=result.outside)


def severity_html(result: SeverityResult) -> str:
    return view("severity", s=result)


def slo_html(result: SloResult) -> str:
    return view("slo", slo=result)


def whys_html(whys: FiveWhys) -> str:
    last = whys.last_answered
    levels = [(lv, lv.check_text(last is lv) if whys.asks_check(lv) else None) for lv in whys.levels]
    return view("whys", whys=whys, levels=levels, category=whys.category, question=CHECK_QUESTION, todo=TODO)


def timeline_html(timeline: Timeline) -> str:
    frame = timeline.frame
    key_only = frame.height > TIMELINE_ROWS
    rows = frame.filter(pl.col("key")) if key_only else frame
    shown = list(rows.head(TIMELINE_ROWS).iter_rows(named=True))
    return view("timeline", total=frame.height, shown=shown, key_only=key_only)


def curated_html(curated: CuratedTimeline) -> str:
    rows = list(curated.candidates().iter_rows(named=True))
    return view(
        "curated", window=curated.window_text(), kept=curated.kept().height, rows=rows, problems=curated.problems
    )


def incident_html(incident: Incident) -> str:
    return view("incident", spec=incident.spec, summary=incident.summary(), rows=incident.report.iter_rows(named=True))


def analysis_html(analysis: Analysis) -> str:
    return view(
        "analysis",
        spec=analysis.incident.spec,
        milestones=Markup(milestones_html(analysis.milestones)),
        impact=Markup(impact_html(analysis.impact)),
        slos=[Markup(slo_html(r)) for r in analysis.slos],
        severity=Markup(severity_html(analysis.severity)),
    )


# (module, class name) -> view: by name, so registering imports none of the classes
VIEWS: dict[tuple[str, str], Callable[[Any], str]] = {
    ("pmkit.analysis.changes", "ChangeReport"): change_report_html,
    ("pmkit.analysis.comms", "CadenceResult"): cadence_html,
    ("pmkit.analysis.curate", "CuratedTimeline"): curated_html,
    ("pmkit.analysis.gates", "GateReport"): gates_html,
    ("pmkit.analysis.impact", "Impact"): impact_html,
    ("pmkit.analysis.milestones", "Milestones"): milestones_html,
    ("pmkit.analysis.phases", "Phases"): phases_html,
    ("pmkit.analysis.severity", "SeverityResult"): severity_html,
    ("pmkit.analysis.slo", "SloResult"): slo_html,
    ("pmkit.analysis.whys", "FiveWhys"): whys_html,
    ("pmkit.timeline", "Timeline"): timeline_html,
    ("pmkit.incident", "Incident"): incident_html,
    ("pmkit.pipeline", "Analysis"): analysis_html,
}


def to_html(obj: Any) -> str:
    """The notebook view of a pmkit result object (``TypeError`` for anything else)."""
    for cls in type(obj).__mro__:
        found = VIEWS.get((cls.__module__, cls.__name__))
        if found is not None:
            return found(obj)
    raise TypeError(f"no HTML view for {type(obj).__name__}; views exist for {', '.join(n for _, n in VIEWS)}")


def register(formatter: Any = None) -> None:
    """Show the result objects as their views in IPython: ``formatter`` is an IPython HTML formatter,
    by default the running shell's (nothing happens outside IPython). Registering twice is harmless."""
    if formatter is None:
        import sys

        ipython = sys.modules.get("IPython")
        shell = ipython.get_ipython() if ipython is not None else None
        if shell is None:
            return
        formatter = shell.display_formatter.formatters["text/html"]
    for (module, name), func in VIEWS.items():
        formatter.for_type_by_name(module, name, func)
