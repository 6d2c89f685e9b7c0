"""``options: {multiline: ...}`` in every line format (logfmt, jsonl, syslog, grok, log4j), and the options check."""

from __future__ import annotations

import datetime as dt
import json
import random
import tempfile
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sourcetest import physical_lines, scaled

from pmkit.errors import SourceError, SpecError
from pmkit.sources import registry
from pmkit.sources.base import LoadRequest, LoadResult, run
from pmkit.sources.multiline import Multiline, multiline_option, traceback_continues
from pmkit.spec import parse_spec

KAFKA = "logs/elastic_examples/kafka0/logs/server.log.2016-12-19-16"


def load(path: Path, fmt: str, **kw: Any) -> LoadResult:
    return run(LoadRequest("logs", fmt, str(path), **kw))


def python_traceback(rng: random.Random, i: int) -> list[str]:
    """A traceback as CPython prints it: frames, source lines, carets, sometimes a chained one."""
    lines = ["Traceback (most recent call last):"]
    for depth in range(rng.randint(1, 4)):
        lines += [f'  File "/app/mod{depth}.py", line {rng.randint(1, 900)}, in f{depth}', f"    g{depth}(x)"]
    if rng.random() < 0.3:
        lines.append("    ~~~~~~^^^")
    if rng.random() < 0.3:
        lines += [
            f"KeyError: 'k{i}'",
            "",
            "During handling of the above exception, another exception occurred:",
            "",
            "Traceback (most recent call last):",
            '  File "/app/handler.py", line 12, in handle',
            "    raise ValueError(str(exc)) from None",
        ]
    lines.append(rng.choice([f"ValueError: bad input {i}", "KeyboardInterrupt", f"psycopg2.OperationalError: x{i}"]))
    return lines


def traceback_log(path: Path, n_records: int = 2000, every: int = 12, seed: int = 7) -> tuple[int, int, int]:
    """A logfmt app log with a Python traceback after every ``every``-th line; (records, tracebacks, lines)."""
    rng = random.Random(seed)
    out: list[str] = []
    n_tb = 0
    t0 = dt.datetime(2025, 6, 15, 14, 0, tzinfo=dt.UTC)
    for i in range(n_records):
        ts = (t0 + dt.timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        if i % every == 3:
            out.append(f'ts={ts} level=error msg="request failed" service=api req_id=r{i}')
            out += python_traceback(rng, i)
            n_tb += 1
        else:
            out.append(f'ts={ts} level=info msg="request ok" service=api req_id=r{i}')
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return n_records, n_tb, len(out)


def test_logfmt_with_python_tracebacks(tmp_path: Path) -> None:
    f = tmp_path / "app.log"
    n_records, n_tb, n_lines = traceback_log(f)
    assert n_tb >= 150
    before = load(f, "logfmt")
    assert before.rejected == n_lines - n_records  # every traceback line a reject without the option
    for option in ("traceback", "indented", {"start": "ts="}, True):
        res = load(f, "logfmt", options={"multiline": option})
        assert (res.inputs, res.parsed, res.rejected) == (n_lines, n_lines, 0), option
        assert res.frame.height == n_records
        failed = res.frame.filter(pl.col("level") == "error")
        assert failed.height == n_tb
        assert set(failed["message"]) == {"request failed"}  # the message is the head's
        cont = [json.loads(a)["continuation"] for a in failed["attrs"]]
        assert all(c.startswith("Traceback (most recent call last):") for c in cont)
        assert all(
            c.splitlines()[-1].split(":")[0] in ("ValueError", "KeyboardInterrupt", "psycopg2.OperationalError")
            for c in cont
        )
        assert any("During handling of the above exception" in c for c in cont)
        said = f"{n_lines - n_records:,} continuation lines joined to {n_tb:,} records, counted as parsed lines"
        assert any(n.startswith("app.log: multiline:") and said in n for n in res.notes), res.notes


def test_logfmt_multiline_window_and_bad_heads(tmp_path: Path) -> None:
    text = (
        "  orphan line\n"
        'ts=2025-06-15T14:00:00Z level=error msg="a"\n'
        "Traceback (most recent call last):\n"
        '  File "x.py", line 1, in <module>\n'
        "ValueError: a\n"
        'no timestamp here msg="b"\n'
        "  continues the bad record\n"
        'ts=2025-06-15T16:00:00Z level=error msg="c"\n'
        "Traceback (most recent call last):\n"
        "ValueError: c\n"
    )
    f = tmp_path / "a.log"
    f.write_text(text)
    res = load(f, "logfmt", options={"multiline": "traceback"})
    assert (res.inputs, res.parsed, res.rejected) == (10, 7, 3)
    reasons = res.rejects["reason"].to_list()
    assert reasons[0] == "continuation line before the first record of the file"
    assert reasons[2].startswith("continues line 6, which was rejected:")
    window = (dt.datetime(2025, 6, 15, 13, 0, tzinfo=dt.UTC), dt.datetime(2025, 6, 15, 14, 30, tzinfo=dt.UTC))
    res = load(f, "logfmt", options={"multiline": "traceback"}, window=window)
    assert (res.inputs, res.parsed, res.rejected, res.outside) == (10, 4, 3, 3)
    assert res.frame["message"].to_list() == ["a"]


def test_jsonl_raw_traceback_lines_attach_to_the_json_record(tmp_path: Path) -> None:
    f = tmp_path / "app.jsonl"
    f.write_text(
        '{"ts":"2025-06-15T14:00:00Z","level":"error","msg":"boom"}\n'
        "Traceback (most recent call last):\n"
        '  File "a.py", line 1, in <module>\n'
        "ValueError: x\n"
        '{"ts":"2025-06-15T14:00:01Z","level":"info","msg":"ok"}\n'
    )
    assert load(f, "jsonl").rejected == 3
    for option in ("traceback", True):
        res = load(f, "jsonl", options={"multiline": option})
        assert (res.inputs, res.parsed, res.rejected) == (5, 5, 0)
        assert res.frame["message"].to_list() == ["boom", "ok"]
        assert json.loads(res.frame["attrs"][0])["continuation"].endswith("ValueError: x")


def test_jsonl_message_field_docker_split_traceback(tmp_path: Path) -> None:
    """Docker json-file writes each physical line of a traceback as its own JSON line: the rule reads the
    message field (the inner ``log``), so the traceback joins the error record above it."""
    inner = [
        '{"ts":"2025-06-15T14:00:00Z","level":"error","msg":"boom"}',
        "Traceback (most recent call last):",
        '  File "a.py", line 1, in <module>',
        "ValueError: x",
        '{"ts":"2025-06-15T14:00:01Z","level":"info","msg":"ok"}',
    ]
    rows = [
        json.dumps({"log": text + "\n", "stream": "stderr", "time": f"2025-06-15T14:00:00.{i:06d}Z"})
        for i, text in enumerate(inner)
    ]
    f = tmp_path / "c-json.log"
    f.write_text("\n".join(rows) + "\n")
    plain = load(f, "jsonl")
    assert plain.frame.height == 5  # every traceback line an event of its own
    res = load(f, "jsonl", options={"multiline": "traceback"})
    assert (res.inputs, res.parsed, res.rejected) == (5, 5, 0)
    assert res.frame["message"].to_list() == ["boom", "ok"]
    assert json.loads(res.frame["attrs"][0])["continuation"] == (
        'Traceback (most recent call last):\n  File "a.py", line 1, in <module>\nValueError: x'
    )
    assert any("3 continuation lines joined to 1 records" in n for n in res.notes)


JAVA = (
    "2025-06-15T14:00:00Z app01 api[12]: request failed\n"
    "java.lang.IllegalStateException: pool exhausted\n"
    "\tat com.example.Pool.take(Pool.java:42)\n"
    "\tat com.example.Api.handle(Api.java:17)\n"
    "Caused by: java.net.SocketTimeoutException: connect timed out\n"
    "\tat java.base/java.net.Socket.connect(Socket.java:633)\n"
    "\t... 2 more\n"
    "2025-06-15T14:00:01Z app01 api[12]: next\n"
)


def test_syslog_java_stack_trace(tmp_path: Path) -> None:
    f = tmp_path / "sys.log"
    f.write_text(JAVA)
    assert load(f, "syslog").rejected == 2  # the unindented exception and Caused by lines
    res = load(f, "syslog", options={"multiline": "traceback"})
    assert (res.inputs, res.parsed, res.rejected) == (8, 8, 0)
    assert res.frame["message"].to_list() == ["request failed", "next"]
    cont = json.loads(res.frame["attrs"][0])["continuation"]
    assert cont.splitlines()[0] == "java.lang.IllegalStateException: pool exhausted"
    assert cont.endswith("... 2 more")


def test_grok_traceback_rule_on_the_kafka_log_agrees_with_log4j(real: Path) -> None:
    path = real / KAFKA
    joined = run(LoadRequest("logs", "log4j", str(path)))
    pattern = r"\[%{TIMESTAMP_ISO8601:ts}\] %{LOGLEVEL:level} %{GREEDYDATA:message}"
    plain = run(LoadRequest("logs", "grok", str(path), pattern=pattern))
    assert plain.rejected == 537 - 399
    for option in ("indented", {"start": r"\["}):
        res = run(LoadRequest("logs", "grok", str(path), pattern=pattern, options={"multiline": option}))
        assert (res.inputs, res.parsed, res.rejected) == (537, 537, 0)
        assert res.frame.height == joined.frame.height == 399
        conts = [json.loads(a).get("continuation") for a in res.frame["attrs"]]
        expected = [json.loads(a).get("continuation") for a in joined.frame["attrs"]]
        assert conts == expected
        assert any("138 continuation lines joined to" in n for n in res.notes)


def test_log4j_takes_the_option_too(tmp_path: Path) -> None:
    f = tmp_path / "x.log"
    f.write_text("2025-06-15 14:00:00,001 ERROR boom\nTraceback (most recent call last):\nValueError: y\n")
    res = load(f, "log4j", options={"multiline": {"start": r"\d{4}-"}})
    assert (res.inputs, res.parsed, res.rejected) == (3, 3, 0)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (3, "not a rule or a regex"),
        ({"begin": "x"}, "has keys ['begin']"),
        ("(", "not a valid regex"),
    ],
)
def test_bad_multiline_values_are_errors(tmp_path: Path, value: object, message: str) -> None:
    f = tmp_path / "a.log"
    f.write_text("ts=2025-06-15T14:00:00Z msg=a\n")
    for fmt in ("logfmt", "jsonl", "syslog", "log4j"):
        with pytest.raises(SourceError, match=r"options\.multiline") as err:
            load(f, fmt, options={"multiline": value})
        assert message in str(err.value)


def test_option_values() -> None:
    assert multiline_option(None, "x") is None and multiline_option(False, "x") is None
    assert multiline_option("Traceback", "x") == Multiline("traceback")
    assert multiline_option({"start": "^ts="}, "x") == Multiline("start", "^ts=")
    assert multiline_option(True, "x") == Multiline("readable")


def test_traceback_rule_line_by_line() -> None:
    lines = [
        "ts=1 msg=a",  # head
        "Traceback (most recent call last):",
        '  File "x", line 1, in f',
        "ValueError: a",
        "",
        "The above exception was the direct cause of the following exception:",
        "",
        "Traceback (most recent call last):",
        "RuntimeError",
        "ok",  # head: a plain word is no exception name (a JSON record's message after a trace)
        "ts=2 msg=b",  # head
        "",  # a blank line after a record is not a continuation
        "java.lang.Error: e",  # continuation: a Java frame follows
        "\tat a.B.c(B.java:1)",
        "ts=3 msg=c",  # head
        "Error: not after a trace",  # head: an exception-like line with no trace above
    ]
    got = pl.DataFrame({"line": lines}).select(traceback_continues()).to_series().to_list()
    assert got == [
        *[False, True, True, True, True, True, True, True, True],
        *[False, False, False, True, True, False, False],
    ]


# ------------------------------------------------------------------------------------------- options check


def test_unknown_options_are_errors_naming_the_key_and_the_options(tmp_path: Path) -> None:
    f = tmp_path / "a.log"
    f.write_text("ts=2025-06-15T14:00:00Z msg=a\n")
    with pytest.raises(SourceError, match=r"unknown option 'multilne' for logs/logfmt; it takes multiline; did you"):
        load(f, "logfmt", options={"multilne": True})
    with pytest.raises(SourceError, match=r"unknown option 'multiline' for logs/combined; it takes trailing_time"):
        load(f, "combined", options={"multiline": True})
    data = {
        "id": "INC-1",
        "sources": [{"kind": "logs", "path": "a.log", "format": "nginx-error", "options": {"multiline": True}}],
    }
    with pytest.raises(SpecError, match=r"sources\[0\].options: unknown option 'multiline' for logs/nginx-error"):
        parse_spec(data, checks=(registry.check_formats,))


def test_every_builtin_loader_declares_its_options() -> None:
    undeclared = [f"{i.kind}/{i.format}" for i in registry.formats() if i.options is None]
    assert undeclared == []


# ------------------------------------------------------------------------------------------- properties

line_st = st.one_of(
    st.text(
        alphabet=st.characters(
            blacklist_categories=["Cs"], blacklist_characters="\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
        ),
        max_size=40,
    ),
    st.sampled_from(["ts=2025-06-15T14:00:00Z msg=a", "  indented", "Traceback (most recent call last):", "E: x", ""]),
)


@settings(max_examples=scaled(40), deadline=None)
@given(
    st.lists(line_st, max_size=30),
    st.sampled_from(["logfmt", "jsonl", "syslog", "log4j"]),
    st.sampled_from(["traceback", True, {"start": "ts="}]),
)
def test_any_lines_keep_the_count_rule(lines: list[str], fmt: str, option: object) -> None:
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "x.log"
        text = "\n".join(lines)
        f.write_text(text, encoding="utf-8")
        res = load(f, fmt, options={"multiline": option})
        assert res.inputs == physical_lines(text)
        assert res.parsed + res.rejected == res.inputs  # run() checks it too; say it here
        assert res.frame.height <= res.parsed
