"""The customer-facing postmortem (``pmkit render --audience public``) and ``--to pdf``.

For every sample: no internal identifier of the sample reaches the public text, with the identifier set
computed here from the loaded events and spec (not from the renderer's own list), and the text states
the impact window and figures of the sample's ``expected.yaml``. Then the refusal (a leak in author
text is an error naming the identifier and where it came from), the allow-list, the service names, the
public action items, the command, and the PDF (skipped, with the reason, without Chromium; its text
checked with pdftotext where that is installed).
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest
import yaml

from pmkit.cli import main
from pmkit.incident import Incident
from pmkit.pipeline import Analysis, analyze
from pmkit.report import public
from pmkit.report.figures_png import browser_path
from pmkit.report.public_guard import PublicLeakError
from pmkit.spec import ActionItem, PublicSpec

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted(p.parent for p in (ROOT / "data" / "samples").glob("*/incident.yaml"))

# attrs keys (split on "_" / "." / "-") that name hosts, pods, people, users, commits, versions, deployments, ids
_KEY_WORDS = {
    "host", "hostname", "server", "pod", "node", "instance", "container", "cluster", "namespace", "ip", "addr",
    "user", "uid", "username", "email", "actor", "author", "creator", "assignee", "sha", "commit", "version",
    "ref", "deploy", "deployment", "id", "channel", "repo", "repository",
}  # fmt: skip
_TEXT_TOKENS = (
    r"\b\d{1,3}(?:\.\d{1,3}){3}\b",  # IPv4
    r"[a-z]+://\S+",  # URLs
    r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+",  # emails
    r"@[\w.-]+\w",  # handles
    r"\b[vV]\d+(?:\.\d+)+\S*",  # versions
    r"\b\d+\.\d+\.\d+\b",
    r"\b[a-zA-Z][\w]*(?:-[\w]+)*-(?=[\w-]*\d)[\w-]+\b",  # pods, hyphenated ids with a digit
    r"\b[\w-]+(?:\.[\w-]+)*\.(?:internal|local|svc|cluster|com|net|org|io|example|corp)\b",  # hosts
)


def _shaped(v: str) -> bool:
    return bool(re.search(r"[\d\-_.@:/#]", v)) and len(v) >= 3 and not (v.isdigit() and len(v) < 6)


def _walk(value: object, key: str, out: set[str]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _walk(v, str(k), out)
    elif isinstance(value, list):
        for v in value:
            _walk(v, key, out)
    elif value is not None and not isinstance(value, bool):
        words = set(re.split(r"[_.\-]", key.lower()))
        text = str(value)
        if words & _KEY_WORDS and (_shaped(text) or words & {"user", "uid", "username", "actor", "author"}):
            out.add(text)


def expected_identifiers(inc: Incident) -> set[str]:
    """The sample's internal identifiers, gathered here independently of ``pmkit.report.public_guard``."""
    spec, ev = inc.spec, inc.events
    found: set[str] = {spec.id, *spec.services}
    handles = [*spec.roles.values(), *spec.authors, *(i.owner or "" for i in spec.action_items)]
    for h in handles:
        for part in re.split(r"[,\s]+", h):
            if part.strip("@"):
                found |= {part, part.lstrip("@")}
    for col in ("service", "actor"):
        found |= set(ev.get_column(col).drop_nulls().unique().to_list())
    texts = "\n".join(pl.concat([ev.get_column("message"), ev.get_column("attrs")]).drop_nulls().unique().to_list())
    for pat in _TEXT_TOKENS:
        found |= set(re.findall(pat, texts))
    found |= {h for h in re.findall(r"\b[0-9a-f]{7,40}\b", texts) if re.search(r"\d", h) and re.search("[a-f]", h)}
    for attrs in ev.get_column("attrs").drop_nulls().unique().to_list():
        try:
            _walk(json.loads(attrs), "", found)
        except ValueError:
            continue
    allowed = [a.lower() for a in (*spec.public.allow, *spec.public.services.values())]
    return {f for f in found if len(f) >= 3 and not (f.isdigit() and len(f) < 6) and f.lower() not in allowed}


def _visible(page: str) -> str:
    import html

    page = re.sub(r"(?is)<(style|script)\b.*?</\1>", " ", page)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def _names(text: str, idents: set[str]) -> list[str]:
    """The identifiers found in ``text``, case-insensitively, not inside a longer word."""
    low = text.lower()
    out = []
    for ident in idents:
        key = ident.lower()
        at = low.find(key)
        while at != -1:
            before = low[at - 1] if at else " "
            after = low[at + len(key)] if at + len(key) < len(low) else " "
            if not (before.isalnum() or before == "_") and not (after.isalnum() or after == "_"):
                out.append(ident)
                break
            at = low.find(key, at + 1)
    return sorted(out)


@pytest.fixture(scope="module", params=SAMPLES, ids=lambda p: p.name)
def sample(request: pytest.FixtureRequest) -> tuple[Analysis, dict, str]:
    d: Path = request.param
    a = analyze(Incident.load(d))
    doc = public.build(a)
    text = public.to_markdown(doc) + "\n" + _visible(public.to_html(doc))
    expected = yaml.safe_load((d / "expected.yaml").read_text())
    return a, expected, text


def test_no_internal_identifier_reaches_the_public_text(sample: tuple[Analysis, dict, str]) -> None:
    a, _, text = sample
    idents = expected_identifiers(a.incident)
    assert len(idents) > 20  # the sample knows hosts, people, versions...: the check has something to find
    assert _names(text, idents) == []


def test_public_text_states_the_window_and_figures_of_expected_yaml(sample: tuple[Analysis, dict, str]) -> None:
    a, exp, text = sample
    imp = exp["impact"]
    start = dt_parse(imp["window"]["start"])
    end = dt_parse(imp["window"]["end"])
    window = f"{start:%H:%M} to {end:%H:%M} UTC on {start:%Y-%m-%d}"
    assert f"From {window} ({round((end - start).total_seconds() / 60)} minutes)" in text
    bad = imp.get("bad_requests", imp["failed_requests"])
    total = imp["total_requests"]
    ratio = bad / total
    pct = "100%" if ratio >= 0.9995 else f"{ratio:.1%}"
    verb = f"were slower than {imp['latency_threshold_ms']:g} ms" if "latency_threshold_ms" in imp else "failed"
    spec = a.incident.spec
    target = next((spec.public.services[s] for s in spec.services if s in spec.public.services), "the affected service")
    assert f"{bad:,} of {total:,} requests to {target} ({pct}) {verb} from {window}" in text
    assert f"{imp['affected_users']:,} users had" in text
    assert "Basis: " in text


def dt_parse(text: str):
    import datetime as dt

    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def payments() -> Analysis:
    return analyze(Incident.load(ROOT / "data" / "samples" / "INC-2025-0142"))


def _with_public(a: Analysis, public_spec: PublicSpec, items: list[ActionItem] | None = None) -> Analysis:
    update: dict = {"public": public_spec}
    if items is not None:
        update["action_items"] = items
    spec = a.incident.spec.model_copy(update=update)
    return dataclasses.replace(a, incident=dataclasses.replace(a.incident, spec=spec))


def test_a_leak_in_author_text_is_refused_naming_the_identifier_and_its_origin(payments: Analysis) -> None:
    a = _with_public(payments, PublicSpec(summary="Payments failed after payments-api was deployed."))
    with pytest.raises(PublicLeakError) as err:
        public.build(a)
    msg = str(err.value)
    assert "'payments-api'" in msg and "incident.yaml services[0]" in msg and "in Summary" in msg
    host = PublicSpec(what_we_did="We restarted 10.0.3.17 and paged @jane-doe.")
    with pytest.raises(PublicLeakError) as err:
        public.build(_with_public(payments, host))
    msg = str(err.value)
    assert "'10.0.3.17' (an IP address, never public unless allowed) in What we did" in msg
    assert "'@jane-doe' (incident.yaml roles.incident_commander) in What we did" in msg
    assert "'jane'" not in msg  # inside @jane-doe: reported once


def test_allow_list_and_service_names(payments: Analysis) -> None:
    spec = PublicSpec(
        services={"payments-api": "Payments API"},
        allow=["Acme Pay"],
        summary="Some Acme Pay card payments failed on 2025-06-15.",
    )
    doc = public.build(_with_public(payments, spec))
    text = public.to_markdown(doc)
    assert "requests to Payments API (65.5%) failed" in text
    assert "Some Acme Pay card payments failed" in text


def test_public_action_items_and_what_we_are_doing(payments: Analysis) -> None:
    items = [
        ActionItem(action="Add a canary check on payment success", owner="@sre", public=True),
        ActionItem(action="Fix DB_MAX_CONNS in payments-api", owner="@backend", public="Fix the faulty setting"),
        ActionItem(action="Review runbook with @mei-chen", owner="@platform"),
    ]
    spec = PublicSpec(what_we_are_doing="We are adding safeguards to our release process.")
    text = public.to_markdown(public.build(_with_public(payments, spec, items)))
    assert "- Add a canary check on payment success" in text
    assert "- Fix the faulty setting" in text
    assert "DB" not in text and "runbook" not in text
    assert "We are adding safeguards to our release process." in text
    leaky = [ActionItem(action="Fix DB_MAX_CONNS in payments-api", public=True)]
    with pytest.raises(PublicLeakError, match="payments-api"):
        public.build(_with_public(payments, PublicSpec(), leaky))


def test_render_audience_public_writes_the_public_files(tmp_path: Path) -> None:
    sample = ROOT / "data" / "samples" / "INC-2025-0311-checkout"
    code = main(["render", str(sample), "--audience", "public", "--to", "html,md", "-o", str(tmp_path)])
    assert code == 0
    out = tmp_path / "INC-2025-0311-checkout"
    assert sorted(p.name for p in out.iterdir()) == ["postmortem.public.html", "postmortem.public.md"]
    md = (out / "postmortem.public.md").read_text()
    assert md.startswith("# Service disruption on 2025-03-11\n")  # the spec's title names checkout-api v4.2.0
    assert "checkout-api" not in md and "v4.2.0" not in md
    assert "<script" not in (out / "postmortem.public.html").read_text()


def test_audience_is_checked(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["render", "x", "--audience", "customers"])
    assert "expected internal, public or internal,public" in capsys.readouterr().err


needs_browser = pytest.mark.skipif(browser_path() is None, reason="no Chromium/Chrome on this machine to print PDFs")


def _pdf_checks(pdf: Path, title: str) -> None:
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page(?![s\w])", data)) >= 1
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed: the PDF's text is not checked (apt-get install poppler-utils)")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert title in " ".join(text.split())


@needs_browser
def test_public_pdf(payments: Analysis, tmp_path: Path) -> None:
    files = public.write(payments, tmp_path, ("pdf",))
    assert list(files) == ["pdf"] and sorted(p.name for p in tmp_path.iterdir()) == ["postmortem.public.pdf"]
    _pdf_checks(files["pdf"], "Payment processing failures")


@needs_browser
def test_internal_pdf(rendered, tmp_path: Path) -> None:
    from pmkit.report.cli_public import print_internal_pdfs

    page = tmp_path / "postmortem.html"
    shutil.copy(rendered.files["html"], page)
    result = dataclasses.replace(rendered, files={"html": page})
    code, [after] = print_internal_pdfs([result], keep_html=False)
    assert code == 0 and not page.exists()
    assert after.files == {"pdf": (tmp_path / "postmortem.pdf").resolve()}
    _pdf_checks(tmp_path / "postmortem.pdf", "Payment processing failures")


def test_pdf_without_a_browser_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from pmkit.report import pdf

    monkeypatch.setattr(pdf, "browser_path", lambda: None)
    with pytest.raises(pdf.NoBrowserError, match="apt-get install chromium, or set BROWSER_PATH"):
        pdf.print_pdf("<p>x</p>", tmp_path / "x.pdf")
    assert not (tmp_path / "x.pdf").exists()
