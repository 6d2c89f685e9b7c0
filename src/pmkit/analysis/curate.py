"""The curated timeline: what a postmortem's timeline table lists, every event kept or dropped with a reason.

The timeline (:mod:`pmkit.timeline`) holds every event; the curated timeline decides, event by event,
which ones an SRE would list, and says why in two columns, ``kept`` and ``why``, so that every decision
is data a test (or a reader) can check. The rules, first that applies (docs/analyses.md, "Curated
timeline"):

1. **The author**: an event in ``timeline.hide`` is dropped, one in ``timeline.star`` is kept, whatever
   the rules below say; ``timeline.annotate`` adds a note to an event's line.
2. **Key events only** (:mod:`pmkit.timeline`): alerts, pages, deploys, chat status updates, role
   changes, commands and decisions, the first and last error of each log template.
3. **Production only**: a deploy to an environment whose name says staging, dev, test, qa, uat,
   preview, sandbox, review or pre-production (:data:`NON_PRODUCTION`, so ``staging-canary`` too) is
   dropped; a deploy with no environment is kept. Deploy statuses between created and done
   (``in_progress``, ``queued``, ``inactive``...) are dropped: created, success, failure and error stay.
4. **The window**: from the earlier of the top change suspect's first event (when it started at most
   :data:`SUSPECT_REACH` before impact start) and impact start minus the margin (``timeline.margin``,
   default 15 minutes), to resolution (else mitigation) plus :data:`TAIL`, in which only chat messages
   and pages are listed (the closing messages; a deploy of another service right after is not the incident's).
   The top suspect's own events are kept even when it started earlier. No impact start: no window.
5. **Background noise before impact start**: an error log line whose service is not one of the
   incident's, or that is isolated (fewer than :data:`ISOLATED_BELOW` lines of its template within
   ``ISOLATION`` either side), and an alert on a service that is not one of the incident's.
6. **Log lines**: only the first line of each error template is listed (the timeline flags the first and
   the last; the end of the errors is the mitigated milestone's business).
7. **Repeated alerts** of the same name and state (firing/resolved), each within :data:`REPEAT_GAP`
   of the one before, collapse into the first: ``KubePodCrashLooping x4 (pods a, b, c, d)``.
8. **Cross-source duplicates**: a chat message or page note whose words are, for at least
   :data:`SIMILARITY` of the shorter text's words, the words of a kept message of another source
   posted at most :data:`DUPLICATE_WITHIN` earlier is dropped; the first says "also in <source>".
   A log line whose words are, the same way, an earlier kept log line's is dropped too (the same
   error in other words: ``request failed: could not acquire a database connection`` after
   ``payment failed: could not acquire a database connection``).
9. **Length**: more than :data:`MAX_ROWS` kept, the latest rows of the kind that gives way first
   (log lines, alerts, other chat, pages, deploys) are left out until it fits; decisions, status
   updates and starred events always stay.

Each kept event gets one clean line (:func:`clean_line`): Markdown and Slack markup stripped, line
breaks joined, cut at a word boundary with an ellipsis.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from pmkit.analysis.changes import NON_PROD, fold_changes
from pmkit.analysis.gates import Gate
from pmkit.timeline import COMMAND, ROLE_CHANGE, decision_flags, template_expr
from pmkit.timeutil import fmt_utc
from pmkit.vocab import STATUS_UPDATE

if TYPE_CHECKING:
    from pmkit.spec import TimelineCuration

MARGIN = dt.timedelta(minutes=15)
SUSPECT_REACH = dt.timedelta(hours=2)
TAIL = dt.timedelta(minutes=5)
ISOLATION = dt.timedelta(minutes=5)
ISOLATED_BELOW = 3
REPEAT_GAP = dt.timedelta(minutes=5)
DUPLICATE_WITHIN = dt.timedelta(minutes=5)
SIMILARITY = 0.6
WIDTH = 160
MAX_ROWS = 60
# which kept rows give way first when more than MAX_ROWS are kept: log lines, then alerts, then chat that is
# neither a decision nor a status update, then pages, then deploys; decisions, status updates and starred rows never
_GIVE_WAY = ("log", "alert", "chat", "page", "deploy")
NON_PRODUCTION = NON_PROD.removesuffix(r")\b") + r"|pre-?prod\w*|non-?prod\w*)\b"
KEEP_STATES = ("created", "success", "failure", "error")

CURATED_COLUMNS = ("id", "line", "kept", "why", "star", "note", "also", "repeats")


# --- one clean line -------------------------------------------------------------------------------------


def clean_line(col: str | pl.Expr = "message", width: int = WIDTH) -> pl.Expr:
    """A message as one clean line: Slack markup (``<url|label>``, ``<@U123>``, ``<#C1|chan>``, ``:emoji:``)
    and Markdown (``**``, ``__``, ``*x*``, ``_x_``, backticks, ``~~``, ``[label](url)``, heading and quote
    marks) stripped, line breaks (and the loaders' ``⏎``) joined with ``; `` (a space after a line that ends
    in punctuation), spaces collapsed, and text longer than ``width`` cut at a word boundary with ``…``."""
    s = pl.col(col) if isinstance(col, str) else col
    s = (
        s.fill_null("")
        .str.replace_all(r"<(?:https?|mailto):[^|>\s]*\|([^>]*)>", "$1")
        .str.replace_all(r"<((?:https?|mailto):[^>\s]*)>", "$1")
        .str.replace_all(r"<[@#][A-Z0-9]+\|([^>]*)>", "@$1")
        .str.replace_all(r"<(@[A-Z0-9]+)>", "$1")
        .str.replace_all(r"<!(here|channel|everyone)(?:\|[^>]*)?>", "@$1")
        .str.replace_all(r"(^|[\s(])\:[a-z0-9_+\-]*[a-z][a-z0-9_+\-]*\:(?::skin-tone-\d:)?", "$1")
        .str.replace_all(r"\[([^\]\n]+)\]\((?:https?|mailto):[^)\s]*\)", "$1")
        .str.replace_all(r"\*\*|~~", "")
        .str.replace_all(r"(^|[\s(\[])__([^_\n]+)__", "$1$2")
        .str.replace_all(r"(^|[\s(\[])\*([^*\n]+)\*", "$1$2")
        .str.replace_all(r"(^|[\s(\[])_([^_\n]+)_", "$1$2")
        .str.replace_all("`", "")
        .str.replace_all(r"\r\n?|[ \t]*⏎[ \t]*", "\n")
        .str.replace_all(r"(?m)^[ \t]*(?:#{1,6}[ \t]+|>[ \t]?|[-*•][ \t]+)", "")
        .str.replace_all(r"([.!?:;,])[ \t]*(?:\n[ \t]*)+", "$1 ")
        .str.replace_all(r"[ \t]*(?:\n[ \t]*)+", "; ")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars(" ;")
    )
    cut = s.str.slice(0, width - 1).str.replace(r"\s+\S*$", "").str.strip_chars_end(" ,;:-—–") + pl.lit("…")
    return pl.when(s.str.len_chars() > width).then(cut).otherwise(s)


def _page_body() -> pl.Expr:
    """A page's own words: its note or status update (``attrs.note``, ``attrs.status_update``), else the text after
    the last `` -- `` of its message, else the message."""
    msg = pl.col("message")
    after = msg.str.extract(r"^.* -- (.*)$", 1)
    return pl.coalesce(
        pl.col("attrs").str.json_path_match("$.note"), pl.col("attrs").str.json_path_match("$.status_update"), after
    )


def _display() -> pl.Expr:
    """The text a line is made of: a page note reads ``<who did what>: <the note>`` (the alert title it repeats
    is left out); everything else is its message."""
    msg = pl.col("message")
    head = msg.str.extract(r"^([^:]*?):", 1)
    body = _page_body()
    return (
        pl.when((pl.col("kind") == "page") & body.is_not_null() & head.is_not_null())
        .then(pl.concat_str([head, pl.lit(": "), body]))
        .otherwise(msg)
    )


# --- the result -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CuratedTimeline:
    """Every event of a timeline with the curation's columns (:data:`CURATED_COLUMNS`): ``id`` (origin relative
    to the incident folder), ``line`` (one clean line), ``kept``, ``why``, ``star``, ``note`` (the author's),
    ``also`` (the sources that said the same), ``repeats`` (alerts collapsed into it, itself included).

    ``start``/``end`` bound the window, ``start_basis``/``end_basis`` say where they come from;
    ``environments`` maps each deploy environment seen to whether it counts as production;
    ``problems`` name the author's ids that match no event (``timeline.star[0]: ...``).
    Data only: the document, the notebook, the explorer and ``pmkit timeline`` present it.
    """

    frame: pl.DataFrame
    start: dt.datetime | None
    end: dt.datetime | None
    start_basis: str
    end_basis: str
    environments: dict[str, bool]
    problems: tuple[str, ...]

    def kept(self) -> pl.DataFrame:
        """The rows the curated timeline lists, in time order."""
        return self.frame.filter(pl.col("kept"))

    def candidates(self) -> pl.DataFrame:
        """The rows a reader may want to see decided: key events, starred or hidden ones, inside the window or not."""
        return self.frame.filter(pl.col("key") | pl.col("star") | pl.col("why").str.starts_with("hidden"))

    def window_text(self) -> str:
        """``14:04:23 (impact start 14:19:23 minus the 15 min margin) to 15:52:05 (resolved 15:47:05 plus 5 min)``."""
        if self.start is None:
            return "every event (no impact start was found)"
        return f"{fmt_utc(self.start, 'hms')} ({self.start_basis}) to {fmt_utc(self.end, 'hms')} ({self.end_basis})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": fmt_utc(self.start),
            "end": fmt_utc(self.end),
            "start_basis": self.start_basis,
            "end_basis": self.end_basis,
            "environments": self.environments,
            "problems": list(self.problems),
            "kept": self.kept().select("ts", "id", "source", "kind", "line", "why").to_dicts(),
        }


# --- the author's ids -----------------------------------------------------------------------------------

_TIME_REF = re.compile(r"^(\S+)\s+(\S+)$")


def _ref_expr(ref: str) -> pl.Expr | None:
    """The events an author's reference names: an id (the relative origin, or the origin as loaded), or
    ``<time> <source>`` with the time as an ISO instant (``2025-06-15T14:35:50Z``) or ``HH:MM:SS`` (any day)."""
    by_id = (pl.col("id") == ref) | (pl.col("origin") == ref)
    m = _TIME_REF.match(ref)
    if not m:
        return by_id
    when, source = m.group(1), m.group(2)
    second = pl.col("ts").dt.truncate("1s")
    if re.fullmatch(r"\d{1,2}:\d{2}:\d{2}", when):
        return by_id | ((pl.col("ts").dt.strftime("%H:%M:%S") == when.zfill(8)) & (pl.col("source") == source))
    try:
        t = dt.datetime.fromisoformat(when.replace("Z", "+00:00"))
    except ValueError:
        return by_id
    if t.tzinfo is None:
        return by_id
    t = t.astimezone(dt.UTC).replace(microsecond=0)
    return by_id | ((second == pl.lit(t).dt.cast_time_unit("us")) & (pl.col("source") == source))


def _author_marks(frame: pl.DataFrame, curation: TimelineCuration | None) -> tuple[pl.DataFrame, list[str]]:
    """``star``, ``hidden`` and ``note`` columns from ``timeline:``; the references that match no event."""
    star, hidden, note = pl.lit(False), pl.lit(False), pl.lit(None, dtype=pl.String)
    problems: list[str] = []
    hint = "`pmkit timeline --ids --all DIR` lists the ids (an event's origin in the incident folder, or 'HH:MM:SS source')"
    if curation is not None:
        for key, refs in (("star", curation.star), ("hide", curation.hide)):
            for i, ref in enumerate(refs):
                expr = _ref_expr(ref)
                if expr is None or not frame.select(expr.any()).item():
                    problems.append(f"timeline.{key}[{i}]: {ref!r} is no event's id; {hint}")
                    continue
                if key == "star":
                    star = star | expr
                else:
                    hidden = hidden | expr
        for i, a in enumerate(curation.annotate):
            expr = _ref_expr(a.id)
            if expr is None or not frame.select(expr.any()).item():
                problems.append(f"timeline.annotate[{i}].id: {a.id!r} is no event's id; {hint}")
                continue
            note = pl.when(expr).then(pl.lit(a.note)).otherwise(note)
    return frame.with_columns(star.alias("star"), hidden.alias("_hidden"), note.alias("note")), problems


# --- the window -----------------------------------------------------------------------------------------


def _top_suspect(changes: pl.DataFrame | None, suspects: pl.DataFrame | None) -> dict[str, Any] | None:
    """The top-ranked change suspect that went to production, with ``started`` (its first event) and
    ``origins`` (its first and effective events), from ``changes`` (:func:`pmkit.analysis.changes.fold_changes`)."""
    if suspects is None or suspects.height == 0:
        return None
    prod = suspects.filter(~pl.col("environment").str.contains(NON_PRODUCTION).fill_null(False)).sort("rank")
    if prod.height == 0:
        return None
    top = prod.row(0, named=True)
    top["started"], top["origins"] = top["ts"], [top["origin"]] if top.get("origin") else []
    if changes is not None and changes.height:
        hit = changes.filter(pl.col("change_id") == top["change_id"])
        if hit.height:
            row = hit.row(0, named=True)
            top["started"] = row.get("started") or top["ts"]
            top["origins"] = [o for o in (row.get("first_origin"), row.get("origin")) if o]
    return top


def _window(
    events: pl.DataFrame,
    impact_start: dt.datetime | None,
    end_at: tuple[str, dt.datetime | None],
    top: dict[str, Any] | None,
    margin: dt.timedelta,
) -> tuple[dt.datetime | None, dt.datetime | None, str, str]:
    if impact_start is None:
        return None, None, "no impact start", "no impact start"
    start = impact_start - margin
    basis = f"impact start {fmt_utc(impact_start, 'hms')} minus the {_mins(margin)} margin"
    if top is not None and impact_start - SUSPECT_REACH <= top["started"] < start:
        start = top["started"]
        what = " ".join(str(x) for x in (top.get("service"), top.get("version") or top.get("sha")) if x)
        basis = f"the top change suspect{', ' + what if what else ''}, first seen {fmt_utc(start, 'hms')}"
    name, t = end_at
    if t is None:
        last = events.select(pl.col("ts").max()).item() if events.height else None
        return start, last, basis, "the last event (no mitigation or resolution found)"
    return start, t + TAIL, basis, f"{name} {fmt_utc(t, 'hms')} plus {_mins(TAIL)}"


def _mins(td: dt.timedelta) -> str:
    m = td.total_seconds() / 60
    return f"{m:g} min" if m < 120 else f"{m / 60:g} h"


# --- the rules ------------------------------------------------------------------------------------------


def _reason_kept() -> pl.Expr:
    """Why a key event is worth listing, by what it is."""
    kind, msg = pl.col("kind"), pl.col("message")
    env = pl.col("_env").fill_null("no environment named")
    return (
        pl.when(kind == "page")
        .then(pl.lit("a page"))
        .when(kind == "alert")
        .then(pl.concat_str([pl.lit("an alert on "), pl.col("service").fill_null("an unnamed service")]))
        .when(kind == "deploy")
        .then(pl.concat_str([pl.lit("a deploy ("), env, pl.lit(")")]))
        .when((kind == "chat") & msg.str.contains(STATUS_UPDATE))
        .then(pl.lit("a status update"))
        .when((kind == "chat") & decision_flags())
        .then(pl.lit("a decision"))
        .when((kind == "chat") & msg.str.contains(COMMAND))
        .then(pl.lit("a command run"))
        .when((kind == "chat") & msg.str.contains(ROLE_CHANGE))
        .then(pl.lit("a role change"))
        .when(kind == "log")
        .then(
            pl.format(
                "the first error of its log template ({} line(s) of it within {} either side)",
                pl.col("_near"),
                pl.lit(_mins(ISOLATION)),
            )
        )
        .otherwise(pl.concat_str([pl.lit("a key event ("), kind, pl.lit(")")]))
    )


def _log_facts(frame: pl.DataFrame) -> pl.DataFrame:
    """``_first`` (the first error of its source + template) and ``_near`` (errors of its template within
    ISOLATION either side) on error log rows; null elsewhere."""
    is_err = (pl.col("kind") == "log") & pl.col("level").is_in(["error", "critical"]).fill_null(False)
    errs = (
        frame.filter(is_err)
        .select("_row", "ts", pl.concat_str([pl.col("source"), pl.lit("|"), template_expr()]).alias("_tmpl"))
        .sort("_tmpl", "ts")
    )
    if errs.height == 0:
        return frame.with_columns(
            pl.lit(None, dtype=pl.Boolean).alias("_first"), pl.lit(None, pl.UInt32).alias("_near")
        )
    errs = errs.with_columns((pl.col("ts") == pl.col("ts").min().over("_tmpl")).alias("_first"))
    counts = (
        errs.rolling(index_column="ts", period=2 * ISOLATION, offset=-ISOLATION, closed="both", group_by="_tmpl")
        .agg(pl.len().cast(pl.UInt32).alias("_near"))
        .unique(["_tmpl", "ts"])  # equal times in a template share a window
    )
    near = errs.join(counts, on=["_tmpl", "ts"], how="left")
    return frame.join(near.select("_row", "_first", "_near"), on="_row", how="left")


def _collapse_alerts(frame: pl.DataFrame, gap: dt.timedelta) -> pl.DataFrame:
    """Repeated alerts (same name and state, each within ``gap`` of the one before) among the rows still kept
    fold into the first: ``repeats`` counts them, the first's ``line`` says ``x4`` and names what differs."""
    attrs = pl.col("attrs")
    name = pl.coalesce(attrs.str.json_path_match("$.alertname"), template_expr())
    state = pl.coalesce(attrs.str.json_path_match("$.event_type"), attrs.str.json_path_match("$.status"), pl.lit(""))
    alerts = (
        frame.filter((pl.col("kind") == "alert") & pl.col("_keep") & ~pl.col("star"))
        .select("_row", "ts", "line", "attrs", name.alias("_name"), state.alias("_state"))
        .sort("_name", "_state", "ts")
    )
    if alerts.height == 0:
        return frame
    step = pl.col("ts").diff().over("_name", "_state")
    alerts = alerts.with_columns(
        (step.is_null() | (step > gap)).cast(pl.UInt32).cum_sum().over("_name", "_state").alias("_g")
    )
    groups = alerts.group_by("_name", "_state", "_g").agg(
        pl.col("_row"), pl.col("ts"), pl.col("line").first(), pl.col("attrs")
    )
    lines: dict[int, str] = {}
    dropped: dict[int, str] = {}
    repeats: dict[int, int] = {}
    for g in groups.filter(pl.col("_row").list.len() > 1).iter_rows(named=True):
        rows, first = g["_row"], g["_row"][0]
        repeats[first] = len(rows)
        lines[first] = _collapsed_line(g["line"], g["_name"], [json.loads(a or "{}") for a in g["attrs"]])
        for r in rows[1:]:
            dropped[r] = (
                f"a repeat of {g['_name']} ({g['_state'] or 'alert'}) {fmt_utc(g['ts'][0], 'hms')}, collapsed into it"
            )
    if not repeats:
        return frame
    upd = pl.DataFrame(
        {
            "_row": list(repeats),
            "_rep": list(repeats.values()),
            "_line": [lines[r] for r in repeats],
        },
        schema={"_row": pl.UInt32, "_rep": pl.UInt32, "_line": pl.String},
    )
    drop = pl.DataFrame(
        {"_row": list(dropped), "_drop": list(dropped.values())}, schema={"_row": pl.UInt32, "_drop": pl.String}
    )
    out = frame.join(upd, on="_row", how="left").join(drop, on="_row", how="left")
    return out.with_columns(
        pl.coalesce("_rep", "repeats").alias("repeats"),
        pl.coalesce("_line", "line").alias("line"),
        pl.when(pl.col("_drop").is_not_null()).then(False).otherwise(pl.col("_keep")).alias("_keep"),
        pl.coalesce("_drop", "_why").alias("_why"),
    ).drop("_rep", "_line", "_drop")


def _compact(values: list[str]) -> str:
    """``payments-api-7c9d5b8f4-sf5px, …-r9m5l, …-qcp5m``: a prefix the values share (cut after a ``-``, ``.``, ``/``
    or ``_``) is written once."""
    if len(values) < 2:
        return ", ".join(values)
    prefix = values[0]
    for v in values[1:]:
        while not v.startswith(prefix):
            prefix = prefix[:-1]
    cut = max(prefix.rfind(c) for c in "-./_")
    if cut < 3:
        return ", ".join(values)
    shared = prefix[: cut + 1]
    return ", ".join([values[0], *("…" + v[len(shared) - 1 :] for v in values[1:])])


def _collapsed_line(line: str, name: str, attrs: list[dict[str, Any]]) -> str:
    labels: list[dict[str, Any]] = [a["labels"] if isinstance(a.get("labels"), dict) else {} for a in attrs]
    keys = sorted({k for lab in labels for k in lab})
    varying = [k for k in keys if len({str(lab.get(k)) for lab in labels}) > 1]
    text = line
    for k in varying:
        first = str(labels[0].get(k))
        text = text.replace(f" {k}={first}", "").replace(f"{k}={first}", "")
    text = text.replace(name, f"{name} x{len(attrs)}", 1) if name in text else f"{text} x{len(attrs)}"
    parts = [f"{k}s {_compact([str(lab.get(k)) for lab in labels if lab.get(k) is not None])}" for k in varying]
    return text.rstrip() + (f" ({'; '.join(parts)})" if parts else "")


_WORD = re.compile(r"[a-z0-9]+(?:[.:][a-z0-9]+)*")
_STOP = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "by",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "its",
        "this",
        "that",
        "with",
        "from",
        "as",
        "we",
        "our",
        "us",
        "has",
        "have",
        "had",
        "will",
        "not",
        "no",
    ]
)


def _words(text: str) -> set[str]:
    """Normalised words for the duplicate rule: lower case, markup gone, stop words out, each cut to 5 letters
    (``deploy``/``deployment``, ``recovery``/``recovering`` agree)."""
    return {w[:5] if w.isalpha() else w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1}


def _merge_duplicates(frame: pl.DataFrame, within: dt.timedelta, similarity: float) -> pl.DataFrame:
    """Chat messages and page notes, among the rows still kept, that repeat a kept message of another source
    posted at most ``within`` before (see the module docstring) are dropped; the first names them in ``also``.
    Log lines likewise repeat an earlier kept log line (of any source): the same error in other words."""
    texts = (
        frame.filter(pl.col("_keep") & ~pl.col("star") & pl.col("kind").is_in(["chat", "page", "log"]))
        .select("_row", "ts", "source", "kind", pl.coalesce(_page_body(), pl.col("message")).alias("_text"))
        .sort("ts")
    )
    rows = list(texts.iter_rows(named=True))
    words = [_words(clean_one(r["_text"])) for r in rows]
    also: dict[int, list[str]] = {}
    dropped: dict[int, str] = {}
    for j, later in enumerate(rows):
        for i in range(j):
            first = rows[i]
            logs = (first["kind"] == "log", later["kind"] == "log")
            if first["_row"] in dropped or logs[0] != logs[1]:
                continue
            if not logs[0] and first["source"] == later["source"]:
                continue
            if later["ts"] - first["ts"] > within:
                continue
            a, b = words[i], words[j]
            small = min(len(a), len(b))
            if small < 4:
                continue
            share = len(a & b) / small
            if share >= similarity and logs[0]:
                dropped[later["_row"]] = (
                    f"the same error as the {first['source']} log line at {fmt_utc(first['ts'], 'hms')} "
                    f"({share:.0%} of its words)"
                )
                break
            if share >= similarity:
                dropped[later["_row"]] = (
                    f"a duplicate of the {first['source']} {first['kind']} at {fmt_utc(first['ts'], 'hms')} "
                    f"({share:.0%} of its words)"
                )
                also.setdefault(first["_row"], []).append(f"{later['source']} {fmt_utc(later['ts'], 'hms')}")
                break
    if not dropped:
        return frame
    upd = pl.DataFrame(
        {"_row": list(also), "_also": ["also in " + ", ".join(v) for v in also.values()]},
        schema={"_row": pl.UInt32, "_also": pl.String},
    )
    drop = pl.DataFrame(
        {"_row": list(dropped), "_drop": list(dropped.values())}, schema={"_row": pl.UInt32, "_drop": pl.String}
    )
    out = frame.join(upd, on="_row", how="left").join(drop, on="_row", how="left")
    return out.with_columns(
        pl.coalesce("_also", "also").alias("also"),
        pl.when(pl.col("_drop").is_not_null()).then(False).otherwise(pl.col("_keep")).alias("_keep"),
        pl.coalesce("_drop", "_why").alias("_why"),
    ).drop("_also", "_drop")


def clean_one(text: str, width: int = 100_000) -> str:
    """:func:`clean_line` on one string."""
    return str(pl.select(clean_line(pl.lit(text, dtype=pl.String), width)).item())


# --- curate ---------------------------------------------------------------------------------------------


def _with_lines(frame: pl.DataFrame, width: int) -> pl.DataFrame:
    """The ``line`` column: :func:`clean_line` for the events the curation may list (key, starred or annotated
    ones, a few hundred), the message with its white space collapsed for the rest (tens of thousands of log lines,
    which no rule lists): the markup passes are the costly part."""
    listable = pl.col("key") | pl.col("star") | pl.col("note").is_not_null()
    lines = frame.filter(listable).select("_row", clean_line(_display(), width).alias("line"))
    plain = pl.col("message").fill_null("").str.replace_all(r"\s+", " ").str.strip_chars()
    return frame.join(lines, on="_row", how="left").with_columns(pl.coalesce("line", plain).alias("line")).sort("_row")


def _relative(origin: pl.Expr, roots: Sequence[str]) -> pl.Expr:
    out = origin
    for root in roots:
        prefix = root.rstrip("/") + "/"
        out = pl.when(out.str.starts_with(prefix)).then(out.str.strip_prefix(prefix)).otherwise(out)
    return out


def curate(
    timeline: pl.DataFrame,
    *,
    impact_start: dt.datetime | None,
    mitigated: dt.datetime | None = None,
    resolved: dt.datetime | None = None,
    suspects: pl.DataFrame | None = None,
    services: Sequence[str] = (),
    curation: TimelineCuration | None = None,
    root: str | Path | None = None,
    width: int = WIDTH,
    max_rows: int = MAX_ROWS,
) -> CuratedTimeline:
    """Decide, for every event of ``timeline`` (a :class:`pmkit.timeline.Timeline` frame, with ``count`` and
    ``key``), whether the curated timeline lists it and why (see the module docstring for the rules)."""
    margin = curation.margin_td if curation is not None else MARGIN
    roots = [str(root), str(Path(root).resolve())] if root is not None else []
    frame = timeline.with_row_index("_row").with_columns(
        _relative(pl.col("origin"), roots).alias("id"),
        pl.lit(None, dtype=pl.String).alias("also"),
        pl.lit(1, dtype=pl.UInt32).alias("repeats"),
        pl.col("attrs").str.json_path_match("$.environment").alias("_env"),
        pl.col("attrs").str.json_path_match("$.state").str.to_lowercase().alias("_state"),
    )
    frame, problems = _author_marks(frame, curation)
    frame = _with_lines(frame, width)
    frame = _log_facts(frame)
    deploys = timeline.filter(pl.col("kind") == "deploy")
    top = _top_suspect(fold_changes(deploys) if deploys.height else None, suspects)
    end_at = ("resolved", resolved) if resolved is not None else ("mitigated", mitigated)
    start, end, start_basis, end_basis = _window(frame, impact_start, end_at, top, margin)

    envs = sorted({e for e in frame.get_column("_env").drop_nulls().unique().to_list()})
    environments = {e: re.search(NON_PRODUCTION.removeprefix("(?i)"), e, re.IGNORECASE) is None for e in envs}
    services = [s for s in services if s]
    kind, ts = pl.col("kind"), pl.col("ts")
    unrelated = (
        ~pl.col("service").is_in(services).fill_null(False) & pl.col("service").is_not_null()
        if services
        else pl.lit(False)
    )
    before_impact = ts < impact_start if impact_start is not None else pl.lit(False)
    isolated = pl.col("_near").fill_null(0) < ISOLATED_BELOW
    suspect_rows = (kind == "deploy") & pl.col("origin").is_in(top["origins"]) if top is not None else pl.lit(False)
    after_end = ts > end_at[1] if end_at[1] is not None and start is not None else pl.lit(False)
    in_window = pl.lit(True) if start is None else (ts >= start) & (ts <= end)
    rule = (
        pl.when(pl.col("_hidden"))
        .then(pl.lit("hidden by the author (timeline.hide)"))
        .when(pl.col("star"))
        .then(pl.lit("starred by the author (timeline.star)"))
        .when(~pl.col("key"))
        .then(pl.lit("not a key event"))
        .when((kind == "deploy") & pl.col("_env").str.contains(NON_PRODUCTION).fill_null(False))
        .then(pl.concat_str([pl.lit("a deploy to "), pl.col("_env"), pl.lit(", not production")]))
        .when((kind == "deploy") & pl.col("_state").is_not_null() & ~pl.col("_state").is_in(KEEP_STATES))
        .then(pl.concat_str([pl.lit("an intermediate deployment status ("), pl.col("_state"), pl.lit(")")]))
        .when(~in_window & ~(suspect_rows & pl.col("_state").is_in(KEEP_STATES).fill_null(True)))
        .then(pl.lit(f"outside the window {_short_window(start, end)}" if start is not None else ""))
        .when(after_end & ~kind.is_in(["chat", "page"]))
        .then(pl.lit(f"after the {end_at[0]} milestone: only the closing messages (chat, pages) are listed"))
        .when((kind == "log") & before_impact & unrelated)
        .then(pl.lit("background before impact start: an error of a service that is not the incident's"))
        .when((kind == "log") & before_impact & isolated)
        .then(
            pl.format(
                "background before impact start: an isolated error ({} line(s) of its template within {} either side)",
                pl.col("_near").fill_null(1),
                pl.lit(_mins(ISOLATION)),
            )
        )
        .when((kind == "alert") & before_impact & unrelated)
        .then(
            pl.concat_str(
                [
                    pl.lit("background before impact start: an alert on "),
                    pl.col("service"),
                    pl.lit(", not the incident's"),
                ]
            )
        )
        .when((kind == "log") & ~pl.col("_first").fill_null(False))
        .then(pl.lit("a later error of a log template already listed"))
        .otherwise(None)
    )
    frame = frame.with_columns(rule.alias("_why"))
    frame = frame.with_columns(
        (pl.col("_why").is_null() | (pl.col("star") & ~pl.col("_hidden"))).alias("_keep"),
        pl.coalesce("_why", _reason_kept()).alias("_why"),
    )
    frame = _collapse_alerts(frame, REPEAT_GAP)
    frame = _merge_duplicates(frame, DUPLICATE_WITHIN, SIMILARITY)
    frame = _cap(frame, max_rows)
    frame = frame.with_columns(
        pl.col("_keep").alias("kept"),
        pl.when(pl.col("_keep") & pl.col("also").is_not_null())
        .then(pl.concat_str([pl.col("_why"), pl.lit("; "), pl.col("also")]))
        .otherwise(pl.col("_why"))
        .alias("why"),
    )
    keep_cols = [c for c in timeline.columns] + list(CURATED_COLUMNS)
    return CuratedTimeline(
        frame=frame.sort("_row").select(keep_cols),
        start=start,
        end=end,
        start_basis=start_basis,
        end_basis=end_basis,
        environments=environments,
        problems=tuple(problems),
    )


def _cap(frame: pl.DataFrame, max_rows: int) -> pl.DataFrame:
    """At most ``max_rows`` kept: beyond it, the latest rows of the kind that gives way first (:data:`_GIVE_WAY`)
    are left out, saying so; decisions, status updates and starred rows always stay."""
    n = frame.select(pl.col("_keep").sum()).item()
    if n <= max_rows:
        return frame
    rank = pl.col("kind").replace_strict({k: i for i, k in enumerate(_GIVE_WAY)}, default=len(_GIVE_WAY))
    protected = pl.col("star") | pl.col("_why").is_in(["a decision", "a status update"])
    movable = (
        frame.filter(pl.col("_keep") & ~protected)
        .with_columns(rank.alias("_rank"))
        .sort(["_rank", "ts"], descending=[False, True])
        .head(n - max_rows)
        .select("_row", pl.lit(True).alias("_cut"))
    )
    why = f"beyond the {max_rows} rows the document lists (`pmkit timeline --ids` shows it)"
    return (
        frame.join(movable, on="_row", how="left")
        .with_columns(
            pl.when(pl.col("_cut").fill_null(False)).then(False).otherwise(pl.col("_keep")).alias("_keep"),
            pl.when(pl.col("_cut").fill_null(False))
            .then(pl.concat_str([pl.col("_why"), pl.lit(f"; {why}")]))
            .otherwise(pl.col("_why"))
            .alias("_why"),
        )
        .drop("_cut")
    )


def _short_window(start: dt.datetime, end: dt.datetime | None) -> str:
    return f"{fmt_utc(start, 'hms')}–{fmt_utc(end, 'hms') if end else '…'}"


def curation_gate(curation: TimelineCuration | None, curated: CuratedTimeline) -> Gate | None:
    """The ``timeline_ids`` quality gate: every id under ``timeline:`` (star, hide, annotate) names an event.
    None when the author curated nothing (there is nothing to check)."""
    if curation is None:
        return None
    n = len(curation.star) + len(curation.hide) + len(curation.annotate)
    if n == 0:
        return None
    title = "Timeline curation names real events"
    if curated.problems:
        return Gate("timeline_ids", title, False, "; ".join(curated.problems))
    return Gate("timeline_ids", title, True, f"the {n} id(s) under timeline: each name an event")
