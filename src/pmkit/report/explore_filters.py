"""The explorer's data side: pure polars filters over the events frame, the time window, the thinning.

What :class:`pmkit.report.explore.Explorer` shows is computed here without widgets, so it can be
reproduced in code: ``filter_events(incident.events, **explorer.filters())``. Kept fast on large
incidents: every filter is one lazy polars query, and the swimlane draws at most about
``max_points`` markers (logs thinned to the most severe line per source and time bucket).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

import polars as pl

from pmkit.schema import LEVELS
from pmkit.timeutil import as_utc

MAX_POINTS = 1500
MAX_SLIDER_OPTIONS = 2000
# slider resolutions (minutes): the finest that keeps the slider under MAX_SLIDER_OPTIONS positions
SLIDER_STEPS = (1, 5, 10, 15, 30, 60, 120, 360, 720, 1440)
# swimlane buckets for thinning logs: the finest that keeps the figure under max_points markers
PLOT_BUCKETS = ("1m", "5m", "15m", "1h", "6h", "1d", "7d")
_LEVEL_RANK = {name: i for i, name in enumerate(LEVELS)}


def _member(col: str, values: Collection[str | None]) -> pl.Expr:
    """``col`` is one of ``values``; ``None`` among them matches nulls."""
    named = [v for v in values if v is not None]
    expr = pl.col(col).is_in(named).fill_null(False) if named else pl.lit(False)
    if None in values:
        expr = expr | pl.col(col).is_null()
    return expr


def filter_expr(
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    sources: Collection[str] | None = None,
    services: Collection[str | None] | None = None,
    levels: Collection[str | None] | None = None,
    text: str | None = None,
    origins: Collection[str] | None = None,
    phases: Collection[str | None] | None = None,
) -> pl.Expr:
    """The predicate of :func:`filter_events` as one polars expression (see there for the rules)."""
    expr = pl.lit(True)
    if origins is not None:
        expr = expr & pl.col("origin").is_in(list(origins)).fill_null(False)
    if start is not None:
        expr = expr & (pl.col("ts") >= as_utc(start))
    if end is not None:
        expr = expr & (pl.col("ts") < as_utc(end))
    if sources is not None:
        expr = expr & _member("source", sources)
    if services is not None:
        expr = expr & _member("service", services)
    if levels is not None:
        expr = expr & _member("level", levels)
    if phases is not None:
        expr = expr & _member("phase", phases)
    if text:
        needle = text.lower()
        hit = pl.col("message").str.to_lowercase().str.contains(needle, literal=True).fill_null(False)
        hit = hit | pl.col("attrs").str.to_lowercase().str.contains(needle, literal=True).fill_null(False)
        expr = expr & hit
    return expr


def filter_events(
    events: pl.DataFrame,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    sources: Collection[str] | None = None,
    services: Collection[str | None] | None = None,
    levels: Collection[str | None] | None = None,
    text: str | None = None,
    origins: Collection[str] | None = None,
    phases: Collection[str | None] | None = None,
) -> pl.DataFrame:
    """The events that pass every filter given, in their original order.

    ``start`` is inclusive and ``end`` exclusive (naive datetimes are UTC). ``sources``,
    ``services`` and ``levels`` keep rows whose value is in the collection; ``None`` in
    ``services`` or ``levels`` keeps rows where that column is null. A filter left at
    ``None`` keeps everything; an empty collection keeps nothing. ``text`` keeps rows whose
    ``message`` or ``attrs`` contain it, case-insensitively and literally (no regex). ``origins`` keeps
    the events with one of these origins (the explorer's "curated timeline only": the kept events'
    origins, :attr:`pmkit.pipeline.Analysis.curated`). ``phases`` keeps the events of these response phases
    (``None`` in it: events in no phase); it needs the ``phase`` column of
    :func:`pmkit.analysis.phases.tag_events` (the explorer's events carry it when it has an analysis).
    """
    pred = filter_expr(
        start=start,
        end=end,
        sources=sources,
        services=services,
        levels=levels,
        text=text,
        origins=origins,
        phases=phases,
    )
    return events.lazy().filter(pred).collect()


def slider_bounds(
    lo: dt.datetime, hi: dt.datetime, *, max_options: int = MAX_SLIDER_OPTIONS
) -> tuple[list[dt.datetime], int]:
    """Window boundaries covering ``[lo, hi]`` on whole UTC minutes, and the step in minutes.

    The step is the finest of :data:`SLIDER_STEPS` that keeps the count under ``max_options``;
    the last boundary lies after ``hi``, so the full range ``[first, last)`` holds every event.
    """
    lo, hi = as_utc(lo), as_utc(hi)
    lo_min = int(lo.timestamp() // 60)
    hi_min = int(hi.timestamp() // 60)
    step = SLIDER_STEPS[-1]
    for candidate in SLIDER_STEPS:
        if (hi_min // candidate - lo_min // candidate) + 2 <= max_options:
            step = candidate
            break
    first, last = lo_min // step * step, (hi_min // step + 1) * step
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return [epoch + dt.timedelta(minutes=m) for m in range(first, last + 1, step)], step


def thin_for_plot(events: pl.DataFrame, *, max_points: int = MAX_POINTS) -> tuple[pl.DataFrame, str | None]:
    """At most about ``max_points`` rows to draw, and the bucket used (``None``: nothing thinned).

    Non-log events (alerts, pages, deploys, chat) are all kept while they fit in half the
    budget; logs keep one row per source and time bucket, the most severe one, whose message
    says how many lines it stands for. The bucket is the finest of :data:`PLOT_BUCKETS` that fits.
    """
    if events.height <= max_points:
        return events, None
    is_log = pl.col("kind") == "log"
    others = events.filter(~is_log)
    thin = events.filter(is_log)
    if others.height > max_points // 2:
        others, thin = others.clear(), events
    budget = max(1, max_points - others.height)
    lane = ["source", "kind"]
    chosen = PLOT_BUCKETS[-1]
    for every in PLOT_BUCKETS:
        groups = thin.select(pl.struct(*lane, pl.col("ts").dt.truncate(every)).n_unique()).item()
        if groups <= budget:
            chosen = every
            break
    rank = pl.col("level").replace_strict(_LEVEL_RANK, default=-1, return_dtype=pl.Int8)
    bucket = pl.col("ts").dt.truncate(chosen).alias("_bucket")
    picked = (
        thin.with_columns(bucket, rank.alias("_rank"))
        .with_columns(pl.len().over([*lane, "_bucket"]).alias("_n"))
        .sort([*lane, "_bucket", "_rank", "ts"], descending=[False, False, False, True, False])
        .unique([*lane, "_bucket"], keep="first", maintain_order=True)
        .with_columns(
            pl.when(pl.col("_n") > 1)
            .then(pl.format("{} lines in {}; most severe: {}", pl.col("_n"), pl.lit(chosen), pl.col("message")))
            .otherwise(pl.col("message"))
            .alias("message")
        )
        .drop("_bucket", "_rank", "_n")
    )
    return pl.concat([others, picked]).sort("ts", maintain_order=True), chosen


def curation_marks(curated: pl.DataFrame) -> dict[str, str]:
    """What the explorer's table says about an event the curated timeline decided on (``CuratedTimeline.frame``):
    ``★ starred``, ``hidden by the author``, ``listed`` or the author's note, by origin; only events the document
    lists, the author marked, or that are key events (the rest need no word)."""
    marked = curated.filter(pl.col("kept") | pl.col("star") | pl.col("note").is_not_null() | pl.col("key"))
    text = (
        pl.when(pl.col("why").str.starts_with("hidden"))
        .then(pl.lit("hidden by the author"))
        .when(pl.col("star"))
        .then(pl.lit("★ starred"))
        .when(pl.col("kept"))
        .then(pl.lit("in the document"))
        .otherwise(pl.concat_str([pl.lit("left out: "), pl.col("why")]))
    )
    text = (
        pl.when(pl.col("note").is_not_null())
        .then(pl.concat_str([text, pl.lit("; note: "), pl.col("note")]))
        .otherwise(text)
    )
    return dict(marked.select("origin", text.alias("mark")).iter_rows())


def counts_by_source(events: pl.DataFrame) -> pl.DataFrame:
    """Events per source and kind (``source``, ``kind``, ``events``), sorted by source then kind."""
    return events.group_by("source", "kind").agg(pl.len().alias("events")).sort("source", "kind")
