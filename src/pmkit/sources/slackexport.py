"""A Slack export read as files: its users, its channels, and exact message times.

An export is a folder, a ``.zip`` of one (a wrapping top folder is fine) or a single
``<channel>/<YYYY-MM-DD>.json`` day file of one (:class:`SlackExport`). The ``slack``
chat loader reads its messages; :func:`read_slack_directory` gives its people and
channels as frames, for redaction and for checks.
"""

from __future__ import annotations

import json
import re
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from pmkit.errors import SourceError
from pmkit.sources import textio
from pmkit.sources.chatcore import as_dict, nonblank_str

_US = 1_000_000
_DAY_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$", re.IGNORECASE)
_SLACK_TS = re.compile(r"^\s*(\d{1,12})(?:\.(\d{1,9}))?\s*$")
META_FILES = ("channels.json", "users.json", "groups.json", "mpims.json", "dms.json")
_LISTS = {"channels.json": "public", "groups.json": "private", "mpims.json": "mpim", "dms.json": "dm"}


def slack_ts_us(ts: Any) -> int:
    """Microseconds since the epoch of a Slack ``ts`` string, exactly (integer arithmetic).

    Raises ValueError when ``ts`` is not ``<seconds>[.<fraction>]``.
    """
    if not isinstance(ts, str):
        raise ValueError(f"ts {ts!r} is not a string")
    m = _SLACK_TS.match(ts)
    if m is None:
        raise ValueError(f"ts {ts!r} is not a Slack timestamp (seconds.micros)")
    return int(m.group(1)) * _US + int((m.group(2) or "")[:6].ljust(6, "0"))


class SlackExport:
    """A Slack export as relative paths, read from a folder or a zip file."""

    def __init__(self, path: Path, contain: Callable[[Path], Path] | None = None) -> None:
        """``contain`` checks each file before it is read (the incident folder's containment rule)."""
        self.path = path
        self._contain = contain or (lambda p: p)
        self.only: str | None = None
        self.single: str | None = None  # the file name when ``path`` is one channel file, not an export
        self._zip: zipfile.ZipFile | None = None
        if path.is_dir():
            base = path
            names = [
                p.relative_to(base).as_posix()
                for p in base.rglob("*")
                if p.is_file() and not any(x.startswith(".") for x in p.relative_to(base).parts)
            ]
        elif path.is_file() and zipfile.is_zipfile(self._contain(path)):
            try:
                self._zip = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise SourceError(f"{path}: cannot open the zip file: {exc}") from None
            names = [
                n
                for n in self._zip.namelist()
                if not n.endswith("/") and not n.startswith("__MACOSX/") and not n.rsplit("/", 1)[-1].startswith(".")
            ]
        elif path.is_file() and path.suffix.lower() == ".json" and not _day_file_in_export(path):
            # one channel file outside the export layout (slackdump's channel.json, a thread, a list of
            # messages, or a day file copied flat beside the export's users.json): users.json / channels.json
            # are looked for beside it
            base = path.parent
            self.path = base
            self.single = path.name
            self.only = path.name
            names = [self.only] + [m for m in META_FILES if (base / m).is_file() and m != path.name]
        elif path.is_file() and path.suffix.lower() == ".json":
            # one day file: the export is two folders up
            base = path.parent.parent
            self.path = base
            self.only = path.resolve().relative_to(base.resolve()).as_posix()
            names = [self.only] + [m for m in META_FILES if (base / m).is_file()]
        elif path.exists():
            raise SourceError(
                f"{path}: not a Slack export; expected an export folder, its .zip, one <channel>/<date>.json day "
                "file, or one channel file (.json: slackdump's channel.json, a thread, a list of messages)"
            )
        else:
            raise SourceError(f"{path}: no such file or folder")
        self.prefix = "" if self.single else self._root(names)
        self.names = sorted(n[len(self.prefix) :] for n in names if n.startswith(self.prefix))

    @staticmethod
    def _root(names: list[str]) -> str:
        """The folder (``a/b/``) holding the export: where channels.json/users.json are, else ''."""
        meta = [n for n in names if n.rsplit("/", 1)[-1] in META_FILES]
        if meta:
            top = min(meta, key=lambda n: n.count("/"))
            return top[: top.rfind("/") + 1]
        tops = {n.split("/", 1)[0] for n in names}
        if len(tops) == 1 and all(n.count("/") >= 2 for n in names):
            return tops.pop() + "/"
        return ""

    def origin(self, rel: str) -> str:
        if self._zip is not None:
            return f"{self.path}!/{self.prefix}{rel}"
        return str(self.path / (self.prefix + rel))

    def has(self, rel: str) -> bool:
        return rel in self.names

    def read_json(self, rel: str) -> Any:
        """A JSON file of the export; SourceError naming it when it is not JSON."""
        origin = self.origin(rel)
        if self._zip is None:
            return textio.read_json(self._contain(self.path / (self.prefix + rel)))
        try:
            data = self._zip.read(self.prefix + rel)
        except (zipfile.BadZipFile, OSError, KeyError, RuntimeError, EOFError, zlib.error) as exc:
            raise SourceError(f"{origin}: cannot read from the zip: {exc}") from None
        try:
            return textio.loads(data.decode("utf-8-sig", errors="replace"))
        except json.JSONDecodeError as exc:
            raise SourceError(f"{origin}:{exc.lineno}: not valid JSON ({exc.msg} at column {exc.colno})") from None

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


@dataclass(frozen=True)
class SlackUser:
    """A person (or bot) of ``users.json``."""

    id: str
    name: str | None
    real_name: str | None
    display_name: str | None
    is_bot: bool
    deleted: bool


@dataclass(frozen=True)
class SlackChannel:
    """A channel of ``channels.json`` / ``groups.json`` / ``mpims.json`` / ``dms.json``."""

    id: str | None
    name: str
    type: str
    created: int | None
    topic: str | None
    purpose: str | None
    archived: bool


def _day_file_in_export(path: Path) -> bool:
    """A ``<date>.json`` day file in the export's layout (``<channel>/<date>.json``, the lists two folders up);
    a day file with the lists beside it and none two folders up was copied flat: read as one channel file."""
    if not _DAY_NAME.match(path.name):
        return False
    beside = any((path.parent / m).is_file() for m in META_FILES)
    above = any((path.parent.parent / m).is_file() for m in META_FILES)
    return above or not beside


def _epoch_seconds(value: Any) -> int | None:
    """``created`` / ``last_set``: an int, or a string of one in older exports."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _meta_list(export: SlackExport, rel: str) -> list[dict[str, Any]]:
    if not export.has(rel):
        return []
    data = export.read_json(rel)
    if not isinstance(data, list):
        raise SourceError(f"{export.origin(rel)}: expected a JSON list, got a JSON {type(data).__name__}")
    return [x for x in data if isinstance(x, dict)]


def read_users(export: SlackExport) -> dict[str, SlackUser]:
    """The users of ``users.json`` by id (none when the export has no such file)."""
    users: dict[str, SlackUser] = {}
    for u in _meta_list(export, "users.json"):
        uid = nonblank_str(u.get("id"))
        if uid is None:
            continue
        profile = as_dict(u.get("profile"))
        users[uid] = SlackUser(
            id=uid,
            name=nonblank_str(u.get("name")),
            real_name=nonblank_str(u.get("real_name")) or nonblank_str(profile.get("real_name")),
            display_name=nonblank_str(profile.get("display_name")),
            is_bot=bool(u.get("is_bot")),
            deleted=bool(u.get("deleted")),
        )
    return users


def read_channels(export: SlackExport) -> dict[str, SlackChannel]:
    """Channels by folder name (the name; the id for DMs)."""
    channels: dict[str, SlackChannel] = {}
    for rel, ctype in _LISTS.items():
        for c in _meta_list(export, rel):
            cid = nonblank_str(c.get("id"))
            name = nonblank_str(c.get("name")) if ctype != "dm" else cid
            name = name or cid
            if name is None:
                continue
            channels[name] = SlackChannel(
                id=cid,
                name=name,
                type=ctype,
                created=_epoch_seconds(c.get("created")),
                topic=nonblank_str(as_dict(c.get("topic")).get("value")),
                purpose=nonblank_str(as_dict(c.get("purpose")).get("value")),
                archived=bool(c.get("is_archived")),
            )
    return channels


@dataclass(frozen=True)
class SlackDirectory:
    """The people and channels of a Slack export (for redaction and for checks)."""

    users: pl.DataFrame
    channels: pl.DataFrame


def read_slack_directory(path: str | Path) -> SlackDirectory:
    """``users.json`` and the channel lists of an export folder or zip as frames.

    ``users``: id, name (handle), real_name, display_name, is_bot, deleted -- the
    names redaction should look for (emails are deliberately not read).
    ``channels``: id, name, type, created (UTC), topic, purpose, archived.
    """
    export = SlackExport(Path(path))
    try:
        users = read_users(export)
        channels = read_channels(export)
    finally:
        export.close()
    user_schema = {
        "id": pl.String,
        "name": pl.String,
        "real_name": pl.String,
        "display_name": pl.String,
        "is_bot": pl.Boolean,
        "deleted": pl.Boolean,
    }
    chan_schema = {
        "id": pl.String,
        "name": pl.String,
        "type": pl.String,
        "created": pl.Int64,
        "topic": pl.String,
        "purpose": pl.String,
        "archived": pl.Boolean,
    }
    udf = pl.DataFrame([u.__dict__ for u in users.values()], schema=user_schema, orient="row")
    cdf = pl.DataFrame([c.__dict__ for c in channels.values()], schema=chan_schema, orient="row")
    cdf = cdf.with_columns((pl.col("created") * _US).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))
    return SlackDirectory(udf, cdf)
