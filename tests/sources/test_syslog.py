"""syslog: RFC 3164 / RFC 5424 / ISO-stamped lines, the year rule, continuations, rejects, sniffing."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sourcetest import scaled

from pmkit.sources import registry
from pmkit.sources.base import LoadRequest, LoadResult, run
from pmkit.sources.logs.syslog import sniff
from pmkit.sources.yearless import complete_year

UTC = dt.UTC


def load(path: Path | str, **kw: Any) -> LoadResult:
    return run(LoadRequest("logs", "syslog", str(path), **kw))


def write(tmp_path: Path, text: str, name: str = "syslog.log") -> Path:
    f = tmp_path / name
    f.write_bytes(text.encode("utf-8"))
    return f


def rows(res: LoadResult) -> list[dict[str, Any]]:
    out = []
    for r in res.frame.iter_rows(named=True):
        r["attrs"] = json.loads(r["attrs"])
        out.append({k: r[k] for k in ("ts", "service", "level", "message", "attrs")})
    return out


def test_rfc3164_examples_exact(real: Path) -> None:
    res = load(real / "logs/syslog_rfc_examples/rfc3164_section5.4_examples.log", year=2024)
    assert (res.inputs, res.parsed, res.rejected) == (4, 4, 0)
    got = rows(res)
    assert got[0] == {
        "ts": dt.datetime(2024, 10, 11, 22, 14, 15, tzinfo=UTC),
        "service": "su",
        "level": "critical",  # PRI 34: auth.crit
        "message": "'su root' failed for lonvick on /dev/pts/8",
        "attrs": {"app": "su", "facility": "auth", "host": "mymachine", "severity": "crit"},
    }
    assert got[1] == {  # no tag: everything after the host is the message
        # Oct -> Feb: the month went back, so the year rolled over
        "ts": dt.datetime(2025, 2, 5, 17, 32, 18, tzinfo=UTC),
        "service": None,
        "level": "info",  # PRI 13: user.notice
        "message": "Use the BFG!",
        "attrs": {"facility": "user", "host": "10.0.0.99", "severity": "notice"},
    }
    assert got[2] == {  # zone name and year after the time
        "ts": dt.datetime(1987, 8, 24, 5, 34, tzinfo=UTC),
        "service": "myproc",
        "level": "info",  # PRI 165: local4.notice
        "message": "%% It's time to make the do-nuts.  %%  Ingredients: Mix=OK, Jelly=OK # Devices: Mixer=OK, "
        "Jelly_Injector=OK, Frier=OK # Transport: Conveyer1=OK, Conveyer2=OK # %%",
        "attrs": {"app": "myproc", "facility": "local4", "host": "mymachine", "pid": "10", "severity": "notice",
                  "tzname": "CST"},
    }  # fmt: skip
    assert got[3] == {  # year before the time; the IP after the host is not a tag
        "ts": dt.datetime(1990, 10, 22, 10, 52, 1, tzinfo=UTC),
        "service": None,
        "level": "critical",  # PRI 0: kern.emerg
        "message": "10.1.2.3 sched[0]: That's All Folks!",
        "attrs": {"facility": "kern", "host": "scapegoat.dmz.example.org", "severity": "emerg", "tzname": "TZ-6"},
    }
    assert any("CST, TZ-6" in n and "ambiguous" in n for n in res.notes)


def test_rfc5424_examples_exact(real: Path) -> None:
    res = load(real / "logs/syslog_rfc_examples/rfc5424_section6.5_examples.log")
    assert (res.inputs, res.parsed, res.rejected) == (4, 4, 0)
    got = rows(res)
    assert got[0] == {
        "ts": dt.datetime(2003, 10, 11, 22, 14, 15, 3000, tzinfo=UTC),
        "service": "su",
        "level": "critical",
        "message": "'su root' failed for lonvick on /dev/pts/8",  # the BOM is gone
        "attrs": {"app": "su", "facility": "auth", "host": "mymachine.example.com", "msgid": "ID47",
                  "severity": "crit"},  # procid and SD are NIL: absent
    }  # fmt: skip
    assert got[1] == {
        "ts": dt.datetime(2003, 8, 24, 12, 14, 15, 3, tzinfo=UTC),  # -07:00 honoured, microseconds kept
        "service": "myproc",
        "level": "info",
        "message": "%% It's time to make the do-nuts.",
        "attrs": {"app": "myproc", "facility": "local4", "host": "192.0.2.1", "pid": "8710", "severity": "notice"},
    }
    sd = {"exampleSDID@32473": {"eventID": "1011", "eventSource": "Application", "iut": "3"}}
    assert got[2]["message"] == "An application event log entry..."
    assert got[2]["attrs"]["sd"] == sd
    assert not got[2]["message"].startswith("\ufeff")
    assert got[3]["attrs"]["sd"] == sd | {"examplePriority@32473": {"class": "high"}}
    # no MSG at all: the structured data is what a person can read
    assert got[3]["message"] == (
        '[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]'
    )
    assert res.frame["attrs"][3].index('"sd"') < res.frame["attrs"][3].index('"severity"')  # sorted keys


def test_sd_escapes_repeated_params_and_nil_fields(tmp_path: Path) -> None:
    line = '<14>1 2025-01-20T10:00:00Z - - - - [a@1 q="say \\"hi\\" \\] \\\\" q="2"][b@1] \ufeffhello\n'
    res = load(write(tmp_path, line))
    (r,) = rows(res)
    assert r["attrs"] == {
        "facility": "user",
        "severity": "info",
        "sd": {"a@1": {"q": ['say "hi" ] \\', "2"]}, "b@1": {}},
    }
    assert (r["service"], r["message"]) == (None, "hello")


def test_iso8601_stamped_lines_with_offsets(tmp_path: Path) -> None:
    text = (
        "2025-01-20T10:00:00.123+04:00 web1 nginx[12]: a\n"
        "2025-01-20T10:00:00.123+0400 web1 nginx[12]: b\n"
        "2025-01-20T06:00:00.123Z web1 nginx: c\n"
        "2025-01-20T10:00:00.123 web1 nginx[12]: d\n"
        "<11>2025-01-20T10:00:00+04 web1 app: e\n"
    )
    res = load(write(tmp_path, text, "tz-offset.log"), timezone="Asia/Dubai")
    assert (res.parsed, res.rejected) == (5, 0)
    expected = dt.datetime(2025, 1, 20, 6, 0, 0, 123000, tzinfo=UTC)
    assert res.frame["ts"].to_list()[:4] == [expected] * 4  # the naive one read in Asia/Dubai (+04:00)
    assert res.frame["ts"][4] == expected.replace(microsecond=0)
    assert res.frame["level"].to_list() == [None, None, None, None, "error"]
    assert json.loads(res.frame["attrs"][0]) == {"app": "nginx", "host": "web1", "pid": "12"}


def test_repeated_and_tab_continuations_are_kept(tmp_path: Path) -> None:
    text = (
        "\tstray continuation\n"
        "Feb  5 09:04:57 mac com.apple.xpc.launchd[1] (com.apple.foo): Service exited with abnormal code: 1\n"
        "\tfirst detail\n"
        "\tsecond detail\n"
        "Feb  5 09:04:58 --- last message repeated 3 times ---\n"
        "Feb  5 09:05:01 combo last message repeated 2 times\n"
        "\n"
        "this is not syslog\n"
    )
    res = load(write(tmp_path, text), year=2025)
    assert (res.inputs, res.parsed, res.rejected) == (8, 5, 3)
    got = rows(res)
    assert got[0]["message"] == "(com.apple.foo): Service exited with abnormal code: 1"
    assert got[0]["attrs"]["continuation"] == "\tfirst detail\n\tsecond detail"
    assert got[0]["service"] == "com.apple.xpc.launchd"
    assert got[1]["message"] == "--- last message repeated 3 times ---"
    assert got[1]["attrs"] == {"repeated": 3}
    assert got[2]["attrs"] == {"host": "combo", "repeated": 2}
    assert res.frame["origin"].str.extract(r":(\d+)$").to_list() == ["2", "5", "6"]
    reasons = dict(zip(res.rejects["origin"].str.extract(r":(\d+)$"), res.rejects["reason"], strict=True))
    assert reasons == {
        "1": "continuation line before the first syslog line",
        "7": "blank line",
        "8": "not a syslog line (RFC 3164, RFC 5424 or ISO 8601-stamped)",
    }


def test_nil_timestamp_and_impossible_dates_are_rejected(tmp_path: Path) -> None:
    text = "<34>1 - host app - - - no time\nFeb 29 10:00:00 h a: leap\nFeb 30 10:00:00 h a: never\n"
    res = load(write(tmp_path, text), year=2023)
    assert (res.parsed, res.rejected) == (0, 3)
    assert res.rejects["reason"].to_list() == [
        "RFC 5424 record without a timestamp (NIL): it cannot be placed in time",
        "timestamp Feb 29 10:00:00 not readable",  # 2023 is not a leap year
        "timestamp Feb 30 10:00:00 not readable",
    ]
    res = load(write(tmp_path, "Feb 29 10:00:00 h a: leap\n"))
    assert res.frame["ts"][0] == dt.datetime(2000, 2, 29, 10, tzinfo=UTC)  # the default year is a leap year


# ------------------------------------------------------------------ the year rule


def _series(*values: str) -> pl.Series:
    return pl.Series("ts", list(values))


def test_year_rule_rolls_over_and_uses_the_window() -> None:
    s = _series("Dec 30 23:00:00", "Dec 31 23:59:59", "Jan  1 00:00:01", "Jan  2 08:00:00")
    window = (dt.datetime(2025, 1, 1, 12), dt.datetime(2025, 1, 3))
    out, note = complete_year(s, "%b %d %H:%M:%S", window=window)
    assert [t.year for t in out] == [2024, 2024, 2025, 2025]
    assert "nearest the incident window" in note and "rolls over 1 time(s)" in note
    out, note = complete_year(s, "%b %d %H:%M:%S", year=2019, tz="America/New_York")
    assert out[0] == dt.datetime(2019, 12, 31, 4, 0, tzinfo=UTC)  # Dec 30 23:00 EST
    assert out[3] == dt.datetime(2020, 1, 2, 13, 0, tzinfo=UTC)
    assert "year 2019 for the first line (from `year`)" in note
    # a log just after the window still picks the nearest year
    out, _ = complete_year(_series("Mar  1 00:00:00"), "%b %d %H:%M:%S", window=window)
    assert out[0].year == 2025
    # the default: fixed, never the current year
    out, note = complete_year(_series("Jun 14 15:16:01"), "%b %d %H:%M:%S")
    assert out[0] == dt.datetime(2000, 6, 14, 15, 16, 1, tzinfo=UTC) and "set `year` or the incident window" in note


def test_out_of_order_lines_around_new_year_go_back() -> None:
    out, _ = complete_year(
        _series("Jan  1 00:00:01", "Dec 31 23:59:59", "Jan  1 00:00:02"), "%b %d %H:%M:%S", year=2025
    )
    assert [t.year for t in out] == [2025, 2024, 2025]


# ---------------------------------------------------------------- real files, sniffing


@pytest.mark.parametrize("system", ["Linux", "OpenSSH"])
def test_loghub_syslog_files(real: Path, system: str) -> None:
    res = load(real / "loghub" / system / f"{system}_2k.log", year=2005)
    assert (res.inputs, res.parsed, res.rejected) == (2000, 2000, 0)
    first = rows(res)[0]
    if system == "OpenSSH":
        assert first["attrs"] == {"app": "sshd", "host": "LabSZ", "pid": "24200"}
        assert first["ts"] == dt.datetime(2005, 12, 10, 6, 55, 46, tzinfo=UTC)
    else:
        assert first["attrs"] == {"app": "sshd(pam_unix)", "host": "combo", "pid": "19939"}
        assert first["message"].startswith("authentication failure; logname= uid=0")
    assert res.frame["level"].null_count() == 2000  # no PRI, no level


def test_sniffer(real: Path) -> None:
    rfc = real / "logs/syslog_rfc_examples"
    assert sniff((rfc / "rfc3164_section5.4_examples.log").read_text())
    assert sniff((rfc / "rfc5424_section6.5_examples.log").read_text(encoding="utf-8"))
    assert sniff("\n".join((real / "loghub/Linux/Linux_2k.log").read_text().splitlines()[:20]))
    assert sniff("2025-01-20T10:00:00.123+04:00 web1 nginx[12]: a\n\tcontinued\n")
    kafka = (real / "logs/elastic_examples/kafka0/logs/server.log.2016-12-19-16").read_text()
    assert not sniff("\n".join(kafka.splitlines()[:20]))
    assert not sniff('{"ts": "2025-01-20T10:00:00Z", "msg": "x"}\n')
    assert not sniff('127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326\n')
    assert not sniff("")
    assert registry.get("logs", "syslog").sniff is sniff


@settings(max_examples=scaled(40), deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(max_size=50),
            st.sampled_from(["<34>Oct 11 22:14:15 m su: x", "<1>1 2003-10-11T22:14:15Z h a p m [x", "\tcont", ""]),
            st.builds(lambda a, b: a + b, st.sampled_from(["Feb  5 17:32:18 ", "<13>1 - ", "2025-01-20T10:00:00Z "]),
                      st.text(max_size=30)),
        ),
        max_size=25,
    )
)  # fmt: skip
def test_arbitrary_lines_never_break_the_count_rule(lines: list[str]) -> None:
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "x.log"
        f.write_text("\n".join(lines), encoding="utf-8")
        res = load(f)
        assert res.parsed + res.rejected == res.inputs
