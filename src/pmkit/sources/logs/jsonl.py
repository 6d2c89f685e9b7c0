"""The ``jsonl`` logs format: JSON lines, any field names, nested JSON, Docker json-file wrapping.

Every physical line ends in an event (counted in ``parsed_inputs``) or in the rejects
with its ``path:line`` and a reason (blank lines, invalid JSON, a JSON value that is not
an object, no readable time). Lines are decoded by pyarrow's reader first
(:mod:`pmkit.sources.ndjson`); Python only touches single lines in rare fallbacks (the
reasons for invalid JSON, JSON lines whose types conflict: those fields are kept as JSON
text, and the load notes say so). Fields become columns and ``attrs`` by the rules of
:mod:`pmkit.sources.fieldmap`.

``options: {as: series}`` reads the lines as metric samples instead (NGINX Plus status lines, app counters):
chosen numeric fields become series, counters as increases; see :mod:`pmkit.sources.jsonseries` (also
registered as ``kind: metrics, format: jsonl``).

Docker json-file lines (``{"log": ..., "stream": ..., "time": ...}``) are unwrapped:
an inner JSON object is decoded too, ``stream`` goes to attrs and the wrapper time is
the event time when the inner record has none (else it is kept as ``docker_time``).

``options: {multiline: ...}`` (:class:`pmkit.sources.multiline.Multiline`) applies the rule to each
line's message field (to the line itself when it is not JSON): a traceback that Docker split into
one JSON line per physical line, or printed raw between JSON lines, continues the record above
instead of standing as events or rejects. The continuation texts (messages, raw lines) go to its
``attrs.continuation`` and count as parsed lines (:func:`pmkit.sources.fieldmap.load_multiline_file`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import polars as pl

from pmkit.errors import SourceError
from pmkit.sources import textio
from pmkit.sources.base import LoadRequest, LoadResult, rejects_frame
from pmkit.sources.fieldmap import (
    finish_records,
    line_origins,
    load_multiline_file,
    load_records,
    multiline_rule,
    no_rejects,
)
from pmkit.sources.jsonseries import SERIES_OPTIONS, records_to_series
from pmkit.sources.linescan import in_line_order, is_gzip, share
from pmkit.sources.ndjson import decode_objects, read_ndjson_lossless
from pmkit.sources.registry import register
from pmkit.sources.series import empty_series

_DOCKER = {"log", "stream", "time"}


def _is_docker(rec: pl.DataFrame, req: LoadRequest) -> bool:
    """Docker json-file lines: ``log`` (string), ``stream``, ``time`` and nothing else but ``attrs``."""
    cols = set(rec.columns)
    return cols >= _DOCKER and cols <= _DOCKER | {"attrs"} and rec.schema["log"] == pl.String and not req.fields


def _unwrap_docker(rec: pl.DataFrame, notes: list[str], path: Path) -> tuple[pl.DataFrame, dict[str, tuple[str, ...]]]:
    """Docker json-file records -> inner records (JSON decoded when the inner line is an object).

    The wrapper's ``time`` and the inner plain text become last-resort ``ts`` and ``message``
    candidates, so they are used only where the inner record has none (and kept in attrs otherwise).
    """
    inner = rec.get_column("log").str.strip_chars_end("\r\n")
    is_obj = (inner.str.contains(r"^\s*\{") & inner.str.contains(r"\}\s*$")).fill_null(False)
    decoded = pl.DataFrame()
    decoded_rows = pl.Series("__row", [], dtype=pl.UInt32)
    if is_obj.any():
        recs, reason, conflicts = decode_objects(inner.filter(is_obj))
        decoded_rows = is_obj.arg_true().filter(reason.is_null()).cast(pl.UInt32).alias("__row")
        if recs.width:
            decoded = (
                pl.DataFrame({"__row": pl.arange(0, rec.height, eager=True, dtype=pl.UInt32)})
                .join(recs.with_columns(decoded_rows), on="__row", how="left", maintain_order="left")
                .drop("__row")
            )
        notes.extend(f"{path.name}: field {c!r} has conflicting types; kept as JSON text" for c in conflicts)
    notes.append(f"{path.name}: Docker json-file lines unwrapped; inner JSON decoded on {decoded_rows.len():,} lines")
    taken = set(decoded.columns)

    def name(c: str) -> str:
        return f"docker_{c}" if c in taken else c

    is_text = pl.Series([True] * rec.height).scatter(decoded_rows, False) if decoded_rows.len() else None
    text = inner if is_text is None else pl.select(pl.when(is_text).then(inner)).to_series()
    wrapper = {name(c): rec.get_column(c) for c in rec.columns if c not in ("log", "time")}
    out = (
        decoded.with_columns(**wrapper, **{name("docker_time"): rec.get_column("time"), name("log"): text})
        if decoded.width
        else pl.DataFrame({**wrapper, "docker_time": rec.get_column("time"), "log": text})
    )
    return out, {"ts": (name("docker_time"),), "message": (name("log"),)}


def _read_jsonl(path: Path, notes: list[str]) -> tuple[pl.DataFrame, pl.Series, pl.DataFrame, int, pl.Series | None]:
    """Records, their line numbers, rejects, the line count, and the line texts when they were read."""
    if not is_gzip(path):
        try:
            n_lines, plain = textio.line_endings(path)
            records = read_ndjson_lossless(path) if n_lines and plain else None
        except pl.exceptions.PolarsError:
            records = None
        # as many rows as lines: every line was one JSON object (polars skips blank lines, fails on bad ones)
        if records is not None and records.height == n_lines:
            line_nos = pl.arange(1, n_lines + 1, eager=True, dtype=pl.UInt32)
            return records, line_nos, no_rejects(), n_lines, None
    lines = textio.read_lines(path)
    texts = lines.get_column("line")
    records, reason, conflicts = decode_objects(texts)
    notes.extend(f"{path.name}: field {c!r} has conflicting types; kept as JSON text" for c in conflicts)
    ok = reason.is_null()
    origins = line_origins(path, lines.get_column("line_no").filter(~ok))
    rejects = pl.DataFrame({"origin": origins, "reason": reason.filter(~ok), "raw": texts.filter(~ok)})
    return records, lines.get_column("line_no").filter(ok), rejects, lines.height, texts


def _docker_unwrap(
    req: LoadRequest, notes: list[str], path: Path
) -> Callable[[pl.DataFrame], tuple[pl.DataFrame, dict[str, tuple[str, ...]] | None]]:
    """The multi-line unwrapper: Docker json-file records to their inner records (others as they are)."""

    def unwrap(records: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, tuple[str, ...]] | None]:
        if _is_docker(records, req):
            return _unwrap_docker(records, notes, path)
        return records, None

    return unwrap


def _decode_lines(path: Path, notes: list[str]) -> Callable[[pl.DataFrame], tuple[pl.DataFrame, pl.Series]]:
    """The multi-line decoder: JSON objects, as :func:`_read_jsonl` decodes them line by line."""

    def decode(heads: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series]:
        records, reason, conflicts = decode_objects(heads.get_column("line"))
        notes.extend(f"{path.name}: field {c!r} has conflicting types; kept as JSON text" for c in conflicts)
        return records, reason

    return decode


def _load_jsonl_file(
    path: Path, req: LoadRequest, notes: list[str], outside: list[tuple[int, int]] | None = None
) -> tuple[pl.DataFrame, pl.DataFrame, int, int]:
    rule = multiline_rule(req)
    if rule is not None:
        lines = textio.read_lines(path)
        events, rejects, n_in, n_ok, out = load_multiline_file(
            path,
            lines,
            rule,
            req,
            notes,
            _decode_lines(path, notes),
            by_message=True,
            unwrap=_docker_unwrap(req, notes, path),
        )
        if outside is not None:
            outside.append(out)
        return events, rejects, n_in, n_ok
    records, line_nos, rejects, n_lines, texts = _read_jsonl(path, notes)
    extra = None
    if records.width and _is_docker(records, req):
        records, extra = _unwrap_docker(records, notes, path)

    def raw_of(nos: pl.Series) -> pl.Series:
        all_texts = texts if texts is not None else textio.read_lines(path).get_column("line")
        return all_texts.gather(nos.cast(pl.Int64) - 1)

    events, more = finish_records(path, records, line_nos, req, notes, raw_of, extra)
    return events, in_line_order(pl.concat([rejects, more])), n_lines, events.height


def _load_series_file(
    path: Path, req: LoadRequest, notes: list[str]
) -> tuple[pl.DataFrame, pl.DataFrame, int, int, int]:
    """``as: series``: the chosen numeric fields of each line as samples (:mod:`pmkit.sources.jsonseries`)."""
    records, line_nos, rejects, n_lines, texts = _read_jsonl(path, notes)
    if records.width == 0:
        return empty_series(), rejects, n_lines, 0, 0
    frame, no_time, parsed, outside = records_to_series(path, records, line_nos, req, notes)
    if no_time.height:
        all_texts = texts if texts is not None else textio.read_lines(path).get_column("line")
        raw = all_texts.gather(no_time.get_column("line_no").cast(pl.Int64) - 1)
        rejects = pl.concat([rejects, no_time.select("origin", "reason").with_columns(raw=raw)])
    return frame, in_line_order(rejects), n_lines, parsed, outside


def _load_as_series(req: LoadRequest) -> LoadResult:
    unknown = sorted(set(req.options) - set(SERIES_OPTIONS))
    if unknown:
        raise SourceError(
            f"{req.key or req.path}: unknown option(s) {unknown} for JSON lines read as series; expected "
            f"{', '.join(SERIES_OPTIONS)}"
        )
    notes: list[str] = []
    frames, rejects, inputs, parsed, outside = [], [], 0, 0, 0
    for path in req.files():
        fr, rj, n_in, n_ok, n_out = _load_series_file(path, req, notes)
        frames.append(fr)
        rejects.append(rj)
        inputs, parsed, outside = inputs + n_in, parsed + n_ok, outside + n_out
    rej = pl.concat(rejects)
    return LoadResult(
        frame=pl.concat(frames),
        rejects=rejects_frame(rej.get_column("origin"), rej.get_column("reason"), rej.get_column("raw")),
        inputs=inputs,
        parsed_inputs=parsed,
        notes=tuple(dict.fromkeys(notes)),
        table="series",
        outside=outside,
        outside_parsed=outside,
    )


def _sniff_jsonl(head: str) -> bool:
    def obj(ln: str) -> bool:
        try:
            return isinstance(textio.loads(ln), dict)
        except ValueError:
            return False

    return share(head, obj) >= 0.5


@register(
    "logs",
    "jsonl",
    description="JSON lines, any field names (fields: option), nested JSON, Docker json-file wrapping; "
    "options: {as: series} reads numeric fields as metric series",
    example='{"ts":"2025-03-14T13:05:02.118Z","level":"error","msg":"payment authorisation failed",'
    '"service":"payments","user_id":"cus_123","err":"upstream timeout"}',
    sniff=_sniff_jsonl,
    options=("multiline", *SERIES_OPTIONS),
)
def load_jsonl(req: LoadRequest) -> LoadResult:
    """JSON lines: one event per JSON object line (or per record of lines with ``options.multiline``); with
    ``options: {as: series}``, metric samples."""
    mode = req.options.get("as")
    if mode == "series":
        return _load_as_series(req)
    if mode not in (None, "events"):
        raise SourceError(f"{req.key or req.path}: options.as must be events or series, not {mode!r}")
    outside: list[tuple[int, int]] = []
    res = load_records(req, lambda path, r, notes: _load_jsonl_file(path, r, notes, outside))
    pre, post = sum(o[0] for o in outside), sum(o[1] for o in outside)
    return replace(res, inputs=res.inputs + pre + post, outside=pre + post, outside_parsed=post)


@register(
    "metrics",
    "jsonl",
    table="series",
    description="JSON lines whose fields are numbers (NGINX Plus status, app counters): chosen fields as series "
    "(options values/labels/counters; counters as increases)",
    example='{"timestamp":1741957502118,"connections":{"active":12,"accepted":84213},"requests":{"total":391822}}',
    sniff=_sniff_jsonl,
    sniff_order=60,  # after prometheus: a one-line API response is a JSON object line too
    options=SERIES_OPTIONS,
)
def load_jsonl_series(req: LoadRequest) -> LoadResult:
    """JSON lines as metric series (the same as logs/jsonl with ``options: {as: series}``)."""
    return _load_as_series(req)
