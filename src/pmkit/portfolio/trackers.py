"""Action items out to trackers and tracker exports back in: GitHub, Jira, Linear (docs/actions.md).

**Out** (:func:`export`), one set of files per tracker in the output folder:

- ``github/<key>.json``: per item, exactly the body of GitHub's REST ``POST /repos/{owner}/{repo}/issues``
  (``title``, ``body``, ``labels``, ``assignees``); ``github/create-issues.sh``: the same issues as
  ``gh issue create`` calls (``sh create-issues.sh OWNER/REPO``), every value single-quoted for the shell;
- ``jira-import.csv``: Jira's CSV importer (Summary, Description, Assignee, Due date as ``yyyy-MM-dd``, Priority,
  one ``Labels`` column per label, Issue Type);
- ``linear-import.csv``: the columns of Linear's CSV import (Linear's own export: ID, Team, Title, Description,
  Status, Estimate, Priority, ..., Labels joined by ``", "``, Due Date).

Every issue's text ends with the line ``pmkit-action: <key>`` (:func:`pmkit.portfolio.actions.item_key`).

**Back** (:func:`read_export`): a tracker's export as :class:`Record` rows (key, title, status, tracker ref):

- GitHub: a JSON list of issues, as ``gh issue list --json number,title,state,stateReason,body,url`` or the REST
  API (``GET /repos/{owner}/{repo}/issues?state=all``: ``state``, ``state_reason``, ``html_url``) give it;
- Jira: the CSV of "Export Excel CSV" (``Issue key``, ``Summary``, ``Status``, ``Resolution``, ``Description``);
- Linear: the CSV of Linear's export (``ID``, ``Title``, ``Status``, ``Description``).

The status written back is the tracker's word in lower case (``done``, ``in progress``, ``canceled``); a closed
GitHub issue is ``done`` unless closed as not planned (``not planned``) or a duplicate (``duplicate``); an open
one is ``open``, but only where the item is done (reopened): GitHub has no "in progress", so an item's own open
status is kept; a Jira
issue whose resolution is not a done word (``Won't Do``) takes its resolution. Whether a status counts as done is
the portfolio's rule (:data:`pmkit.portfolio.DONE_STATUSES`).
"""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pmkit.errors import PmkitError
from pmkit.portfolio.actions import MARKER, Item

TRACKERS = ("github", "jira", "linear")
GITHUB_DIR = "github"
GH_SCRIPT = "create-issues.sh"
JIRA_FILE = "jira-import.csv"
LINEAR_FILE = "linear-import.csv"
# Linear's CSV columns, in the order of its export (the columns its CSV importer reads; Due Date from newer exports)
LINEAR_COLUMNS = (
    "ID",
    "Team",
    "Title",
    "Description",
    "Status",
    "Estimate",
    "Priority",
    "Project",
    "Creator",
    "Assignee",
    "Labels",
    "Cycle Number",
    "Cycle Name",
    "Cycle Start",
    "Cycle End",
    "Created",
    "Updated",
    "Started",
    "Completed",
    "Canceled",
    "Archived",
    "Due Date",
)
# P0..P4 (and SEV1..SEV5) to each tracker's priority names; other priorities are written as given
_LEVEL = re.compile(r"^(?:p(\d)|sev(\d))$", re.IGNORECASE)
JIRA_PRIORITY = ("Highest", "High", "Medium", "Low", "Lowest")
LINEAR_PRIORITY = ("Urgent", "High", "Medium", "Low", "No priority")
_GITHUB_LOGIN = re.compile(r"^@?([A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38})$")
_KEY_LINE = re.compile(re.escape(MARKER) + r"[ \t]*`?([^\s`]+)")
_FORMULA = re.compile(r"^'([=+\-@])")


class TrackerError(PmkitError):
    """A tracker export pmkit cannot read: the message names the file, the line or index, and what was expected."""


def _level(priority: str | None) -> int | None:
    m = _LEVEL.match((priority or "").strip())
    if not m:
        return None
    return int(m.group(1)) if m.group(1) is not None else int(m.group(2)) - 1


def _mapped(priority: str | None, names: tuple[str, ...]) -> str:
    level = _level(priority)
    if level is not None:
        return names[min(level, len(names) - 1)]
    return (priority or "").strip()


def body(item: Item) -> str:
    """The issue's text (Markdown): the action, where it comes from, owner, due day, priority, and the key line."""
    lines = [item.action, "", f"- Postmortem: {item.incident}" + (f" ({item.title})" if item.title else "")]
    lines += [f"- Owner: {item.owner}"] if item.owner else []
    lines += [f"- Due: {item.due.isoformat()}"] if item.due else []
    lines += [f"- Priority: {item.priority}"] if item.priority else []
    return "\n".join([*lines, "", f"{MARKER} {item.key}"])


def labels(item: Item, extra: Iterable[str] = ()) -> list[str]:
    """``postmortem``, the incident id, the priority when given, then ``extra``; each once, in that order."""
    found = ["postmortem", item.incident, *([item.priority] if item.priority else []), *extra]
    return list(dict.fromkeys(x for x in found if x))


def github_issue(item: Item, *, extra_labels: Iterable[str] = (), assign: bool = True) -> dict[str, Any]:
    """The JSON body of ``POST /repos/{owner}/{repo}/issues``: ``title``, ``body``, ``labels`` and, when the owner
    is one GitHub login (``@name``, not a team ``@org/team``) and ``assign``, ``assignees``."""
    out: dict[str, Any] = {"title": item.action, "body": body(item), "labels": labels(item, extra_labels)}
    m = _GITHUB_LOGIN.match((item.owner or "").strip())
    if assign and m:
        out["assignees"] = [m.group(1)]
    return out


def file_stem(key: str) -> str:
    """A file name for a key: characters other than letters, digits, ``-._`` become ``_``."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", key)


def gh_script(issues: list[tuple[str, dict[str, Any]]]) -> str:
    """A POSIX shell script running ``gh issue create`` once per issue (``sh create-issues.sh OWNER/REPO``): each
    flag is written ``--flag=VALUE`` with VALUE single-quoted by :func:`shlex.quote`, so quotes, ``$``, backticks and
    newlines in a title or body are text, never shell; labels are created first (an existing one is left as is)."""
    all_labels = list(dict.fromkeys(lab for _, issue in issues for lab in issue.get("labels", [])))
    out = [
        "#!/bin/sh",
        "# Written by `pmkit actions export --to github`: one GitHub issue per action item.",
        "# Usage: sh create-issues.sh OWNER/REPO   (needs the GitHub CLI, gh, logged in)",
        "# Each issue's text ends with a `pmkit-action:` line: `pmkit actions sync` matches the issue back by it.",
        "set -eu",
        'repo="${1:?usage: sh create-issues.sh OWNER/REPO}"',
        "",
    ]
    out += [f'gh label create --repo="$repo" -- {shlex.quote(lab)} >/dev/null 2>&1 || true' for lab in all_labels]
    for key, issue in issues:
        args = [f"--title={shlex.quote(issue['title'])}", f"--body={shlex.quote(issue['body'])}"]
        args += [f"--label={shlex.quote(lab)}" for lab in issue.get("labels", [])]
        args += [f"--assignee={shlex.quote(who)}" for who in issue.get("assignees", [])]
        out += ["", f"# {file_stem(key)}", 'gh issue create --repo="$repo" ' + " ".join(args)]
    return "\n".join(out) + "\n"


def _cell(value: str) -> str:
    """A CSV cell Linear's importer reads back as written: a leading ``= + - @`` gets a ``'`` (Linear's export
    convention, which its importer strips), so a spreadsheet does not run it as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def jira_csv(items: list[Item], *, extra_labels: Iterable[str] = (), issue_type: str = "Task") -> str:
    """Jira's CSV importer file: one row per item; a ``Labels`` column per label (Jira's convention for several
    values); labels have no spaces (Jira's rule: spaces become ``-``); the assignee is the owner without ``@``."""
    extra = list(extra_labels)
    rows = [[re.sub(r"\s+", "-", lab) for lab in labels(it, extra)] for it in items]
    width = max((len(r) for r in rows), default=1)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["Summary", "Description", "Assignee", "Due date", "Priority", *(["Labels"] * width), "Issue Type"])
    for it, labs in zip(items, rows, strict=True):
        w.writerow(
            [
                it.action,
                body(it),
                (it.owner or "").lstrip("@"),
                it.due.isoformat() if it.due else "",
                _mapped(it.priority, JIRA_PRIORITY),
                *labs,
                *([""] * (width - len(labs))),
                issue_type,
            ]
        )
    return buf.getvalue()


def linear_csv(items: list[Item], *, extra_labels: Iterable[str] = (), team: str = "") -> str:
    """Linear's CSV import file (the columns of :data:`LINEAR_COLUMNS`): Title, Description, Status ``Todo``,
    Priority (P0..P3 as Urgent, High, Medium, Low), Assignee (the owner without ``@``), Labels, Due Date, Team."""
    extra = list(extra_labels)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(LINEAR_COLUMNS), lineterminator="\r\n", restval="")
    w.writeheader()
    for it in items:
        w.writerow(
            {
                "Team": team,
                "Title": _cell(it.action),
                "Description": _cell(body(it)),
                "Status": "Todo",
                "Priority": _mapped(it.priority, LINEAR_PRIORITY) or "No priority",
                "Assignee": (it.owner or "").lstrip("@"),
                "Labels": ", ".join(lab.replace(",", " ") for lab in labels(it, extra)),
                "Due Date": it.due.isoformat() if it.due else "",
            }
        )
    return buf.getvalue()


def export(
    items: list[Item],
    out: Path,
    trackers: Iterable[str],
    *,
    extra_labels: Iterable[str] = (),
    assign: bool = True,
    issue_type: str = "Task",
    team: str = "",
) -> list[Path]:
    """Write the files of each tracker (module docstring) for ``items`` into ``out``; the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    extra = list(extra_labels)
    written: list[Path] = []
    for tracker in trackers:
        if tracker == "github":
            folder = out / GITHUB_DIR
            folder.mkdir(exist_ok=True)
            issues = [(it.key, github_issue(it, extra_labels=extra, assign=assign)) for it in items]
            stems = [file_stem(k) for k, _ in issues]
            if len(set(stems)) != len(stems):
                dup = sorted({s for s in stems if stems.count(s) > 1})
                raise PmkitError(f"{folder}: keys {', '.join(dup)} give the same file name; give the items ids")
            for stem, (_, issue) in zip(stems, issues, strict=True):
                path = folder / f"{stem}.json"
                path.write_text(json.dumps(issue, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
                written.append(path)
            script = folder / GH_SCRIPT
            script.write_text(gh_script(issues), encoding="utf-8")
            script.chmod(0o755)
            written.append(script)
        elif tracker == "jira":
            path = out / JIRA_FILE
            path.write_text(jira_csv(items, extra_labels=extra, issue_type=issue_type), encoding="utf-8", newline="")
            written.append(path)
        elif tracker == "linear":
            path = out / LINEAR_FILE
            path.write_text(linear_csv(items, extra_labels=extra, team=team), encoding="utf-8", newline="")
            written.append(path)
        else:
            raise PmkitError(f"--to {tracker!r}: expected one of {', '.join(TRACKERS)}")
    return written


# --- back: tracker exports ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """One issue of a tracker export: ``origin`` (``file:line`` or ``file[index]``), the pmkit ``key`` found in its
    text (None when it has no ``pmkit-action:`` line), ``title``, ``status`` (lower case, see the module docstring)
    and ``ref`` (the issue's URL or tracker key, None when the export has neither). ``coarse``: the tracker only
    says "not done" (an open GitHub issue), so an item's own open status (``in progress``) is kept."""

    origin: str
    key: str | None
    title: str
    status: str
    ref: str | None
    coarse: bool = False


def key_in(text: str | None) -> str | None:
    """The key of the last ``pmkit-action:`` line of ``text``; None when there is none. Backslashes are dropped (a
    tracker's Markdown may write ``#`` as ``\\#``; a key never holds one: it is percent-encoded)."""
    found = _KEY_LINE.findall(text or "")
    return (found[-1].replace("\\", "") or None) if found else None


def _github_status(state: str, reason: str) -> str:
    if state == "open":
        return "open"
    return {"not_planned": "not planned", "duplicate": "duplicate"}.get(reason, "done")


def read_github(path: Path, text: str) -> list[Record]:
    """GitHub issues JSON (``gh issue list --json ...`` or the REST API's list; a search result's ``items``)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TrackerError(f"{path}: line {exc.lineno} column {exc.colno}: not valid JSON: {exc.msg}") from None
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        data = data["items"]
    if not isinstance(data, list):
        raise TrackerError(
            f"{path}: found a JSON {type(data).__name__}; expected a list of issues, as "
            "`gh issue list --state all --json number,title,state,stateReason,body,url` writes"
        )
    out = []
    problems = []
    for i, issue in enumerate(data):
        where = f"{path}[{i}]"
        if not isinstance(issue, dict):
            problems.append(f"{where}: found {type(issue).__name__}; expected an issue object")
            continue
        state = issue.get("state")
        if not isinstance(state, str) or state.lower() not in ("open", "closed"):
            problems.append(f"{where}.state: found {state!r}; expected open or closed (ask gh for --json state)")
            continue
        reason = issue.get("stateReason", issue.get("state_reason")) or ""
        ref = issue.get("url") if "html_url" not in issue else issue.get("html_url")
        if not ref and issue.get("number") is not None:
            ref = f"#{issue['number']}"
        title = issue.get("title")
        body_text = issue.get("body")
        if "body" not in issue and "title" not in issue:
            problems.append(f"{where}: has neither body nor title; ask gh for --json number,title,state,body,url")
            continue
        out.append(
            Record(
                origin=where,
                key=key_in(body_text if isinstance(body_text, str) else ""),
                title=str(title or ""),
                status=_github_status(state.lower(), str(reason).lower()),
                ref=str(ref) if ref else None,
                coarse=state.lower() == "open",
            )
        )
    if problems:
        raise TrackerError("\n".join(problems))
    return out


def _csv_rows(path: Path, text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and every row with the line it starts on; rows of another width than the header are errors."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None or not any(h.strip() for h in header):
            raise TrackerError(f"{path}: empty; expected a CSV with a header row")
        rows: list[tuple[int, list[str]]] = []
        start = reader.line_num + 1
        problems = []
        for row in reader:
            if any(cell.strip() for cell in row):
                if len(row) != len(header):
                    problems.append(f"{path}: line {start}: {len(row)} fields; the header has {len(header)}")
                else:
                    rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise TrackerError(f"{path}: line {reader.line_num}: malformed CSV: {exc}") from None
    if problems:
        raise TrackerError("\n".join(problems))
    return [h.strip() for h in header], rows


def _column(header: list[str], name: str) -> int | None:
    low = [h.lower() for h in header]
    return low.index(name.lower()) if name.lower() in low else None


def _need(path: Path, header: list[str], tracker: str, names: tuple[str, ...]) -> dict[str, int]:
    missing = [n for n in names if _column(header, n) is None]
    if missing:
        raise TrackerError(
            f"{path}: line 1: no column {', '.join(missing)} in a {tracker} export (found {', '.join(header)}); "
            f"expected {tracker}'s CSV export with columns {', '.join(names)}"
        )
    return {n: _column(header, n) for n in names}  # type: ignore[misc]


_JIRA_DONE_RESOLUTIONS = {"", "done", "fixed", "resolved", "complete", "completed", "unresolved"}


def read_jira(path: Path, text: str) -> list[Record]:
    """Jira's CSV export: ``Summary`` and ``Status`` needed; ``Issue key``, ``Resolution`` and ``Description`` read
    when present."""
    header, rows = _csv_rows(path, text)
    col = _need(path, header, "Jira", ("Summary", "Status"))
    key_col, res_col, desc_col = (_column(header, n) for n in ("Issue key", "Resolution", "Description"))
    out = []
    for line, row in rows:
        status = row[col["Status"]].strip().lower()
        resolution = row[res_col].strip().lower() if res_col is not None else ""
        if resolution not in _JIRA_DONE_RESOLUTIONS:
            status = resolution
        if not status:
            raise TrackerError(f"{path}: line {line}: Status is empty; expected the issue's status (To Do, Done...)")
        out.append(
            Record(
                origin=f"{path}:{line}",
                key=key_in(row[desc_col]) if desc_col is not None else None,
                title=row[col["Summary"]].strip(),
                status=status,
                ref=(row[key_col].strip() or None) if key_col is not None else None,
            )
        )
    return out


def read_linear(path: Path, text: str) -> list[Record]:
    """Linear's CSV export: ``Title`` and ``Status`` needed; ``ID``, ``URL`` and ``Description`` read when present
    (a leading ``'`` before ``= + - @``, Linear's formula guard, is removed)."""
    header, rows = _csv_rows(path, text)
    col = _need(path, header, "Linear", ("Title", "Status"))
    id_col, url_col, desc_col = (_column(header, n) for n in ("ID", "URL", "Description"))
    out = []
    for line, row in rows:
        status = row[col["Status"]].strip().lower()
        if not status:
            raise TrackerError(f"{path}: line {line}: Status is empty; expected the issue's status (Todo, Done...)")
        ref = (row[url_col].strip() if url_col is not None else "") or (
            row[id_col].strip() if id_col is not None else ""
        )
        out.append(
            Record(
                origin=f"{path}:{line}",
                key=key_in(_FORMULA.sub(r"\1", row[desc_col])) if desc_col is not None else None,
                title=_FORMULA.sub(r"\1", row[col["Title"]].strip()),
                status=status,
                ref=ref or None,
            )
        )
    return out


def sniff(path: Path, text: str) -> str:
    """Which tracker wrote ``text``: JSON is GitHub's; a CSV with ``Summary`` is Jira's, with ``Title`` Linear's."""
    head = text.lstrip("\ufeff").lstrip()
    if head[:1] in ("[", "{") or path.suffix.lower() == ".json":
        return "github"
    first = next(csv.reader(io.StringIO(head)), [])
    names = {h.strip().lower() for h in first}
    if "summary" in names:
        return "jira"
    if "title" in names:
        return "linear"
    raise TrackerError(
        f"{path}: line 1: unknown columns ({', '.join(h.strip() for h in first) or 'none'}); expected a GitHub "
        "issues JSON list, Jira's CSV export (Summary, Status, ...) or Linear's CSV export (Title, Status, ...)"
    )


def read_export(path: str | Path, tracker: str | None = None) -> tuple[str, list[Record]]:
    """``(tracker, records)`` of a tracker export file; ``tracker`` None: :func:`sniff`. :class:`TrackerError`
    names the file and the line, index or column that could not be read."""
    p = Path(path)
    try:
        text = p.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise TrackerError(f"{p}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise TrackerError(f"{p}: byte {exc.start}: not UTF-8 text; expected a tracker's CSV or JSON export") from None
    kind = tracker or sniff(p, text)
    readers = {"github": read_github, "jira": read_jira, "linear": read_linear}
    if kind not in readers:
        raise TrackerError(f"--tracker {kind!r}: expected one of {', '.join(TRACKERS)}")
    return kind, readers[kind](p, text)


__all__ = [
    "TRACKERS",
    "Record",
    "TrackerError",
    "body",
    "export",
    "gh_script",
    "github_issue",
    "jira_csv",
    "key_in",
    "linear_csv",
    "read_export",
]
