"""``Incident``: the spec plus every source loaded into frames.

A thin front over the functions: ``Incident.load(dir)`` reads ``incident.yaml``,
runs each source's loader and keeps the results as plain polars frames
(``events``, ``series``, ``rejects``) and a per-source load ``report``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import yaml

from pmkit import cache, schema
from pmkit import spec as spec_mod
from pmkit.errors import OutsideFolderError, PmkitError
from pmkit.sources import registry
from pmkit.sources.base import LoadRequest, LoadResult, run
from pmkit.sources.requests import empty_requests, typed_requests
from pmkit.sources.verdict import warning_of
from pmkit.spec import IncidentSpec, SourceSpec
from pmkit.timeline import Timeline, build_timeline

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, 10x faster, where built


def load_spec(path: str | Path) -> IncidentSpec:
    """Read and validate ``incident.yaml`` (a file, or a folder that holds one), formats included:
    every problem is reported at once with its key path (``sources[2].format``)."""
    return spec_mod.load_spec(path, checks=(registry.check_formats,))


def incident_header(incident_dir: str | Path) -> tuple[str, str]:
    """``(id, title)`` from ``incident.yaml`` without validating it (the notebook reports spec errors).

    Falls back to the folder name, so a broken spec still gets its own output folder.
    """
    path = Path(incident_dir)
    try:
        data = yaml.load((path / "incident.yaml").read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except (OSError, yaml.YAMLError):
        data = None
    data = data if isinstance(data, dict) else {}
    ident = str(data.get("id") or path.resolve().name)
    ident = re.sub(r"[^\w.\-]+", "_", ident).strip("._") or "incident"
    return ident, str(data.get("title") or "")


REPORT_SCHEMA = {
    "source": pl.String,
    "kind": pl.String,
    "format": pl.String,
    "path": pl.String,
    "unit": pl.String,
    "inputs": pl.Int64,
    "parsed": pl.Int64,
    "rejected": pl.Int64,
    "rows": pl.Int64,
    "notes": pl.String,
    "outside": pl.Int64,
    "warning": pl.String,  # the mostly-rejected warning (pmkit.sources.verdict), "" when none
    "query": pl.String,  # the query that produced the inputs (LoadResult.query), "" for files
}


# The load window when incident.yaml has no `window:`: from the earliest milestone override less the lead
# to the latest one plus the tail (enough before the impact for a baseline, and after it for the recovery).
WINDOW_LEAD = dt.timedelta(hours=6)
WINDOW_TAIL = dt.timedelta(hours=12)
Window = tuple[dt.datetime, dt.datetime]


def load_window(spec: IncidentSpec | None) -> Window | None:
    """The window the sources are read in: ``window:`` of incident.yaml; else the milestone overrides
    (impact_start, detected, acknowledged, declared, mitigated, resolved) from the earliest less
    :data:`WINDOW_LEAD` to the latest plus :data:`WINDOW_TAIL`; else None (the whole files)."""
    if spec is None:
        return None
    if spec.window is not None:
        return (spec.window.start, spec.window.end)
    times = [t for t in spec.milestones.model_dump().values() if isinstance(t, dt.datetime)]
    if not times:
        return None
    return (min(times) - WINDOW_LEAD, max(times) + WINDOW_TAIL)


def request_for(
    src: SourceSpec,
    root: Path,
    spec: IncidentSpec | None = None,
    *,
    index: int | None = None,
    allow_outside: bool = False,
    window: Window | bool | None = True,
) -> LoadRequest:
    """The :class:`LoadRequest` for a source of an incident folder (paths relative to the folder, and
    contained in it unless the source or the caller allows reading outside). ``window``: True = the
    incident's (:func:`load_window`), None = the whole files, a pair = that window."""
    remote = "://" in src.path  # s3://..., a lake engine's URL: not a path under the folder
    path = src.path if remote or Path(src.path).is_absolute() else str(root / src.path)
    if window is True:
        window = load_window(spec)
    elif window is False:
        window = None
    return LoadRequest(
        kind=src.kind,
        format=src.format or "",
        path=path,
        name=src.label,
        service=src.service,
        timezone=src.timezone,
        ts_format=src.ts_format,
        year=src.year,
        pattern=src.pattern,
        patterns=dict(src.patterns),
        fields=dict(src.fields),
        options=dict(src.options) | ({"pull": src.pull.model_dump(mode="json")} if src.pull is not None else {}),
        window=window,
        root=str(root),
        allow_outside=allow_outside or src.allow_outside,
        key=f"sources[{index}].path" if index is not None else "",
        redaction=(spec.redaction.rules_mapping() if spec.redaction.enabled else False) if spec is not None else None,
    )


def report_row(req: LoadRequest, res: LoadResult) -> dict[str, object]:
    """One row of the load report."""
    return {
        "source": req.source,
        "kind": req.kind,
        "format": res.format,
        "path": req.path,
        "unit": res.unit,
        "inputs": res.inputs,
        "parsed": res.parsed,
        "rejected": res.rejected,
        "rows": res.frame.height,
        "notes": "; ".join(res.notes),
        "outside": res.outside,
        "warning": warning_of(res.notes),
        "query": res.query,
    }


@dataclass(frozen=True)
class Incident:
    """An incident folder loaded: spec, frames and the load report.

    ``events`` follows the events contract (sorted by ``ts``), ``series`` the series
    contract, ``rejects`` lists every line or record that was not parsed, with its
    origin and reason. Frames are polars; ``.to_pandas()`` converts any of them. A notebook shows it
    through :mod:`pmkit.report.notebook`.
    """

    spec: IncidentSpec
    root: Path
    events: pl.DataFrame
    series: pl.DataFrame
    rejects: pl.DataFrame
    report: pl.DataFrame
    # the typed requests frame, when the load cache held it for every source (else built on first use);
    # not an init field, so ``dataclasses.replace(inc, events=...)`` starts without it
    _requests: pl.DataFrame | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        cache: bool = True,
        jobs: int | None = None,
        allow_outside: bool = False,
        window: Window | bool | None = True,
    ) -> Incident:
        """Read ``incident.yaml`` in ``path`` and load every source it lists.

        Sources load in parallel threads (polars parses outside the GIL); with
        ``cache`` the parsed frames are kept as parquet in the user cache folder (:mod:`pmkit.cache`)
        keyed by the files' content, the loader options and the window, so a second load is instant.
        ``window``: True (default) = the incident's (:func:`load_window`), None or False = the whole files,
        ``(start, end)`` = that window; logs and metrics keep only what is inside it
        (:mod:`pmkit.sources.window`).
        """
        root = Path(path)
        if root.is_file():
            root = root.parent
        spec = load_spec(root)
        reqs = [
            request_for(src, root, spec, index=i, allow_outside=allow_outside, window=window)
            for i, src in enumerate(spec.sources)
        ]
        workers = jobs or min(len(reqs), os.cpu_count() or 1, 4) or 1
        if workers > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                results = list(pool.map(lambda r: _load_one(r, cache), reqs))
        else:
            results = [_load_one(r, cache) for r in reqs]
        events: list[pl.DataFrame] = []
        series: list[pl.DataFrame] = []
        rejects: list[pl.DataFrame] = []
        rows: list[dict[str, object]] = []
        requests: list[pl.DataFrame | None] = []
        for req, res in zip(reqs, results, strict=True):
            (series if res.table == "series" else events).append(res.frame)
            if res.table != "series":
                requests.append(res.requests)
            rejects.append(res.rejects)
            rows.append(report_row(req, res))
        inc = cls(
            spec=spec,
            root=root,
            events=_by_time(_concat(events, "events")),
            series=_by_time(_concat(series, "series")),
            rejects=_concat(rejects, "rejects"),
            report=pl.DataFrame(rows, schema=REPORT_SCHEMA),
        )
        if any(r is not None for r in requests):  # from the cache or the loaders: in the events' order
            frames = [res.frame for res in results if res.table != "series"]
            typed = [r if r is not None else typed_requests(f) for r, f in zip(requests, frames, strict=True)]
            typed = [r for r in typed if r.height]
            object.__setattr__(inc, "_requests", _by_time(pl.concat(typed)) if typed else empty_requests())
        return inc

    @property
    def requests(self) -> pl.DataFrame:
        """The request events' fields as typed columns (:mod:`pmkit.sources.requests`), in the events' order:
        decoded once from the redacted ``attrs`` (on first use, or kept in the load cache with each source),
        read by the SLI and the impact instead of the JSON."""
        if self._requests is None:
            object.__setattr__(self, "_requests", typed_requests(self.events))
        assert self._requests is not None
        return self._requests

    @property
    def id(self) -> str:
        return self.spec.id

    def timeline(self) -> Timeline:
        """All events merged into one UTC timeline, duplicates folded, key events flagged."""
        return build_timeline(self.events)

    def summary(self) -> str:
        """A few plain lines: id, title, counts per source, time span of the evidence."""
        lines = [f"{self.spec.id}: {self.spec.title}".rstrip(": ")]
        if self.events.height:
            lo, hi = self.events.select(pl.col("ts").min()).item(), self.events.select(pl.col("ts").max()).item()
            lines.append(f"events: {self.events.height:,} from {lo:%Y-%m-%d %H:%M:%S} to {hi:%Y-%m-%d %H:%M:%S} UTC")
        lines.append(f"metric samples: {self.series.height:,}; rejected: {self.rejects.height:,}")
        return "\n".join(lines)


def _load_one(req: LoadRequest, use_cache: bool) -> LoadResult:
    req.files()  # a path that is missing or leads outside the folder is the author's to fix: an error
    if not use_cache or cache.max_bytes() <= 0:  # the cache off: no key to compute (it hashes every file)
        return _run_contained(req)  # (the typed requests are built on first use: a bare load needs none)
    key = cache.cache_key(req)
    hit = cache.read(key)
    if hit is not None:
        return hit
    res = _with_requests(_run_contained(req))
    if not res.notes or not res.notes[-1].startswith(_FAILED):
        cache.write(key, res)
    return res


_FAILED = "source not loaded: "


def _with_requests(res: LoadResult) -> LoadResult:
    """``res`` with its typed requests frame, to keep in the load cache with the source: a later analysis
    of the incident reads them instead of decoding the attrs again."""
    if res.requests is not None or res.table != "events":
        return res
    return dataclasses.replace(res, requests=typed_requests(res.frame))


def _run_contained(req: LoadRequest) -> LoadResult:
    """:func:`~pmkit.sources.base.run`, except that a source whose evidence cannot be read (a truncated
    alert payload, a loader's own failure on a hostile file) becomes one rejected input with the error as
    its reason and a note in the load report: the rest of the incident loads, analyses and renders."""
    try:
        return run(req)
    except OutsideFolderError:
        raise
    except Exception as exc:
        why = (
            str(exc) if isinstance(exc, PmkitError) else f"{type(exc).__name__}: {exc} (a pmkit bug: please report it)"
        )
        table = registry.get(req.kind, req.format).table if req.format else "events"
        return LoadResult(
            frame=schema.empty(table).with_columns(pl.lit(req.source, dtype=pl.String).alias("source")),
            rejects=schema.conform(
                pl.DataFrame({"source": [req.source], "origin": [req.path], "reason": [why], "raw": [None]}),
                "rejects",
            ),
            inputs=1,
            parsed_inputs=0,
            unit="sources",
            notes=(_FAILED + why,),
            table=table,
            format=req.format,
        )


def _by_time(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` sorted by ``ts``, ties in their order; one already in order (a single time-ordered log) is
    returned as it is, without the sort's copy of every column."""
    ts = frame.get_column("ts")
    if ts.null_count() == 0 and ts.is_sorted():
        return frame
    return frame.sort("ts", maintain_order=True)


def _concat(frames: list[pl.DataFrame], name: str) -> pl.DataFrame:
    return pl.concat(frames, how="vertical") if frames else schema.empty(name)
