"""Which SLI an incident gets when no SLO names one: a log of failures only is not a request log.

INC-20250120-103000's app log holds only failed requests (50,001 of 50,001 have status >= 500): read as
the SLI it said 100% failed in every minute (the scan of the sample, which writes no SLO, found it).
Without an SLO the SLI must come from the request-count metrics, with the same impact as the sample's
own SLO gives, and the reason must say why the log was passed over.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import yaml

from pmkit.incident import Incident
from pmkit.pipeline import analyze

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "samples" / "INC-20250120-103000"


def test_a_failures_only_log_is_passed_over_for_request_counts(tmp_path: Path) -> None:
    folder = tmp_path / SAMPLE.name
    shutil.copytree(SAMPLE, folder)
    spec = yaml.safe_load((folder / "incident.yaml").read_text())
    spec["slos"] = []
    (folder / "incident.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    truth = yaml.safe_load((SAMPLE / "expected.yaml").read_text())

    a = analyze(Incident.load(folder))
    assert a.sli.source == "requests" and a.sli.requests is None
    assert "log 'app' was not used: none of its 50,001 requests succeeded" in a.sli.why
    want = dt.datetime.fromisoformat(str(truth["milestones"]["impact_start"]).replace("Z", "+00:00"))
    assert a.milestones.impact_start == want
    with_slo = analyze(Incident.load(SAMPLE))
    assert (a.impact.failed_requests, a.impact.total_requests) == (
        with_slo.impact.failed_requests,
        with_slo.impact.total_requests,
    )


def test_an_slo_naming_the_log_keeps_it(tmp_path: Path) -> None:
    """The author's choice stands: an SLO whose source is the failures-only log reads it."""
    folder = tmp_path / SAMPLE.name
    shutil.copytree(SAMPLE, folder)
    spec = yaml.safe_load((folder / "incident.yaml").read_text())
    for slo in spec["slos"]:
        slo["source"] = "app"
        slo.pop("metric", None)
    (folder / "incident.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    a = analyze(Incident.load(folder))
    assert a.sli.source == "app" and a.sli.requests is not None
