"""pmkit: evidence in, blameless postmortem out.

``import pmkit as pm``; ``inc = pm.Incident.load("data/samples/INC-2025-0142")``;
then ``inc.events``, ``inc.series``, ``inc.rejects`` and ``inc.report`` are polars
frames (``.to_pandas()`` for pandas). ``result = pm.analyze(inc)`` runs every analysis
(milestones, MTTx, impact, SLOs, severity, suspects, signatures, cadence, 5 Whys);
``result.gates()`` is ``pmkit check``.
"""

from __future__ import annotations

from pmkit._version import __version__
from pmkit.analysis.gates import check
from pmkit.analysis.milestones import find_milestones as milestones
from pmkit.analysis.mttx import mttx
from pmkit.analysis.slo import budget_minutes, burn_rate
from pmkit.analysis.whys import FiveWhys
from pmkit.errors import MilestoneOrderError, PmkitError, SchemaError, SourceError, SpecError, UnknownFormatError
from pmkit.incident import Incident, load_spec
from pmkit.pipeline import Analysis, analyze
from pmkit.report.render import RenderResult, render
from pmkit.report.run import run
from pmkit.schema import EVENTS_SCHEMA, REJECTS_SCHEMA, SERIES_SCHEMA
from pmkit.sources.base import LoadRequest, LoadResult
from pmkit.sources.registry import formats, register
from pmkit.spec import IncidentSpec
from pmkit.timeline import Timeline
from pmkit.timeline import build_timeline as timeline


def load(path: str, *, kind: str, format: str = "", **options: object) -> LoadResult:
    """Load one source (file, glob or folder) into a frame; see :class:`LoadRequest` for options."""
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
    "RenderResult",
    "SchemaError",
    "SourceError",
    "SpecError",
    "Timeline",
    "UnknownFormatError",
    "__version__",
    "analyze",
    "budget_minutes",
    "burn_rate",
    "check",
    "formats",
    "load",
    "load_spec",
    "milestones",
    "mttx",
    "register",
    "render",
    "run",
    "timeline",
]
