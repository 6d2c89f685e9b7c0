"""``python -m samplegen OUT_DIR [--only ID ...] [--large-lines N]``: write the sample incidents."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from samplegen import COMMITTED, INCIDENTS, generate


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m samplegen",
        description="Write the sample incidents (evidence in real export formats plus expected.yaml ground truth).",
    )
    p.add_argument("out_dir", help="folder to write into; each incident goes to OUT_DIR/<incident id>/ (replaced)")
    p.add_argument("--only", action="append", choices=list(INCIDENTS), help="generate only this incident (repeatable)")
    p.add_argument(
        "--large-lines",
        type=int,
        metavar="N",
        help="write instead the benchmark variant of INC-2025-0142 with an N-line plain access log "
        "(use a folder that is not committed)",
    )
    args = p.parse_args(argv)
    if args.large_lines is not None and args.large_lines < 1000:
        p.error("--large-lines must be at least 1000")
    if args.large_lines is not None and Path(args.out_dir).resolve() in {
        COMMITTED.resolve(),
        Path("data/samples").resolve(),
    }:
        p.error("the large variant must not go to data/samples (it is not committed); give another folder")
    t0 = time.perf_counter()
    paths = generate(args.out_dir, only=args.only, large_lines=args.large_lines)
    size = sum(path.stat().st_size for path in paths)
    roots = sorted({path.relative_to(args.out_dir).parts[0] for path in paths})
    print(
        f"wrote {len(paths)} files ({size / 1e6:.2f} MB) for {', '.join(roots)} under {args.out_dir} "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
