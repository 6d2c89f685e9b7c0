"""A wrong format is loud: a mostly rejected source is said by the load report, `pmkit load` (exit 1),
`pmkit analyze`, `pmkit render`'s warnings and the document's evidence section, with the sniffed format."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from pmkit.cli import main
from pmkit.incident import Incident
from pmkit.pipeline import analyze
from pmkit.report import document
from pmkit.report.cli_render import evidence_warnings
from pmkit.sources import verdict
from pmkit.sources.base import LoadRequest, run

LOOKS = "these lines look like jsonl: set format: jsonl"


def jsonl_lines(n: int) -> str:
    t0 = dt.datetime(2025, 6, 15, 14, 0, tzinfo=dt.UTC)
    rows = [
        {"ts": (t0 + dt.timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ"), "level": "info", "msg": f"m{i}"}
        for i in range(n)
    ]
    return "".join(json.dumps(r) + "\n" for r in rows)


def folder(tmp_path: Path, fmt: str, n: int = 2000) -> Path:
    (tmp_path / "logs").mkdir(parents=True)
    (tmp_path / "logs" / "app.jsonl").write_text(jsonl_lines(n))
    (tmp_path / "incident.yaml").write_text(
        f"id: INC-T-1\ntitle: t\nsources:\n  - kind: logs\n    path: logs/app.jsonl\n    format: {fmt}\n"
    )
    return tmp_path


def test_combined_on_json_lines_is_loud_in_the_load_result(tmp_path: Path) -> None:
    f = tmp_path / "app.jsonl"
    f.write_text(jsonl_lines(2000))
    res = run(LoadRequest("logs", "combined", str(f)))
    assert (res.inputs, res.rejected) == (2000, 2000)
    assert res.notes[0] == f"{verdict.PREFIX}2,000 of 2,000 lines rejected (format combined); {LOOKS}" + (
        ", or leave format out to sniff it"
    )
    assert verdict.warning_of(res.notes).startswith("2,000 of 2,000 lines rejected")
    assert verdict.warning_of(run(LoadRequest("logs", "jsonl", str(f))).notes) == ""


@pytest.mark.parametrize(
    ("parsed", "rejected", "loud"),
    [(0, 9, False), (0, 10, True), (9, 10, True), (10, 10, False), (1000, 999, False), (999, 1000, True)],
)
def test_threshold(parsed: int, rejected: int, loud: bool) -> None:
    assert verdict.mostly_rejected(parsed, rejected) is loud


def test_a_right_format_with_a_bad_option_says_so(tmp_path: Path) -> None:
    f = tmp_path / "app.jsonl"
    f.write_text(jsonl_lines(20))
    res = run(LoadRequest("logs", "jsonl", str(f), fields={"ts": "missing"}))
    assert "they look like jsonl, yet do not parse" in verdict.warning_of(res.notes)


def test_pmkit_load_exits_non_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inc = folder(tmp_path / "bad", "combined")
    assert main(["load", str(inc)]) == 1
    err = capsys.readouterr().err
    assert f"pmkit: warning: app: 2,000 of 2,000 lines rejected (format combined); {LOOKS}" in err
    assert main(["load", str(inc / "logs" / "app.jsonl"), "--kind", "logs", "--format", "combined"]) == 1
    assert LOOKS in capsys.readouterr().err
    good = folder(tmp_path / "good", "jsonl")
    assert main(["load", str(good)]) == 0
    assert "warning" not in capsys.readouterr().err
    report = Incident.load(inc, cache=False).report
    assert report.get_column("warning").to_list()[0].startswith("2,000 of 2,000 lines rejected")
    assert Incident.load(good, cache=False).report.get_column("warning").to_list() == [""]


def test_analyze_and_render_warn_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inc = folder(tmp_path, "combined")
    assert main(["analyze", str(inc)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("warning: app: 2,000 of 2,000 lines rejected") and LOOKS in out
    assert main(["analyze", "--json", str(inc)]) == 0
    got = capsys.readouterr()
    json.loads(got.out)  # stdout stays JSON
    assert LOOKS in got.err
    assert any(LOOKS in w for w in evidence_warnings([inc]))
    doc = document.build(analyze(Incident.load(inc, cache=False)))
    evidence = next(s for s in doc.sections if "### Evidence loaded" in s.markdown).markdown
    section = evidence.split("### Evidence loaded", 1)[1]
    assert section.lstrip().startswith("> **Warning:** source app: 2,000 of 2,000 lines rejected (format combined)")
    assert "look like jsonl" in section


def test_report_frame_has_the_column() -> None:
    from pmkit.incident import REPORT_SCHEMA

    assert REPORT_SCHEMA["warning"] == pl.String
