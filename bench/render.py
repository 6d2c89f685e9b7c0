"""Benchmark of ``pmkit render`` against the notebook pipeline's floor, and of its batch parallelism.

Measured as a user runs it, each in a fresh process (interpreter start-up and imports included):

1. the floor: papermill executing an empty notebook plus nbconvert's HTMLExporter exporting it,
   in one process (the least any papermill + nbconvert pipeline pays);
2. one incident end to end: ``pmkit render data/samples/INC-2025-0142 --to html,md``;
3. a batch of 20 incidents (copies of the two samples with their own ids) with ``--jobs 1`` and
   ``--jobs 2``.

Targets: (2) within floor + 5 s; ``--jobs 2`` at least 1.7x faster than ``--jobs 1``. The
loaders' parquet caches are warm in every run (a re-render), so the runs compare like with like.
Each measure is repeated and judged on its best run, as ``timeit`` does: on a shared machine the
slower runs measure the other processes. The CPU seconds of each run's process tree are printed
too (``cores busy`` = CPU / wall shows how much of the machine a run actually got).
Run: ``.venv/bin/python bench/render.py [--repeat 3] [--batch 20] [--batch-repeat 2]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
SAMPLE = SAMPLES / "INC-2025-0142"
RENDER = [sys.executable, "-m", "pmkit.cli", "render", "--no-progress"]

FLOOR_SCRIPT = """
import sys
import nbformat
import papermill
from nbconvert import HTMLExporter

nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("")])
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
src, out = sys.argv[1] + "/empty.ipynb", sys.argv[1] + "/empty.out.ipynb"
nbformat.write(nb, src)
executed = papermill.execute_notebook(src, out, kernel_name="python3", progress_bar=False)
html, _ = HTMLExporter().from_notebook_node(executed)
open(sys.argv[1] + "/empty.html", "w").write(html)
"""


@dataclass(frozen=True)
class Run:
    """One timed command: wall seconds, and CPU seconds of its whole process tree (workers, kernels)."""

    wall: float
    cpu: float


def timed(cmd: list[str], *, cwd: Path = ROOT) -> Run:
    """Run a command in a fresh process and time it; its failure is the benchmark's failure."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}")
    return Run(wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))


def median(runs: list[Run]) -> Run:
    return sorted(runs, key=lambda r: r.wall)[len(runs) // 2]


def best(runs: list[Run]) -> Run:
    """The fastest run: the least other processes interfered with (as ``timeit`` reports)."""
    return min(runs, key=lambda r: r.wall)


def copies(n: int, dest: Path) -> list[Path]:
    """``n`` incident folders: the samples in turn, each with a distinct id, loader caches warmed."""
    from pmkit.incident import Incident

    samples = sorted(p.parent for p in SAMPLES.glob("*/incident.yaml"))
    out = []
    for i in range(n):
        src = samples[i % len(samples)]
        d = dest / f"{src.name}-c{i:02d}"
        shutil.copytree(src, d, ignore=shutil.ignore_patterns(".pmkit-cache"))
        spec = d / "incident.yaml"
        text, k = re.subn(r"(?m)^id: (.+)$", rf"id: \1-c{i:02d}", spec.read_text())
        assert k == 1, f"{spec}: no id line"
        spec.write_text(text)
        Incident.load(d)  # fill the parquet cache, as a previous render would have
        out.append(d)
    return out


def load_average() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs of the floor and of the single incident")
    ap.add_argument("--batch", type=int, default=20, help="incidents in the batch")
    ap.add_argument("--batch-repeat", type=int, default=2, help="runs of each batch (--jobs 1 and 2 alternate)")
    args = ap.parse_args()

    import importlib.util

    print(
        f"pmkit render benchmark: {platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores"
    )
    lab = importlib.util.find_spec("jupyterlab") is not None
    print(f"jupyterlab installed: {lab} (it slows the pipeline's imports; see DESIGN.md)")
    print(f"load average at start: {load_average()} (other processes on the machine make every figure noisier)")
    floor_runs: list[Run] = []
    one_runs: list[Run] = []
    batch: dict[int, list[Run]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory(prefix="pmkit-bench-") as tmp:
        tmpd = Path(tmp)
        timed([*RENDER, str(SAMPLE), "-o", str(tmpd / "warm")])  # warm the sample's cache and the OS file cache
        for i in range(args.repeat):  # floor and incident alternate, so both see the same machine
            d = tmpd / f"floor{i}"
            d.mkdir()
            floor_runs.append(timed([sys.executable, "-c", FLOOR_SCRIPT, str(d)]))
            one_runs.append(timed([*RENDER, str(SAMPLE), "-o", str(tmpd / f"one{i}"), "--to", "html,md"]))
        dirs = copies(args.batch, tmpd / "incidents")
        for i in range(args.batch_repeat):
            for jobs in (1, 2):
                out = tmpd / f"batch{jobs}-{i}"
                batch[jobs].append(timed([*RENDER, *map(str, dirs), "-o", str(out), "--jobs", str(jobs)]))
                made = list(out.glob("*/postmortem.html"))
                assert len(made) == args.batch, f"--jobs {jobs}: {len(made)} of {args.batch} rendered"

    def walls(runs: list[Run]) -> str:
        return ", ".join(f"{r.wall:.2f}" for r in runs)

    n = args.batch
    over = best(one_runs).wall - best(floor_runs).wall
    speedup = best(batch[1]).wall / best(batch[2]).wall
    ok_one, ok_jobs = over <= 5.0, speedup >= 1.7
    print()
    print("wall seconds, best and median of the runs (all runs in brackets); judged on the best runs")
    for label, runs in (
        ("floor: papermill (empty notebook) + HTMLExporter, one process", floor_runs),
        ("one incident end to end: pmkit render INC-2025-0142 --to html,md", one_runs),
    ):
        b = best(runs)
        print(f"{label}: best {b.wall:.2f} s, median {median(runs).wall:.2f} s ({walls(runs)}); CPU {b.cpu:.1f} s")
    print(f"  one incident = floor + {over:.2f} s (target: floor + 5 s) {'PASS' if ok_one else 'FAIL'}")
    for jobs in (1, 2):
        b = best(batch[jobs])
        print(
            f"batch of {n}, --jobs {jobs}: best {b.wall:.2f} s ({b.wall / n:.2f} s per incident; CPU {b.cpu:.1f} s, "
            f"{b.cpu / b.wall:.2f} cores busy), median {median(batch[jobs]).wall:.2f} s ({walls(batch[jobs])})"
        )
    print(f"  --jobs 2 is {speedup:.2f}x faster than --jobs 1 (target: at least 1.7x) {'PASS' if ok_jobs else 'FAIL'}")
    print(f"load average at end: {load_average()}")
    return 0 if ok_one and ok_jobs else 1


if __name__ == "__main__":
    raise SystemExit(main())
