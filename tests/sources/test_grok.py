"""Grok: expansion, the Rust translation (proved equal to pygrok), the fallback, the loader."""

from __future__ import annotations

import functools
import importlib
import json
import re
import string
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pygrok
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sourcetest import scaled

from pmkit.errors import SourceError
from pmkit.sources import grokcore, sre_compat, textio
from pmkit.sources.base import LoadRequest, run
from pmkit.sources.grokcore import GrokError, compile_grok, library
from pmkit.sources.logs.grok import PRESETS
from pmkit.sources.rustregex import translate

LOOKAROUND = re.compile(r"\(\?<?[!=]|\(\?>")


def ours(expr: str, texts: list[str], custom: dict[str, str] | None = None) -> list[dict | None]:
    """Our polars/fallback results, as pygrok would give them (field -> value, or None)."""
    cg = compile_grok(expr, custom)
    df = cg.extract(pl.DataFrame({"line": texts}, schema={"line": pl.String}))
    fields = [c for c in df.columns if c.startswith("grok.")]
    out: list[dict | None] = []
    for row in df.select("matched", *fields).iter_rows():
        out.append(dict(zip([f[5:] for f in fields], row[1:], strict=True)) if row[0] else None)
    return out


@functools.cache
def _pygrok(expr: str, custom: tuple[tuple[str, str], ...]) -> pygrok.Grok:
    overlay = {n: d.regex for n, d in grokcore.library_defs().items() if d.origin.startswith("pmkit/")}
    return pygrok.Grok(f"^(?:{expr})$", custom_patterns={**overlay, **dict(custom)})


def theirs(expr: str, texts: list[str], custom: dict[str, str] | None = None) -> list[dict | None]:
    """pygrok's own match results for the anchored expression (pmkit's overlay given as its custom patterns)."""
    g = _pygrok(expr, tuple(sorted((custom or {}).items())))
    return [g.match(t) for t in texts]


def assert_same(expr: str, texts: list[str], custom: dict[str, str] | None = None) -> None:
    mine, ref = ours(expr, texts, custom), theirs(expr, texts, custom)
    for text, a, b in zip(texts, mine, ref, strict=True):
        if b is not None and a is not None:
            b = {k: b.get(k) for k in a}
        assert a == b, f"{expr!r} on {text!r}: ours {a}, pygrok {b}"


# ------------------------------------------------------------------ translation


def test_library_is_pygroks_own_with_pmkits_overlay() -> None:
    lib, defs = library(), grokcore.library_defs()
    assert len(lib) > 300
    assert lib["IPV4"].startswith("(?<![0-9])") and defs["IPV4"].origin == "pygrok/grok-patterns"
    assert "%{COMMONAPACHELOG}" in lib["COMBINEDAPACHELOG"]
    # the overlay adds what pygrok lacks and replaces what Logstash has updated since
    assert {"URN", "MAVEN_VERSION", "EXIM", "SQUID3", "HTTPD_COMBINEDLOG", "BIND9", "REDISMONLOG", "SFW2"} <= set(lib)
    assert defs["JAVACLASS"].origin == "pmkit/java.grok" and "$" in lib["JAVACLASS"]
    assert all(d.example for d in defs.values() if d.origin.startswith("pmkit/")), (
        "every overlay pattern has an example"
    )


@pytest.mark.parametrize(
    "name", ["COMBINEDAPACHELOG", "COMMONAPACHELOG", "IPORHOST", "IPV4", "NUMBER", "BASE10NUM", "HTTPDATE", "YEAR"]
)
def test_measured_failures_now_run_in_polars(name: str) -> None:
    """The patterns DESIGN.md measured as rejected by polars translate (anchored) without look-arounds."""
    cg = compile_grok("%{" + name + ":v}")
    assert cg.engine == "polars", cg.notes
    assert cg.regex is not None and not LOOKAROUND.search(cg.regex)
    assert cg.fallback is None and cg.notes == ()


@pytest.mark.parametrize("name", ["TIME", "QS", "QUOTEDSTRING"])
def test_more_translations(name: str) -> None:
    cg = compile_grok("%{" + name + ":v}")
    assert cg.engine == "polars"
    assert not LOOKAROUND.search(cg.regex or "(?!")


def test_most_of_the_library_translates() -> None:
    engines: dict[str, list[str]] = {}
    for name in library():
        try:
            engines.setdefault(compile_grok("%{" + name + ":v}").engine, []).append(name)
        except GrokError:
            engines.setdefault("error", []).append(name)
    assert len(engines["polars"]) >= 285
    # a positive look-ahead (with a capture inside) and a positive look-behind have no equivalent
    assert {"SYSLOGPAMSESSION", "MONGO_QUERY"} <= set(engines["re"])


def test_assertions_are_dropped_only_where_the_context_proves_them() -> None:
    # start of text before, space after: both IPV4 boundaries are redundant
    assert translate(r"^(?<![0-9])\d+(?![0-9]) x$") == r"^\d+ x$"
    # a digit may precede or follow: they are not
    for rx in (r"^\d(?<![0-9])\d+$", r"^\d+(?![0-9])\w*$"):
        with pytest.raises(Exception, match="look-"):
            translate(rx)
    # the TIME typo (?!<[0-9]) is a look-ahead for "<digit": redundant before a digit
    assert translate(r"^(?!<[0-9])[0-9]{2}$") == r"^[0-9]{2}$"
    # atomic groups: fixed length drops, variable length does not
    assert translate(r"^(?>\d\d){1,2}$") == r"^(?:(?:\d\d)){1,2}$"
    with pytest.raises(Exception, match="atomic"):
        translate(r"^(?>a+)a$")


@settings(max_examples=scaled(150), deadline=None)
@given(st.text(alphabet=string.printable.replace("\n", "").replace("\r", "") + "é€", min_size=1, max_size=12))
def test_literals_survive_reemission(text: str) -> None:
    """Every character, meta or not, is escaped so that polars matches exactly the literal text."""
    rx = translate("^" + re.escape(text) + "$")
    s = pl.Series([text, text + "x", "x" + text])
    assert s.str.contains(rx).to_list() == [True, False, False]
    cls = translate("^[" + "".join("\\" + c if c in "\\]^-[&~|" else c for c in text) + "]+$")
    assert pl.Series([text]).str.contains(cls).item()


def test_ascii_lines_take_the_ascii_translation_and_the_others_the_unicode_one() -> None:
    cg = compile_grok("%{WORD:w} %{NUMBER:n} %{GREEDYDATA:rest}")
    assert cg.regex_ascii is not None and "[0-9A-Za-z_]" in cg.regex_ascii and r"(?-u:\b)" in cg.regex_ascii
    assert cg.regex is not None and r"\w" in cg.regex
    texts = ["abc 12 x", "Жук 3 y", "a\u00b2 4 z", "x\x1c 5 w", "é"]
    assert ours(cg.expr, texts) == theirs(cg.expr, texts)
    assert [r and r["w"] for r in ours(cg.expr, texts)] == ["abc", "Жук", None, None, None]


# ------------------------------------------------------- equivalence with pygrok

# patterns whose translation drops an assertion or uses a hand-written override
CRITICAL = [
    "NUMBER", "BASE10NUM", "BASE16NUM", "BASE16FLOAT", "INT", "POSINT", "IPV4", "IP", "IPORHOST", "HOSTNAME",
    "HOSTPORT", "QS", "QUOTEDSTRING", "YEAR", "TIME", "TIMESTAMP_ISO8601", "HTTPDATE", "WINPATH", "PATH", "URI",
    "SYSLOGTIMESTAMP", "DATESTAMP", "UUID", "MAC", "LOGLEVEL",
]  # fmt: skip
CONTEXTS = [
    # contexts where the assertions are provably redundant: translated
    "%{{{p}:v}}",
    "%{{{p}:v}} %{{GREEDYDATA:rest}}",
    "%{{DATA:pre}} %{{{p}:v}}",
    "%{{DATA:pre}}[,:=]%{{{p}:v}}[,:\\]]%{{GREEDYDATA:rest}}",
    # contexts where they matter (backtracking into or next to the pattern): the analysis must refuse
    "%{{GREEDYDATA:pre}}%{{{p}:v}}",
    "%{{{p}:v}}%{{INT:n}}",
    "%{{{p}:v}}\\.%{{GREEDYDATA:rest}}",
    "%{{WORD:w}}%{{{p}:v}}",
]


@pytest.fixture(scope="module")
def loghub_texts(real: Path) -> list[str]:
    """40 lines from each loghub system and every distinct token in them."""
    lines: list[str] = []
    for d in sorted((real / "loghub").iterdir()):
        if d.is_dir():
            lines += textio.read_lines(d / f"{d.name}_2k.log").get_column("line").to_list()[:40]
    tokens = sorted({t for ln in lines for t in re.split(r"[\s,;()\[\]]+", ln) if t})
    return lines + tokens


def test_every_translated_pattern_matches_like_pygrok_on_loghub(loghub_texts: list[str]) -> None:
    """For every library pattern, anchored alone, on real loghub lines and tokens."""
    checked = 0
    for name in library():
        expr = "%{" + name + ":v}"
        try:
            cg = compile_grok(expr)
        except GrokError:
            continue
        if cg.engine != "polars":
            continue
        assert_same(expr, loghub_texts)
        checked += 1
    assert checked >= 285


@pytest.mark.parametrize("name", CRITICAL)
def test_critical_patterns_in_context_match_like_pygrok_on_loghub(name: str, loghub_texts: list[str]) -> None:
    lines = [t for t in loghub_texts if " " in t]
    for i, ctx in enumerate(CONTEXTS):
        if i < 4:  # the proof holds here: the vectorised path is what gets compared
            assert compile_grok(ctx.format(p=name)).engine == "polars"
        assert_same(ctx.format(p=name), lines)


FRAGMENTS = [
    "0", "1", "12", "123", "255", "256", "999", ".", "..", "+", "-", "1.5", "-3.25", ".5", "0x1F", "a", "Z", "ab",
    " ", "  ", ":", "/", "\\", '"', "'", "`", '\\"', "[", "]", "@", "%", "12:34", "12:34:56", "23:59:60", "2024",
    "1.2.3.4", "10.0.0.256", "::1", "fe80::1", "%eth0", "example.com", "Jan", "Dec", "Mon", "GET", "HTTP/1.1",
    "T", "+04:00", "-0700", "_", ",", "C:\\Windows", "http://", "=", "<", "<1",
    # non-ASCII lines take the Unicode translation: letters, a non-ASCII digit, NBSP, \x1c (a space to Python)
    "é", "Ж", "中", "٣", "\u00a0", "\x1c",
]  # fmt: skip
_ALPHABET = string.printable.replace("\n", "").replace("\r", "")
texts_st = st.lists(
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(_ALPHABET, max_size=3)), max_size=8).map("".join),
    min_size=1,
    max_size=150,
)


@settings(
    max_examples=scaled(15), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(texts_st)
def test_critical_patterns_match_like_pygrok_on_generated_strings(texts: list[str]) -> None:
    for name in CRITICAL:
        for ctx in CONTEXTS:
            assert_same(ctx.format(p=name), texts)


def test_presets_match_like_pygrok_on_their_loghub_files(real: Path) -> None:
    systems = {"android": "Android", "apache-error": "Apache", "hdfs": "HDFS", "hadoop": "Hadoop"}
    systems |= {"healthapp": "HealthApp", "linux": "Linux", "openssh": "OpenSSH", "proxifier": "Proxifier"}
    systems |= {"spark": "Spark", "zookeeper": "Zookeeper"}
    for preset, system in systems.items():
        p = PRESETS[preset]
        texts = textio.read_lines(real / "loghub" / system / f"{system}_2k.log").get_column("line").to_list()
        assert compile_grok(p.pattern, p.patterns).engine == "polars", preset
        assert_same(p.pattern, texts, dict(p.patterns))


# ------------------------------------------------------------------- fallback


def test_look_behind_falls_back_line_by_line_with_a_note() -> None:
    custom = {"AMOUNT": r"(?<![\w.])\d+(?:\.\d+)?"}
    expr = "%{GREEDYDATA:item}%{AMOUNT:amount:float} EUR"
    cg = compile_grok(expr, custom)
    assert cg.regex is None and cg.engine == "re" and isinstance(cg.fallback, re.Pattern)
    (note,) = cg.notes
    assert "pattern AMOUNT uses a look-behind" in note and "line by line with Python's re module" in note
    assert cg.fallback_unicode is not None  # the regex module, for lines outside plain ASCII
    # "x²3": ² is a word character to stdlib re, not to the regex module pygrok uses
    texts = ["coffee 3.50 EUR", "tea3 EUR", "x 12 EUR", "12 EUR", "nothing", "x\u00b23 EUR"]
    assert ours(expr, texts, custom) == theirs(expr, texts, custom)
    assert ours(expr, texts, custom)[-1] == {"item": "x\u00b2", "amount": 3.0}
    assert ours(expr, texts, custom)[0] == {"item": "coffee ", "amount": 3.5}
    assert ours(expr, texts, custom)[1] is None  # the look-behind refuses "a3"


def test_regex_module_fallback_for_variable_width_look_behind() -> None:
    custom = {"AFTER": r"(?<=id=|ident=)\w+"}
    cg = compile_grok("%{DATA:k}%{AFTER:v}", custom)
    assert cg.engine == "regex"
    assert "the regex module" in cg.notes[0]
    assert ours("%{DATA:k}%{AFTER:v}", ["ident=abc", "x=abc"], custom) == [{"k": "ident=", "v": "abc"}, None]


def test_fallback_is_reported_by_the_loader(tmp_path: Path) -> None:
    f = tmp_path / "app.log"
    f.write_text("2025-01-20T10:00:00Z paid 3.50 EUR\n2025-01-20T10:00:01Z paid3 EUR\n")
    req = LoadRequest(
        "logs",
        "grok",
        str(f),
        pattern="%{TIMESTAMP_ISO8601:ts} %{GREEDYDATA:message}%{AMOUNT:amount:float} EUR",
        patterns={"AMOUNT": r"(?<![\w.])\d+(?:\.\d+)?"},
    )
    res = run(req)
    assert any("uses a look-behind" in n and "line by line" in n for n in res.notes)
    assert (res.parsed, res.rejected) == (1, 1)
    assert json.loads(res.frame["attrs"][0]) == {"amount": 3.5}


def _no_private_parser(how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make :func:`sre_compat.load` fail as on a Python whose private regex parser is unknown or broken."""
    if how == "version":
        monkeypatch.setattr(sre_compat, "SUPPORTED", ())
    elif how == "import":
        monkeypatch.setitem(sys.modules, "re._parser", None)  # the next import of it raises ImportError
    else:
        monkeypatch.delattr(importlib.import_module("re._constants"), "POSSESSIVE_REPEAT")


@pytest.fixture
def fresh_compile_cache() -> Iterator[None]:
    """compile_grok caches by expression: clear it so no translation made elsewhere is reused, nor this one kept."""
    grokcore._compile_cached.cache_clear()
    yield
    grokcore._compile_cached.cache_clear()


@pytest.mark.parametrize("how", ["version", "import", "attribute"])
def test_without_the_private_regex_parser_grok_falls_back_with_a_note(
    how: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fresh_compile_cache: None
) -> None:
    expr = "%{TIMESTAMP_ISO8601:ts} %{LOGLEVEL:level} %{GREEDYDATA:message}"
    assert compile_grok(expr).engine == "polars"
    grokcore._compile_cached.cache_clear()
    _no_private_parser(how, monkeypatch)
    with pytest.raises(sre_compat.SreUnavailable):
        sre_compat.load()
    cg = compile_grok(expr)
    assert cg.regex is None and cg.engine == "re" and isinstance(cg.fallback, re.Pattern)
    (note,) = cg.notes
    assert "no polars equivalent" in note and "private regex parser" in note and "line by line" in note
    texts = ["2025-01-20T10:00:00Z WARN disk 91% full", "not a log line", "2025-01-20 10:00:01,5 error x"]
    assert ours(expr, texts) == theirs(expr, texts)

    f = tmp_path / "app.log"
    f.write_text("2025-01-20T10:00:00Z WARN disk 91% full\nnot a log line\n")
    res = run(LoadRequest("logs", "grok", str(f), pattern=expr))
    assert note in res.notes
    assert (res.parsed, res.rejected) == (1, 1)
    assert res.frame["level"].to_list() == ["warning"]


# ---------------------------------------------------------------- expansion


def test_typed_captures_custom_patterns_and_odd_field_names() -> None:
    custom = {"KV": r"%{WORD:key}=%{INT:val:int}"}
    cg = compile_grok("%{IP:client.ip} %{KV} took %{NUMBER:ms:float}ms", custom)
    assert cg.types == {"client.ip": "str", "key": "str", "val": "int", "ms": "float"}
    assert cg.match("10.0.0.1 retries=3 took 12.5ms") == {
        "client.ip": "10.0.0.1",
        "key": "retries",
        "val": 3,
        "ms": 12.5,
    }
    df = cg.extract(pl.DataFrame({"line": ["10.0.0.1 retries=3 took 12.5ms"]}))
    assert df.schema["grok.val"] == pl.Int64 and df.schema["grok.ms"] == pl.Float64


def test_same_field_in_alternatives_is_coalesced() -> None:
    cg = compile_grok("(?:%{INT:n}|x-%{WORD:n})")
    assert cg.engine == "polars"
    assert cg.extract(pl.DataFrame({"line": ["12", "x-ab", "?"]}))["grok.n"].to_list() == ["12", "ab", None]


def test_expansion_errors_teach() -> None:
    with pytest.raises(GrokError, match=r"unknown grok pattern %\{IPV5\}; did you mean IPV6, IPV4"):
        compile_grok("%{IPV5:x}")
    with pytest.raises(GrokError, match="unknown type 'bool'"):
        compile_grok("%{INT:x:bool}")
    with pytest.raises(GrokError, match="refers to itself: A -> B -> A"):
        compile_grok("%{A}", {"A": "%{B}", "B": "x%{A}"})


def test_anchoring() -> None:
    texts = ["10.0.0.1", "ip 10.0.0.1 seen", "10.0.0.1 seen"]
    assert [r is not None for r in ours("%{IP:ip}", texts)] == [True, False, False]
    assert [r is not None for r in ours("^%{IP:ip}", texts)] == [True, False, True]  # the user's anchor is kept
    cg = compile_grok("%{IP:ip}", anchored=False)
    assert cg.extract(pl.DataFrame({"line": texts}))["grok.ip"].to_list() == ["10.0.0.1"] * 3


# ------------------------------------------------------------------------ loader


def _load(tmp_path: Path, text: str, **kw: object) -> object:
    f = tmp_path / "app.log"
    f.write_text(text)
    return run(LoadRequest("logs", "grok", str(f), **kw))  # type: ignore[arg-type]


def test_loader_maps_columns_and_rejects_with_reasons(tmp_path: Path) -> None:
    text = (
        "2025-01-20 10:00:00.5 WARN checkout retries=3 slow upstream\n"
        "garbage line\n"
        "2025-01-20 10:00:01 AUDIT payments retries=0 ok\n"
    )
    pattern = "%{TIMESTAMP_ISO8601:ts} %{WORD:level} %{WORD:service} retries=%{INT:retries:int} %{GREEDYDATA:message}"
    res = _load(tmp_path, text, pattern=pattern, timezone="Europe/Paris")
    ev = res.frame
    assert (res.inputs, res.parsed, res.rejected) == (3, 2, 1)
    assert ev["ts"].to_list()[0].isoformat() == "2025-01-20T09:00:00.500000+00:00"
    assert ev["level"].to_list() == ["warning", None]
    assert ev["service"].to_list() == ["checkout", "payments"]
    assert ev["message"].to_list() == ["slow upstream", "ok"]
    assert json.loads(ev["attrs"][0]) == {"retries": 3}
    assert json.loads(ev["attrs"][1]) == {"level_raw": "AUDIT", "retries": 0}
    assert ev["attrs"][1] == '{"level_raw":"AUDIT","retries":0}'  # sorted keys
    assert res.rejects.row(0, named=True) | {"source": None} == {
        "source": None,
        "origin": f"{tmp_path / 'app.log'}:2",
        "reason": "does not match the grok pattern",
        "raw": "garbage line",
    }


def test_message_defaults_to_the_line_and_timestamp_capture_works(tmp_path: Path) -> None:
    res = _load(
        tmp_path, "1737367200 GET /\n", pattern="%{INT:timestamp} %{WORD:verb} %{NOTSPACE:path}", ts_format="epoch"
    )
    assert res.frame["message"].to_list() == ["1737367200 GET /"]
    assert res.frame["ts"][0].isoformat() == "2025-01-20T10:00:00+00:00"
    assert json.loads(res.frame["attrs"][0]) == {"path": "/", "verb": "GET"}


def test_unreadable_time_is_rejected(tmp_path: Path) -> None:
    res = _load(tmp_path, "2025-13-45 10:00:00 x\n2025-01-01 10:00:00 y\n", pattern=r"%{TS:ts} %{GREEDYDATA:message}",
                patterns={"TS": r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"})  # fmt: skip
    assert (res.parsed, res.rejected) == (1, 1)
    assert res.rejects["reason"][0] == "timestamp 2025-13-45 10:00:00 not readable"


def test_a_pattern_without_time_capture_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="name it ts"):
        _load(tmp_path, "x\n", pattern="%{WORD:word}")
    with pytest.raises(SourceError, match="needs `pattern`"):
        _load(tmp_path, "x\n")
    with pytest.raises(SourceError, match="did you mean 'hdfs'"):
        _load(tmp_path, "x\n", options={"preset": "hdsf"})


def test_multiline_true_joins_unmatched_lines_to_the_previous_match(tmp_path: Path) -> None:
    text = (
        "orphan before anything\n"
        "2025-01-20T10:00:00Z ERROR boom\n"
        "Traceback (most recent call last):\n"
        '  File "x.py", line 1\n'
        "2025-01-20T10:00:01Z INFO fine\n"
    )
    pattern = "%{TIMESTAMP_ISO8601:ts} %{LOGLEVEL:level} %{GREEDYDATA:message}"
    res = _load(tmp_path, text, pattern=pattern, options={"multiline": True})
    assert (res.inputs, res.parsed, res.rejected) == (5, 4, 1)
    assert res.frame["message"].to_list() == ["boom", "fine"]
    assert json.loads(res.frame["attrs"][0]) == {
        "continuation": 'Traceback (most recent call last):\n  File "x.py", line 1'
    }
    assert res.rejects["origin"][0].endswith(":1")


def test_multiline_head_regex_rejects_every_line_of_a_bad_record(tmp_path: Path) -> None:
    text = "2025-01-20T10:00:00Z ERROR boom\n  at a\n2025-01-20T10:00:01Z ??? bad\n  at b\n  at c\n"
    pattern = "%{TIMESTAMP_ISO8601:ts} %{LOGLEVEL:level} %{GREEDYDATA:message}"
    res = _load(tmp_path, text, pattern=pattern, options={"multiline": r"\d{4}-"})
    assert (res.inputs, res.parsed, res.rejected) == (5, 2, 3)
    assert res.rejects["reason"].to_list() == [
        "does not match the grok pattern",
        "continues line 3, which was rejected: does not match the grok pattern",
        "continues line 3, which was rejected: does not match the grok pattern",
    ]


def test_preset_with_year_option(tmp_path: Path) -> None:
    res = _load(
        tmp_path,
        "Dec 31 23:59:59 h sshd[1]: a\nJan  1 00:00:01 h sshd[1]: b\n",
        options={"preset": "openssh"},
        year=2024,
    )
    assert [t.isoformat() for t in res.frame["ts"]] == ["2024-12-31T23:59:59+00:00", "2025-01-01T00:00:01+00:00"]
    assert any("year 2024 for the first line" in n for n in res.notes)


lines_st = st.lists(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=60), max_size=30)


@settings(max_examples=scaled(40), deadline=None)
@given(lines_st, st.sampled_from([None, True, r"\d", "traceback"]))
def test_arbitrary_lines_never_break_the_count_rule(lines: list[str], mode: object) -> None:
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "x.log"
        f.write_text("\n".join(lines), encoding="utf-8")
        pattern = "%{TIMESTAMP_ISO8601:ts} %{LOGLEVEL:level} %{GREEDYDATA:message}"
        res = run(LoadRequest("logs", "grok", str(f), pattern=pattern, options={"multiline": mode}))
        assert res.parsed + res.rejected == res.inputs  # run() checks it too; say it here
