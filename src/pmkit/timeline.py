"""One UTC timeline from every source: merged, ordered, duplicates folded, key events flagged.

Definitions:

- **Order**: by ``ts``, then source and origin, so equal times stay in a stable order.
- **Duplicates**: rows with the same ``kind`` and the same ``attrs.dedup_key`` (set by the
  alert loaders: the same alert in a repeat notification or in two payloads) fold into the
  first one; ``count`` says how many rows were folded. Rows without a dedup key fold only
  when kind, ts, service and message are all equal (the same line shipped twice).
- **Key events** (``key`` = true) are what a postmortem timeline lists: alerts and pages,
  deploys and changes, chat status updates, role changes, commands run and decisions (a person,
  not a bot, saying the team rolls back, reverts, fails over, declares, escalates or pages:
  ``pmkit.vocab.DECISION``), and the first and last error of each log template (a template is
  the message with uuids, hex ids, words holding a digit and quoted values masked).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from pmkit import schema
from pmkit.vocab import DECISION, DECISION_NOT, STATUS_UPDATE

if TYPE_CHECKING:
    import pandas as pd

# Chat messages that a postmortem timeline keeps besides status updates (case-insensitive regexes).
ROLE_CHANGE = r"(?i)(\b(i'?m|i am|taking|take|assum\w*|handing|hand(ed)? (over|off))\b.*\b(ic|incident commander|comms|scribe|tech(nical)? lead)\b|\bis (the )?(ic|incident commander)\b)"
COMMAND = r"(?i)(`[^`]*\b(kubectl|helm|argocd|terraform|git|psql|curl|systemctl|docker|aws|gcloud)\b[^`]*`|^\s*\$\s+\S|\b(kubectl|helm) (rollout|scale|delete|apply|undo|restart)\b)"

_MASK = [
    (r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", "<uuid>"),
    (r"\b0x[0-9a-fA-F]+\b|\b[0-9a-f]{12,}\b", "<hex>"),
    (r"[A-Za-z_./-]*\d[A-Za-z0-9_./-]*", "<id>"),
    (r"\"[^\"]*\"|'[^']*'", "<str>"),
]


def template_expr(col: str = "message") -> pl.Expr:
    """A cheap message template: uuids, hex ids, words holding a digit (ids, numbers, versions) and quoted values masked."""
    expr = pl.col(col)
    for pattern, repl in _MASK:
        expr = expr.str.replace_all(pattern, repl)
    return expr


def _dedup_key() -> pl.Expr:
    """``attrs.dedup_key``; the JSON is read only where the key is there (a few alert/page rows)."""
    attrs = pl.col("attrs")
    return pl.when(attrs.str.contains('"dedup_key"', literal=True)).then(attrs).str.json_path_match("$.dedup_key")


def merge(*frames: pl.DataFrame) -> pl.DataFrame:
    """Concatenate events frames and sort them into one timeline order."""
    parts = [schema.conform(f, "events") for f in frames if f.height]
    if not parts:
        return schema.empty("events")
    return pl.concat(parts).sort(["ts", "source", "origin"])


def fold_duplicates(events: pl.DataFrame) -> pl.DataFrame:
    """Fold duplicate rows (see module docstring); adds ``count``, keeps the first of each group."""
    if events.height == 0:
        return events.with_columns(pl.lit(1, dtype=pl.UInt32).alias("count"))
    key = (
        pl.when(_dedup_key().is_not_null())
        .then(pl.concat_str([pl.col("kind"), pl.lit("|"), _dedup_key()]))
        .otherwise(
            pl.concat_str(
                [pl.col("kind"), pl.col("ts").cast(pl.String), pl.col("service").fill_null(""), pl.col("message")],
                separator="|",
            )
        )
        .alias("_fold")
    )
    with_key = events.with_row_index("_row").with_columns(key)
    counts = with_key.group_by("_fold").agg(pl.len().cast(pl.UInt32).alias("count"), pl.col("_row").min())
    return with_key.join(counts, on=["_fold", "_row"], how="inner").sort("_row").drop("_row", "_fold")


def decision_flags() -> pl.Expr:
    """Chat messages that take a decision (``pmkit.vocab.DECISION`` and none of ``DECISION_NOT``), said by a person:
    a bot's message (``attrs`` with ``bot_id`` or the ``bot_message`` subtype) announces, it does not decide."""
    msg = pl.col("message")
    bot = pl.col("attrs").str.contains(r'"bot_id"\s*:\s*"|"subtype"\s*:\s*"bot_message"').fill_null(False)
    return ((pl.col("kind") == "chat") & msg.str.contains(DECISION) & ~msg.str.contains(DECISION_NOT) & ~bot).fill_null(
        False
    )


def key_flags(events: pl.DataFrame) -> pl.Expr:
    """The ``key`` column's expression (see module docstring)."""
    msg = pl.col("message")
    chat_key = (pl.col("kind") == "chat") & (
        msg.str.contains(STATUS_UPDATE) | msg.str.contains(ROLE_CHANGE) | msg.str.contains(COMMAND)
    )
    is_err = (pl.col("kind") == "log") & pl.col("level").is_in(["error", "critical"])
    tmpl = pl.concat_str([pl.col("source"), pl.lit("|"), template_expr()])
    first_last = is_err & (
        (pl.col("ts") == pl.col("ts").filter(is_err).min().over(tmpl))
        | (pl.col("ts") == pl.col("ts").filter(is_err).max().over(tmpl))
    )
    return (
        pl.col("kind").is_in(["alert", "page", "deploy", "note"]) | chat_key | decision_flags() | first_last
    ).fill_null(False)


@dataclass(frozen=True)
class Timeline:
    """A merged timeline: ``frame`` holds the events columns plus ``count`` and ``key``.

    Data only: a notebook shows it through :mod:`pmkit.report.notebook`.
    """

    frame: pl.DataFrame

    def filter(
        self,
        *,
        sources: list[str] | None = None,
        kinds: list[str] | None = None,
        services: list[str] | None = None,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        key_only: bool = False,
    ) -> Timeline:
        """A narrower timeline (``start`` inclusive, ``end`` exclusive)."""
        f = self.frame
        if sources:
            f = f.filter(pl.col("source").is_in(sources))
        if kinds:
            f = f.filter(pl.col("kind").is_in(kinds))
        if services:
            f = f.filter(pl.col("service").is_in(services))
        if start is not None:
            f = f.filter(pl.col("ts") >= start)
        if end is not None:
            f = f.filter(pl.col("ts") < end)
        if key_only:
            f = f.filter(pl.col("key"))
        return Timeline(f)

    def key(self) -> Timeline:
        """Only the key events."""
        return self.filter(key_only=True)

    def to_pandas(self) -> pd.DataFrame:
        return self.frame.to_pandas()

    def __len__(self) -> int:
        return self.frame.height


def build_timeline(events: pl.DataFrame) -> Timeline:
    """Order, fold duplicates and flag key events."""
    ordered = merge(events)
    folded = fold_duplicates(ordered)
    return Timeline(folded.with_columns(key_flags(folded).alias("key")))
