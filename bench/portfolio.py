"""How long a portfolio takes to open, cold and cached: ``Portfolio.load`` over generated incidents.

    .venv/bin/python bench/portfolio.py                        # 196 documents + 4 evidence folders = 200
    .venv/bin/python bench/portfolio.py --documents 190 --folders 10 --dir /tmp/pf --rounds 2

Generates (never committed: into ``--dir`` or a temporary folder) a corpus with ``samplegen.portfolio``:
``--documents`` postmortem documents with front matter and ``--folders`` evidence folders (copies of the
bundled samples under new ids: each is a whole incident, analysed as ``pmkit analyze`` does). Then, each
run a fresh process so imports are counted as a user pays them:

* ``cold``: an empty cache folder (``PMKIT_CACHE_DIR`` a new temporary folder): every folder's sources are
  parsed and every folder analysed (in parallel processes, ``--jobs``), every document read;
* ``cached``: the same cache folder again: every folder's row comes from the row cache (the folder's files
  are hashed to find it), the documents are read again (they are small).

Prints wall seconds (median of ``--rounds``) and the incidents per second; ``--json`` for a machine.
On a shared machine wall time measures the neighbours too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = """
import sys, time
t0 = time.perf_counter()
from pmkit.portfolio import Portfolio
pf = Portfolio.load(sys.argv[1], jobs=int(sys.argv[2]))
assert not pf.problems, pf.problems
print(len(pf), time.perf_counter() - t0, pf.sources.get("cached", 0), pf.sources.get("analysed", 0))
"""


def run(corpus: Path, cache_dir: Path, jobs: int) -> tuple[float, int, str]:
    env = {**os.environ, "PMKIT_CACHE_DIR": str(cache_dir), "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(corpus), str(jobs)], env=env, capture_output=True, text=True, check=True
    )
    wall = time.perf_counter() - t0
    n, inner, cached, analysed = out.stdout.split()
    return (
        wall,
        int(n),
        f"{cached} folder rows from the row cache, {analysed} folders analysed, {float(inner):.2f} s in the load",
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--documents", type=int, default=196)
    p.add_argument("--folders", type=int, default=4)
    p.add_argument("--dir", help="where to generate the corpus (default: a temporary folder)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
    from samplegen.portfolio import generate

    with tempfile.TemporaryDirectory(prefix="pmkit-bench-portfolio-") as tmp:
        corpus = Path(args.dir) if args.dir else Path(tmp) / "corpus"
        generate(corpus, n=args.documents, folders=args.folders)
        cold, cached = [], []
        n, notes = 0, {"cold": "", "cached": ""}
        for r in range(args.rounds):
            cache_dir = Path(tmp) / f"cache-{r}"
            wall, n, notes["cold"] = run(corpus, cache_dir, args.jobs)
            cold.append(wall)
            wall, n, notes["cached"] = run(corpus, cache_dir, args.jobs)
            cached.append(wall)
    result = {
        "incidents": n,
        "documents": args.documents,
        "folders": args.folders,
        "jobs": args.jobs,
        "cold_seconds": statistics.median(cold),
        "cached_seconds": statistics.median(cached),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{n} incidents ({args.documents} documents, {args.folders} evidence folders), {args.jobs} jobs")
        for name in ("cold", "cached"):
            s = result[f"{name}_seconds"]
            print(f"  {name:<7} {s:7.2f} s  {n / s:7.1f} incidents/s  ({notes[name]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
