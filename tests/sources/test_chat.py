"""Chat loaders: Slack exports (synthetic and the real houstondatavis export) and transcripts."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import tempfile
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sourcetest import scaled

from pmkit.errors import SourceError
from pmkit.sources import registry, textio
from pmkit.sources.base import LoadRequest, LoadResult, run
from pmkit.sources.slackexport import read_slack_directory, slack_ts_us


def slack(path: Path | str, **kw: Any) -> LoadResult:
    return run(LoadRequest(kind="chat", format="slack", path=str(path), **kw))


def transcript(path: Path | str, **kw: Any) -> LoadResult:
    return run(LoadRequest(kind="chat", format="transcript", path=str(path), **kw))


def attrs_of(result: LoadResult) -> list[dict[str, Any]]:
    return [json.loads(a) for a in result.frame.get_column("attrs").to_list()]


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


# ------------------------------------------------------------------ Slack, synthetic


def test_slack_ts_is_exact() -> None:
    assert slack_ts_us("1435295309.302436") == 1435295309302436
    assert slack_ts_us("1458980525.000012") == 1458980525000012
    assert slack_ts_us("1458980525") == 1458980525000000
    assert slack_ts_us("1458980525.1234567") == 1458980525123456  # beyond µs: truncated
    for bad in ("", "abc", "1.2.3", 1458980525.000012, None):
        with pytest.raises(ValueError):
            slack_ts_us(bad)


USERS = [
    {"id": "U1", "name": "alice", "real_name": "Alice Example", "profile": {"display_name": "ally", "email": "a@x.io"}},
    {"id": "U2", "name": "bob", "real_name": "", "profile": {"real_name": "Bob Builder"}},
    {"id": "B9", "name": "deploybot", "is_bot": True, "profile": {}},
]
CHANNELS = [
    {"id": "C1", "name": "incident-42", "created": "1452837318", "topic": {"value": "SEV2", "last_set": "0"}},
    {"id": "C2", "name": "general", "created": 1452837000, "topic": {"value": "", "last_set": 1452837000}},
]


def make_export(root: Path) -> Path:
    """An export with a thread spanning two day files, subtypes, markup, a reject and an unlisted channel."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "users.json").write_text(json.dumps(USERS))
    (root / "channels.json").write_text(json.dumps(CHANNELS))
    (root / "integration_logs.json").write_text("[]")
    day1 = [
        {"type": "message", "user": "U1", "ts": "1750000000.000100",
         "text": "<@U2> checkout is down, see <https://grafana.example/d/x?a=1&amp;b=2|dashboard> in <#C2|general>",
         "thread_ts": "1750000000.000100", "reply_count": 3, "reply_users": ["U2"], "latest_reply": "1750086400.000300",
         "reactions": [{"name": "eyes", "users": ["U2"], "count": 1}]},
        {"type": "message", "user": "U2", "ts": "1750000060.000200", "thread_ts": "1750000000.000100",
         "parent_user_id": "U1", "text": "on it &lt;3 &amp; rolling back\nstep 2: verify"},
        {"type": "message", "subtype": "bot_message", "bot_id": "B9", "username": "deploybot", "ts": "1750000120.000001",
         "text": "", "attachments": [{"fallback": "Deploy v42 rolled back", "text": "v42 -> v41"}]},
        {"type": "message", "user": "U1", "text": "no ts here"},
        {"type": "message", "subtype": "channel_join", "user": "U3", "ts": "1750000130.000000",
         "text": "<@U3|carol> has joined the channel"},
        {"type": "message", "user": "U1", "ts": "1750000140.000000", "text": "<!here> status page updated",
         "edited": {"user": "U1", "ts": "1750000150.000000"}},
    ]  # fmt: skip
    day2 = [
        {"type": "message", "user": "U2", "ts": "1750086400.000300", "thread_ts": "1750000000.000100",
         "parent_user_id": "U1", "text": "done, <@U1|alice-old> please confirm"},
        {"type": "message", "user": "U2", "ts": "1750086500.000000", "thread_ts": "1749000000.000000",
         "text": "reply to a parent outside the export"},
        {"type": "message", "subtype": "file_share", "user": "U1", "ts": "1750086600.000000", "text": "",
         "files": [{"name": "timeline.png"}], "username": "<@U1|alice>"},
    ]  # fmt: skip
    (root / "incident-42").mkdir()
    (root / "incident-42" / "2025-06-15.json").write_text(json.dumps(day1))
    (root / "incident-42" / "2025-06-16.json").write_text(json.dumps(day2))
    (root / "war-room").mkdir()
    (root / "war-room" / "2025-06-15.json").write_text(
        json.dumps([{"type": "message", "user": "U1", "ts": "1750000200.000000", "text": "moving to #war-room"}])
    )
    return root


def test_slack_export_messages_and_rejects(tmp_path: Path) -> None:
    root = make_export(tmp_path / "export")
    r = slack(root)
    assert (r.inputs, r.parsed, r.rejected, r.unit) == (10, 9, 1, "messages")
    assert r.rejects.get_column("origin").item() == f"{root / 'incident-42' / '2025-06-15.json'}#3"
    assert r.rejects.get_column("reason").item() == "message has no ts"
    f = r.frame
    assert f.get_column("kind").unique().to_list() == ["chat"]
    assert f.get_column("level").null_count() == f.height and f.get_column("service").null_count() == f.height
    assert f.get_column("ts").to_list()[:2] == [
        utc("2025-06-15T15:06:40.000100+00:00"),
        utc("2025-06-15T15:07:40.000200+00:00"),
    ]
    assert f.get_column("actor").to_list() == [
        "alice", "bob", "deploybot", "U3", "alice", "bob", "bob", "alice", "alice",
    ]  # fmt: skip
    assert f.get_column("message").to_list() == [
        "@bob checkout is down, see dashboard (https://grafana.example/d/x?a=1&b=2) in #general",
        "on it <3 & rolling back ⏎ step 2: verify",
        "Deploy v42 rolled back",
        "@carol has joined the channel",
        "@here status page updated",
        "done, @alice please confirm",
        "reply to a parent outside the export",
        "timeline.png",
        "moving to #war-room",
    ]
    a = attrs_of(r)
    assert a[0]["ts"] == "1750000000.000100" and a[0]["channel"] == "incident-42" and a[0]["channel_id"] == "C1"
    assert a[0]["real_name"] == "Alice Example" and a[0]["display_name"] == "ally" and "email" not in f["attrs"][0]
    assert a[1]["real_name"] == "Bob Builder"
    assert a[0]["reactions"] == [{"name": "eyes", "users": ["U2"], "count": 1}]
    assert a[2]["subtype"] == "bot_message" and a[2]["username"] == "deploybot" and a[2]["bot_id"] == "B9"
    assert a[2]["attachments"] == ["v42 -> v41"]
    assert a[4]["edited"] == {"user": "U1", "ts": "1750000150.000000"}
    assert a[7]["files"] == ["timeline.png"] and "username" not in a[7]
    assert a[8]["channel"] == "war-room" and "channel_id" not in a[8]
    notes = " | ".join(r.notes)
    assert "war-room" in notes and "not in channels.json" in notes
    assert "U3" in notes  # user id not in users.json, kept as the actor
    assert "2 channel(s) listed, 3 user(s) in users.json, 3 day file(s)" in notes


def test_slack_service_only_when_the_source_sets_one(tmp_path: Path) -> None:
    root = make_export(tmp_path / "export")
    assert slack(root, service="checkout").frame.get_column("service").unique().to_list() == ["checkout"]
    assert slack(root, name="bridge").frame.get_column("source").unique().to_list() == ["bridge"]


def test_slack_threads_rebuilt_across_day_files(tmp_path: Path) -> None:
    r = slack(make_export(tmp_path / "export"))
    a = attrs_of(r)
    root, reply1, reply2, orphan = a[0], a[1], a[5], a[6]
    assert root["thread_root"] is True and root["thread_ts"] == "1750000000.000100"
    assert (root["reply_count"], root["replies_found"], root["replies_missing"]) == (3, 2, 1)
    assert reply1["thread_root"] is False and reply1["thread_ts"] == root["thread_ts"]
    # the reply in the next day's file is found and joined to its parent
    assert (
        reply2["thread_ts"] == root["thread_ts"]
        and reply2["parent_actor"] == "alice"
        and "parent_missing" not in reply2
    )
    assert orphan["parent_missing"] is True
    assert "thread_ts" not in a[2] and "thread_root" not in a[4]
    notes = " | ".join(r.notes)
    assert "1 thread(s) rebuilt across day files (3 replies)" in notes
    assert "1 thread(s) have fewer replies" in notes and "1 repl(ies) whose thread parent is not in the export" in notes


def test_slack_zip_with_and_without_wrapping_folder(tmp_path: Path) -> None:
    root = make_export(tmp_path / "export")
    wrapped = Path(shutil.make_archive(str(tmp_path / "wrapped"), "zip", root_dir=tmp_path, base_dir="export"))
    flat = tmp_path / "flat.zip"
    with zipfile.ZipFile(flat, "w") as z:
        for p in sorted(root.rglob("*")):
            if p.is_file():
                z.write(p, p.relative_to(root).as_posix())
        z.writestr("__MACOSX/._users.json", "junk")
    direct = slack(root)
    for archive in (wrapped, flat):
        r = slack(archive)
        assert (r.inputs, r.parsed, r.rejected) == (10, 9, 1)
        assert r.frame.drop("origin", "source").equals(direct.frame.drop("origin", "source"))
    assert slack(flat).rejects.get_column("origin").item() == f"{flat}!/incident-42/2025-06-15.json#3"
    assert slack(wrapped).frame.get_column("origin").to_list()[0] == f"{wrapped}!/export/incident-42/2025-06-15.json#0"
    assert registry.sniff("chat", textio.head(flat)) == "slack"


def test_slack_single_day_file(tmp_path: Path) -> None:
    root = make_export(tmp_path / "export")
    r = slack(root / "incident-42" / "2025-06-16.json")
    assert (r.inputs, r.parsed, r.rejected) == (3, 3, 0)
    assert r.frame.get_column("actor").to_list() == ["bob", "bob", "alice"]  # users.json two folders up
    a = attrs_of(r)
    assert a[0]["parent_missing"] is True  # the parent is in a day file that was not loaded


def test_slack_whole_file_problems(tmp_path: Path) -> None:
    root = make_export(tmp_path / "export")
    before = slack(root)
    (root / "general").mkdir()
    (root / "general" / "2025-06-15.json").write_text("[{")
    res = slack(root)  # a broken day file is that file's reject (and a note); the export's other files load
    assert (res.inputs, res.parsed, res.rejected) == (before.inputs + 1, before.parsed, before.rejected + 1)
    assert any(re.search(r"general/2025-06-15\.json.*not valid JSON", r) for r in res.rejects.get_column("reason"))
    (root / "general" / "2025-06-15.json").write_text('{"messages": []}')
    res = slack(root)
    assert any("expected a JSON list of messages" in r for r in res.rejects.get_column("reason"))
    assert any("2025-06-15.json not loaded" in n for n in res.notes)
    (root / "general" / "2025-06-15.json").unlink()
    (root / "users.json").write_text('{"members": []}')
    with pytest.raises(SourceError, match=r"users\.json: expected a JSON list"):
        slack(root)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "users.json").write_text("[]")
    with pytest.raises(SourceError, match=r"no <channel>/<YYYY-MM-DD>\.json day files"):
        slack(empty)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(SourceError, match="not a Slack export"):
        slack(tmp_path / "notes.txt")
    with pytest.raises(SourceError, match="no such file"):
        slack(tmp_path / "missing")


def test_slack_directory_frames(tmp_path: Path) -> None:
    d = read_slack_directory(make_export(tmp_path / "export"))
    assert d.users.get_column("name").to_list() == ["alice", "bob", "deploybot"]
    assert "email" not in d.users.columns
    assert d.channels.get_column("created").to_list() == [
        utc("2016-01-15T05:55:18+00:00"),  # a string in the file
        utc("2016-01-15T05:50:00+00:00"),  # an int in the file
    ]


# ------------------------------------------------------------------ Slack, the real export


@pytest.mark.real
def test_real_houstondatavis_export(real: Path, tmp_path: Path) -> None:
    root = real / "slack" / "houstondatavis_export"
    r = slack(root)
    assert (r.inputs, r.parsed, r.rejected) == (1382, 1382, 0)
    a = attrs_of(r)
    assert Counter(x.get("subtype", "message") for x in a) == {
        "message": 964, "channel_join": 320, "file_share": 61, "channel_purpose": 13, "channel_archive": 9,
        "file_comment": 6, "channel_leave": 3, "channel_name": 2, "channel_topic": 2, "bot_add": 1, "pinned_item": 1,
    }  # fmt: skip
    directory = read_slack_directory(root)
    assert directory.users.height == 71
    # the data README says 17 channels; channels.json and the folders both hold 16
    assert directory.channels.height == 16 and len({x["channel"] for x in a}) == 16
    assert any(
        "16 channel(s) listed, 71 user(s) in users.json, 375 day file(s) in 16 channel folder(s)" in n for n in r.notes
    )
    assert not any("not in channels.json" in n for n in r.notes)
    # this 2015-16 export predates Slack threads: nothing to rebuild, nothing invented
    assert not any("thread_ts" in x for x in a)
    assert r.frame.get_column("actor").null_count() == 0

    def row(rel: str) -> dict[str, Any]:
        hit = r.frame.filter(pl.col("origin") == str(root / rel))
        assert hit.height == 1, rel
        return hit.row(0, named=True)

    mention = row("readings/2015-06-26.json#4")
    assert mention["ts"] == utc("2015-06-26T14:33:24.000007+00:00")
    assert mention["actor"] == "colinnlsn"
    assert mention["message"] == "@micahstubbs: when I saw those simple lines and the result, my jaw hit the floor."
    assert json.loads(mention["attrs"])["ts"] == "1435329204.000007"
    odd_fraction = row("datajam/2015-06-25.json#0")  # six real fraction digits; the day file is in local time
    assert odd_fraction["ts"] == utc("2015-06-26T05:08:29.302436+00:00")
    assert "utm_source=feedburner&utm_medium=email" in odd_fraction["message"]
    assert row("datajam/2015-06-05.json#3")["message"] == (
        "@javier uploaded a file: Fritz.jpg (https://houstondatavis.slack.com/files/javier/F061AT0CX/fritz.jpg)"
    )
    assert row("general/2016-05-03.json#0")["message"] == "Hey guys, short notice (<1 hour) but this is happening today"
    assert row("general/2015-07-10.json#1")["message"].startswith("@everyone get excited - our July meetup")
    comment = row("datajam/2015-06-19.json#2")
    assert comment["actor"] == "neerajt" and json.loads(comment["attrs"])["subtype"] == "file_comment"
    named = json.loads(row("datajam/2015-06-05.json#3")["attrs"])
    assert named["user"] == "U061A3E0G" and named["files"] == ["Fritz.jpg"]

    archive = Path(shutil.make_archive(str(tmp_path / "houston"), "zip", root_dir=root.parent, base_dir=root.name))
    z = slack(archive)
    assert (z.inputs, z.parsed, z.rejected) == (1382, 1382, 0)
    assert z.frame.drop("origin", "source").equals(r.frame.drop("origin", "source"))


# ------------------------------------------------------------------ transcript


def write_lines(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_transcript_three_forms_continuations_and_rollover(tmp_path: Path) -> None:
    p = write_lines(
        tmp_path / "bridge.txt",
        "Bridge notes, 15 June",
        "[23:50] alice: checkout 5xx climbing",
        "  still climbing",
        "",
        "[23:58:30] bob: paging db on-call",
        "14:25 <@carol> joined late",
        "14:26 * carol waves",
        "10:30 we restarted the pods",
        "[00:05] carol: rolled back",
        "[2025-06-16 09:00:00+02:00] erin: postmortem scheduled",
        "[09:30] frank: ok",
        "[25:99] x: bad",
        "[2:25 PM] gina: afternoon",
    )
    r = transcript(p, options={"date": "2025-06-15"})
    assert (r.inputs, r.parsed, r.rejected, r.unit) == (12, 10, 2, "lines")
    f = r.frame
    assert f.get_column("actor").to_list() == ["alice", "bob", "carol", "carol", "carol", "erin", "frank", "gina"]
    assert f.get_column("message").to_list() == [
        "checkout 5xx climbing ⏎ still climbing",
        "paging db on-call",
        "joined late",
        "* carol waves ⏎ 10:30 we restarted the pods",
        "rolled back",
        "postmortem scheduled",
        "ok",
        "afternoon",
    ]
    assert f.get_column("ts").to_list() == [
        utc("2025-06-15T23:50:00+00:00"),
        utc("2025-06-15T23:58:30+00:00"),
        utc("2025-06-15T14:25:00+00:00"),  # 9.5h before 23:58: an out-of-order line, same day
        utc("2025-06-15T14:26:00+00:00"),
        utc("2025-06-16T00:05:00+00:00"),  # more than 12h before 14:26: midnight rolled over
        utc("2025-06-16T07:00:00+00:00"),  # a dated line with an offset resets the date
        utc("2025-06-16T09:30:00+00:00"),
        utc("2025-06-16T14:25:00+00:00"),
    ]
    assert f.get_column("origin").to_list()[0] == f"{p}:2"
    assert json.loads(f.get_column("attrs").to_list()[0]) == {"lines": 2, "stamp": "[23:50]"}
    assert r.rejects.get_column("origin").to_list() == [f"{p}:1", f"{p}:12"]
    assert r.rejects.get_column("reason").to_list()[0] == "no timestamp, and no message above it to continue"
    assert r.rejects.get_column("reason").to_list()[1].startswith("invalid timestamp")
    notes = " | ".join(r.notes)
    assert "anchored on 2025-06-15 (from options.date)" in notes and "1 midnight rollover(s)" in notes


def test_transcript_timezone_window_and_missing_date(tmp_path: Path) -> None:
    p = write_lines(tmp_path / "t.log", "[14:25] alice: hi", "[14:30] bob: hello")
    window = (dt.datetime(2025, 6, 14, 22, 30, tzinfo=dt.UTC), dt.datetime(2025, 6, 15, 6, 0, tzinfo=dt.UTC))
    r = transcript(p, window=window, timezone="Europe/Berlin")
    # the window starts on 15 June in Berlin (00:30 local), so that is the date; 14:25 Berlin = 12:25 UTC
    assert r.frame.get_column("ts").to_list() == [utc("2025-06-15T12:25:00+00:00"), utc("2025-06-15T12:30:00+00:00")]
    assert any("from the incident window start" in n for n in r.notes)
    assert any("read in Europe/Berlin" in n for n in r.notes)
    with pytest.raises(SourceError, match=r"t\.log:1: .*set options: \{date: YYYY-MM-DD\}"):
        transcript(p)
    with pytest.raises(SourceError, match="not a date"):
        transcript(p, options={"date": "15/06/2025"})
    with pytest.raises(SourceError, match="unknown option"):
        transcript(p, options={"day": "2025-06-15"})
    dated = write_lines(tmp_path / "d.log", "[2025-06-15T14:25:03.5Z] alice: hi", "[14:30] bob: same day")
    assert transcript(dated).frame.get_column("ts").to_list() == [
        utc("2025-06-15T14:25:03.5+00:00"),
        utc("2025-06-15T14:30:00+00:00"),
    ]


def test_transcript_sniff() -> None:
    assert registry.sniff("chat", "[14:25] alice: hi\n[14:26] bob: yo") == "transcript"
    assert registry.sniff("chat", "14:25 <alice> hi\n14:26 <bob> yo") == "transcript"
    assert registry.sniff("chat", '[\n {"type": "message", "ts": "1458980525.000012"}') == "slack"
    assert registry.sniff("chat", "just prose\nmore prose") is None


# ------------------------------------------------------------------ properties

LINE = st.one_of(
    st.text(max_size=30).map(lambda s: s.replace("\n", " ").replace("\r", " ")),
    st.builds(
        lambda h, m, who, text, form: form.format(h=h, m=m, who=who, text=text),
        st.integers(0, 30),
        st.integers(0, 70),
        st.text(alphabet="abcxyz ._-", min_size=1, max_size=8),
        st.text(max_size=15).map(lambda s: s.replace("\n", " ").replace("\r", " ")),
        st.sampled_from(["[{h}:{m:02d}] {who}: {text}", "{h}:{m:02d} <{who}> {text}",
                         "[2025-06-15 {h}:{m:02d}:00] {who}: {text}", "[{h}:{m:02d} PM] {text}",
                         "[2025-02-30 {h}:{m:02d}+99:00] {text}"]),
    ),
)  # fmt: skip


@settings(max_examples=scaled(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(LINE, max_size=12), with_date=st.booleans())
def test_property_transcript_counts(lines: list[str], with_date: bool) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "t.txt"
        p.write_text("\n".join(lines), encoding="utf-8")
        options = {"date": "2025-06-15"} if with_date else {}
        try:
            r = transcript(p, options=options, timezone="America/New_York")
        except SourceError as exc:
            assert not with_date and "set options" in str(exc)
            return
        assert r.parsed + r.rejected == r.inputs == sum(1 for ln in "\n".join(lines).split("\n") if ln.strip())


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
MESSAGE = st.fixed_dictionaries(
    {},
    optional={
        "type": st.just("message"),
        "ts": st.one_of(st.sampled_from(["1750000000.000100", "1750000060.5", "x", "", "99999999999999"]), JSON),
        "user": st.sampled_from(["U1", "U2", "U404", ""]) | JSON,
        "text": st.sampled_from(["<@U1>", "<#C1>", "<https://a|b>", "<!here>", "&amp;", "<@", "a\nb"]) | JSON,
        "subtype": st.sampled_from(["bot_message", "file_share", "channel_join"]) | JSON,
        "thread_ts": st.sampled_from(["1750000000.000100", "1"]) | JSON,
        "reply_count": st.integers(-1, 3) | JSON,
        "replies": JSON,
        "attachments": JSON,
        "files": JSON,
        "file": JSON,
        "reactions": JSON,
        "comment": JSON,
        "bot_profile": JSON,
        "username": JSON,
        "edited": JSON,
        "message": JSON,
    },
)


@settings(max_examples=scaled(120), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    days=st.lists(st.one_of(st.lists(st.one_of(MESSAGE, JSON), max_size=5), JSON), min_size=1, max_size=3),
    users=st.one_of(st.just(USERS), st.lists(JSON, max_size=3), JSON),
    channels=st.one_of(st.just(CHANNELS), st.lists(JSON, max_size=3)),
)
def test_property_slack_exports(days: list[Any], users: Any, channels: Any) -> None:
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        (root / "users.json").write_text(json.dumps(users))
        (root / "channels.json").write_text(json.dumps(channels))
        (root / "incident-42").mkdir()
        for i, day in enumerate(days):
            (root / "incident-42" / f"2025-06-{10 + i}.json").write_text(json.dumps(day))
        try:
            r = slack(root)
        except SourceError:
            return
        # a day file that is not a list of messages counts as one rejected input
        assert r.parsed + r.rejected == r.inputs == sum(len(x) if isinstance(x, list) else 1 for x in days)
