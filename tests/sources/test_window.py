"""The incident window pushed into the loaders (pmkit.sources.window): lines outside it are counted, not
parsed; rows inside are those of a full load filtered afterwards; parsed + rejected + outside = inputs."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sourcetest import physical_lines, scaled, write

from pmkit import cache
from pmkit.cli import main
from pmkit.incident import Incident, load_spec, load_window
from pmkit.sources import window as win
from pmkit.sources.base import LoadRequest, LoadResult, run

UTC = dt.UTC
W = (dt.datetime(2025, 6, 15, 13, 30, tzinfo=UTC), dt.datetime(2025, 6, 15, 15, 0, tzinfo=UTC))


def load(path: Path, fmt: str, window: tuple[dt.datetime, dt.datetime] | None = None, **opts: object) -> LoadResult:
    kind = str(opts.pop("kind", "logs"))
    return run(LoadRequest(kind=kind, format=fmt, path=str(path), window=window, redaction=False, **opts))  # type: ignore[arg-type]


def inside_full(full: LoadResult, window: tuple[dt.datetime, dt.datetime]) -> pl.DataFrame:
    """A full load's rows filtered to the window afterwards (both ends included)."""
    return full.frame.filter(pl.col("ts").is_between(window[0], window[1], closed="both"))


def check(path: Path, fmt: str, window: tuple[dt.datetime, dt.datetime] = W, **opts: object) -> LoadResult:
    """The windowed load of ``path``: rows equal the full load's rows in the window, the count rule holds,
    and the notes state the window."""
    full = load(path, fmt, **opts)
    res = load(path, fmt, window, **opts)
    assert res.inputs == full.inputs
    assert res.parsed + res.rejected + res.outside == res.inputs
    assert res.frame.equals(inside_full(full, window)), (res.frame, inside_full(full, window))
    assert any(n.startswith(f"window {win.describe(window)}: {res.outside:,} ") for n in res.notes), res.notes
    return res


def reasons(res: LoadResult) -> list[str]:
    return res.rejects.get_column("raw").fill_null("").to_list()


# --- line formats: the prefilter --------------------------------------------------------------------

COMBINED = """\
203.0.113.9 - - [15/Jun/2025:09:00:00 +0000] "GET /early HTTP/1.1" 200 10 "-" "curl"
203.0.113.9 - - [15/Jun/2025:16:10:00 +0200] "GET /inside-local HTTP/1.1" 200 10 "-" "curl"
203.0.113.9 - - [15/Jun/2025:14:00:00 +0000] "GET /inside HTTP/1.1" 502 10 "-" "curl"
203.0.113.9 - - [15/Jun/2025:21:00:00 +0000] "BROKEN outside the window
no timestamp here at all
203.0.113.9 - - [15/Jun/2025:15:30:00 +0000] "GET /half-an-hour-late HTTP/1.1" 200 10 "-" "curl"
203.0.113.9 - - [15/Jun/2025:14:59:59 +0000] "GET /last HTTP/1.1" 200 10 "-" "curl"
"""


def test_combined_counts_outside_lines_without_parsing_them(tmp_path: Path) -> None:
    res = check(write(tmp_path, "access.log", COMBINED), "combined")
    paths = [m.split()[1] for m in res.frame.get_column("message").to_list()]
    assert paths == ["/inside-local", "/inside", "/last"]
    # the broken line at 21:00 is outside (counted, not parsed): only the line without a time is rejected
    assert reasons(res) == ["no timestamp here at all"]
    # the bracket is read with the loader's own time expression: no margin, none of the 3 is parsed
    assert res.outside == 3 and res.rejected == 1 and res.parsed == 3
    assert "3 lines outside it (counted, not parsed)" in " ".join(res.notes)


def test_common_format(tmp_path: Path) -> None:
    text = "".join(ln.rsplit(' "-" ', 1)[0] + "\n" if '"-"' in ln else ln + "\n" for ln in COMBINED.splitlines())
    res = check(write(tmp_path, "access.log", text), "common")
    assert res.outside == 3


def test_unsorted_lines_are_judged_one_by_one(tmp_path: Path) -> None:
    lines = COMBINED.splitlines()
    random.Random(7).shuffle(lines)
    res = check(write(tmp_path, "access.log", "\n".join(lines) + "\n"), "combined")
    assert res.outside == 3 and res.parsed == 3


NGINX = """\
2025/06/15 09:00:01 [error] 31#31: *1 upstream timed out, client: 10.0.0.1, server: a, request: "GET / HTTP/1.1"
PHP message: continuation of an entry outside the window
2025/06/15 14:00:01 [error] 31#31: *2 upstream timed out, client: 10.0.0.1, server: a, request: "GET / HTTP/1.1"
PHP message: continuation inside
2025/06/15 14:10:00 [bogus-level outside the grammar
2025/06/15 22:00:00 [bogus-level outside the grammar and the window
2025/06/15 15:20:00 [warn] 31#31: in the margin
"""


def test_nginx_error_entries_and_their_continuations(tmp_path: Path) -> None:
    res = check(write(tmp_path, "error.log", NGINX), "nginx-error")
    assert res.frame.height == 1 and res.parsed == 2  # one entry of two lines
    assert "3 counted, not parsed; 1 dropped after parsing" in " ".join(res.notes)  # 15:20: in the 1 h margin
    # the entry at 09:00 (2 lines), the broken line at 22:00 and the margin entry at 15:20 are outside
    assert res.outside == 4
    assert reasons(res) == ["2025/06/15 14:10:00 [bogus-level outside the grammar"]


LOGFMT = """\
ts=2025-06-15T09:00:00Z level=info msg="early"
ts=2025-06-15T16:00:00+02:00 level=error msg="inside, local time"
ts=2025-06-15T21:00:00Z level=info msg="outside and broken
ts=2025-06-15T14:00:00Z time=2025-06-15T08:00:00Z msg="two time keys: kept for the full parser"
level=warn msg="no time"
"""


def test_logfmt(tmp_path: Path) -> None:
    res = check(write(tmp_path, "app.log", LOGFMT), "logfmt")
    assert res.outside == 2  # 09:00 and the broken 21:00 line, both before parsing
    assert "inside, local time" in res.frame.get_column("message").to_list()


LOG4J = """\
[2025-06-15 09:00:00,001] ERROR early failure (kafka.Log)
java.lang.IllegalStateException: early
\tat a.b.C(C.java:1)
[2025-06-15 14:00:00,001] ERROR inside failure (kafka.Log)
java.lang.IllegalStateException: inside
\tat a.b.C(C.java:1)
[2025-06-15 14:05:00,001] INFO fine (kafka.Log)
[2025-06-15 23:00:00,001] ERROR late (kafka.Log)
\tat a.b.C(C.java:2)
"""


def test_log4j_stack_traces_follow_their_record(tmp_path: Path) -> None:
    res = check(write(tmp_path, "server.log", LOG4J), "log4j")
    assert res.frame.height == 2 and res.outside == 5 and res.parsed == 4


SYSLOG = """\
<34>1 2025-06-15T09:00:00Z host app 1 - - early
<34>1 2025-06-15T14:00:00.5+00:00 host app 1 - - inside
  continuation of the inside record
<34>1 2025-06-15T20:00:00Z host app 1 - BROKEN[ outside
<34>Jun 15 14:20:00 host app[1]: a year-less RFC 3164 line, kept for the full parser
<34>Jun 15 08:00:00 host app[1]: a year-less line outside, dropped after parsing
"""


def test_syslog_iso_lines_prefiltered_rfc3164_after_parsing(tmp_path: Path) -> None:
    res = check(write(tmp_path, "syslog", SYSLOG), "syslog", year=2025)
    assert res.outside == 3 and res.frame.height == 2 and res.rejected == 0


def test_grok_and_jsonl_parse_then_filter(tmp_path: Path) -> None:
    text = "2025-06-15T09:00:00Z early\n2025-06-15T14:00:00Z inside\nnot a line\n"
    res = check(write(tmp_path, "g.log", text), "grok", pattern="%{TIMESTAMP_ISO8601:ts} %{GREEDYDATA:message}")
    assert res.outside == 1 and res.rejected == 1
    jl = '{"ts":"2025-06-15T09:00:00Z","msg":"early"}\n{"ts":"2025-06-15T14:00:00Z","msg":"inside"}\n'
    res = check(write(tmp_path, "a.jsonl", jl), "jsonl")
    assert res.outside == 1 and "dropped after parsing" in " ".join(res.notes)


def test_metrics_csv(tmp_path: Path) -> None:
    text = "timestamp,value\n2025-06-15T09:00:00Z,1\n2025-06-15T14:00:00Z,2\n2025-06-15T14:01:00Z,3\n"
    res = check(write(tmp_path, "m.csv", text), "csv", kind="metrics", options={"metric": "m"})
    assert res.outside == 1 and res.frame.get_column("value").to_list() == [2.0, 3.0]


def test_gzip_and_several_files(tmp_path: Path) -> None:
    import gzip

    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.log.gz").write_bytes(gzip.compress(COMBINED.encode()))
    write(tmp_path / "logs", "b.log", COMBINED)
    res = check(tmp_path / "logs", "combined")
    assert res.outside == 6 and res.parsed == 6


def test_no_window_reads_everything(tmp_path: Path) -> None:
    res = load(write(tmp_path, "access.log", COMBINED), "combined")
    assert res.outside == 0 and res.parsed == 5 and not any(n.startswith("window") for n in res.notes)


# --- the prefilter on its own ------------------------------------------------------------------------


def test_prefilter_keeps_what_it_cannot_read_and_counts_the_rest() -> None:
    lines = pl.DataFrame({"line_no": [1, 2, 3, 4], "line": ["2025-06-15T10:00:00Z a", "  cont", "junk", "x"]})
    cheap = win.iso_cheap(pl.col("line").str.extract(r"^(\S+)", 1), None)
    kept, n = win.prefilter(lines, cheap, W)
    assert n == 1 and kept.get_column("line_no").to_list() == [2, 3, 4]  # unreadable times are kept
    kept, n = win.prefilter(lines, cheap, W, head=~pl.col("line").str.starts_with(" "))
    assert n == 2 and kept.get_column("line_no").to_list() == [3, 4]  # the continuation follows its head


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        ("2025-06-15T14:19:23Z", None, dt.datetime(2025, 6, 15, 14, 19, 23, tzinfo=UTC)),
        ("2025-06-15 16:19:23.118+02:00", None, dt.datetime(2025, 6, 15, 14, 19, 23, tzinfo=UTC)),
        ("2025-06-15T09:19:23-0500", None, dt.datetime(2025, 6, 15, 14, 19, 23, tzinfo=UTC)),
        ("2025-06-15T16:19:23", "Europe/Berlin", dt.datetime(2025, 6, 15, 14, 19, 23, tzinfo=UTC)),
        ("1718461163", None, None),
        ("15/Jun/2025", None, None),
    ],
)
def test_iso_cheap(text: str, tz: str | None, expected: dt.datetime | None) -> None:
    got = pl.select(win.iso_cheap(pl.lit(text), tz)).item()
    assert got == expected


# --- property: windowed load == full load then filter ------------------------------------------------

_OFFSETS = ["+0000", "+0200", "-0500", "+0530", "-1100", "+1400"]


@st.composite
def _access_log(draw: st.DrawFn) -> tuple[str, tuple[dt.datetime, dt.datetime]]:
    base = dt.datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
    lines = []
    for _ in range(draw(st.integers(1, 40))):
        kind = draw(st.sampled_from(["ok", "ok", "ok", "broken", "junk"]))
        t = base + dt.timedelta(seconds=draw(st.integers(-30 * 3600, 30 * 3600)))
        off = draw(st.sampled_from(_OFFSETS))
        sign = 1 if off[0] == "+" else -1
        local = t + sign * dt.timedelta(hours=int(off[1:3]), minutes=int(off[3:]))
        stamp = f"[{local:%d/%b/%Y:%H:%M:%S} {off}]"
        if kind == "ok":
            lines.append(f'10.0.0.1 - - {stamp} "GET /p{len(lines)} HTTP/1.1" {draw(st.integers(100, 599))} 5 "-" "ua"')
        elif kind == "broken":
            lines.append(f'10.0.0.1 - - {stamp} "GET /unterminated')
        else:
            lines.append(draw(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"))))
    start = base + dt.timedelta(seconds=draw(st.integers(-20 * 3600, 20 * 3600)))
    end = start + dt.timedelta(seconds=draw(st.integers(1, 10 * 3600)))
    return "\n".join(lines) + "\n", (start, end)


@settings(max_examples=scaled(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=_access_log())
def test_windowed_access_log_equals_full_load_filtered(tmp_path: Path, case: tuple[str, tuple]) -> None:
    text, window = case
    path = write(tmp_path, "access.log", text)
    full = load(path, "combined")
    res = load(path, "combined", window)
    assert res.inputs == full.inputs == physical_lines(text)
    assert res.parsed + res.rejected + res.outside == res.inputs
    assert res.frame.equals(inside_full(full, window))
    # every reject of the windowed load is a reject of the full load (none invented)
    assert set(res.rejects.get_column("origin").to_list()) <= set(full.rejects.get_column("origin").to_list())


def test_windowed_access_log_parsed_chunk_by_chunk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The window's lines are parsed chunk by chunk as they are read (small chunks here): the same rows,
    rejects and counts as the full load filtered, also when a trailing key first appears in a late chunk (its
    rows parsed again with it) and with a trace_id= key that changes how every row's trace is written."""
    from pmkit.sources import linescan

    monkeypatch.setattr(linescan, "WINDOW_CHUNK_BYTES", 64 << 10)
    rnd = random.Random(7)
    t0 = dt.datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
    lines = []
    for i in range(12_000):  # past the first 10,000 lines the keys are sampled from
        t = t0 + dt.timedelta(seconds=i)
        tail = f" rt=0.{i % 97:03d}" + (" trace_id=abc upstream=10.0.0.2:80" if i > 11_000 else "")
        bad = rnd.random() < 0.01
        lines.append(
            f'10.0.0.{i % 7} - - [{t:%d/%b/%Y:%H:%M:%S} +0000] "GET /p{i % 5}?dd.trace_id={i} HTTP/1.1" '
            + (f'{rnd.choice([200, 502])} 5 "-" "ua"{tail}' if not bad else '"cut short')
        )
    path = write(tmp_path, "access.log", "\n".join(lines) + "\n")
    window = (t0 + dt.timedelta(seconds=500), t0 + dt.timedelta(seconds=11_900))
    res = check(path, "combined", window)
    assert res.outside == 12_000 - 11_401 and res.rejected > 50
    attrs = res.frame.get_column("attrs")
    assert attrs.str.contains('"upstream"').any() and attrs.str.contains('"trace_id":"abc"').any()


@settings(max_examples=scaled(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.lists(
        st.sampled_from(
            [
                "10.0.0.1 - - [15/Jun/2025:14:00:00 +0000] x",
                "10.0.0.1 - - [15/Jun/2025:09:00:00 +0000] y",
                "",
                "   ",
                "\ufeffbom inside",
                "no time",
                "\x1f unit separator",
                "\r",
                "crlf\r",
            ]
        ),
        max_size=40,
    ).map("\n".join),
    bom=st.booleans(),
    newline_at_end=st.booleans(),
)
def test_windowed_reads_count_every_physical_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, bom: bool, newline_at_end: bool
) -> None:
    """The chunked window readers count lines from the chunks when the file has no CR (no pass of their own):
    kept + outside = the physical lines, kept lines numbered as textio numbers them, both readers alike."""
    from pmkit.sources import linescan, textio
    from pmkit.sources.logs.access import access_cheap_ts

    monkeypatch.setattr(linescan, "WINDOW_CHUNK_BYTES", 64)
    body = ("\ufeff" if bom else "") + text + ("\n" if newline_at_end and text else "")
    path = tmp_path / "w.log"
    path.write_bytes(body.encode())
    cheap = access_cheap_ts()
    kept, outside = linescan.windowed_lines(path, cheap, W, dt.timedelta(0))
    box = linescan.Outside()
    parts = list(linescan.windowed_chunks(path, cheap, W, box, dt.timedelta(0)))
    chunked = pl.concat(parts) if parts else textio.lines_frame(b"")
    assert kept.height + outside == box.lines + chunked.height == textio.read_lines(path).height
    assert chunked.equals(kept)
    expected = textio.read_lines(path).filter(pl.col("line_no").is_in(kept.get_column("line_no").implode()))
    assert kept.equals(expected)


# --- the incident: window from incident.yaml, Incident.load(window=...), the cache, the CLI --------

YAML = """\
id: INC-1
{window}
sources:
  - {{name: nginx, kind: logs, format: combined, path: access.log}}
"""


def _incident(tmp_path: Path, window: str) -> Path:
    write(tmp_path, "incident.yaml", YAML.format(window=window))
    write(tmp_path, "access.log", COMBINED)
    return tmp_path


def test_load_window_from_the_spec(tmp_path: Path) -> None:
    spec = load_spec(_incident(tmp_path, "window: {start: 2025-06-15T13:30:00Z, end: 2025-06-15T15:00:00Z}"))
    assert load_window(spec) == W
    spec = load_spec(
        _incident(tmp_path, "milestones: {declared: 2025-06-15T14:00:00Z, resolved: 2025-06-15T16:00:00Z}")
    )
    assert load_window(spec) == (
        dt.datetime(2025, 6, 15, 8, tzinfo=UTC),
        dt.datetime(2025, 6, 16, 4, tzinfo=UTC),
    )
    assert load_window(load_spec(_incident(tmp_path, ""))) is None


def test_incident_load_honours_the_window(tmp_path: Path) -> None:
    root = _incident(tmp_path, "window: {start: 2025-06-15T13:30:00Z, end: 2025-06-15T15:00:00Z}")
    inc = Incident.load(root, cache=False)
    assert inc.events.height == 3 and inc.report.get_column("outside").to_list() == [3]
    whole = Incident.load(root, cache=False, window=None)
    assert whole.events.height == 5 and whole.report.get_column("outside").to_list() == [0]
    narrow = (dt.datetime(2025, 6, 15, 13, 59, tzinfo=UTC), dt.datetime(2025, 6, 15, 14, 1, tzinfo=UTC))
    assert Incident.load(root, cache=False, window=narrow).events.height == 1


def test_cache_key_differs_per_window_and_keeps_the_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache.ENV_DIR, str(tmp_path / "cache"))
    path = write(tmp_path, "access.log", COMBINED)
    keys = {
        cache.cache_key(LoadRequest("logs", "combined", str(path), window=w))
        for w in (None, W, (W[0], W[1] + dt.timedelta(seconds=1)))
    }
    assert len(keys) == 3
    res = load(path, "combined", W)
    key = cache.cache_key(LoadRequest("logs", "combined", str(path), window=W))
    cache.write(key, res)
    hit = cache.read(key)
    assert hit is not None and hit.outside == res.outside == 3


def test_cli_load_from_to(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _incident(tmp_path, "")
    assert main(["load", str(root), "--from", "2025-06-15T13:59:00Z", "--to", "2025-06-15T14:01:00"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("nginx"))
    assert row.split()[4:] == ["7", "1", "1", "5", "1"]  # inputs, parsed, rejected, outside, rows
    assert "window 2025-06-15T13:59:00Z..2025-06-15T14:01:00Z: 5 lines outside it" in out
    path = str(root / "access.log")
    assert main(["load", path, "--kind", "logs", "--format", "combined", "--from", "2025-06-15T13:30:00Z",
                 "--to", "2025-06-15T15:00:00Z"]) == 0  # fmt: skip
    assert "outside the window 3" in capsys.readouterr().out
    assert main(["load", str(root), "--from", "2025-06-15T14:00:00Z"]) == 1
    assert "--to is missing" in capsys.readouterr().err
    assert main(["load", str(root), "--from", "yesterday", "--to", "2025-06-15T14:00:00Z"]) == 1
    assert "--from: found 'yesterday'" in capsys.readouterr().err


def test_access_naive_brackets_ts_format_and_odd_lines(tmp_path: Path) -> None:
    naive = "".join(
        f'10.0.0.1 - - [15/Jun/2025:{t}] "GET /{i} HTTP/1.1" 200 5 "-" "ua"\n'
        for i, t in enumerate(["11:00:00", "16:00:00", "16:59:59", "23:00:00"])
    )
    res = check(write(tmp_path, "naive.log", naive), "combined", timezone="Europe/Berlin")  # UTC+2 in June
    assert res.frame.height == 2 and res.outside == 2
    res = check(write(tmp_path, "fmt.log", naive), "combined", ts_format="%d/%b/%Y:%H:%M:%S")
    assert res.frame.height == 0 and res.outside == 4  # read as UTC: none inside
    # a vhost with a non-ASCII name, fractions, an over-long offset: the cheap cut fails, the full parser decides
    odd = (
        'é.example 10.0.0.1 - - [15/Jun/2025:09:00:00 +0000] "GET /a HTTP/1.1" 200 5 "-" "ua"\n'
        '10.0.0.1 - - [15/Jun/2025:09:00:00.250 +0000] "GET /b HTTP/1.1" 200 5 "-" "ua"\n'
        '10.0.0.1 - - [15/Jun/2025:14:00:00 +00001] "GET /c HTTP/1.1" 200 5 "-" "ua"\n'
        '10.0.0.1 - - [15/Jun/2025:14:00:00 +0000] "GET /d HTTP/1.1" 200 5 "-" "ua"\n'
    )
    res = check(write(tmp_path, "odd.log", odd), "combined")
    assert res.frame.height == 1 and res.outside == 1  # /a dropped after parsing; /b and /c rejected
