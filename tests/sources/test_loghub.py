"""Loghub agreement: each system's grok preset against loghub's structured ground truth.

For every loghub 2k sample present, the preset's captures are compared with the
``*_structured.csv`` columns: Content (= our message) and the header fields. Both
sides are compared after stripping (loghub strips each line, and our message keeps
the line's trailing blanks) and collapsing runs of blanks (``Jun  4`` is ``Jun 4``
once split into Month/Date). Columns that loghub mislabels are compared with what
they really hold (``docs/loghub-agreement.md`` lists them).

``python tests/sources/test_loghub.py`` rewrites the table in docs/loghub-agreement.md;
the test fails when the table there is not what the code gives.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from pmkit.sources import textio
from pmkit.sources.base import LoadRequest, run
from pmkit.sources.grokcore import compile_grok
from pmkit.sources.logs.grok import PRESETS

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "loghub-agreement.md"
BEGIN, END = "<!-- agreement-table -->", "<!-- /agreement-table -->"


def _join(*cols: str, sep: str = " ") -> pl.Expr:
    return pl.concat_str([pl.col(c) for c in cols], separator=sep)


@dataclass(frozen=True)
class System:
    preset: str
    fields: dict[str, pl.Expr]  # our capture -> ground-truth expression
    mislabelled: str = ""


SYSTEMS: dict[str, System] = {
    "Android": System("android", {"ts": _join("Date", "Time"), "pid": pl.col("Pid"), "tid": pl.col("Tid"),
                                  "level": pl.col("Level"), "component": pl.col("Component")}),
    "Apache": System("apache-error", {"ts": pl.col("Time"), "level": pl.col("Level")},
                     "Content keeps the `[client ip]` prefix; the preset keeps it in the message too and also "
                     "captures `client`"),
    "HDFS": System("hdfs", {"ts": _join("Date", "Time"), "pid": pl.col("Pid"), "level": pl.col("Level"),
                            "component": pl.col("Component")},
                   "`Date`=`081109` (yyMMdd) and `Time`=`203615` (HHmmss) are compact, not ISO"),
    "Hadoop": System("hadoop", {"ts": _join("Date", "Time"), "level": pl.col("Level"), "thread": pl.col("Process"),
                                "component": pl.col("Component")},
                     "`Process` is the log4j thread name; `Time` has comma milliseconds (`18:01:47,978`)"),
    "HealthApp": System("healthapp", {"ts": pl.col("Time"), "component": pl.col("Component"), "pid": pl.col("Pid")},
                        "`Time` has unpadded fields and milliseconds (`20171224-0:10:9:43`)"),
    "Linux": System("linux", {"ts": _join("Month", "Date", "Time"), "host": pl.col("Level"),
                              "component": pl.col("Component"), "pid": pl.col("PID")},
                    "`Level` is the hostname (`combo`): compared with `host`"),
    "OpenSSH": System("openssh", {"ts": _join("Date", "Day", "Time"), "host": pl.col("Component"),
                                  "pid": pl.col("Pid")},
                      "`Date` is the month, `Day` the day, `Component` the host (`LabSZ`): compared as "
                      "month-day-time and `host`"),
    "Proxifier": System("proxifier", {"ts": pl.col("Time"), "program": pl.col("Program")}),
    "Spark": System("spark", {"ts": _join("Date", "Time"), "level": pl.col("Level"),
                              "component": pl.col("Component")}),
    "Zookeeper": System("zookeeper", {"ts": _join("Date", "Time"), "level": pl.col("Level"),
                                      "bracket": pl.format("{}:{}@{}", "Node", "Component", "Id")},
                        "`Node`/`Component`/`Id` split `[thread:Class@line]` at the wrong `:` "
                        "(`QuorumPeer[myid=1]/0` / `0:0:0:0:0:0:0:2181:FastLeaderElection` / `774`): compared "
                        "re-joined as `Node:Component@Id` = `thread:component@line`"),
}  # fmt: skip


def _norm(e: pl.Expr) -> pl.Expr:
    return e.cast(pl.String).str.replace_all(r"\s+", " ").str.strip_chars()


@dataclass(frozen=True)
class Agreement:
    system: str
    preset: str
    engine: str
    lines: int
    matched: int
    content: int
    fields: dict[str, int]
    all_agree: int
    literal: dict[str, int]  # mislabelled column -> lines where it holds what its name says

    @property
    def percent(self) -> float:
        return 100.0 * self.all_agree / self.lines


def agreement(real: Path, system: str) -> Agreement:
    spec = SYSTEMS[system]
    preset = PRESETS[spec.preset]
    cg = compile_grok(preset.pattern, preset.patterns)
    lines = textio.read_lines(real / "loghub" / system / f"{system}_2k.log")  # drops the CR of CRLF
    ext = cg.extract(lines)
    truth = pl.read_csv(real / "loghub" / system / f"{system}_2k.log_structured.csv", infer_schema=False)
    assert truth.height == lines.height and truth["LineId"].to_list() == [str(i) for i in range(1, lines.height + 1)]
    df = pl.concat([ext, truth], how="horizontal")
    ours = {f: pl.col(f"grok.{f}") for f in cg.fields}
    ours["bracket"] = (
        pl.format("{}:{}@{}", "grok.thread", "grok.component", "grok.line") if system == "Zookeeper" else None
    )
    checks = {"Content": _norm(pl.col("grok.message")).eq_missing(_norm(pl.col("Content").fill_null("")))}
    for f, gt in spec.fields.items():
        checks[f] = _norm(ours[f]).eq_missing(_norm(gt))
    res = df.select(pl.col("matched"), **checks).with_columns(pl.all_horizontal(*checks).alias("_all"))
    literal: dict[str, int] = {}
    if system == "Zookeeper":  # how often loghub's own split gets the thread and the class right
        literal = {
            "Node": int(df.select((pl.col("Node") == pl.col("grok.thread")).sum()).item()),
            "Component": int(df.select((pl.col("Component") == pl.col("grok.component")).sum()).item()),
        }
    return Agreement(
        system,
        spec.preset,
        cg.engine,
        lines.height,
        int(res["matched"].sum()),
        int(res["Content"].sum()),
        {f: int(res[f].sum()) for f in spec.fields},
        int(res["_all"].sum()),
        literal,
    )


def table(results: list[Agreement]) -> str:
    head = "| system | preset | engine | lines | matched | Content agrees | header fields agree | all agree |"
    out = [head, "|---|---|---|---:|---:|---:|---|---:|"]
    for a in results:
        fields = ", ".join(f"{f} {n}" for f, n in a.fields.items())
        out.append(
            f"| {a.system} | `{a.preset}` | {a.engine} | {a.lines} | {a.matched} | {a.content} | {fields} | "
            f"{a.all_agree} ({a.percent:.2f}%) |"
        )
    for a in results:
        if a.literal:
            said = " and ".join(f"`{col}` on {n}" for col, n in a.literal.items())
            out.append(f"\nTaken literally, {a.system}'s mislabelled split is right ({said}) of {a.lines} lines.")
    return "\n".join(out)


def _systems(real: Path) -> list[str]:
    return [s for s in SYSTEMS if (real / "loghub" / s / f"{s}_2k.log").is_file()]


def test_every_present_system_agrees_with_its_ground_truth(real: Path) -> None:
    systems = _systems(real)
    assert len(systems) == 10
    results = [agreement(real, s) for s in systems]
    text = table(results)
    print("\n" + text)
    for a in results:
        assert a.engine == "polars", a.system
        assert a.matched == a.lines, a.system
        assert a.percent >= 99.5, (a.system, a)
    zk = next(a for a in results if a.system == "Zookeeper")
    assert zk.literal["Node"] < zk.lines / 2  # the ground truth's own split is mostly wrong
    doc = DOC.read_text()
    block = doc[doc.index(BEGIN) + len(BEGIN) : doc.index(END)].strip()
    assert block == text, "docs/loghub-agreement.md is stale: run `python tests/sources/test_loghub.py`"


@pytest.mark.parametrize("system", list(SYSTEMS))
def test_presets_load_every_line(real: Path, system: str) -> None:
    path = real / "loghub" / system / f"{system}_2k.log"
    if not path.is_file():
        pytest.skip(f"{system} sample absent")
    res = run(LoadRequest("logs", "grok", str(path), options={"preset": SYSTEMS[system].preset}, year=2005))
    assert (res.inputs, res.parsed, res.rejected) == (2000, 2000, 0)
    assert res.frame["ts"].null_count() == 0
    first = path.read_text().splitlines()[0]
    stamp = re.sub(r"\s+", " ", res.frame["message"][0])
    assert stamp.strip() in re.sub(r"\s+", " ", first)


def _write_doc(real: Path) -> None:
    results = [agreement(real, s) for s in _systems(real)]
    doc = DOC.read_text()
    start, end = doc.index(BEGIN) + len(BEGIN), doc.index(END)
    DOC.write_text(doc[:start] + "\n" + table(results) + "\n" + doc[end:])
    print(table(results))


if __name__ == "__main__":
    _write_doc(Path(os.environ.get("PMKIT_SHARED", ROOT.parent / "shared")) / "data" / "real")
    sys.exit(0)
