"""What a loader gets (:class:`LoadRequest`) and gives back (:class:`LoadResult`).

A loader is a plain function ``LoadRequest -> LoadResult``. :func:`run` calls it,
fills the ``source`` column, checks the frame against its contract and checks the
rule that nothing is lost: input units (lines or records) = units that went into
parsed rows + rejected units + units outside the incident window (:mod:`pmkit.sources.window`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl

from pmkit import schema, timeutil
from pmkit.errors import OutsideFolderError, SchemaError, SourceError
from pmkit.sources import registry, textio, verdict


@dataclass(frozen=True)
class LoadRequest:
    """One source to load, with its options (the same in incident.yaml and on the command line)."""

    kind: str
    format: str
    path: str
    name: str = ""
    service: str | None = None
    timezone: str | None = None
    ts_format: str | None = None
    year: int | None = None
    pattern: str | None = None
    patterns: dict[str, str] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    window: tuple[dt.datetime, dt.datetime] | None = None
    # containment: with ``root`` set, every file must resolve inside it unless ``allow_outside``;
    # ``key`` names the source in errors (``sources[2].path``)
    root: str | None = None
    allow_outside: bool = False
    key: str = ""
    # redaction where evidence enters: None = the default rules; a mapping = incident.yaml's `redaction:`
    # (disable, extra, allow, ips; pmkit.redaction.Rules.from_mapping); False = none (pmkit load --no-redact)
    redaction: dict[str, Any] | bool | None = None

    @property
    def source(self) -> str:
        return self.name or Path(self.path.rstrip("/")).name.split(".")[0] or self.kind

    def files(self) -> list[Path]:
        """The files this source names: one file, every file a glob matches, or every file in a folder.

        Hidden files are skipped; the order is sorted so loads are deterministic. A folder or a ``**``
        is not followed into symlinked folders (a link back up would make the walk endless).
        """
        return [self.check_inside(f) for f in self._found()]

    def _found(self) -> list[Path]:
        if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", self.path):
            return []  # a remote source (s3://, a lake engine's URL): no local file; its loader reads it
        p = Path(self.path)
        if p.is_file():
            return [p]
        if p.is_dir():
            found = sorted(
                f for f in p.rglob("*") if f.is_file() and not any(x.startswith(".") for x in f.relative_to(p).parts)
            )
        elif any(ch in self.path for ch in _WILDCARDS):
            found = _glob_files(self.path)
        else:
            raise SourceError(f"{self.path}: no such file or folder (source {self.source!r})")
        if not found:
            raise SourceError(f"{self.path}: matches no files (source {self.source!r})")
        return found

    def check_inside(self, path: Path) -> Path:
        """``path`` if it resolves inside the incident folder (``root``), else a :class:`SourceError` naming the key.

        ``..``, absolute paths, globs and symlinks that lead out of the folder are refused unless the source
        says ``allow_outside: true`` (or ``pmkit load --allow-outside``): evidence is read from the incident
        folder only, so a shared incident.yaml cannot make pmkit read (and quote in rejects) other files.
        """
        if self.root is None or self.allow_outside:
            return path
        root = Path(self.root).resolve()
        real = Path(path).resolve()
        if real != root and root not in real.parents:
            key = self.key or f"source {self.source!r}"
            via = "" if Path(os.path.abspath(path)) == real else f" (through a symlink, to {real})"
            raise OutsideFolderError(
                f"{key}: {path} resolves outside the incident folder {root}{via}; evidence is read from the "
                "incident folder only: copy the file in, or set allow_outside: true on this source "
                "(pmkit load --allow-outside)"
            )
        return path


_WILDCARDS = "*?["


def _glob_files(pattern: str) -> list[Path]:
    """The files ``pattern`` matches (``**`` spans folders), sorted, hidden ones skipped unless the pattern names
    them. pathlib's glob, not ``glob.glob``: that one follows symlinked folders under ``**``, and two links
    back up made it walk 2**40 paths."""
    parts = Path(pattern).parts
    first = next(i for i, part in enumerate(parts) if any(ch in part for ch in _WILDCARDS))
    base = Path(*parts[:first]) if first else Path()
    rest = list(parts[first:])
    if rest[-1] == "**":
        rest.append("*")  # glob.glob's "dir/**" is every file below; pathlib's is the folders
    hidden_ok = any(part.startswith(".") for part in rest)
    return sorted(
        f
        for f in base.glob(str(Path(*rest)))
        if f.is_file() and (hidden_ok or not any(x.startswith(".") for x in f.relative_to(base).parts))
    )


@dataclass(frozen=True)
class LoadResult:
    """A loader's output.

    ``frame`` follows the events or series contract (``source`` may be left null:
    :func:`run` fills it). ``inputs`` counts the input units (``unit``: lines or
    records); ``parsed_inputs`` counts those that went into ``frame`` (several lines
    can make one event, one record several events). ``notes`` are said in the load
    report (format sniffed, timezone assumed, fallback used...).
    """

    frame: pl.DataFrame
    rejects: pl.DataFrame
    inputs: int
    parsed_inputs: int
    unit: str = "lines"
    notes: tuple[str, ...] = ()
    table: str = "events"
    format: str = ""
    # inputs outside the request's window: counted, not parsed (the prefilter) or dropped after parsing
    outside: int = 0
    # of ``outside``, the inputs the loader parsed before its own exact window filter dropped them
    outside_parsed: int = 0
    # the typed requests frame of ``frame`` (:mod:`pmkit.sources.requests`), once the incident has built it;
    # from a loader: ``origin`` and the typed request fields of its events, which :func:`run` turns into that
    requests: pl.DataFrame | None = None
    # the query that produced the inputs, as it ran (a lake's SQL on its engine, a Prometheus pull's query_range);
    # "" for files read as they are. The document states it with the inputs it returned (docs/lake.md).
    query: str = ""

    @property
    def parsed(self) -> int:
        return self.parsed_inputs

    @property
    def rejected(self) -> int:
        return self.rejects.height


def rejects_frame(origins: Iterable[str], reasons: Iterable[str], raws: Iterable[str | None]) -> pl.DataFrame:
    """Build a rejects frame from parallel lists or Series (``source`` is filled by :func:`run`).

    Series go in as they are: turning a million rejects into Python lists costs half a second.
    """
    columns = {
        name: values if isinstance(values, pl.Series) else list(values)
        for name, values in (("origin", origins), ("reason", reasons), ("raw", raws))
    }
    return schema.conform(
        pl.DataFrame(columns, schema={"origin": pl.String, "reason": pl.String, "raw": pl.String}), "rejects"
    )


def origin_expr(path: Path | str, line_no: str = "line_no") -> pl.Expr:
    """``path:line``: where a row came from (the ``origin`` of events, series and rejects)."""
    return pl.format("{}:{}", pl.lit(str(path)), pl.col(line_no))


def dedupe_notes(notes: Iterable[str]) -> tuple[str, ...]:
    """Notes in order, each once."""
    return tuple(dict.fromkeys(notes))


def load_files(
    req: LoadRequest,
    per_file: Callable[[Path], tuple[pl.DataFrame, pl.DataFrame, int, int, list[str]]],
    outside: Callable[[Path], tuple[int, int]] | None = None,
) -> LoadResult:
    """Run a per-file parser ``path -> (events, rejects, inputs, parsed_inputs, notes)`` over every file of the
    source and sum the counts (the grok, log4j and syslog loaders). ``outside(path)``, called after the
    file's parse, gives the lines outside the window (counted in ``inputs``): dropped by the prefilter,
    and dropped after parsing."""
    events, rejects, notes = [], [], []
    inputs = parsed = n_pre = n_post = 0
    for path in req.files():
        ev, rj, n_in, n_ok, nt = per_file(path)
        events.append(ev)
        rejects.append(rj)
        inputs += n_in
        parsed += n_ok
        notes += nt
        pre, post = outside(path) if outside is not None else (0, 0)
        n_pre, n_post = n_pre + pre, n_post + post
    return LoadResult(
        frame=pl.concat(events) if events else schema.empty("events"),
        rejects=pl.concat(rejects) if rejects else schema.empty("rejects"),
        inputs=inputs,
        parsed_inputs=parsed,
        notes=dedupe_notes(notes),
        outside=n_pre + n_post,
        outside_parsed=n_post,
    )


def to_json(obj: Any) -> str:
    """JSON for ``attrs``/``labels``: sorted keys, no NaN surprises, non-JSON values as strings."""
    return json.dumps(obj, sort_keys=True, default=str, ensure_ascii=False)


_RAW_MAX = 2000


def run(req: LoadRequest) -> LoadResult:
    """Load one source: look up its loader, call it, check the contract and the count rule."""
    sniffed: tuple[str, ...] = ()
    if not req.format:
        files = req.files()
        fmt, first = None, files[0]
        for f in files[:50]:  # a folder may start with a README: try its files in order
            fmt = registry.sniff(req.kind, textio.head(f))
            if fmt is not None:
                first = f
                break
        if fmt is None:
            known = ", ".join(registry.format_names(req.kind))
            raise SourceError(
                f"{first}: cannot tell the {req.kind} format from its first lines; set format (one of {known})"
            )
        req = replace(req, format=fmt)
        sniffed = (f"format not given; sniffed {fmt!r} from the first lines of {first.name}",)
    info = registry.get(req.kind, req.format)
    req, time_notes = _time_options(req)
    where = f"{req.key.removesuffix('.path')}.options" if req.key else f"{req.path} (source {req.source!r}): options"
    bad_options = registry.unknown_options(info, req.options, where)
    if bad_options:
        raise SourceError(bad_options)
    files = req.files()
    found = [f"{f.name}: empty file" for f in files if _size(f) == 0]
    found += [note for f in files if info.text_files and (note := textio.encoding_note(f))]
    try:
        result = info.func(req)
    except SourceError:
        if len(files) < 2 or not info.independent_files:
            raise
        result = _file_by_file(info.func, req, files)
    result = replace(result, notes=(*found, *result.notes))
    # a loader may return series where its format is registered for events (JSON lines with `as: series`)
    table = "series" if result.table == "series" else info.table
    frame = result.frame.with_columns(pl.lit(req.source, dtype=pl.String).alias("source"))
    frame = schema.conform(frame, table)
    if req.service is not None and table == "events":
        frame = frame.with_columns(pl.col("service").fill_null(req.service))
    rejects = schema.conform(
        result.rejects.with_columns(
            pl.lit(req.source, dtype=pl.String).alias("source"), pl.col("raw").str.slice(0, _RAW_MAX)
        ),
        "rejects",
    )
    frame, rejects, parsed = _reject_out_of_range(frame, rejects, result.parsed_inputs, table)
    frame, parsed, outside, window_notes = _exact_window(
        req, frame, parsed, result.outside, result.unit, result.outside_parsed
    )
    attrs_before = frame.get_column("attrs") if result.requests is not None and table == "events" else None
    frame, rejects, redacted = _redact(frame, rejects, table, req.redaction)
    requests = None
    if attrs_before is not None and result.requests is not None:  # the loader's typed request fields
        from pmkit.sources.requests import from_loader

        requests = from_loader(frame, result.requests, attrs_before)
    where = f"loader {req.kind}/{req.format} on {req.path}"
    schema.validate(frame, table, where=where)
    schema.validate(rejects, "rejects", where=where)
    if parsed + rejects.height + outside != result.inputs:
        raise SchemaError(
            f"{where} lost input: {result.inputs} {result.unit} read, {parsed} parsed + {rejects.height} rejected"
            f" + {outside} outside the window"
        )
    loud = verdict.wrong_format_note(req.kind, req.format, parsed, rejects, result.unit)
    return replace(
        result,
        frame=frame,
        rejects=rejects,
        parsed_inputs=parsed,
        table=table,
        format=req.format,
        notes=((loud,) if loud else ()) + sniffed + time_notes + tuple(result.notes) + window_notes + redacted,
        outside=outside,
        outside_parsed=outside - result.outside + result.outside_parsed,
        requests=requests,
    )


def _time_options(req: LoadRequest) -> tuple[LoadRequest, tuple[str, ...]]:
    """The request with its ``ts_format`` in polars' spelling (:func:`pmkit.timeutil.polars_format`: Python's
    ``%f`` is microseconds), and the notes that say what was assumed: the translation, and the zone naive
    times are read in when the source sets ``timezone`` (without it, each loader notes the times it read as UTC)."""
    notes: list[str] = []
    if req.ts_format:
        fmt = timeutil.polars_format(req.ts_format)
        if fmt != req.ts_format:
            notes.append(f"ts_format {req.ts_format!r} read as {fmt!r} (%f: microseconds, as in Python)")
            req = replace(req, ts_format=fmt)
    if req.timezone:
        notes.append(
            f"times without a UTC offset read in {req.timezone} (timezone), then converted to UTC; in a "
            "daylight-saving change an hour that repeats reads as its first occurrence, a skipped hour is unreadable"
        )
    return req, tuple(notes)


# The kinds whose loaders are windowed: the large ones. Deploys, alerts and chat are read whole (small, and
# change suspects look back before the incident).
WINDOWED_KINDS = ("logs", "metrics")


def _exact_window(
    req: LoadRequest, frame: pl.DataFrame, parsed: int, outside: int, unit: str, outside_parsed: int = 0
) -> tuple[pl.DataFrame, int, int, tuple[str, ...]]:
    """The exact window filter after parsing: rows of a windowed kind whose ``ts`` is outside the request's
    window are dropped and counted as outside, where one row is one input; returns the frame, the parsed
    and outside counts and the note that states the window."""
    from pmkit.sources import window as win

    if req.window is None or req.kind not in WINDOWED_KINDS:
        return frame, parsed, outside, ()
    said = win.describe(req.window)
    before = outside - outside_parsed
    if frame.height == parsed and frame.height:
        out = win.exact_mask(frame, req.window)
        n = int(out.sum())
        frame, parsed, outside = frame.filter(~out), parsed - n, outside + n
    elif frame.height:
        n = int(win.exact_mask(frame, req.window).sum())
        if n:
            return (
                frame,
                parsed,
                outside,
                (
                    f"window {said}: {outside:,} {unit} outside it (counted, not parsed); {n:,} rows outside it "
                    "kept (their rows do not map one to one to inputs)",
                ),
            )
    after = outside - before  # dropped after parsing, by the loader or here
    how = (
        f"{before:,} counted, not parsed; {after:,} dropped after parsing"
        if before and after
        else ("dropped after parsing" if after else "counted, not parsed")
    )
    return frame, parsed, outside, (f"window {said}: {outside:,} {unit} outside it ({how})",)


# The text columns evidence reaches the analyses and every output through.
_REDACTED_COLUMNS = {"events": ("message", "attrs"), "series": ("labels",), "rejects": ("reason", "raw")}


def _redact(
    frame: pl.DataFrame, rejects: pl.DataFrame, table: str, setting: dict[str, Any] | bool | None
) -> tuple[pl.DataFrame, pl.DataFrame, tuple[str, ...]]:
    """Secrets and personal data out of the evidence, once, where it enters pmkit: no later output (the
    document, figures' hover text, the notebook, rejects files, ``pmkit analyze --json``, comms drafts,
    the load cache) can carry them, whatever path it takes. Returns the note of what was redacted."""
    if setting is False:
        return frame, rejects, ()
    from pmkit.redaction import Rules

    rules = Rules.from_mapping(setting if isinstance(setting, dict) else None)
    frame, counts = _redact_slices(frame, list(_REDACTED_COLUMNS[table]), rules)
    rejects, more = _redact_slices(rejects, list(_REDACTED_COLUMNS["rejects"]), rules)
    total = {k: counts.get(k, 0) + more.get(k, 0) for k in {*counts, *more}}
    said = ", ".join(f"{k} {v:,}" for k, v in sorted(total.items()) if v)
    return frame, rejects, ((f"redacted: {said}",) if said else ())


# Rows redacted at a time: redaction's working copies (a few KB a row of JSON text at its peak) follow a slice,
# not the source, so a lake window of millions of rows stays within memory. Redaction is per value: the same
# output and counts as one pass.
REDACT_SLICE_ROWS = 200_000


def _redact_slices(frame: pl.DataFrame, columns: list[str], rules: Any) -> tuple[pl.DataFrame, dict[str, int]]:
    """:func:`pmkit.redaction.redact_counts` over ``frame`` a slice of :data:`REDACT_SLICE_ROWS` rows at a time."""
    from pmkit.redaction import redact_counts

    if frame.height <= REDACT_SLICE_ROWS:
        return redact_counts(frame, columns, rules)
    parts: list[pl.DataFrame] = []
    total: dict[str, int] = {}
    for lo in range(0, frame.height, REDACT_SLICE_ROWS):
        part, counts = redact_counts(frame.slice(lo, REDACT_SLICE_ROWS), columns, rules)
        parts.append(part)
        for rule, n in counts.items():
            total[rule] = total.get(rule, 0) + n
    return pl.concat(parts), total


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


def _file_by_file(func: Callable[[LoadRequest], LoadResult], req: LoadRequest, files: list[Path]) -> LoadResult:
    """Load a many-file source one file at a time, after the loader failed on the whole: a broken file
    becomes one reject (its error as the reason) and a note, the other files load as usual. If every
    file fails on its own, the loader needs the files together (a Slack export): the first error stands."""
    results: list[LoadResult] = []
    broken: list[tuple[Path, str]] = []
    for f in files:
        try:
            results.append(func(replace(req, path=str(f))))
        except SourceError as exc:
            broken.append((f, str(exc)))
    if not results:
        raise SourceError(broken[0][1])
    unit = results[0].unit
    rejects = rejects_frame(
        [str(f) for f, _ in broken], [f"file not loaded: {why}" for _, why in broken], [None] * len(broken)
    )
    return LoadResult(
        frame=pl.concat([r.frame for r in results], how="diagonal_relaxed"),
        rejects=pl.concat([*(r.rejects for r in results), rejects], how="diagonal_relaxed"),
        inputs=sum(r.inputs for r in results) + len(broken),
        parsed_inputs=sum(r.parsed_inputs for r in results),
        outside=sum(r.outside for r in results),
        outside_parsed=sum(r.outside_parsed for r in results),
        unit=unit,
        table=results[0].table,
        notes=dedupe_notes(
            [
                *(n for r in results for n in r.notes),
                *(f"{f.name} not loaded ({why}); counted as 1 rejected input" for f, why in broken),
            ]
        ),
    )


def _reject_out_of_range(
    frame: pl.DataFrame, rejects: pl.DataFrame, parsed: int, table: str
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """Rows dated outside :data:`pmkit.timeutil.TS_MIN`..``TS_MAX`` become rejects with the reason.

    Loaders that read times through :mod:`pmkit.timeutil` never produce such rows; this is the net for
    the ones that read them another way (a year-0 date breaks every later step that turns a frame into
    Python objects). Each row removed counts as one parsed input fewer and one reject more.
    """
    if frame.height == 0:
        return frame, rejects, parsed
    bad = frame.select(~timeutil.in_range(pl.col("ts")).fill_null(True)).to_series()
    n = int(bad.sum())
    if n == 0:
        return frame, rejects, parsed
    out = frame.filter(bad)
    raw = (
        pl.col("message")
        if table == "events"
        else pl.format("{}{} {}", pl.col("metric"), pl.col("labels"), pl.col("value").cast(pl.String))
    )
    moved = out.select(
        pl.col("origin"),
        pl.format(
            "time {} is outside the range pmkit reads ({})",
            pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S").fill_null("(none)"),
            pl.lit(timeutil.TS_RANGE_TEXT),
        ).alias("reason"),
        raw.str.slice(0, _RAW_MAX).alias("raw"),
        pl.col("source"),
    )
    rejects = pl.concat([rejects, schema.conform(moved, "rejects")], how="diagonal_relaxed")
    return frame.filter(~bad), schema.conform(rejects, "rejects"), parsed - n
