"""Action items across incidents: read them with their tracker keys, list the open and overdue ones by owner.

An item lives in an incident folder's ``incident.yaml`` (``action_items``, :class:`pmkit.spec.ActionItem`) or in a
postmortem document's front matter (:class:`pmkit.portfolio.frontmatter.DocActionItem`). Only the spec and the
front matter are read (no evidence is loaded), so listing a hundred incidents takes a second.

**Key**: each item carries ``<incident id>#<item id>``, the item id being its ``id:`` when written, else its
1-based position in ``action_items`` (so reordering items without ``id:`` changes their keys; docs/actions.md).
Characters other than letters, digits and ``-._~:@+`` are percent-encoded, so a key is one word. Trackers get the
key on the last line of the issue's text (``pmkit-action: KEY``), which is how ``pmkit actions sync`` matches a
tracker's issue back to its item (:mod:`pmkit.portfolio.trackers`, :mod:`pmkit.portfolio.sync`).

**Open / overdue** are the portfolio's (:func:`pmkit.portfolio.is_done`, :func:`pmkit.portfolio.kpis.overdue_by_owner`):
an item is done when its status is one of :data:`pmkit.portfolio.DONE_STATUSES`, open otherwise; overdue when open
and its due day is before ``today``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import polars as pl

from pmkit.errors import SpecError
from pmkit.portfolio import ACTION_SCHEMA, action_record, discover, read_config

MARKER = "pmkit-action:"
ITEM_SCHEMA: dict[str, Any] = {
    **ACTION_SCHEMA,
    "key": pl.String,
    "item": pl.String,
    "priority": pl.String,
    "tracker": pl.String,
    "title": pl.String,
    "path": pl.String,
}
_SAFE = "-._~:@+"


def item_key(incident_id: str, item_id: str) -> str:
    """``<incident id>#<item id>``, each part percent-encoded outside letters, digits and ``-._~:@+``."""
    return f"{quote(incident_id, safe=_SAFE)}#{quote(item_id, safe=_SAFE)}"


@dataclass(frozen=True)
class Item:
    """One action item where it is written: ``path`` (incident.yaml or the document), ``index`` in
    ``action_items`` (0-based), ``kind`` (``folder`` or ``document``), the incident's ``incident``/``title``."""

    path: Path
    kind: str
    index: int
    incident: str
    title: str
    item: str
    action: str
    owner: str | None
    due: dt.date | None
    priority: str | None
    status: str
    tracker: str | None

    @property
    def key(self) -> str:
        return item_key(self.incident, self.item)

    @property
    def where(self) -> str:
        return f"{self.path}: action_items[{self.index}]"


def _items_of(path: Path, kind: str, incident: str, title: str, items: list[Any]) -> list[Item]:
    out: list[Item] = []
    seen: dict[str, int] = {}
    problems = []
    for i, a in enumerate(items):
        ident = a.id or str(i + 1)
        if ident in seen:
            problems.append(
                f"action_items[{i}]: item id {ident!r} is also action_items[{seen[ident]}]'s (an explicit id: or "
                "a position); give each item a distinct id: so its tracker key is unique"
            )
            continue
        seen[ident] = i
        out.append(
            Item(path, kind, i, incident, title, ident, a.action, a.owner, a.due, a.priority, a.status, a.tracker)
        )
    if problems:
        raise SpecError(str(path), problems)
    return out


def read_file_items(path: Path, kind: str | None = None) -> list[Item]:
    """The items of one ``incident.yaml`` (or its folder) or one postmortem document (``kind`` ``folder`` or
    ``document``; by default ``folder`` for a folder or a file named incident.yaml); :class:`SpecError` when the
    file does not validate or two items share an id."""
    from pmkit.portfolio.frontmatter import parse_document
    from pmkit.spec import load_spec

    if kind == "folder" or (kind is None and (path.is_dir() or path.name == "incident.yaml")):
        yaml_path = path / "incident.yaml" if path.is_dir() else path
        spec = load_spec(yaml_path)
        return _items_of(yaml_path, "folder", spec.id, spec.title, list(spec.action_items))
    doc = parse_document(path)
    return _items_of(path, "document", doc.id, doc.title or "", list(doc.action_items))


def read_items(paths: list[str | Path]) -> tuple[list[Item], list[str]]:
    """Every item under ``paths`` (incident folders, documents, or folders of them, found as the portfolio finds
    them: :func:`pmkit.portfolio.discover`, with a folder's ``portfolio.yaml`` ``include``), and one problem line per file that could not be read. A key met in
    two files (the same incident read twice) is a problem; the second file's items are left out."""
    items: list[Item] = []
    problems: list[str] = []
    files: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            problems.append(f"{p}: does not exist; expected an incident folder, a postmortem document or a folder")
            continue
        if p.is_file():
            files.append(p)
            continue
        folders, docs, _ = discover(p, read_config(p).get("include") or [])
        files += [*folders, *docs]
    keys: dict[str, Item] = {}
    done: set[Path] = set()
    for f in files:
        resolved = f.resolve()
        if resolved in done:
            continue
        done.add(resolved)
        try:
            found = read_file_items(f)
        except SpecError as exc:
            problems.append(str(exc))
            continue
        clash = next((it for it in found if it.key in keys), None)
        if clash is not None:
            problems.append(
                f"{clash.path}: incident id {clash.incident!r} is already read from {keys[clash.key].path}; "
                "its items are left out"
            )
            continue
        for it in found:
            keys[it.key] = it
        items += found
    return items, problems


def item_frame(items: list[Item]) -> pl.DataFrame:
    """The items as a frame: the portfolio's action columns (:data:`pmkit.portfolio.ACTION_SCHEMA`, built by
    :func:`pmkit.portfolio.action_record`) plus ``key``, ``item``, ``priority``, ``tracker``, ``title``, ``path``."""
    rows = [
        {
            **action_record(it.incident, {"action": it.action, "owner": it.owner, "due": it.due, "status": it.status}),
            "key": it.key,
            "item": it.item,
            "priority": it.priority,
            "tracker": it.tracker,
            "title": it.title,
            "path": str(it.path),
        }
        for it in items
    ]
    return pl.DataFrame(rows, schema=ITEM_SCHEMA)


def open_items(frame: pl.DataFrame, today: dt.date, *, include_done: bool = False) -> pl.DataFrame:
    """The open items (all with ``include_done``) sorted by owner (``(no owner)`` when none), due day (none last)
    and key, with ``overdue`` (open and due before ``today``) and ``days_overdue`` (null when not overdue)."""
    od = (~pl.col("done")) & pl.col("due").is_not_null() & (pl.col("due") < pl.lit(today))
    out = frame if include_done else frame.filter(~pl.col("done"))
    return (
        out.with_columns(pl.col("owner").fill_null("(no owner)"), overdue=od)
        .with_columns(
            days_overdue=pl.when(pl.col("overdue")).then((pl.lit(today) - pl.col("due")).dt.total_days()),
        )
        .sort("owner", "due", "key", nulls_last=True)
    )


def by_owner(frame: pl.DataFrame, today: dt.date) -> pl.DataFrame:
    """Per owner: items, done, open, overdue, the oldest overdue due day and its days overdue, most overdue first
    (the portfolio's :func:`pmkit.portfolio.kpis.overdue_by_owner`)."""
    from pmkit.portfolio.kpis import overdue_by_owner

    return overdue_by_owner(frame.select(list(ACTION_SCHEMA)), today)


__all__ = ["ITEM_SCHEMA", "MARKER", "Item", "by_owner", "item_frame", "item_key", "open_items", "read_items"]
