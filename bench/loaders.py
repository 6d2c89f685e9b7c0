"""Benchmark of the log loaders against the obvious alternatives; prints a table, ratios and PASS/FAIL.

    .venv/bin/python bench/loaders.py             # 1,000,000 lines per file (generated once into bench/data/)
    .venv/bin/python bench/loaders.py --lines 100000 --repeat 1

Every contender runs in a fresh subprocess, so its peak RSS is its own (``VmHWM`` of the
child, interpreter and imports included). The contenders run in interleaved rounds (each once
per round, ``--repeat`` rounds), never back to back. Times are per line with start-up and imports
excluded, the median of the rounds; CPU time (user + system) is printed beside wall
time because wall time on a shared machine also measures the neighbours. Slow contenders run
on a subset and are extrapolated, which the table says.

Targets (from the issue): combined access log end to end (``run()`` + parquet, as ``pmkit
load -o out.parquet``) >= 30x pygrok and within 4x of reading the lines unparsed; JSON lines
within 2x of ``pl.read_ndjson``'s default read and 1.0x of its lossless one (schema from every row, issue 13);
peak RSS <= 2x the file size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"

# ---------------------------------------------------------------------------- data

_UAS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.6261.64 Mobile Safari/537.36",
    "curl/8.5.0",
    "python-requests/2.31.0",
    "Go-http-client/2.0",
    "okhttp/4.12.0",
    "kube-probe/1.29",
    "Prometheus/2.50.1",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    'Mozilla/5.0 (compatible; \\"Scanner\\" 1.0; +https://scan.example.net)',
    'PaymentsSDK/3.4.1 (Java 17; \\"prod\\")',
    "-",
]
_PATHS = [
    "/api/v1/payments",
    "/api/v1/payments/{id}",
    "/api/v1/payments/{id}/refunds",
    "/api/v1/users/{id}/orders?page={n}",
    "/api/v1/cart?session={hex}",
    "/search?q=blue+shoes&page={n}",
    "/static/js/app.{hex}.js",
    "/static/css/site.{hex}.css",
    "/healthz",
    "/login",
    "/checkout",
    "/",
]
T0 = dt.datetime(2025, 3, 14, 13, 0, tzinfo=dt.UTC)


def _ip(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.03:
        return f"2001:db8:{rng.randrange(65536):x}::{rng.randrange(65536):x}"
    ip = f"{rng.choice((81, 93, 172, 203, 198))}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    if r < 0.08:  # behind a proxy: an X-Forwarded-For chain
        return f"{ip}, 10.0.{rng.randrange(256)}.{rng.randrange(256)}"
    return ip


def gen_access(path: Path, n: int, seed: int = 1) -> None:
    """``n`` combined lines over one day: varied clients (IPv6, forwarded chains), paths, statuses (a 5xx burst
    in the middle), user agents with escaped quotes, ``rt=`` on every line, ``uid=`` on 40%, and a line cut
    short every 50,000 lines."""
    rng = random.Random(seed)
    stamps = [(T0 + dt.timedelta(seconds=s)).strftime("%d/%b/%Y:%H:%M:%S +0000") for s in range(86_400)]
    methods = ["GET"] * 80 + ["POST"] * 12 + ["PUT"] * 3 + ["DELETE"] * 2 + ["HEAD"] * 2 + ["OPTIONS"]
    ok = [200] * 85 + [304] * 5 + [301] * 2 + [404] * 4 + [401] * 2 + [499, 500]
    burst = [200] * 50 + [502] * 25 + [503] * 15 + [504] * 10
    out: list[str] = []
    for i in range(n):
        status = rng.choice(burst if 0.45 * n < i < 0.5 * n else ok)
        p = rng.choice(_PATHS).format(id=rng.randrange(10**6), n=rng.randrange(1, 20), hex=f"{rng.getrandbits(32):08x}")
        size = "-" if status in (304, 499) else str(rng.randrange(0, 60_000))
        ref = "-" if rng.random() < 0.6 else f"https://shop.example.com/api/v1/payments/{rng.randrange(100)}"
        user = "-" if rng.random() < 0.95 else rng.choice(("alice", "bob", "svc-batch"))
        rt = rng.expovariate(1 / 0.08) * (20 if status >= 500 else 1)
        proto = "HTTP/2.0" if rng.random() < 0.15 else "HTTP/1.1"
        line = (
            f'{_ip(rng)} - {user} [{stamps[i * 86_400 // n]}] "{rng.choice(methods)} {p} {proto}" {status} {size} '
            f'"{ref}" "{rng.choice(_UAS)}" rt={rt:.3f}'
        )
        if rng.random() < 0.4:
            line += f" uid=cus_{rng.randrange(10**5):05d}"
        if i % 50_000 == 49_999:
            line = line[: rng.randrange(10, 60)]  # a write cut short
        out.append(line)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out) + "\n")


def gen_jsonl(path: Path, n: int, seed: int = 2) -> None:
    """``n`` structured app-log lines: flat and nested fields; errors carry an escaped multi-line traceback."""
    rng = random.Random(seed)
    step = 86_400 / max(n, 1)
    levels = ["info"] * 80 + ["debug"] * 8 + ["warn"] * 7 + ["error"] * 5
    msgs = ["request completed", "cache miss", "payment authorised", "retrying upstream call", "db pool exhausted"]
    out: list[str] = []
    for i in range(n):
        rec: dict[str, object] = {
            "ts": (T0 + dt.timedelta(seconds=i * step)).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": rng.choice(levels),
            "msg": rng.choice(msgs),
            "service": rng.choice(("payments", "checkout", "gateway")),
            "trace_id": f"{rng.getrandbits(64):016x}",
            "user_id": f"cus_{rng.randrange(10**5):05d}",
            "http": {"method": rng.choice(("GET", "POST")), "status": rng.choice((200, 200, 200, 201, 404, 502))},
            "duration_ms": round(rng.expovariate(1 / 40), 2),
        }
        if rec["level"] == "error":
            rec["exc"] = (
                'Traceback (most recent call last):\n  File "app.py", line 42, in handle\n'
                "    pay(order)\nTimeoutError: upstream timed out"
            )
        out.append(json.dumps(rec, separators=(",", ":")))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out) + "\n")


def data_files(n: int) -> tuple[Path, Path]:
    """The generated files for ``n`` lines (made once, then reused)."""
    access, app = DATA / f"access-{n}.log", DATA / f"app-{n}.jsonl"
    for path, kind in ((access, "access"), (app, "json")):
        if not path.exists():
            print(f"generating {path.relative_to(DATA.parent.parent)} ({n:,} lines)...", flush=True)
            # in a child, so this process stays small
            subprocess.run(
                [sys.executable, __file__, "--generate", kind, "--file", str(path), "--lines", str(n)], check=True
            )
    return access, app


# ---------------------------------------------------------------------------- contenders (run in a child)

COMBINED_RE = (
    r'^(?P<client>\S+) (?P<ident>\S+) (?P<user>\S+) \[(?P<ts>[^\]]+)\] "(?P<request>(?:[^"\\]|\\.)*)" '
    r'(?P<status>\d{3}) (?P<bytes>\d+|-) "(?P<referer>(?:[^"\\]|\\.)*)" "(?P<agent>(?:[^"\\]|\\.)*)"(?P<rest>.*)$'
)


def _head(path: Path, k: int) -> list[str]:
    with path.open(encoding="utf-8") as fh:
        return [line.rstrip("\n") for _, line in zip(range(k), fh, strict=False)]


def _floor(path: Path, k: int) -> int:
    """Polars reading the same lines unparsed (one string column), as the loader's reader does."""
    from pmkit.sources.linescan import scan_lines

    return scan_lines(path).collect().height


def _pmkit(path: Path, k: int) -> int:
    """``pmkit load FILE --kind logs --format combined -o out.parquet``, minus start-up."""
    from pmkit.cli_commands import write_frame
    from pmkit.sources.base import LoadRequest, run

    res = run(LoadRequest(kind="logs", format="combined", path=str(path)))
    write_frame(res.frame, str(DATA / "out-combined.parquet"))
    return res.inputs


def _pmkit_no_write(path: Path, k: int) -> int:
    from pmkit.sources.base import LoadRequest, run

    return run(LoadRequest(kind="logs", format="combined", path=str(path))).inputs


def _scan_window(path: Path, k: int) -> int:
    """The lazy path for files larger than memory: a five-minute window, filtered while scanning."""
    from pmkit.sources.logs.access import scan_access_log

    start = T0 + dt.timedelta(hours=11)
    lf = scan_access_log(path, window=(start, start + dt.timedelta(minutes=5)))
    lf.collect(engine="streaming")
    with path.open("rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 22), b""))


def _pygrok(path: Path, k: int) -> int:
    from pygrok import Grok

    grok = Grok("%{COMBINEDAPACHELOG}")
    lines = _head(path, k)
    t0 = time.perf_counter()
    for line in lines:
        grok.match(line)
    _mark(t0)
    return len(lines)


def _python_re(path: Path, k: int) -> int:
    import re

    rx = re.compile(COMBINED_RE)
    lines = _head(path, k)
    t0 = time.perf_counter()
    for line in lines:
        m = rx.match(line)
        if m:
            m.groupdict()
    _mark(t0)
    return len(lines)


def _pandas(path: Path, k: int) -> int:
    import pandas as pd

    lines = pd.Series(_head(path, k))
    t0 = time.perf_counter()
    lines.str.extract(COMBINED_RE)
    _mark(t0)
    return len(lines)


def _json_pmkit(path: Path, k: int) -> int:
    from pmkit.sources.base import LoadRequest, run

    return run(LoadRequest(kind="logs", format="jsonl", path=str(path))).inputs


def _json_pmkit_write(path: Path, k: int) -> int:
    from pmkit.cli_commands import write_frame
    from pmkit.sources.base import LoadRequest, run

    res = run(LoadRequest(kind="logs", format="jsonl", path=str(path)))
    write_frame(res.frame, str(DATA / "out-jsonl.parquet"))
    return res.inputs


def _json_polars(path: Path, k: int) -> int:
    import polars as pl

    return pl.read_ndjson(path).height


def _json_polars_all(path: Path, k: int) -> int:
    import polars as pl

    return pl.read_ndjson(path, infer_schema_length=None).height


def _json_pandas(path: Path, k: int) -> int:
    import io

    import pandas as pd

    text = "\n".join(_head(path, k))
    t0 = time.perf_counter()
    pd.read_json(io.StringIO(text), lines=True)
    _mark(t0)
    return text.count("\n") + 1


_T_WORK: list[float] = []


def _mark(t0: float) -> None:
    """Contenders that read their input first time only the parsing (reading a list of lines is not parsing)."""
    _T_WORK.append(time.perf_counter() - t0)


CONTENDERS: dict[str, tuple[str, Callable[[Path, int], int], int | None]] = {
    # name: (file, function, subset lines or None for the whole file)
    "floor: polars lines, unparsed": ("access", _floor, None),
    "pmkit combined + parquet": ("access", _pmkit, None),
    "pmkit combined (no write)": ("access", _pmkit_no_write, None),
    "pmkit scan_access_log, 5 min window": ("access", _scan_window, None),
    "pygrok COMBINEDAPACHELOG per line": ("access", _pygrok, 50_000),
    "python re per line": ("access", _python_re, 200_000),
    "pandas str.extract": ("access", _pandas, 200_000),
    "pl.read_ndjson (default)": ("json", _json_polars, None),
    "pl.read_ndjson (infer all rows)": ("json", _json_polars_all, None),
    "pmkit jsonl": ("json", _json_pmkit, None),
    "pmkit jsonl + parquet": ("json", _json_pmkit_write, None),
    "pandas read_json(lines=True)": ("json", _json_pandas, 200_000),
}


def child(name: str, path: Path) -> dict[str, Any]:
    """Run one contender here and return its measurements."""
    import polars  # noqa: F401  (imports are start-up, not work)

    import pmkit.cli  # noqa: F401
    from pmkit.sources import registry

    registry.formats()  # the registry imports every loader module on first use: start-up too

    _, func, subset = CONTENDERS[name]
    c0, w0 = os.times(), time.perf_counter()
    lines = func(path, subset or 0)
    wall, c1 = time.perf_counter() - w0, os.times()
    cpu = c1.user - c0.user + c1.system - c0.system
    if _T_WORK:  # per-line contenders: only the parsing loop
        cpu *= _T_WORK[0] / wall
        wall = _T_WORK[0]
    return {"lines": lines, "wall": wall, "cpu": cpu, "rss": peak_rss()}


def peak_rss() -> int:
    """This process's peak resident set in bytes.

    ``VmHWM`` rather than ``ru_maxrss``: Linux carries ``ru_maxrss`` over fork and exec, so a
    child would report its parent's peak.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# ---------------------------------------------------------------------------- parent


def run_once(name: str, path: Path) -> dict[str, Any]:
    """One run of one contender in a fresh process."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", name, "--file", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        raise SystemExit(f"{name} failed:\n{out.stderr}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median wall and CPU seconds and the largest peak RSS of a contender's runs."""
    return {
        "lines": runs[0]["lines"],
        "wall": statistics.median(r["wall"] for r in runs),
        "cpu": statistics.median(r["cpu"] for r in runs),
        "rss": max(r["rss"] for r in runs),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=1_000_000, help="lines per generated file (default 1,000,000)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per contender; the median is reported (default 3)")
    ap.add_argument("--only", help="run only contenders whose name contains this text")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--file", help=argparse.SUPPRESS)
    ap.add_argument("--generate", choices=["access", "json"], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, Path(args.file))))
        return 0
    if args.generate:
        (gen_access if args.generate == "access" else gen_jsonl)(Path(args.file), args.lines)
        return 0

    import polars as pl

    access, app = data_files(args.lines)
    files = {"access": access, "json": app}
    print(
        f"polars {pl.__version__}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; "
        f"median of {args.repeat} interleaved rounds, each run in a fresh process"
    )
    for key, path in files.items():
        print(f"{key}: {path.name}, {path.stat().st_size / 2**20:,.0f} MiB")
    rows: dict[str, dict[str, Any]] = {}
    chosen = [name for name in CONTENDERS if not args.only or args.only in name]
    # interleaved rounds: every contender once per round, so a neighbour's burst on the shared machine lands on
    # all of them rather than on every repeat of one (back-to-back repeats of one contender mislead)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in chosen}
    for i in range(args.repeat):
        print(f"round {i + 1}/{args.repeat}: " + ", ".join(chosen), flush=True)
        for name in chosen:
            runs[name].append(run_once(name, files[CONTENDERS[name][0]]))
    for name in chosen:
        key, _, subset = CONTENDERS[name]
        r = summarise(runs[name])
        total = args.lines if subset else r["lines"]
        r["rate"] = r["lines"] / r["wall"]
        r["cpu_rate"] = r["lines"] / max(r["cpu"], 0.01)
        r["note"] = f"{r['lines']:,}-line subset, extrapolated" if subset and r["lines"] < args.lines else ""
        r["full_wall"] = total / r["rate"]
        r["full_cpu"] = total / r["cpu_rate"]
        r["size"] = files[key].stat().st_size
        rows[name] = r
        print(
            f"  {name:38s} wall {r['full_wall']:7.2f} s  cpu {r['full_cpu']:7.2f} s  {r['rate'] / 1e3:8,.0f}k lines/s  "
            f"{r['cpu_rate'] / 1e3:7,.0f}k lines/cpu-s  peak RSS {r['rss'] / 2**20:6,.0f} MiB "
            f"({r['rss'] / r['size']:.1f}x file)  {r['note']}",
            flush=True,
        )
    report(rows)
    return 0


def report(rows: dict[str, dict[str, Any]]) -> None:
    def get(name: str) -> dict[str, Any] | None:
        return rows.get(name)

    def ratio(a: str, b: str, key: str = "rate") -> float | None:
        ra, rb = get(a), get(b)
        return ra[key] / rb[key] if ra and rb else None

    print(
        "\ntargets, on wall time; [cpu] is the same ratio on lines per CPU-second, which a busy machine changes "
        "less (polars uses every core, the per-line contenders one)"
    )
    checks = [
        ("combined >= 30x pygrok", ratio("pmkit combined + parquet", "pygrok COMBINEDAPACHELOG per line"), 30, ">="),
        (
            "combined within 4x of the raw read",
            ratio("floor: polars lines, unparsed", "pmkit combined + parquet"),
            4,
            "<=",
        ),
        ("JSON lines within 2x of pl.read_ndjson's default", ratio("pl.read_ndjson (default)", "pmkit jsonl"), 2, "<="),
        (
            "JSON lines within 1.0x of the lossless pl.read_ndjson",
            ratio("pl.read_ndjson (infer all rows)", "pmkit jsonl"),
            1.0,
            "<=",
        ),
    ]
    cpu_ratios = [
        ratio("pmkit combined + parquet", "pygrok COMBINEDAPACHELOG per line", "cpu_rate"),
        ratio("floor: polars lines, unparsed", "pmkit combined + parquet", "cpu_rate"),
        ratio("pl.read_ndjson (default)", "pmkit jsonl", "cpu_rate"),
        ratio("pl.read_ndjson (infer all rows)", "pmkit jsonl", "cpu_rate"),
    ]
    for (label, value, limit, op), cpu in zip(checks, cpu_ratios, strict=True):
        if value is None:
            continue
        ok = value >= limit if op == ">=" else value <= limit
        extra = f" [cpu {cpu:.1f}x]" if cpu is not None else ""
        print(f"  {'PASS' if ok else 'FAIL'}  {label}: {value:.1f}x{extra}")
    for name in ("pmkit combined + parquet", "pmkit jsonl", "pmkit scan_access_log, 5 min window"):
        r = get(name)
        if r:
            x = r["rss"] / r["size"]
            print(f"  {'PASS' if x <= 2 else 'FAIL'}  peak RSS <= 2x the file size, {name}: {x:.1f}x")


if __name__ == "__main__":
    raise SystemExit(main())
