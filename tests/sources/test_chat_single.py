"""Slack single-channel files (slackdump channel.json, a conversations.replies thread, a list of messages) and
the Slack desktop copy-paste layout (``slack-paste``). Fixtures: tests/fixtures/slack (README there)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
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

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "slack"
WINDOW = (
    dt.datetime(2025, 6, 15, 14, 0, tzinfo=dt.UTC),
    dt.datetime(2025, 6, 15, 16, 0, tzinfo=dt.UTC),
)


def slack(path: Path | str, **kw: Any) -> LoadResult:
    return run(LoadRequest(kind="chat", format="slack", path=str(path), **kw))


def paste(path: Path | str, **kw: Any) -> LoadResult:
    return run(LoadRequest(kind="chat", format="slack-paste", path=str(path), **kw))


def attrs(r: LoadResult) -> list[dict[str, Any]]:
    return [json.loads(a) for a in r.frame.get_column("attrs").to_list()]


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


# ------------------------------------------------------------------ one channel file


def test_slackdump_channel_file() -> None:
    r = slack(FIX / "channel.json")
    assert (r.inputs, r.parsed, r.rejected) == (7, 6, 1)
    assert r.rejects.row(0, named=True)["origin"] == f"{FIX / 'channel.json'}#messages[3]"
    assert r.rejects.row(0, named=True)["reason"] == "message has no ts"
    assert r.frame.get_column("actor").to_list() == ["alice", "alice", "bob", "bob", "U03CAROL", "bob"]
    assert r.frame.get_column("message").to_list()[1:4] == [
        "checkout 5xx at 18%, paging @bob",
        "ack, looking",
        "rolling back release 4.2.0 & watching",
    ]
    a = attrs(r)
    assert {x["channel"] for x in a} == {"inc-checkout-5xx"}
    assert (a[1]["thread_root"], a[1]["replies_found"], a[1]["reply_count"]) == (True, 2, 2)
    assert a[2]["thread_ts"] == "1749997635.000200" and a[2]["parent_actor"] == "alice"
    # an inline slackdump reply is its own input, after its parent
    assert r.frame.get_column("origin").to_list()[2].endswith("#messages[1].slackdump_thread_replies[0]")
    assert any("2 named by the messages' user_profile" in n for n in r.notes)
    assert any("U03CAROL" in n for n in r.notes)


def test_slackdump_parent_repeated_in_its_replies(tmp_path: Path) -> None:
    doc = json.loads((FIX / "channel.json").read_text())
    parent = doc["messages"][1]
    parent["slackdump_thread_replies"].insert(0, {k: v for k, v in parent.items() if k != "slackdump_thread_replies"})
    (tmp_path / "channel.json").write_text(json.dumps(doc))
    r = slack(tmp_path / "channel.json")
    assert (r.inputs, r.parsed, r.rejected) == (7, 6, 1)  # as without the copy
    assert any("1 thread parent(s) repeated among their own slackdump_thread_replies" in n for n in r.notes)


def test_thread_and_bot_list() -> None:
    r = slack(FIX / "thread.json")
    assert (r.inputs, r.parsed, r.rejected) == (4, 3, 1)
    assert r.rejects.row(0, named=True)["reason"].startswith("duplicate of the message with ts 1749997635.000200 at")
    assert {x["channel"] for x in attrs(r)} == {"thread"}  # the file name when the file names no channel
    r = slack(FIX / "bot_messages.json")
    assert (r.inputs, r.parsed, r.rejected) == (3, 2, 1)
    assert r.frame.get_column("actor").to_list() == ["PagerDuty", "Datadog"]
    assert r.frame.get_column("message").to_list()[0] == "Triggered #1234: Checkout 5xx rate above 5%"
    assert r.rejects.row(0, named=True)["reason"] == "ts 1749997200.5 is not a string"


def test_users_json_beside_the_file(tmp_path: Path) -> None:
    shutil.copy(FIX / "thread.json", tmp_path / "thread.json")
    (tmp_path / "users.json").write_text(
        json.dumps([{"id": "U01ALICE", "name": "alice"}, {"id": "U02BOB", "name": "bob"}])
    )
    r = slack(tmp_path / "thread.json")
    assert r.frame.get_column("actor").to_list() == ["alice", "bob", "bob"]
    assert r.frame.get_column("message").to_list()[0] == "checkout 5xx at 18%, paging @bob"


def test_folder_of_channel_files(tmp_path: Path) -> None:
    for name in ("channel.json", "thread.json", "bot_messages.json"):
        shutil.copy(FIX / name, tmp_path / name)
    r = slack(tmp_path)
    assert (r.inputs, r.parsed, r.rejected) == (7 + 4 + 3, 6 + 3 + 2, 1 + 1 + 1)
    assert {x["channel"] for x in attrs(r)} == {"inc-checkout-5xx", "thread", "bot_messages"}
    assert r.notes[0] == "no day files: 3 channel file(s) loaded one by one"


@pytest.mark.parametrize("name", ["channel.json", "thread.json", "bot_messages.json"])
def test_sniffed_as_slack(name: str) -> None:
    assert registry.sniff("chat", textio.head(FIX / name)) == "slack"


def test_errors_name_the_file_not_a_folder(tmp_path: Path) -> None:
    f = tmp_path / "sub" / "channel.json"
    f.parent.mkdir()
    f.write_text('{"channel": "x"}')
    with pytest.raises(SourceError) as exc:
        slack(f)
    msg = str(exc.value)
    assert msg.startswith(f"{f}: a JSON object with keys ['channel']; expected a Slack channel file")
    f.write_text('{"ok": false, "error": "channel_not_found", "messages": []}')
    with pytest.raises(
        SourceError, match=r"channel\.json: a Slack API error response \(ok: false\): channel_not_found"
    ):
        slack(f)
    f.write_text('{"messages": {"a": 1}}')
    with pytest.raises(SourceError, match=r"channel\.json: 'messages' is not a list"):
        slack(f)


@pytest.mark.real
def test_real_day_file_as_a_channel_file(real: Path, tmp_path: Path) -> None:
    """A real export's day file, taken out of the export and renamed, loads as one channel file: the same
    messages, the same texts, the ids kept as actors (no users.json beside it) and said so."""
    root = real / "slack" / "houstondatavis_export"
    day = root / "general" / "2015-07-10.json"
    copy = tmp_path / "general.json"
    shutil.copy(day, copy)
    single = slack(copy)
    whole = slack(day)  # the day file in its export (users.json two folders up)
    n = len(json.loads(day.read_text(encoding="utf-8")))
    assert (single.inputs, single.parsed, single.rejected) == (n, n, 0)
    assert single.frame.get_column("ts").equals(whole.frame.get_column("ts"))
    ids = set(single.frame.get_column("actor")) - set(whole.frame.get_column("actor"))
    assert ids and all(i.startswith("U") for i in ids)
    shutil.copy(root / "users.json", tmp_path / "users.json")
    named = slack(copy)
    assert named.frame.get_column("actor").equals(whole.frame.get_column("actor"))
    assert named.frame.get_column("message").equals(whole.frame.get_column("message"))


@pytest.mark.real
def test_real_day_file_copied_flat_beside_users_json(real: Path, tmp_path: Path) -> None:
    """A day file keeping its ``<date>.json`` name, copied into a flat folder beside the export's users.json (as an
    author gathering evidence does): the names come from that users.json, as in the export."""
    root = real / "slack" / "houstondatavis_export"
    day = root / "general" / "2015-07-10.json"
    shutil.copy(day, tmp_path / day.name)
    shutil.copy(root / "users.json", tmp_path / "users.json")
    flat, whole = slack(tmp_path / day.name), slack(day)
    assert (flat.inputs, flat.rejected) == (whole.inputs, 0)
    assert flat.frame.get_column("actor").equals(whole.frame.get_column("actor"))
    assert flat.frame.get_column("message").equals(whole.frame.get_column("message"))


@pytest.mark.real
def test_real_export_as_loose_channel_files(real: Path, tmp_path: Path) -> None:
    """Every day file of the real export, flattened into one folder as channel files (``<channel>_<date>.json``,
    no users.json): every message loads, none is lost, the times are the export's."""
    root = real / "slack" / "houstondatavis_export"
    for day in sorted(root.glob("*/*.json")):
        shutil.copy(day, tmp_path / f"{day.parent.name}_{day.name}")
    r = slack(tmp_path)
    assert (r.inputs, r.parsed, r.rejected) == (1382, 1382, 0)
    assert r.notes[0] == "no day files: 375 channel file(s) loaded one by one"
    whole = slack(root)
    assert sorted(r.frame.get_column("ts").to_list()) == sorted(whole.frame.get_column("ts").to_list())
    assert r.frame.get_column("actor").null_count() == 0


MESSAGE = st.fixed_dictionaries(
    {},
    optional={
        "ts": st.sampled_from(["1750000000.000100", "1750000060.5", "1750000000.000100", "x", ""]) | st.integers(),
        "user": st.sampled_from(["U1", "U2", ""]),
        "text": st.sampled_from(["<@U1> hi", "a\nb", ""]) | st.none(),
        "user_profile": st.fixed_dictionaries({"name": st.sampled_from(["al", ""])}) | st.integers(),
        "slackdump_thread_replies": st.lists(
            st.fixed_dictionaries({"ts": st.sampled_from(["1750000100.000001", "1750000000.000100", "y"])}), max_size=2
        )
        | st.integers(),
    },
)


@settings(max_examples=scaled(120), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    messages=st.lists(st.one_of(MESSAGE, st.integers(), st.text(max_size=3)), max_size=6),
    shape=st.sampled_from(["slackdump", "replies", "list"]),
)
def test_property_channel_file_counts(messages: list[Any], shape: str) -> None:
    doc: Any = {
        "slackdump": {"channel_id": "C1", "name": "inc", "messages": messages},
        "replies": {"ok": True, "messages": messages},
        "list": messages,
    }[shape]
    replies = sum(  # a copy of the parent among its replies (same ts) is not an input
        1
        for m in messages
        if isinstance(m, dict) and isinstance(m.get("slackdump_thread_replies"), list)
        for x in m["slackdump_thread_replies"]
        if m.get("ts") is None or x.get("ts") != m.get("ts")
    )
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "channel.json"
        p.write_text(json.dumps(doc))
        r = slack(p)
    assert r.parsed + r.rejected == r.inputs == len(messages) + replies
    assert r.frame.get_column("attrs").str.json_path_match("$.ts").n_unique() == r.parsed  # each ts once


# ------------------------------------------------------------------ slack-paste


def test_paste_with_the_incident_window() -> None:
    r = paste(FIX / "paste.txt", window=WINDOW)
    assert (r.inputs, r.parsed, r.rejected) == (13, 11, 2)
    rows = r.frame.select("ts", "actor", "message").rows()
    assert rows == [
        (at("2025-06-15T14:25:00+00:00"), "Alice Example", "checkout 5xx climbing, paging ⏎ @bob can you look?"),
        (at("2025-06-15T14:26:00+00:00"), "Alice Example", "anyone else seeing this?"),  # a same-sender time line
        (at("2025-06-15T14:31:00+00:00"), "Bob Builder", "rolling back release 4.2.0"),
        (at("2025-06-15T23:58:00+00:00"), "Alice Example", "still watching the error rate"),
        (at("2025-06-16T00:03:00+00:00"), "Bob Builder", "error rate back to baseline, mitigated"),  # Monday, June 16th
    ]
    assert set(r.rejects.get_column("origin")) == {f"{FIX / 'paste.txt'}:15", f"{FIX / 'paste.txt'}:16"}
    assert "under 'Today': the day the text was copied is unknown; set options.today" in r.rejects.get_column("reason")
    assert json.loads(r.frame.get_column("attrs")[0]) == {
        "date_from": "the incident window start",
        "lines": 3,
        "stamp": "Alice Example  2:25 PM",
    }
    assert any("times read as UTC" in n for n in r.notes)


def test_paste_with_options_and_timezone() -> None:
    r = paste(FIX / "paste.txt", options={"date": "2025-06-15", "today": "2025-06-18"}, timezone="Europe/Berlin")
    assert (r.inputs, r.parsed, r.rejected) == (13, 13, 0)
    assert r.frame.get_column("ts").to_list()[0] == at("2025-06-15T12:25:00+00:00")  # 14:25 CEST
    assert r.frame.get_column("ts").to_list()[-1] == at("2025-06-18T07:15:00+00:00")  # Today = options.today
    # messages above a date line must be on an earlier day than it: placed on the same day, they are rejected
    r = paste(FIX / "paste.txt", options={"date": "2025-06-16", "today": "2025-06-18"})
    assert (r.inputs, r.parsed, r.rejected) == (13, 4, 9)
    assert r.rejects.get_column("reason")[0].startswith(
        "above the date line 'Monday, June 16th' (2025-06-16) but placed on"
    )
    with pytest.raises(SourceError, match=r"paste\.txt: options\.date 'June' is not a date"):
        paste(FIX / "paste.txt", options={"date": "June"})


def test_paste_without_any_date(tmp_path: Path) -> None:
    r = paste(FIX / "paste.txt")
    assert (r.inputs, r.parsed, r.rejected) == (13, 0, 13)
    reasons = set(r.rejects.get_column("reason"))
    assert "above the first date line, and neither options.date nor the incident window gives its day" in reasons
    f = tmp_path / "p.txt"
    f.write_text("Monday, June 16th, 2025\nBob  12:03 AM\nok\nSunday, June 16th, 2025\nBob  1:00 AM\nx\n")
    r = paste(f)
    assert (r.inputs, r.parsed, r.rejected) == (4, 4, 0)  # a year on the date line is enough
    assert any("weekday does not fit the date" in n for n in r.notes)


def test_paste_odd_lines(tmp_path: Path) -> None:
    f = tmp_path / "p.txt"
    f.write_text("Carol  9:15 PM\ntext\n10:01 PM\n11:59 PM\n12:01 AM\nDan\t25:00\nsome words\n", encoding="utf-8")
    r = paste(f, options={"date": "2025-06-15"})
    assert (r.inputs, r.parsed, r.rejected) == (7, 5, 2)
    assert r.frame.get_column("ts").to_list() == [
        at("2025-06-15T21:15:00+00:00"),
        at("2025-06-15T22:01:00+00:00"),
        at("2025-06-15T23:59:00+00:00"),
        at("2025-06-16T00:01:00+00:00"),  # midnight rollover
    ]
    assert r.rejects.get_column("reason")[0].startswith("invalid time")
    f.write_text("Datadog  APP  9:20 PM\n[Triggered] Checkout 5xx rate above 5%\nBob  9:21 PM\nrolling back (edited)\n")
    r = paste(f, options={"date": "2025-06-15"})
    assert r.frame.select("actor", "message").rows() == [
        ("Datadog", "[Triggered] Checkout 5xx rate above 5%"),
        ("Bob", "rolling back"),
    ]
    assert json.loads(r.frame.get_column("attrs")[1])["edited"] is True
    f.write_text("some text first\n3:00 PM\nCarol  9:15 PM\nhi\n")
    r = paste(f, options={"date": "2025-06-15"})
    assert (r.inputs, r.parsed, r.rejected) == (4, 2, 2)
    assert set(r.rejects.get_column("reason")) == {
        "no 'Name  time' header above it (a copied Slack message starts with one)"
    }


def test_transcript_hands_the_paste_layout_over() -> None:
    via = run(LoadRequest(kind="chat", format="transcript", path=str(FIX / "paste.txt"), window=WINDOW))
    direct = paste(FIX / "paste.txt", window=WINDOW)
    assert (via.inputs, via.parsed, via.rejected) == (direct.inputs, direct.parsed, direct.rejected) == (13, 11, 2)
    assert via.frame.equals(direct.frame)
    assert via.notes[0].startswith("the lines are Slack's desktop copy-paste layout")


def test_paste_sniff() -> None:
    assert registry.sniff("chat", textio.head(FIX / "paste.txt")) == "slack-paste"
    assert registry.sniff("chat", "Monday, June 16th\nBob  12:03 AM\nhello") == "slack-paste"
    assert registry.sniff("chat", "[14:25] alice: text\n14:26 <bob> more") == "transcript"


LINE = st.one_of(
    st.builds(
        "{}  {}:{:02d} {}".format,
        st.sampled_from(["Alice", "Bob Builder", "x"]),
        st.integers(0, 13),
        st.integers(0, 61),
        st.sampled_from(["AM", "PM", ""]),
    ),
    st.builds("{}:{:02d} PM".format, st.integers(1, 12), st.integers(0, 59)),
    st.sampled_from(["Today", "Yesterday", "Monday, June 16th", "June 14th, 2025", "Friday, February 30th", ""]),
    st.text(alphabet="abc :.-", max_size=12),
)


@settings(max_examples=scaled(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(LINE, max_size=14),
    options=st.sampled_from(
        [{}, {"date": "2025-06-15"}, {"today": "2025-06-17"}, {"date": "2025-06-13", "today": "2025-06-17"}]
    ),
    windowed=st.booleans(),
)
def test_property_paste_counts(lines: list[str], options: dict[str, str], windowed: bool) -> None:
    import re

    layout = re.compile(
        r"^\s*(today|yesterday|((monday|friday),\s+)?(june|february|january)\s+\d{1,2}(st|nd|rd|th)?(,?\s+\d{4})?)\s*$",
        re.IGNORECASE,
    )
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "p.txt"
        p.write_text("\n".join(lines), encoding="utf-8")
        r = paste(p, options=options, window=WINDOW if windowed else None)
    text_lines = [ln for ln in "\n".join(lines).split("\n") if ln.strip() and not layout.match(ln)]
    assert r.parsed + r.rejected == r.inputs == len(text_lines)
    assert r.frame.height <= r.parsed
    if r.frame.height:
        assert r.frame.get_column("origin").str.contains("p.txt:", literal=True).all()
        assert not r.frame.get_column("ts").is_null().any()
    assert r.rejects.filter(pl.col("reason").str.len_chars() == 0).height == 0
