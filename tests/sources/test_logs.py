"""Log loaders: access logs (combined, common), nginx error, JSON lines, logfmt."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sourcetest import physical_lines, scaled, write

from pmkit.errors import SourceError
from pmkit.sources import registry
from pmkit.sources.base import LoadRequest, LoadResult, run
from pmkit.sources.levels import LEVEL_NAMES
from pmkit.sources.logs.access import scan_access_log

UTC = dt.UTC
MINE = ("combined", "common", "nginx-error", "jsonl", "logfmt")


def load(path: Path | str, fmt: str, **opts: object) -> LoadResult:
    """The loader's parse as it is: redaction (tested in tests/test_no_leak.py) left out."""
    opts.setdefault("redaction", False)
    return run(LoadRequest(kind="logs", format=fmt, path=str(path), **opts))  # type: ignore[arg-type]


def attrs(res: LoadResult) -> list[dict]:
    out = []
    for text in res.frame.get_column("attrs").to_list():
        value = json.loads(text)
        assert list(value) == sorted(value), f"attrs keys not sorted: {text}"
        out.append(value)
    return out


def ts(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def rejects(res: LoadResult) -> list[tuple[str, str]]:
    return [(o.rsplit(":", 1)[1], r) for o, r in res.rejects.select("origin", "reason").iter_rows()]


# ---------------------------------------------------------------------------- access logs

FULL = (
    '203.0.113.9 - alice [14/Mar/2025:14:05:02 +0100] "GET /api/v1/payments?id=7 HTTP/1.1" 502 173 '
    '"https://shop.example.com/cart" "Mozilla/5.0 \\"Bot\\" \\\\ v1" rt=0.085 uid=cus_123'
)


def test_combined_fields(tmp_path: Path) -> None:
    res = load(write(tmp_path, "access.log", FULL + "\n"), "combined")
    assert (res.inputs, res.parsed, res.rejected) == (1, 1, 0)
    row = res.frame.row(0, named=True)
    assert row["ts"] == ts(2025, 3, 14, 13, 5, 2)
    assert (row["kind"], row["level"], row["actor"], row["source"]) == ("log", "error", "alice", "access")
    assert row["message"] == "GET /api/v1/payments?id=7 502"
    assert row["origin"] == f"{tmp_path / 'access.log'}:1"
    assert attrs(res)[0] == {
        "bytes": 173,
        "client": "203.0.113.9",
        "duration_s": 0.085,
        "method": "GET",
        "path": "/api/v1/payments?id=7",
        "protocol": "HTTP/1.1",
        "referer": "https://shop.example.com/cart",
        "rt": "0.085",
        "status": 502,
        "uid": "cus_123",
        "user": "alice",
        "user_agent": 'Mozilla/5.0 "Bot" \\ v1',
    }


FILEBEAT = """\
10.0.0.2, 10.0.0.1, 127.0.0.1 - - [07/Dec/2016:11:05:07 +0100] "GET /ocelot HTTP/1.1" 200 571 "-" "Mozilla/5.0 Firefox/49.0"
172.17.0.1 - - [29/May/2017:19:02:48 +0000] "GET /stringpatch HTTP/1.1" 404 612 "-" "Mozilla/5.0 Firefox/15.0a2" "-"
"10.5.102.222, 199.96.1.1, 204.246.1.1" 10.2.1.185 - - [22/Jan/2016:13:18:29 +0000] "GET /assets/xxxx?q=100 HTTP/1.1" 200 25507 "-" "Amazon CloudFront"
2a03:0000:10ff:f00f:0000:0000:0:8000, 10.225.192.17 10.2.2.121 - - [30/Dec/2016:06:47:09 +0000] "GET /test.html HTTP/1.1" 404 8571 "-" "Facebot"
127.0.0.1 - - [12/Apr/2018:09:48:40 +0200] "" 400 0 "-" "-"
example.com:80 unix: - - [26/Feb/2019:15:39:42 +0100] "hello" 400 173 "-" "-"
example.com 10.0.0.2, 10.0.0.1, 81.2.69.143 - - [07/Dec/2016:11:05:07 +0100] "GET /ocelot HTTP/1.1" 200 571 "-" "x"
2001:db8::1 - - [07/Dec/2016:11:05:07 +0100] "GET /v6 HTTP/2.0" 503 - "-" "curl/8.5.0"
"""


def test_combined_real_world_variants(tmp_path: Path) -> None:
    """Filebeat's nginx fixtures: forwarded chains, a quoted chain, IPv6, an empty request, a vhost, an extra "-"."""
    res = load(write(tmp_path, "access.log", FILEBEAT), "combined")
    assert (res.parsed, res.rejected) == (8, 0)
    a = attrs(res)
    assert [x["client"] for x in a] == [
        "10.0.0.2",  # every address private: the first one
        "172.17.0.1",
        "199.96.1.1",  # first public address of the forwarded chain
        "2a03:0000:10ff:f00f:0000:0000:0:8000",
        "127.0.0.1",
        "unix:",
        "81.2.69.143",
        "2001:db8::1",
    ]
    assert a[0]["forwarded_for"] == "10.0.0.2, 10.0.0.1, 127.0.0.1" and a[0]["remote_addr"] == "127.0.0.1"
    assert a[2]["forwarded_for"] == "10.5.102.222, 199.96.1.1, 204.246.1.1, 10.2.1.185"
    assert a[2]["remote_addr"] == "10.2.1.185"
    assert "forwarded_for" not in a[1] and "trailing" not in a[1]  # the extra "-" field carries nothing
    assert a[4] == {
        "bytes": 0,
        "client": "127.0.0.1",
        "duration_s": None,
        "method": None,
        "path": None,
        "protocol": None,
        "referer": None,
        "status": 400,
        "user": None,
        "user_agent": None,
    }
    assert (a[5]["vhost"], a[6]["vhost"]) == ("example.com:80", "example.com")
    assert a[7]["bytes"] is None and a[7]["protocol"] == "HTTP/2.0"
    msgs = res.frame.get_column("message").to_list()
    assert msgs[4] == "(empty request) 400" and msgs[5] == "hello 400"
    assert res.frame.get_column("level").to_list() == [
        "info", "warning", "info", "warning", "warning", "warning", "info", "error"
    ]  # fmt: skip
    assert res.frame.get_column("ts").to_list()[0] == ts(2016, 12, 7, 10, 5, 7)


def test_trailing_key_values(tmp_path: Path) -> None:
    lines = [
        '1.2.3.4 - - [14/Mar/2025:13:00:00 +0000] "GET /a HTTP/1.1" 200 5 "-" "ua" request_time=1.5 user_id=u9',
        '1.2.3.4 - bob [14/Mar/2025:13:00:01 +0000] "GET /b HTTP/1.1" 200 5 "-" "ua" urt="0.050, 0.020" uid=u1',
        '1.2.3.4 - - [14/Mar/2025:13:00:02 +0000] "GET /c HTTP/1.1" 200 5 "-" "ua" rt=0.2 urt=0.1 status=x '
        'note="a \\"quoted\\" value" leftover',
        '1.2.3.4 - - [14/Mar/2025:13:00:03 +0000] "GET /d HTTP/1.1" 200 5 "-" "ua" rt=- user=carol',
    ]
    res = load(write(tmp_path, "a.log", "\n".join(lines)), "combined")
    a = attrs(res)
    assert [x["duration_s"] for x in a] == [1.5, 0.05, 0.2, None]
    assert [x["user"] for x in a] == ["u9", "bob", None, "carol"]
    assert res.frame.get_column("actor").to_list() == [None, "bob", None, None]
    assert a[1]["urt"] == "0.050, 0.020" and a[1]["uid"] == "u1"
    assert a[2]["trailing_status"] == "x" and a[2]["status"] == 200  # a colliding key is renamed
    assert a[2]["note"] == 'a "quoted" value' and a[2]["trailing"] == "leftover"
    assert a[3]["trailing_user"] == "carol" and a[3]["rt"] == "-"


def test_escapes_and_control_characters_stay_valid_json(tmp_path: Path) -> None:
    lines = [
        '1.2.3.4 - - [14/Mar/2025:13:00:00 +0000] "GET /q?a=\\"x\\" HTTP/1.1" 200 1 "-" "nginx \\x22hex\\x22 \\x5C and \\q"',
        '1.2.3.4 - - [14/Mar/2025:13:00:01 +0000] "GET /t HTTP/1.1" 200 1 "-" "tab\there \x01 ctl"',
        '1.2.3.4 - - [14/Mar/2025:13:00:02 +0000] "GET /u HTTP/1.1" 200 1 "-" "ends in a backslash \\',
        '1.2.3.4 - bad"user [14/Mar/2025:13:00:03 +0000] "GET /v HTTP/1.1" 200 1 "-" "é ☃ 😀"',
    ]
    res = load(write(tmp_path, "a.log", "\n".join(lines) + "\n"), "combined")
    assert res.rejected == 0
    a = attrs(res)
    assert a[0]["path"] == '/q?a="x"' and a[0]["user_agent"] == 'nginx "hex" \\ and \\q'
    assert res.frame.get_column("message")[0] == 'GET /q?a="x" 200'
    # raw control characters (never written by a server) are kept visible as \\t or \\u00XX text
    assert a[1]["user_agent"] == "tab\\there \\u0001 ctl"
    assert a[2]["user_agent"] == "ends in a backslash \\" and a[2]["truncated"] is True
    assert a[3]["user"] == 'bad"user' and a[3]["user_agent"] == "é ☃ 😀"
    assert all("\n" not in m for m in res.frame.get_column("message").to_list())


def test_rejects_name_line_and_reason(tmp_path: Path) -> None:
    text = FULL + "\n\n   \nnot an access log line\n" + FULL.replace("14/Mar/2025", "14/Foo/2025") + "\n"
    res = load(write(tmp_path, "a.log", text), "combined")
    assert (res.inputs, res.parsed, res.rejected) == (5, 1, 4)
    assert rejects(res) == [
        ("2", "blank line"),
        ("3", "blank line"),
        ("4", 'does not match the combined log format (expected client ident user [time] "request" status bytes '
              '"referer" "user-agent")'),
        ("5", "unreadable timestamp '14/Foo/2025:14:05:02 +0100' (expected %d/%b/%Y:%H:%M:%S %z)"),
    ]  # fmt: skip
    assert res.rejects.get_column("raw").to_list()[2] == "not an access log line"
    assert set(res.rejects.get_column("source").to_list()) == {"a"}


def test_common_format(tmp_path: Path) -> None:
    text = (
        '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326\n'
        '127.0.0.1 - - [10/Oct/2000:13:55:37 -0700] "GET /x HTTP/1.0" 304 - "http://ref/" "UA/1.0"\n'
    )
    res = load(write(tmp_path, "c.log", text), "common")
    assert res.parsed == 2
    a = attrs(res)
    assert res.frame.get_column("ts")[0] == ts(2000, 10, 10, 20, 55, 36)
    assert a[0]["user"] == "frank" and a[0]["referer"] is None and a[0]["user_agent"] is None
    assert a[1]["trailing"] == '"http://ref/" "UA/1.0"'  # combined extras are kept, not lost
    # and the combined loader rejects a common line
    assert load(tmp_path / "c.log", "combined").rejected == 1


def test_ts_format_and_timezone(tmp_path: Path) -> None:
    text = '1.2.3.4 - - [2025-03-14 09:05:02] "GET / HTTP/1.1" 200 1 "-" "ua"\n'
    res = load(write(tmp_path, "a.log", text), "combined", ts_format="%Y-%m-%d %H:%M:%S", timezone="America/New_York")
    assert res.frame.get_column("ts")[0] == ts(2025, 3, 14, 13, 5, 2)
    naive = '1.2.3.4 - - [14/Mar/2025:09:05:02] "GET / HTTP/1.1" 200 1 "-" "ua"\n'
    res = load(write(tmp_path, "b.log", naive), "combined", timezone="Europe/Paris")
    assert res.frame.get_column("ts")[0] == ts(2025, 3, 14, 8, 5, 2)


def test_keys_first_seen_after_the_sample_are_kept(tmp_path: Path) -> None:
    base = '1.2.3.4 - - [14/Mar/2025:13:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "ua" rt=0.1'
    lines = [base] * 12_000 + [base + " cache=HIT"]
    res = load(write(tmp_path, "a.log", "\n".join(lines)), "combined")
    assert res.parsed == 12_001
    assert json.loads(res.frame.get_column("attrs")[-1])["cache"] == "HIT"


def test_several_files_gzip_and_a_0x1f_byte(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "access.log.1.gz").write_bytes(gzip.compress((FULL + "\n").encode()))
    write(folder, "access.log", FULL + "\n" + FULL.replace("alice", "a\x1fb") + "\n")
    res = load(folder, "combined")
    assert (res.inputs, res.parsed, res.rejected) == (3, 3, 0)
    origins = res.frame.get_column("origin").to_list()
    assert origins == [f"{folder / 'access.log'}:1", f"{folder / 'access.log'}:2", f"{folder / 'access.log.1.gz'}:1"]
    assert res.frame.get_column("actor")[1] == "a\\u001fb"  # a control character, shown escaped


@pytest.mark.parametrize(
    "data",
    [b"", b"a", b"a\n", b"\n\n", b"a\r\nb\n\n c\x1fd\n\xef\xbb\xbfx", b"\xef\xbb\xbfhead\nz\r", b"x\ry\r\n\xff\xfe\n"],
)
def test_stream_lines_cuts_lines_as_textio_does(tmp_path: Path, data: bytes) -> None:
    from pmkit.sources import textio
    from pmkit.sources.linescan import stream_lines

    for name, payload in (("a.log", data), ("a.log.gz", gzip.compress(data))):
        path = write(tmp_path, name, payload)
        want = textio.read_lines(path)
        for batch in (1, 3, 1 << 20):
            assert stream_lines(path, batch_bytes=batch).collect(engine="streaming").equals(want), (name, batch)


def test_scan_access_log_filters_the_window(tmp_path: Path) -> None:
    lines = [
        f'1.2.3.4 - - [14/Mar/2025:13:{m:02d}:00 +0000] "GET /{m} HTTP/1.1" 200 1 "-" "ua" rt=0.{m:02d}'
        for m in range(60)
    ]
    path = write(tmp_path, "a.log", "\n".join(lines) + "\nbroken\n")
    lf = scan_access_log(path, window=(dt.datetime(2025, 3, 14, 13, 10), ts(2025, 3, 14, 13, 20)))
    assert isinstance(lf, pl.LazyFrame)
    df = lf.collect(engine="streaming")
    assert df.height == 10
    assert df.get_column("message").to_list()[0] == "GET /10 200"
    assert json.loads(df.get_column("attrs")[0])["duration_s"] == 0.1


# ---------------------------------------------------------------------------- nginx error log

NGINX_ERROR = """\
2019/10/30 23:26:34 [error] 205860#205860: *180289 FastCGI sent in stderr: "PHP message: PHP Warning:  A
PHP message: PHP Warning:  B
PHP message: PHP Warning:  C" while reading response header from upstream, client: 192.168.0.1, server: example.com, request: "GET / HTTP/1.1", upstream: "fastcgi://unix:/run/php/php7.3-fpm.sock:", host: "example.com"
2016/10/25 14:49:34 [warn] 54053#0: *1 open() "/html/favicon.ico" failed (2: No such file), client: 127.0.0.1, server: localhost, request: "GET /favicon.ico HTTP/1.1", host: "localhost:8080", referrer: "http://localhost:8080/"

2016/10/25 14:50:00 [notice] 1#1: signal process started
2016/10/25 14:50:01 [emerg] 1#1: bind() to 0.0.0.0:80 failed (98: Address already in use)
2016/10/25 14:50:02 [crit] 1#1: a
2016/10/25 14:50:03 [alert] 1#1: b
2016/10/25 14:50:04 [info] 1#1: c
2016/10/25 14:50:05 [debug] 1#1: d
2016/10/25 14:50:06 garbage after a timestamp
with a continuation
"""


def test_nginx_error_entries(tmp_path: Path) -> None:
    res = load(
        write(tmp_path, "error.log", "orphan continuation\n" + NGINX_ERROR), "nginx-error", timezone="Europe/Berlin"
    )
    assert res.inputs == 14
    assert res.parsed == 10  # the 3-line FastCGI entry counts 3 lines
    assert rejects(res) == [
        ("1", "continuation line with no entry before it (expected YYYY/MM/DD HH:MM:SS [level] ...)"),
        ("6", "blank line"),
        ("13", "does not match the nginx error log format (expected YYYY/MM/DD HH:MM:SS [level] pid#tid: ...)"),
        ("14", "continuation of the rejected entry at line 13"),
    ]
    f = res.frame
    assert f.get_column("level").to_list() == [
        "error",
        "warning",
        "info",
        "critical",
        "critical",
        "critical",
        "info",
        "debug",
    ]
    assert f.get_column("ts")[0] == ts(2019, 10, 30, 22, 26, 34)  # CET is UTC+1
    assert f.get_column("origin")[0].endswith("error.log:2")
    assert f.get_column("message")[0] == 'FastCGI sent in stderr: "PHP message: PHP Warning:  A'
    assert f.get_column("message")[1] == 'open() "/html/favicon.ico" failed (2: No such file)'
    a = attrs(res)
    assert a[0]["full_message"].count("\n") == 2 and a[0]["full_message"].endswith('host: "example.com"')
    assert {k: a[0][k] for k in ("client", "server", "request", "host", "pid", "tid", "cid")} == {
        "client": "192.168.0.1",
        "server": "example.com",
        "request": "GET / HTTP/1.1",
        "host": "example.com",
        "pid": 205860,
        "tid": 205860,
        "cid": 180289,
    }
    assert a[0]["upstream"] == "fastcgi://unix:/run/php/php7.3-fpm.sock:"
    assert a[1]["referrer"] == "http://localhost:8080/" and "full_message" not in a[1]
    assert a[2] == {"pid": 1, "tid": 1}
    assert [n for n in res.notes if not n.startswith("times without a UTC offset read in Europe/Berlin")] == []


def test_nginx_error_says_when_utc_is_assumed(tmp_path: Path) -> None:
    res = load(write(tmp_path, "error.log", "2016/10/25 14:50:00 [notice] 1#1: started\n"), "nginx-error")
    assert res.frame.get_column("ts")[0] == ts(2016, 10, 25, 14, 50)
    assert any("read as UTC" in n for n in res.notes)


# ---------------------------------------------------------------------------- JSON lines


def test_jsonl_default_fields_and_levels(tmp_path: Path) -> None:
    recs = [
        {"ts": "2025-03-14T13:05:02.118Z", "level": "WARN", "msg": "a", "service": "pay", "user_id": "cus_1"},
        {"time": "2025-03-14T14:05:02+01:00", "severity": "Warning", "message": "b", "app": "web"},
        {"timestamp": 1741957502, "lvl": "ERR", "text": "c", "application": "x", "logger": "app.db"},
        {"@timestamp": 1741957502123, "loglevel": "FATAL", "event": "d"},
        {"t": "2025-03-14 13:05:02", "log": {"level": "trace"}, "msg": "e"},
        {"date": "2025-03-14T13:05:02Z", "level": 50, "msg": "f"},
        {"ts": "2025-03-14T13:05:02Z", "level": "notice", "msg": "g", "user": "u1"},
        {"ts": "2025-03-14T13:05:02Z", "level": "verbose-ish", "msg": "h"},
        {"ts": "2025-03-14T13:05:02Z", "level": "30", "msg": "i"},
        {"ts": "2025-03-14T13:05:02Z", "levelname": "CRITICAL", "msg": "j"},
    ]
    path = write(tmp_path, "app.jsonl", "\n".join(json.dumps(r) for r in recs) + "\n")
    res = load(path, "jsonl")
    assert res.parsed == 10
    f = res.frame
    assert f.get_column("level").to_list() == [
        "warning", "warning", "error", "critical", "debug", "error", "info", None, "info", "critical"
    ]  # fmt: skip
    assert f.get_column("message").to_list() == list("abcdefghij")
    assert f.get_column("service").to_list() == ["pay", "web", "x"] + [None] * 7
    assert f.get_column("actor").null_count() == 10  # user ids stay in attrs
    times = f.get_column("ts").to_list()
    assert times[:5] == [
        ts(2025, 3, 14, 13, 5, 2, 118000),
        ts(2025, 3, 14, 13, 5, 2),
        ts(2025, 3, 14, 13, 5, 2),
        ts(2025, 3, 14, 13, 5, 2, 123000),
        ts(2025, 3, 14, 13, 5, 2),
    ]
    a = attrs(res)
    assert a[0] == {"user_id": "cus_1"}
    assert a[2] == {"logger": "app.db"}
    assert a[4] == {"log": {}}  # the nested level went to the column
    assert a[6] == {"user": "u1"}
    assert a[7] == {"level": "verbose-ish"}  # an unknown level stays in attrs


def test_jsonl_field_mapping_and_nesting(tmp_path: Path) -> None:
    recs = [
        {
            "when": "2025-03-14T13:05:02Z",
            "meta": {"sev": "error", "zone": "eu"},
            "text": "boom",
            "b": [{"y": 1, "x": None}],
        },
        {"when": "2025-03-14T13:07:02Z", "text": "order", "z": {"b": 1, "a": [None, 2]}, "a": 0},
        {"when": "2025-03-14T13:06:02Z", "meta": {"sev": "nope"}, "text": "odd", "ts": "not used"},
    ]
    path = write(tmp_path, "app.jsonl", "\n".join(json.dumps(r) for r in recs))
    res = load(path, "jsonl", fields={"ts": "when", "level": "meta.sev", "message": "text", "actor": "meta.zone"})
    f = res.frame
    assert f.get_column("level").to_list() == ["error", None, None]
    assert f.get_column("message").to_list() == ["boom", "order", "odd"]
    assert f.get_column("actor").to_list() == ["eu", None, None]
    assert f.get_column("ts").to_list() == [
        ts(2025, 3, 14, 13, 5, 2),
        ts(2025, 3, 14, 13, 7, 2),
        ts(2025, 3, 14, 13, 6, 2),
    ]
    a = attrs(res)
    assert a[0] == {"b": [{"y": 1}], "meta": {}}  # null members are left out at any depth
    assert f.get_column("attrs")[1] == '{"a":0,"z":{"a":[null,2],"b":1}}'  # sorted at every depth, array nulls kept
    assert a[2] == {"meta": {"sev": "nope"}, "ts": "not used"}


def test_jsonl_unknown_field_mapping_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "app.jsonl", '{"ts":"2025-03-14T13:05:02Z"}')
    with pytest.raises(SourceError, match=r"fields: cannot map 'timestamp'; the columns a field can fill are ts, "):
        load(path, "jsonl", fields={"timestamp": "ts"})


def test_jsonl_arrays_mixing_types_hold_text(tmp_path: Path) -> None:
    """polars' reader unifies an array's items to one type: mixed arrays come back as strings."""
    path = write(tmp_path, "app.jsonl", json.dumps({"ts": "2025-03-14T13:05:02Z", "b": [3, "x", True]}))
    assert attrs(load(path, "jsonl"))[0] == {"b": ["3", "x", "true"]}


def test_jsonl_stack_traces_and_messages(tmp_path: Path) -> None:
    recs = [
        {
            "ts": "2025-03-14T13:05:02Z",
            "level": "error",
            "msg": "failed",
            "exc": 'Traceback:\n  File "a.py"\nValueError',
        },
        {"ts": "2025-03-14T13:05:03Z", "msg": "first line\nsecond line\n"},
        {"ts": "2025-03-14T13:05:04Z", "n": 1, "ok": True, "f": 1.5, "none": None},
    ]
    res = load(write(tmp_path, "app.jsonl", "\n".join(json.dumps(r) for r in recs)), "jsonl")
    assert res.frame.get_column("message").to_list()[:2] == ["failed", "first line"]
    a = attrs(res)
    assert a[0] == {"exc": 'Traceback:\n  File "a.py"\nValueError'}
    assert a[1] == {"msg": "first line\nsecond line\n"}
    assert a[2] == {"f": 1.5, "n": 1, "ok": True}
    assert res.frame.get_column("message")[2] == res.frame.get_column("attrs")[2]  # no message field: the attrs


def test_jsonl_docker_wrapping(tmp_path: Path) -> None:
    lines = [
        {"log": '{"level":"info","msg":"listening","port":8080}\n', "stream": "stdout", "time": "2025-03-14T13:05:02.000000001Z"},
        {"log": "plain text line\n", "stream": "stderr", "time": "2025-03-14T13:05:03.5Z"},
        {"log": '{"ts":"2025-03-14T12:00:00Z","level":"error","msg":"inner time"}\n', "stream": "stdout",
         "time": "2025-03-14T13:05:04Z"},
        {"log": "Traceback (most recent call last):\n  File x\n", "stream": "stderr", "time": "2025-03-14T13:05:05Z"},
    ]  # fmt: skip
    res = load(write(tmp_path, "c.log", "\n".join(json.dumps(r) for r in lines)), "jsonl")
    assert res.parsed == 4
    f = res.frame
    assert f.get_column("ts").to_list() == [
        ts(2025, 3, 14, 13, 5, 2),
        ts(2025, 3, 14, 13, 5, 3, 500000),
        ts(2025, 3, 14, 12, 0, 0),
        ts(2025, 3, 14, 13, 5, 5),
    ]
    assert f.get_column("message").to_list() == [
        "listening",
        "plain text line",
        "inner time",
        "Traceback (most recent call last):",
    ]
    assert f.get_column("level").to_list() == ["info", None, "error", None]
    a = attrs(res)
    assert a[0] == {"port": 8080, "stream": "stdout"}
    assert a[1] == {"stream": "stderr"}
    assert a[2] == {"docker_time": "2025-03-14T13:05:04Z", "stream": "stdout"}
    assert a[3] == {"log": "Traceback (most recent call last):\n  File x", "stream": "stderr"}
    assert any("Docker" in n for n in res.notes)
    # an inner field named like a wrapper field keeps its name; the wrapper's gets a docker_ prefix
    inner = {"log": '{"ts":"2025-03-14T12:00:00Z","stream":"x"}\n', "stream": "stdout", "time": "2025-03-14T13:05:04Z"}
    res = load(write(tmp_path, "d.log", json.dumps(inner)), "jsonl")
    assert attrs(res)[0] == {"docker_stream": "stdout", "docker_time": "2025-03-14T13:05:04Z", "stream": "x"}


def test_jsonl_bad_lines_rejected_one_by_one(tmp_path: Path) -> None:
    text = "\n".join(
        [
            '{"ts":"2025-03-14T13:05:02Z","msg":"ok"}',
            "",
            "not json",
            '["an", "array"]',
            '{"ts":"2025-03-14T13:05:03Z","msg":"ok too"}',
            '{"a": 1',
            '{"msg":"no time"}',
            '{"ts":"yesterday-ish","msg":"bad time"}',
            "42",
        ]
    )
    res = load(write(tmp_path, "app.jsonl", text), "jsonl")
    assert (res.inputs, res.parsed, res.rejected) == (9, 2, 7)
    assert rejects(res) == [
        ("2", "blank line"),
        ("3", "not valid JSON: Expecting value at column 1"),
        ("4", "a JSON list, not an object"),
        ("6", "not valid JSON: Expecting ',' delimiter at column 8"),
        ("7", "no timestamp field (looked for ts, time, timestamp, @timestamp, t, date; set fields: {ts: <name>})"),
        ("8", "unreadable timestamp (looked in ts, time, timestamp, @timestamp, t, date; set ts_format)"),
        ("9", "a JSON int, not an object"),
    ]
    assert res.rejects.get_column("raw").to_list()[5] == '{"ts":"yesterday-ish","msg":"bad time"}'


def test_jsonl_conflicting_types_and_late_fields(tmp_path: Path) -> None:
    recs = [{"ts": "2025-03-14T13:05:02Z", "v": {"a": 1}, "n": 1}] * 150
    recs += [{"ts": "2025-03-14T13:05:03Z", "v": [1, 2], "n": True, "late": "kept"}]
    res = load(write(tmp_path, "app.jsonl", "\n".join(json.dumps(r) for r in recs)), "jsonl")
    assert res.parsed == 151
    a = attrs(res)
    assert a[0] == {"n": "1", "v": '{"a": 1}'}  # conflicting types are kept as JSON text
    assert a[-1] == {"late": "kept", "n": "true", "v": "[1, 2]"}
    assert any("conflicting types" in n for n in res.notes)


def test_jsonl_late_field_beyond_polars_default_inference(tmp_path: Path) -> None:
    recs = [{"ts": "2025-03-14T13:05:02Z", "msg": "x"}] * 500 + [{"ts": "2025-03-14T13:05:02Z", "msg": "y", "exc": "E"}]
    res = load(write(tmp_path, "app.jsonl", "\n".join(json.dumps(r) for r in recs) + "\n"), "jsonl")
    assert attrs(res)[-1] == {"exc": "E"}


def test_jsonl_bom_crlf_and_gzip(tmp_path: Path) -> None:
    body = '{"ts":"2025-03-14T13:05:02Z","msg":"a"}\r\n{"ts":"2025-03-14T13:05:03Z","msg":"b"}\r\n'
    write(tmp_path, "a.jsonl", b"\xef\xbb\xbf" + body.encode())
    (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress(body.encode()))
    res = load(tmp_path, "jsonl")
    assert (res.inputs, res.parsed) == (4, 4)
    assert res.frame.get_column("message").to_list() == ["a", "b", "a", "b"]


# ---------------------------------------------------------------------------- logfmt


def test_logfmt(tmp_path: Path) -> None:
    text = (
        'ts=2025-03-14T13:05:02.118Z level=error msg="payment authorisation failed" service=payments '
        "user_id=cus_123 duration=5.002s\n"
        'time=1741957503 lvl=WARN msg="quoted \\"inner\\" value\\nsecond" flag empty=\n'
        "just some text\n"
        "\n"
        "level=info msg=no-time\n"
    )
    res = load(write(tmp_path, "app.log", text), "logfmt")
    assert (res.inputs, res.parsed, res.rejected) == (5, 2, 3)
    f = res.frame
    assert f.get_column("ts").to_list() == [ts(2025, 3, 14, 13, 5, 2, 118000), ts(2025, 3, 14, 13, 5, 3)]
    assert f.get_column("level").to_list() == ["error", "warning"]
    assert f.get_column("service").to_list() == ["payments", None]
    assert f.get_column("message").to_list() == ["payment authorisation failed", 'quoted "inner" value']
    a = attrs(res)
    assert a[0] == {"duration": "5.002s", "user_id": "cus_123"}
    assert a[1] == {"empty": "", "flag": "true", "msg": 'quoted "inner" value\nsecond'}
    assert [r for _, r in rejects(res)] == [
        'not logfmt (expected key=value pairs, values with spaces in "quotes")',
        "blank line",
        "no timestamp field (looked for ts, time, timestamp, @timestamp, t, date; set fields: {ts: <name>})",
    ]


# ---------------------------------------------------------------------------- sniffers


def test_sniffers_accept_their_example_and_reject_the_others() -> None:
    infos = {i.format: i for i in registry.formats("logs")}
    for fmt in MINE:
        assert infos[fmt].sniff is not None
        assert infos[fmt].sniff(infos[fmt].example), f"{fmt} rejects its own example"
        for other, info in infos.items():
            if other != fmt:
                assert not infos[fmt].sniff(info.example), f"{fmt} accepts the {other} example"
        assert registry.sniff("logs", infos[fmt].example) == fmt


def test_sniffers_reject_real_files_of_other_formats(real: Path) -> None:
    from pmkit.sources import textio

    heads = {
        "log4j": textio.head(real / "logs/elastic_examples/kafka0/logs/server.log.2016-12-19-16"),
        "syslog3164": textio.head(real / "logs/syslog_rfc_examples/rfc3164_section5.4_examples.log"),
        "syslog5424": textio.head(real / "logs/syslog_rfc_examples/rfc5424_section6.5_examples.log"),
    }
    infos = {i.format: i for i in registry.formats("logs")}
    for fmt in MINE:
        for name, head in heads.items():
            assert not infos[fmt].sniff(head), f"{fmt} sniffer accepts {name}"
    apache = textio.head(real / "logs/elastic_examples/apache_logs/apache_logs")
    assert registry.sniff("logs", apache) == "combined"


# ---------------------------------------------------------------------------- real files

APACHE_RE = re.compile(r'^(\S+) (\S+) (\S+) \[([^\]]+)\] "(.*?)" (\d{3}) (\S+) "(.*?)" "(.*?)"?$')


def test_real_apache_log(real: Path) -> None:
    path = real / "logs/elastic_examples/apache_logs/apache_logs"
    res = load(path, "combined")
    assert (res.inputs, res.parsed, res.rejected) == (10_000, 10_000, 0)
    f = res.frame
    first = f.row(0, named=True)
    assert first["ts"] == ts(2015, 5, 17, 10, 5, 3)
    assert first["message"] == "GET /presentations/logstash-monitorama-2013/images/kibana-search.png 200"
    assert json.loads(first["attrs"]) == {
        "bytes": 203023,
        "client": "83.149.9.216",
        "duration_s": None,
        "method": "GET",
        "path": "/presentations/logstash-monitorama-2013/images/kibana-search.png",
        "protocol": "HTTP/1.1",
        "referer": "http://semicomplete.com/presentations/logstash-monitorama-2013/",
        "status": 200,
        "user": None,
        "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/32.0.1700.77 Safari/537.36",
    }
    # line 8899 lost the end of its user agent; it is kept and flagged
    cut = json.loads(f.filter(pl.col("origin").str.ends_with(":8899")).get_column("attrs")[0])
    assert cut["truncated"] is True and cut["user_agent"].endswith("+http://www.google.com/bot.html")
    # every line against an independent reading of the raw text
    raw = path.read_text().splitlines()
    got = [json.loads(a) for a in f.get_column("attrs").to_list()]
    levels = f.get_column("level").to_list()
    for line, a, t, level in zip(raw, got, f.get_column("ts").to_list(), levels, strict=True):
        m = APACHE_RE.match(line)
        assert m, line
        client, _, user, when, request, status, size, referer, agent = m.groups()
        assert a["client"] == client and a["status"] == int(status)
        assert a["bytes"] == (None if size == "-" else int(size))
        assert a["user"] == (None if user == "-" else user)
        assert a["referer"] == (None if referer == "-" else referer)
        assert a["user_agent"] == (None if agent == "-" else agent.replace('\\"', '"'))
        assert f"{a['method']} {a['path']} {a['protocol']}" == request or a["method"] is None
        assert t == dt.datetime.strptime(when, "%d/%b/%Y:%H:%M:%S %z")
        assert level == ("error" if int(status) >= 500 else "warning" if int(status) >= 400 else "info")
    assert set(levels) == {"info", "warning", "error"}


def test_real_nginxplus_json_if_present(real: Path) -> None:
    path = real / "logs/elastic_examples/nginxplus_json_logs"
    if not path.exists():
        pytest.skip(f"{path} is not in this copy of the shared data")
    res = load(path, "jsonl", ts_format="epoch_ms")
    assert res.rejected == 0 and res.parsed == res.inputs


# ---------------------------------------------------------------------------- properties

_LINE = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n"), max_size=80)
_SETTINGS = settings(
    max_examples=scaled(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _check(res: LoadResult, n_lines: int) -> None:
    assert res.inputs == n_lines and res.parsed + res.rejected == n_lines  # run() enforces it too
    assert set(res.frame.get_column("level").drop_nulls().to_list()) <= set(LEVEL_NAMES.values())
    for text in res.frame.get_column("attrs").to_list():
        value = json.loads(text)
        assert list(value) == sorted(value)
    assert all("\n" not in m for m in res.frame.get_column("message").to_list()), "a message spans lines"


_REAL_LOOKING = [
    FULL,
    *FILEBEAT.splitlines(),
    *NGINX_ERROR.splitlines()[:4],
    '{"log":"{\\"level\\":\\"info\\",\\"msg\\":\\"up\\"}\\n","stream":"stdout","time":"2025-03-14T13:05:02Z"}',
    '{"ts":"2025-03-14T13:05:02Z","level":"error","msg":"x","exc":"a\\nb","http":{"status":502}}',
    'ts=2025-03-14T13:05:02Z level=warn msg="a \\"b\\"" n=1',
]


@st.composite
def _mutated(draw: st.DrawFn) -> str:
    """A real-looking line of any format with a few characters deleted, inserted or repeated."""
    line = draw(st.sampled_from(_REAL_LOOKING))
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, len(line)))
        op = draw(st.sampled_from(("delete", "insert", "repeat")))
        if op == "delete":
            line = line[:i] + line[i + 1 :]
        elif op == "insert":
            line = line[:i] + draw(st.sampled_from([*'"\\ []={},:\t\x00\x1f\ré-', "\\x22", "null"])) + line[i:]
        else:
            line = line[:i] + line[i : i + 6] * 2 + line[i + 6 :]
    return line


@pytest.mark.parametrize("fmt", MINE)
@_SETTINGS
@given(lines=st.lists(_LINE | _mutated(), min_size=1, max_size=6))
def test_arbitrary_text_never_crashes(tmp_path: Path, fmt: str, lines: list[str]) -> None:
    text = "\n".join(lines) + "\n"
    _check(load(write(tmp_path, "in.log", text), fmt), physical_lines(text))


_FIELD = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)


@_SETTINGS
@given(
    agent=_FIELD,
    path=st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zs")), min_size=1, max_size=20),
    user=st.from_regex(r"[a-z]{1,8}", fullmatch=True) | st.just("-"),
    status=st.integers(100, 599),
    size=st.integers(0, 10**12) | st.just(None),
    rt=st.floats(0, 1e4, allow_nan=False) | st.just(None),
    junk=st.lists(_LINE, max_size=3),
)
def test_access_log_fields_round_trip(tmp_path: Path, agent, path, user, status, size, rt, junk) -> None:
    """Apache-escaped fields come back unescaped; mutated lines are rejected, never crash or vanish."""

    def esc(s: str) -> str:
        return s.replace("\\", "\\\\").replace('"', '\\"')

    line = (
        f'10.1.2.3 - {user} [14/Mar/2025:13:05:02 +0000] "GET {esc(path)} HTTP/1.1" {status} '
        f'{"-" if size is None else size} "-" "{esc(agent)}"' + ("" if rt is None else f" rt={rt}")
    )
    text = "\n".join([line, *junk, line[: len(line) // 2]]) + "\n"
    res = load(write(tmp_path, "a.log", text), "combined")
    _check(res, physical_lines(text))
    a = json.loads(res.frame.get_column("attrs")[0])
    assert res.frame.get_column("origin")[0].endswith(":1")
    assert a["user_agent"] == (None if agent == "-" else agent)
    assert a["path"] == path and a["status"] == status and a["bytes"] == size
    assert a["user"] == (None if user == "-" else user)
    assert a["duration_s"] == rt


_JSON_SCALAR = (
    st.none() | st.booleans() | st.integers(-(2**62), 2**62) | st.floats(allow_nan=False, allow_infinity=False) | _FIELD
)
_JSON = st.recursive(
    _JSON_SCALAR,
    lambda inner: (
        st.dictionaries(_FIELD, inner, max_size=3)
        | st.one_of(*(st.lists(s, max_size=3) for s in (st.booleans(), st.integers(-(2**62), 2**62), _FIELD)))
    ),
    max_leaves=8,
)


def _expected_attrs(value: object) -> object:
    if isinstance(value, dict):
        return {k: _expected_attrs(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_expected_attrs(v) for v in value]
    return value


@_SETTINGS
@given(
    record=st.dictionaries(st.from_regex(r"x[a-z]{0,5}", fullmatch=True), _JSON, max_size=5),
    junk=st.lists(_LINE, max_size=3),
)
def test_jsonl_records_round_trip(tmp_path: Path, record: dict, junk: list[str]) -> None:
    """A record's other fields come back in attrs (nulls left out); junk lines are rejected one by one."""
    rec = {"ts": "2025-03-14T13:05:02Z", "msg": "m", **record}
    text = "\n".join([json.dumps(rec), *junk, json.dumps(rec)]) + "\n"
    res = load(write(tmp_path, "a.jsonl", text), "jsonl")
    _check(res, physical_lines(text))
    assert res.parsed >= 2
    got = json.loads(res.frame.get_column("attrs")[0])
    if not res.notes:  # no type conflict with a junk line that happened to be JSON
        assert got == _expected_attrs(record)


@_SETTINGS
@given(
    records=st.lists(
        st.dictionaries(
            st.sampled_from(["a", "b", "c", "ts", "n"]), _JSON | st.sampled_from(["2025-03-14", 2**63, 1.5])
        )
        | st.just({}),
        min_size=1,
        max_size=8,
    )
)
def test_lossless_ndjson_reads_as_polars_does(records: list[dict]) -> None:
    """The pyarrow-first reader gives polars' frame (values and types) or polars' error, whatever the records."""
    from pmkit.sources.ndjson import read_ndjson_lossless

    data = "\n".join(json.dumps(r) for r in records).encode() + b"\n"
    try:
        want = pl.read_ndjson(data, infer_schema_length=None)
    except pl.exceptions.PolarsError:
        with pytest.raises(pl.exceptions.PolarsError):
            read_ndjson_lossless(data)
        return
    got = read_ndjson_lossless(data)
    # field order may differ (polars' inference does not keep first-seen order); the loaders go by name
    got, want = got.select(sorted(got.columns)), want.select(sorted(want.columns))
    assert {c: _sorted_fields(d) for c, d in got.schema.items()} == {
        c: _sorted_fields(d) for c, d in want.schema.items()
    }
    assert got.to_dicts() == want.to_dicts()


def _sorted_fields(dtype: pl.DataType) -> pl.DataType:
    """A dtype with its struct fields (at any depth) in name order."""
    if isinstance(dtype, pl.Struct):
        return pl.Struct(
            [pl.Field(f.name, _sorted_fields(f.dtype)) for f in sorted(dtype.fields, key=lambda f: f.name)]
        )
    if isinstance(dtype, pl.List):
        return pl.List(_sorted_fields(dtype.inner))
    return dtype
