"""The explorer: pure filters checked against a plain-Python reference, then the widget tree built headless."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from pathlib import Path

import ipywidgets as widgets
import plotly.graph_objects as go
import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sourcetest import scaled

import pmkit
from pmkit import schema
from pmkit.pipeline import analyze
from pmkit.report.explore import NULL_LABEL, Explorer
from pmkit.report.explore_filters import filter_events, slider_bounds, thin_for_plot
from pmkit.report.explore_html import events_table_html, evidence_html, swimlane_traces

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
T0 = dt.datetime(2025, 6, 15, 14, 0, tzinfo=dt.UTC)


def make_events(rows: list[dict]) -> pl.DataFrame:
    """An events frame from partial rows (ts as minutes after T0 or a datetime)."""
    full = []
    for i, r in enumerate(rows):
        ts = r.get("ts", i)
        full.append(
            {
                "ts": T0 + dt.timedelta(minutes=ts) if isinstance(ts, int | float) else ts,
                "source": r.get("source", "app"),
                "kind": r.get("kind", "log"),
                "service": r.get("service"),
                "level": r.get("level"),
                "actor": r.get("actor"),
                "message": r.get("message", f"event {i}"),
                "attrs": r.get("attrs"),
                "origin": r.get("origin", f"app.log:{i + 1}"),
            }
        )
    return schema.validate(pl.DataFrame(full, schema=schema.EVENTS_SCHEMA), "events")


@pytest.fixture
def small() -> pl.DataFrame:
    return make_events(
        [
            {"ts": 0, "source": "nginx", "service": "api", "level": "info", "message": "GET /pay 200"},
            {"ts": 1, "source": "nginx", "service": "api", "level": "error", "message": "GET /pay 502 Bad Gateway"},
            {"ts": 2, "source": "app", "service": "api", "level": "error", "message": "DB Timeout after 5s"},
            {"ts": 3, "source": "app", "service": None, "level": None, "message": "started", "attrs": '{"pod": "p-1"}'},
            {"ts": 4, "source": "slack", "kind": "chat", "message": "Rolling back (v1.2) now", "attrs": None},
            {"ts": 5, "source": "pagerduty", "kind": "page", "level": "critical", "message": "triggered: a.c"},
            {
                "ts": 6,
                "source": "app",
                "service": "worker",
                "level": "warning",
                "message": "retry",
                "attrs": '{"err": "TIMEOUT"}',
            },
        ]
    )


# --- filter_events: each rule alone


def test_no_filter_keeps_every_row_in_order(small: pl.DataFrame) -> None:
    out = filter_events(small)
    assert out.equals(small)


def test_start_inclusive_end_exclusive(small: pl.DataFrame) -> None:
    out = filter_events(small, start=T0 + dt.timedelta(minutes=1), end=T0 + dt.timedelta(minutes=3))
    assert out.get_column("message").to_list() == ["GET /pay 502 Bad Gateway", "DB Timeout after 5s"]


def test_naive_times_are_utc_and_other_zones_are_converted(small: pl.DataFrame) -> None:
    naive = filter_events(small, start=dt.datetime(2025, 6, 15, 14, 5))
    paris = filter_events(small, start=dt.datetime(2025, 6, 15, 16, 5, tzinfo=dt.timezone(dt.timedelta(hours=2))))
    assert naive.height == paris.height == 2


def test_sources_services_levels(small: pl.DataFrame) -> None:
    assert filter_events(small, sources=["nginx"]).height == 2
    assert filter_events(small, sources=["nginx", "slack"]).height == 3
    assert filter_events(small, services=["worker"]).get_column("message").to_list() == ["retry"]
    assert filter_events(small, levels=["error", "critical"]).height == 3


def test_none_in_a_selection_matches_nulls(small: pl.DataFrame) -> None:
    only_null = filter_events(small, services=[None])
    assert only_null.get_column("service").null_count() == only_null.height == 3
    both = filter_events(small, levels=[None, "warning"])
    assert both.get_column("message").to_list() == ["started", "Rolling back (v1.2) now", "retry"]


def test_empty_selection_keeps_nothing_but_none_keeps_all(small: pl.DataFrame) -> None:
    assert filter_events(small, sources=[]).height == 0
    assert filter_events(small, levels=[]).height == 0
    assert filter_events(small, sources=None, levels=None).height == small.height


def test_text_is_case_insensitive_over_message_and_attrs(small: pl.DataFrame) -> None:
    out = filter_events(small, text="timeout")
    assert out.get_column("message").to_list() == ["DB Timeout after 5s", "retry"]  # the second by its attrs
    assert filter_events(small, text="P-1").get_column("message").to_list() == ["started"]


def test_text_is_literal_not_a_regex(small: pl.DataFrame) -> None:
    assert filter_events(small, text="a.c").get_column("message").to_list() == ["triggered: a.c"]
    assert filter_events(small, text="p.y").height == 0  # a regex would match "pay"
    assert filter_events(small, text=".").get_column("message").to_list() == [
        "Rolling back (v1.2) now",
        "triggered: a.c",
    ]
    assert filter_events(small, text="(v1.2)").height == 1
    assert filter_events(small, text="[").height == 0
    assert filter_events(small, text="").height == small.height


def test_filters_combine_as_and(small: pl.DataFrame) -> None:
    out = filter_events(
        small, sources=["app"], levels=["error", "warning"], text="timeout", end=T0 + dt.timedelta(minutes=6)
    )
    assert out.get_column("message").to_list() == ["DB Timeout after 5s"]


# --- filter_events against a plain-Python reference on random frames

_row = st.fixed_dictionaries(
    {
        "ts": st.integers(0, 30),
        "source": st.sampled_from(["app", "nginx", "slack"]),
        "service": st.sampled_from([None, "api", "web"]),
        "level": st.sampled_from([None, "info", "error"]),
        "message": st.text(alphabet="abcAB.( é", max_size=8),
        "attrs": st.one_of(st.none(), st.text(alphabet="abAB.", max_size=6).map(lambda s: json.dumps({"k": s}))),
    }
)


_ROW_AB = {"ts": 0, "source": "app", "service": None, "level": None, "message": "aB", "attrs": None}


def _reference(
    rows: list[dict],
    start: dt.datetime | None,
    end: dt.datetime | None,
    sources: list[str] | None,
    services: list[str | None] | None,
    levels: list[str | None] | None,
    text: str | None,
) -> list[int]:
    """Indexes of the rows that pass, decided row by row in plain Python: what the polars query must give."""
    keep = []
    for i, r in enumerate(rows):
        ts = T0 + dt.timedelta(minutes=r["ts"])
        ok = (start is None or ts >= start) and (end is None or ts < end)
        ok = ok and (sources is None or r["source"] in sources)
        ok = ok and (services is None or r["service"] in services)
        ok = ok and (levels is None or r["level"] in levels)
        if text:
            hay = [r["message"].lower(), (r["attrs"] or "").lower()]
            ok = ok and any(text.lower() in h for h in hay)
        if ok:
            keep.append(i)
    return keep


def _filters_or_none(values: list) -> st.SearchStrategy:
    """Mostly no filter, so that the other filters' rows are not always all gone."""
    return st.one_of(st.none(), st.none(), st.lists(st.sampled_from(values), max_size=2))


@settings(max_examples=scaled(200), deadline=None)
@example(rows=[_ROW_AB], start=None, end=None, sources=None, services=None, levels=None, text=".")
@example(rows=[_ROW_AB], start=None, end=None, sources=None, services=None, levels=None, text="(")
@given(
    rows=st.lists(_row, max_size=25),
    start=st.one_of(st.none(), st.integers(0, 30)),
    end=st.one_of(st.none(), st.integers(0, 31)),
    sources=_filters_or_none(["app", "nginx", "slack"]),
    services=_filters_or_none([None, "api", "web"]),
    levels=_filters_or_none([None, "info", "error"]),
    text=st.one_of(st.none(), st.text(alphabet="abAB.( é", max_size=3)),
)
def test_filter_matches_reference(rows, start, end, sources, services, levels, text) -> None:
    events = make_events([{**r, "origin": f"f:{i}"} for i, r in enumerate(rows)])
    start_ts = None if start is None else T0 + dt.timedelta(minutes=start)
    end_ts = None if end is None else T0 + dt.timedelta(minutes=end)
    out = filter_events(
        events, start=start_ts, end=end_ts, sources=sources, services=services, levels=levels, text=text
    )
    expected = _reference(rows, start_ts, end_ts, sources, services, levels, text)
    assert out.get_column("origin").to_list() == [f"f:{i}" for i in expected]


def test_filter_on_50k_events_keeps_every_match() -> None:
    n = 50_000
    events = pl.DataFrame(
        {
            "ts": pl.datetime_range(T0, T0 + dt.timedelta(seconds=n - 1), "1s", eager=True),
            "source": ["nginx", "app", "slack", "alertmanager"] * (n // 4),
            "kind": ["log"] * n,
            "service": ["api", None] * (n // 2),
            "level": ["info", "error", "warning", None, "info"] * (n // 5),
            "actor": [None] * n,
            "message": [f"GET /pay/{i} status={500 if i % 97 == 0 else 200}" for i in range(n)],
            "attrs": ['{"upstream": "10.0.0.1:8080", "rt": 0.05}'] * n,
            "origin": [f"access.log:{i}" for i in range(n)],
        },
        schema=schema.EVENTS_SCHEMA,
    )
    t = time.perf_counter()
    out = filter_events(
        events, start=T0 + dt.timedelta(hours=1), sources=["nginx", "app"], levels=["info", None], text="STATUS=500"
    )
    elapsed = time.perf_counter() - t
    assert out.height and all("status=500" in m for m in out.get_column("message").to_list())
    print(f"filtering 50k events took {elapsed:.2f}s")  # a figure, not an assertion: this machine is shared


# --- slider, thinning, HTML


def test_slider_bounds_cover_the_events_on_whole_minutes() -> None:
    lo, hi = T0 + dt.timedelta(seconds=17), T0 + dt.timedelta(hours=2, seconds=5)
    bounds, step = slider_bounds(lo, hi)
    assert step == 1
    assert bounds[0] <= lo < bounds[1] and bounds[-2] <= hi < bounds[-1]
    assert all(b.second == 0 and b.tzinfo is not None for b in bounds)
    four_days = slider_bounds(lo, lo + dt.timedelta(days=4), max_options=2000)
    assert four_days[1] == 5 and len(four_days[0]) <= 2000
    assert four_days[0][-1] > lo + dt.timedelta(days=4)


def test_thinning_keeps_non_logs_and_the_most_severe_log_per_bucket() -> None:
    rows = [{"ts": i / 60, "source": "nginx", "level": "info", "message": f"ok {i}"} for i in range(600)]
    rows[130] = {"ts": 130 / 60, "source": "nginx", "level": "error", "message": "boom"}
    rows += [{"ts": 3, "source": "pd", "kind": "page", "message": "triggered"}]
    events = make_events(rows)
    assert thin_for_plot(events, max_points=1000) == (events, None)
    drawn, bucket = thin_for_plot(events, max_points=20)
    assert bucket == "1m" and drawn.height <= 20
    assert drawn.filter(pl.col("kind") == "page").height == 1
    minute2 = drawn.filter((pl.col("kind") == "log") & (pl.col("ts").dt.minute() == 2))
    assert minute2.get_column("level").to_list() == ["error"]
    assert minute2.get_column("message").item() == "60 lines in 1m; most severe: boom"
    assert drawn.get_column("ts").is_sorted()


def test_swimlane_traces_one_per_kind_svg() -> None:
    events = make_events([{"kind": "log"}, {"kind": "page", "source": "pd"}, {"kind": "log"}])
    traces = swimlane_traces(events)
    assert [(t["name"], t["type"], len(t["x"])) for t in traces] == [("log", "scatter", 2), ("page", "scatter", 1)]


def test_table_escapes_every_value_and_marks_matches() -> None:
    events = make_events(
        [
            {"source": "<b>src</b>", "message": "<script>alert('x')</script> Timeout", "origin": "a&b.log:1"},
            {"message": "second"},
            {"message": "third"},
        ]
    )
    out = events_table_html(events, limit=2, text="timeout")
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "&lt;b&gt;src&lt;/b&gt;" in out and "a&amp;b.log:1" in out
    assert "<mark>Timeout</mark>" in out
    assert out.count("<tr class=") == 2
    assert "No events match" in events_table_html(events.clear())


def test_long_messages_are_cut_in_the_table() -> None:
    out = events_table_html(make_events([{"message": "x" * 1000}]), width=50)
    assert "x" * 50 + "…" in out and "x" * 51 not in out


# --- the widget tree, headless, on the samples


@pytest.fixture(scope="module")
def sample() -> tuple[pmkit.Incident, object]:
    inc = pmkit.Incident.load(SAMPLES / "INC-2025-0142")
    return inc, analyze(inc)


def _walk(w: widgets.Widget):
    yield w
    for child in getattr(w, "children", ()):
        yield from _walk(child)


def test_widget_tree(sample) -> None:
    inc, analysis = sample
    ex = Explorer(inc, analysis)
    tree = list(_walk(ex.widget))
    assert isinstance(ex.widget, widgets.VBox) and "pmkit-explorer" in ex.widget._dom_classes
    assert ex.window in tree and isinstance(ex.window, widgets.SelectionRangeSlider)
    assert all(w in tree for w in (ex.sources, ex.services, ex.levels, ex.search, ex.count, ex.table, ex.figure))
    assert isinstance(ex.figure, go.FigureWidget)
    assert [o[0] for o in ex.sources.options] == ["alertmanager", "app", "deploys", "nginx", "pagerduty", "slack"]
    assert ex.levels.options[-1] == (NULL_LABEL, None)
    assert [o[1] for o in ex.levels.options[:-1]] == ["info", "warning", "error", "critical"]
    assert len(ex.milestone_buttons) == 6 and all(b in tree for b in ex.milestone_buttons)
    bundle = ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"] == "Explorer(INC-2025-0142: 35,222 events)"


def test_initial_window_surrounds_the_milestones(sample) -> None:
    inc, analysis = sample
    ex = Explorer(inc, analysis)
    start, end = ex.window.value
    times = [t for t in analysis.milestones.times().values() if t is not None]
    assert start <= min(times) - dt.timedelta(hours=1) and end >= max(times) + dt.timedelta(minutes=30)
    expected = inc.events.filter((pl.col("ts") >= start) & (pl.col("ts") < end)).height
    assert ex.filtered.height == expected
    assert f"<b>{expected:,}</b> of 35,222" in ex.count.value


def test_filters_update_count_table_and_figure(sample) -> None:
    inc, analysis = sample
    ex = Explorer(inc, analysis, rows=50)
    start, end = ex.window.value
    in_window = inc.events.filter((pl.col("ts") >= start) & (pl.col("ts") < end))

    ex.sources.value = ("slack",)
    n = in_window.filter(pl.col("source") == "slack").height
    assert 0 < n == ex.filtered.height and f"<b>{n:,}</b>" in ex.count.value
    assert ex.table.value.count("<tr class=") == min(n, 50)
    assert [t.name for t in ex.figure.data] == ["chat"] and len(ex.figure.data[0].x) == n

    ex.sources.value = ()
    ex.levels.value = ("critical",)
    crit = in_window.filter(pl.col("level") == "critical")
    assert ex.filtered.equals(crit)

    ex.levels.value = ()
    ex.search.value = "ROLLBACK"
    hits = ex.filtered
    assert hits.height and all(
        "rollback" in (r["message"] + (r["attrs"] or "")).lower() for r in hits.iter_rows(named=True)
    )
    assert "<mark>" in ex.table.value

    ex.search.value = "no such text anywhere 0xdeadbeef"
    assert ex.filtered.height == 0 and "No events match" in ex.table.value
    assert len(ex.figure.data) == 0

    ex.reset.click()
    assert ex.filtered.height == in_window.height and ex.search.value == "" and ex.sources.value == ()


def test_window_moves_the_figure_and_the_count(sample) -> None:
    inc, analysis = sample
    ex = Explorer(inc, analysis)
    ex.whole.value = True  # the slider spans the incident window until "whole evidence" is ticked
    first, last = ex.bounds[0], ex.bounds[-1]
    ex.window.value = (first, last)
    assert ex.filtered.height == inc.events.height
    assert tuple(ex.figure.layout.xaxis.range) == (first, last)
    drawn = sum(len(t.x) for t in ex.figure.data)
    assert 0 < drawn <= ex.max_points


def test_clicking_a_milestone_shows_its_evidence(sample) -> None:
    inc, analysis = sample
    ex = Explorer(inc, analysis)
    names = [m.name for m in analysis.milestones.items]
    button = ex.milestone_buttons[names.index("acknowledged")]
    assert button.description.startswith("acknowledged ")
    button.click()
    m = analysis.milestones["acknowledged"]
    for value in (m.evidence["origin"], m.evidence["source"], m.method):
        assert value in ex.evidence.value
    assert m.evidence["message"].split(":")[0] in ex.evidence.value


def test_evidence_is_escaped() -> None:
    from pmkit.analysis.milestones import Milestone

    m = Milestone(
        "declared",
        T0,
        "chat declaration",
        {"source": "slack", "message": "<img src=x onerror=1>", "origin": "c.json#3"},
    )
    out = evidence_html(m)
    assert "<img" not in out and "&lt;img src=x onerror=1&gt;" in out
    assert "c.json#3" in out and "chat declaration" in out and "2025-06-15 14:00:00 UTC" in out


def test_hostile_text_is_escaped_in_the_widget(sample) -> None:
    inc, _ = sample
    evil = make_events([{"message": "<script>alert(1)</script>", "source": "x<y"}])
    ex = Explorer(dataclasses.replace(inc, events=evil))
    assert "<script>" not in ex.table.value and "&lt;script&gt;" in ex.table.value


def test_without_analysis_the_window_spans_every_event(sample) -> None:
    inc, _ = sample
    ex = Explorer(inc)
    assert ex.milestone_buttons == [] and ex.window.value == (ex.bounds[0], ex.bounds[-1])
    assert ex.filtered.height == inc.events.height
    with pytest.raises(ValueError, match="no analysis"):
        ex.select_milestone("detected")


def test_describe_is_plain_and_consistent(sample) -> None:
    inc, analysis = sample
    ex = Explorer(inc, analysis)
    text = ex.describe()
    assert text.splitlines()[0] == f"{inc.spec.id}: {inc.spec.title}"
    for r in inc.events.group_by("source").len().iter_rows(named=True):
        assert any(line.startswith(r["source"]) and f"{r['len']:,}" in line for line in text.splitlines())
    assert f"{ex.filtered.height:,} events" in text
    assert analysis.milestones["detected"].evidence["origin"] in text
    assert text == Explorer(inc, analysis).describe()


def test_empty_incident_builds(sample) -> None:
    inc, _ = sample
    ex = Explorer(dataclasses.replace(inc, events=schema.empty("events")))
    assert ex.filtered.height == 0 and ex.window.disabled and "No events match" in ex.table.value
    assert ex.describe().endswith("no events")


def test_updates_on_the_50k_sample_thin_the_plot_and_page_the_table() -> None:
    inc = pmkit.Incident.load(SAMPLES / "INC-20250120-103000")
    assert inc.events.height > 50_000
    ex = Explorer(inc, analyze(inc))
    ex.window.value = (ex.bounds[0], ex.bounds[-1])
    t = time.perf_counter()
    for text in ("fail", "timeout", "users", ""):
        ex.search.value = text
    per_update = (time.perf_counter() - t) / 4
    assert sum(len(t.x) for t in ex.figure.data) <= ex.max_points
    assert ex.table.value.count("<tr class=") == ex.rows
    print(f"one update took {per_update:.2f}s on {inc.events.height:,} events")  # a figure, not an assertion


def test_curated_timeline_only_shows_the_documents_rows_and_the_table_says_why(sample) -> None:
    inc, analysis = sample
    ex = Explorer(inc, analysis)
    assert "<th" in ex.table.value and ">timeline</th>" in ex.table.value
    kept = analysis.curated.kept()
    start, end = ex.window.value
    # the explorer shows the events as loaded: a re-notified alert folded into a kept one shares its origin
    listed = inc.events.filter(pl.col("origin").is_in(kept.get_column("origin").to_list()))
    expected = listed.filter((pl.col("ts") >= start) & (pl.col("ts") < end)).height
    ex.curated_only.value = True
    assert 0 < ex.filtered.height == expected
    assert set(ex.filtered.get_column("origin")) <= set(kept.get_column("origin"))
    assert "in the document" in ex.table.value
    assert ex.filters()["origins"] is not None
    ex.reset.click()
    assert ex.curated_only.value is False and ex.filters()["origins"] is None
    ex.sources.value = ("deploys",)
    assert "left out: an intermediate deployment status (in_progress)" in ex.table.value


def test_the_slider_spans_the_incident_window_in_minutes(sample) -> None:
    """Issue 11: the slider spanned the 4 days of evidence in 5-minute steps; it spans the incident window
    (milestones padded 1 h before, 30 min after) in 1-minute steps, and "whole evidence" widens it."""
    inc, analysis = sample
    ex = Explorer(inc, analysis)
    times = [t for t in analysis.milestones.times().values() if t is not None]
    assert ex.step == 1 and ex.window.value == (ex.bounds[0], ex.bounds[-1]) == ex.initial_window
    assert ex.bounds[0] == (min(times) - dt.timedelta(hours=1)).replace(second=0, microsecond=0)
    assert max(times) + dt.timedelta(minutes=30) <= ex.bounds[-1] < max(times) + dt.timedelta(minutes=31)
    assert ex.all_bounds[-1] - ex.all_bounds[0] > dt.timedelta(days=3) and not ex.whole.disabled
    ex.whole.value = True
    assert ex.bounds == ex.all_bounds and ex.step == ex.all_step
    start, end = ex.window.value
    assert start <= ex.initial_window[0] and end >= ex.initial_window[1]  # the window is kept, widened to steps
    ex.window.value = (ex.bounds[0], ex.bounds[-1])
    ex.reset.click()
    assert not ex.whole.value and ex.window.value == ex.initial_window and ex.step == 1
    assert ex.filtered.height == filter_events(inc.events, start=ex.initial_window[0], end=ex.initial_window[1]).height


def test_the_bundle_carries_a_static_figure_for_exported_pages(sample) -> None:
    """An exported notebook has no widget manager offline: the bundle carries the swimlane as plotly JSON."""
    inc, analysis = sample
    ex = Explorer(inc, analysis)
    bundle = ex._repr_mimebundle_()
    fig = bundle["application/vnd.plotly.v1+json"]
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert {t["name"] for t in fig["data"]} == {t.name for t in ex.figure.data}
    assert sum(len(t["x"]) for t in fig["data"]) == sum(len(t.x) for t in ex.figure.data) > 0
    start, end = (dt.datetime.fromisoformat(x) for x in fig["layout"]["xaxis"]["range"])
    assert (start.replace(tzinfo=dt.UTC), end.replace(tzinfo=dt.UTC)) == ex.initial_window
    assert "static copy" in fig["layout"]["title"]["subtitle"]["text"]
    # the whole legend fits (a scrolled legend hid the last milestone): kinds drawn and milestone lines
    from pmkit.report.figures import LEGEND_ROW

    entries = len(fig["data"]) + sum(1 for s in fig["layout"]["shapes"] if s.get("showlegend"))
    assert entries >= 11 and fig["layout"]["height"] >= 150 + LEGEND_ROW * entries
