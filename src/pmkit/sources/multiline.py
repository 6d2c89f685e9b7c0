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

Which lines start a record is the loader's rule, or the source's ``options: {multiline: ...}``
(:class:`Multiline`, read by :func:`multiline_option`: the ``traceback`` rule of
:func:`traceback_continues`, a start regex, or ``true``), the one rule logfmt, jsonl, syslog, grok
and log4j share; it is a polars expression over the file's lines in order.

Counts stay exact: ``n_lines`` says how many physical lines a record took, so a
loader reports ``parsed_inputs`` as the sum of ``n_lines`` over the records it kept,
and :func:`record_rejects` turns a rejected record back into one reject per line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from pmkit import schema
from pmkit.errors import SourceError
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


# --------------------------------------------------------------------------- the ``multiline:`` option
#
# One rule for every line format that takes ``options: {multiline: ...}`` (logfmt, jsonl, syslog, grok,
# log4j): which lines start a record. Everything is a polars expression over the file's lines in order
# (``shift`` looks at the neighbours), so no Python runs per line.

RULE_NAMES = ("traceback", "indented")  # one rule, two names

# Lines that continue a stack trace whatever their indentation: Python's traceback header and chain
# sentences, Java's "Caused by:"/"Suppressed:" and frames ("at pkg.Class.method(File.java:12)",
# "... 12 more"), logback's "... 12 common frames omitted".
_MARKER = (
    r"^(?:Traceback \(most recent call last\):"
    r"|During handling of the above exception"
    r"|The above exception was the direct cause"
    r"|Caused by: |Suppressed: "
    r"|\s*at [\w$.<>/-]+\(.*\)\s*$"
    r"|\s*\.\.\. \d+ (?:more|common frames omitted)\s*$)"
)
_CHAIN = r"^(?:During handling of the above exception|The above exception was the direct cause)"
_JAVA_FRAME = r"^\s*at [\w$.<>/-]+\("
# "ValueError: bad input", "KeyboardInterrupt", "java.lang.IllegalStateException: x": a name, then ":" or nothing
_EXCEPTION = r"^[A-Za-z_][\w.$]*(?::(?:\s.*)?)?\s*$"
_INDENTED = r"^[ \t]+\S"
_BLANK = r"^\s*$"


def traceback_continues(line: pl.Expr | None = None) -> pl.Expr:
    """True on the lines the ``traceback``/``indented`` rule joins to the record above (see :class:`Multiline`).

    - a line that starts with a space or tab (frames, source lines, carets, config dumps);
    - a traceback marker: ``Traceback (most recent call last):``, ``During handling of the above
      exception...``, ``The above exception was the direct cause...``, ``Caused by: ...``,
      ``Suppressed: ...``, a Java frame ``at pkg.Class.m(File.java:12)`` and ``... N more``;
    - an exception line (``SomeError: msg``, a dotted name, or a bare name such as ``KeyboardInterrupt``)
      right after such a line (the last line of a Python traceback; up to two in a row, e.g. a psycopg2
      ``DETAIL:`` line), or right before a Java frame (the exception line that heads a Java trace);
    - a blank line next to a chain sentence (Python prints ``\\n During handling ...:\\n\\n``).
    """
    ln = pl.col("line") if line is None else line
    base = ln.str.contains(_INDENTED) | ln.str.contains(_MARKER)
    exc = ln.str.contains(_EXCEPTION)
    prev_base = base.shift(1).fill_null(False)
    exc_after = exc & (prev_base | (exc.shift(1).fill_null(False) & base.shift(2).fill_null(False)))
    exc_before_java = exc & ln.shift(-1).str.contains(_JAVA_FRAME).fill_null(False)
    chain = ln.str.contains(_CHAIN)
    blank = ln.str.contains(_BLANK) & (chain.shift(-1).fill_null(False) | chain.shift(1).fill_null(False))
    return (base | exc_after | exc_before_java | blank).fill_null(False)


@dataclass(frozen=True)
class Multiline:
    """A source's ``options: {multiline: ...}``: which lines start a record (the others continue it).

    - ``"traceback"`` (or ``"indented"``, the same rule): :func:`traceback_continues` says which lines
      continue; every other line starts a record;
    - ``{start: REGEX}`` (or the regex as a plain string): a line that matches REGEX at its start starts
      a record;
    - ``true``: a line the format reads starts a record, any other line continues the one above.
    """

    kind: str  # "traceback", "start" or "readable"
    start: str | None = None

    def head(self, readable: pl.Expr) -> pl.Expr:
        """True on the lines that start a record; ``readable`` is the format's own "this line parses"."""
        if self.kind == "traceback":
            return ~traceback_continues()
        if self.kind == "start":
            return pl.col("line").str.contains("^(?:" + str(self.start) + ")").fill_null(False)
        return readable.fill_null(False)

    def describe(self) -> str:
        """How the load notes name the rule."""
        if self.kind == "traceback":
            return "multiline: traceback (indented lines, traceback and Java stack-trace lines continue a record)"
        if self.kind == "start":
            return f"multiline: a record starts at a line matching {self.start!r}"
        return "multiline: true (lines the format cannot read continue the record above)"


def multiline_option(value: Any, where: str) -> Multiline | None:
    """The ``multiline`` option read (None when absent or false); a :class:`SourceError` naming ``where`` and
    what is expected when the value is not one of the forms :class:`Multiline` lists."""
    expected = "expected 'traceback' (or 'indented'), a start regex as {start: '^\\d{4}-'}, true, or false"
    if value is None or value is False:
        return None
    if value is True:
        return Multiline("readable")
    if isinstance(value, str) and value.strip().lower() in RULE_NAMES:
        return Multiline("traceback")
    start: Any = value
    if isinstance(value, dict):
        unknown = sorted(set(value) - {"start"})
        if unknown or "start" not in value:
            raise SourceError(f"{where}: options.multiline has keys {sorted(value)}; {expected}")
        start = value["start"]
    if not isinstance(start, str) or not start:
        raise SourceError(f"{where}: options.multiline {value!r} is not a rule or a regex; {expected}")
    try:
        pl.Series("x", [""], dtype=pl.String).str.contains("^(?:" + start + ")")
    except pl.exceptions.PolarsError as exc:
        first = str(exc).splitlines()[0]
        raise SourceError(f"{where}: options.multiline {start!r} is not a valid regex: {first}") from None
    return Multiline("start", start)
