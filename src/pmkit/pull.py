"""``pmkit pull prometheus``: the incident window of a live Prometheus, saved into the incident folder.

What it does, in order:

1. The window: ``--from``/``--to`` when given, else the incident's load window
   (:func:`pmkit.incident.load_window`: ``window:`` of incident.yaml, else the milestone overrides from
   the earliest less the lead margin :data:`pmkit.incident.WINDOW_LEAD` (6 h, room for a baseline before
   the impact) to the latest plus :data:`pmkit.incident.WINDOW_TAIL` (12 h)). The pull covers the same
   window the load keeps.
2. The step: ``--step`` when given, else :func:`pmkit.sources.promapi.choose_step` (at most 10,000 points
   per series, under Prometheus' 11,000 limit).
3. ``/api/v1/query_range`` through :mod:`pmkit.sources.promapi`; the response is written, byte for byte,
   to ``metrics/<name>.prometheus.json`` and the query to ``metrics/<name>.promql``.
4. incident.yaml gets (or has replaced) the source ``{kind: metrics, format: prometheus-api, name, path,
   pull: {url, query, start, end, step, pulled_at, query_file, auth_env}}``. The file is edited as text
   (its comments and order stay); the result is validated before it is written, and the old text is kept
   when it does not validate.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pmkit.errors import PmkitError, SpecError
from pmkit.incident import load_window
from pmkit.sources import promapi
from pmkit.spec import load_spec, parse_spec

__all__ = ["PullOutcome", "default_name", "pull_prometheus", "upsert_source"]


@dataclass(frozen=True)
class PullOutcome:
    """What a pull wrote: the response and query files, the source entry, and how much came back."""

    response: Path
    query_file: Path
    source: dict[str, Any]
    series: int
    samples: int


def default_name(query: str) -> str:
    """A source (and file) name from a PromQL query: its identifiers joined by ``_`` (``rate(http_requests_total
    [5m])`` -> ``rate_http_requests_total_5m``), at most 60 characters."""
    words = re.findall(r"[A-Za-z0-9_:]+", query)
    name = "_".join(words).replace(":", "_")[:60].strip("_")
    return name or "prometheus"


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _count(doc: dict[str, Any]) -> tuple[int, int]:
    """Series and samples of a query_range response."""
    result = doc.get("data", {}).get("result", [])
    if not isinstance(result, list):
        return 0, 0
    samples = sum(len(r.get("values", [])) + len(r.get("histograms", [])) for r in result if isinstance(r, dict))
    return len(result), samples


def pull_prometheus(
    incident: str | Path,
    url: str,
    query: str,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    step: str | None = None,
    name: str | None = None,
    auth_env: str | None = None,
    timeout_s: float = 60.0,
) -> PullOutcome:
    """Run the pull into the incident folder ``incident`` (module docstring); return what it wrote."""
    root = Path(incident)
    spec_path = root / "incident.yaml" if root.is_dir() else root
    root = spec_path.parent
    spec = load_spec(spec_path)
    if (start is None) != (end is None):
        raise PmkitError("give --from and --to together, or neither (the incident's window is used)")
    if start is None or end is None:
        window = load_window(spec)
        if window is None:
            raise PmkitError(
                f"{spec_path}: no window to pull: set window: (start, end) or a milestone (impact_start, ...) "
                "in incident.yaml, or give --from and --to"
            )
        start, end = window
    try:
        step_s = promapi.parse_step(step) if step else promapi.choose_step(start, end)
    except ValueError as exc:
        raise PmkitError(f"--step: {exc}") from None
    name = name or default_name(query)
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or name.startswith("."):
        raise PmkitError(f"--name {name!r}: expected letters, digits, '_', '-' or '.' (it names the files)")
    q = promapi.RangeQuery(
        url=url, query=query, start=start, end=end, step_s=step_s, auth_env=auth_env, timeout_s=timeout_s
    )
    pulled_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    body, doc = promapi.query_range(q)
    series, samples = _count(doc)
    folder = root / "metrics"
    folder.mkdir(parents=True, exist_ok=True)
    response, query_file = folder / f"{name}.prometheus.json", folder / f"{name}.promql"
    response.write_bytes(body)
    query_file.write_text(query.rstrip("\n") + "\n", encoding="utf-8")
    pull: dict[str, Any] = {
        "url": promapi.public_url(url),
        "query": query,
        "start": _iso(start),
        "end": _iso(end),
        "step": promapi.step_text(step_s),
        "pulled_at": _iso(pulled_at),
        "query_file": query_file.relative_to(root).as_posix(),
    }
    if auth_env:
        pull["auth_env"] = auth_env
    source = {
        "kind": "metrics",
        "format": "prometheus-api",
        "name": name,
        "path": response.relative_to(root).as_posix(),
        "pull": pull,
    }
    upsert_source(spec_path, source)
    return PullOutcome(response, query_file, source, series, samples)


# ------------------------------------------------------------------ incident.yaml, edited as text

_TOP_KEY = re.compile(r"^[A-Za-z_][\w-]*\s*:")


def _item_text(source: dict[str, Any], indent: str) -> list[str]:
    """``source`` as one YAML list item at ``indent``."""
    dumped = yaml.safe_dump([source], sort_keys=False, allow_unicode=True, width=1000).splitlines()
    return [indent + line for line in dumped]


def _sources_block(lines: list[str]) -> tuple[int, int] | None:
    """(line of ``sources:``, first line after its block), or None when there is no top-level ``sources:``."""
    for i, line in enumerate(lines):
        if re.match(r"^sources\s*:", line):
            j = i + 1
            while j < len(lines) and not _TOP_KEY.match(lines[j]):
                j += 1
            while j > i + 1 and (not lines[j - 1].strip() or lines[j - 1].lstrip().startswith("#")):
                j -= 1  # trailing blank and comment lines belong to what follows
            return i, j
    return None


def upsert_source(spec_path: Path, source: dict[str, Any]) -> None:
    """Add ``source`` to incident.yaml's ``sources:``, or replace the source of the same name; comments and
    the order of everything else stay. The new text is validated (every problem named) before it is written."""
    text = spec_path.read_text(encoding="utf-8")
    lines = text.splitlines()
    block = _sources_block(lines)
    if block is None:
        new = [*lines, "sources:", *_item_text(source, "  ")]
    else:
        head, stop = block
        inline = lines[head].split(":", 1)[1].split("#", 1)[0].strip()
        if inline not in ("", "[]"):
            raise PmkitError(
                f"{spec_path}: sources: is written inline ({inline[:40]}...); write it as a block list to let "
                "`pmkit pull` add its source"
            )
        body = lines[head + 1 : stop]
        starts = [i for i, ln in enumerate(body) if re.match(r"^\s*- ", ln)]
        indent = re.match(r"^(\s*)- ", body[starts[0]]).group(1) if starts else "  "  # type: ignore[union-attr]
        starts = [i for i in starts if body[i].startswith(indent + "- ")]
        items = list(zip(starts, [*starts[1:], len(body)], strict=False))
        replaced = False
        for a, b in items:
            try:
                got = yaml.safe_load("\n".join(ln[len(indent) :] for ln in body[a:b]))
            except yaml.YAMLError:
                continue
            item = got[0] if isinstance(got, list) and got else None
            if isinstance(item, dict) and (item.get("name") == source["name"] or item.get("path") == source["path"]):
                body = [*body[:a], *_item_text(source, indent), *body[b:]]
                replaced = True
                break
        if not replaced:
            body = [*body, *_item_text(source, indent)]
        new = [*lines[:head], "sources:", *body, *lines[stop:]]
    out = "\n".join(new) + "\n"
    try:
        spec = parse_spec(yaml.safe_load(out), str(spec_path))
    except SpecError as exc:
        raise PmkitError(f"{spec_path} left as it was: adding the pulled source would make it invalid: {exc}") from None
    if not any(s.name == source["name"] and s.pull is not None for s in spec.sources):
        raise PmkitError(f"{spec_path} left as it was: the pulled source did not read back from the edited text")
    spec_path.write_text(out, encoding="utf-8")
