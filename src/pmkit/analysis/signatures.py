"""Log signatures: message templates that are new or surging during impact, compared with a baseline.

Definitions (also in docs/analyses.md):

- **Which events**: log events (``kind`` = log) whose ``level`` is in ``levels`` (default warning,
  error, critical; ``levels=None`` takes every log event, including those without a level).
  Only the ``message`` field is mined, never the raw line.
- **Template**: the message with its variable parts masked, then clustered by drain3. Masking
  replaces, in this order, quoted strings (``"..."``, and ``'...'`` without spaces) with ``<STR>``,
  uuids with ``<UUID>``, IPv4 addresses (with an optional port) and IPv6 addresses with ``<IP>``,
  hex ids (``0x...`` or 7+ hex digits: shas, request ids, long numeric ids) with ``<HEX>``, and any
  other number (ASCII digits, decimals included) with ``<NUM>``. Drain3 then groups masked
  messages with the same number of tokens: ``depth`` 4 means the first two tokens route a message
  through the parse tree (messages that start differently never merge), and ``sim_th`` 0.5 joins
  a message to a cluster when at least half its tokens equal the cluster's; the tokens that differ
  become ``<*>``. Drain3 sees every distinct masked message exactly once, in sorted order, so the
  templates depend neither on row order nor on how often a message repeats. Multi-line messages
  (stack traces) are mined whole; whitespace, newlines included, separates tokens.
- **Windows** are half-open ``[start, end)``. The **baseline** defaults to the same length of time
  right before impact start. Rates are counts per minute of window.
- **rate_ratio** = impact rate / baseline rate (``inf`` when the baseline never saw the template).
- **Status**: ``new`` when the baseline never saw the template and the impact window saw it at
  least ``min_count`` times; ``surging`` when the baseline saw it, the impact window saw it at least
  ``min_count`` times and ``rate_ratio >= surge_ratio``; ``steady`` for everything else seen in
  either window (rare, flat or falling).

Cost: messages are deduplicated before mining (distinct raw messages, then distinct masked ones);
masking and all counting are polars expressions, and only the drain3 call is a Python loop, over
the distinct masked messages.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import polars as pl
from drain3 import TemplateMiner  # drain3 ships no type information
from drain3.masking import MaskingInstruction
from drain3.template_miner_config import TemplateMinerConfig

from pmkit.schema import UTC_TS
from pmkit.timeutil import as_utc

DEFAULT_LEVELS: tuple[str, ...] = ("warning", "error", "critical")
SIM_TH = 0.5
DEPTH = 4

# (name, pattern): each pattern is valid in both Rust's regex (polars) and Python's re (drain3),
# so the vectorised pre-mask and the miner's own masking agree; no look-arounds, no back-references.
MASKS: tuple[tuple[str, str], ...] = (
    ("STR", r""""(?:[^"\\]|\\.)*"|'[^' \t\r\n\f\v]*'"""),
    ("UUID", r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"),
    (
        "IP",
        r"\b(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?::[0-9]{1,5})?\b"
        r"|\b[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4}){7}\b"
        r"|\b[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4})*::[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4})*\b",
    ),
    ("HEX", r"\b0[xX][0-9a-fA-F]+\b|\b[0-9a-fA-F]{7,}\b"),
    ("NUM", r"[0-9]+(?:\.[0-9]+)?"),
)

STATUSES = ("new", "surging", "steady")

SIGNATURES_SCHEMA: dict[str, pl.DataType] = {
    "template": pl.String(),
    "status": pl.String(),
    "count_impact": pl.Int64(),
    "count_baseline": pl.Int64(),
    "rate_ratio": pl.Float64(),
    "first_seen": UTC_TS,
    "last_seen": UTC_TS,
    "first_seen_in_impact": UTC_TS,
    "services": pl.List(pl.String()),
    "sources": pl.List(pl.String()),
    "levels": pl.List(pl.String()),
    "example": pl.String(),
    "origins": pl.String(),
}


def template_miner(*, sim_th: float = SIM_TH, depth: int = DEPTH) -> TemplateMiner:
    """A drain3 miner configured in code (no drain3.ini is read), masking as :data:`MASKS`, no persistence."""
    config = TemplateMinerConfig()
    config.drain_sim_th = sim_th
    config.drain_depth = depth
    config.masking_instructions = [MaskingInstruction(pattern, name) for name, pattern in MASKS]
    config.mask_prefix, config.mask_suffix = "<", ">"
    return TemplateMiner(config=config)


def mask_expr(col: str = "message") -> pl.Expr:
    """The masking of :data:`MASKS` as one vectorised expression (same output as the miner's masker)."""
    expr = pl.col(col)
    for name, pattern in MASKS:
        expr = expr.str.replace_all(pattern, f"<{name}>")
    return expr


def _window(window: tuple[dt.datetime, dt.datetime], name: str) -> tuple[dt.datetime, dt.datetime]:
    start, end = as_utc(window[0]), as_utc(window[1])
    if end <= start:
        raise ValueError(f"the {name} window must end after it starts; got {start.isoformat()} .. {end.isoformat()}")
    return start, end


def _is_mined(levels: Sequence[str] | None) -> pl.Expr:
    """Which events are mined: log events, at the given levels (all of them when ``levels`` is None)."""
    is_log = pl.col("kind") == "log"
    if levels is None:
        return is_log
    return is_log & pl.col("level").is_in(list(levels)).fill_null(False)


def _template_map(messages: pl.Series, *, sim_th: float, depth: int) -> pl.DataFrame:
    """Distinct raw message -> template. Drain3 is fed each distinct masked message once, sorted.

    The masking is done here in polars (the same :data:`MASKS` the miner holds), so the messages go
    straight to the miner's Drain: its per-message Python masking would cost ~4x the clustering.
    """
    distinct = pl.DataFrame({"message": messages.unique()}).with_columns(mask_expr("message").alias("_masked"))
    masked = distinct.get_column("_masked").unique().sort()
    drain = template_miner(sim_th=sim_th, depth=depth).drain
    add = drain.add_log_message
    clusters = [add(m)[0] for m in masked]
    # a cluster's template keeps generalising as messages arrive: read each one's final form once
    final = {id(c): c.get_template() for c in clusters}
    lookup = pl.DataFrame(
        {"_masked": masked, "template": [final[id(c)] for c in clusters]},
        schema={"_masked": pl.String(), "template": pl.String()},
    )
    return distinct.join(lookup, on="_masked", how="left").select("message", "template")


def template_of(
    events: pl.DataFrame,
    *,
    levels: Sequence[str] | None = DEFAULT_LEVELS,
    sim_th: float = SIM_TH,
    depth: int = DEPTH,
) -> pl.Series:
    """Each event's template (null for events that are not mined), aligned with ``events``' rows.

    With the same ``levels`` (and drain settings) the values equal :func:`signatures`' ``template``
    column, so ``events.with_columns(template=template_of(events))`` can be grouped by minute for a
    "signatures over time" figure.
    """
    mined = _is_mined(levels)
    if events.height == 0:
        return pl.Series("template", [], dtype=pl.String())
    tmap = _template_map(events.filter(mined).get_column("message"), sim_th=sim_th, depth=depth)
    return (
        events.select(pl.when(mined).then(pl.col("message")).alias("message"))
        .join(tmap, on="message", how="left", maintain_order="left")
        .get_column("template")
    )


def signatures(
    events: pl.DataFrame,
    *,
    impact: tuple[dt.datetime, dt.datetime],
    baseline: tuple[dt.datetime, dt.datetime] | None = None,
    min_count: int = 3,
    surge_ratio: float = 5.0,
    levels: Sequence[str] | None = DEFAULT_LEVELS,
    all_templates: bool = False,
    sim_th: float = SIM_TH,
    depth: int = DEPTH,
) -> pl.DataFrame:
    """Log templates new or surging during ``impact`` compared with ``baseline`` (see module docstring).

    One row per template, new first, then surging, then steady (only with ``all_templates=True``),
    each by impact count. ``first_seen``/``last_seen`` span all the events given; ``example`` and
    ``origins`` are the first impact occurrence (else the first baseline one): a real message and
    where it came from, for the evidence.
    """
    i0, i1 = _window(impact, "impact")
    b0, b1 = _window(baseline, "baseline") if baseline is not None else (i0 - (i1 - i0), i0)
    logs = events.filter(_is_mined(levels)).select("ts", "source", "service", "level", "message", "origin")
    if logs.height == 0:
        return pl.DataFrame(schema=SIGNATURES_SCHEMA)
    tmap = _template_map(logs.get_column("message"), sim_th=sim_th, depth=depth)

    ts = pl.col("ts")
    imp, base = pl.col("_imp"), pl.col("_base")
    seen = imp | base

    def first_of(col: str) -> pl.Expr:
        return pl.coalesce(pl.col(col).filter(imp).first(), pl.col(col).filter(base).first())

    def names(col: str) -> pl.Expr:
        return pl.col(col).filter(seen).drop_nulls().unique().sort()

    per_template = (
        logs.join(tmap, on="message", how="left")
        .sort("ts", maintain_order=True)
        .with_columns(((ts >= i0) & (ts < i1)).alias("_imp"), ((ts >= b0) & (ts < b1)).alias("_base"))
        .group_by("template")
        .agg(
            imp.sum().cast(pl.Int64).alias("count_impact"),
            base.sum().cast(pl.Int64).alias("count_baseline"),
            ts.first().alias("first_seen"),
            ts.last().alias("last_seen"),
            ts.filter(imp).first().alias("first_seen_in_impact"),
            names("service").alias("services"),
            names("source").alias("sources"),
            names("level").alias("levels"),
            first_of("message").alias("example"),
            first_of("origin").alias("origins"),
        )
        .filter((pl.col("count_impact") + pl.col("count_baseline")) > 0)
    )

    impact_min = (i1 - i0).total_seconds() / 60
    baseline_min = (b1 - b0).total_seconds() / 60
    n_imp, n_base = pl.col("count_impact"), pl.col("count_baseline")
    ratio = (
        pl.when(n_base == 0)
        .then(pl.lit(math.inf))
        .otherwise((n_imp / impact_min) / (n_base / baseline_min))
        .cast(pl.Float64)
    )
    status = (
        pl.when((n_imp >= min_count) & (n_base == 0))
        .then(pl.lit("new"))
        .when((n_imp >= min_count) & (pl.col("rate_ratio") >= surge_ratio))
        .then(pl.lit("surging"))
        .otherwise(pl.lit("steady"))
    )
    out = (
        per_template.with_columns(ratio.alias("rate_ratio"))
        .with_columns(status.alias("status"))
        .with_columns(pl.col("status").replace_strict(STATUSES, range(len(STATUSES))).alias("_order"))
        .sort(["_order", "count_impact", "template"], descending=[False, True, False])
    )
    if not all_templates:
        out = out.filter(pl.col("status") != "steady")
    return out.select([pl.col(c).cast(t) for c, t in SIGNATURES_SCHEMA.items()])
