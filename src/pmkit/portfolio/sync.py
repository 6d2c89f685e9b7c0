"""``pmkit actions sync``: a tracker export's statuses written back into the items' files (docs/actions.md).

**Matching** a tracker issue (:class:`pmkit.portfolio.trackers.Record`) to an item
(:class:`pmkit.portfolio.actions.Item`):

1. by key: the issue's ``pmkit-action: KEY`` line names the item. Two issues with one key are ambiguous: neither
   is applied. A key of no item under the folders given is reported (another incident's, or a renumbered item);
2. else by title: an issue without the line matches the one item (not matched by key) whose action reads the same
   (case and runs of spaces aside); a title that fits several items, or an item claimed by two such issues, is
   reported and not applied.

Every issue of the export is reported as matched or not (with why), and every item under the folders that no issue
matched is listed: nothing is dropped silently.

**Writing**: a matched item gets the issue's ``status`` and ``tracker`` (its URL or key) in its file; an open
GitHub issue (which says only "not closed") leaves an item's own open status (``in progress``) as it is. There is no
round-trip YAML library in pmkit's dependencies, so the file is edited as text where PyYAML's composer places each
value: an existing ``status:``/``tracker:`` value is replaced in place, a missing key is added as a line after the
item's last one (or before the ``}`` of a flow mapping); every other byte (comments, quoting, order, line endings)
stays. The edited YAML is parsed again and must equal the old data with just those values changed, and must still
validate; otherwise the file is left untouched and the error says so. Files are replaced atomically.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pmkit.errors import PmkitError, SpecError
from pmkit.portfolio import is_done
from pmkit.portfolio.actions import Item, read_file_items
from pmkit.portfolio.trackers import Record

_PLAIN_FLOW = re.compile(r"[A-Za-z][\w .\-]*[\w.]|[A-Za-z]")
_PLAIN_BLOCK = re.compile(r"[A-Za-z][\w .\-/:@+%?=&~#]*[\w/]|[A-Za-z]")


@dataclass(frozen=True)
class Match:
    """An issue applied to an item: ``how`` (``key`` or ``title``) and ``changes`` (field: (old, new))."""

    item: Item
    record: Record
    how: str
    changes: dict[str, tuple[str | None, str]]


@dataclass
class SyncReport:
    """What a sync did: ``matched`` issues, ``unmatched`` (issue, why), ``missing`` (items no issue matched),
    ``written`` (files changed; empty on a dry run), ``problems`` (files under the folders that could not be read)."""

    tracker: str
    source: Path
    records: int
    matched: list[Match] = field(default_factory=list)
    unmatched: list[tuple[Record, str]] = field(default_factory=list)
    missing: list[Item] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The report as text: one line per issue of the export and per open item not in it (the done items not
        in it, which need no tracker, are counted in the first line)."""
        changed = [m for m in self.matched if m.changes]
        done = [it for it in self.missing if is_done(it.status)]
        out = [
            f"{self.tracker} export {self.source}: {self.records} issues; {len(self.matched)} matched "
            f"({len(changed)} changed), {len(self.unmatched)} not matched; {len(self.missing)} items not in the export "
            f"({len(done)} of them done, not listed)"
        ]
        for m in self.matched:
            what = ", ".join(f"{k} {old or '(none)'} -> {new}" for k, (old, new) in m.changes.items()) or "unchanged"
            out.append(f"  matched     {m.item.key}: {what}  [{m.record.origin}, by {m.how}]")
        for rec, why in self.unmatched:
            out.append(f"  not matched {rec.origin} {rec.title[:60]!r}: {why}")
        for it in self.missing:
            if is_done(it.status):
                continue
            out.append(f"  not in export {it.key} ({it.where}, status {it.status})")
        out += [f"  wrote {p}" for p in self.written]
        out += [f"  could not read: {p}" for p in self.problems]
        return out


def _norm(title: str) -> str:
    return " ".join(title.split()).casefold()


def match(items: list[Item], records: list[Record]) -> tuple[list[tuple[Item, Record, str]], list[tuple[Record, str]]]:
    """``(matches, unmatched)``: the rules of the module docstring."""
    by_key = {it.key: it for it in items}
    keyed: dict[str, list[Record]] = {}
    unmatched: list[tuple[Record, str]] = []
    for rec in records:
        if rec.key is None:
            continue
        if rec.key not in by_key:
            unmatched.append(
                (
                    rec,
                    f"its key {rec.key} is no item under the folders given (another incident's, or the item was "
                    "removed or renumbered)",
                )
            )
        else:
            keyed.setdefault(rec.key, []).append(rec)
    matches: list[tuple[Item, Record, str]] = []
    taken: set[str] = set()
    for key, recs in keyed.items():
        if len(recs) > 1:
            others = ", ".join(r.origin for r in recs)
            unmatched += [
                (r, f"{len(recs)} issues carry key {key} ({others}); the item is left unchanged") for r in recs
            ]
            taken.add(key)
            continue
        matches.append((by_key[key], recs[0], "key"))
        taken.add(key)
    titles: dict[str, list[Item]] = {}
    for it in items:
        if it.key not in taken:
            titles.setdefault(_norm(it.action), []).append(it)
    claims: dict[str, list[Record]] = {}
    for rec in records:
        if rec.key is not None:
            continue
        fits = titles.get(_norm(rec.title), [])
        if not fits:
            unmatched.append((rec, "no pmkit-action line, and no item's action reads like its title"))
        elif len(fits) > 1:
            keys = ", ".join(it.key for it in fits)
            unmatched.append((rec, f"no pmkit-action line, and its title fits {len(fits)} items ({keys})"))
        else:
            claims.setdefault(fits[0].key, []).append(rec)
    for key, recs in claims.items():
        item = next(it for it in items if it.key == key)
        if len(recs) > 1:
            others = ", ".join(r.origin for r in recs)
            unmatched += [
                (r, f"{len(recs)} issues have the title of {key} ({others}); the item is left unchanged") for r in recs
            ]
            continue
        matches.append((item, recs[0], "title"))
    return matches, unmatched


# --- writing ------------------------------------------------------------------------------------------------


def _render(value: str, flow: bool) -> str:
    """``value`` as a YAML scalar: plain when that reads back as the same string, else double-quoted."""
    plain = _PLAIN_FLOW if flow else _PLAIN_BLOCK
    if plain.fullmatch(value) and ": " not in value and " #" not in value:
        try:
            if yaml.safe_load(value) == value:
                return value
        except yaml.YAMLError:
            pass
    text = yaml.safe_dump(value, default_style='"', width=1 << 30, allow_unicode=True)
    return text.removesuffix("\n...\n").rstrip("\n")


def _region(text: str, kind: str) -> tuple[int, int]:
    """Where the YAML is in the file's text: all of incident.yaml, or a document's front matter."""
    if kind == "folder":
        return 0, len(text)
    start = 1 if text.startswith("\ufeff") else 0
    m = re.compile(r"---[ \t]*\r?\n").match(text, start)
    if not m:
        raise PmkitError("no front matter (a first line '---')")
    end = re.compile(r"^(?:---|\.\.\.)[ \t]*\r?$", re.MULTILINE).search(text, m.end())
    if not end:
        raise PmkitError("the front matter has no closing '---' line")
    return m.end(), end.start()


def _edits(yaml_text: str, updates: dict[int, dict[str, str]], nl: str) -> list[tuple[int, int, str]]:
    """The text edits that set ``updates`` (item index: {key: value}) in ``action_items``."""
    root = yaml.compose(yaml_text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        raise PmkitError("the YAML is not a mapping")
    seq = next((v for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == "action_items"), None)
    if not isinstance(seq, yaml.SequenceNode):
        raise PmkitError("action_items is not a list")
    edits: list[tuple[int, int, str]] = []
    for index, values in updates.items():
        node = seq.value[index]
        if not isinstance(node, yaml.MappingNode) or not node.value:
            raise PmkitError(f"action_items[{index}] is not a mapping")
        flow = bool(node.flow_style)
        pairs = {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)}
        for key, value in values.items():
            rendered = _render(value, flow)
            if key in pairs:
                v = pairs[key]
                if not isinstance(v, yaml.ScalarNode):
                    raise PmkitError(f"action_items[{index}].{key} is not a single value")
                a, b = v.start_mark.index, v.end_mark.index
                edits.append((a, b, (" " + rendered) if a == b and yaml_text[a - 1 : a] == ":" else rendered))
                continue
            last = node.value[-1][1].end_mark.index
            if flow:
                edits.append((last, last, f", {key}: {rendered}"))
                continue
            if last > 0 and yaml_text[last - 1] == "\n":
                pos, lead = last, ""
            else:
                brk = yaml_text.find("\n", last)
                pos, lead = (brk + 1, "") if brk >= 0 else (len(yaml_text), nl)
            indent = " " * node.value[0][0].start_mark.column
            edits.append((pos, pos, f"{lead}{indent}{key}: {rendered}{nl}"))
    return edits


def _unshared(data: Any) -> Any:
    """``data`` rebuilt without shared parts (PyYAML gives an alias the anchor's very object)."""
    if isinstance(data, dict):
        return {k: _unshared(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_unshared(v) for v in data]
    return data


def apply_updates(path: Path, kind: str, updates: dict[int, dict[str, str]]) -> bool:
    """Set ``updates`` (item index: {``status``/``tracker``: value}) in the file at ``path`` as the module docstring
    says; False when nothing changed. :class:`PmkitError` (file left untouched) when the edit cannot be made safely."""
    with path.open(encoding="utf-8", newline="") as fh:
        text = fh.read()
    nl = "\r\n" if "\r\n" in text else "\n"
    try:
        a, b = _region(text, kind)
        region = text[a:b]
        before = yaml.safe_load(region)
        edits = _edits(region, updates, nl)
    except (PmkitError, yaml.YAMLError, IndexError) as exc:
        raise PmkitError(f"{path}: cannot update action_items: {exc}; the file is left unchanged") from None
    new_region = region
    # from the end, so earlier offsets stay true; two insertions at one place land in the order they were made
    for _, (start, end, repl) in sorted(enumerate(edits), key=lambda e: (e[1][0], e[1][1], e[0]), reverse=True):
        new_region = new_region[:start] + repl + new_region[end:]
    if new_region == region:
        return False
    expected = _unshared(before)  # an alias's value is its own copy here, so a change through an anchor shows
    for index, values in updates.items():
        expected["action_items"][index].update(values)
    try:
        after = yaml.safe_load(new_region)
    except yaml.YAMLError as exc:
        after = exc
    if after != expected:
        raise PmkitError(
            f"{path}: editing action_items as text would change more than the statuses (an anchor or an unusual "
            "layout); the file is left unchanged: set them by hand"
        )
    new_text = text[:a] + new_region + text[b:]
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(new_text)
        try:
            read_file_items(Path(tmp), kind)
        except SpecError as exc:
            raise PmkitError(
                f"{path}: the updated file would not validate ({exc}); the file is left unchanged"
            ) from None
        os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return True


def sync(
    paths: list[str | Path], source: str | Path, *, tracker: str | None = None, dry_run: bool = False
) -> SyncReport:
    """Read the tracker export ``source``, match its issues to the items under ``paths`` and write the statuses
    and tracker refs back (not with ``dry_run``); the :class:`SyncReport`."""
    from pmkit.portfolio.actions import read_items
    from pmkit.portfolio.trackers import read_export

    kind, records = read_export(source, tracker)
    items, problems = read_items(paths)
    matches, unmatched = match(items, records)
    report = SyncReport(kind, Path(source), len(records), unmatched=unmatched, problems=problems)
    order = {r.origin: i for i, r in enumerate(records)}
    per_file: dict[tuple[Path, str], dict[int, dict[str, str]]] = {}
    for item, rec, how in sorted(matches, key=lambda m: order[m[1].origin]):
        changes: dict[str, tuple[str | None, str]] = {}
        keep = rec.coarse and not is_done(item.status)  # "open" on GitHub: any not-done status of the item holds
        if rec.status != item.status and not keep:
            changes["status"] = (item.status, rec.status)
        if rec.ref and rec.ref != item.tracker:
            changes["tracker"] = (item.tracker, rec.ref)
        report.matched.append(Match(item, rec, how, changes))
        if changes:
            per_file.setdefault((item.path, item.kind), {})[item.index] = {k: v[1] for k, v in changes.items()}
    matched_keys = {m.item.key for m in report.matched}
    report.missing = [it for it in items if it.key not in matched_keys]
    if not dry_run:
        for (path, kind_of), updates in per_file.items():
            if apply_updates(path, kind_of, updates):
                report.written.append(path)
    return report


__all__ = ["Match", "SyncReport", "apply_updates", "match", "sync"]
