"""Chat loaders: Slack exports and plain transcripts -> ``chat`` events.

Slack (``slack``)
-----------------
``path`` is an export folder, a ``.zip`` of one (a wrapping top folder is fine), or a
single ``<channel>/<YYYY-MM-DD>.json`` day file of an export. The export holds
``channels.json``, ``users.json``, optionally ``groups.json`` / ``mpims.json`` /
``dms.json`` (slackdump) and ``integration_logs.json`` (not messages; not loaded), and
one folder per channel of day files, each a JSON list of messages.

- Unit: messages. One event per message, every subtype kept (channel_join,
  file_share, bot_message, channel_topic, pinned_item...).
- ``ts``: the message's ``ts`` string (``"1458980525.000012"``) read as integers --
  seconds and six fraction digits -- so the microsecond is exact (never via float);
  the string itself, the message id, is kept as ``attrs.ts``. A message without a
  ``ts``, or with one that is not a Slack timestamp, is rejected (``path#index``).
- ``actor``: the user's handle (``users.json`` ``name``); for a message without a
  user (bots, file comments) the bot's ``username`` / ``bot_profile.name``, the
  file comment's author, or the ``bot_id``. A user id missing from ``users.json`` is
  kept as the actor (and noted).
- ``message``: the text made readable: ``<@U123>`` / ``<@U123|name>`` -> ``@handle``
  (through ``users.json``; the label, then the id, when unknown), ``<#C123|name>`` ->
  ``#name``, ``<!here>`` -> ``@here``, ``<https://url|label>`` -> ``label (https://url)``,
  ``<https://url>`` -> ``https://url``, then ``&lt; &gt; &amp;`` unescaped (only the three
  Slack escapes). Newlines become `` ⏎ `` so the message stays one line and can be
  split back. Empty text falls back to the first attachment's fallback or the
  shared files' names.
- ``attrs``: channel (folder name), channel_id, channel_type (public, private, mpim,
  dm), ts, user (id), real_name and display_name (personal data, kept here so that
  redaction can act on them; the handle is ``actor``), subtype, bot_id, username,
  thread fields, reply_count, reactions, edited, files (names), attachments (their
  readable text), and the channel-event fields (topic, purpose, name, old_name,
  item_type, inviter).
- Threads are rebuilt across every day file of a channel (a reply can sit in a
  later day's file than its parent): every message of a thread has
  ``attrs.thread_ts`` (the parent's ts) and ``attrs.thread_root`` (true for the
  parent). A parent gets ``replies_found`` (replies present in the export) beside
  the ``reply_count`` Slack declared, and ``replies_missing`` when fewer were found;
  a reply whose parent is not in the export gets ``parent_missing``. The load notes
  count both.
- Day files of channels missing from ``channels.json`` (and the other lists) still
  load; the notes name those channels.
- ``service`` is null unless the source sets one; ``level`` is null.

Transcript (``transcript``)
---------------------------
Plain text, one message per line, in any of these forms (the time may carry
seconds, a fraction, ``AM``/``PM``, and a date ``YYYY-MM-DD`` with ``T`` or a space;
a bracketed or dated stamp may end with ``Z`` or an offset)::

    [14:25] alice: the checkout error rate is climbing
    [2025-06-15 14:25:03] alice: rolling back
    14:25 <alice> rollback done

- Unit: lines. Blank lines are skipped (not counted). A line without a stamp
  continues the message before it (joined with `` ⏎ ``); one before any message is
  rejected. A line whose stamp is not a real time (``25:61``) is rejected.
- After the stamp, ``name: text``, ``<name> text`` (IRC mode prefixes ``@+%~&``
  dropped) and ``* name text`` (an action) give the actor; any other text (a
  ``-!- alice has joined`` line) is a message without an actor. A bare
  (unbracketed) time-only stamp counts only before ``<name>``, ``* name`` or
  ``-!-``, so that prose such as ``10:30 we restarted`` stays a continuation.
- Times without a date take ``options: {date: YYYY-MM-DD}``, else the date of the
  incident window's start (in the source's timezone), else the last dated line
  above them; with none of these the load fails and says to set ``date``. A time
  more than 12 hours earlier than the previous line's is the next day (midnight
  rollover). Naive times are read in the source's ``timezone`` (UTC when none).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zipfile
import zoneinfo
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from pmkit import schema
from pmkit.errors import SourceError
from pmkit.sources import textio
from pmkit.sources.base import LoadRequest, LoadResult, rejects_frame, to_json
from pmkit.sources.registry import register

_US = 1_000_000
_EPOCH = dt.datetime(1970, 1, 1)
_EVENT_COLUMNS = ("ts", "kind", "service", "level", "actor", "message", "attrs", "origin")


def _events_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Rows (``ts`` as integer microseconds since the epoch, UTC) to an events frame."""
    types: dict[str, pl.DataType] = {c: pl.String() for c in _EVENT_COLUMNS}
    types["ts"] = pl.Int64()
    df = pl.DataFrame({c: [r.get(c) for r in rows] for c in _EVENT_COLUMNS}, schema=types)
    df = df.with_columns(pl.col("ts").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"), pl.lit("chat").alias("kind"))
    return schema.conform(df, "events")


def _check_options(req: LoadRequest, allowed: tuple[str, ...] = ()) -> None:
    unknown = sorted(set(req.options) - set(allowed))
    if unknown:
        expect = f"expected {', '.join(allowed)}" if allowed else "it takes none"
        raise SourceError(f"{req.path}: unknown option(s) {unknown} for {req.kind}/{req.format}; {expect}")


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _one_line(text: str) -> str:
    """Newlines become `` ⏎ `` (the message column is one line a person can read)."""
    return " ⏎ ".join(text.replace("\r\n", "\n").replace("\r", "\n").split("\n")).strip()


# =========================================================================== Slack

_SLACK_TS = re.compile(r"^\s*(\d{1,12})(?:\.(\d{1,9}))?\s*$")
_DAY_FILE = re.compile(r"^(?P<chan>[^/]+)/(?P<day>\d{4}-\d{2}-\d{2})\.json$")
_META_FILES = ("channels.json", "users.json", "groups.json", "mpims.json", "dms.json")
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


class _Export:
    """A Slack export as relative paths, read from a folder or a zip file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.only: str | None = None
        self._zip: zipfile.ZipFile | None = None
        if path.is_dir():
            base = path
            names = [
                p.relative_to(base).as_posix()
                for p in base.rglob("*")
                if p.is_file() and not any(x.startswith(".") for x in p.relative_to(base).parts)
            ]
        elif path.is_file() and zipfile.is_zipfile(path):
            try:
                self._zip = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise SourceError(f"{path}: cannot open the zip file: {exc}") from None
            names = [
                n
                for n in self._zip.namelist()
                if not n.endswith("/") and not n.startswith("__MACOSX/") and not n.rsplit("/", 1)[-1].startswith(".")
            ]
        elif path.is_file() and path.suffix.lower() == ".json":
            # one day file: the export is two folders up
            base = path.parent.parent
            self.path = base
            self.only = path.resolve().relative_to(base.resolve()).as_posix()
            names = [self.only] + [m for m in _META_FILES if (base / m).is_file()]
        elif path.exists():
            raise SourceError(
                f"{path}: not a Slack export; expected an export folder, its .zip, or one <channel>/<date>.json day file"
            )
        else:
            raise SourceError(f"{path}: no such file or folder")
        self.prefix = self._root(names)
        self.names = sorted(n[len(self.prefix) :] for n in names if n.startswith(self.prefix))

    @staticmethod
    def _root(names: list[str]) -> str:
        """The folder (``a/b/``) holding the export: where channels.json/users.json are, else ''."""
        meta = [n for n in names if n.rsplit("/", 1)[-1] in _META_FILES]
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
            return textio.read_json(self.path / (self.prefix + rel))
        try:
            data = self._zip.read(self.prefix + rel)
        except (zipfile.BadZipFile, OSError, KeyError, RuntimeError, EOFError) as exc:
            raise SourceError(f"{origin}: cannot read from the zip: {exc}") from None
        try:
            return json.loads(data.decode("utf-8-sig", errors="replace"))
        except json.JSONDecodeError as exc:
            raise SourceError(f"{origin}:{exc.lineno}: not valid JSON ({exc.msg} at column {exc.colno})") from None

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


@dataclass(frozen=True)
class _User:
    id: str
    name: str | None
    real_name: str | None
    display_name: str | None
    is_bot: bool
    deleted: bool


@dataclass(frozen=True)
class _Channel:
    id: str | None
    name: str
    type: str
    created: int | None
    topic: str | None
    purpose: str | None
    archived: bool


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


def _meta_list(export: _Export, rel: str) -> list[dict[str, Any]]:
    if not export.has(rel):
        return []
    data = export.read_json(rel)
    if not isinstance(data, list):
        raise SourceError(f"{export.origin(rel)}: expected a JSON list, got a JSON {type(data).__name__}")
    return [x for x in data if isinstance(x, dict)]


def _read_users(export: _Export) -> dict[str, _User]:
    users: dict[str, _User] = {}
    for u in _meta_list(export, "users.json"):
        uid = _str(u.get("id"))
        if uid is None:
            continue
        profile = _dict(u.get("profile"))
        users[uid] = _User(
            id=uid,
            name=_str(u.get("name")),
            real_name=_str(u.get("real_name")) or _str(profile.get("real_name")),
            display_name=_str(profile.get("display_name")),
            is_bot=bool(u.get("is_bot")),
            deleted=bool(u.get("deleted")),
        )
    return users


def _read_channels(export: _Export) -> dict[str, _Channel]:
    """Channels by folder name (the name; the id for DMs)."""
    channels: dict[str, _Channel] = {}
    for rel, ctype in _LISTS.items():
        for c in _meta_list(export, rel):
            cid = _str(c.get("id"))
            name = _str(c.get("name")) if ctype != "dm" else cid
            name = name or cid
            if name is None:
                continue
            channels[name] = _Channel(
                id=cid,
                name=name,
                type=ctype,
                created=_epoch_seconds(c.get("created")),
                topic=_str(_dict(c.get("topic")).get("value")),
                purpose=_str(_dict(c.get("purpose")).get("value")),
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
    export = _Export(Path(path))
    try:
        users = _read_users(export)
        channels = _read_channels(export)
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


_MARKUP = re.compile(r"<([^<>\n]*)>")


@dataclass
class _Renderer:
    """Turns Slack mrkdwn references into readable text."""

    users: dict[str, _User]
    channel_names: dict[str, str]
    unresolved: set[str] = field(default_factory=set)

    def handle(self, uid: str, label: str | None = None) -> str:
        user = self.users.get(uid)
        if user is not None and user.name:
            return user.name
        self.unresolved.add(uid)
        return label or uid

    def _sub(self, m: re.Match[str]) -> str:
        target, _, label = m.group(1).partition("|")
        if target.startswith("@"):
            return "@" + self.handle(target[1:], label.lstrip("@") or None)
        if target.startswith("#"):
            return "#" + (label or self.channel_names.get(target[1:]) or target[1:])
        if target.startswith("!"):
            cmd = target[1:]
            if cmd in ("here", "channel", "everyone", "group"):
                return "@" + cmd
            if cmd.startswith("subteam^"):
                return label or "@" + cmd.split("^", 1)[1]
            return label or cmd
        if not label or label == target or "mailto:" + label == target:
            return label or target
        return f"{label} ({target})"

    def text(self, raw: str) -> str:
        out = _MARKUP.sub(self._sub, raw)
        return out.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _attachment_texts(msg: dict[str, Any], render: _Renderer) -> list[str]:
    texts = []
    for att in _list(msg.get("attachments")):
        if not isinstance(att, dict):
            continue
        parts = [_str(att.get(k)) for k in ("pretext", "title", "text")]
        body = " / ".join(render.text(p) for p in parts if p) or render.text(_str(att.get("fallback")) or "")
        if body:
            texts.append(_one_line(body))
    return texts


def _file_names(msg: dict[str, Any]) -> list[str]:
    files = [msg.get("file")] + (msg.get("files") if isinstance(msg.get("files"), list) else [])
    names = [_str(_dict(f).get("name")) or _str(_dict(f).get("title")) for f in files]
    return [n for n in names if n]


def _actor(msg: dict[str, Any], render: _Renderer) -> tuple[str | None, str | None]:
    """(user id, actor) of a message: the user's handle, else the bot's name."""
    uid = _str(msg.get("user"))
    if uid is None:
        uid = _str(_dict(msg.get("comment")).get("user")) or _str(_dict(msg.get("message")).get("user"))
    bot_name = _str(msg.get("username")) or _str(_dict(msg.get("bot_profile")).get("name"))
    if msg.get("subtype") == "bot_message" and bot_name and "<@" not in bot_name:
        return uid, bot_name
    if uid is not None:
        return uid, render.handle(uid)
    if bot_name:
        return None, render.text(bot_name)
    return None, _str(msg.get("bot_id"))


@dataclass
class _Msg:
    origin: str
    channel: str
    ts: str
    us: int
    raw: dict[str, Any]

    @property
    def thread_ts(self) -> str | None:
        return _str(self.raw.get("thread_ts"))


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _slack_row(msg: _Msg, render: _Renderer, channels: dict[str, _Channel], threads: dict[str, Any]) -> dict[str, Any]:
    m = msg.raw
    uid, actor = _actor(m, render)
    raw_text = m.get("text") if isinstance(m.get("text"), str) else ""
    if not raw_text and isinstance(_dict(m.get("message")).get("text"), str):
        raw_text = m["message"]["text"]
    text = render.text(raw_text)
    attachments = _attachment_texts(m, render)
    files = _file_names(m)
    if not text.strip():
        first = next((x for x in _list(m.get("attachments")) if isinstance(x, dict)), {})
        fallback = _str(first.get("fallback"))
        text = render.text(fallback) if fallback else attachments[0] if attachments else ", ".join(files)
    user = render.users.get(uid) if uid else None
    chan = channels.get(msg.channel)
    attrs: dict[str, Any] = {
        "channel": msg.channel,
        "channel_id": chan.id if chan else None,
        "channel_type": chan.type if chan else None,
        "ts": msg.ts,
        "user": uid,
        "real_name": user.real_name if user else None,
        "display_name": user.display_name if user else None,
        "subtype": _str(m.get("subtype")),
        "bot_id": _str(m.get("bot_id")),
        "username": _str(m.get("username")) if uid is None or m.get("subtype") == "bot_message" else None,
        "files": files or None,
        "attachments": attachments or None,
        "edited": m.get("edited") if isinstance(m.get("edited"), dict) else None,
        "hidden": m.get("hidden") if isinstance(m.get("hidden"), bool) else None,
    }
    reactions = [
        {"name": r.get("name"), "count": r.get("count"), "users": r.get("users")}
        for r in (m.get("reactions") if isinstance(m.get("reactions"), list) else [])
        if isinstance(r, dict)
    ]
    if reactions:
        attrs["reactions"] = reactions
    for key in ("topic", "purpose", "name", "old_name", "item_type", "inviter"):
        if _str(m.get(key)):
            attrs[key] = m[key]
    if "file" in m and "comment" in m and isinstance(m.get("comment"), dict):
        attrs["comment_id"] = _str(m["comment"].get("id"))
    attrs.update(threads.get(msg.origin, {}))
    return {
        "ts": msg.us,
        "actor": actor,
        "message": _one_line(text),
        "attrs": to_json({k: v for k, v in attrs.items() if v is not None}),
        "origin": msg.origin,
    }


def _rebuild_threads(msgs: list[_Msg], render: _Renderer) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Thread attrs per message origin, built across all day files; and notes."""
    by_key = {(m.channel, m.ts): m for m in msgs}
    found: Counter[tuple[str, str]] = Counter()
    for m in msgs:
        if m.thread_ts is not None and m.thread_ts != m.ts:
            found[(m.channel, m.thread_ts)] += 1
    out: dict[str, dict[str, Any]] = {}
    missing_parents = short_threads = 0
    for m in msgs:
        raw = m.raw
        declared = _int(raw.get("reply_count"))
        if declared is None and isinstance(raw.get("replies"), list):
            declared = len(raw["replies"])
        is_root = (m.thread_ts == m.ts) or (m.thread_ts is None and bool(declared))
        if is_root:
            got = found[(m.channel, m.ts)]
            attrs: dict[str, Any] = {"thread_ts": m.ts, "thread_root": True, "replies_found": got}
            if declared is not None:
                attrs["reply_count"] = declared
                if got < declared:
                    attrs["replies_missing"] = declared - got
                    short_threads += 1
            if isinstance(raw.get("reply_users"), list):
                attrs["reply_users"] = raw["reply_users"]
            if _str(raw.get("latest_reply")):
                attrs["latest_reply"] = raw["latest_reply"]
            out[m.origin] = attrs
        elif m.thread_ts is not None:
            parent = by_key.get((m.channel, m.thread_ts))
            attrs = {"thread_ts": m.thread_ts, "thread_root": False}
            parent_uid = _str(raw.get("parent_user_id")) or (_str(parent.raw.get("user")) if parent else None)
            if parent_uid:
                attrs["parent_user_id"] = parent_uid
                attrs["parent_actor"] = render.handle(parent_uid)
            if parent is None:
                attrs["parent_missing"] = True
                missing_parents += 1
            out[m.origin] = attrs
    notes = []
    roots = sum(1 for a in out.values() if a.get("thread_root"))
    if roots or out:
        notes.append(f"{roots} thread(s) rebuilt across day files ({len(out) - roots} replies)")
    if short_threads:
        notes.append(f"{short_threads} thread(s) have fewer replies in the export than their reply_count says")
    if missing_parents:
        notes.append(f"{missing_parents} repl(ies) whose thread parent is not in the export")
    return out, notes


def _sniff_slack(head: str) -> bool:
    if head.startswith("PK\x03\x04"):
        return True  # a zip: the only zipped chat format
    text = head.lstrip()
    if not text.startswith("["):
        return False
    return bool(
        re.search(r'"ts"\s*:\s*"\d{9,}\.\d+"', head)
        or re.search(r'"type"\s*:\s*"message"', head)
        or re.search(r'"(is_general|is_channel|is_archived)"\s*:', head)
    )


@register(
    "chat",
    "slack",
    description="Slack export folder or .zip (channels.json, users.json, <channel>/<date>.json): one event per message",
    example=(
        "export/channels.json  users.json  incident-2025-06-15/2025-06-15.json:\n"
        '[{"type": "message", "user": "U061A5N1G", "ts": "1750000021.000200",\n'
        '  "text": "<@U064KUGRJ> rolling back <https://deploy.example/r/42|release 42>",\n'
        '  "thread_ts": "1750000021.000200", "reply_count": 2}]'
    ),
    sniff=_sniff_slack,
)
def load_slack(req: LoadRequest) -> LoadResult:
    """A Slack export -> one ``chat`` event per message, threads rebuilt across day files."""
    _check_options(req)
    export = _Export(Path(req.path))
    try:
        return _load_export(export)
    finally:
        export.close()


def _load_export(export: _Export) -> LoadResult:
    users = _read_users(export)
    channels = _read_channels(export)
    channel_names = {c.id: c.name for c in channels.values() if c.id}
    render = _Renderer(users, channel_names)
    day_files = [n for n in export.names if _DAY_FILE.match(n) and (export.only is None or n == export.only)]
    others = [
        n
        for n in export.names
        if n not in day_files and n not in _META_FILES and n != "integration_logs.json" and export.only is None
    ]
    if not day_files:
        raise SourceError(f"{export.path}: no <channel>/<YYYY-MM-DD>.json day files; expected a Slack export")
    msgs: list[_Msg] = []
    rej_origin: list[str] = []
    rej_reason: list[str] = []
    rej_raw: list[str | None] = []
    inputs = 0
    for rel in day_files:
        channel = rel.split("/", 1)[0]
        data = export.read_json(rel)
        if not isinstance(data, list):
            raise SourceError(
                f"{export.origin(rel)}: expected a JSON list of messages (a Slack day file), "
                f"got a JSON {type(data).__name__}"
            )
        for i, m in enumerate(data):
            inputs += 1
            origin = f"{export.origin(rel)}#{i}"
            reason: str | None = None
            if not isinstance(m, dict):
                reason = f"a JSON {type(m).__name__}, not a message object"
            elif m.get("ts") is None:
                reason = "message has no ts"
            else:
                try:
                    us = slack_ts_us(m["ts"])
                except ValueError as exc:
                    reason = str(exc)
            if reason is not None:
                rej_origin.append(origin)
                rej_reason.append(reason)
                rej_raw.append(json.dumps(m, ensure_ascii=False, default=str))
                continue
            msgs.append(_Msg(origin, channel, m["ts"].strip(), us, m))
    threads, notes = _rebuild_threads(msgs, render)
    rows = [_slack_row(m, render, channels, threads) for m in msgs]
    counts = Counter(_str(m.raw.get("subtype")) or "message" for m in msgs)
    seen_channels = sorted({m.channel for m in msgs} | {r.split("/", 1)[0] for r in day_files})
    notes.insert(
        0,
        f"slack export: {len(channels)} channel(s) listed, {len(users)} user(s) in users.json, "
        f"{len(day_files)} day file(s) in {len(seen_channels)} channel folder(s)",
    )
    notes.append("messages by subtype: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    unlisted = [c for c in seen_channels if c not in channels]
    if unlisted and (channels or export.only is None):
        notes.append(f"channel folder(s) not in channels.json (loaded anyway): {', '.join(unlisted)}")
    if render.unresolved:
        notes.append(
            f"{len(render.unresolved)} user id(s) not in users.json, kept as ids: {', '.join(sorted(render.unresolved)[:5])}"
        )
    if others:
        notes.append(f"{len(others)} file(s) that are not day files were not read: {', '.join(others[:5])}")
    return LoadResult(
        frame=_events_frame(rows),
        rejects=rejects_frame(rej_origin, rej_reason, rej_raw),
        inputs=inputs,
        parsed_inputs=len(rows),
        unit="messages",
        notes=tuple(notes),
    )


# =========================================================================== transcript

_TIME = r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,9}))?)?(?:\s?(?P<ampm>[AaPp]\.?[Mm]\.?))?"
_DATE = r"(?P<date>\d{4}-\d{2}-\d{2})[T ]"
_ZONE = r"(?P<tz>\s?(?:Z|UTC|[+-]\d{2}:?\d{2}))?"
_BRACKETED = re.compile(rf"^\s*\[(?:{_DATE})?{_TIME}{_ZONE}\]\s*(?P<rest>.*)$")
_BARE_DATED = re.compile(rf"^\s*{_DATE}{_TIME}{_ZONE}\s+(?P<rest>.*)$")
_BARE_TIME = re.compile(rf"^\s*{_TIME}\s+(?P<rest>(?:<[^>\s]+>|\*\s+\S+|-!-).*)$")
_IRC_NICK = re.compile(r"^<[@+%~&]?(?P<name>[^>\s]+)>\s?(?P<text>.*)$")
_IRC_ACTION = re.compile(r"^\*\s+(?P<name>\S+)\s+(?P<text>.*)$")
_NAMED = re.compile(r"^(?P<name>[\w.@'-]+(?: [\w.@'-]+){0,2}):(?:\s+(?P<text>.*)|$)")


def _stamp(line: str) -> re.Match[str] | None:
    return _BRACKETED.match(line) or _BARE_DATED.match(line) or _BARE_TIME.match(line)


def _speaker(rest: str) -> tuple[str | None, str]:
    """(actor, message) of the text after a stamp."""
    for pattern in (_IRC_NICK, _IRC_ACTION):
        m = pattern.match(rest)
        if m:
            text = m.group("text")
            return m.group("name"), (f"* {m.group('name')} {text}" if pattern is _IRC_ACTION else text)
    m = _NAMED.match(rest)
    if m:
        return m.group("name"), m.group("text") or ""
    return None, rest


def _time_of_day(m: re.Match[str]) -> dt.time:
    hour, minute, second = int(m.group("h")), int(m.group("mi")), int(m.group("s") or 0)
    ampm = (m.group("ampm") or "").replace(".", "").lower()
    if ampm:
        if not 1 <= hour <= 12:
            raise ValueError(f"{hour} is not an hour of a 12-hour clock")
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    micro = int((m.group("f") or "")[:6].ljust(6, "0"))
    return dt.time(hour, minute, second, micro)  # ValueError when out of range


def _offset_us(tz_text: str | None, local: dt.datetime, zone: zoneinfo.ZoneInfo) -> int:
    """The UTC offset (microseconds) for a stamp: its own, else the zone's at that local time."""
    if tz_text:
        tz_text = tz_text.strip()
        if tz_text in ("Z", "UTC"):
            return 0
        sign = -1 if tz_text[0] == "-" else 1
        digits = tz_text[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:4])
        if hours > 23 or minutes > 59:
            raise ValueError(f"{tz_text} is not a UTC offset")
        return sign * (hours * 3600 + minutes * 60) * _US
    offset = local.replace(tzinfo=zone).utcoffset()
    return int(offset.total_seconds() * _US) if offset is not None else 0


def _anchor_date(req: LoadRequest) -> tuple[dt.date | None, str]:
    """The date for time-only lines and where it came from."""
    raw = req.options.get("date")
    if raw is not None:
        if isinstance(raw, dt.datetime):
            return raw.date(), "options.date"
        if isinstance(raw, dt.date):
            return raw, "options.date"
        try:
            return dt.date.fromisoformat(str(raw).strip()), "options.date"
        except ValueError:
            raise SourceError(f"{req.path}: options.date {raw!r} is not a date; expected YYYY-MM-DD") from None
    if req.window is not None:
        start = req.window[0]
        if start.tzinfo is not None and req.timezone:
            start = start.astimezone(zoneinfo.ZoneInfo(req.timezone))
        return start.date(), "the incident window start"
    return None, ""


@dataclass
class _Pending:
    """A message being assembled from its stamp line and continuation lines."""

    origin: str
    us: int
    actor: str | None
    lines: list[str]
    stamp: str
    line_count: int = 1


def _sniff_transcript(head: str) -> bool:
    lines = [ln for ln in head.splitlines() if ln.strip()][:5]
    return (
        bool(lines) and _stamp(lines[0]) is not None and sum(_stamp(ln) is not None for ln in lines) * 2 >= len(lines)
    )


@register(
    "chat",
    "transcript",
    description="Plain chat transcript lines: [14:25] alice: text, [2025-06-15 14:25:03] alice: text, 14:25 <alice> text",
    example=(
        "[2025-06-15 14:23:10] alice: checkout 5xx climbing, paging\n"
        "[14:25] bob: rolling back release 42\n"
        "  (continuation lines join the message above)\n"
        "14:31 <alice> error rate back to baseline"
    ),
    sniff=_sniff_transcript,
)
def load_transcript(req: LoadRequest) -> LoadResult:
    """Transcript lines -> ``chat`` events; time-only lines are anchored on a date (see module docs)."""
    _check_options(req, ("date",))
    try:
        zone = zoneinfo.ZoneInfo(req.timezone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise SourceError(f"{req.path}: timezone {req.timezone!r} is not an IANA time zone") from None
    anchor, anchor_from = _anchor_date(req)
    rows: list[dict[str, Any]] = []
    rej_origin: list[str] = []
    rej_reason: list[str] = []
    rej_raw: list[str | None] = []
    inputs = parsed = rollovers = 0
    used_anchor = naive_seen = False
    for path in req.files():
        current, current_is_anchor = anchor, anchor is not None
        prev_local: dt.datetime | None = None
        pending: _Pending | None = None
        lines = textio.read_lines(path)
        for line_no, line in zip(
            lines.get_column("line_no").to_list(), lines.get_column("line").to_list(), strict=True
        ):
            if not line.strip():
                continue
            inputs += 1
            origin = f"{path}:{line_no}"
            m = _stamp(line)
            if m is None:
                if pending is None:
                    rej_origin.append(origin)
                    rej_reason.append("no timestamp, and no message above it to continue")
                    rej_raw.append(line)
                else:
                    pending.lines.append(line.strip())
                    pending.line_count += 1
                    parsed += 1
                continue
            date_text, tz_text = m.groupdict().get("date"), m.groupdict().get("tz")
            if date_text is None and current is None:
                raise SourceError(
                    f"{origin}: the time {m.group('h')}:{m.group('mi')} has no date, and the source gives none; "
                    "set options: {date: YYYY-MM-DD} (or the incident window) to anchor time-only lines"
                )
            try:
                tod = _time_of_day(m)
                if date_text:
                    current, current_is_anchor = dt.date.fromisoformat(date_text), False
                    local = dt.datetime.combine(current, tod)
                else:
                    assert current is not None
                    used_anchor = used_anchor or current_is_anchor
                    local = dt.datetime.combine(current, tod)
                    if prev_local is not None and local < prev_local - dt.timedelta(hours=12):
                        local += dt.timedelta(days=1)
                        current = local.date()
                        rollovers += 1
                us = (local - _EPOCH) // dt.timedelta(microseconds=1) - _offset_us(tz_text, local, zone)
            except (ValueError, OverflowError) as exc:
                rej_origin.append(origin)
                rej_reason.append(f"invalid timestamp: {exc}")
                rej_raw.append(line)
                continue
            naive_seen = naive_seen or not tz_text
            prev_local = local
            if pending is not None:
                rows.append(_transcript_row(pending))
            actor, text = _speaker(m.group("rest"))
            pending = _Pending(origin, us, actor, [text.strip()], line[: m.start("rest")].strip())
            parsed += 1
        if pending is not None:
            rows.append(_transcript_row(pending))
    notes = []
    if used_anchor and anchor is not None:
        notes.append(f"time-only lines anchored on {anchor.isoformat()} (from {anchor_from})")
    if rollovers:
        notes.append(
            f"{rollovers} midnight rollover(s): a time more than 12h before the previous line's is the next day"
        )
    if naive_seen and rows:
        notes.append(
            f"times without an offset read in {req.timezone}" if req.timezone else "times without an offset read as UTC"
        )
    return LoadResult(
        frame=_events_frame(rows),
        rejects=rejects_frame(rej_origin, rej_reason, rej_raw),
        inputs=inputs,
        parsed_inputs=parsed,
        unit="lines",
        notes=tuple(notes),
    )


def _transcript_row(p: _Pending) -> dict[str, Any]:
    attrs: dict[str, Any] = {"stamp": p.stamp}
    if p.line_count > 1:
        attrs["lines"] = p.line_count
    return {
        "ts": p.us,
        "actor": p.actor,
        "message": " ⏎ ".join(x for x in p.lines if x) if len(p.lines) > 1 else p.lines[0],
        "attrs": to_json(attrs),
        "origin": p.origin,
    }
