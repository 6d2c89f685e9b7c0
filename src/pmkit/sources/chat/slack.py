"""Slack exports (``slack``) -> one ``chat`` event per message, threads rebuilt across day files.

``path`` is an export folder, a ``.zip`` of one (a wrapping top folder is fine), a
single ``<channel>/<YYYY-MM-DD>.json`` day file of an export, or one channel file outside
the export layout (any other ``.json`` name):

- slackdump's ``channel.json`` (``slackdump dump``: ``{"channel_id", "name", "messages": [...],
  "thread_ts"}``; thread replies inline under a message's ``slackdump_thread_replies`` are
  loaded after their parent, one input each; a copy of the parent among its own replies, which
  ``conversations.replies`` returns first, is not an input and is noted);
- a Web API ``conversations.replies`` / ``conversations.history`` response (``{"ok": true,
  "messages": [...]}``; ``ok: false`` is an error quoting Slack's ``error``);
- a JSON list of messages (a channel's or a bot's messages, as a script saved them).

  For a channel file the channel is the file's ``name`` (else ``channel_id``, else the file
  name); names come from a ``users.json`` beside the file, else from each message's own
  ``user_profile`` (API responses and slackdump carry one), else the id is kept (noted). A
  message whose ``ts`` was already loaded from the same file (``conversations.replies`` repeats
  the parent when pages are appended) is rejected as a duplicate naming the first origin.
  A folder with no day files but such channel files (``slackdump dump C1 C2`` writes
  ``C1.json``, ``C2.json``) loads each of them this way. The export holds
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

The export's files, users and channels are read by :mod:`pmkit.sources.slackexport`.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from pmkit.errors import SourceError
from pmkit.sources.base import LoadRequest, LoadResult, rejects_frame, to_json
from pmkit.sources.chatcore import as_dict, check_options, events_frame, nonblank_str
from pmkit.sources.registry import register
from pmkit.sources.slackexport import (
    META_FILES,
    SlackChannel,
    SlackExport,
    SlackUser,
    read_channels,
    read_users,
    slack_ts_us,
)

_DAY_FILE = re.compile(r"^(?P<chan>[^/]+)/(?P<day>\d{4}-\d{2}-\d{2})\.json$")


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _one_line(text: str) -> str:
    """Newlines become `` ⏎ `` (the message column is one line a person can read)."""
    return " ⏎ ".join(text.replace("\r\n", "\n").replace("\r", "\n").split("\n")).strip()


_MARKUP = re.compile(r"<([^<>\n]*)>")


@dataclass
class _Renderer:
    """Turns Slack mrkdwn references into readable text."""

    users: dict[str, SlackUser]
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
        parts = [nonblank_str(att.get(k)) for k in ("pretext", "title", "text")]
        body = " / ".join(render.text(p) for p in parts if p) or render.text(nonblank_str(att.get("fallback")) or "")
        if body:
            texts.append(_one_line(body))
    return texts


def _file_names(msg: dict[str, Any]) -> list[str]:
    files = [msg.get("file"), *_list(msg.get("files"))]
    names = [nonblank_str(as_dict(f).get("name")) or nonblank_str(as_dict(f).get("title")) for f in files]
    return [n for n in names if n]


def _actor(msg: dict[str, Any], render: _Renderer) -> tuple[str | None, str | None]:
    """(user id, actor) of a message: the user's handle, else the bot's name."""
    uid = nonblank_str(msg.get("user"))
    if uid is None:
        uid = nonblank_str(as_dict(msg.get("comment")).get("user")) or nonblank_str(
            as_dict(msg.get("message")).get("user")
        )
    bot_name = nonblank_str(msg.get("username")) or nonblank_str(as_dict(msg.get("bot_profile")).get("name"))
    if msg.get("subtype") == "bot_message" and bot_name and "<@" not in bot_name:
        return uid, bot_name
    if uid is not None:
        return uid, render.handle(uid)
    if bot_name:
        return None, render.text(bot_name)
    return None, nonblank_str(msg.get("bot_id"))


@dataclass
class _Msg:
    origin: str
    channel: str
    ts: str
    us: int
    raw: dict[str, Any]

    @property
    def thread_ts(self) -> str | None:
        return nonblank_str(self.raw.get("thread_ts"))


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _slack_row(
    msg: _Msg, render: _Renderer, channels: dict[str, SlackChannel], threads: dict[str, Any]
) -> dict[str, Any]:
    m = msg.raw
    uid, actor = _actor(m, render)
    given = m.get("text")
    raw_text: str = given if isinstance(given, str) else ""
    if not raw_text and isinstance(as_dict(m.get("message")).get("text"), str):
        raw_text = m["message"]["text"]
    text = render.text(raw_text)
    attachments = _attachment_texts(m, render)
    files = _file_names(m)
    if not text.strip():
        first = next((x for x in _list(m.get("attachments")) if isinstance(x, dict)), {})
        fallback = nonblank_str(first.get("fallback"))
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
        "subtype": nonblank_str(m.get("subtype")),
        "bot_id": nonblank_str(m.get("bot_id")),
        "username": nonblank_str(m.get("username")) if uid is None or m.get("subtype") == "bot_message" else None,
        "files": files or None,
        "attachments": attachments or None,
        "edited": m.get("edited") if isinstance(m.get("edited"), dict) else None,
        "hidden": m.get("hidden") if isinstance(m.get("hidden"), bool) else None,
    }
    reactions = [
        {"name": r.get("name"), "count": r.get("count"), "users": r.get("users")}
        for r in _list(m.get("reactions"))
        if isinstance(r, dict)
    ]
    if reactions:
        attrs["reactions"] = reactions
    for key in ("topic", "purpose", "name", "old_name", "item_type", "inviter"):
        if nonblank_str(m.get(key)):
            attrs[key] = m[key]
    if "file" in m and "comment" in m and isinstance(m.get("comment"), dict):
        attrs["comment_id"] = nonblank_str(m["comment"].get("id"))
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
            if nonblank_str(raw.get("latest_reply")):
                attrs["latest_reply"] = raw["latest_reply"]
            out[m.origin] = attrs
        elif m.thread_ts is not None:
            parent = by_key.get((m.channel, m.thread_ts))
            attrs = {"thread_ts": m.thread_ts, "thread_root": False}
            parent_uid = nonblank_str(raw.get("parent_user_id")) or (
                nonblank_str(parent.raw.get("user")) if parent else None
            )
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
    if text.startswith("{"):  # one channel file: slackdump's channel.json, a conversations.* response
        return '"messages"' in head and bool(
            re.search(r'"ts"\s*:\s*"\d{9,}\.\d+"', head) or re.search(r'"channel_id"\s*:', head)
        )
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
    description=(
        "Slack export folder or .zip (channels.json, users.json, <channel>/<date>.json), or one channel file "
        "(slackdump channel.json, a conversations.replies thread, a JSON list of messages): one event per message"
    ),
    example=(
        "export/channels.json  users.json  incident-2025-06-15/2025-06-15.json:\n"
        '[{"type": "message", "user": "U061A5N1G", "ts": "1750000021.000200",\n'
        '  "text": "<@U064KUGRJ> rolling back <https://deploy.example/r/42|release 42>",\n'
        '  "thread_ts": "1750000021.000200", "reply_count": 2}]\n'
        'or channel.json (slackdump): {"channel_id": "C07INC0615", "name": "inc-checkout", "messages": [...]}'
    ),
    sniff=_sniff_slack,
    options=(),
    independent_files=False,
)
def load_slack(req: LoadRequest) -> LoadResult:
    """A Slack export -> one ``chat`` event per message, threads rebuilt across day files."""
    check_options(req)
    export = SlackExport(Path(req.path), contain=req.check_inside)
    try:
        if export.single:
            return _load_single(export)
        loose = _channel_files(export)
        if loose:
            return _load_channel_files(req, loose)
        return _load_export(export)
    finally:
        export.close()


def _channel_files(export: SlackExport) -> list[Path]:
    """A folder holding channel files (``slackdump dump C1 C2`` writes ``C1.json``, ``C2.json``) and no day
    files: those files, each loaded as one channel file."""
    if export.only is not None or not export.path.is_dir() or any(_DAY_FILE.match(n) for n in export.names):
        return []
    return [
        export.path / (export.prefix + n)
        for n in export.names
        if n.lower().endswith(".json") and n not in META_FILES and n != "integration_logs.json"
    ]


def _load_channel_files(req: LoadRequest, files: list[Path]) -> LoadResult:
    """Several channel files of one folder, each read as :func:`_load_single` reads one."""
    parts = []
    for f in files:
        one = SlackExport(f, contain=req.check_inside)
        try:
            parts.append(_load_single(one))
        finally:
            one.close()
    return LoadResult(
        frame=pl.concat([p.frame for p in parts]),
        rejects=pl.concat([p.rejects for p in parts]),
        inputs=sum(p.inputs for p in parts),
        parsed_inputs=sum(p.parsed_inputs for p in parts),
        unit="messages",
        notes=(f"no day files: {len(files)} channel file(s) loaded one by one", *(n for p in parts for n in p.notes)),
    )


_SINGLE_EXPECTED = (
    'a Slack channel file: slackdump\'s channel.json {"channel_id", "name", "messages": [...]}, '
    'a conversations.replies / conversations.history response {"messages": [...]}, or a JSON list of messages'
)


def _single_messages(data: Any, origin: str, stem: str) -> tuple[str, str, list[tuple[str, Any]], int]:
    """(channel, shape, [(origin, message)], repeats) of one channel file; slackdump's inline thread replies
    (``slackdump_thread_replies``) follow their parent, except a copy of the parent itself (``repeats``)."""
    if isinstance(data, list):
        channel, shape, top = stem, "a list of messages", [(f"{origin}#[{i}]", m) for i, m in enumerate(data)]
    elif isinstance(data, dict) and isinstance(data.get("messages"), list):
        if data.get("ok") is False:
            raise SourceError(f"{origin}: a Slack API error response (ok: false): {data.get('error')}")
        chan = as_dict(data.get("channel"))
        channel = (
            nonblank_str(data.get("name"))
            or nonblank_str(chan.get("name"))
            or nonblank_str(data.get("channel_id"))
            or nonblank_str(chan.get("id"))
            or stem
        )
        shape = "slackdump channel file" if "channel_id" in data else "Slack API messages response"
        top = [(f"{origin}#messages[{i}]", m) for i, m in enumerate(data["messages"])]
    elif isinstance(data, dict) and isinstance(data.get("messages"), dict | str | int | float):
        raise SourceError(f"{origin}: 'messages' is not a list; expected {_SINGLE_EXPECTED}")
    else:
        got = (
            f"a JSON object with keys {sorted(data)[:8]}" if isinstance(data, dict) else f"a JSON {type(data).__name__}"
        )
        raise SourceError(f"{origin}: {got}; expected {_SINGLE_EXPECTED}")
    out: list[tuple[str, Any]] = []
    repeats = 0
    for where, m in top:
        out.append((where, m))
        parent_ts = as_dict(m).get("ts")
        for k, reply in enumerate(_list(as_dict(m).get("slackdump_thread_replies"))):
            if parent_ts is not None and as_dict(reply).get("ts") == parent_ts:
                repeats += 1  # conversations.replies starts with the parent; slackdump may keep that copy
                continue
            out.append((f"{where}.slackdump_thread_replies[{k}]", reply))
    return channel, shape, out, repeats


def _embedded_users(items: list[tuple[str, Any]], users: dict[str, SlackUser]) -> int:
    """Users named by the messages' own ``user_profile`` (API responses and slackdump carry one), for
    ids not in users.json; returns how many were added."""
    added = 0
    for _, m in items:
        uid = nonblank_str(as_dict(m).get("user"))
        prof = as_dict(as_dict(m).get("user_profile"))
        if uid is None or uid in users or not prof:
            continue
        users[uid] = SlackUser(
            id=uid,
            name=nonblank_str(prof.get("name")) or nonblank_str(prof.get("display_name")),
            real_name=nonblank_str(prof.get("real_name")),
            display_name=nonblank_str(prof.get("display_name")),
            is_bot=bool(prof.get("is_bot")),
            deleted=False,
        )
        added += 1
    return added


def _load_single(export: SlackExport) -> LoadResult:
    """One channel file outside the export layout -> ``chat`` events (see the module docstring)."""
    assert export.single is not None
    rel = export.single
    users = read_users(export)
    listed = len(users)
    channels = read_channels(export)
    channel, shape, items, repeats = _single_messages(export.read_json(rel), export.origin(rel), Path(rel).stem)
    embedded = _embedded_users(items, users)
    render = _Renderer(users, {c.id: c.name for c in channels.values() if c.id})
    msgs: list[_Msg] = []
    rej_origin: list[str] = []
    rej_reason: list[str] = []
    rej_raw: list[str | None] = []
    first: dict[str, str] = {}
    for origin, m in items:
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
            else:
                ts = m["ts"].strip()
                if ts in first:  # a thread file repeats its parent; an appended page repeats messages
                    reason = f"duplicate of the message with ts {ts} at {first[ts]}"
                else:
                    first[ts] = origin
        if reason is not None:
            rej_origin.append(origin)
            rej_reason.append(reason)
            rej_raw.append(json.dumps(m, ensure_ascii=False, default=str))
            continue
        msgs.append(_Msg(origin, channel, m["ts"].strip(), us, m))
    threads, notes = _rebuild_threads(msgs, render)
    rows = [_slack_row(m, render, channels, threads) for m in msgs]
    counts = Counter(nonblank_str(m.raw.get("subtype")) or "message" for m in msgs)
    notes.insert(
        0,
        f"slack {shape}: channel {channel!r}, {len(items)} message(s); {listed} user(s) in a users.json beside it, "
        f"{embedded} named by the messages' user_profile",
    )
    notes.append("messages by subtype: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    if repeats:
        notes.append(f"{repeats} thread parent(s) repeated among their own slackdump_thread_replies: not counted again")
    if render.unresolved:
        notes.append(
            f"{len(render.unresolved)} user id(s) without a name (no users.json beside the file, no user_profile), "
            f"kept as ids: {', '.join(sorted(render.unresolved)[:5])}"
        )
    return LoadResult(
        frame=events_frame(rows),
        rejects=rejects_frame(rej_origin, rej_reason, rej_raw),
        inputs=len(items),
        parsed_inputs=len(rows),
        unit="messages",
        notes=tuple(notes),
    )


def _load_export(export: SlackExport) -> LoadResult:
    users = read_users(export)
    channels = read_channels(export)
    channel_names = {c.id: c.name for c in channels.values() if c.id}
    render = _Renderer(users, channel_names)
    day_files = [n for n in export.names if _DAY_FILE.match(n) and (export.only is None or n == export.only)]
    others = [
        n
        for n in export.names
        if n not in day_files and n not in META_FILES and n != "integration_logs.json" and export.only is None
    ]
    if not day_files:
        raise SourceError(f"{export.path}: no <channel>/<YYYY-MM-DD>.json day files; expected a Slack export")
    msgs: list[_Msg] = []
    rej_origin: list[str] = []
    rej_reason: list[str] = []
    rej_raw: list[str | None] = []
    notes_pre: list[str] = []
    inputs = 0
    for rel in day_files:
        channel = rel.split("/", 1)[0]
        try:
            data = export.read_json(rel)
        except SourceError as exc:  # one broken day file is that file's reject, the rest of the export loads
            data = exc
        if not isinstance(data, list):
            why = (
                str(data)
                if isinstance(data, SourceError)
                else f"{export.origin(rel)}: expected a JSON list of messages (a Slack day file), "
                f"got a JSON {type(data).__name__}"
            )
            inputs += 1
            rej_origin.append(export.origin(rel))
            rej_reason.append(f"day file not loaded: {why}")
            rej_raw.append(None)
            notes_pre.append(f"{rel} not loaded ({why}); counted as 1 rejected input")
            continue
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
    counts = Counter(nonblank_str(m.raw.get("subtype")) or "message" for m in msgs)
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
    notes += notes_pre
    return LoadResult(
        frame=events_frame(rows),
        rejects=rejects_frame(rej_origin, rej_reason, rej_raw),
        inputs=inputs,
        parsed_inputs=len(rows),
        unit="messages",
        notes=tuple(notes),
    )
