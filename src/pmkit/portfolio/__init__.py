"""Many incidents, one view: ``Portfolio.load(DIR)`` and the KPIs over it (:mod:`pmkit.portfolio.kpis`).

This step sits above the pipeline (it runs :func:`pmkit.pipeline.analyze` on each evidence folder) and below
the report (which presents it: :mod:`pmkit.report.portfolio`). Data only: frames, never HTML or Markdown.

What ``DIR`` holds (searched at any depth; hidden folders skipped):

- evidence folders (a folder with ``incident.yaml``): analysed as ``pmkit analyze`` does (nothing inside an
  evidence folder is read as a document);
- postmortem documents (``*.md`` whose first line is ``---``): read by :mod:`pmkit.portfolio.frontmatter`;
  other Markdown files (a README) are skipped and listed in ``skipped``;
- optionally ``portfolio.yaml``: ``as_of`` (the day the action items' statuses are true on, for "overdue")
  and ``include`` (incident folders or documents kept elsewhere, relative to DIR).

Definitions of every column and KPI: docs/analyses.md, "Portfolio".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from pmkit.errors import SpecError
from pmkit.spec import MILESTONES
from pmkit.vocab import DONE_STATUSES, is_done

CONFIG = "portfolio.yaml"
UTC_US = pl.Datetime("us", "UTC")

INCIDENT_SCHEMA: dict[str, Any] = {
    "id": pl.String,
    "title": pl.String,
    "kind": pl.String,
    "path": pl.String,
    "opened": UTC_US,
    "severity": pl.String,
    "severity_declared": pl.String,
    "severity_classified": pl.String,
    "severity_policy": pl.String,
    "services": pl.List(pl.String),
    "root_cause_category": pl.String,
    "convention": pl.String,
    **{m: UTC_US for m in MILESTONES},
    "missing": pl.List(pl.String),
    "mttd": pl.Float64,
    "mtta": pl.Float64,
    "mttm": pl.Float64,
    "mttr": pl.Float64,
    "signatures": pl.List(pl.String),
    "gates_failed": pl.List(pl.String),
    "complete": pl.Boolean,
    "action_items": pl.Int64,
    "action_items_done": pl.Int64,
}
SLO_SCHEMA: dict[str, Any] = {
    "id": pl.String,
    "opened": UTC_US,
    "service": pl.String,
    "slo": pl.String,
    "objective": pl.Float64,
    "slo_period": pl.String,
    "budget_minutes": pl.Float64,
    "consumed": pl.Float64,
    "consumed_minutes": pl.Float64,
}
ACTION_SCHEMA: dict[str, Any] = {
    "id": pl.String,
    "action": pl.String,
    "owner": pl.String,
    "due": pl.Date,
    "status": pl.String,
    "done": pl.Boolean,
}


def action_record(incident_id: str, item: dict[str, Any]) -> dict[str, Any]:
    """One row of :data:`ACTION_SCHEMA` from a row's action item (``action``, ``owner``, ``due`` as ISO text,
    ``status``): the status defaults to ``open``; ``done`` by :func:`is_done`."""
    due = item.get("due")
    return {
        "id": incident_id,
        "action": item.get("action"),
        "owner": item.get("owner"),
        "due": dt.date.fromisoformat(due) if isinstance(due, str) and due else (due or None),
        "status": item.get("status") or "open",
        "done": is_done(item.get("status")),
    }


def severity_key(declared: str | None, classified: str | None) -> str:
    """The severity an incident is grouped under: the declared level (it wins, as in the document), else the
    classified one, in the SEV scale (P0 = SEV1 ... P3 = SEV4); ``unknown`` when neither is a level."""
    from pmkit.analysis.severity import in_scale, normalise_level

    for level in (declared, classified):
        norm = normalise_level(level)
        if norm is not None:
            return in_scale(norm, "SEV")
    return "unknown"


def _ts(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    t = dt.datetime.fromisoformat(text)
    return (t if t.tzinfo else t.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def _incident_record(row: dict[str, Any]) -> dict[str, Any]:
    times = {m: _ts(row["milestones"].get(m)) for m in MILESTONES}
    present = [t for t in times.values() if t is not None]
    day = dt.date.fromisoformat(row["date"]) if row.get("date") else None
    opened = min(present) if present else (dt.datetime.combine(day, dt.time(), dt.UTC) if day else None)
    items = row.get("action_items") or []
    return {
        "id": row["id"],
        "title": row.get("title") or "",
        "kind": row["kind"],
        "path": row["path"],
        "opened": opened,
        "severity": severity_key(row.get("severity_declared"), row.get("severity_classified")),
        "severity_declared": row.get("severity_declared"),
        "severity_classified": row.get("severity_classified"),
        "severity_policy": row.get("severity_policy"),
        "services": list(row.get("services") or []),
        "root_cause_category": row.get("root_cause_category"),
        "convention": row.get("convention") or "impact",
        **times,
        "missing": [m for m in MILESTONES if times[m] is None],
        **{k: row["mttx"].get(k) for k in ("mttd", "mtta", "mttm", "mttr")},
        "signatures": list(row.get("signatures") or []),
        "gates_failed": list(row.get("gates_failed") or []),
        "complete": not row.get("gates_failed"),
        "action_items": len(items),
        "action_items_done": sum(1 for a in items if is_done(a.get("status"))),
    }


@dataclass(frozen=True)
class Portfolio:
    """A folder of incidents as frames (one row per incident; per SLO; per action item).

    ``incidents``: one row per incident (:data:`INCIDENT_SCHEMA`): ``opened`` is the earliest milestone
    given or measured (else the document's ``date``), ``severity`` the grouping level (:func:`severity_key`),
    ``missing`` the milestones neither given nor found, MTTx in seconds (null when a milestone is missing),
    ``complete`` when no quality gate fails. ``slos``: one row per incident and SLO. ``actions``: one row per
    action item. ``problems``: one line per file that could not be read (file, key, what was expected);
    ``skipped``: Markdown files without front matter. ``as_of``: the day "overdue" is judged on. ``sources``:
    how many ``folders`` and ``documents`` were found, and of the folders how many rows came from the row cache
    (``cached``) and how many were ``analysed``.
    """

    root: Path
    incidents: pl.DataFrame
    slos: pl.DataFrame
    actions: pl.DataFrame
    as_of: dt.date
    problems: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    sources: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        convention: str = "impact",
        as_of: dt.date | None = None,
        cache: bool = True,
        jobs: int | None = None,
        progress: bool = False,
        strict: bool = False,
    ) -> Portfolio:
        """Read every incident under ``path`` (see the module docstring), folders analysed in parallel processes
        through the caches. ``as_of``: else ``portfolio.yaml``'s, else today. ``strict``: raise
        :class:`SpecError` listing every unreadable file instead of keeping them in ``problems``.
        ``progress``: a bar over the incidents on stderr."""
        root = Path(path)
        if not root.exists():
            raise SpecError(str(root), ["(folder): does not exist; expected a folder of incidents"])
        config = read_config(root)
        folders, documents, skipped = discover(root, config.get("include") or [])
        bar = _bar(len(folders) + len(documents), progress)
        from pmkit.portfolio.rows import load_rows

        stats: dict[str, int] = {}
        try:
            rows = load_rows(
                folders,
                documents,
                convention=convention,
                use_cache=cache,
                jobs=jobs,
                tick=bar.update if bar else None,
                stats=stats,
            )
        finally:
            if bar is not None:
                bar.close()
        problems = [r["error"] for r in rows if "error" in r]
        good = [r for r in rows if "error" not in r]
        seen: dict[str, str] = {}
        unique = []
        for r in good:
            if r["id"] in seen:
                problems.append(f"{r['path']}: id {r['id']!r} is already used by {seen[r['id']]}; this one is left out")
                continue
            seen[r["id"]] = r["path"]
            unique.append(r)
        if strict and problems:
            raise SpecError(str(root), problems)
        when = as_of or config.get("as_of") or dt.datetime.now(dt.UTC).date()
        return cls.from_rows(
            unique,
            root=root,
            as_of=when,
            problems=tuple(problems),
            skipped=tuple(str(s) for s in skipped),
            sources={"folders": len(folders), "documents": len(documents), **stats},
        )

    @classmethod
    def from_rows(
        cls,
        rows: list[dict[str, Any]],
        *,
        root: Path,
        as_of: dt.date,
        problems: tuple[str, ...] = (),
        skipped: tuple[str, ...] = (),
        sources: dict[str, int] | None = None,
    ) -> Portfolio:
        """The frames of the rows :mod:`pmkit.portfolio.rows` makes (sorted by ``opened``, then id)."""
        incidents = pl.DataFrame([_incident_record(r) for r in rows], schema=INCIDENT_SCHEMA).sort(
            "opened", "id", nulls_last=True
        )
        opened = dict(zip(incidents["id"].to_list(), incidents["opened"].to_list(), strict=True))
        slos = pl.DataFrame(
            [
                {
                    "id": r["id"],
                    "opened": opened[r["id"]],
                    "slo_period": s.get("period"),
                    **{k: v for k, v in s.items() if k != "period"},
                }
                for r in rows
                for s in r.get("slos") or []
            ],
            schema=SLO_SCHEMA,
        )
        actions = pl.DataFrame(
            [action_record(r["id"], a) for r in rows for a in r.get("action_items") or []], schema=ACTION_SCHEMA
        )
        return cls(
            root=root,
            incidents=incidents,
            slos=slos,
            actions=actions,
            as_of=as_of,
            problems=problems,
            skipped=skipped,
            sources=dict(sources or {}),
        )

    def table(self) -> pl.DataFrame:
        """The per-incident table with list columns joined by ``; `` (for CSV, which has no lists), plus the SLO
        budget consumed per SLO (``budget:<service>/<slo>``, share of the SLO period's budget)."""
        flat = self.incidents.with_columns(
            pl.col(c).list.join("; ") for c in ("services", "missing", "signatures", "gates_failed")
        )
        if self.slos.height:
            wide = (
                self.slos.with_columns(
                    key=pl.lit("budget:") + pl.col("service").fill_null("?") + pl.lit("/") + pl.col("slo")
                )
                .pivot(on="key", index="id", values="consumed", aggregate_function="sum")
                .sort("id")
            )
            flat = flat.join(wide, on="id", how="left")
        return flat

    def only(self, services: list[str] | None = None) -> Portfolio:
        """The incidents touching any of ``services`` (all when None or empty), with their action items and
        only those services' SLO rows."""
        if not services:
            return self
        wanted = list(services)
        incidents = self.incidents.filter(pl.col("services").list.eval(pl.element().is_in(wanted)).list.any())
        ids = incidents["id"].to_list()
        return dataclasses.replace(
            self,
            incidents=incidents,
            slos=self.slos.filter(pl.col("id").is_in(ids) & pl.col("service").is_in(wanted)),
            actions=self.actions.filter(pl.col("id").is_in(ids)),
        )

    def __len__(self) -> int:
        return self.incidents.height


def read_config(root: Path) -> dict[str, Any]:
    """``portfolio.yaml`` of ``root`` (empty when absent), checked: ``as_of`` a date, ``include`` a list of paths."""
    path = root / CONFIG if root.is_dir() else None
    if path is None or not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(str(path), [f"(file): not valid YAML: {exc}"]) from None
    problems = []
    if not isinstance(data, dict):
        raise SpecError(str(path), [f"(top level): found {type(data).__name__}, expected a mapping"])
    unknown = sorted(set(data) - {"as_of", "include"})
    problems += [f"{k}: unknown key; expected one of as_of, include" for k in unknown]
    as_of = data.get("as_of")
    if isinstance(as_of, str):
        try:
            as_of = dt.date.fromisoformat(as_of)
        except ValueError:
            problems.append(f"as_of: found {as_of!r}; expected a date such as 2026-01-15")
    elif as_of is not None and not isinstance(as_of, dt.date):
        problems.append(f"as_of: found {as_of!r}; expected a date such as 2026-01-15")
    include = data.get("include") or []
    if not isinstance(include, list) or not all(isinstance(x, str) for x in include):
        problems.append(f"include: found {include!r}; expected a list of paths relative to {root}")
        include = []
    for i, rel in enumerate(include):
        if not (root / rel).exists():
            problems.append(f"include[{i}]: {rel!r} does not exist (relative to {root})")
    if problems:
        raise SpecError(str(path), problems)
    return {"as_of": as_of, "include": include}


def _hidden(p: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in p.relative_to(root).parts)


def discover(root: Path, include: list[str] | None = None) -> tuple[list[Path], list[Path], list[Path]]:
    """``(folders, documents, skipped)`` under ``root`` and the ``include`` paths, each sorted."""
    from pmkit.portfolio.frontmatter import has_front_matter

    if (root / "incident.yaml").is_file():
        return [root], [], []
    bases = [root, *[(root / rel) for rel in include or []]]
    folders: set[Path] = set()
    docs: set[Path] = set()
    skipped: set[Path] = set()
    for base in bases:
        if base.is_file():
            docs.add(base)
            continue
        if (base / "incident.yaml").is_file():
            folders.add(base)
            continue
        found = [p.parent for p in base.rglob("incident.yaml") if not _hidden(p, base)]
        folders.update(found)
        for md in base.rglob("*.md"):
            if _hidden(md, base) or any(f in md.parents for f in found):
                continue
            (docs if has_front_matter(md) else skipped).add(md)
    return sorted(folders), sorted(docs), sorted(skipped)


def _bar(total: int, progress: bool) -> Any:
    if not progress or total == 0:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    import sys

    return tqdm(total=total, unit="incident", desc="portfolio", file=sys.stderr, leave=True)


__all__ = [
    "ACTION_SCHEMA",
    "DONE_STATUSES",
    "INCIDENT_SCHEMA",
    "SLO_SCHEMA",
    "Portfolio",
    "action_record",
    "discover",
    "is_done",
    "severity_key",
]
