"""Format writers: evidence in the shapes the real tools export, as deterministic bytes.

Every function here returns plain Python objects or ``bytes``; none reads the clock or
depends on set order. JSON keeps the key order it is built with (the order the tool
itself writes), gzip has ``mtime=0`` and no file name.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import yaml

from samplegen.common import Rng, dt_of, iso_ms, iso_ns, iso_s, slack_ts

# ----------------------------------------------------------------------------- files


def json_bytes(obj: Any, *, indent: int | str | None = 2) -> bytes:
    """Pretty JSON with a final newline (``indent=None``: compact, as Go's ``json.Marshal``)."""
    if indent is None:
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    else:
        text = json.dumps(obj, ensure_ascii=False, indent=indent)
    return (text + "\n").encode("utf-8")


def go_json_bytes(obj: Any) -> bytes:
    """Compact JSON as Go's ``encoding/json`` writes it: ``<``, ``>`` and ``&`` escaped as ``\\u003c``..."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    return (text + "\n").encode("utf-8")


def gzip_bytes(data: bytes) -> bytes:
    """gzip with no file name and ``mtime=0``: the same input always gives the same bytes."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(data)
    return buf.getvalue()


def yaml_bytes(obj: Any, header: str = "") -> bytes:
    """Block-style YAML in the order given, after a ``#`` comment header."""
    body = yaml.safe_dump(obj, sort_keys=False, allow_unicode=True, width=110, default_flow_style=False)
    lines = "".join(f"# {h}\n" if h else "#\n" for h in header.splitlines()) if header else ""
    return (lines + body).encode("utf-8")


def lines_bytes(lines: Iterable[str]) -> bytes:
    """Lines joined with ``\\n`` (and a final one) as UTF-8, encoded in chunks to keep big files cheap."""
    chunks: list[bytes] = []
    buf: list[str] = []
    for line in lines:
        buf.append(line)
        if len(buf) == 50_000:
            chunks.append(("\n".join(buf) + "\n").encode("utf-8"))
            buf = []
    if buf:
        chunks.append(("\n".join(buf) + "\n").encode("utf-8"))
    return b"".join(chunks)


# ----------------------------------------------------------------------------- logs


def combined_line(
    ip: str,
    clf_time: str,
    request: str,
    status: int,
    size: int,
    referer: str,
    agent: str,
    extras: Sequence[tuple[str, str]],
) -> str:
    """nginx ``combined`` plus trailing ``key=value`` fields (``log_format main ... rt=$request_time``)."""
    tail = "".join(f" {k}={v}" for k, v in extras)
    return f'{ip} - - [{clf_time}] "{request}" {status} {size} "{referer}" "{agent}"{tail}'


_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def jsonl_line(record: dict[str, Any]) -> str:
    """One compact JSON object (multi-line strings stay inside the string, escaped)."""
    return _COMPACT.encode(record)


# ----------------------------------------------------------------------------- Prometheus


def prom_number(v: float) -> str:
    """A sample value as Prometheus writes it (Go ``FormatFloat(v, 'f', -1, 64)``: no exponent)."""
    if v != v:
        return "NaN"
    if v in (float("inf"), float("-inf")):
        return "+Inf" if v > 0 else "-Inf"
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    text = repr(float(v))
    return format(Decimal(text), "f") if "e" in text else text


def prom_time(ms: int) -> int | float:
    """Unix seconds as the API writes them: an integer when whole, else 3 decimals."""
    return ms // 1000 if ms % 1000 == 0 else round(ms / 1000, 3)


def prom_matrix(series: Sequence[tuple[dict[str, str], Sequence[tuple[int, float]]]]) -> dict[str, Any]:
    """A ``query_range`` response: ``series`` is ``(labels, [(ms, value), ...])``; empty series are left out."""
    result = [
        {"metric": dict(labels), "values": [[prom_time(ms), prom_number(v)] for ms, v in points]}
        for labels, points in series
        if points
    ]
    return {"status": "success", "data": {"resultType": "matrix", "result": result}}


# ----------------------------------------------------------------------------- GitHub deployments


def _node_id(kind: str, num: int) -> str:
    return base64.b64encode(f"{kind}{num}".encode()).decode()


def gh_user(login: str, uid: int, *, bot: bool = False) -> dict[str, Any]:
    """The ``creator`` object of a deployment or status (a user or a GitHub App bot)."""
    return {
        "login": login,
        "id": uid,
        "node_id": _node_id("04:User" if not bot else "03:Bot", uid),
        "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4",
        "gravatar_id": "",
        "url": f"https://api.github.com/users/{quote(login)}",
        "html_url": f"https://github.com/{quote(login)}" if not bot else f"https://github.com/apps/{login[:-5]}",
        "type": "Bot" if bot else "User",
        "site_admin": False,
    }


@dataclass
class GhStatus:
    """One deployment status (``in_progress``, ``success``, ``failure``, ``inactive``...)."""

    id: int
    state: str
    ms: int
    description: str
    creator: dict[str, Any]
    target_url: str = ""


def gh_deployment(
    *,
    repo: str,
    dep_id: int,
    sha: str,
    ref: str,
    task: str,
    payload: dict[str, Any],
    environment: str,
    description: str | None,
    creator: dict[str, Any],
    created_ms: int,
    statuses: Sequence[GhStatus],
) -> dict[str, Any]:
    """A deployment object of ``GET /repos/{owner}/{repo}/deployments`` with its ``statuses`` (newest first)."""
    api = f"https://api.github.com/repos/{repo}"
    url = f"{api}/deployments/{dep_id}"
    last = max([created_ms, *(s.ms for s in statuses)])
    return {
        "url": url,
        "id": dep_id,
        "node_id": _node_id("010:Deployment", dep_id),
        "sha": sha,
        "ref": ref,
        "task": task,
        "payload": payload,
        "original_environment": environment,
        "environment": environment,
        "description": description,
        "creator": creator,
        "created_at": iso_s(created_ms),
        "updated_at": iso_s(last),
        "statuses_url": f"{url}/statuses",
        "repository_url": api,
        "transient_environment": False,
        "production_environment": environment == "production",
        "performed_via_github_app": None,
        "statuses": [
            {
                "url": f"{url}/statuses/{s.id}",
                "id": s.id,
                "node_id": _node_id("016:DeploymentStatus", s.id),
                "state": s.state,
                "creator": s.creator,
                "description": s.description,
                "environment": environment,
                "target_url": s.target_url,
                "log_url": s.target_url,
                "created_at": iso_s(s.ms),
                "updated_at": iso_s(s.ms),
                "deployment_url": url,
                "repository_url": api,
                "environment_url": "",
                "performed_via_github_app": None,
            }
            for s in sorted(statuses, key=lambda s: (-s.ms, -s.id))
        ],
    }


# ----------------------------------------------------------------------------- Alertmanager


def am_fingerprint(labels: dict[str, str]) -> str:
    """Alertmanager's alert fingerprint: FNV-1a 64 over the sorted labels, ``0xff`` after each name and value."""
    h = 0xCBF29CE484222325
    for name in sorted(labels):
        for part in (name, labels[name]):
            for b in part.encode("utf-8") + b"\xff":
                h ^= b
                h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def am_labelset(labels: dict[str, str]) -> str:
    """A label set as Alertmanager prints it in a group key: ``{a="x", b="y"}`` (sorted)."""
    return "{" + ", ".join(f'{k}="{labels[k]}"' for k in sorted(labels)) + "}"


def am_alert(
    *,
    status: str,
    labels: dict[str, str],
    annotations: dict[str, str],
    starts: str,
    ends: str | None,
    generator_url: str,
) -> dict[str, Any]:
    """One entry of ``alerts[]`` (``ends`` None: still firing, Go's zero time)."""
    return {
        "status": status,
        "labels": {k: labels[k] for k in sorted(labels)},
        "annotations": {k: annotations[k] for k in sorted(annotations)},
        "startsAt": starts,
        "endsAt": ends if ends is not None else "0001-01-01T00:00:00Z",
        "generatorURL": generator_url,
        "fingerprint": am_fingerprint(labels),
    }


def am_payload(
    *,
    receiver: str,
    route_key: str,
    group_by: Sequence[str],
    alerts: Sequence[dict[str, Any]],
    external_url: str,
) -> dict[str, Any]:
    """An Alertmanager webhook (version 4) notification for one group of alerts."""
    first = alerts[0]["labels"]
    group_labels = {k: first[k] for k in sorted(group_by) if k in first}
    common_labels = {k: v for k, v in first.items() if all(a["labels"].get(k) == v for a in alerts)}
    first_ann = alerts[0]["annotations"]
    common_ann = {k: v for k, v in first_ann.items() if all(a["annotations"].get(k) == v for a in alerts)}
    status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    return {
        "receiver": receiver,
        "status": status,
        "alerts": list(alerts),
        "groupLabels": group_labels,
        "commonLabels": {k: common_labels[k] for k in sorted(common_labels)},
        "commonAnnotations": {k: common_ann[k] for k in sorted(common_ann)},
        "externalURL": external_url,
        "version": "4",
        "groupKey": f"{route_key}:{am_labelset(group_labels)}",
        "truncatedAlerts": 0,
    }


def prom_generator_url(base: str, expr: str) -> str:
    return f"{base}/graph?g0.expr={quote(expr, safe='')}&g0.tab=1"


# ----------------------------------------------------------------------------- PagerDuty


@dataclass(frozen=True)
class PdAccount:
    """The PagerDuty subdomain, to build ``self``/``html_url`` links."""

    subdomain: str

    def ref(self, kind: str, pd_id: str, summary: str) -> dict[str, Any]:
        """A reference object (``user_reference``, ``service_reference``...)."""
        path = {"user": "users", "service": "services", "escalation_policy": "escalation_policies", "team": "teams"}
        coll = path.get(kind, kind + "s")
        return {
            "html_url": f"https://{self.subdomain}.pagerduty.com/{coll}/{pd_id}",
            "id": pd_id,
            "self": f"https://api.pagerduty.com/{coll}/{pd_id}",
            "summary": summary,
            "type": f"{kind}_reference",
        }


def pd_v3_event(
    *, event_id: str, event_type: str, occurred_at: str, agent: dict[str, Any] | None, data: dict[str, Any]
) -> dict[str, Any]:
    """A PagerDuty v3 webhook body: ``{"event": {...}}``."""
    return {
        "event": {
            "id": event_id,
            "event_type": event_type,
            "resource_type": "incident",
            "occurred_at": occurred_at,
            "agent": agent,
            "client": None,
            "data": data,
        }
    }


# ----------------------------------------------------------------------------- Slack export


@dataclass
class SlackUser:
    id: str
    name: str
    real_name: str
    title: str = ""
    tz: str = "Europe/Berlin"
    bot_id: str | None = None


@dataclass
class SlackExport:
    """Builds a Slack export folder: ``channels.json``, ``users.json``, ``<channel>/<date>.json``."""

    team: str
    domain: str
    rng: Rng
    users: list[SlackUser] = field(default_factory=list)
    channels: list[dict[str, Any]] = field(default_factory=list)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _used_ts: set[str] = field(default_factory=set)

    def user(self, name: str) -> SlackUser:
        for u in self.users:
            if u.name == name:
                return u
        raise KeyError(name)

    def mention(self, name: str) -> str:
        return f"<@{self.user(name).id}>"

    def channel(self, cid: str, name: str, created_ms: int, creator: str, purpose: str = "", topic: str = "") -> None:
        self.channels.append(
            {
                "id": cid,
                "name": name,
                "created": created_ms // 1000,
                "creator": self.user(creator).id,
                "is_archived": False,
                "is_general": name == "general",
                "members": [],
                "topic": {"value": topic, "creator": self.user(creator).id if topic else "", "last_set": 0},
                "purpose": {
                    "value": purpose,
                    "creator": self.user(creator).id if purpose else "",
                    "last_set": created_ms // 1000 if purpose else 0,
                },
            }
        )
        self.messages[name] = []

    def _ts(self, ms: int) -> str:
        while True:
            ts = slack_ts(ms, self.rng.randint(0, 999))
            if ts not in self._used_ts:
                self._used_ts.add(ts)
                return ts

    def post(
        self, channel: str, ms: int, user: str, text: str, *, thread: dict[str, Any] | None = None, **extra: Any
    ) -> dict[str, Any]:
        """A person's message; ``thread``: the parent message this one replies to."""
        u = self.user(user)
        msg: dict[str, Any] = {
            "client_msg_id": self.rng.uuid4(),
            "type": "message",
            "text": text,
            "user": u.id,
            "ts": self._ts(ms),
            "team": self.team,
            "user_profile": {
                "real_name": u.real_name,
                "display_name": u.name,
                "name": u.name,
                "is_restricted": False,
                "is_ultra_restricted": False,
            },
        }
        if thread is not None:
            msg["thread_ts"] = thread["ts"]
            msg["parent_user_id"] = thread["user"]
            thread.setdefault("_replies", []).append(msg)
        msg.update(extra)
        self.messages[channel].append(msg)
        return msg

    def event(self, channel: str, ms: int, user: str, subtype: str, text: str, **extra: Any) -> dict[str, Any]:
        """A channel event message (``channel_join``, ``channel_topic``, ``channel_purpose``...)."""
        msg = {"type": "message", "subtype": subtype, "ts": self._ts(ms), "user": self.user(user).id, "text": text}
        msg.update(extra)
        self.messages[channel].append(msg)
        if subtype == "channel_join":
            for ch in self.channels:
                if ch["name"] == channel and msg["user"] not in ch["members"]:
                    ch["members"].append(msg["user"])
        if subtype == "channel_topic":
            for ch in self.channels:
                if ch["name"] == channel:
                    ch["topic"] = {"value": extra["topic"], "creator": msg["user"], "last_set": ms // 1000}
        return msg

    def bot(self, channel: str, ms: int, bot: str, text: str, attachments: list[dict[str, Any]]) -> dict[str, Any]:
        """A ``bot_message`` from an integration (PagerDuty, the deploy bot)."""
        u = self.user(bot)
        msg = {
            "type": "message",
            "subtype": "bot_message",
            "text": text,
            "ts": self._ts(ms),
            "username": u.real_name,
            "bot_id": u.bot_id,
            "attachments": [dict(a, id=i + 1) for i, a in enumerate(attachments)],
        }
        self.messages[channel].append(msg)
        return msg

    def files(self, prefix: str) -> dict[str, bytes]:
        """The export's files under ``prefix`` (threads summarised on their parents)."""
        out: dict[str, bytes] = {}
        users = []
        for u in self.users:
            first, _, last = u.real_name.partition(" ")
            profile: dict[str, Any] = {
                "title": u.title,
                "real_name": u.real_name,
                "real_name_normalized": u.real_name,
                "display_name": u.name,
                "display_name_normalized": u.name,
                "first_name": first,
                "last_name": last,
                "team": self.team,
            }
            if u.bot_id:
                profile["bot_id"] = u.bot_id
            else:
                profile["email"] = f"{u.name.replace('-', '.')}@{self.domain}"
            users.append(
                {
                    "id": u.id,
                    "team_id": self.team,
                    "name": u.name,
                    "deleted": False,
                    "real_name": u.real_name,
                    "tz": u.tz,
                    "tz_label": "Central European Summer Time" if u.tz == "Europe/Berlin" else u.tz,
                    "tz_offset": 7200 if u.tz == "Europe/Berlin" else 0,
                    "profile": profile,
                    "is_admin": False,
                    "is_owner": False,
                    "is_bot": u.bot_id is not None,
                    "is_app_user": False,
                }
            )
        out[f"{prefix}users.json"] = json_bytes(users, indent=4)
        out[f"{prefix}channels.json"] = json_bytes(self.channels, indent=4)
        for name, msgs in self.messages.items():
            by_day: dict[str, list[dict[str, Any]]] = {}
            for m in sorted(msgs, key=lambda m: (int(m["ts"].split(".")[0]), m["ts"])):
                replies = m.pop("_replies", None)
                if replies:
                    rts = sorted(r["ts"] for r in replies)
                    m["thread_ts"] = m["ts"]
                    m["reply_count"] = len(replies)
                    m["reply_users_count"] = len({r["user"] for r in replies})
                    m["latest_reply"] = rts[-1]
                    m["reply_users"] = sorted({r["user"] for r in replies})
                    m["replies"] = [{"user": r["user"], "ts": r["ts"]} for r in sorted(replies, key=lambda r: r["ts"])]
                    m["is_locked"] = False
                    m["subscribed"] = False
                day = dt_of(int(m["ts"].split(".")[0]) * 1000).strftime("%Y-%m-%d")
                by_day.setdefault(day, []).append(m)
            for day, day_msgs in sorted(by_day.items()):
                out[f"{prefix}{name}/{day}.json"] = json_bytes(day_msgs, indent=4)
        return out

    def count(self) -> int:
        return sum(len(m) for m in self.messages.values())


def slack_ms(ts: str) -> int:
    """Milliseconds of a Slack ``ts`` (the microseconds below the ms dropped)."""
    sec, frac = ts.split(".")
    return int(sec) * 1000 + int(frac) // 1000


def slack_us_iso(ts: str) -> str:
    """A Slack ``ts`` as ISO UTC with microseconds, exactly."""
    sec, frac = ts.split(".")
    return dt_of(int(sec) * 1000).strftime("%Y-%m-%dT%H:%M:%S") + f".{frac}Z"


__all__ = [
    "GhStatus",
    "PdAccount",
    "SlackExport",
    "SlackUser",
    "am_alert",
    "am_fingerprint",
    "am_payload",
    "combined_line",
    "gh_deployment",
    "gh_user",
    "go_json_bytes",
    "gzip_bytes",
    "iso_ms",
    "iso_ns",
    "json_bytes",
    "jsonl_line",
    "lines_bytes",
    "pd_v3_event",
    "prom_generator_url",
    "prom_matrix",
    "slack_ms",
    "slack_us_iso",
    "yaml_bytes",
]
