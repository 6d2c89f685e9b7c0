"""The grok workbench: pm.grok_match on Logstash's spec examples, debug hints, suggestions, the catalog, the CLI."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sourcetest import scaled

import pmkit as pm
from pmkit.cli import main
from pmkit.report import grokview
from pmkit.sources import grokbench, grokcore, textio
from pmkit.sources.base import LoadRequest, run
from pmkit.sources.grokcore import GrokError, compile_grok

ROOT = Path(__file__).resolve().parents[2]

# Windows CBS lines, written in the shape of the CBS.log servicing log (timestamp, comma, level
# padded to a column, component, text)
CBS = [
    "2016-09-28 04:30:30, Info                  CBS    Loaded Servicing Stack v6.1.7601.23505 with Core: "
    "C:\\Windows\\winsxs\\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_6.1.7601.23505_none\\cbscore.dll",
    "2016-09-28 04:30:31, Info                  CSI    00000001@2016/9/27:20:30:31.455 WcpInitialize (wcp.dll "
    "version 0.0.0.6) called (stack @0x7fed806eb5d @0x7fef9fb9b6d)",
    "2016-09-28 04:30:31, Error                 CBS    Failed to internally open package. [HRESULT = 0x800f0805]",
    "2016-09-28 04:30:32, Warning               CBS    Unrecognized packageExtended attribute.",
]
NATURAL = "%{TIMESTAMP_ISO8601:ts} %{LOGLEVEL:level} %{GREEDYDATA:message}"


# ------------------------------------------------------------- Logstash's spec examples


def _agrees(case: dict[str, Any], row: dict[str, Any]) -> str:
    """'' when ``row`` (one grok_match row) agrees with the spec case, else what differs."""
    if row["matched"] != case["expect_match"]:
        return f"matched {row['matched']}, expected {case['expect_match']}"
    if not case["expect_match"]:
        return ""
    diffs = []
    for key, want in case["fields"].items():
        got = row.get(key)
        if isinstance(got, list) and not isinstance(want, list) and len(got) == 1:
            got = got[0]  # pmkit's list of one value is Logstash's scalar
        if got != want:
            diffs.append(f"{key}: {got!r} != {want!r}")
    diffs += [f"{key} is set" for key in case["absent"] if row.get(key) is not None]
    return "; ".join(diffs)


# the cases that still disagree, each with its reason in docs/grok.md
KNOWN_DISAGREEMENTS = {"aws_spec.rb:360"}


def test_logstash_spec_examples_agree(real: Path) -> None:
    """Every spec case through pm.grok_match(logstash=True): >= 97% agree fully, and the others are the known ones."""
    cases = [json.loads(x) for x in (real / "grok" / "logstash_patterns_spec" / "cases.jsonl").read_text().splitlines()]
    assert len(cases) == 265
    disagree = {}
    for case in cases:
        row = pm.grok_match(case["expr"], [case["line"]], logstash=True).row(0, named=True)
        why = _agrees(case, row)
        if why:
            disagree[case["where"]] = why
    agree = len(cases) - len(disagree)
    assert agree / len(cases) >= 0.97, disagree
    assert set(disagree) == KNOWN_DISAGREEMENTS, disagree
    assert "x_forwarded_for: '-' != 'text/html'" in disagree["aws_spec.rb:360"]
    # the figure docs/grok.md states
    assert f"**{agree} of {len(cases)} ({agree / len(cases):.1%})**" in (ROOT / "docs" / "grok.md").read_text()


def test_logstash_spec_examples_before_the_overlay(real: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The 'before' figure of docs/grok.md: pygrok's library alone, anywhere in the line, no dotall (none existed)."""
    cases = [json.loads(x) for x in (real / "grok" / "logstash_patterns_spec" / "cases.jsonl").read_text().splitlines()]
    monkeypatch.setattr(grokcore, "OVERLAY_DIR", ROOT / "no-such-folder")
    for cached in (grokcore.library_defs, grokcore.library, grokcore._compile_cached):
        cached.cache_clear()
    try:
        agree = 0
        for case in cases:
            try:
                lines = [case["line"]]
                row = pm.grok_match(case["expr"], lines, anchored=False).row(0, named=True)
            except GrokError:
                continue
            agree += not _agrees(case, row)
    finally:
        monkeypatch.undo()
        for cached in (grokcore.library_defs, grokcore.library, grokcore._compile_cached):
            cached.cache_clear()
    assert agree == 193
    assert "| 193 of 265 (72.8%) |" in (ROOT / "docs" / "grok.md").read_text()


# ------------------------------------------------------------------------ grok_match


def test_grok_match_one_typed_row_per_line() -> None:
    df = pm.grok_match("%{IP:ip} took %{NUMBER:ms:float}ms, %{INT:n:int} rows", ["10.0.0.1 took 12.5ms, 3 rows", "x"])
    assert df.columns == ["matched", "ip", "ms", "n"]
    assert df.schema["ms"] == pl.Float64 and df.schema["n"] == pl.Int64 and df.schema["ip"] == pl.String
    assert df.rows() == [(True, "10.0.0.1", 12.5, 3), (False, None, None, None)]
    assert pm.grok_match("%{WORD:w}", pl.Series(["a", "b c"])).get_column("matched").to_list() == [True, False]


def test_grok_match_defaults_are_the_loaders_and_logstash_mode_is_asked() -> None:
    lines = ["GET /a 200", "x GET /b 404 y", "GET /c\n200"]
    expr = r"%{WORD:verb} %{URIPATH:path}\s%{INT:status:int}"
    assert pm.grok_match(expr, lines)["matched"].to_list() == [True, False, True]  # \s crosses the newline
    assert pm.grok_match(expr, lines, logstash=True)["status"].to_list() == [200, 404, 200]
    # '.' stops at a newline unless dotall / logstash
    assert pm.grok_match("%{GREEDYDATA:m}", ["a\nb"])["matched"].item() is False
    assert pm.grok_match("%{GREEDYDATA:m}", ["a\nb"], dotall=True)["m"].item() == "a\nb"
    assert pm.grok_match("%{GREEDYDATA:m}", ["a\nb"], logstash=True)["m"].item() == "a\nb"


def test_a_field_captured_twice_is_a_list_in_logstash_mode() -> None:
    expr = r"%{WORD:k}=%{INT:v:int},%{WORD:k}"
    first = pm.grok_match(expr, ["a=1,b", "?"])
    assert first["k"].to_list() == ["a", None]
    listed = pm.grok_match(expr, ["a=1,b", "?"], logstash=True)
    assert listed.schema["k"] == pl.List(pl.String) and listed["k"].to_list() == [["a", "b"], None]
    with pytest.raises(GrokError, match="repeated='all'"):
        pm.grok_match(expr, ["a"], repeated="all")


# ----------------------------------------------------------------------------- debug


def test_debug_explains_the_natural_first_pattern_on_cbs_lines() -> None:
    d = grokbench.debug(NATURAL, CBS)
    assert (d.total, d.matched) == (4, 0)
    assert d.elements == ("%{TIMESTAMP_ISO8601:ts}", " ", "%{LOGLEVEL:level}", " ", "%{GREEDYDATA:message}")
    (g,) = d.failures
    assert (g.count, g.position, g.element, g.matched_text) == (4, 1, " ", "2016-09-28 04:30:30")
    assert g.rest.startswith(", Info")
    assert "misses ','" in g.hint
    # the hint applied: the lines match
    fixed = NATURAL.replace("} %{LOGLEVEL", "}, %{LOGLEVEL")
    assert grokbench.debug(fixed, CBS).failing == 0


def test_debug_on_a_loghub_sample_points_at_the_missing_separator(real: Path) -> None:
    lines = textio.read_lines(real / "loghub" / "Zookeeper" / "Zookeeper_2k.log").get_column("line")
    d = grokbench.debug(NATURAL, lines)
    assert (d.total, d.matched) == (2000, 0)
    (g,) = d.failures
    assert g.count == 2000 and g.element == "%{LOGLEVEL:level}"
    assert "matches 2 character(s) later" in g.hint and "'- '" in g.hint
    fixed = NATURAL.replace("} %{LOGLEVEL", "} - %{LOGLEVEL")
    assert grokbench.debug(fixed, lines).matched == 2000


def test_debug_descends_into_named_patterns_and_picks_the_best_alternative() -> None:
    line = '1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET /a HTTP/1.0" 200 abc "-" "x"'
    (g,) = grokbench.debug("%{COMBINEDAPACHELOG}", [line]).failures
    assert g.path == ("COMBINEDAPACHELOG", "COMMONAPACHELOG")
    assert g.element == "(?:%{NUMBER:bytes}|-)" and g.rest.startswith("abc")
    assert ("WORD", "abc") in g.matching_here
    (g,) = grokbench.debug("%{INT:a} x|%{WORD:w} y z", ["abc y q"]).failures
    assert g.elements == ("%{WORD:w}", " y z") and g.matched_text == "abc"
    # every element matched but text remains (anchored)
    (g,) = grokbench.debug("%{WORD:w}", ["abc def"]).failures
    assert g.element == "" and "GREEDYDATA" in g.hint
    assert grokbench.debug("%{WORD:w}", ["abc def"], anchored=False).failing == 0


def test_split_elements_keeps_quantifiers_groups_and_literal_runs() -> None:
    elements = [e.text for e in grokbench.split_elements(r"^\[%{HTTPDATE:ts}\] (?:a|b)+ [0-9]{2} - %{INT}?$")]
    assert elements == [r"\[", "%{HTTPDATE:ts}", r"\]", " ", "(?:a|b)+", " ", "[0-9]{2}", " - ", "%{INT}?"]
    assert grokbench.split_alternatives("a(b|c)|[|]|d") == ["a(b|c)", "[|]", "d"]


def test_grok_debug_view_escapes_evidence() -> None:
    v = pm.grok_debug(NATURAL, [*CBS, "<script>alert(1)</script>"])
    html = v._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "0 of 5 lines match" in html and "misses" in html
    assert str(v).startswith("pattern: ") and "stop at element 2 of 5: ' '" in str(v)


# --------------------------------------------------------------------------- suggest


def test_suggestion_for_cbs_lines_is_verified_and_loads(tmp_path: Path) -> None:
    s = pm.grok_suggest(CBS)
    assert s.expr == r"%{TIMESTAMP_ISO8601:ts}, %{LOGLEVEL:level}\s+%{GREEDYDATA:message}"
    assert (s.matched, s.total) == (4, 4)
    f = tmp_path / "CBS.log"
    f.write_text("\n".join(CBS) + "\n")
    res = run(LoadRequest("logs", "grok", str(f), pattern=s.expr))
    assert (res.parsed, res.rejected) == (4, 0)
    assert res.frame["level"].to_list() == ["info", "info", "error", "warning"]


@pytest.mark.parametrize(
    ("system", "expected"),
    [
        ("Hadoop", "%{TIMESTAMP_ISO8601:ts} %{LOGLEVEL:level} %{GREEDYDATA:message}"),
        ("Apache", "%{HTTPD_ERRORLOG}"),
        ("OpenSSH", "%{SYSLOGBASE} %{GREEDYDATA:message}"),
        ("Zookeeper", r"%{TIMESTAMP_ISO8601:ts} - %{LOGLEVEL:level}\s+%{GREEDYDATA:message}"),
    ],
)
def test_suggestions_on_loghub_samples_match_the_whole_file(real: Path, system: str, expected: str) -> None:
    lines = textio.read_lines(real / "loghub" / system / f"{system}_2k.log").get_column("line")
    s = grokbench.suggest(lines)
    assert s.expr == expected and s.matched == s.total == 200
    assert pm.grok_match(s.expr, lines)["matched"].sum() == 2000


def test_suggestion_says_when_no_timestamp_is_known(real: Path) -> None:
    lines = textio.read_lines(real / "loghub" / "HDFS" / "HDFS_2k.log").get_column("line")
    s = grokbench.suggest(lines)
    assert s.expr == "%{GREEDYDATA:message}" and "no known timestamp" in s.note


# --------------------------------------------------------------------------- catalog


def test_every_library_pattern_is_listed_with_an_example_that_matches() -> None:
    entries = grokbench.catalog()
    assert {e.name for e in entries} == set(grokcore.library())
    for e in entries:
        assert e.example, f"{e.name} has no example"
        cg = compile_grok("%{" + e.name + "}", anchored=e.generated)
        assert cg.match(e.example) is not None, f"{e.name}: example {e.example!r} does not match"
    written = grokbench.written_examples()
    assert set(written) <= set(grokcore.library())
    assert sum(e.generated for e in entries) > 200


def test_docs_list_every_pattern_and_are_current() -> None:
    text = (ROOT / "docs" / "grok-patterns.md").read_text()
    assert text == grokview.catalog_markdown(grokbench.catalog()), (
        "docs/grok-patterns.md is stale: pmkit grok --list --markdown > docs/grok-patterns.md"
    )
    for name in grokcore.library():
        assert f"| `{name}` |" in text


def test_overlay_files_cite_their_sources_and_ship_in_the_package() -> None:
    files = sorted(grokcore.OVERLAY_DIR.glob("*.grok"))
    assert len(files) >= 10
    for f in files:
        head = f.read_text().split("\n\n")[0] if "\n\n" in f.read_text() else f.read_text()[:800]
        assert "logstash-patterns-core" in head and "Apache-2.0" in head, f.name
    assert "Apache License, Version 2.0" in (grokcore.OVERLAY_DIR / "NOTICE").read_text()
    # package data: inside src/pmkit, which the wheel packs whole
    assert grokcore.OVERLAY_DIR.parent.parent.name == "pmkit"
    assert re.search(r'packages = \["src/pmkit"\]', (ROOT / "pyproject.toml").read_text())


# ------------------------------------------------------------------------------- CLI


def test_cli_grok_explains_failures_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "CBS.log"
    f.write_text("\n".join(CBS) + "\n")
    assert main(["grok", NATURAL, str(f)]) == 1
    out = capsys.readouterr().out
    assert "0 of 4 lines match" in out and "4 line(s) stop at element 2 of 5: ' '" in out and "misses ','" in out
    assert main(["grok", NATURAL.replace("} %{LOGLEVEL", "}, %{LOGLEVEL"), str(f)]) == 0
    assert "4 of 4 lines match" in capsys.readouterr().out
    assert main(["grok", "--suggest", str(f)]) == 0
    assert r"suggested pattern: %{TIMESTAMP_ISO8601:ts}, %{LOGLEVEL:level}\s+%{GREEDYDATA:message}" in (
        capsys.readouterr().out
    )
    assert main(["grok", "--define", "CBSLEVEL=Info|Error|Warning", "%{GREEDYDATA}, %{CBSLEVEL:l} .*", str(f)]) == 0
    capsys.readouterr()


def test_cli_grok_list_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["grok", "--list", "urn"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("URN  [pmkit/core.grok]") and "example: urn:isbn:0451450523" in out
    f = tmp_path / "a.log"
    f.write_text("x\n")
    assert main(["grok", "%{IPV5:x}", str(f)]) == 1
    assert "unknown grok pattern %{IPV5}" in capsys.readouterr().err
    assert main(["grok", NATURAL]) == 1
    assert "needs PATTERN and FILE" in capsys.readouterr().err
    assert main(["grok", NATURAL, str(tmp_path / "none.log")]) == 1
    assert "no such file" in capsys.readouterr().err
    assert main(["grok", "--list", "NO_SUCH_NAME"]) == 1
    err = capsys.readouterr().err
    assert "no library pattern" in err and "Traceback" not in err


def test_the_loader_says_where_rejected_lines_stop(tmp_path: Path) -> None:
    f = tmp_path / "CBS.log"
    f.write_text("\n".join(CBS) + "\n")
    res = run(LoadRequest("logs", "grok", str(f), pattern=NATURAL))
    assert (res.parsed, res.rejected) == (0, 4)
    (note,) = [n for n in res.notes if n.startswith("grok: ")]
    assert "4 of the first 4 lines that do not match stop at element 2 (' ')" in note and "misses ','" in note
    ok = run(LoadRequest("logs", "grok", str(f), pattern=NATURAL.replace("} %{LOGLEVEL", "}, %{LOGLEVEL")))
    assert ok.rejected == 0 and not any(n.startswith("grok: ") for n in ok.notes)


def test_elements_rejoin_to_the_expression_for_every_library_pattern() -> None:
    for name, body in grokcore.library().items():
        alts = grokbench.split_alternatives(body)
        assert "|".join(alts) == body, name
        for alt in alts:
            inner = alt[1:] if alt.startswith("^") else alt
            inner = inner[:-1] if inner.endswith("$") and not inner.endswith("\\$") else inner
            assert "".join(e.text for e in grokbench.split_elements(alt)) == inner, name


@settings(max_examples=scaled(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.text(alphabet=string.printable.replace("\r", "").replace("\n", ""), max_size=30), min_size=1, max_size=8
    ),
    st.sampled_from([NATURAL, "%{COMBINEDAPACHELOG}", r"\[%{HTTPDERROR_DATE:ts}\] %{WORD:w}|%{INT:n} x", "%{IP:ip}"]),
)
def test_debug_accounts_for_every_failing_line(lines: list[str], expr: str) -> None:
    d = grokbench.debug(expr, lines)
    assert d.matched == int(pm.grok_match(expr, lines)["matched"].sum())
    assert sum(g.count for g in d.failures) == d.failing
    for g in d.failures:
        assert g.matched_text + g.rest == lines[g.line_no - 1]
        assert g.hint
