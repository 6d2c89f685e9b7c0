"""Level words of every log format, normalised to ``debug``, ``info``, ``warning``, ``error``, ``critical``.

One table for every loader (JSON lines, logfmt, grok, log4j, nginx's error log), so a level reads
the same whichever format carried it: full words (``warning``, ``Information``, ``FATAL``), the
three-letter forms of Serilog and zerolog (``VRB``, ``INF``, ``WRN``, ``ERR``, ``FTL``), syslog
and nginx names (``notice``, ``crit``, ``emerg``), java.util.logging's (``SEVERE``, ``FINE``,
``CONFIG``) and Android's letters (``V D I W E F A``). Case and surrounding blanks are ignored.
Numbers are pino/bunyan levels (10 trace ... 60 fatal). Syslog's numeric severities (0-7) are
another scale and stay in :mod:`pmkit.sources.logs.syslog`.
"""

from __future__ import annotations

import polars as pl

LEVEL_WORDS: dict[str, tuple[str, ...]] = {
    "debug": (
        "trace",
        "trc",
        "debug",
        "dbg",
        "dbug",
        "verbose",
        "vrb",
        "fine",
        "finer",
        "finest",
        "all",
        "t",
        "d",
        "v",
    ),
    "info": ("info", "inf", "information", "informational", "notice", "note", "config", "i", "n"),
    "warning": ("warn", "warning", "wrn", "w"),
    "error": ("error", "err", "eror", "severe", "e"),
    "critical": ("critical", "crit", "crt", "fatal", "ftl", "emerg", "emergency", "alert", "panic", "f", "a", "c"),
}
LEVEL_NAMES: dict[str, str] = {word: level for level, words in LEVEL_WORDS.items() for word in words}


def numeric_level(num: pl.Expr) -> pl.Expr:
    """pino/bunyan numeric levels (10 trace ... 60 fatal); other numbers give null."""
    return (
        pl.when((num >= 10) & (num < 30))
        .then(pl.lit("debug"))
        .when((num >= 30) & (num < 40))
        .then(pl.lit("info"))
        .when((num >= 40) & (num < 50))
        .then(pl.lit("warning"))
        .when((num >= 50) & (num < 60))
        .then(pl.lit("error"))
        .when((num >= 60) & (num < 70))
        .then(pl.lit("critical"))
    )


def level_expr(expr: pl.Expr, dtype: pl.DataType | None = None) -> pl.Expr:
    """A level field (words or pino/bunyan numbers, as text or numbers) as one of the five levels, or null."""
    if dtype is not None and dtype.is_numeric():
        return numeric_level(expr.cast(pl.Float64))
    text = expr.cast(pl.String).str.strip_chars().str.to_lowercase()
    named = text.replace_strict(LEVEL_NAMES, default=None, return_dtype=pl.String)
    return pl.coalesce(named, numeric_level(text.cast(pl.Float64, strict=False)))


def levels(values: pl.Series) -> pl.Series:
    """:func:`level_expr` over a column, mapped once per distinct value (level fields repeat a handful)."""
    distinct = values.drop_nulls().unique()
    if distinct.len() > 10_000:
        return values.to_frame("v").select(level_expr(pl.col("v"), values.dtype)).to_series()
    mapped = distinct.to_frame("v").select(level_expr(pl.col("v"), values.dtype)).to_series()
    table = dict(zip(distinct.to_list(), mapped.to_list(), strict=True))
    return values.replace_strict(table, default=None, return_dtype=pl.String)
