"""MTTD, MTTA, MTTM, MTTR and duration from the milestones.

Definitions (convention ``impact``, the default; durations in seconds):

- MTTD = detected - impact_start (time to detect)
- MTTA = acknowledged - detected (time to acknowledge)
- MTTM = mitigated - impact_start (time to mitigate)
- MTTR = resolved - impact_start (time to resolve)
- duration = mitigated - impact_start (how long users were hurt)

Convention ``detection`` measures MTTM and MTTR from detection instead (some teams start
the clock when they knew); MTTD and MTTA do not change. For one incident these are
times, not means; the "mean" appears when a portfolio of incidents is averaged.
A missing milestone gives a null, never a guess.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from pmkit.analysis.milestones import Milestones

CONVENTIONS = ("impact", "detection")


def mttx(ms: Milestones, convention: str = "impact") -> pl.DataFrame:
    """A one-row frame: mttd, mtta, mttm, mttr, duration (Duration) and the convention used."""
    if convention not in CONVENTIONS:
        raise ValueError(f"convention {convention!r} is not known; expected one of {', '.join(CONVENTIONS)}")
    t = ms.times()
    origin = t["impact_start"] if convention == "impact" else t["detected"]

    def span(a: Any, b: Any) -> Any:
        return None if a is None or b is None else b - a

    row = {
        "mttd": span(t["impact_start"], t["detected"]),
        "mtta": span(t["detected"], t["acknowledged"]),
        "mttm": span(origin, t["mitigated"]),
        "mttr": span(origin, t["resolved"]),
        "duration": span(t["impact_start"], t["mitigated"]),
        "convention": convention,
    }
    return pl.DataFrame(
        [row],
        schema={
            "mttd": pl.Duration("us"),
            "mtta": pl.Duration("us"),
            "mttm": pl.Duration("us"),
            "mttr": pl.Duration("us"),
            "duration": pl.Duration("us"),
            "convention": pl.String,
        },
    )


def mttx_seconds(ms: Milestones, convention: str = "impact") -> dict[str, Any]:
    """The same as :func:`mttx`, as a JSON-ready dict of seconds (null where unknown)."""
    row = mttx(ms, convention).row(0, named=True)
    return {k: (v.total_seconds() if hasattr(v, "total_seconds") else v) for k, v in row.items()}
