"""``git log`` output (format ``git-log``) into deploy events, one per commit.

Counting unit: commits; a non-blank line before the first ``commit`` line is one rejected record.

``git log`` default and ``--pretty=fuller``/``medium`` output (``--stat``/``--name-status`` file
lines kept in ``attrs.files``), and one-line formats such as ``--pretty=format:'%H|%an|%aI|%s'``
(``options: {separator: "|", columns: [sha, author, date, subject]}``; the separator is detected
after a leading hash when not given). Commits are changes, so they are ``kind="deploy"`` events
with ``attrs.change_type = "commit"``. The time is the commit date when the output has one
(``fuller``), else the author date (``Date:``); ``options.date: author`` forces the author date.
Parsing is vectorised (polars), commit blocks included.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from pmkit.errors import SourceError
from pmkit.schema import UTC_TS
from pmkit.sources import changes, textio
from pmkit.sources.base import LoadRequest, LoadResult, origin_expr, rejects_frame
from pmkit.sources.records import empty_events
from pmkit.sources.registry import register
from pmkit.timeutil import ts_expr

__all__ = ["load_git_log"]

_COMMIT_RE = r"^commit ([0-9a-f]{7,64})\b"
_GIT_HEADERS = ("Author", "AuthorDate", "Commit", "CommitDate", "Date", "Merge")
_GIT_DATE_FORMATS = (
    "%b %d %H:%M:%S %Y %z",  # default, after the weekday is dropped
    "%Y-%m-%d %H:%M:%S %z",  # --date=iso
    "%Y-%m-%dT%H:%M:%S%#z",  # --date=iso-strict, %aI
    "%d %b %Y %H:%M:%S %z",  # --date=rfc, after the weekday is dropped
    "%s %z",  # --date=raw
)
_GIT_NAIVE_FORMATS = ("%b %d %H:%M:%S %Y", "%Y-%m-%d %H:%M:%S")  # --date=local / iso-local


def _git_ts(expr: pl.Expr, req: LoadRequest) -> pl.Expr:
    """Git's date forms to UTC; the weekday is dropped first (hand-written logs often get it wrong)."""
    if req.ts_format:
        return ts_expr(expr, req.ts_format, req.timezone)
    clean = expr.str.strip_chars().str.replace(r"^[A-Z][a-z]{2},?\s+", "")
    return pl.coalesce(
        [ts_expr(clean, f, req.timezone, normalised=False) for f in (*_GIT_DATE_FORMATS, *_GIT_NAIVE_FORMATS)]
    )


def _person(expr: pl.Expr, part: int) -> pl.Expr:
    """``Name <email>``: part 1 the name, part 2 the email."""
    return expr.str.extract(r"^\s*(.*?)\s*(?:<([^>]*)>)?\s*$", part).replace("", None)


def _git_frame(commits: pl.DataFrame, req: LoadRequest, path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Commits (columns sha, author, author_date, committer, commit_date, subject, body, refs, merge, files,
    origin, raw) to (events, rejects)."""
    prefer = str(req.options.get("date", "commit")).lower()
    date_raw = (
        pl.col("author_date") if prefer == "author" else pl.coalesce(pl.col("commit_date"), pl.col("author_date"))
    )
    df = commits.with_columns(date_raw.alias("__date"))
    df = df.with_columns(_git_ts(pl.col("__date"), req).alias("ts"))
    subject = pl.col("subject").fill_null("")
    rollback = subject.str.starts_with('Revert "') | subject.str.contains(changes.ROLLBACK.pattern)
    df = df.with_columns(
        _person(pl.col("author"), 1).alias("author_name"),
        _person(pl.col("author"), 2).alias("author_email"),
        _person(pl.col("committer"), 1).alias("committer_name"),
        _person(pl.col("committer"), 2).alias("committer_email"),
        rollback.alias("rollback"),
        pl.lit("commit").alias("change_type"),
    )
    attr_cols = {
        "author": "author_name",
        "author_date": "author_date",
        "author_email": "author_email",
        "body": "body",
        "change_type": "change_type",
        "commit_date": "commit_date",
        "committer": "committer_name",
        "committer_email": "committer_email",
        "files": "files",
        "merge": "merge",
        "refs": "refs",
        "rollback": "rollback",
        "sha": "sha",
        "subject": "subject",
    }
    bad = df.filter(pl.col("ts").is_null())
    reasons = bad.select(
        pl.when(pl.col("__date").is_null())
        .then(pl.lit("commit has no date (no Date:/AuthorDate:/CommitDate: line or date field)"))
        .otherwise(pl.format("cannot read commit date '{}'", pl.col("__date")))
    ).to_series()
    rej = rejects_frame(bad.get_column("origin"), reasons, bad.get_column("raw"))
    good = df.filter(pl.col("ts").is_not_null())
    events = good.select(
        pl.col("ts").cast(UTC_TS),
        pl.lit("deploy").alias("kind"),
        pl.lit(req.service, dtype=pl.String).alias("service"),
        pl.lit("info").alias("level"),
        pl.col("author_name").alias("actor"),
        pl.concat_str([pl.lit("commit "), pl.col("sha").str.slice(0, 7), pl.lit(" "), subject])
        .str.strip_chars()
        .alias("message"),
        pl.struct([pl.col(src).alias(name) for name, src in sorted(attr_cols.items())])
        .struct.json_encode()
        .alias("attrs"),
        pl.col("origin"),
    )
    return events, rej


def _git_blocks(lines: pl.DataFrame, path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``git log`` medium/fuller output: one row per commit (vectorised), plus rejects for stray lines."""
    df = lines.with_columns(pl.col("line").str.contains(_COMMIT_RE).alias("is_commit"))
    df = df.with_columns(pl.col("is_commit").cum_sum().alias("grp"))
    stray = df.filter((pl.col("grp") == 0) & (pl.col("line").str.strip_chars() != ""))
    stray_rej = rejects_frame(
        stray.select(origin_expr(path)).to_series(),
        ["line before the first 'commit <sha>' line: not part of any commit"] * stray.height,
        stray.get_column("line"),
    )
    body = df.filter(pl.col("grp") > 0)
    header_re = r"^(" + "|".join(_GIT_HEADERS) + r"):\s*(.*)$"
    body = body.with_columns(
        ((pl.col("line").str.strip_chars() == "") & ~pl.col("is_commit")).cum_sum().over("grp").alias("after_blank"),
    ).with_columns(
        pl.when(pl.col("after_blank") == 0).then(pl.col("line").str.extract(header_re, 1)).alias("hkey"),
        pl.when(pl.col("after_blank") == 0).then(pl.col("line").str.extract(header_re, 2)).alias("hval"),
        ((pl.col("after_blank") > 0) & pl.col("line").str.starts_with("    ")).alias("is_msg"),
    )
    is_other = (
        ~pl.col("is_commit") & pl.col("hkey").is_null() & ~pl.col("is_msg") & (pl.col("line").str.strip_chars() != "")
    )

    def hdr(key: str) -> pl.Expr:
        return pl.col("hval").filter(pl.col("hkey") == key).first().str.strip_chars()

    agg = body.group_by("grp", maintain_order=True).agg(
        pl.col("line_no").first(),
        pl.col("line").first().alias("commit_line"),
        hdr("Author").alias("author"),
        pl.coalesce(hdr("AuthorDate"), hdr("Date")).alias("author_date"),
        hdr("Commit").alias("committer"),
        hdr("CommitDate").alias("commit_date"),
        hdr("Merge").alias("merge"),
        pl.col("line").filter(pl.col("is_msg")).str.slice(4).alias("msg"),
        pl.col("line").filter(is_other).str.strip_chars().alias("files"),
        pl.col("line").str.join("\n").alias("raw"),
    )
    msg = pl.col("msg").list.join("\n").str.strip_chars()
    commits = agg.select(
        pl.col("commit_line").str.extract(_COMMIT_RE, 1).alias("sha"),
        pl.col("commit_line").str.extract(r"\(([^()]*)\)\s*$", 1).alias("refs"),
        "author",
        "author_date",
        "committer",
        "commit_date",
        pl.col("merge").str.split(" "),
        msg.str.split("\n").list.first().str.strip_chars().alias("subject"),
        msg.str.splitn("\n", 2).struct.field("field_1").str.strip_chars().replace("", None).alias("body"),
        pl.when(pl.col("files").list.len() > 0).then(pl.col("files")).alias("files"),
        origin_expr(path).alias("origin"),
        "raw",
    )
    return commits, stray_rej


_GIT_COLUMNS = ("sha", "author", "date", "subject")
_GIT_KNOWN = {
    "sha",
    "author",
    "author_email",
    "date",
    "author_date",
    "commit_date",
    "committer",
    "committer_email",
    "subject",
    "body",
    "refs",
}


def _git_separated(lines: pl.DataFrame, path: Path, sep: str, columns: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One commit per line, fields split by ``sep`` (the last field keeps any further separators)."""
    content = lines.filter(pl.col("line").str.strip_chars() != "")
    n = len(columns)
    parts = pl.col("line").str.splitn(sep, n)
    df = content.with_columns(
        (pl.col("line").str.count_matches(sep, literal=True) + 1).alias("__nf"),
        *[parts.struct.field(f"field_{i}").str.strip_chars().alias(f"__c{i}") for i in range(n)],
    )
    origin = origin_expr(path)
    short = df.filter(pl.col("__nf") < n)
    rej = rejects_frame(
        short.select(origin).to_series(),
        short.select(
            pl.format("{} fields, expected {} ({})", pl.col("__nf"), pl.lit(n), pl.lit(sep.join(columns)))
        ).to_series(),
        short.get_column("line"),
    )
    ok = df.filter(pl.col("__nf") >= n)
    get = {c: pl.col(f"__c{i}") for i, c in enumerate(columns)}
    none = pl.lit(None, dtype=pl.String)
    author = get.get("author", none)
    if "author_email" in get:
        author = pl.concat_str([author, pl.lit(" <"), get["author_email"], pl.lit(">")])
    committer = get.get("committer", none)
    if "committer_email" in get:
        committer = pl.concat_str([committer, pl.lit(" <"), get["committer_email"], pl.lit(">")])
    commits = ok.select(
        get.get("sha", none).alias("sha"),
        get.get("refs", none).alias("refs"),
        author.alias("author"),
        pl.coalesce(get.get("author_date", none), get.get("date", none)).alias("author_date"),
        committer.alias("committer"),
        get.get("commit_date", none).alias("commit_date"),
        pl.lit(None, dtype=pl.List(pl.String)).alias("merge"),
        get.get("subject", none).alias("subject"),
        get.get("body", none).alias("body"),
        pl.lit(None, dtype=pl.List(pl.String)).alias("files"),
        origin.alias("origin"),
        pl.col("line").alias("raw"),
    )
    return commits, rej


def _sniff_git(head: str) -> bool:
    return bool(re.match(r"commit [0-9a-f]{7,64}\b|[0-9a-f]{7,64}\|", head.lstrip("\ufeff \r\n")))


@register(
    "deploys",
    "git-log",
    description=(
        "git log output (default, --pretty=fuller, --stat) or one line per commit (--pretty=format:'%H|%an|%aI|%s' "
        "with options separator/columns); commits as change events"
    ),
    example="commit 3f2a9c1e0b7d4a5f6e8c9d0b1a2f3e4d5c6b7a89\nAuthor: Alice <alice@example.com>\n"
    "Date:   Sun Jun 15 14:18:00 2025 +0200\n\n    Raise payment retry limit",
    sniff=_sniff_git,
    options=("date", "separator", "columns"),
)
def load_git_log(req: LoadRequest) -> LoadResult:
    """Load ``git log`` output; unit = commits (see the module docstring)."""
    events: list[pl.DataFrame] = []
    rejects: list[pl.DataFrame] = []
    notes: list[str] = []
    inputs = 0
    sep_opt = req.options.get("separator")
    cols_opt = req.options.get("columns", list(_GIT_COLUMNS))
    if not isinstance(cols_opt, list) or not cols_opt or not all(isinstance(c, str) for c in cols_opt):
        raise SourceError(f"{req.path}: options.columns must be a list of field names such as {list(_GIT_COLUMNS)}")
    if sep_opt is not None and (not isinstance(sep_opt, str) or not sep_opt):
        raise SourceError(f"{req.path}: options.separator must be a non-empty string, not {sep_opt!r}")
    for path in req.files():
        lines = textio.read_lines(path)
        content = lines.filter(pl.col("line").str.strip_chars() != "")
        if content.height == 0:
            notes.append(f"{path.name}: empty file")
            continue
        first = str(content.item(0, "line"))
        if re.match(r"^[*|\\/ ]+commit [0-9a-f]{7,64}", first):
            raise SourceError(f"{path}: git log --graph output is not supported; run git log without --graph")
        sep = sep_opt
        if sep is None and not re.match(_COMMIT_RE, first):
            m = re.match(r"^[0-9a-f]{7,64}([|\t;,\x1f])", first)
            if m:
                sep = m.group(1)
                notes.append(f"{path.name}: one commit per line, separator {sep!r}, fields {cols_opt}")
            elif re.match(r"^[0-9a-f]{7,64} \S", first):
                raise SourceError(
                    f"{path}: looks like git log --oneline, which has no dates to place commits on a timeline; "
                    "use git log --pretty=format:'%H|%an|%aI|%s' (options.separator '|')"
                )
        if sep is not None:
            unknown = [c for c in cols_opt if c not in _GIT_KNOWN]
            if unknown or ("date" not in cols_opt and "author_date" not in cols_opt and "commit_date" not in cols_opt):
                raise SourceError(
                    f"{path}: options.columns {cols_opt} must name a date field and only these: {sorted(_GIT_KNOWN)}"
                )
            commits, rej = _git_separated(lines, path, sep, cols_opt)
        else:
            if not re.match(_COMMIT_RE, first) and content.filter(pl.col("line").str.contains(_COMMIT_RE)).height == 0:
                raise SourceError(
                    f"{path}: no 'commit <sha>' lines; expected git log output (default or --pretty=fuller) or one "
                    "commit per line with options.separator"
                )
            commits, rej = _git_blocks(lines, path)
        ev, bad_dates = _git_frame(commits, req, path)
        inputs += commits.height + rej.height
        events.append(ev)
        rejects.extend([rej, bad_dates])
    frame = pl.concat(events) if events else empty_events()
    rej_all = pl.concat(rejects) if rejects else rejects_frame([], [], [])
    return LoadResult(
        frame=frame,
        rejects=rej_all,
        inputs=inputs,
        parsed_inputs=frame.height,
        unit="commits",
        notes=tuple(dict.fromkeys(notes)),
    )
