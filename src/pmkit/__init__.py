"""pmkit: evidence in, blameless postmortem out.

``import pmkit as pm``; ``inc = pm.Incident.load("data/samples/INC-2025-0142")``;
then ``inc.events``, ``inc.series``, ``inc.rejects`` and ``inc.report`` are polars
frames (``.to_pandas()`` for pandas). ``result = pm.analyze(inc)`` runs every analysis
(milestones, MTTx, impact, SLOs, severity, suspects, signatures, cadence, 5 Whys);
``result.gates()`` is ``pmkit check``; ``pm.render(folder, out)`` writes the postmortem;
``pm.Portfolio.load(folder)`` reads many incidents (``pmkit.portfolio.kpis`` summarises them).
The grok workbench: ``pm.grok_match(expr, lines)`` (a frame: ``matched`` + typed captures),
``pm.grok_debug(pattern, lines)`` (why lines fail, shown as HTML in a notebook) and
``pm.grok_suggest(lines)``; ``pmkit grok`` in a terminal.

This module is the public face and nothing else: each name is imported on first use
(PEP 562), so ``import pmkit`` and ``pmkit --help`` do not pay for polars, the analyses,
plotly or papermill until something needs them. No name here shadows a module of the
package (the pipeline lives in ``pmkit.pipeline``, the timeline in ``pmkit.timeline``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pmkit._version import __version__
from pmkit.errors import MilestoneOrderError, PmkitError, SchemaError, SourceError, SpecError, UnknownFormatError

# public name -> (module, attribute)
_LAZY: dict[str, tuple[str, str]] = {
    "EVENTS_SCHEMA": ("pmkit.schema", "EVENTS_SCHEMA"),
    "REJECTS_SCHEMA": ("pmkit.schema", "REJECTS_SCHEMA"),
    "SERIES_SCHEMA": ("pmkit.schema", "SERIES_SCHEMA"),
    "IncidentSpec": ("pmkit.spec", "IncidentSpec"),
    "LoadRequest": ("pmkit.sources.base", "LoadRequest"),
    "LoadResult": ("pmkit.sources.base", "LoadResult"),
    "formats": ("pmkit.sources.registry", "formats"),
    "register": ("pmkit.sources.registry", "register"),
    "Timeline": ("pmkit.timeline", "Timeline"),
    "build_timeline": ("pmkit.timeline", "build_timeline"),
    "Incident": ("pmkit.incident", "Incident"),
    "load_spec": ("pmkit.incident", "load_spec"),
    "milestones": ("pmkit.analysis.milestones", "find_milestones"),
    "mttx": ("pmkit.analysis.mttx", "mttx"),
    "budget_minutes": ("pmkit.analysis.slo", "budget_minutes"),
    "burn_rate": ("pmkit.analysis.slo", "burn_rate"),
    "FiveWhys": ("pmkit.analysis.whys", "FiveWhys"),
    "check": ("pmkit.analysis.gates", "check"),
    "Analysis": ("pmkit.pipeline", "Analysis"),
    "analyze": ("pmkit.pipeline", "analyze"),
    "Portfolio": ("pmkit.portfolio", "Portfolio"),
    "redact": ("pmkit.redaction", "redact"),
    "grok_match": ("pmkit.sources.grokbench", "grok_match"),
    "grok_suggest": ("pmkit.sources.grokbench", "suggest"),
    "grok_debug": ("pmkit.report.grokview", "grok_debug"),
    "RenderResult": ("pmkit.report.render", "RenderResult"),
    "render": ("pmkit.report.render", "render"),
    "run": ("pmkit.report.run", "run"),
}

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time each name comes from __getattr__
    from pmkit.analysis.gates import check
    from pmkit.analysis.milestones import find_milestones as milestones
    from pmkit.analysis.mttx import mttx
    from pmkit.analysis.slo import budget_minutes, burn_rate
    from pmkit.analysis.whys import FiveWhys
    from pmkit.incident import Incident, load_spec
    from pmkit.pipeline import Analysis, analyze
    from pmkit.portfolio import Portfolio
    from pmkit.redaction import redact
    from pmkit.report.grokview import grok_debug
    from pmkit.report.render import RenderResult, render
    from pmkit.report.run import run
    from pmkit.schema import EVENTS_SCHEMA, REJECTS_SCHEMA, SERIES_SCHEMA
    from pmkit.sources.base import LoadRequest, LoadResult
    from pmkit.sources.grokbench import grok_match
    from pmkit.sources.grokbench import suggest as grok_suggest
    from pmkit.sources.registry import formats, register
    from pmkit.spec import IncidentSpec
    from pmkit.timeline import Timeline, build_timeline


def __getattr__(name: str) -> Any:
    """Import a public name on first use (PEP 562) and keep it."""
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'pmkit' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


def load(path: str, *, kind: str, format: str = "", **options: object) -> LoadResult:
    """Load one source (file, glob or folder) into a frame; see :class:`LoadRequest` for options."""
    from pmkit.sources.base import LoadRequest
    from pmkit.sources.base import run as run_source

    return run_source(LoadRequest(kind=kind, format=format, path=str(path), **options))  # type: ignore[arg-type]


__all__ = [
    "EVENTS_SCHEMA",
    "REJECTS_SCHEMA",
    "SERIES_SCHEMA",
    "Analysis",
    "FiveWhys",
    "Incident",
    "IncidentSpec",
    "LoadRequest",
    "LoadResult",
    "MilestoneOrderError",
    "PmkitError",
    "Portfolio",
    "RenderResult",
    "SchemaError",
    "SourceError",
    "SpecError",
    "Timeline",
    "UnknownFormatError",
    "__version__",
    "analyze",
    "budget_minutes",
    "build_timeline",
    "burn_rate",
    "check",
    "formats",
    "grok_debug",
    "grok_match",
    "grok_suggest",
    "load",
    "load_spec",
    "milestones",
    "mttx",
    "redact",
    "register",
    "render",
    "run",
]
