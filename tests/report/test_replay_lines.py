"""The document's burn-rate replay sentences: what the replay can say, and only that (docs/analyses.md)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from pmkit.analysis import slo
from pmkit.report.document import replay_lines

UTC = dt.UTC


def at(hm: str) -> dt.datetime:
    h, m = map(int, hm.split(":"))
    return dt.datetime(2025, 6, 15, h, m, tzinfo=UTC)


def minutes(start: dt.datetime, errors: list[float]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "ts": [start + dt.timedelta(minutes=i) for i in range(len(errors))],
            "total": [1000.0] * len(errors),
            "bad": [1000.0 * e for e in errors],
        },
        schema={"ts": pl.Datetime("us", "UTC"), "total": pl.Float64, "bad": pl.Float64},
    )


def test_an_incident_written_from_scratch_without_a_page() -> None:
    """Background errors above a 99.9% SLO from the first minute, impact at 14:35, no page in the evidence."""
    m = minutes(at("13:00"), [0.02] * 95 + [0.6] * 25)
    res = slo.evaluate(m, name="availability", objective=99.9, impact_start=at("14:35"))
    lines = replay_lines(res)
    text = "\n".join(lines)
    assert "no page or alert was found in the evidence" in lines[0]
    assert "the first page came" not in text  # never a time for a page that is not there
    assert (
        "  - 2% in 1h (14.4x over 1 h and 5 min): would have fired by 13:59 UTC at the latest (the first minute its "
        "1 h window is covered), 36 min before the impact start: the background error rate already burns budget "
        "faster than 14.4x. At 13:00 both its windows burned faster than 14.4x on the evidence there was, but its "
        "window needs 1 h of evidence, from 12:01 on, and the evidence starts at 13:00 (59 min missing)."
    ) in lines
    assert (
        "  - 5% in 6h (6x over 6 h and 30 min): not enough history: 2 h of evidence of the 6 h its window needs."
        in lines
    )


def test_an_alert_but_no_page_is_compared_with_the_alert() -> None:
    m = minutes(at("13:00"), [0.0] * 80 + [0.9] * 20)
    res = slo.evaluate(m, name="a", objective=99.9, impact_start=at("14:20"), first_alert=at("14:24"))
    lines = replay_lines(res)
    assert lines[0].endswith("no page was found in the evidence; the first alert fired at 14:24 UTC")
    assert lines[1] == (
        "  - 2% in 1h (14.4x over 1 h and 5 min): would have fired at 14:20 UTC, in the minute of the impact start "
        "and 4 min before the first alert."
    )


def test_a_page_before_the_replay() -> None:
    m = minutes(at("13:00"), [0.0] * 80 + [0.9] * 20)
    res = slo.evaluate(m, name="a", objective=99.9, impact_start=at("14:20"), first_page=at("14:20"))
    assert replay_lines(res)[0].endswith("the first page came at 14:20 UTC")
    assert "in the minute of the impact start and in the minute of the first page." in replay_lines(res)[1]


def test_no_firing_on_a_covered_window() -> None:
    m = minutes(at("13:00"), [0.0] * 120)
    lines = replay_lines(slo.evaluate(m, name="a", objective=99.9))
    assert lines[1] == (
        "  - 2% in 1h (14.4x over 1 h and 5 min): would not have fired: its windows never both burned faster than "
        "14.4x once its 1 h window was covered (from 13:59 UTC)."
    )
    assert lines[3].endswith("not enough history: 2 h of evidence of the 3 days its window needs.")
