"""Golden checks on the document's figures (issue 11, item 9): legible on both samples.

The figure JSON is compared, not pixels: trace names and colours, the legend (every line of the plot is in it:
the milestone, change, threshold and first-page lines are named shapes), axis ranges (a latency axis starts at
0, the swimlane opens on the incident), colour-blind-safe distinct colours (Okabe-Ito) and annotations that do
not overlap. The PNG checks draw the figures with kaleido and check what survives any machine: the image size,
that the latency axis kaleido computed starts at 0, and that the burn-rate colours are on the image.
"""

from __future__ import annotations

import datetime as dt
import struct
import zlib
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import polars as pl
import pytest

import pmkit
from pmkit.pipeline import analyze
from pmkit.report import figures
from pmkit.report.figures import BURN_STYLES, MILESTONE_COLORS, OKABE_ITO
from pmkit.report.figures_png import browser_path

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
NAMES = ("INC-2025-0142", "INC-20250120-103000")


@pytest.fixture(scope="module", params=NAMES)
def figs(request: pytest.FixtureRequest) -> tuple[object, dict[str, go.Figure]]:
    a = analyze(pmkit.Incident.load(SAMPLES / request.param))
    return a, figures.incident_figures(a)


@pytest.fixture(scope="module")
def payments() -> tuple[object, dict[str, go.Figure]]:
    a = analyze(pmkit.Incident.load(SAMPLES / "INC-2025-0142"))
    return a, figures.incident_figures(a)


def _lines(fig: go.Figure) -> list[dict]:
    return [s.to_plotly_json() for s in fig.layout.shapes]


def _legend(fig: go.Figure) -> list[str]:
    """The legend's entries: named traces and named shapes shown in the legend."""
    traces = [t.name for t in fig.data if t.showlegend is not False]
    return traces + [s["name"] for s in _lines(fig) if s.get("showlegend")]


def test_every_line_is_in_the_legend(figs) -> None:
    _, fs = figs
    for key, fig in fs.items():
        for s in _lines(fig):
            assert s.get("showlegend") and s.get("name"), (key, s)
        for t in fig.data:
            assert t.name and t.showlegend is not False, (key, t.name)
        entries = _legend(fig)
        assert len(entries) == len(set(entries)), (key, entries)  # no two entries read the same


def test_series_and_vertical_lines_never_share_a_look(figs) -> None:
    """A measured series is never drawn like a milestone or change line: its colour is none of theirs, and no two
    legend lines share both colour and dash (the change lines are one kind, drawn alike on purpose)."""
    _, fs = figs
    for key in ("error_ratio",):
        lines = [s for s in _lines(fs[key]) if s.get("type") == "line"]
        changes = {(s["line"]["color"], s["line"].get("dash")) for s in lines if s.get("legendgroup") == "changes"}
        shapes = [(s["line"]["color"], s["line"].get("dash")) for s in lines if s.get("legendgroup") != "changes"]
        shapes += sorted(changes, key=str)
        series = [(t.line.color, t.line.dash) for t in fs[key].data]
        assert not {c for c, _ in series} & {c for c, _ in shapes}, key
        looks = shapes + series
        assert len(looks) == len(set(looks)), (key, looks)


def test_milestone_lines_are_named_with_their_time(figs) -> None:
    a, fs = figs
    for key in ("error_ratio", "swimlane"):
        names = {s["name"]: s["line"]["color"] for s in _lines(fs[key]) if s.get("legendgroup") == "milestones"}
        want = {
            f"{m.name.replace('_', ' ')} {m.ts:%H:%M}": MILESTONE_COLORS[m.name] for m in a.milestones.items if m.ts
        }
        assert names == want, key
    assert len(set(MILESTONE_COLORS.values())) == len(MILESTONE_COLORS)
    assert set(MILESTONE_COLORS.values()) <= set(OKABE_ITO.values())


def _boxes(fig: go.Figure, width: int = 1000, height: int | None = None) -> list[tuple[float, float, float, float]]:
    """Each annotation's box in pixels (text width estimated at 0.6 em per character), for paper-placed ones."""
    height = height or fig.layout.height or 450
    out = []
    for ann in fig.layout.annotations:
        assert ann.xref == "paper" and ann.yref == "paper", f"annotation {ann.text!r} is pinned to data, may collide"
        size = (ann.font.size if ann.font and ann.font.size else 12) * 1.1
        w, h = 0.6 * size * len(ann.text or ""), size * 1.3
        x, y = ann.x * width, ann.y * height
        x0 = x - w / 2 if ann.xanchor in (None, "auto", "center") else (x if ann.xanchor == "left" else x - w)
        y0 = y - h / 2 if ann.yanchor in (None, "auto", "middle") else (y if ann.yanchor == "bottom" else y - h)
        out.append((x0, y0, x0 + w, y0 + h))
    return out


def test_annotations_do_not_overlap(figs) -> None:
    _, fs = figs
    for key, fig in fs.items():
        boxes = _boxes(fig)
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                apart = a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
                assert apart, (key, a, b)


def test_latency_axis_starts_at_zero_in_ms(payments) -> None:
    _, fs = payments
    lay = fs["error_ratio"].layout
    assert lay.yaxis2.rangemode == "tozero" and lay.yaxis2.ticksuffix == " ms" and lay.yaxis2.range is None
    assert lay.yaxis.rangemode == "tozero" and lay.yaxis.tickformat == ".0%"
    names = [t.name for t in fs["error_ratio"].data]
    assert names == ["error ratio", "p95 latency (ms, right axis)"]


def test_error_ratio_golden(payments) -> None:
    """The payments sample's error-ratio figure: its legend, in order (expected.yaml's times and changes)."""
    _, fs = payments
    assert _legend(fs["error_ratio"]) == [
        "error ratio",
        "p95 latency (ms, right axis)",
        "impact 14:19–14:59",
        "change payments-api v2.14.3 14:18",
        "change notifications-worker v3.2.7 14:03",
        "change ledger-service v1.31.0 13:43",
        "rollback v2.14.2 14:38",
        "impact start 14:19",
        "detected 14:23",
        "acknowledged 14:25",
        "declared 14:28",
        "mitigated 14:59",
        "resolved 15:47",
    ]


def test_burn_rate_lines_are_distinct_and_colour_blind_safe(figs) -> None:
    _, fs = figs
    slo = next(f for k, f in fs.items() if k.startswith("slo_"))
    burn = [t for t in slo.data if t.name.startswith("burn rate")]
    assert len(burn) == 4
    styles = {(t.line.color, t.line.dash) for t in burn}
    colours = {t.line.color for t in burn}
    assert len(styles) == len(colours) == 4 and colours <= set(OKABE_ITO.values())
    assert styles == set(BURN_STYLES.values())
    # a long window solid, its short window dotted
    by = {t.name.split(" (")[0]: t.line.dash for t in burn}
    assert by == {"burn rate 1h": "solid", "burn rate 5m": "dot", "burn rate 6h": "solid", "burn rate 30m": "dot"}
    other = {s["line"]["color"] for s in _lines(slo) if s["type"] == "line"}
    assert not (other & colours), "a threshold, replay or page line shares a burn-rate colour"


def test_slo_golden(payments) -> None:
    _, fs = payments
    assert _legend(fs["slo_availability"]) == [
        "budget left",
        "burn rate 1h",
        "burn rate 5m",
        "burn rate 6h (not enough history)",
        "burn rate 30m",
        "threshold 14.4x (2% in 1h)",
        "threshold 6x (5% in 6h)",
        "2% in 1h would have fired 14:29",
        "first page 14:23",
        "impact 14:19–14:59",
    ]


def test_swimlane_opens_on_the_incident_and_fits_its_legend(figs) -> None:
    a, fs = figs
    sw = fs["swimlane"]
    times = [m.ts for m in a.milestones.items if m.ts]
    lo, hi = (v if isinstance(v, dt.datetime) else dt.datetime.fromisoformat(str(v)) for v in sw.layout.xaxis.range)
    assert lo == min(times) - dt.timedelta(hours=1) and hi == max(times) + dt.timedelta(minutes=15)
    assert sw.layout.height >= 110 + figures.LEGEND_ROW * len(_legend(sw))


# --- PNG ------------------------------------------------------------------------------------

png = pytest.mark.skipif(browser_path() is None, reason="no Chromium/Chrome on this machine for kaleido")


def _decode_png(data: bytes) -> np.ndarray:
    """An 8-bit RGB/RGBA non-interlaced PNG (what kaleido writes) as an array of rows × columns × channels."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    assert header is not None
    width, height, depth, ctype, _, _, interlace = header
    assert depth == 8 and ctype in (2, 6) and interlace == 0, header
    ch = 3 if ctype == 2 else 4
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, 1 + width * ch)
    out = np.zeros((height, width * ch), dtype=np.int32)
    prev = np.zeros(width * ch, dtype=np.int32)
    for r in range(height):
        f, line = raw[r, 0], raw[r, 1:].astype(np.int32)
        cur = np.zeros_like(line)
        if f == 0:
            cur = line
        elif f == 2:
            cur = (line + prev) & 0xFF
        elif f in (1, 3, 4):
            for i in range(len(line)):  # left-dependent filters: kaleido rarely uses them; small images
                left = cur[i - ch] if i >= ch else 0
                up, ul = prev[i], (prev[i - ch] if i >= ch else 0)
                if f == 1:
                    pred = left
                elif f == 3:
                    pred = (left + up) // 2
                else:
                    p = left + up - ul
                    pa, pb, pc = abs(p - left), abs(p - up), abs(p - ul)
                    pred = left if pa <= pb and pa <= pc else (up if pb <= pc else ul)
                cur[i] = (line[i] + pred) & 0xFF
        out[r], prev = cur, cur
    return out.reshape(height, width, ch)[:, :, :3]


def _has_colour(img: np.ndarray, hex_colour: str, tolerance: int = 40, min_pixels: int = 20) -> bool:
    rgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
    close = np.abs(img - rgb).max(axis=2) <= tolerance
    return int(close.sum()) >= min_pixels


@png
def test_png_snapshot_size_and_colours(payments) -> None:
    import plotly.io as pio

    _, fs = payments
    slo = fs["slo_availability"]
    img = _decode_png(pio.to_image(slo, format="png", width=1000, height=600))
    assert img.shape == (600, 1000, 3)
    for colour, _dash in BURN_STYLES.values():
        assert _has_colour(img, colour), colour
    # kaleido's own layout of the error-ratio figure: the latency axis it computed starts at 0
    full = fs["error_ratio"].full_figure_for_development(warn=False)
    assert full.layout.yaxis2.range[0] == 0 and full.layout.yaxis.range[0] == 0


def test_non_production_changes_are_not_drawn_as_change_lines() -> None:
    """A staging deploy beside the production error ratio reads as a cause: the figure draws the top
    suspects that went to production (or say no environment); the staging one stays in the suspects table."""
    ts = dt.datetime(2025, 3, 11, 10, 0, tzinfo=dt.UTC)
    suspects = pl.DataFrame(
        {
            "ts": [ts, ts, ts, ts],
            "service": ["checkout", "checkout", "cart", "search"],
            "environment": ["staging", "production", None, "prod"],
        }
    )
    got = figures.change_lines(suspects)
    assert got.get_column("environment").to_list() == ["production", None, "prod"]
    assert figures.change_lines(suspects.drop("environment")).height == 3


def test_checkout_sample_draws_no_staging_line() -> None:
    a = analyze(pmkit.Incident.load(SAMPLES / "INC-2025-0311-checkout"))
    staging = a.suspects.filter(pl.col("environment").str.contains("(?i)stag").fill_null(False))
    assert staging.height, "the checkout sample plants a staging deploy at the same time"
    fig = figures.incident_figures(a)["error_ratio"]
    names = " ".join(str(s.get("name") or "") for s in _lines(fig))
    for r in staging.iter_rows(named=True):
        assert r["version"] and r["version"] not in names, names
    prod = a.suspects.filter(pl.col("environment") == "production").row(0, named=True)
    assert prod["version"] in names, names  # the production suspect is still drawn
