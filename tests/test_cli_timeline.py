"""`pmkit timeline` and the author's `timeline:` curation, honoured by the CLI, `pmkit check` and the document.

A copy of the INC-2025-0142 sample gets a `timeline:` block naming events by the ids `pmkit timeline --ids` prints:
a chat message starred, a PagerDuty note hidden, an alert annotated, and one id that names nothing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from pmkit.cli import main
from pmkit.incident import Incident
from pmkit.pipeline import analyze
from pmkit.report import document

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "samples" / "INC-2025-0142"
CORRELATED = "Correlated: v2.14.3 went out at 14:18"
HIDDEN = "annotated by Raj Patel"
ANNOTATED = "[RESOLVED] PaymentsAvailabilityBudgetBurn"


def _id(frame: pl.DataFrame, text: str) -> str:
    hit = frame.filter(pl.col("message").str.contains(text, literal=True))
    assert hit.height == 1, text
    return str(hit["id"][0])


@pytest.fixture(scope="module")
def curated_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-timeline") / "INC-2025-0142"
    shutil.copytree(SAMPLE, root)
    frame = analyze(Incident.load(root)).curated.frame
    star, hide, note = _id(frame, CORRELATED), _id(frame, HIDDEN), _id(frame, ANNOTATED)
    with (root / "incident.yaml").open("a", encoding="utf-8") as f:
        f.write(
            f"timeline:\n  star: ['{star}', 'logs/nowhere.log:1']\n  hide: ['{hide}']\n"
            f"  annotate:\n    - {{id: '{note}', note: 'the burn alert cleared 4 min after mitigation'}}\n"
        )
    return root


def test_timeline_prints_the_curated_window_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["timeline", str(SAMPLE)]) == 0
    out = capsys.readouterr().out
    head, *rows = out.splitlines()
    assert head.startswith("INC-2025-0142: ") and "curated events (UTC); window 14:04:23" in head
    events = [r for r in rows if r.startswith("2025-")]
    assert events and all(r.startswith("2025-06-15 1") for r in events)  # no row from the days before
    assert not any("to staging" in r for r in events)
    assert sum("KubePodCrashLooping" in r for r in events) == 2  # firing x4 and resolved x4
    assert any("Decision: roll back to v2.14.2 now" in r for r in events)
    assert not any("⏎" in r or "**" in r for r in events)


def test_timeline_all_prints_every_event(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["timeline", str(SAMPLE), "--all"]) == 0
    out = capsys.readouterr().out
    assert "2025-06-11 15:10:00  deploys" in out and "to staging" in out
    assert int(out.split(":", 2)[1].split()[0].replace(",", "")) > 30_000


def test_timeline_ids_say_why_each_key_event_is_kept_or_left_out(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["timeline", str(SAMPLE), "--ids"]) == 0
    out = capsys.readouterr().out
    assert "\ndeploys/acme-payments-api.json#[" in out
    assert "left out: a deploy to staging, not production" in out
    assert "left out: a repeat of KubePodCrashLooping (firing) 14:39:12, collapsed into it" in out
    assert "left out: a duplicate of the slack chat at 14:30:10" in out
    assert "kept: a decision" in out


def test_author_curation_is_honoured_everywhere(curated_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["timeline", str(curated_copy)]) == 0
    captured = capsys.readouterr()
    rows = captured.out.splitlines()
    starred = next(r for r in rows if CORRELATED in r)
    assert starred[19] == "*"  # the star mark after the time
    assert not any(HIDDEN in r for r in rows)
    assert any(ANNOTATED in r and "-- note: the burn alert cleared 4 min after mitigation" in r for r in rows)
    assert "warning: timeline.star[1]: 'logs/nowhere.log:1' is no event's id" in captured.err

    assert main(["check", str(curated_copy)]) == 1
    out = capsys.readouterr().out
    assert "FAIL timeline_ids: timeline.star[1]: 'logs/nowhere.log:1' is no event's id" in out

    md = document.build(analyze(Incident.load(curated_copy)))["timeline"].markdown
    assert "| ★ chat | Correlated: v2.14.3 went out at 14:18" in md
    assert HIDDEN not in md
    assert "_the burn alert cleared 4 min after mitigation_" in md
    assert "> **TODO** timeline.star\\[1\\]: 'logs/nowhere.log:1' is no event's id" in md
