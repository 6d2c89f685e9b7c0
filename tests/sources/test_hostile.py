"""Broken and adversarial inputs (``tests/fixtures/hostile``): every loader that could be pointed at a file
either refuses it with a pmkit error that names the file and says what was expected, or accounts for every
input (``parsed + rejected == inputs``, each reject with an origin and a reason). Any other exception is a
pmkit bug; so is a load that runs past the harness's time budget (:func:`sourcetest.within_budget`).

The table ``CASES`` says which loaders read which file: the fitting loader(s), and every loader (sniffing
included) for junk no format fits. ``make.py`` beside the files writes them; the 10 MB line and the symlink
loops are made at test time.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sourcetest import within_budget

from pmkit.errors import PmkitError, SpecError
from pmkit.sources.base import LoadRequest, LoadResult, run

HOSTILE = Path(__file__).resolve().parents[1] / "fixtures" / "hostile"
FILES = HOSTILE / "files"
AT = "2025-06-15T16:30:00Z"


def _make_module() -> Any:
    spec = importlib.util.spec_from_file_location("hostile_make", HOSTILE / "make.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make = _make_module()


@dataclass(frozen=True)
class Loader:
    kind: str
    format: str  # "" = sniffed
    opts: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.kind}/{self.format or 'sniffed'}"


def _l(kind: str, fmt: str, **opts: Any) -> Loader:
    return Loader(kind, fmt, opts)


COMBINED, COMMON, NGINX_ERR = _l("logs", "combined"), _l("logs", "common"), _l("logs", "nginx-error")
JSONL, LOGFMT, SYSLOG, LOG4J = _l("logs", "jsonl"), _l("logs", "logfmt"), _l("logs", "syslog"), _l("logs", "log4j")
GROK = _l("logs", "grok", pattern="%{COMBINEDAPACHELOG}")
TRANSCRIPT = _l("chat", "transcript")
SLACK = _l("chat", "slack")
GIT_LOG, KUBECTL = _l("deploys", "git-log"), _l("deploys", "kubectl-rollout", options={"at": AT})
DEPLOY_CSV, DEPLOY_JSON = _l("deploys", "csv"), _l("deploys", "json")
GITHUB, ARGOCD = _l("deploys", "github-deployments"), _l("deploys", "argocd")
METRICS_CSV, GRAFANA_CSV, PROMETHEUS = _l("metrics", "csv"), _l("metrics", "grafana-csv"), _l("metrics", "prometheus")
ALERTMANAGER, GRAFANA_ALERT, PAGERDUTY = (
    _l("alerts", "alertmanager"),
    _l("alerts", "grafana-alert"),
    _l("alerts", "pagerduty"),
)
DD_METRICS, DD_LOGS, DD_EVENTS = _l("metrics", "datadog"), _l("logs", "datadog"), _l("alerts", "datadog-events")
SLACK_PASTE = _l("chat", "slack-paste")
SNIFFED = [_l(kind, "") for kind in ("logs", "alerts", "metrics", "deploys", "chat")]

LOG_LINES = [COMBINED, COMMON, NGINX_ERR, JSONL, LOGFMT, SYSLOG, LOG4J, GROK]
TEXT = [*LOG_LINES, TRANSCRIPT, SLACK_PASTE, GIT_LOG, KUBECTL, METRICS_CSV, GRAFANA_CSV, DEPLOY_CSV]
JSON_DOCS = [
    ALERTMANAGER,
    GRAFANA_ALERT,
    PAGERDUTY,
    PROMETHEUS,
    GITHUB,
    ARGOCD,
    DEPLOY_JSON,
    DD_METRICS,
    DD_LOGS,
    DD_EVENTS,
]
EVERY = [*TEXT, *JSON_DOCS, *SNIFFED]
CSVS = [METRICS_CSV, GRAFANA_CSV, DEPLOY_CSV]

_TRUNC = r"{file}:\d+: not valid JSON \(.+ at column \d+\)"
_BAD_JSON = r"{file}(:\d+)?: not valid JSON"

# file -> loaders; an optional regex per file that the error (or every reject reason) must match ({file}: its name)
CASES: dict[str, tuple[list[Loader], str | None]] = {
    "empty.log": (EVERY, None),
    "empty.json": (EVERY, None),
    "empty.csv": (CSVS, None),
    "blank-lines.log": (EVERY, None),
    "alertmanager-truncated.json": ([ALERTMANAGER, GRAFANA_ALERT, PAGERDUTY, _l("alerts", "")], _TRUNC),
    "pagerduty-truncated.json": ([PAGERDUTY, ALERTMANAGER], _TRUNC),
    "prometheus-truncated.json": ([PROMETHEUS, _l("metrics", "")], _TRUNC),
    "github-deployments-truncated.json": ([GITHUB, DEPLOY_JSON, _l("deploys", "")], _TRUNC),
    "argocd-app-truncated.json": ([ARGOCD, DEPLOY_JSON], _TRUNC),
    "alertmanager-ndjson-truncated-line.ndjson": ([ALERTMANAGER, GRAFANA_ALERT, JSONL], None),
    "access-truncated.log.gz": ([COMBINED, JSONL, SYSLOG, GROK, _l("logs", "")], r"gzip"),
    "junk-inside.log.gz": (EVERY, None),
    "gzip-magic-then-junk.json.gz": ([*JSON_DOCS, COMBINED, JSONL, _l("alerts", "")], r"gzip"),
    "random.bin": (EVERY, None),
    "image.png": (EVERY, None),
    "elf-header.bin": (EVERY, None),
    "nul-in-lines.log": ([COMBINED, COMMON, SYSLOG, LOGFMT, GROK, TRANSCRIPT, _l("logs", "")], None),
    "nul-in-lines.jsonl": ([JSONL, LOGFMT, _l("logs", "")], None),
    "invalid-utf8.log": ([COMBINED, SYSLOG, LOGFMT, GROK, NGINX_ERR, _l("logs", "")], None),
    "invalid-utf8.jsonl": ([JSONL, _l("logs", "")], None),
    "latin1.log": ([SYSLOG, LOGFMT, TRANSCRIPT, JSONL, _l("logs", ""), _l("chat", "")], None),
    "bom-utf8.jsonl": ([JSONL, _l("logs", "")], None),
    "bom-utf8.csv": ([METRICS_CSV, GRAFANA_CSV, DEPLOY_CSV, _l("metrics", "")], None),
    "utf16-bom.log": ([SYSLOG, COMBINED, LOGFMT, JSONL, _l("logs", "")], None),
    "utf16-bom.csv": ([METRICS_CSV, GRAFANA_CSV, _l("metrics", "")], None),
    "utf16-bom-broken.jsonl": ([JSONL, SYSLOG, _l("logs", "")], r"UTF-16-LE"),
    "line-endings-mixed.log": ([SYSLOG, COMBINED, LOGFMT, JSONL, GROK, LOG4J, _l("logs", "")], None),
    "line-endings-mixed.jsonl": ([JSONL, _l("logs", "")], None),
    "cr-only.csv": ([METRICS_CSV, GRAFANA_CSV, DEPLOY_CSV], None),
    "mixed-formats.log": ([*LOG_LINES, TRANSCRIPT, _l("logs", "")], None),
    "deep-array.json": ([*JSON_DOCS, JSONL, *SNIFFED], None),
    "deep-object.json": ([*JSON_DOCS, JSONL, *SNIFFED], None),
    "deep-object.jsonl": ([JSONL, ALERTMANAGER, DEPLOY_JSON, _l("logs", "")], None),
    "metrics-ragged.csv": ([METRICS_CSV, GRAFANA_CSV, _l("metrics", "")], None),
    "deploys-ragged.csv": ([DEPLOY_CSV, _l("deploys", "")], None),
    "metrics-time-empty.csv": ([METRICS_CSV, GRAFANA_CSV, _l("metrics", "")], None),
    "deploys-time-empty.csv": ([DEPLOY_CSV], None),
    "header-only.csv": (CSVS, None),
    "prometheus-error.json": ([PROMETHEUS, _l("metrics", "")], r"bad_data"),
    "huge-numbers.jsonl": ([JSONL, _l("logs", "")], None),
    "prometheus-huge-numbers.json": ([PROMETHEUS], None),
    "alertmanager-huge-numbers.json": ([ALERTMANAGER, GRAFANA_ALERT], None),
    "github-deployments-huge-numbers.json": ([GITHUB, DEPLOY_JSON], None),
    "alertmanager-duplicate-alert.json": ([ALERTMANAGER, GRAFANA_ALERT], None),
    "duplicate-lines.log": ([COMBINED, GROK], None),
    "duplicate-lines.jsonl": ([JSONL], None),
    "logfmt-unbalanced.log": ([LOGFMT, _l("logs", "")], None),
    "syslog-pri-only.log": ([SYSLOG, _l("logs", "")], None),
    "kubectl-describe-broken-events.txt": ([KUBECTL, _l("deploys", "")], None),
    "git-log-binary-diff.txt": ([GIT_LOG, _l("deploys", "")], None),
    "grok-nothing-matches.log": (
        [
            _l("logs", "grok", pattern="%{IP:client} THIS-NEVER-APPEARS %{INT:n}"),
            _l("logs", "grok", pattern="(?!)"),
            _l("logs", "grok", pattern="%{NOSUCHPATTERN:x}"),
            _l("logs", "grok", pattern="(unclosed"),
        ],
        None,
    ),
    "transcript-junk.txt": ([TRANSCRIPT, _l("chat", "")], None),
    "json-scalar.json": ([*JSON_DOCS, JSONL], None),
    "json-null.json": ([*JSON_DOCS, JSONL], None),
    "json-wrong-shape.json": ([*JSON_DOCS, JSONL], None),
    "argocd-history-object.json": ([ARGOCD], None),
    "github-statuses-wrong-types.json": ([GITHUB], None),
    "jsonl-conflicting-types.jsonl": ([JSONL], None),
    "times-out-of-range.jsonl": ([JSONL], None),
    "jsonl-null-lines.jsonl": ([JSONL, ALERTMANAGER, DEPLOY_JSON, _l("logs", "")], None),
    "jsonl-two-objects-one-line.jsonl": ([JSONL, ALERTMANAGER, DEPLOY_JSON, _l("logs", "")], None),
    "slack-truncated.zip": ([SLACK, _l("chat", "")], None),
    "slack-junk.zip": ([SLACK, _l("chat", "")], None),
    "slack-no-users": ([SLACK, _l("chat", "")], None),
    "slack-channel-object": ([SLACK, _l("chat", "")], None),
    "slack-channel-junk": ([SLACK], None),
    "no-incident-yaml": ([*LOG_LINES, _l("logs", "")], None),
}


def attempt(path: Path, loader: Loader, **extra: Any) -> LoadResult | PmkitError:
    """Load ``path`` with ``loader`` under the budget: the result, or the pmkit error it raised (any other
    exception propagates and fails the test)."""
    req = LoadRequest(kind=loader.kind, format=loader.format, path=str(path), **loader.opts, **extra)
    try:
        return within_budget(lambda: run(req), f"{loader.id} on {path.name}")
    except PmkitError as exc:
        return exc


def check(path: Path, outcome: LoadResult | PmkitError, expect: str | None = None) -> None:
    """A clear error naming the file, or every input accounted for with an origin and a reason per reject."""
    name = path.name
    pattern = expect.format(file=re.escape(name)) if expect else None
    if isinstance(outcome, PmkitError):
        msg = str(outcome)
        assert name in msg, f"the error does not name the file: {msg!r}"
        assert len(msg) > len(str(path)) + 15, f"the error does not say what was expected: {msg!r}"
        if pattern:
            assert re.search(pattern, msg), f"error {msg!r} does not match {pattern!r}"
        return
    res = outcome
    assert res.parsed + res.rejected == res.inputs, (res.parsed, res.rejected, res.inputs)
    for origin, reason in res.rejects.select("origin", "reason").iter_rows():
        assert origin and name in origin, f"reject without a usable origin: {origin!r} ({reason!r})"
        assert reason and reason.strip(), f"reject without a reason at {origin}"
    if res.frame.height:
        origins = res.frame.get_column("origin")
        assert origins.null_count() == 0 and origins.str.contains(name, literal=True).all()


def _params() -> list[Any]:
    return [
        pytest.param(name, loader, expect, id=f"{name}-{loader.id}-{i}")
        for name, (loaders, expect) in CASES.items()
        for i, loader in enumerate(loaders)
    ]


def test_the_folder_holds_at_least_40_hostile_inputs_each_in_the_table() -> None:
    present = sorted(p.name for p in FILES.iterdir())
    assert len(present) >= 40
    assert sorted(CASES) == present, "every hostile file is in CASES, and every CASES entry exists"


def test_the_files_are_what_make_py_writes(tmp_path: Path) -> None:
    """The committed files are the script's output, byte for byte (rerun make.py after editing it)."""
    make.write(tmp_path)
    for want in sorted(tmp_path.rglob("*")):
        if want.is_file():
            got = FILES / want.relative_to(tmp_path)
            assert got.is_file() and got.read_bytes() == want.read_bytes(), f"{got} differs from make.py's output"


@pytest.mark.parametrize(("name", "loader", "expect"), _params())
def test_hostile_file(name: str, loader: Loader, expect: str | None) -> None:
    """``expect`` is checked where the format is given: a sniffed load may stop earlier, at "cannot tell"."""
    path = FILES / name
    check(path, attempt(path, loader), expect if loader.format else None)


# ---------------------------------------------------------------------------- made at test time


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make.big_single_line(tmp_path_factory.mktemp("big"))  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "loader", [*LOG_LINES, TRANSCRIPT, GIT_LOG, KUBECTL, METRICS_CSV, DEPLOY_CSV, _l("logs", "")], ids=lambda x: x.id
)
def test_ten_mb_single_line(big: dict[str, Path], loader: Loader) -> None:
    check(big["plain"], attempt(big["plain"], loader))


@pytest.mark.parametrize(
    "loader", [JSONL, LOGFMT, SYSLOG, ALERTMANAGER, DEPLOY_JSON, _l("logs", "")], ids=lambda x: x.id
)
def test_ten_mb_single_json_line(big: dict[str, Path], loader: Loader) -> None:
    res = attempt(big["json"], loader)
    check(big["json"], res)
    if loader == JSONL:
        assert isinstance(res, LoadResult) and res.parsed == 1
        assert len(res.frame.item(0, "message")) == 10 * 1024 * 1024


@pytest.fixture
def loops(tmp_path: Path) -> Path:
    return make.symlink_loops(tmp_path)  # type: ignore[no-any-return]


@pytest.mark.parametrize(("how", "contained"), [("folder", False), ("folder", True), ("glob", False), ("glob", True)])
def test_directory_symlink_loop(loops: Path, how: str, contained: bool) -> None:
    """A folder whose symlinks lead back to itself: each real file loaded, or refused with the reason."""
    logs = loops / "logs"
    path = logs if how == "folder" else logs / "**" / "*.log"
    res = attempt(path, COMBINED, **({"root": str(loops)} if contained else {}))
    check(logs, res)
    if isinstance(res, LoadResult):
        assert res.parsed == 3 * len({Path(o.rsplit(":", 1)[0]).resolve() for o in res.frame["origin"]})


def test_incident_folder_without_incident_yaml(tmp_path: Path) -> None:
    from pmkit.incident import Incident

    folder = shutil.copytree(FILES / "no-incident-yaml", tmp_path / "no-incident-yaml")
    with pytest.raises(SpecError, match=r"no-incident-yaml/incident\.yaml: 1 problem:\n  - file not found"):
        within_budget(lambda: Incident.load(folder, cache=False), "Incident.load without incident.yaml")


# ---------------------------------------------------------------------------- what the fixes give, exactly


def _rejects(res: LoadResult | PmkitError) -> dict[str, str]:
    assert isinstance(res, LoadResult), res
    return {o.rsplit(":", 1)[1]: r for o, r in res.rejects.select("origin", "reason").iter_rows()}


def test_jsonl_two_objects_on_a_line_and_a_blank_line_are_not_miscounted() -> None:
    """pyarrow read ``{..} {..}`` as two records and the blank line as none: the count matched, the origins lied."""
    res = attempt(FILES / "jsonl-two-objects-one-line.jsonl", JSONL)
    assert _rejects(res) == {"1": "not valid JSON: Extra data at column 109", "2": "blank line"}
    assert isinstance(res, LoadResult) and res.frame.get_column("origin").str.ends_with(":3").all()


def test_jsonl_null_lines_are_rejected_not_read_as_empty_records() -> None:
    """A first-line ``null`` crashed the process inside pyarrow; a later one became a record of nulls."""
    assert _rejects(attempt(FILES / "jsonl-null-lines.jsonl", JSONL)) == {
        "1": "a JSON null, not an object",
        "3": "a JSON null, not an object",
    }


@pytest.mark.parametrize("loader", [JSONL, DEPLOY_JSON, ALERTMANAGER], ids=lambda x: x.id)
def test_json_nested_too_deep_is_refused_where_it_is(loader: Loader) -> None:
    """Depth 10,000: a segfault in polars/pyarrow, a RecursionError in Python's json; now a reason with the column."""
    reasons = _rejects(attempt(FILES / "deep-object.jsonl", loader))
    assert "nested deeper than 128 levels" in reasons["2"]
    whole = attempt(FILES / "deep-object.json", loader)
    assert isinstance(whole, PmkitError) or whole.parsed == 0


def test_json_depth_limit_is_exact() -> None:
    from pmkit.sources import textio

    limit = textio.MAX_JSON_DEPTH
    assert textio.too_deep_at("[" * limit + "]" * limit) is None
    assert textio.too_deep_at("[" * (limit + 1) + "]" * (limit + 1)) == limit
    assert textio.too_deep_at('["' + "[" * 500 + '"]') is None  # brackets in strings do not nest
    assert textio.too_deep_at('{"a":"\\"' + "{" * 500 + '"}') is None  # nor after an escaped quote
    assert textio.too_deep_at("{" * 300) == limit  # a truncated document is measured as far as it goes


def test_corrupt_gzip_is_a_source_error() -> None:
    """zlib.error (corrupt deflate data) escaped as itself: it is neither OSError nor EOFError."""
    res = attempt(FILES / "gzip-magic-then-junk.json.gz", JSONL)
    assert isinstance(res, PmkitError) and "cannot be decompressed: Error -3" in str(res)
