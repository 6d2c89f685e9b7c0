"""JSON documents to event rows: the toolkit of the alert and page loaders.

Which files of a source are JSON (by name, in a folder or glob), a file read as one
document or as NDJSON lines, a document's records (itself or the elements of a
top-level list), and :class:`Collected`, the rows, rejects and counts gathered while
walking them, which becomes the :class:`~pmkit.sources.base.LoadResult`. Plus the
small value helpers those loaders use on parsed JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from pmkit import schema
from pmkit.errors import SourceError
from pmkit.sources import textio
from pmkit.sources.base import LoadRequest, LoadResult, rejects_frame


@dataclass
class Collected:
    """Rows, rejects and counts gathered while walking the documents."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    rej_origin: list[str] = field(default_factory=list)
    rej_reason: list[str] = field(default_factory=list)
    rej_raw: list[str | None] = field(default_factory=list)
    inputs: int = 0
    parsed: int = 0
    notes: list[str] = field(default_factory=list)

    def reject(self, origin: str, reason: str, raw: Any) -> None:
        self.inputs += 1
        self.rej_origin.append(origin)
        self.rej_reason.append(reason)
        self.rej_raw.append(raw if isinstance(raw, str) or raw is None else compact(raw))

    def result(self, unit: str) -> LoadResult:
        return LoadResult(
            frame=events_frame(self.rows),
            rejects=rejects_frame(self.rej_origin, self.rej_reason, self.rej_raw),
            inputs=self.inputs,
            parsed_inputs=self.parsed,
            unit=unit,
            notes=tuple(self.notes),
        )


_EVENT_COLUMNS = ("ts", "kind", "service", "level", "actor", "message", "attrs", "origin")


def events_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Rows (``ts`` as integer microseconds since the epoch, UTC) to an events frame."""
    types: dict[str, pl.DataType] = {c: pl.String() for c in _EVENT_COLUMNS}
    types["ts"] = pl.Int64()
    df = pl.DataFrame({c: [r.get(c) for r in rows] for c in _EVENT_COLUMNS}, schema=types)
    df = df.with_columns(pl.col("ts").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))
    return schema.conform(df, "events")


def compact(obj: Any) -> str:
    """A parsed JSON value as one line of JSON text (what a reject keeps as raw)."""
    try:
        return json.dumps(obj, ensure_ascii=False, default=str)
    except (TypeError, ValueError):  # pragma: no cover - json.loads output always dumps
        return repr(obj)


def one_line(text: str) -> str:
    """Newlines become `` ⏎ `` so a message stays one readable line."""
    lines = [ln.rstrip() for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return " ⏎ ".join(ln for ln in lines if ln.strip()) if len(lines) > 1 else text.strip()


def str_or_none(value: Any) -> str | None:
    """A non-empty string or None (numbers become strings)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value
    return None


def as_dict(value: Any) -> dict[str, Any]:
    """The value when it is a JSON object, else an empty dict."""
    return value if isinstance(value, dict) else {}


_JSON_SUFFIXES = (".json", ".jsonc", ".ndjson", ".jsonl")
_LINES_SUFFIXES = (".ndjson", ".jsonl")


def _stem_suffix(path: Path) -> str:
    name = path.name.lower()
    return name[:-3].rsplit(".", 1)[-1] if name.endswith(".gz") else path.suffix.lower().lstrip(".")


def json_files(req: LoadRequest, out: Collected) -> list[Path]:
    """The source's files; in a folder or glob, only JSON-named ones (the rest are noted)."""
    files = req.files()
    if Path(req.path).is_file():
        return files
    keep = [f for f in files if "." + _stem_suffix(f) in _JSON_SUFFIXES]
    skipped = [f.name for f in files if f not in keep]
    if skipped:
        shown = ", ".join(skipped[:5]) + (", ..." if len(skipped) > 5 else "")
        out.notes.append(f"skipped {len(skipped)} file(s) that are not JSON by name: {shown}")
    if not keep:
        raise SourceError(f"{req.path}: none of its {len(files)} files is a .json/.jsonc/.ndjson/.jsonl file")
    return keep


@dataclass(frozen=True)
class Doc:
    """One parsed JSON value with where it came from; ``line`` is set for NDJSON lines."""

    origin: str
    value: Any
    line: int | None = None


def documents(path: Path, out: Collected, expected: str) -> list[Doc] | None:
    """The JSON documents of one file: the whole file, or one per line (NDJSON).

    Returns None for an empty file (noted). NDJSON lines that are not JSON are
    rejected here (one input each). A file that is neither raises SourceError.
    """
    data = textio.read_bytes(path).decode("utf-8-sig", errors="replace")
    if not data.strip():
        out.notes.append(f"{path.name}: empty file, nothing to load")
        return None
    lines_mode = "." + _stem_suffix(path) in _LINES_SUFFIXES
    if not lines_mode:
        try:
            return [Doc(str(path), textio.parse_json(data, path))]
        except SourceError as exc:
            first_error = exc
        lines = [ln for ln in data.split("\n") if ln.strip()]
        if len(lines) < 2 or not _parses(lines[0]):
            raise SourceError(f"{first_error}; expected {expected}") from None
    docs: list[Doc] = []
    for no, line in enumerate(data.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        try:
            docs.append(Doc(f"{path}:{no}", textio.loads(line), no))
        except json.JSONDecodeError as exc:
            out.reject(f"{path}:{no}", f"not valid JSON ({exc.msg} at column {exc.colno})", line)
    return docs


def _parses(line: str) -> bool:
    try:
        textio.loads(line)
    except json.JSONDecodeError:
        return False
    return True


def records(doc: Doc) -> Iterator[tuple[str, Any]]:
    """A document's records: the document, or each element of a top-level list."""
    if isinstance(doc.value, list):
        for i, item in enumerate(doc.value):
            yield f"{doc.origin}#[{i}]", item
    else:
        yield doc.origin, doc.value


def check_options(req: LoadRequest, allowed: tuple[str, ...] = ()) -> None:
    """SourceError when the source sets an option the loader does not take."""
    unknown = sorted(set(req.options) - set(allowed))
    if unknown:
        expect = f"expected {', '.join(allowed)}" if allowed else "it takes none"
        raise SourceError(f"{req.path}: unknown option(s) {unknown} for {req.kind}/{req.format}; {expect}")
