"""``Portfolio.load``: documents with front matter, evidence folders through the row cache, clear errors."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import pytest

from pmkit.errors import SpecError
from pmkit.portfolio import Portfolio, rows
from pmkit.portfolio.frontmatter import parse_document
from samplegen import portfolio as gen

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "samples" / "INC-2025-0142"

GOOD = """---
id: PM-1
title: checkout slow
severity: sev-2
services: checkout
milestones:
  impact_start: 2025-03-01T10:00:00Z
  detected: 2025-03-01T10:05:00Z
  mitigated: 2025-03-01T11:00:00+01:00
root_cause_category: capacity
slos:
  - {name: availability, objective: 99.9, consumed_minutes: 21.6}
action_items:
  - {action: add capacity alert, owner: "@sre", due: 2025-03-15, status: Done}
  - {action: load test, owner: "@sre", due: 2025-04-01}
tags: [anything, else]
---
# body is not read
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    p.write_text(text, encoding="utf-8")
    return p


def test_a_document_becomes_one_row(tmp_path: Path) -> None:
    write(tmp_path, "PM-1.md", GOOD)
    write(tmp_path, "README.md", "# not a postmortem\n")
    pf = Portfolio.load(tmp_path, as_of=dt.date(2025, 5, 1))
    assert pf.skipped == (str(tmp_path / "README.md"),)
    row = pf.incidents.row(0, named=True)
    assert row["severity"] == "SEV2" and row["services"] == ["checkout"]
    assert row["mttd"] == 300.0
    assert row["mttm"] == 0.0  # 11:00+01:00 is 10:00Z: offsets are honoured
    assert row["mtta"] is None and row["mttr"] is None  # acknowledged and resolved are missing: null, not zero
    assert row["missing"] == ["acknowledged", "declared", "resolved"]
    assert row["gates_failed"] == ["milestones"] and row["complete"] is False
    slo = pf.slos.row(0, named=True)
    assert slo["service"] == "checkout" and slo["budget_minutes"] == pytest.approx(43.2)
    assert slo["consumed"] == pytest.approx(0.5)
    assert pf.actions["done"].to_list() == [True, False]  # status words are case-insensitive; no status = open


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("detected: 2025-03-01T10:05:00Z", "detected: 2025-03-01T10:05:00", "milestones.detected: found"),
        ("services: checkout", "services: [checkout", "(front matter): not valid YAML at line"),
        ("  mitigated:", "  mitigate:", "milestones.mitigate: unknown key"),
        ("id: PM-1\n", "", "id: required key is missing"),
        ("objective: 99.9", "objective: 100", "slos[0].objective: found 100"),
        ("due: 2025-04-01", "due: next week", "action_items[1].due: found 'next week'"),
        ("severity: sev-2", "severity_policy: strict", "severity_policy: found 'strict'"),
    ],
)
def test_bad_front_matter_names_file_and_key(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in GOOD
    path = write(tmp_path, "PM-1.md", GOOD.replace(old, new, 1))
    with pytest.raises(SpecError) as err:
        parse_document(path)
    assert str(path) in str(err.value) and expected in str(err.value), str(err.value)


def test_a_bad_file_is_a_problem_not_the_end(tmp_path: Path) -> None:
    write(tmp_path, "PM-1.md", GOOD)
    write(tmp_path, "PM-2.md", "---\nid: PM-2\nseverity_policy: strict\n---\n")
    write(tmp_path, "PM-3.md", GOOD)  # the same id again
    write(tmp_path, "PM-4.md", "---\nid: PM-4\n---\n")  # nowhere in time
    pf = Portfolio.load(tmp_path)
    assert pf.incidents["id"].to_list() == ["PM-1"]
    assert len(pf.problems) == 3
    assert "PM-2.md" in pf.problems[0] and "severity_policy" in pf.problems[0]
    assert "PM-4.md" in pf.problems[1] and "no milestone and no date" in pf.problems[1]
    assert "PM-3.md" in pf.problems[2] and "already used" in pf.problems[2]
    with pytest.raises(SpecError, match=r"PM-2\.md"):
        Portfolio.load(tmp_path, strict=True)


def test_portfolio_yaml_is_checked(tmp_path: Path) -> None:
    write(tmp_path, "portfolio.yaml", "as_of: soon\ninclude: [../nowhere]\nperiod: month\n")
    with pytest.raises(SpecError) as err:
        Portfolio.load(tmp_path)
    text = str(err.value)
    assert "as_of: found 'soon'" in text and "include[0]" in text and "period: unknown key" in text


def test_folder_rows_come_from_the_analysis_then_the_row_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PMKIT_CACHE_DIR", str(tmp_path / "cache"))
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE, corpus / "INC-2025-0142", ignore=shutil.ignore_patterns("expected.yaml"))
    first = Portfolio.load(corpus, jobs=1)
    row = first.incidents.row(0, named=True)
    assert row["kind"] == "folder" and row["severity"] == "SEV1"
    assert row["mttd"] == pytest.approx(218.734772)  # pmkit analyze --json on the sample
    assert row["signatures"] and first.slos["consumed"].item() == pytest.approx(0.5148, abs=1e-4)
    assert list((tmp_path / "cache" / rows.ROWS).glob("*.json"))

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("the row should come from the cache")

    monkeypatch.setattr(rows, "folder_row", boom)
    again = Portfolio.load(corpus, jobs=1)
    assert again.incidents.equals(first.incidents) and again.slos.equals(first.slos)
    # a changed file is a new key: analysed again (here: the patched function fails, named with the folder)
    spec = corpus / "INC-2025-0142" / "incident.yaml"
    spec.write_text(spec.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    changed = Portfolio.load(corpus, jobs=1)
    assert changed.incidents.height == 0 and "INC-2025-0142" in changed.problems[0]


def test_generated_corpus_is_deterministic_and_varied(tmp_path: Path) -> None:
    a = gen.generate(tmp_path / "a", n=80)
    b = gen.generate(tmp_path / "b", n=80)
    assert a == b
    files = sorted((tmp_path / "a" / "postmortems").iterdir())
    assert [f.read_bytes() for f in files] == [(tmp_path / "b" / "postmortems" / f.name).read_bytes() for f in files]
    incs = a["incidents"]
    assert len({i["severity"] for i in incs}) == 4
    assert len({s for i in incs for s in i["services"]}) == 6
    assert len({i["milestones"]["impact_start"][:7] for i in incs if i["milestones"]["impact_start"]}) == 12
    assert any(i["missing"] for i in incs) and any(i["convention"] == "detection" for i in incs)
    statuses = {a["status"] for i in incs for a in i["action_items"]}
    assert {"done", "open"} <= statuses
    pf = Portfolio.load(tmp_path / "a")
    assert pf.incidents.height == 80 and pf.problems == ()
    assert pf.incidents.filter(pl.col("missing").list.len() > 0).height == sum(1 for i in incs if i["missing"])


def test_include_and_service_filter(tmp_path: Path) -> None:
    elsewhere = write(tmp_path / "elsewhere", "PM-1.md", GOOD)
    write(
        tmp_path / "dir",
        "PM-2.md",
        GOOD.replace("id: PM-1", "id: PM-2").replace("services: checkout", "services: [search, auth]"),
    )
    write(tmp_path / "dir", "portfolio.yaml", "as_of: 2025-03-20\ninclude: [../elsewhere/PM-1.md]\n")
    pf = Portfolio.load(tmp_path / "dir")
    assert sorted(pf.incidents["id"].to_list()) == ["PM-1", "PM-2"] and pf.as_of == dt.date(2025, 3, 20)
    assert elsewhere.resolve() in [Path(p).resolve() for p in pf.incidents["path"]]  # read where it is
    auth = pf.only(["auth"])
    assert auth.incidents["id"].to_list() == ["PM-2"] and auth.actions["id"].unique().to_list() == ["PM-2"]
    assert auth.slos.height == 0  # PM-2's SLO is the first service's (search), not auth's
    assert pf.only([]).incidents.height == 2
