"""Change suspects: the deploys and config changes that came before impact, ranked; and the rollback.

Definitions (also in docs/analyses.md):

- **Change**: deploy events (``kind`` = deploy) folded into one row per change. Events fold when
  they share ``service`` and ``attrs.id`` (a deployment's created event and its statuses), or, with
  no id, ``service``, ``attrs.environment`` and ``attrs.sha`` (else ``attrs.version``); an event with
  none of these is a change of its own. ``first_state``/``state`` are the first and last
  ``attrs.state`` seen.
- **Start** (``started``): the change's first event, or the ``attrs.started_at`` a loader read
  (Argo CD's ``deployStartedAt``) when that is earlier.
- **Effective time** (``ts``): when the change took effect, the first ``success`` status if there is
  one, else the ``created`` event, else the change's first event.
- **Rollback**: a change with ``attrs.rollback`` true, or whose message or description says
  rollback / roll back / rolled back / revert / undo. Rollbacks are never suspects.
- **Suspects**: changes that are not rollbacks, started at or before impact start, and took effect
  no earlier than ``lookback`` (24 h) before it. A change that started before impact start but
  completed after it (a rollout in flight) counts, with a lead time of zero for its score.
- **Score** = proximity x service x keywords x failed x environment, where
  proximity = 0.5 ** (lead minutes / 30) (1 at impact start, 1/2 at 30 min, 1/4 at 1 h: a 30-minute
  half-life); service = 3 when the change's service is one of ``services`` (case-insensitive: the
  incident's services, or the service whose errors rose), else 1; keywords = 1.25 when the text
  (message, description, payload, change type) mentions config, settings, env vars, feature
  flags, migrations, schema or DDL; failed = 1.25
  when a status reported failure or error; environment = 0.2 when ``attrs.environment`` names a
  non-production one (staging, dev, test, qa, uat, preview, sandbox, review). So a deploy of the
  failing service 30 minutes before impact (1.5) outranks another service's deploy 1 minute before
  (0.98), and both outrank a deploy of the failing service 3 hours before (0.05). Each factor that
  applies is written in ``reasons`` as a plain sentence.
- **The rollback** (:func:`find_rollback`): the rollback change that started at or after impact
  start and no later than ``mitigated + slack``, preferring one of the top suspect's service, then
  the earliest. It rolled back the suspect named by ``attrs.rollback_of`` (or
  ``attrs.payload.rollback_of``) when that matches a suspect's id, sha or version, else the best
  ranked suspect of its service.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import polars as pl

from pmkit.schema import UTC_TS
from pmkit.timeutil import as_utc, fmt_duration

HALF_LIFE_MIN = 30.0
SERVICE_WEIGHT = 3.0
KEYWORD_WEIGHT = 1.25
FAILED_WEIGHT = 1.25
NON_PROD_WEIGHT = 0.2
DEFAULT_LOOKBACK = dt.timedelta(hours=24)
DEFAULT_SLACK = dt.timedelta(minutes=15)

ROLLBACK = r"(?i)\broll(?:ed|ing)?[ -]?backs?\b|\brevert(?:s|ed|ing)?\b|\bundo(?:ne|ing)?\b"
KEYWORDS = (
    r"(?i)\b(config\w*|cfg|settings?|env(?:ironment)?[ _-]?var(?:iable)?s?|feature[ _-]?flags?|flags?|toggles?"
    r"|migrat\w*|schema|alter table|ddl)\b"
)
NON_PROD = r"(?i)\b(stag\w*|dev\w*|test\w*|qa|uat|preview|sandbox|review\w*)\b"
FAILED_STATES = ("failure", "error")

SUSPECTS_SCHEMA: dict[str, pl.DataType] = {
    "rank": pl.Int64(),
    "score": pl.Float64(),
    "ts": UTC_TS,
    "lead_time": pl.Duration("us"),
    "service": pl.String(),
    "version": pl.String(),
    "ref": pl.String(),
    "sha": pl.String(),
    "change_type": pl.String(),
    "environment": pl.String(),
    "actor": pl.String(),
    "description": pl.String(),
    "first_state": pl.String(),
    "state": pl.String(),
    "reasons": pl.List(pl.String()),
    "origin": pl.String(),
    "change_id": pl.String(),
}


def _attr(path: str) -> pl.Expr:
    return pl.col("attrs").str.json_path_match(f"$.{path}")


def _first(col: str) -> pl.Expr:
    return pl.col(col).drop_nulls().first()


def fold_changes(events: pl.DataFrame) -> pl.DataFrame:
    """Deploy events folded into one row per change (see module docstring), rollbacks flagged.

    Columns: change_id, started, ts (effective), completed (first success), service, version, ref,
    sha, change_type, environment, actor, description, first_state, state, failed_state, rollback,
    rollback_hit, rollback_of, keyword, origin, first_origin. Sorted by ``started``.
    """
    deploys = events.filter(pl.col("kind") == "deploy").sort("ts", maintain_order=True)
    state = pl.col("_state")
    # rollback words are looked for in what people wrote; keywords also in the payload and change type
    said = pl.concat_str([pl.col("message"), pl.col("_desc")], separator=" ", ignore_nulls=True)
    text = pl.concat_str([said, _attr("payload"), pl.col("_change_type")], separator=" ", ignore_nulls=True)
    flag = _attr("rollback").str.to_lowercase().is_in(["true", "1", "yes"]).fill_null(False)
    fields = deploys.with_row_index("_row").with_columns(
        _attr("id").alias("_id"),
        _attr("sha").alias("_sha"),
        _attr("ref").alias("_ref"),
        _attr("version").alias("_version"),
        _attr("started_at").str.to_datetime(strict=False, time_zone="UTC", time_unit="us").alias("_started_at"),
        _attr("environment").alias("_env"),
        _attr("state").str.to_lowercase().alias("_state"),
        _attr("description").alias("_desc"),
        _attr("change_type").alias("_change_type"),
        pl.coalesce(_attr("rollback_of"), _attr("payload.rollback_of")).alias("_rollback_of"),
        pl.coalesce(pl.col("service"), _attr("service")).alias("_service"),
        flag.alias("_flag"),
    )
    # "Rolled back" on a failed/inactive status says the change was undone, not that it is a rollback
    undone = (
        pl.col("_state").is_in(["failure", "error", "inactive"]).fill_null(False) | _attr("rolled_back").is_not_null()
    )
    fields = fields.with_columns(
        pl.when(undone).then(None).otherwise(said.str.extract(ROLLBACK, 0)).alias("_rb_word"),
        text.str.extract(KEYWORDS, 1).str.to_lowercase().alias("_keyword"),
    )
    svc = pl.col("_service").fill_null("")
    key = (
        pl.when(pl.col("_id").is_not_null())
        .then(pl.concat_str([pl.lit("id:"), svc, pl.lit("|"), pl.col("_id")]))
        .when(pl.coalesce("_sha", "_version").is_not_null())
        .then(
            pl.concat_str(
                [
                    pl.lit("rev:"),
                    svc,
                    pl.lit("|"),
                    pl.col("_env").fill_null(""),
                    pl.lit("|"),
                    pl.coalesce("_sha", "_version"),
                ]
            )
        )
        .otherwise(pl.concat_str([pl.lit("row:"), pl.col("_row").cast(pl.String)]))
    )
    ts, origin = pl.col("ts"), pl.col("origin")
    success, created = state == "success", state == "created"
    folded = (
        fields.with_columns(key.alias("change_id"))
        .group_by("change_id", maintain_order=True)
        .agg(
            pl.min_horizontal(ts.min().cast(pl.Datetime("us", "UTC")), pl.col("_started_at").min()).alias("started"),
            pl.coalesce(ts.filter(success).first(), ts.filter(created).first(), ts.first()).alias("ts"),
            ts.filter(success).first().alias("completed"),
            _first("_service").alias("service"),
            _first("_version").alias("version"),
            _first("_ref").alias("ref"),
            _first("_sha").alias("sha"),
            _first("_change_type").alias("change_type"),
            _first("_env").alias("environment"),
            _first("actor").alias("actor"),
            pl.coalesce(_first("_desc"), pl.col("message").first()).alias("description"),
            _first("_state").alias("first_state"),
            pl.col("_state").drop_nulls().last().alias("state"),
            state.filter(state.is_in(FAILED_STATES)).first().alias("failed_state"),
            (pl.col("_flag").any() | pl.col("_rb_word").is_not_null().any()).alias("rollback"),
            pl.when(pl.col("_flag").any())
            .then(pl.lit("attrs.rollback is true"))
            .otherwise(pl.format("it says '{}'", _first("_rb_word")))
            .first()
            .alias("rollback_hit"),
            _first("_rollback_of").alias("rollback_of"),
            _first("_keyword").alias("keyword"),
            pl.coalesce(origin.filter(success).first(), origin.filter(created).first(), origin.first()).alias("origin"),
            origin.first().alias("first_origin"),
        )
        .sort("started", maintain_order=True)
    )
    return folded


def _human(seconds: pl.Expr) -> pl.Expr:
    """A duration in words (``fmt_duration``'s ``human`` style: ``42 s``, ``1 min 30 s``, ``20 h 5 min``).

    Called per value: it runs on the candidate changes of the lookback window (tens of rows), never on log lines.
    """
    return seconds.map_elements(lambda s: fmt_duration(s, "human"), return_dtype=pl.String)


def change_suspects(
    events: pl.DataFrame,
    *,
    impact_start: dt.datetime,
    services: list[str],
    lookback: dt.timedelta = DEFAULT_LOOKBACK,
) -> pl.DataFrame:
    """Changes before ``impact_start`` ranked by the score of the module docstring, best first.

    ``services``: the incident's services and the services whose errors rose (a change to one of
    them gets the service boost). Columns: rank, score, ts (effective time), lead_time (impact start
    minus ts; negative for a rollout still in flight at impact start), service, version, ref, sha,
    change_type, environment, actor, description, first_state, state, reasons (sentences), origin
    (the event that made the change effective), change_id.
    """
    start = as_utc(impact_start)
    wanted = [s.lower() for s in services]
    folded = fold_changes(events)
    cands = folded.filter(~pl.col("rollback") & (pl.col("started") <= start) & (pl.col("ts") >= start - lookback))
    if cands.height == 0:
        return pl.DataFrame(schema=SUSPECTS_SCHEMA)

    lead = pl.lit(start, dtype=UTC_TS) - pl.col("ts")
    lead_s = pl.col("lead_time").dt.total_seconds()
    in_flight = pl.col("ts") > start
    match = pl.col("service").str.to_lowercase().is_in(wanted).fill_null(False)
    non_prod = pl.col("environment").str.contains(NON_PROD).fill_null(False)
    failed = pl.col("failed_state").is_not_null()
    keyword = pl.col("keyword").is_not_null()
    proximity = pl.lit(0.5).pow(lead_s.clip(lower_bound=0) / 60 / HALF_LIFE_MIN)
    score = (
        proximity
        * pl.when(match).then(SERVICE_WEIGHT).otherwise(1.0)
        * pl.when(keyword).then(KEYWORD_WEIGHT).otherwise(1.0)
        * pl.when(failed).then(FAILED_WEIGHT).otherwise(1.0)
        * pl.when(non_prod).then(NON_PROD_WEIGHT).otherwise(1.0)
    )

    verb = pl.col("change_type").replace_strict(
        {"commit": "committed", "config": "changed", "migration": "migrated"}, default="deployed"
    )
    since_start = (pl.lit(start, dtype=UTC_TS) - pl.col("started")).dt.total_seconds()
    timing = (
        pl.when(in_flight)
        .then(
            pl.format(
                "rollout started {} before impact start and completed {} after it", _human(since_start), _human(lead_s)
            )
        )
        .when(lead_s == 0)
        .then(pl.format("{} at impact start", verb))
        .otherwise(pl.format("{} {} before impact start", verb, _human(lead_s)))
    )
    failing = "the failing service" if len(services) == 1 else "one of the failing services"
    service_reason = (
        pl.when(match)
        .then(pl.format("changes {}, {}", pl.col("service"), pl.lit(failing)))
        .when(pl.col("service").is_not_null() & pl.lit(bool(services)))
        .then(pl.format("changes {}, not a failing service", pl.col("service")))
    )
    reasons = pl.concat_list(
        timing,
        service_reason,
        pl.when(keyword).then(pl.format("mentions '{}'", pl.col("keyword"))),
        pl.when(failed).then(pl.format("its deployment reported '{}'", pl.col("failed_state"))),
        pl.when(non_prod).then(pl.format("went to {}, not production", pl.col("environment"))),
    ).list.drop_nulls()

    ranked = (
        cands.with_columns(lead.alias("lead_time"))
        .with_columns(score.alias("score"), reasons.alias("reasons"))
        .sort(["score", "ts", "change_id"], descending=[True, True, False])
        .with_row_index("rank", offset=1)
    )
    return ranked.select([pl.col(c).cast(t) for c, t in SUSPECTS_SCHEMA.items()])


def find_rollback(
    events: pl.DataFrame,
    *,
    impact_start: dt.datetime,
    mitigated: dt.datetime | None = None,
    suspects: pl.DataFrame | None = None,
    slack: dt.timedelta = DEFAULT_SLACK,
) -> dict[str, Any] | None:
    """The rollback that mitigated the incident (see module docstring), or None.

    Keys: start, completed (first success status, or None), version (what it rolled back to),
    service, state, actor, description, origin (its first event), change_id, found_by (why it counts
    as a rollback), rolls_back (the suspect it undid: rank, version, service, ts, change_id; or None).
    Without ``suspects`` they are computed with no failing services.
    """
    start = as_utc(impact_start)
    if suspects is None:
        suspects = change_suspects(events, impact_start=start, services=[])
    window = pl.col("started") >= start
    if mitigated is not None:
        window &= pl.col("started") <= as_utc(mitigated) + slack
    rollbacks = fold_changes(events).filter(pl.col("rollback") & window)
    if rollbacks.height == 0:
        return None
    top_service = suspects.get_column("service")[0] if suspects.height else None
    same = pl.col("service").str.to_lowercase() == (top_service or "").lower()
    rb = (
        rollbacks.with_columns(same.fill_null(False).alias("_same"))
        .sort(["_same", "started"], descending=[True, False])
        .row(0, named=True)
    )
    target = rb["version"] or _version_in(rb["description"])
    return {
        "start": rb["started"],
        "completed": rb["completed"],
        "version": target,
        "service": rb["service"],
        "state": rb["state"],
        "actor": rb["actor"],
        "description": rb["description"],
        "origin": rb["first_origin"],
        "change_id": rb["change_id"],
        "found_by": rb["rollback_hit"],
        "rolls_back": _rolled_back(suspects, rb),
    }


def _version_in(text: str | None) -> str | None:
    """The version named in ``Rollback to v2.14.2``-like text."""
    if not text:
        return None
    found: str | None = pl.Series([text]).str.extract(r"(?i)\bto\s+(v?\d[\w.\-]*)", 1)[0]
    return found


def _rolled_back(suspects: pl.DataFrame, rb: dict[str, Any]) -> dict[str, Any] | None:
    """The suspect a rollback undid: named by rollback_of, else the best ranked of its service."""
    if suspects.height == 0:
        return None
    of = rb["rollback_of"]
    hit = pl.DataFrame()
    if of is not None:
        raw_id = pl.col("change_id").str.extract(r"^id:[^|]*\|(.*)$", 1)
        hit = suspects.filter((raw_id == of) | (pl.col("sha") == of) | (pl.col("version") == of))
    if hit.height == 0 and rb["service"] is not None:
        hit = suspects.filter(pl.col("service").str.to_lowercase() == rb["service"].lower())
    if hit.height == 0:
        return None
    row = hit.sort("rank").row(0, named=True)
    return {k: row[k] for k in ("rank", "version", "service", "ts", "change_id")}


@dataclass(frozen=True, eq=False)
class ChangeReport:
    """Change suspects and the rollback, together (shown in a notebook by :mod:`pmkit.report.notebook`)."""

    impact_start: dt.datetime
    services: tuple[str, ...]
    suspects: pl.DataFrame
    rollback: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values: times as ISO 8601 strings, durations in seconds."""
        return {
            "impact_start": self.impact_start.isoformat(),
            "services": list(self.services),
            "suspects": [_plain(row) for row in self.suspects.iter_rows(named=True)],
            "rollback": _plain(self.rollback) if self.rollback is not None else None,
        }


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return value


def change_report(
    events: pl.DataFrame,
    *,
    impact_start: dt.datetime,
    services: list[str],
    mitigated: dt.datetime | None = None,
    lookback: dt.timedelta = DEFAULT_LOOKBACK,
    slack: dt.timedelta = DEFAULT_SLACK,
) -> ChangeReport:
    """:func:`change_suspects` and :func:`find_rollback` bundled as a :class:`ChangeReport`."""
    start = as_utc(impact_start)
    suspects = change_suspects(events, impact_start=start, services=services, lookback=lookback)
    rollback = find_rollback(events, impact_start=start, mitigated=mitigated, suspects=suspects, slack=slack)
    return ChangeReport(start, tuple(services), suspects, rollback)
