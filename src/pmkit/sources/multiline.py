"""Joining continuation lines to the line that starts their record, vectorised.

Many logs spread one event over several physical lines: log4j config dumps and Java
stack traces, darwin syslog's tab-indented continuations, nginx/PHP messages. The
rule here is the one every format shares:

- a *head* line starts a record; every following non-head line belongs to it, up to
  the next head (``record`` numbers heads 1, 2, ... with a cumulative sum, no loop);
- lines before the first head belong to no record (``record`` 0, "orphans"): a
  loader rejects them, since nothing says what event they continue;
- a record's text is its head line; the lines after it are its ``continuation``
  (joined with ``\\n``), which loaders keep in ``attrs``.

Counts stay exact: ``n_lines`` says how many physical lines a record took, so a
loader reports ``parsed_inputs`` as the sum of ``n_lines`` over the records it kept,
and :func:`record_rejects` turns a rejected record back into one reject per line.
"""

from __future__ import annotations

import polars as pl

from pmkit import schema
from pmkit.sources.base import origin_expr

HEAD = "_head"
RECORD = "record"


def label_records(lines: pl.DataFrame, is_head: pl.Expr) -> pl.DataFrame:
    """Add ``_head`` (bool) and ``record`` (0 before the first head, then 1, 2, ...) to a lines frame."""
    return lines.with_columns(is_head.fill_null(False).alias(HEAD)).with_columns(
        pl.col(HEAD).cum_sum().cast(pl.UInt32).alias(RECORD)
    )


def join_records(labelled: pl.DataFrame, *, sep: str = "\n") -> pl.DataFrame:
    """One row per record: the head row's columns plus ``n_lines``, ``last_line_no``,
    ``last_line`` and ``continuation`` (lines after the head joined with ``sep``; null
    for one-line records). Orphan lines (record 0) are left out; see :func:`orphans`.
    """
    heads = labelled.filter(pl.col(HEAD))
    cont = labelled.filter(~pl.col(HEAD) & (pl.col(RECORD) > 0))
    if cont.height == 0:  # fast path: every line is its own record
        return heads.with_columns(
            pl.lit(1, dtype=pl.UInt32).alias("n_lines"),
            pl.col("line_no").alias("last_line_no"),
            pl.col("line").alias("last_line"),
            pl.lit(None, dtype=pl.String).alias("continuation"),
        )
    agg = cont.group_by(RECORD).agg(
        pl.col("line").str.join(sep).alias("continuation"),
        pl.len().cast(pl.UInt32).alias("_n"),
        pl.col("line_no").last().alias("last_line_no"),
        pl.col("line").last().alias("last_line"),
    )
    return (
        heads.join(agg, on=RECORD, how="left", maintain_order="left")
        .with_columns(
            (pl.col("_n").fill_null(0) + 1).cast(pl.UInt32).alias("n_lines"),
            pl.col("last_line_no").fill_null(pl.col("line_no")),
            pl.col("last_line").fill_null(pl.col("line")),
        )
        .drop("_n")
    )


def orphans(labelled: pl.DataFrame) -> pl.DataFrame:
    """The lines before the first head (record 0)."""
    return labelled.filter(pl.col(RECORD) == 0)


def record_rejects(labelled: pl.DataFrame, bad: pl.DataFrame, origin: str) -> pl.DataFrame:
    """One reject per physical line of each rejected record.

    ``bad`` has ``record`` and ``reason``; the head line gets the reason, the lines
    after it say which head they belonged to. ``origin`` is the file path (``path:line``).
    """
    if bad.height == 0:
        return schema.empty("rejects")
    heads = labelled.filter(pl.col(HEAD)).select(RECORD, pl.col("line_no").alias("_head_no"))
    rows = (
        labelled.filter(pl.col(RECORD) > 0)
        .join(bad.select(RECORD, "reason"), on=RECORD, how="inner", maintain_order="left")
        .join(heads, on=RECORD, how="left", maintain_order="left")
        .select(
            origin_expr(origin).alias("origin"),
            pl.when(pl.col(HEAD))
            .then(pl.col("reason"))
            .otherwise(pl.format("continues line {}, which was rejected: {}", pl.col("_head_no"), pl.col("reason")))
            .alias("reason"),
            pl.col("line").alias("raw"),
        )
    )
    return schema.conform(rows, "rejects")


def line_rejects(lines: pl.DataFrame, reason: str | pl.Expr, origin: str) -> pl.DataFrame:
    """Rejects for individual lines (``line_no``, ``line``) with one reason (text or expression)."""
    if lines.height == 0:
        return schema.empty("rejects")
    why = pl.lit(reason) if isinstance(reason, str) else reason
    rows = lines.select(
        origin_expr(origin).alias("origin"),
        why.cast(pl.String).alias("reason"),
        pl.col("line").alias("raw"),
    )
    return schema.conform(rows, "rejects")
