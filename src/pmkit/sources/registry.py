"""Loaders by (kind, format): a dict, a decorator, and entry points looked up lazily.

Built-in loaders live one per file in the kind packages (``pmkit/sources/<kind>/<format>.py``)
and register themselves when imported; the modules directly under ``pmkit/sources/`` are the
toolkit they share (and register nothing). Third-party packages add formats through the entry-point group
``pmkit.loaders``; each entry point names a module (or object) whose import calls
:func:`register`. Nothing is imported until a loader is first asked for.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from pmkit.errors import UnknownFormatError

if TYPE_CHECKING:
    from pmkit.sources.base import LoadRequest, LoadResult
    from pmkit.spec import IncidentSpec

ENTRY_POINT_GROUP = "pmkit.loaders"


@dataclass(frozen=True)
class LoaderInfo:
    """A registered loader and what ``pmkit formats`` says about it."""

    kind: str
    format: str
    func: Callable[[LoadRequest], LoadResult]
    table: str  # "events" or "series"
    description: str
    example: str
    sniff: Callable[[str], bool] | None = None
    sniff_order: int = 50
    independent_files: bool = True  # each file of a many-file source loads on its own (not a Slack export)
    options: tuple[str, ...] | None = None  # the `options:` keys the loader reads; None: not declared (not checked)
    text_files: bool = True  # the files are text pmkit decodes (their encoding is noted); False: an engine reads them


_LOADERS: dict[tuple[str, str], LoaderInfo] = {}
_discovered = False


def register(
    kind: str,
    format: str,
    *,
    description: str,
    example: str,
    table: str = "events",
    sniff: Callable[[str], bool] | None = None,
    sniff_order: int = 50,
    independent_files: bool = True,
    options: tuple[str, ...] | None = None,
    text_files: bool = True,
) -> Callable[[Callable[[LoadRequest], LoadResult]], Callable[[LoadRequest], LoadResult]]:
    """Register ``func(request) -> LoadResult`` as the loader for ``kind``/``format``.

    ``sniff(head)`` gets the first lines of a file and says whether they look like
    this format; it is what chooses a format when a source gives none. Sniffers run in
    ``sniff_order`` (lower first): a loose sniffer (logfmt matches any ``k=v`` line)
    goes after the strict ones. ``independent_files=False`` says the files of a folder only make sense
    together (a Slack export's users.json and channel folders): a broken one is not loaded apart.
    ``options`` names the keys of a source's ``options:`` the loader reads (``()``: none); any other key is
    an error naming it and these (:func:`unknown_options`). Every built-in loader declares them; a plug-in
    that leaves ``options`` out is not checked.
    ``text_files=False``: the files are not decoded by pmkit (parquet read by a query engine), so no
    encoding notes.
    """

    def deco(func: Callable[[LoadRequest], LoadResult]) -> Callable[[LoadRequest], LoadResult]:
        _LOADERS[(kind, format)] = LoaderInfo(
            kind, format, func, table, description, example, sniff, sniff_order, independent_files, options, text_files
        )
        return func

    return deco


_discover_lock = threading.RLock()


def _discover() -> None:
    """Import every loader module once. Sources load in threads (pmkit.incident): the flag is set only after
    the imports, under a lock, so that no thread sees a half-filled registry ("one of" an empty list)."""
    global _discovered
    if _discovered:
        return
    with _discover_lock:
        if not _discovered:
            _import_loaders()
            _discovered = True


def _import_loaders() -> None:
    import pmkit.sources as pkg

    # loaders live one per file in the kind packages (sources/<kind>/<format>.py); the modules directly
    # under sources/ are the toolkit they share and register nothing
    for kind in pkgutil.iter_modules(pkg.__path__):
        if not kind.ispkg:
            continue
        sub = importlib.import_module(f"pmkit.sources.{kind.name}")
        for mod in pkgutil.iter_modules(sub.__path__):
            if not mod.name.startswith("_"):
                importlib.import_module(f"pmkit.sources.{kind.name}.{mod.name}")
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        ep.load()


def formats(kind: str | None = None) -> list[LoaderInfo]:
    """Every registered loader (optionally of one kind), sorted by kind and format."""
    _discover()
    return sorted((i for i in _LOADERS.values() if kind is None or i.kind == kind), key=lambda i: (i.kind, i.format))


def format_names(kind: str) -> list[str]:
    """The format names registered for ``kind``."""
    return [i.format for i in formats(kind)]


def get(kind: str, format: str) -> LoaderInfo:
    """The loader for ``kind``/``format``; the error lists what exists and suggests the closest."""
    _discover()
    info = _LOADERS.get((kind, format))
    if info is None:
        known = format_names(kind)
        if not known:
            kinds = sorted({k for k, _ in _LOADERS})
            raise UnknownFormatError(f"unknown kind {kind!r}; expected one of {', '.join(kinds)}")
        hint = difflib.get_close_matches(format, known, n=1)
        also = f"; did you mean {hint[0]!r}?" if hint else ""
        raise UnknownFormatError(
            f"no {kind} loader for format {format!r}; expected one of {', '.join(known)}{also} "
            "(`pmkit formats` lists them with examples)"
        )
    return info


def accepting(head: str, kind: str | None = None) -> Iterator[LoaderInfo]:
    """Every loader (of ``kind``, else of every kind) whose sniffer accepts ``head``, in sniff order, lazily (a
    load stops at the first). A plug-in's sniffer that raises on odd input counts as not accepting: it does not
    end a load or a scan."""
    for info in sorted(formats(kind), key=lambda i: i.sniff_order):
        try:
            if info.sniff is not None and info.sniff(head):
                yield info
        except Exception:
            continue


def sniff(kind: str, head: str) -> str | None:
    """The first format of ``kind`` (in sniff order) whose sniffer accepts ``head``."""
    first = next(accepting(head, kind), None)
    return first.format if first else None


def unknown_options(info: LoaderInfo, given: Iterable[str], key: str) -> str | None:
    """The problem with a source's ``options:`` keys for this loader (None when every key is one it reads):
    ``KEY.options: unknown option 'x' for logs/logfmt; it takes multiline`` (with a "did you mean")."""
    if info.options is None:
        return None
    unknown = sorted(set(given) - set(info.options))
    if not unknown:
        return None
    takes = f"it takes {', '.join(info.options)}" if info.options else "it takes no options"
    hint = difflib.get_close_matches(unknown[0], list(info.options), n=1)
    also = f"; did you mean {hint[0]!r}?" if hint else ""
    names = ", ".join(map(repr, unknown))
    return f"{key}: unknown option{'s' * (len(unknown) > 1)} {names} for {info.kind}/{info.format}; {takes}{also}"


def check_formats(spec: IncidentSpec) -> list[str]:
    """Problems with the sources' formats of an incident.yaml: each must be registered for its kind
    (plugins included), and its ``options:`` keys must be ones the loader reads. A check for
    :func:`pmkit.spec.parse_spec`."""
    problems = []
    for i, src in enumerate(spec.sources):
        if src.format is None:
            continue
        known = format_names(src.kind)
        if src.format in known:
            bad = unknown_options(get(src.kind, src.format), src.options, f"sources[{i}].options")
            if bad:
                problems.append(bad)
        else:
            hint = difflib.get_close_matches(src.format, known, n=1)
            also = f"; did you mean {hint[0]!r}?" if hint else ""
            problems.append(
                f"sources[{i}].format: found {src.format!r}, expected one of {', '.join(known)} for kind {src.kind!r}{also}"
            )
    return problems
