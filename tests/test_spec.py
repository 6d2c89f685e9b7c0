"""incident.yaml validation: good files load, bad files fail with exact messages."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest
import yaml

from pmkit.errors import SpecError
from pmkit.incident import load_spec
from pmkit.scaffold import new_incident
from pmkit.spec import parse_duration, parse_spec


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "incident.yaml"
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_spec(write(tmp_path, text))
    return info.value.problems


GOOD = """
id: INC-1
title: Payment failures
services: [payments-api]
severity: SEV1
window: {start: 2025-06-15T13:30:00Z, end: 2025-06-15T16:30:00+00:00}
roles: {incident_commander: "@jane-doe"}
sources:
  - kind: logs
    format: combined
    path: logs/access.log
    timezone: Europe/Berlin
  - {kind: logs, format: combined, path: logs/other.log, name: edge}
slos:
  - {name: availability, objective: 99.9, period: 30d, source: access, good: "status < 500"}
milestones: {resolved: 2025-06-15T15:47:00Z}
action_items:
  - {action: Add a canary, owner: "@sre", due: 2025-06-20, priority: P1}
"""


def test_good_file_loads(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, GOOD))
    assert spec.id == "INC-1"
    assert [s.label for s in spec.sources] == ["access", "edge"]
    assert spec.milestones.resolved == dt.datetime(2025, 6, 15, 15, 47, tzinfo=dt.UTC)
    assert spec.window is not None and spec.window.end.tzinfo is not None
    assert spec.action_items[0].due == dt.date(2025, 6, 20)
    assert spec.slos[0].objective == 99.9


def test_folder_path_finds_incident_yaml(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    assert load_spec(tmp_path).id == "INC-1"


def test_unknown_key_suggests_the_closest(tmp_path: Path) -> None:
    assert problems(tmp_path, "id: X\nmilestones: {mitigate: 2025-06-15T14:00:00Z}\n") == [
        "milestones.mitigate: unknown key; did you mean 'mitigated'?"
    ]
    assert problems(tmp_path, "id: X\nsources:\n  - {kind: logs, path: a.log, fromat: combined}\n") == [
        "sources[0].fromat: unknown key; did you mean 'format'?"
    ]
    assert problems(tmp_path, "id: X\ntitel: y\n") == ["titel: unknown key; did you mean 'title'?"]


def test_unknown_format_names_the_choices(tmp_path: Path) -> None:
    msgs = problems(
        tmp_path, "id: X\nsources:\n  - {kind: logs, path: a.log}\n  - {kind: logs, path: b.log, format: combind}\n"
    )
    assert len(msgs) == 1
    assert msgs[0].startswith("sources[1].format: found 'combind', expected one of ")
    assert msgs[0].endswith("for kind 'logs'; did you mean 'combined'?")


def test_wrong_kind_and_missing_keys(tmp_path: Path) -> None:
    assert problems(tmp_path, "id: X\nsources:\n  - {kind: log, path: a.log}\n") == [
        "sources[0].kind: found 'log', expected 'logs', 'metrics', 'deploys', 'chat' or 'alerts'"
    ]
    assert problems(tmp_path, "title: no id\n") == ["id: required key is missing"]
    assert problems(tmp_path, "id: X\nsources:\n  - {kind: logs}\n") == ["sources[0].path: required key is missing"]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    msgs = problems(tmp_path, "id: X\nseverty: SEV1\nslos:\n  - {name: a, objective: 120}\n")
    assert sorted(msgs) == [
        "severty: unknown key; did you mean 'severity'?",
        "slos[0].objective: found 120; input should be less than 100",
    ]


def test_naive_times_and_bad_zones_are_errors(tmp_path: Path) -> None:
    (msg,) = problems(tmp_path, "id: X\nmilestones: {detected: 2025-06-15 14:23:00}\n")
    assert msg.startswith("milestones.detected: found ")
    assert "has no UTC offset; write it as 2025-06-15T14:23:00Z" in msg
    (msg,) = problems(tmp_path, "id: X\nsources:\n  - {kind: logs, path: a, timezone: Mars/Olympus}\n")
    assert msg == (
        "sources[0].timezone: found 'Mars/Olympus'; 'Mars/Olympus' is not an IANA time zone; "
        "expected a name such as UTC or Europe/Berlin"
    )


def test_window_order_and_durations(tmp_path: Path) -> None:
    (msg,) = problems(tmp_path, "id: X\nwindow: {start: 2025-06-15T15:00:00Z, end: 2025-06-15T14:00:00Z}\n")
    assert msg == "window: end 2025-06-15T14:00:00+00:00 is not after start 2025-06-15T15:00:00+00:00"
    (msg,) = problems(tmp_path, "id: X\nslos:\n  - {name: a, objective: 99.9, period: monthly}\n")
    assert (
        msg
        == "slos[0].period: found 'monthly'; 'monthly' is not a duration; expected a number and a unit: 5m, 6h, 30d, 4w"
    )
    assert parse_duration("30d") == dt.timedelta(days=30)
    assert parse_duration("5m") == dt.timedelta(minutes=5)


def test_duplicate_source_names(tmp_path: Path) -> None:
    (msg,) = problems(
        tmp_path, "id: X\nsources:\n  - {kind: logs, path: a/app.log}\n  - {kind: logs, path: b/app.log}\n"
    )
    assert msg.startswith("(top level): ")
    assert "sources[1] is named 'app' like sources[0]; give one of them a distinct name" in msg


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    (msg,) = problems(tmp_path, "id: X\nsources: [\n  {kind: logs\n")
    assert msg.startswith("not valid YAML at line ")


def test_missing_file_and_non_mapping(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"file not found; an incident folder holds an incident\.yaml"):
        load_spec(tmp_path / "nowhere")
    with pytest.raises(SpecError, match="found list, expected a mapping"):
        parse_spec(["a"], "x.yaml")


def test_error_text_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "id: X\ntitel: y\n")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert str(info.value) == f"{path}: 1 problem:\n  - titel: unknown key; did you mean 'title'?"
    assert isinstance(info.value, ValueError)


def test_scaffold_validates(tmp_path: Path) -> None:
    root = new_incident("INC-2099-0001", tmp_path)
    spec = load_spec(root)
    assert spec.id == "INC-2099-0001"
    assert spec.sources == []
    # the commented source examples in the scaffold are themselves valid
    text = (root / "incident.yaml").read_text()
    block = text.split("sources: []\n")[1].split("\nslos: []")[0]
    examples = yaml.safe_load("\n".join(line[1:] for line in block.splitlines()))
    assert len(examples) == 6
    assert parse_spec({"id": "X", "sources": examples}).sources[0].format == "combined"


def test_slo_slices_are_one_minute(tmp_path: Path) -> None:
    """The SLI is counted per minute: another slice length would be silently ignored, so it is an error."""
    (msg,) = problems(tmp_path, "id: X\nslos:\n  - {name: a, objective: 99.9, type: time-slice, slice: 5m}\n")
    assert (
        msg
        == "slos[0].slice: found '5m'; slices are one minute (the SLI is counted per minute): set 1m or leave it out"
    )


def test_latency_slo_key(tmp_path: Path) -> None:
    text = "id: X\nslos:\n  - {name: fast, objective: 99, latency: {threshold: %s}}\n"
    lat = load_spec(write(tmp_path, text % "300ms, percentile: 99")).slos[0].latency
    assert lat is not None and lat.seconds == pytest.approx(0.3) and lat.percentile == 99
    lat = load_spec(write(tmp_path, text % "1.5s")).slos[0].latency
    assert lat is not None and lat.seconds == 1.5
    (msg,) = problems(tmp_path, text % "300")
    assert msg == "slos[0].latency.threshold: found 300; a latency threshold needs its unit: write 300ms or 300s"
    (msg,) = problems(tmp_path, text % "3 minutes")
    assert msg == (
        "slos[0].latency.threshold: found '3 minutes'; expected a positive duration in ms or s, e.g. 300ms or 0.3s"
    )
    (msg,) = problems(tmp_path, text % "300ms, pct: 99")
    assert msg == "slos[0].latency.pct: unknown key; expected one of percentile, threshold"
    (msg,) = problems(tmp_path, "id: X\nslos:\n  - {name: f, objective: 99, latency: {percentile: 99}}\n")
    assert msg == "slos[0].latency.threshold: required key is missing"


def test_timeline_curation_keys(tmp_path: Path) -> None:
    spec = load_spec(
        write(
            tmp_path,
            "id: X\ntimeline:\n  star: [chat/inc.json#12, '14:35:50 slack']\n  hide: [logs/app.log:7]\n"
            "  annotate:\n    - {id: 'alerts/am/1.json#alerts[0]', note: the first sign}\n  margin: 30m\n",
        )
    )
    assert spec.timeline.star == ["chat/inc.json#12", "14:35:50 slack"]
    assert spec.timeline.hide == ["logs/app.log:7"]
    assert spec.timeline.annotate[0].note == "the first sign"
    assert spec.timeline.margin_td == dt.timedelta(minutes=30)
    assert load_spec(write(tmp_path, "id: X\n")).timeline.margin_td == dt.timedelta(minutes=15)


def test_timeline_curation_errors_name_the_key(tmp_path: Path) -> None:
    assert problems(tmp_path, "id: X\ntimeline: {margin: soon}\n")[0].startswith("timeline.margin: found 'soon'")
    assert problems(tmp_path, "id: X\ntimeline: {stars: [a]}\n") == [
        "timeline.stars: unknown key; did you mean 'star'?"
    ]
    assert problems(tmp_path, "id: X\ntimeline: {annotate: [{id: a}]}\n") == [
        "timeline.annotate[0].note: required key is missing"
    ]
    (both,) = problems(tmp_path, "id: X\ntimeline: {star: [a], hide: [a]}\n")
    assert both.startswith("timeline: ") and "'a' is both starred and hidden" in both
    (empty,) = problems(tmp_path, "id: X\ntimeline: {hide: ['  ']}\n")
    assert empty.startswith("timeline.hide: ") and "pmkit timeline --ids" in empty
