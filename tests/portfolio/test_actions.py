"""``pmkit actions``: listing against the corpus' planted truth, export to GitHub/Jira/Linear, the gh script run with a
fake gh, tracker exports synced back (round trips), the YAML text edits, matching rules and bad input."""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pmkit.cli import main
from pmkit.errors import PmkitError, SpecError
from pmkit.portfolio import DONE_STATUSES, Portfolio
from pmkit.portfolio.actions import by_owner, item_frame, item_key, open_items, read_items
from pmkit.portfolio.sync import apply_updates, match, sync
from pmkit.portfolio.trackers import (
    LINEAR_COLUMNS,
    Record,
    TrackerError,
    export,
    github_issue,
    read_export,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "data" / "samples"
CORPUS = ROOT / "data" / "portfolio"


@pytest.fixture()
def incidents(tmp_path: Path) -> Path:
    """Copies of the sample incidents' incident.yaml (only the spec is read: no evidence needed)."""
    root = tmp_path / "incidents"
    for d in sorted(SAMPLES.iterdir()):
        if (d / "incident.yaml").is_file():
            (root / d.name).mkdir(parents=True)
            shutil.copy(d / "incident.yaml", root / d.name / "incident.yaml")
    return root


def _texts(root: Path) -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for p in sorted(root.rglob("*")) if p.is_file()}


def _only_status_lines_changed(before: dict[Path, str], after: dict[Path, str]) -> None:
    """Every changed line of every file is a status: or tracker: line; nothing else moved (comments, order)."""
    assert before.keys() == after.keys()
    for path in before:
        diff = [
            line
            for line in difflib.unified_diff(before[path].splitlines(), after[path].splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))
        ]
        bad = [line for line in diff if not line[1:].strip().startswith(("status:", "tracker:"))]
        assert not bad, (path, bad)


def _statuses(root: Path) -> dict[str, tuple[str, str | None]]:
    items, problems = read_items([root])
    assert not problems
    return {it.key: (it.status, it.tracker) for it in items}


# --- list ----------------------------------------------------------------------------------------------------


def test_list_counts_match_the_corpus_truth() -> None:
    """Over data/portfolio (documents + the included samples), open/done/overdue per owner are what the generator
    planted (truth.yaml), the same numbers as the portfolio's KPIs."""
    truth = yaml.safe_load((CORPUS / "truth.yaml").read_text(encoding="utf-8"))
    as_of = dt.date.fromisoformat(truth["as_of"])
    planted = [a for i in truth["incidents"] for a in i["action_items"]]
    done = [a for a in planted if a["status"].lower() in DONE_STATUSES]
    overdue = [a for a in planted if a not in done and a.get("due") and dt.date.fromisoformat(str(a["due"])) < as_of]
    items, problems = read_items([CORPUS])
    assert not problems
    frame = item_frame(items)
    assert frame.height == len(planted)
    assert int(frame["done"].sum()) == len(done)
    listed = open_items(frame, as_of)
    assert listed.height == len(planted) - len(done)
    assert int(listed["overdue"].sum()) == len(overdue)
    owners = by_owner(frame, as_of).filter(by_owner(frame, as_of)["overdue"] > 0)
    assert dict(zip(owners["owner"], owners["overdue"], strict=True)) == dict(
        Counter(a.get("owner") or "(no owner)" for a in overdue)
    )
    late = listed.filter(listed["overdue"])
    assert all(d == (as_of - due).days for d, due in zip(late["days_overdue"], late["due"], strict=True)), (
        "days_overdue is today - due"
    )


def test_list_cli_table_and_json(incidents: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["actions", str(incidents), "--today", "2025-01-23"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("19 action items in 5 incidents: 19 open, 1 overdue on 2025-01-23")
    assert "INC-20250120-103000#3" in out and "1 days" in out  # due 2025-01-22, @sre-lead
    assert main(["actions", "list", str(incidents), "--today", "2025-01-23", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    late = [i for i in doc["items"] if i["overdue"]]
    assert [(i["key"], i["owner"], i["days_overdue"]) for i in late] == [("INC-20250120-103000#3", "@sre-lead", 1)]
    assert {o["owner"] for o in doc["owners"]} >= {"@jane", "@john", "@sre-lead"}


def test_list_reports_unreadable_files_and_duplicate_ids(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "incident.yaml").write_text(
        "id: A\naction_items:\n- {action: x, id: one}\n- {action: y, id: one}\n", encoding="utf-8"
    )
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "incident.yaml").write_text(
        "id: B\naction_items:\n- {action: z, staus: done}\n", encoding="utf-8"
    )
    assert main(["actions", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "action_items[1]: item id 'one' is also action_items[0]'s" in err
    assert "action_items[0].staus: unknown key; did you mean 'status'?" in err
    assert "Traceback" not in err


# --- export --------------------------------------------------------------------------------------------------


def test_github_issue_is_the_rest_body(incidents: Path) -> None:
    items, _ = read_items([incidents])
    issue = github_issue(items[0])
    # POST /repos/{owner}/{repo}/issues takes title (required), body, assignee (deprecated), milestone, labels,
    # assignees: pmkit writes no key outside those
    assert set(issue) <= {"title", "body", "labels", "assignees", "milestone"}
    assert issue["title"] == items[0].action
    assert issue["body"].endswith(f"pmkit-action: {items[0].key}")
    assert issue["labels"][:2] == ["postmortem", items[0].incident]
    assert issue["assignees"] == [items[0].owner.lstrip("@")]  # type: ignore[union-attr]
    team = github_issue(items[0].__class__(**{**items[0].__dict__, "owner": "@org/team"}))
    assert "assignees" not in team and "Owner: @org/team" in team["body"]


def test_export_skips_done_and_tracked_items_unless_all(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inc = tmp_path / "inc"
    inc.mkdir()
    (inc / "incident.yaml").write_text(
        "id: X-1\naction_items:\n- {action: a}\n- {action: b, status: done}\n"
        "- {action: c, tracker: 'https://github.com/o/r/issues/4'}\n",
        encoding="utf-8",
    )
    assert main(["actions", "export", str(inc), "--to", "jira", "-o", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "1 of 3 action items exported" in out
    assert "skipped X-1#2 (status done" in out and "skipped X-1#3 (already tracked" in out
    rows = list(csv.reader(io.StringIO((tmp_path / "out" / "jira-import.csv").read_text(encoding="utf-8"))))
    assert [r[0] for r in rows[1:]] == ["a"]
    assert main(["actions", "export", str(inc), "--to", "jira", "-o", str(tmp_path / "out"), "--all"]) == 0
    rows = list(csv.reader(io.StringIO((tmp_path / "out" / "jira-import.csv").read_text(encoding="utf-8"))))
    assert [r[0] for r in rows[1:]] == ["a", "b", "c"]


def test_jira_and_linear_csv_shapes(incidents: Path, tmp_path: Path) -> None:
    items, _ = read_items([incidents])
    export(items, tmp_path, ["jira", "linear"], extra_labels=["follow up"])
    jira = list(csv.reader(io.StringIO((tmp_path / "jira-import.csv").read_text(encoding="utf-8"), newline="")))
    head = jira[0]
    assert head[:5] == ["Summary", "Description", "Assignee", "Due date", "Priority"] and head[-1] == "Issue Type"
    assert set(head[5:-1]) == {"Labels"}
    first = dict(zip(head[:5], jira[1][:5], strict=True))
    assert first["Assignee"] == items[0].owner.lstrip("@")  # type: ignore[union-attr]
    assert first["Due date"] == items[0].due.isoformat()  # type: ignore[union-attr]
    assert first["Priority"] == "High"  # P1
    assert "follow-up" in jira[1][5:-1]  # a Jira label has no spaces
    assert all(len(r) == len(head) for r in jira)
    linear = list(csv.DictReader(io.StringIO((tmp_path / "linear-import.csv").read_text(encoding="utf-8"))))
    assert tuple(linear[0]) == LINEAR_COLUMNS
    assert linear[0]["Status"] == "Todo" and linear[0]["Priority"] == "High"
    assert linear[0]["Labels"].split(", ")[:2] == ["postmortem", items[0].incident]
    p0 = next(r for r in linear if "INC-20250120-103000#1" in r["Description"])
    assert p0["Priority"] == "Urgent"


NASTY = [
    "Fix the 'quoted' thing",
    'Rotate "creds" $HOME $(touch PWNED) `touch PWNED2`',
    "Two\nlines; rm -rf / && echo $((1+1))",
    "-n --title=evil \\ backslash %s {} ;|&<>*?",
]


def test_gh_script_quotes_every_value(tmp_path: Path) -> None:
    """Run create-issues.sh with a fake gh that records its argv: each call carries exactly the JSON's values,
    and nothing in a title or body ran as shell."""
    inc = tmp_path / "inc"
    inc.mkdir()
    spec = {"id": "INC-$(id)", "action_items": [{"action": a, "owner": "@dev-1", "priority": "P2"} for a in NASTY]}
    (inc / "incident.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    out = tmp_path / "out"
    export(read_items([inc])[0], out, ["github"])
    fake = tmp_path / "bin"
    fake.mkdir()
    log = tmp_path / "argv.jsonl"
    (fake / "gh").write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"with open({str(log)!r}, 'a', encoding='utf-8') as fh:\n"
        "    fh.write(json.dumps(sys.argv[1:]) + '\\n')\n",
        encoding="utf-8",
    )
    (fake / "gh").chmod(0o755)
    work = tmp_path / "cwd"
    work.mkdir()
    env = {**os.environ, "PATH": f"{fake}{os.pathsep}{os.environ.get('PATH', '')}"}
    run = subprocess.run(
        ["sh", str(out / "github" / "create-issues.sh"), "acme/app"], cwd=work, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert not list(work.iterdir()) and not (out / "github" / "PWNED").exists()
    calls = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    creates = [c for c in calls if c[:2] == ["issue", "create"]]
    labels = [c for c in calls if c[:2] == ["label", "create"]]
    assert [c[-1] for c in labels] == ["postmortem", "INC-$(id)", "P2"]
    issues = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((out / "github").glob("*.json"))]
    assert len(creates) == len(issues) == len(NASTY)
    for call, issue in zip(creates, issues, strict=True):
        flags = [a.split("=", 1) for a in call[2:]]
        assert flags[0] == ["--repo", "acme/app"]
        got = {
            "title": next(v for k, v in flags if k == "--title"),
            "body": next(v for k, v in flags if k == "--body"),
            "labels": [v for k, v in flags if k == "--label"],
            "assignees": [v for k, v in flags if k == "--assignee"],
        }
        assert got == issue
    assert sorted(i["title"] for i in issues) == sorted(NASTY)


# --- sync: round trips -----------------------------------------------------------------------------------------


def _gh_list(issues: list[dict[str, Any]], closed: dict[int, str], *, rest: bool = False) -> list[dict[str, Any]]:
    """What `gh issue list --json number,title,state,stateReason,body,url` (or the REST API) would give after the
    issues were created in this order and ``closed`` (index: reason) were closed."""
    out = []
    for n, issue in enumerate(issues):
        state = "closed" if n in closed else "open"
        reason = closed.get(n)
        url = f"https://github.com/acme/app/issues/{100 + n}"
        if rest:
            out.append(
                {"number": 100 + n, "title": issue["title"], "body": issue["body"], "state": state,
                 "state_reason": reason, "html_url": url, "url": f"https://api.github.com/repos/acme/app/issues/{100 + n}"}
            )  # fmt: skip
        else:
            out.append(
                {"number": 100 + n, "title": issue["title"], "body": issue["body"], "state": state.upper(),
                 "stateReason": (reason or "").upper(), "url": url}
            )  # fmt: skip
    return out


@pytest.mark.parametrize("rest", [False, True])
def test_github_round_trip(incidents: Path, tmp_path: Path, rest: bool) -> None:
    before = _texts(incidents)
    export(read_items([incidents])[0], tmp_path / "out", ["github"])
    files = sorted((tmp_path / "out" / "github").glob("*.json"))
    issues = [json.loads(p.read_text(encoding="utf-8")) for p in files]
    keys = [i["body"].rsplit("pmkit-action: ", 1)[1] for i in issues]
    listing = _gh_list(issues, {0: "completed", 3: "not_planned", 7: "completed"}, rest=rest)
    listing.append({"number": 1, "title": "Unrelated bug", "body": "", "state": "OPEN", "url": "u"})
    src = tmp_path / "issues.json"
    src.write_text(json.dumps(listing), encoding="utf-8")
    report = sync([incidents], src)
    assert report.tracker == "github" and report.records == len(keys) + 1
    assert len(report.matched) == len(keys) and not report.missing
    assert [(r.title, why[:15]) for r, why in report.unmatched] == [("Unrelated bug", "no pmkit-action")]
    got = _statuses(incidents)
    for n, key in enumerate(keys):
        want = {0: "done", 3: "not planned", 7: "done"}.get(n, "open")
        assert got[key] == (want, f"https://github.com/acme/app/issues/{100 + n}")
    _only_status_lines_changed(before, _texts(incidents))
    # synced again: nothing changes, nothing written
    again = sync([incidents], src)
    assert not again.written and all(not m.changes for m in again.matched)


def test_jira_round_trip(incidents: Path, tmp_path: Path) -> None:
    before = _texts(incidents)
    items = read_items([incidents])[0]
    export(items, tmp_path / "out", ["jira"])
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out" / "jira-import.csv").read_text(encoding="utf-8"))))
    # Jira's "Export Excel CSV": its own columns, repeated Labels, the Description kept
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["Summary", "Issue key", "Issue id", "Issue Type", "Status", "Resolution", "Priority", "Assignee",
                "Labels", "Labels", "Description", "Due date"])  # fmt: skip
    fate = {0: ("Done", "Done"), 2: ("Closed", "Won't Do"), 4: ("In Progress", "")}
    for n, r in enumerate(rows):
        status, resolution = fate.get(n, ("To Do", ""))
        w.writerow([r["Summary"], f"OPS-{n + 1}", 10000 + n, "Task", status, resolution, r["Priority"], r["Assignee"],
                    "postmortem", "", r["Description"], "22/Jun/25 12:00 AM"])  # fmt: skip
    src = tmp_path / "jira-export.csv"
    src.write_text(buf.getvalue(), encoding="utf-8")
    report = sync([incidents], src)
    assert report.tracker == "jira" and len(report.matched) == len(rows) and not report.unmatched
    got = _statuses(incidents)
    want = {0: "done", 2: "won't do", 4: "in progress"}
    for n, it in enumerate(items):
        assert got[it.key] == (want.get(n, "to do"), f"OPS-{n + 1}")
    _only_status_lines_changed(before, _texts(incidents))
    assert yaml.safe_load((incidents / items[2].path.parent.name / "incident.yaml").read_text())  # still YAML


def test_linear_round_trip_and_portfolio_follow_through(tmp_path: Path) -> None:
    """Documents (front matter) round-trip through Linear's CSV, and the portfolio's completion reads the synced
    statuses."""
    root = tmp_path / "docs"
    root.mkdir()
    for name in ("PM-2025-043.md", "PM-2025-054.md", "PM-2025-060.md"):
        shutil.copy(CORPUS / "postmortems" / name, root / name)
    before = _texts(root)
    items = [it for it in read_items([root])[0] if it.status.lower() not in DONE_STATUSES]  # what the CLI exports
    open_keys = [it.key for it in items]
    export(items, tmp_path / "out", ["linear"], team="OPS")
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out" / "linear-import.csv").read_text(encoding="utf-8"))))
    assert len(rows) == len(open_keys)
    for n, r in enumerate(rows):
        r["ID"] = f"OPS-{n + 1}"
        r["Status"] = ["Done", "Canceled", "In Review"][n % 3]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(LINEAR_COLUMNS))
    w.writeheader()
    w.writerows(rows)
    src = tmp_path / "linear-export.csv"
    src.write_text(buf.getvalue(), encoding="utf-8")
    pf_before = Portfolio.load(root, cache=False, jobs=1)
    report = sync([root], src, tracker="linear")
    assert len(report.matched) == len(rows) and not report.unmatched
    got = _statuses(root)
    for n, key in enumerate(open_keys):
        assert got[key] == (["done", "canceled", "in review"][n % 3], f"OPS-{n + 1}")
    _only_status_lines_changed(before, _texts(root))
    pf_after = Portfolio.load(root, cache=False, jobs=1)
    done_now = int(pf_after.actions["done"].sum())
    assert done_now == int(pf_before.actions["done"].sum()) + len(range(0, len(rows), 3))
    assert int(pf_after.incidents["action_items_done"].sum()) == done_now


# --- matching ---------------------------------------------------------------------------------------------------


def test_matching_by_title_duplicates_and_foreign_keys(tmp_path: Path) -> None:
    inc = tmp_path / "inc"
    inc.mkdir()
    (inc / "incident.yaml").write_text(
        "id: M-1\naction_items:\n- action: Add an alert\n- action: Add an alert\n- action: Write the runbook\n"
        "- action: Load-test it\n  id: load\n",
        encoding="utf-8",
    )
    items = read_items([inc])[0]
    assert [it.key for it in items] == ["M-1#1", "M-1#2", "M-1#3", "M-1#load"]
    recs = [
        Record("f:2", None, "write  the RUNBOOK", "done", "OPS-1"),  # title, case and spaces aside
        Record("f:3", None, "Add an alert", "done", "OPS-2"),  # fits two items
        Record("f:4", "M-1#load", "renamed in the tracker", "done", "OPS-3"),
        Record("f:5", "M-1#1", "Add an alert", "open", "OPS-4"),
        Record("f:6", "M-1#1", "Add an alert", "done", "OPS-5"),  # two issues, one key
        Record("f:7", "OTHER#1", "x", "done", "OPS-6"),
    ]
    matches, unmatched = match(items, recs)
    # M-1#1 is claimed by key (twice: ambiguous, left unchanged), so "Add an alert" without a key fits M-1#2 only
    assert sorted((i.key, r.origin, how) for i, r, how in matches) == [
        ("M-1#2", "f:3", "title"),
        ("M-1#3", "f:2", "title"),
        ("M-1#load", "f:4", "key"),
    ]
    why = {r.origin: text for r, text in unmatched}
    assert why["f:5"].startswith("2 issues carry key M-1#1") and why["f:6"] == why["f:5"]
    assert "no item under the folders given" in why["f:7"]
    assert len(unmatched) == 3
    matches, unmatched = match(items, [recs[1], Record("f:8", None, "Write the runbook", "done", None), recs[0]])
    why = {r.origin: text for r, text in unmatched}
    assert "fits 2 items (M-1#1, M-1#2)" in why["f:3"]
    assert why["f:2"].startswith("2 issues have the title of M-1#3") and why["f:8"] == why["f:2"]
    assert not matches


def test_open_github_issue_keeps_an_items_own_open_status(tmp_path: Path) -> None:
    """GitHub says only open or closed: an open issue leaves "in progress" as it is, and reopens a done item."""
    inc = tmp_path / "inc"
    inc.mkdir()
    (inc / "incident.yaml").write_text(
        "id: G\naction_items:\n- {action: a, status: in progress}\n- {action: b, status: done}\n- {action: c}\n",
        encoding="utf-8",
    )
    issues = [
        {"title": t, "body": f"x\npmkit-action: G#{n}", "state": "OPEN", "url": f"https://github.com/o/r/issues/{n}"}
        for n, t in ((1, "a"), (2, "b"))
    ]
    src = tmp_path / "i.json"
    src.write_text(json.dumps(issues), encoding="utf-8")
    report = sync([inc], src)
    assert _statuses(inc) == {
        "G#1": ("in progress", "https://github.com/o/r/issues/1"),
        "G#2": ("open", "https://github.com/o/r/issues/2"),
        "G#3": ("open", None),
    }
    assert [it.key for it in report.missing] == ["G#3"]
    assert "not in export G#3" in "\n".join(report.lines())


def test_keys_are_one_word_and_read_back() -> None:
    from pmkit.portfolio.trackers import key_in

    assert item_key("INC 7/x", "a#b") == "INC%207%2Fx#a%23b"
    assert key_in("text\n\npmkit-action: INC%207%2Fx#a%23b\n") == "INC%207%2Fx#a%23b"
    assert key_in("pmkit-action: `INC-1\\#2`") == "INC-1#2"  # a Markdown escape, code quotes
    assert key_in("pmkit-action: A#1\nquoted later: pmkit-action: B#2") == "B#2"  # the last line wins
    assert key_in("no key here") is None


# --- the YAML edits -------------------------------------------------------------------------------------------------

LAYOUTS = """\
# the spec  (a comment that must stay)
id: Y-1
action_items:   # the list
- {action: flow one, owner: '@a', status: open}   # flow, trailing comment
- action: block without status
  owner: "@b"     # owner comment
- action: block with status
  status: "open"  # quoted, commented
  due: 2025-01-02
- action: >-
    folded text
    over lines
- action: flow two
  status:
title: after the list
"""


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_text_edits_keep_everything_else(tmp_path: Path, newline: str) -> None:
    path = tmp_path / "incident.yaml"
    path.write_bytes(LAYOUTS.replace("\n", newline).encode())
    updates = {i: {"status": s, "tracker": f"https://t.example/{i}?a=b&c#x"} for i, s in enumerate(
        ["done", "won't do", "in progress", "done", "closed"])}  # fmt: skip
    assert apply_updates(path, "folder", updates)
    text = path.read_bytes().decode()
    data = yaml.safe_load(text)
    assert [a["status"] for a in data["action_items"]] == ["done", "won't do", "in progress", "done", "closed"]
    assert data["action_items"][3]["action"] == "folded text over lines"
    assert data["title"] == "after the list" and data["action_items"][2]["due"] == dt.date(2025, 1, 2)
    assert list(data["action_items"][1]) == ["action", "owner", "status", "tracker"]  # added in that order
    for kept in ("# the spec  (a comment that must stay)", "# flow, trailing comment", "# owner comment",
                 "# quoted, commented", "action_items:   # the list"):  # fmt: skip
        assert kept in text
    if newline == "\r\n":
        assert text.count("\r\n") == text.count("\n")
    assert not apply_updates(path, "folder", updates)  # already so: nothing to change


@pytest.mark.parametrize(
    "text",
    [
        "id: Z\nnarrative: {summary: &st open}\naction_items:\n- {action: a, status: *st}\n",  # value is an alias
        "id: Z\naction_items:\n- &it {action: a, status: open}\n- *it\n",  # the item is reused
    ],
)
def test_edit_refuses_what_would_change_more_than_the_item(tmp_path: Path, text: str) -> None:
    path = tmp_path / "incident.yaml"
    path.write_text(text, encoding="utf-8")
    assert len(read_items([tmp_path])[0]) in (1, 2)  # a valid spec
    with pytest.raises(PmkitError, match="would change more than the statuses"):
        apply_updates(path, "folder", {0: {"status": "done"}})
    assert path.read_text() == text
    assert [p.name for p in tmp_path.iterdir()] == ["incident.yaml"]  # no temporary file left


# --- bad input ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "tracker", "message"),
    [
        (
            "a.json",
            '[{"state": "open", "title": "x"},\n {"state": }]',
            None,
            "a.json: line 2 column 12: not valid JSON",
        ),
        ("b.json", '{"state": "open"}', None, "b.json: found a JSON dict; expected a list of issues"),
        (
            "c.json",
            '[{"title": "x", "body": ""}, {"title": "y", "state": "merged"}]',
            None,
            "c.json[0].state: found None",
        ),
        ("d.csv", "Name,Done\nx,yes\n", None, "d.csv: line 1: unknown columns (Name, Done)"),
        ("e.csv", "Summary,Description\nx,y\n", None, "e.csv: line 1: no column Status in a Jira export"),
        ("f.csv", "Title,Status\nx,Done\ny,Done,extra\n", None, "f.csv: line 3: 3 fields; the header has 2"),
        ("g.csv", 'Summary,Status\n"x,Done\n', None, "g.csv: line 2: malformed CSV"),
        ("h.csv", "", "jira", "h.csv: empty; expected a CSV with a header row"),
        ("i.csv", "Title,Status\nx,\n", None, "i.csv: line 2: Status is empty"),
        ("j.csv", "Summary,Status\nx,Done\n", "linear", "j.csv: line 1: no column Title in a Linear export"),
    ],
)
def test_bad_exports_name_file_and_place(
    tmp_path: Path, name: str, content: str, tracker: str | None, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TrackerError) as exc:
        read_export(path, tracker)
    assert message in str(exc.value).replace(str(tmp_path) + os.sep, "")


def test_bad_export_via_cli_is_one_clear_error(
    incidents: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "x.csv"
    bad.write_bytes(b"Title,Status\n\xff\xfe,Done\n")
    assert main(["actions", "sync", str(incidents), "--from", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("pmkit: error: ") and "not UTF-8" in err and "Traceback" not in err
    assert main(["actions", "sync", str(incidents), "--from", str(tmp_path / "missing.json")]) == 1
    assert "cannot be read" in capsys.readouterr().err


def test_sync_dry_run_writes_nothing(incidents: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = _texts(incidents)
    src = tmp_path / "l.csv"
    src.write_text("Title,Status,ID\nAdd p90 latency to the canary analysis,Done,SRCH-1\n", encoding="utf-8")
    assert main(["actions", "sync", str(incidents), "--from", str(src), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "matched     INC-2025-0311-search#1: status open -> done, tracker (none) -> SRCH-1" in out
    assert "[" in out and "by title]" in out and "dry run: nothing written" in out
    assert "18 items not in the export (0 of them done, not listed)" in out
    assert out.count("not in export ") == 18
    assert _texts(incidents) == before


def test_spec_accepts_id_and_tracker_and_checks_id(tmp_path: Path) -> None:
    from pmkit.spec import load_spec

    p = tmp_path / "incident.yaml"
    p.write_text("id: S\naction_items:\n- {action: a, id: 7, tracker: OPS-1}\n", encoding="utf-8")
    item = load_spec(p).action_items[0]
    assert (item.id, item.tracker) == ("7", "OPS-1")
    p.write_text("id: S\naction_items:\n- {action: a, id: 'two words'}\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"action_items\[0\]\.id"):
        load_spec(p)


# --- properties -------------------------------------------------------------------------------------------------

_VALUE = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.tuples(_VALUE, _VALUE), min_size=5, max_size=5))
def test_any_status_and_tracker_text_round_trips(tmp_path: Path, values: list[tuple[str, str]]) -> None:
    """Whatever the tracker's words (quotes, colons, #, newlines, unicode, control characters), the edit writes
    YAML that reads back as exactly those words, in every layout, and leaves the rest as it was."""
    path = tmp_path / "incident.yaml"
    path.write_text(LAYOUTS, encoding="utf-8")
    apply_updates(path, "folder", {i: {"status": s, "tracker": t} for i, (s, t) in enumerate(values)})
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert [(a["status"], a["tracker"]) for a in data["action_items"]] == values
    assert data["title"] == "after the list" and "# the spec  (a comment that must stay)" in path.read_text()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    titles=st.lists(
        st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), min_size=1, max_size=30),
        min_size=1,
        max_size=3,
    )
)
def test_gh_script_passes_any_title_as_text(tmp_path: Path, titles: list[str]) -> None:
    """Any title (NUL aside, which no argv can hold) reaches gh as one argument, unchanged."""
    from pmkit.portfolio.trackers import gh_script

    issues = [(f"K#{n}", {"title": t, "body": t + "\n$x", "labels": ["a b", "-l"]}) for n, t in enumerate(titles)]
    script = tmp_path / "s.sh"
    script.write_text(gh_script(issues), encoding="utf-8")
    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    log = tmp_path / "argv.jsonl"
    log.unlink(missing_ok=True)
    (fake / "gh").write_text(
        f"#!{sys.executable}\nimport json, sys\nwith open({str(log)!r}, 'a', encoding='utf-8', errors='surrogateescape') as fh:\n"
        "    fh.write(json.dumps(sys.argv[1:]) + '\\n')\n",
        encoding="utf-8",
    )
    (fake / "gh").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}{os.pathsep}{os.environ.get('PATH', '')}"}
    run = subprocess.run(["sh", str(script), "o/r"], cwd=tmp_path, env=env, capture_output=True)
    assert run.returncode == 0, run.stderr
    calls = [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines()]
    got = [dict(a.split("=", 1) for a in c[2:5]) for c in calls if c[:2] == ["issue", "create"]]
    assert [(g["--title"], g["--body"]) for g in got] == [(t, t + "\n$x") for t in titles]


def test_document_table_shows_the_tracker_safely() -> None:
    """The postmortem's action items table names the issue after the status; the tracker text is the author's
    Markdown made safe (a URL is a link, HTML and script links are text)."""
    from pmkit.report.present import table
    from pmkit.spec import ActionItem

    md = table(
        "action_items",
        items=[
            ActionItem(action="a", status="done", tracker="https://github.com/o/r/issues/12"),
            ActionItem(action="b", tracker="OPS-1 <b>x</b> [y](javascript:alert(1))"),
            ActionItem(action="c"),
        ],
    )
    rows = md.splitlines()[2:]
    assert rows[0].endswith("| done ([https\\://github.com/o/r/issues/12](https://github.com/o/r/issues/12)) |")
    assert "javascript" not in rows[1] and "<b>" not in rows[1] and "OPS-1" in rows[1]
    assert rows[2].endswith("| open |")
