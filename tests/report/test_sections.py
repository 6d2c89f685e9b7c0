"""The sections real postmortems have (issue 11, item 8): byline, Leadup, Detection, Response, Recovery, the chat
appendix and local times, on both samples (against their evidence and expected.yaml) and on a folder whose
evidence lacks alerts, pages, chat and deploys (every absent fact reads "not found in the evidence")."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import yaml

import pmkit
from pmkit.analysis import response as resp
from pmkit.errors import SpecError
from pmkit.pipeline import analyze
from pmkit.report import document
from pmkit.report.sections import NOT_FOUND, clean_line, clock
from pmkit.spec import parse_spec
from pmkit.timeutil import fmt_duration

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
UTC = dt.UTC


@pytest.fixture(scope="module")
def payments():
    a = analyze(pmkit.Incident.load(SAMPLES / "INC-2025-0142"))
    return a, document.build(a)


@pytest.fixture(scope="module")
def migration():
    a = analyze(pmkit.Incident.load(SAMPLES / "INC-20250120-103000"))
    return a, document.build(a)


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory):
    """Only the request log of INC-2025-0142: an SLI and an impact, but no alert, page, chat or deploy."""
    root = tmp_path_factory.mktemp("bare")
    (root / "logs").mkdir()
    shutil.copy(SAMPLES / "INC-2025-0142" / "logs" / "access.log.gz", root / "logs" / "access.log.gz")
    spec = {
        "id": "INC-BARE-1",
        "title": "Only a request log",
        "services": ["payments-api"],
        "sources": [{"name": "nginx", "kind": "logs", "format": "combined", "path": "logs/access.log.gz"}],
    }
    (root / "incident.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    a = analyze(pmkit.Incident.load(root))
    return a, document.build(a)


def _expected(name: str) -> dict:
    return yaml.safe_load((SAMPLES / name / "expected.yaml").read_text(encoding="utf-8"))


def test_sections_are_in_the_document_in_order(payments) -> None:
    _, doc = payments
    keys = [s.key for s in doc.sections]
    assert keys.index("leadup") < keys.index("impact") < keys.index("detection") < keys.index("response")
    assert keys.index("response") < keys.index("recovery") < keys.index("timeline") and keys[-1] == "chat"
    md = doc.to_markdown()
    for heading in ("## Leadup", "## Detection", "## Response", "## Recovery", "## Appendix: incident chat"):
        assert md.count(heading + "\n") == 1


def test_byline_payments(payments) -> None:
    _, doc = payments
    line = doc["byline"].markdown
    assert "**Authors:** @mei-chen, @jane-doe" in line and "**Date:** 2025-06-16" in line
    assert "**Tags:** `payments` `database` `config-change`" in line
    assert "**Incident date:** 2025-06-15 (UTC)" in line and "local time in Europe/Berlin" in line


def test_byline_without_keys_says_so(bare) -> None:
    _, doc = bare
    line = doc["byline"].markdown
    assert "**Authors:** not set (`authors:` in incident.yaml)" in line
    assert "**Date:** not set (`date:` in incident.yaml)" in line and "**Tags:** none" in line


def test_detection_payments_matches_the_ground_truth(payments) -> None:
    _, doc = payments
    exp = _expected("INC-2025-0142")
    md = doc["detection"].markdown
    ms = exp["milestones"]
    detected, start = dt.datetime.fromisoformat(ms["detected"]), dt.datetime.fromisoformat(ms["impact_start"])
    lag = detected - start
    assert (
        f"Detected at {detected:%H:%M:%S} UTC" in md and "by alert PaymentsAvailabilityBudgetBurn (alertmanager)" in md
    )
    # the sentence gives the lag to the second (rounded), and both times in UTC and CEST (UTC+2 in June)
    secs = round(lag.total_seconds())
    assert f"{secs // 60} min {secs % 60} s after the impact start at {start:%H:%M:%S} UTC" in md
    assert f"({(start + dt.timedelta(hours=2)):%H:%M:%S} CEST)" in md
    assert "First page: pagerduty #4821 triggered at 14:23:05 UTC" in md and "assigned to Raj Patel" in md


def test_detection_migration(migration) -> None:
    _, doc = migration
    md = doc["detection"].markdown
    assert "Detected at 10:16:30 UTC by alert APIHighErrorRate (alertmanager), 1 min 18 s after the impact start" in md
    assert "CEST" not in md and "CET" not in md  # no display_timezone: UTC only
    assert "First page: pagerduty #1187 triggered at 10:16:41 UTC" in md


def test_response_payments(payments) -> None:
    a, doc = payments
    md = doc["response"].markdown
    assert "- Acknowledged at 14:25:02 UTC (16:25:02 CEST) by Raj Patel" in md and "2 min 1 s after detection" in md
    assert "- Declared at 14:28:05 UTC (16:28:05 CEST) by jane-doe" in md
    # the escalation in the chat: pulling in the payments engineers
    assert "14:26:05 UTC (16:26:05 CEST), raj-patel (slack): POST /api/v1/payments" in md
    r = resp.response(a.incident.events, a.milestones)
    people = r.responders.get_column("person").to_list()
    # Slack's raj-patel and PagerDuty's Raj Patel are one person; bots (PagerDuty app, deploybot) are left out
    assert people.count("Raj Patel") == 1 and "PagerDuty" not in people and "deploybot" not in people
    assert {"Raj Patel", "Jane Doe", "Mei Chen", "Luis Garcia", "Tom Becker"} <= set(people)
    assert f"({len(people)}; bots left out)" in md


def test_response_migration_folds_chat_and_page_names(migration) -> None:
    a, doc = migration
    r = resp.response(a.incident.events, a.milestones)
    people = r.responders.get_column("person").to_list()
    assert people.count("John Miller") == 1 and people.count("Priya Nair") == 1
    md = doc["response"].markdown
    assert "- Acknowledged at 10:17:22 UTC by John Miller" in md and "51 s after detection" in md
    assert "reassigned by John Miller" in md  # a page reassignment is an escalation


def test_recovery_payments(payments) -> None:
    a, doc = payments
    md = doc["recovery"].markdown
    exp = _expected("INC-2025-0142")
    assert a.rollback is not None
    assert (
        "rollback of payments-api to v2.14.2 (Rollback to v2.14.2), started 14:38:10 UTC (16:38:10 CEST) by raj-patel, "
        "completed 14:42:05 UTC (16:42:05 CEST) after 3 min 55 s; it undid payments-api v2.14.3 (change suspect #1)"
    ) in md
    assert "Decision to roll back: 14:35:50 UTC (16:35:50 CEST), Jane Doe (slack): Decision: roll back to v2.14.2" in md
    mitigated = dt.datetime.fromisoformat(exp["milestones"]["mitigated"])
    assert (
        f"- Mitigated at {mitigated:%H:%M:%S} UTC" in md
        and "Time to mitigate (from the impact start): 40 min 34 s" in md
    )
    assert "Time to resolve (from the impact start): 1 h 28 min" in md


def test_recovery_migration(migration) -> None:
    _, doc = migration
    md = doc["recovery"].markdown
    assert "rollback of api to v2.2.4" in md and "it undid api v2.3.0 (change suspect #1)" in md
    assert "Decision to roll back: 10:27:40 UTC, Priya Nair (slack)" in md


def test_leadup_author_text_and_suspect(payments, migration) -> None:
    for (a, doc), service in ((payments, "payments-api v2.14.3"), (migration, "api v2.3.0")):
        md = doc["leadup"].markdown
        assert md.splitlines()[2].startswith(a.incident.spec.narrative.leadup.split(":")[0])
        assert f"Top change suspect (ranked by `pmkit` from the deploy evidence): {service}" in md
        top = a.suspects.row(0, named=True)
        lead = fmt_duration(top["lead_time"], "human")  # the same words as the suspects table, not a rounding apart
        assert f", {lead} before the impact start" in md and f"deployed {lead} before impact start" in str(
            top["reasons"]
        )


def test_chat_appendix_is_the_incident_channel_in_the_window(payments) -> None:
    a, doc = payments
    md = doc["chat"].markdown
    chat, channels = resp.incident_chat(a.incident.events, a.milestones)
    assert channels == ["inc-2025-0142-payments"]
    lines = [x for x in md.splitlines() if x.startswith("- ")]
    assert len(lines) == chat.height and f"{chat.height} message(s)" in md
    assert all(a.milestones.impact_start <= t <= a.milestones.resolved + resp.CHAT_AFTER for t in chat["ts"])
    assert not any("has joined the channel" in x for x in lines)
    # one clean line each: no raw Markdown, no ⏎, identifiers keep their underscores
    assert not any("⏎" in x or "\\*\\*" in x for x in lines)
    assert any("DB\\_MAX\\_CONNS" in x or "DB_MAX_CONNS" in x for x in lines)
    assert "- 14:35:50 UTC (16:35:50 CEST) **jane-doe**: Decision: roll back to v2.14.2 now" in md


def test_bare_folder_says_not_found(bare) -> None:
    a, doc = bare
    assert a.milestones.impact_start is not None  # the request log gives the SLI
    det = doc["detection"].markdown
    assert f"- Detection: {NOT_FOUND}" in det and f"- First page: {NOT_FOUND}." in det
    res = doc["response"].markdown
    assert f"- Acknowledged: {NOT_FOUND}." in res and f"- Declared: {NOT_FOUND}." in res
    assert "Escalations from " in res and f": {NOT_FOUND}." in res
    rec = doc["recovery"].markdown
    assert f"- Mitigating change (a rollback or revert in the deploy evidence): {NOT_FOUND}." in rec
    assert f"- Resolved: {NOT_FOUND}." in rec
    assert f"Change before the impact start: {NOT_FOUND}." in doc["leadup"].markdown
    assert "> **TODO** describe the circumstances" in doc["leadup"].markdown
    assert doc["chat"].markdown.endswith(f": {NOT_FOUND}.")
    assert "every chat channel (no incident channel found)" in doc["chat"].markdown


def test_clean_line() -> None:
    assert clean_line("**[SEV1] Update #2** ⏎  ⏎ **Current status:** _Identified_") == (
        "[SEV1] Update #2; Current status: Identified"
    )
    assert clean_line("see <https://x.example/a|the dashboard> cc <@U123|raj> <!here>") == (
        "see the dashboard cc @raj @here"
    )
    assert clean_line("DB_MAX_CONNS=5 and `pool_size` :tada: ~gone~") == "DB_MAX_CONNS=5 and pool_size gone"
    long = clean_line("word " * 100, 40)
    assert len(long) <= 40 and long.endswith("word…")


def test_clock() -> None:
    t = dt.datetime(2025, 6, 15, 14, 19, 23, tzinfo=UTC)
    assert clock(t) == "14:19 UTC"
    assert clock(t, "Europe/Berlin") == "14:19 UTC (16:19 CEST)"
    assert clock(t, "Europe/Berlin", style="hms") == "14:19:23 UTC (16:19:23 CEST)"
    assert clock(t, "Europe/Berlin", style="minute") == "2025-06-15 14:19 UTC (16:19 CEST)"
    assert clock(dt.datetime(2025, 1, 20, 23, 30, tzinfo=UTC), "Europe/Berlin") == "23:30 UTC (00:30 CET, 2025-01-21)"
    assert clock(None) == "unknown" and clock(t, "UTC") == "14:19 UTC"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (
            {"display_timezone": "Mars/Base"},
            "display_timezone: found 'Mars/Base'; 'Mars/Base' is not an IANA time zone",
        ),
        ({"authors": ["ok", ""]}, "authors: item 1 is ''; expected a list of non-empty names"),
        ({"date": "june"}, "date: found 'june'; expected a day written as 2025-06-15"),
        ({"date": "2025-06-16", "published": "2025-06-15"}, "published 2025-06-15 is before date 2025-06-16"),
        ({"tag": ["x"]}, "tag: unknown key; did you mean 'tags'?"),
        ({"narrative": {"lead_up": "x"}}, "narrative.lead_up: unknown key; did you mean 'leadup'?"),
    ],
)
def test_new_keys_teach_on_errors(data: dict, problem: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_spec({"id": "X", **data})
    assert problem in str(err.value)


def test_new_keys_parse() -> None:
    spec = parse_spec(
        {"id": "X", "authors": "alice", "tags": ["db"], "published": "2025-06-17", "display_timezone": "UTC"}
    )
    assert spec.authors == ["alice"] and spec.tags == ["db"] and spec.published == dt.date(2025, 6, 17)
