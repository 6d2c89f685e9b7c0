"""Generic deploy records as CSV (format ``csv``) or JSON (format ``json``) into deploy events.

Counting unit: rows (csv) / records (json).

Columns or keys are found by name (any case): time ``ts, time, timestamp, deployed_at, created_at,
date, ...``; ``service``/app; ``version``/revision/tag; ``actor``/user/author/deployer;
``description``/message; ``environment``/env; ``status``/state; ``type``/kind/action; ``sha``;
``id``; ``url``. ``fields`` maps a canonical name to the column or key (dotted paths into nested
JSON objects), e.g. ``fields: {ts: finished, actor: who.login}``. JSON: a list of objects, an
object holding one under deployments/items/data/records/events, or JSON lines. Rows without a
readable time are rejected. Both formats share the column lookup (:func:`_resolve_columns`), so
they live in one module; the CSV rows are turned into events vectorised.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from pmkit.errors import SourceError
from pmkit.schema import UTC_TS
from pmkit.sources import changes, textio
from pmkit.sources.base import LoadRequest, LoadResult, origin_expr, rejects_frame, to_json
from pmkit.sources.records import Draft, Records, empty_events
from pmkit.sources.registry import register
from pmkit.sources.tabular import CsvBlock, parse_time_column, read_csv_blocks

__all__ = ["load_csv", "load_json"]

_CANON: dict[str, tuple[str, ...]] = {
    "ts": ("ts", "time", "timestamp", "deployed_at", "deployedat", "created_at", "createdat", "finished_at", "date",
           "datetime", "@timestamp", "started_at", "when"),
    "service": ("service", "app", "application", "component", "project"),
    "version": ("version", "revision", "release", "tag", "image_tag"),
    "actor": ("actor", "user", "author", "deployer", "deployed_by", "triggered_by", "username", "by"),
    "description": ("description", "message", "summary", "note", "notes", "title"),
    "environment": ("environment", "env", "stage", "cluster"),
    "status": ("status", "state", "result", "outcome", "conclusion"),
    "type": ("type", "kind", "action", "event", "event_type"),
    "sha": ("sha", "commit", "git_sha", "commit_sha"),
    "id": ("id", "deploy_id", "deployment_id"),
    "url": ("url", "link", "html_url", "target_url"),
}  # fmt: skip
_DEPLOY_WORDS = ("", "deploy", "deployment", "release")


def _resolve_columns(
    columns: Iterable[str], fields: dict[str, str], where: str, *, allow_paths: bool
) -> dict[str, str]:
    """Canonical name -> column/key: ``fields`` first, then the first column whose name (any case) matches."""
    cols = list(columns)
    unknown = sorted(set(fields) - set(_CANON))
    if unknown:
        raise SourceError(f"{where}: fields {unknown} are not known deploy fields; expected some of {sorted(_CANON)}")
    low = {c.lower(): c for c in reversed(cols)}
    out: dict[str, str] = {}
    for canon, names in _CANON.items():
        if canon in fields:
            target = fields[canon]
            if target not in cols and not allow_paths:
                raise SourceError(
                    f"{where}: fields.{canon} names {target!r}, which is not a column; the columns are {cols}"
                )
            out[canon] = target
            continue
        hit = next((low[n] for n in names if n in low and low[n] not in out.values()), None)
        if hit is not None:
            out[canon] = hit
    return out


def _dig(obj: Any, key: str) -> Any:
    if isinstance(obj, dict) and key in obj:
        return obj[key]
    cur = obj
    for part in key.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def _record_draft(rec: dict[str, Any], cols: dict[str, str], req: LoadRequest, origin: str) -> Draft:
    def get(canon: str) -> str | None:
        v = _dig(rec, cols[canon]) if canon in cols else None
        if isinstance(v, dict | list):
            return changes.login(v) if isinstance(v, dict) else to_json(v)
        return None if v is None or (isinstance(v, str) and not v.strip()) else str(v).strip()

    vals = {c: get(c) for c in _CANON}
    raw_ts = _dig(rec, cols["ts"]) if "ts" in cols else None
    kind = (vals["type"] or "").lower()
    rollback_flag = rec.get("rollback") in (True, "true", "yes", 1) or bool(rec.get("rollback_of"))
    text = " ".join(v for v in (vals["type"], vals["status"], vals["description"]) if v)
    rollback = rollback_flag or bool(changes.ROLLBACK.search(text))
    verb = "rollback" if rollback else ("deploy" if kind in _DEPLOY_WORDS else vals["type"] or "deploy")
    version = vals["version"] or (vals["sha"][:7] if vals["sha"] else None)
    service = req.service or vals["service"]
    used = set(cols.values())
    attrs = {k: v for k, v in rec.items() if k not in used and v is not None and v != ""}
    attrs.update(
        {
            k: vals[k]
            for k in ("version", "environment", "status", "sha", "id", "url", "description", "type")
            if vals[k] is not None
        }
    )
    attrs["change_type"] = vals["type"] or "deployment"
    attrs["rollback"] = rollback
    msg = changes.message(verb, service, version, vals["environment"], vals["status"], vals["description"])
    return Draft(raw_ts, origin, rec, msg, attrs, service, changes.level(vals["status"]), vals["actor"])


def _json_records(path: Path) -> list[tuple[str, Any]]:
    """(origin, record) pairs from a JSON list, an object holding one, one object, or JSON lines
    (``.jsonl``/``.ndjson``, or a file whose first line is a JSON object on its own)."""
    where = str(path)
    try:
        doc = textio.read_json(path)
    except SourceError:
        # JSON lines: a .jsonl/.ndjson file, or one whose first line is an object by itself
        lines = textio.read_lines(path).filter(pl.col("line").str.strip_chars() != "")
        if lines.height < 2:
            raise
        if not any(s in (".jsonl", ".ndjson") for s in path.suffixes):
            try:
                first = textio.loads(str(lines.item(0, "line")))
            except json.JSONDecodeError:
                first = None
            if not isinstance(first, dict):
                raise
        recs: list[tuple[str, Any]] = []
        for no, line in lines.iter_rows():
            try:
                recs.append((f"{where}:{no}", textio.loads(line)))
            except json.JSONDecodeError as exc:
                recs.append((f"{where}:{no}", _BadLine(line, exc.msg)))
        return recs
    if isinstance(doc, dict):
        for key in ("deployments", "deploys", "items", "data", "records", "events", "results"):
            if isinstance(doc.get(key), list):
                return [(f"{where}#{key}[{i}]", r) for i, r in enumerate(doc[key])]
        return [(f"{where}#document", doc)]
    if isinstance(doc, list):
        return [(f"{where}#[{i}]", r) for i, r in enumerate(doc)]
    raise SourceError(f"{path}: top level is a JSON {type(doc).__name__}; expected a list of deploy records (objects)")


@dataclass(frozen=True)
class _BadLine:
    """A JSON-lines line that is not JSON."""

    text: str
    why: str


def _sniff_json(head: str) -> bool:
    low = head.lower()
    return changes.json_head_has(head) and any(
        f'"{k}"' in low for k in ("deployed_at", "deploy_id", "deployer", "deployed_by")
    )


@register(
    "deploys",
    "json",
    description="generic deploy records as JSON (list, object with a list, or JSON lines); fields maps custom keys",
    example='[{"deployed_at": "2025-06-15T14:02:11Z", "service": "payments-api", "version": "v2.14.3", '
    '"actor": "alice", "environment": "production", "status": "success"}]',
    sniff=_sniff_json,
    options=(),
)
def load_json(req: LoadRequest) -> LoadResult:
    """Load generic JSON deploy records; unit = records."""
    out = Records("deploy")
    for path in req.files():
        for origin, rec in _json_records(path):
            if isinstance(rec, _BadLine):
                out.reject(origin, f"not JSON ({rec.why})", rec.text)
                continue
            if not isinstance(rec, dict):
                out.reject(origin, "record is not an object", rec)
                continue
            cols = _resolve_columns(rec.keys(), req.fields, str(path), allow_paths=True)
            if "ts" not in cols:
                out.reject(origin, f"no time field (looked for {', '.join(_CANON['ts'])}; map one with fields.ts)", rec)
                continue
            out.add(_record_draft(rec, cols, req, origin))
    return out.result("records", req.ts_format, req.timezone)


def _csv_events(block: CsvBlock, req: LoadRequest, out_notes: list[str]) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """One CSV block of deploy rows to (events, rejects, parsed rows), vectorised."""
    path, rows = block.path, block.rows
    cols = _resolve_columns(block.columns, req.fields, str(path), allow_paths=False)
    if "ts" not in cols:
        raise SourceError(
            f"{path}: no time column (looked for {', '.join(_CANON['ts'])}); map one with fields.ts; the columns are "
            f"{block.columns}"
        )
    s = {
        c: pl.col(cols[c]).str.strip_chars().replace("", None) if c in cols else pl.lit(None, dtype=pl.String)
        for c in _CANON
    }
    ts, guess = parse_time_column(rows.get_column(cols["ts"]).str.strip_chars(), req.ts_format, req.timezone)
    if guess is not None and guess.naive and req.timezone is None:
        out_notes.append(
            f"{path.name}: times have no UTC offset ({guess.fmt}); read as UTC (set timezone if they are local)"
        )
    text = pl.concat_str([s["type"], s["status"], s["description"]], separator=" ", ignore_nulls=True)
    rollback = text.str.contains(changes.ROLLBACK.pattern).fill_null(False)
    for extra in ("rollback", "rollback_of"):
        col = next((c for c in block.columns if c.lower() == extra), None)
        if col is not None:
            flag = pl.col(col).str.strip_chars().str.to_lowercase()
            rollback = rollback | (
                flag.is_in(["true", "yes", "1"]) if extra == "rollback" else flag.is_not_null() & (flag != "")
            )
    service = pl.lit(req.service, dtype=pl.String) if req.service else s["service"]
    version = pl.coalesce(s["version"], s["sha"].str.slice(0, 7))
    kind = s["type"].str.to_lowercase().fill_null("")
    verb = (
        pl.when(rollback)
        .then(pl.lit("rollback"))
        .when(kind.is_in(list(_DEPLOY_WORDS)))
        .then(pl.lit("deploy"))
        .otherwise(s["type"])
    )
    env = pl.concat_str([pl.lit("to "), s["environment"]])
    head = pl.concat_str([verb, service, version, env], separator=" ", ignore_nulls=True)
    message = pl.concat_str(
        [
            head,
            pl.when(s["status"].is_not_null()).then(pl.concat_str([pl.lit(": "), s["status"]])).otherwise(pl.lit("")),
            pl.when(s["description"].is_not_null())
            .then(pl.concat_str([pl.lit(" ("), s["description"], pl.lit(")")]))
            .otherwise(pl.lit("")),
        ]
    ).str.replace_all(r"\s+", " ")
    used = set(cols.values())
    attr_exprs = {c: pl.col(c) for c in block.columns if c not in used}
    attr_exprs.update(
        {k: s[k] for k in ("version", "environment", "status", "sha", "id", "url", "description", "type") if k in cols}
    )
    attr_exprs["change_type"] = s["type"].fill_null("deployment")
    attr_exprs["rollback"] = rollback
    level = (
        pl.when(s["status"].str.to_lowercase().is_in(list(changes.ERROR_STATES)))
        .then(pl.lit("error"))
        .otherwise(pl.lit("info"))
    )
    df = rows.with_columns(ts.alias("__ts"))
    origin = origin_expr(path, "__pmkit_line")
    bad = df.filter(pl.col("__ts").is_null())
    tcell = pl.col(cols["ts"])
    rej = bad.select(
        origin.alias("origin"),
        pl.when(tcell.is_null() | (tcell.str.strip_chars() == ""))
        .then(pl.lit(f"no time in column {cols['ts']!r}"))
        .otherwise(pl.format("cannot read time '{}' in column {}", tcell, pl.lit(repr(cols["ts"]))))
        .alias("reason"),
        pl.col("__pmkit_raw").alias("raw"),
    )
    good = df.filter(pl.col("__ts").is_not_null())
    events = good.select(
        pl.col("__ts").cast(UTC_TS).alias("ts"),
        pl.lit("deploy").alias("kind"),
        service.alias("service"),
        level.alias("level"),
        s["actor"].alias("actor"),
        message.alias("message"),
        pl.struct([attr_exprs[k].alias(k) for k in sorted(attr_exprs)]).struct.json_encode().alias("attrs"),
        origin.alias("origin"),
    )
    return events, rejects_frame(rej["origin"], rej["reason"], rej["raw"]), good.height


def _sniff_deploy_csv(head: str) -> bool:
    first = next((ln for ln in head.lstrip("\ufeff").splitlines() if ln.strip()), "").lower()
    if first.startswith(("{", "[")) or ("," not in first and ";" not in first and "\t" not in first):
        return False
    names = {n.strip().strip('"') for n in re.split(r"[,;\t]", first)}
    return bool(names & {"deployed_at", "deploy_id", "deployer", "deployed_by"}) or (
        bool(names & set(_CANON["ts"]))
        and bool(names & {"version", "environment", "env", "release"})
        and "service" in names
    )


@register(
    "deploys",
    "csv",
    description="generic deploy records as CSV (time, service, version, actor, environment, status, ...); fields maps custom columns",
    example="deployed_at,service,version,actor,environment,status\n2025-06-15T14:02:11Z,payments-api,v2.14.3,alice,production,success",
    sniff=_sniff_deploy_csv,
    options=("separator",),
)
def load_csv(req: LoadRequest) -> LoadResult:
    """Load generic CSV deploy records; unit = data rows (vectorised)."""
    frames: list[pl.DataFrame] = []
    rejects: list[pl.DataFrame] = []
    notes: list[str] = []
    inputs = parsed = 0
    sep = req.options.get("separator")
    if sep is not None and (not isinstance(sep, str) or len(sep) != 1 or sep in '"\r\n'):
        raise SourceError(f"{req.path}: options.separator must be one character, not {sep!r}")
    for path in req.files():
        for block in read_csv_blocks(path, separator=sep):
            inputs += block.inputs
            rejects.append(block.bad)
            if block.rows.height == 0:
                continue
            ev, rej, ok = _csv_events(block, req, notes)
            frames.append(ev)
            rejects.append(rej)
            parsed += ok
    return LoadResult(
        frame=pl.concat(frames) if frames else empty_events(),
        rejects=pl.concat(rejects) if rejects else rejects_frame([], [], []),
        inputs=inputs,
        parsed_inputs=parsed,
        unit="rows",
        notes=tuple(dict.fromkeys(notes)),
    )
