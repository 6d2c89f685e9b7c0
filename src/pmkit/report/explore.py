"""Interactive exploration of an incident's evidence: the widgets, on top of pure functions over the events.

The filtering is plain polars (:func:`pmkit.report.explore_filters.filter_events`), so what the
widgets show can be reproduced in code: ``filter_events(explorer.events, **explorer.filters())`` (the
incident's events, with their response ``phase`` when the explorer has an analysis);
what they draw (the escaped HTML tables, the swimlane's traces) is :mod:`pmkit.report.explore_html`.
The widgets (:class:`Explorer`) only collect filter values and draw the result: a UTC time-window
slider, source/service/level multi-selects (and with an analysis a response-phase multi-select: the events'
``phase`` of :func:`pmkit.analysis.phases.tag_events`), a text search, the matching count, the first rows as an
escaped HTML table, milestone buttons that show each milestone's evidence, and a plotly
``FigureWidget`` swimlane that follows the filters.

Kept fast on large incidents: every filter is one lazy polars query, the table shows at most
``rows`` rows, and the swimlane draws at most about ``max_points`` markers (logs thinned to
the most severe line per source and time bucket).
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import polars as pl

from pmkit.analysis.milestones import evidence_label
from pmkit.analysis.phases import PHASES, tag_events
from pmkit.report.explore_filters import (
    MAX_POINTS,
    counts_by_source,
    curation_marks,
    filter_events,
    slider_bounds,
    thin_for_plot,
)
from pmkit.report.explore_html import MAX_ROWS, TS_FORMAT, events_table_html, evidence_html, swimlane_traces
from pmkit.schema import LEVELS
from pmkit.timeutil import as_utc

if TYPE_CHECKING:
    import ipywidgets as widgets
    import plotly.graph_objects as go

    from pmkit.analysis.milestones import Milestones
    from pmkit.incident import Incident
    from pmkit.pipeline import Analysis

NULL_LABEL = "(none)"
# how much context the initial window shows around the milestones
WINDOW_BEFORE = dt.timedelta(hours=1)
WINDOW_AFTER = dt.timedelta(minutes=30)
# the range slider's readout is too narrow for two dated labels by default; scoped to the explorer
_CSS = (
    "<style>.pmkit-explorer .widget-readout{min-width:19em;max-width:none;overflow:visible;text-align:left}"
    ".pmkit-explorer .pmkit-events td{padding:1px 6px;vertical-align:top;line-height:1.35}"
    ".pmkit-explorer .pmkit-events td:nth-child(-n+5){white-space:nowrap}"
    ".pmkit-explorer .pmkit-events tr.pmkit-level-error td,.pmkit-explorer .pmkit-events tr.pmkit-level-critical td"
    "{color:#c0392b}</style>"
)


def _options(values: Iterable[str | None], order: Iterable[str] | None = None) -> list[tuple[str, str | None]]:
    """(label, value) options for a multi-select; nulls become :data:`NULL_LABEL`."""
    present = set(values)
    named = sorted(v for v in present if v is not None)
    if order is not None:
        rank = {v: i for i, v in enumerate(order)}
        named.sort(key=lambda v: (rank.get(v, len(rank)), v))
    opts: list[tuple[str, str | None]] = [(v, v) for v in named]
    if None in present:
        opts.append((NULL_LABEL, None))
    return opts


def _label(ts: dt.datetime) -> str:
    return f"{ts:%Y-%m-%d %H:%M}"


# ---------------------------------------------------------------------------------------------
# the widgets


class Explorer:
    """Widgets to explore an incident's events; ``display(explorer)`` or ``explorer.widget`` shows them.

    ``analysis`` (from :func:`pmkit.pipeline.analyze`) adds milestone buttons and lines and
    sets the initial window around the milestones; without it the window spans all events.
    ``filtered`` is the current selection as a polars frame, ``filters()`` the arguments of
    :func:`~pmkit.report.explore_filters.filter_events` that produce it.
    """

    def __init__(
        self,
        incident: Incident,
        analysis: Analysis | None = None,
        *,
        rows: int = MAX_ROWS,
        max_points: int = MAX_POINTS,
    ) -> None:
        import ipywidgets as widgets

        self.incident = incident
        self.analysis = analysis
        # with an analysis every event carries its response phase (persons' actions by the phases' rules, the rest
        # by time): the table shows it and a multi-select filters on it
        self.events = (
            tag_events(incident.events, analysis.phases, incident.spec.phases)
            if analysis is not None
            else incident.events
        )
        self.rows = rows
        self.max_points = max_points
        self.milestones: Milestones | None = analysis.milestones if analysis is not None else None
        # the curated timeline: the table says what it did with each event; a checkbox shows only its rows
        curated = analysis.curated.frame if analysis is not None else None
        self.marks: dict[str, str] | None = curation_marks(curated) if curated is not None else None
        self.curated_origins: list[str] | None = (
            curated.filter(pl.col("kept")).get_column("origin").to_list() if curated is not None else None
        )
        self.filtered = self.events
        self._hold = False

        ev = self.events
        if ev.height:
            bounds, self.step = slider_bounds(
                ev.select(pl.col("ts").min()).item(), ev.select(pl.col("ts").max()).item()
            )
        else:
            bounds, self.step = [dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=m) for m in (0, 1)], 1
        # the slider spans the incident window (1-minute steps) unless "whole evidence" is ticked: a slider over
        # days of deploys moves in coarse steps and opens on a window a few pixels wide
        self.all_bounds, self.all_step = bounds, self.step
        self.bounds, self.step = self._incident_bounds()
        self.initial_window = (self.bounds[0], self.bounds[-1])
        wide = widgets.Layout(width="98%")
        days = (self.all_bounds[-1] - self.all_bounds[0]) / dt.timedelta(days=1)
        self.whole = widgets.Checkbox(
            value=False,
            description=f"whole evidence ({days:.1f} days)" if days >= 1 else "whole evidence",
            disabled=self.bounds == self.all_bounds,
            indent=False,
            layout=widgets.Layout(width="auto"),
        )
        self.window = widgets.SelectionRangeSlider(
            options=[(_label(b), b) for b in self.bounds],
            value=self.initial_window,
            description="UTC window",
            continuous_update=False,
            disabled=ev.height == 0,
            layout=wide,
            style={"description_width": "initial"},
        )
        self.sources = self._multi("source", _options(ev.get_column("source").to_list()))
        self.services = self._multi("service", _options(ev.get_column("service").to_list()))
        self.levels = self._multi("level", _options(ev.get_column("level").to_list(), LEVELS))
        self.phases: widgets.SelectMultiple | None = (
            self._multi("phase", _options(ev.get_column("phase").to_list(), PHASES)) if "phase" in ev.columns else None
        )
        self.search = widgets.Text(
            placeholder="search message and attrs (case-insensitive, literal)",
            description="search",
            continuous_update=False,
            layout=widgets.Layout(width="360px"),
        )
        self.curated_only = widgets.Checkbox(
            value=False,
            description="curated timeline only (the document's rows)",
            disabled=self.curated_origins is None,
            indent=False,
        )
        self.reset = widgets.Button(description="reset filters", icon="undo", tooltip="all sources, services, levels")
        self.count = widgets.HTML(layout=wide)
        self.table = widgets.HTML(layout=wide)
        self.evidence = widgets.HTML(
            "<em>Click a milestone to see its evidence.</em>" if self.milestones else "", layout=wide
        )
        self.milestone_buttons = self._milestone_buttons()
        self.figure = self._figure()

        for w in (self.window, self.sources, self.services, self.levels, self.search, self.curated_only):
            w.observe(self._on_change, names="value")
        if self.phases is not None:
            self.phases.observe(self._on_change, names="value")
        self.whole.observe(self._on_whole, names="value")
        self.reset.on_click(self._on_reset)

        hint = widgets.HTML("<small>none selected = all; ctrl/shift-click to select several</small>")
        filters = widgets.HBox(
            [
                self.sources,
                self.services,
                self.levels,
                *([self.phases] if self.phases is not None else []),
                widgets.VBox([self.search, self.curated_only, self.reset, hint]),
            ],
            layout=widgets.Layout(flex_flow="row wrap"),
        )
        title = widgets.HTML(
            _CSS + f"<h3>{html.escape(incident.spec.id)}: {html.escape(incident.spec.title)}</h3>"
            "<small>All times UTC. The swimlane and the table follow the filters.</small>"
        )
        parts: list[widgets.Widget] = [title, widgets.HBox([self.window, self.whole], layout=wide), filters, self.count]
        if self.milestone_buttons:
            parts += [
                widgets.HBox(
                    [widgets.Label("milestones:"), *self.milestone_buttons],
                    layout=widgets.Layout(flex_flow="row wrap"),
                ),
                self.evidence,
            ]
        parts += [self.figure, self.table]
        self.widget = widgets.VBox(parts, layout=wide)
        self.widget.add_class("pmkit-explorer")
        self.update()

    # -- construction helpers

    def _multi(self, what: str, options: list[tuple[str, str | None]]) -> widgets.SelectMultiple:
        import ipywidgets as widgets

        return widgets.SelectMultiple(
            options=options,
            value=(),
            rows=min(6, max(2, len(options))),
            description=what,
            layout=widgets.Layout(width="240px"),
        )

    def _incident_bounds(self) -> tuple[list[dt.datetime], int]:
        """The slider's boundaries over the incident window: the milestones padded by :data:`WINDOW_BEFORE` and
        :data:`WINDOW_AFTER`, on whole minutes, inside the evidence; every event's span without milestones."""
        first, last = self.all_bounds[0], self.all_bounds[-1]
        times = [as_utc(t) for t in (self.milestones.times().values() if self.milestones else ()) if t is not None]
        if not times:
            return self.all_bounds, self.all_step
        minute = dt.timedelta(minutes=1)
        lo = max(first, (min(times) - WINDOW_BEFORE).replace(second=0, microsecond=0))
        hi = min(
            last, (max(times) + WINDOW_AFTER + minute - dt.timedelta(microseconds=1)).replace(second=0, microsecond=0)
        )
        if hi <= lo:
            return self.all_bounds, self.all_step
        return slider_bounds(lo, hi - minute)  # its last boundary is hi

    def _milestone_buttons(self) -> list[widgets.Button]:
        import ipywidgets as widgets

        from pmkit.report.figures import MILESTONE_COLORS

        buttons = []
        for m in self.milestones.items if self.milestones else ():
            when = "not found" if m.ts is None else f"{as_utc(m.ts):%H:%M:%S}"
            b = widgets.Button(
                description=f"{m.name.replace('_', ' ')} {when}",
                tooltip=f"{m.name}: {m.method}",
                layout=widgets.Layout(width="auto", border_left=f"6px solid {MILESTONE_COLORS.get(m.name, '#999')}"),
            )
            b.on_click(lambda _b, name=m.name: self.select_milestone(name))
            buttons.append(b)
        return buttons

    def _figure(self) -> go.FigureWidget:
        """An empty swimlane: one fixed lane per source, the milestones as lines, its traces set by ``update``."""
        import plotly.graph_objects as go

        from pmkit.report.figures import LEGEND_ROW, swimlane

        try:
            fw = go.FigureWidget()
        except ImportError as err:  # plotly raises this when anywidget is missing
            raise ImportError(
                "pmkit's Explorer draws its swimlane with plotly's FigureWidget, which needs the 'anywidget' "
                "package: pip install anywidget"
            ) from err
        lanes = sorted(self.events.get_column("source").unique().to_list()) if self.events.height else []
        fw.layout = swimlane(self.events.clear(), self.milestones, key_only=False).layout
        kinds = self.events.get_column("kind").n_unique() if self.events.height else 0
        marks = sum(1 for t in (self.milestones.times().values() if self.milestones else ()) if t is not None)
        # tall enough for the lanes and for the whole legend (kinds and milestone lines; a scrolled legend hides some)
        height = max(160 + 40 * max(1, len(lanes)), 150 + LEGEND_ROW * (kinds + marks))
        fw.update_layout(height=height, showlegend=True, uirevision="pmkit-explorer")
        fw.update_yaxes(type="category", categoryorder="array", categoryarray=lanes, range=[-0.5, len(lanes) - 0.5])
        fw.add_class("pmkit-swimlane")
        return fw

    # -- behaviour

    def filters(self) -> dict[str, Any]:
        """The current widget values as keyword arguments of :func:`~pmkit.report.explore_filters.filter_events`."""
        start, end = self.window.value
        return {
            "start": start,
            "end": end,
            "sources": list(self.sources.value) or None,
            "services": list(self.services.value) or None,
            "levels": list(self.levels.value) or None,
            "text": self.search.value or None,
            "origins": self.curated_origins if self.curated_only.value else None,
            "phases": (list(self.phases.value) or None) if self.phases is not None else None,
        }

    def update(self) -> None:
        """Refilter and redraw the count, the table and the swimlane."""
        f = self.filters()
        self.filtered = filter_events(self.events, **f)
        n, total = self.filtered.height, self.events.height
        shown = min(n, self.rows)
        self.count.value = (
            f'<span class="pmkit-count"><b>{n:,}</b> of {total:,} events match</span>'
            + (f"; the table shows the first {shown:,}" if n > shown else "")
            + f" <small>(window {_label(f['start'])} to {_label(f['end'])} UTC, {self.step}-minute steps)</small>"
        )
        self.table.value = events_table_html(self.filtered, limit=self.rows, text=f["text"], marks=self.marks)
        self._redraw(f["start"], f["end"])

    def _redraw(self, start: dt.datetime, end: dt.datetime) -> None:
        """Replace the swimlane's traces; the layout (lanes, milestone lines) was set once in ``_figure``."""
        drawn, bucket = thin_for_plot(self.filtered, max_points=self.max_points)
        fw = self.figure
        with fw.batch_update():
            fw.data = ()
        fw.add_traces(swimlane_traces(drawn))
        with fw.batch_update():
            fw.layout.title.text = "Filtered events by source (UTC)" + (
                f": logs thinned to the most severe line per source and {bucket}" if bucket else ""
            )
            fw.layout.xaxis.range = [start, end]

    def select_milestone(self, name: str) -> None:
        """Show one milestone's evidence (what a click on its button does)."""
        if self.milestones is None:
            raise ValueError("this Explorer has no analysis, so no milestones: Explorer(incident, analyze(incident))")
        self.evidence.value = evidence_html(self.milestones[name])

    def _on_change(self, _change: dict[str, Any]) -> None:
        if not self._hold:
            self.update()

    def _on_whole(self, change: dict[str, Any]) -> None:
        """Widen the slider to every event (keeping the window), or narrow it back to the incident window."""
        start, end = self.window.value
        if change["new"]:
            self.bounds, self.step = self.all_bounds, self.all_step
            start = max((b for b in self.bounds if b <= start), default=self.bounds[0])
            end = min((b for b in self.bounds if b >= end), default=self.bounds[-1])
        else:
            self.bounds, self.step = self._incident_bounds()
            start, end = self.initial_window
        held, self._hold = self._hold, True
        try:
            self.window.options = [(_label(b), b) for b in self.bounds]
            self.window.value = (start, end)
        finally:
            self._hold = held
        if not held:
            self.update()

    def _on_reset(self, _button: widgets.Button | None = None) -> None:
        self._hold = True
        try:
            if self.whole.value:
                self.whole.value = False  # back to the incident window's slider (its handler redraws)
            self.window.value = self.initial_window
            self.sources.value = ()
            self.services.value = ()
            self.levels.value = ()
            if self.phases is not None:
                self.phases.value = ()
            self.search.value = ""
            self.curated_only.value = False
        finally:
            self._hold = False
        self.update()

    # -- text and display

    def describe(self) -> str:
        """Plain text that does not change from run to run: events per source, the window, the milestones."""
        ev = self.events
        spec = self.incident.spec
        lines = [f"{spec.id}: {spec.title}".rstrip(": ")]
        if ev.height == 0:
            return "\n".join([*lines, "no events"])
        lo, hi = ev.select(pl.col("ts").min()).item(), ev.select(pl.col("ts").max()).item()
        start, end = self.initial_window
        in_window = filter_events(ev, start=start, end=end)
        lines += [
            f"events: {ev.height:,} from {as_utc(lo):{TS_FORMAT}} to {as_utc(hi):{TS_FORMAT}} UTC",
            f"initial window: {_label(start)} to {_label(end)} UTC ({self.step}-minute steps), "
            f"{in_window.height:,} events",
            "",
            f"{'source':<16}{'kind':<8}{'events':>9}{'in window':>11}",
        ]
        win = counts_by_source(in_window).rename({"events": "in_window"})
        table = counts_by_source(ev).join(win, on=["source", "kind"], how="left").fill_null(0)
        for r in table.iter_rows(named=True):
            lines.append(f"{r['source']:<16}{r['kind']:<8}{r['events']:>9,}{r['in_window']:>11,}")
        if self.milestones is not None:
            lines += ["", "milestones (UTC):"]
            for m in self.milestones.items:
                when = "not found" if m.ts is None else f"{as_utc(m.ts):{TS_FORMAT}}"
                lines.append(f"  {m.name:<13} {when:<20} {m.method}")
                lines.append(f"  {'':<13} evidence: {evidence_label(m)}")
                if m.evidence.get("origin"):
                    lines.append(f"  {'':<13} origin: {m.evidence['origin']}")
        return "\n".join(lines)

    def static_figure(self) -> dict[str, Any]:
        """The swimlane as it is drawn now, as plotly JSON: what a page without a kernel shows instead of the
        widgets (an exported notebook cannot run them)."""
        import json

        import plotly.graph_objects as go
        import plotly.io as pio

        fig = go.Figure(self.figure)
        start, end = self.window.value
        fig.update_layout(
            title={
                "text": f"Events by source, {_label(start)} to {_label(end)} UTC",
                "subtitle": {"text": "a static copy of the explorer's swimlane: run the notebook for the widgets"},
            },
            margin={"t": 70},
            height=(fig.layout.height or 450) + 20,  # room for the subtitle
        )
        spec: dict[str, Any] = json.loads(pio.to_json(fig, validate=False))
        return spec

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """The widgets, with a static plotly copy of the swimlane beside them: Jupyter shows the widgets (their
        renderer ranks first); an exported HTML page, which has no widget manager offline, draws the figure."""
        bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        bundle["application/vnd.plotly.v1+json"] = self.static_figure()
        bundle["text/plain"] = f"Explorer({self.incident.spec.id}: {self.events.height:,} events)"
        return bundle

    def __repr__(self) -> str:
        return f"Explorer({self.incident.spec.id}: {self.events.height:,} events)"
