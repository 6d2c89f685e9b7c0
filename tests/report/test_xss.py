"""Safe to share: XSS payloads planted in every text field of a sample incident run nothing and fetch nothing.

The corpus is ``tests/fixtures/xss/payloads.txt`` (one payload a line, grouped in families). The
unit tests put every payload through each way text enters the document: evidence escaping
(:func:`pmkit.report.present.esc`) and the author-Markdown rewrite (:func:`~pmkit.report.present.author_md`)
read back by nbconvert's own Markdown renderer, the HTML clean-up passes
(:mod:`pmkit.report.sanitize`), and plotly text. The end-to-end test copies INC-2025-0142, plants
the payloads in chat messages and user names, access and app log lines, alert labels and
annotations, PagerDuty notes, deploy fields, and the title, narrative, action items and 5 Whys of
incident.yaml, renders it once with ``pmkit render``, and then:

- reads ``postmortem.html`` statically (no URL outside http/https/mailto/#, no ``on*`` attribute,
  no script but plotly.js, the figure bootstrap and inert figure JSON, no frame/object/form/base/
  meta refresh, no CSS ``url(``) and ``postmortem.md`` (no live ``javascript:``/``data:``/
  ``vbscript:`` link, no remote image);
- opens the HTML in headless Chromium with listeners on dialogs, console errors, page errors and
  every request (only the document itself may be loaded), clicks every link that does not leave
  the page, hovers every plotted point, and checks ``window.__xss`` (every payload that runs sets it).

Skipped, with the reason, without Chromium or Playwright (as ``test_browser.py``).
"""

from __future__ import annotations

import gzip
import html
import json
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml

from pmkit.report.present import author_md, esc, plotly_text
from pmkit.report.render import render
from pmkit.report.sanitize import allowed_url, clean_document, clean_fragment

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "samples" / "INC-2025-0142"
CORPUS = ROOT / "tests" / "fixtures" / "xss" / "payloads.txt"
LOAD_MS = 90_000
FAMILIES = (
    "script tags",
    "event handlers",
    "javascript/data/vbscript URLs in Markdown links",
    "reference links",
    "autolinks",
    "images",
    "entity tricks",
    "script breakouts",
    "CSS",
    "frames and objects",
    "meta, base, form",
    "SVG",
    "Markdown HTML blocks",
    "plotly hover markup",
    "template injection",
    "mutation XSS",
)


def load_corpus() -> list[tuple[str, str]]:
    """``(family, payload)`` for every payload line of the corpus."""
    out, family = [], ""
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if line.startswith("# family:"):
            family = line.removeprefix("# family:").strip()
        elif line.strip() and not line.startswith("#"):
            out.append((family, line))
    return out


CORPUS_ITEMS = load_corpus()
PAYLOADS = [p for _, p in CORPUS_ITEMS]


# --- a static reader of HTML, independent of pmkit.report.sanitize ------------------------------------

_URL_ATTRS = {"action", "formaction", "srcset", "poster", "background", "ping", "data", "codebase", "srcdoc", "lowsrc"}
_FORBIDDEN = {"iframe", "frame", "frameset", "object", "embed", "applet", "form", "base", "noscript", "template"}


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str], bool]] = []
        self.scripts: list[tuple[dict[str, str], str]] = []
        self._stack: list[str] = []
        self._script: dict[str, str] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): v or "" for k, v in attrs}
        self.tags.append((tag, a, "head" in self._stack))
        if tag == "script":
            self._script, self._text = a, []
        elif tag not in ("meta", "link", "img", "br", "hr", "input", "col", "source", "base", "embed"):
            self._stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, "".join(self._text)))
            self._script = None
        elif tag in self._stack:
            while self._stack and self._stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._text.append(data)


def _scheme_ok(url: str) -> bool:
    text = re.sub(r"[\t\n\r]", "", url).strip("".join(chr(c) for c in range(0x21)))
    m = re.match(r"([a-zA-Z][a-zA-Z0-9+.\-]*):", text)
    return text.startswith("#") if m is None else m.group(1).lower() in ("http", "https", "mailto")


def html_problems(page: str, *, markdown_images: bool = False) -> tuple[list[str], list[tuple[dict[str, str], str]]]:
    """What in ``page`` could run or fetch: ``(problems, executable scripts)``.

    A link may go to http, https, mailto or a #fragment; an image may be embedded data (or, for
    HTML made from the Markdown export, a relative ``figures/`` file). Scripts other than inert
    JSON are returned for the caller to judge.
    """
    reader = _Reader()
    reader.feed(page)
    reader.close()
    problems = []
    for tag, attrs, in_head in reader.tags:
        if tag in _FORBIDDEN:
            problems.append(f"<{tag}>")
        if tag in ("style", "link", "meta", "title") and not in_head:
            problems.append(f"<{tag}> in the body")
        if tag == "meta" and "http-equiv" in attrs:
            problems.append("<meta http-equiv>")
        for name, value in attrs.items():
            if name.startswith("on"):
                problems.append(f"<{tag} {name}>")
            elif name in ("href", "xlink:href"):
                # a link: http, https, mailto or #; any other element's URL (svg <use>, <image>): # only
                if not _scheme_ok(value) or (tag not in ("a", "area", "link") and not value.startswith("#")):
                    problems.append(f"<{tag} {name}={value!r}>")
            elif name == "src":
                embedded = re.match(r"\s*data:image/(png|jpeg|gif|webp|svg\+xml);base64,", value, re.I)
                local = markdown_images and re.fullmatch(r"figures/figure-\d+\.png", value)
                if not (embedded or local):
                    problems.append(f"<{tag} src={value[:80]!r}>")
            elif name in _URL_ATTRS:
                problems.append(f"<{tag} {name}>")
            elif name == "style" and re.search(r"url\s*\(|expression|@import", value, re.I):
                problems.append(f"<{tag} style={value!r}>")
    executable = [(a, text) for a, text in reader.scripts if a.get("type", "").strip().lower() != "application/json"]
    return problems, executable


def markdown_problems(text: str) -> list[str]:
    """Live links or images a Markdown reader would follow or fetch in ``text``."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    problems, scripts = html_problems(markdown2html_mistune(text), markdown_images=True)
    problems += [f"script {s[:60]!r}" for _, s in scripts]
    text = re.sub(r"(?<![`\\])`[^`\n]+`(?!`)", "`code`", text)  # code spans show their text as it is
    for m in re.finditer(r"(?<!\\)\]\(\s*<?\s*(javascript|vbscript|data|file):", text, re.I):
        problems.append(f"link destination {text[m.start() : m.start() + 40]!r}")
    for m in re.finditer(r"<\s*(javascript|vbscript|data):", text, re.I):
        problems.append(f"autolink {text[m.start() : m.start() + 40]!r}")
    for m in re.finditer(r"(?<!\\)!\[[^\]]*\]\(\s*<?(https?:)?//", text, re.I):
        problems.append(f"remote image {text[m.start() : m.start() + 60]!r}")
    return problems


# --- the corpus and each way text enters the document ---------------------------------------------


def test_corpus_has_every_family() -> None:
    assert len(PAYLOADS) >= 60, len(PAYLOADS)
    families = {f for f, _ in CORPUS_ITEMS}
    assert not set(FAMILIES) - families, set(FAMILIES) - families
    assert len(set(PAYLOADS)) == len(PAYLOADS), "a payload is listed twice"


def _mistune(markdown: str) -> str:
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return markdown2html_mistune(markdown)


def _text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_evidence_reads_back_as_the_same_text(payload: str) -> None:
    """Escaped evidence is one paragraph of text in nbconvert's Markdown: no tag, the payload's characters."""
    out = _mistune(esc(payload, 10_000)).strip()
    assert out.startswith("<p>") and out.endswith("</p>"), out
    inner = out[3:-4]
    assert "<" not in inner, inner
    assert _text_of(inner) == " ".join(payload.split()).replace("`", "'")


@pytest.mark.parametrize("payload", PAYLOADS)
def test_evidence_in_a_table_cell_stays_in_its_cell(payload: str) -> None:
    table = f"| a | b |\n|---|---|\n| {esc(payload, 10_000)} | end |"
    out = _mistune(table)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", out, re.S)
    assert len(cells) == 2 and cells[1] == "end", out
    assert _text_of(cells[0]) == " ".join(payload.split()).replace("`", "'")


@pytest.mark.parametrize("payload", PAYLOADS)
def test_author_markdown_keeps_no_dangerous_link_image_or_html(payload: str) -> None:
    for table in (False, True):
        md = author_md(payload, table=table)
        out = _mistune(md)
        problems, scripts = html_problems(out)
        assert not problems and not scripts, (md, problems)
        tags = set(re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)", out))
        assert tags <= {"p", "a", "em", "strong", "code", "del"}, (md, tags)
        for href in re.findall(r'href="([^"]*)"', out):
            assert allowed_url(html.unescape(href)) is not None, href
        assert not markdown_problems(md), md


@pytest.mark.parametrize("payload", PAYLOADS)
def test_clean_fragment_leaves_nothing_active(payload: str) -> None:
    """Defence in depth: the payload as raw HTML (as if it had reached Markdown's output unescaped)."""
    for raw in (payload, _mistune(payload)):
        out = clean_fragment(raw)
        problems, scripts = html_problems(out)
        assert not problems and not scripts, (raw, out, problems)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_clean_document_leaves_only_our_scripts(payload: str) -> None:
    token = "0123456789abcdef"
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><style>p{color:red}</style></head><body><main>"
        f"<div class='jp-OutputArea-output'>{payload}</div>"
        '<div class="pmkit-figure"><script type="application/json" class="pmkit-figure-json">{"data": []}</script></div>'
        f"</main><!--{token}--><script>var ours = 1;</script></body></html>"
    )
    out = clean_document(page, trusted=token)
    problems, scripts = html_problems(out)
    assert not problems, (payload, problems)
    # an unclosed <style> or <textarea> swallows the rest of the page, our marker too: then our
    # script goes as well (the page loses its figures, nothing runs); otherwise it stays, alone
    assert [s for _, s in scripts] in ([], ["var ours = 1;"]), scripts
    assert token not in out


def test_clean_document_without_its_token_keeps_no_script() -> None:
    page = "<html><body><!--abc--><script>var ours = 1;</script></body></html>"
    assert "<script" not in clean_document(page, trusted="another")
    assert "<script" not in clean_document(page)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_plotly_text_carries_no_markup(payload: str) -> None:
    out = plotly_text(payload)
    assert "<" not in out and ">" not in out
    # plotly shows &lt; &gt; &amp; as the characters: the reader sees the payload itself
    assert html.unescape(out) == payload


def test_figure_json_cannot_end_its_script(tmp_path: Path) -> None:
    """A figure whose JSON holds ``</script>`` and ``<!--`` (tojson escapes them) stays one inert JSON script."""
    import nbformat

    from pmkit.report.render import export
    from pmkit.report.run import PLOTLY_MIME

    nasty = "</script><script>window.__xss=1</script><!--<script>"
    fig = {"data": [{"type": "scatter", "x": [1, 2], "y": [1, 2], "text": [nasty, nasty]}], "layout": {"title": nasty}}
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("fig")
    cell.outputs = [nbformat.v4.new_output("display_data", data={PLOTLY_MIME: fig, "text/plain": "Figure()"})]
    nb.cells = [cell]
    record = tmp_path / "nb.ipynb"
    nbformat.write(nb, record)
    (tmp_path / "out").mkdir()
    page = export(record, tmp_path / "out", to=("html",))["html"].read_text(encoding="utf-8")
    problems, scripts = html_problems(page)
    assert not problems
    assert len(scripts) == 2, [s[:80] for _, s in scripts]  # plotly.js and the figure bootstrap
    reader = _Reader()
    reader.feed(page)
    [(_, data)] = [(a, t) for a, t in reader.scripts if a.get("type") == "application/json"]
    assert "</script" not in data.lower() and "<!--" not in data
    assert json.loads(data)["data"][0]["text"] == [nasty, nasty]


# --- planting the corpus in a sample incident ----------------------------------------------------------


class _Cycle:
    """The payloads in turn, so that every field gets one and every payload lands somewhere."""

    def __init__(self, items: list[str]) -> None:
        self.items, self.i = items, 0

    def __call__(self) -> str:
        p = self.items[self.i % len(self.items)]
        self.i += 1
        return p


def _plant_spec(folder: Path, nxt: _Cycle) -> None:
    path = folder / "incident.yaml"
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    spec["title"] = f"{spec['title']} <img src=x onerror=window.__xss=1> [t](javascript:window.__xss=1)"
    spec["facts"]["revenue_impact"] += " " + nxt()
    spec["roles"]["scribe"] = nxt()
    n = spec["narrative"]
    for key in ("summary", "root_cause", "trigger", "resolution", "customer_impact"):
        n[key] = f"{n[key]} {nxt()} {nxt()} [runbook](https://runbooks.invalid/x) *kept*"
    for key in ("contributing_factors", "went_well", "went_wrong", "lucky"):
        n[key] = [*n[key], nxt(), nxt()]
    n["lessons"] = [*n["lessons"], *PAYLOADS]  # every payload once through the author-Markdown rewrite
    for why in spec["five_whys"]:
        why["why"] = f"{why['why']} {nxt()}"
        why["answer"] = f"{why['answer']} {nxt()}"
    spec["five_whys"] += [{"why": p, "answer": nxt()} for p in PAYLOADS[:20]]
    spec["action_items"] += [
        {"action": p, "owner": nxt()[:60], "due": "2025-07-01", "priority": nxt()[:30], "status": "open"}
        for p in PAYLOADS
    ]
    path.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _json_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.json") if p.is_file())


def _append(obj: dict[str, Any], key: str, nxt: _Cycle) -> None:
    if isinstance(obj.get(key), str):
        obj[key] = f"{obj[key]} {nxt()}"


def _plant_chat(folder: Path, nxt: _Cycle) -> None:
    users = folder / "chat" / "users.json"
    people = json.loads(users.read_text(encoding="utf-8"))
    for u in people:
        _append(u, "real_name", nxt)
        _append(u.get("profile", {}), "real_name", nxt)
        _append(u.get("profile", {}), "display_name", nxt)
    users.write_text(json.dumps(people, indent=1), encoding="utf-8")
    for day in sorted((folder / "chat").glob("*/*.json")):
        messages = json.loads(day.read_text(encoding="utf-8"))
        for m in messages:
            _append(m, "text", nxt)
            _append(m.get("user_profile", {}), "real_name", nxt)
        if day.parent.name.startswith("inc-"):
            # one status update per payload (a key event: the timeline and the swimlane show it)
            start = 1749997800  # 2025-06-15 14:30:00 UTC
            messages += [
                {"type": "message", "user": messages[-1].get("user", "U0"), "ts": f"{start + 31 * i}.{i:06d}",
                 "text": f"Update #{i + 10}: next update in 15 min. {p}"}
                for i, p in enumerate(PAYLOADS)
            ]  # fmt: skip
        day.write_text(json.dumps(messages, indent=1), encoding="utf-8")


def _plant_alerts_and_deploys(folder: Path, nxt: _Cycle) -> None:
    for path in _json_files(folder / "alerts") + _json_files(folder / "deploys"):
        doc = json.loads(path.read_text(encoding="utf-8"))
        for alert in doc.get("alerts", []) if isinstance(doc, dict) else []:
            alert.setdefault("labels", {})["note"] = nxt()
            for key in ("summary", "description"):
                _append(alert.get("annotations", {}), key, nxt)
        if isinstance(doc, dict) and isinstance(doc.get("event"), dict):
            event = doc["event"]
            _append(event.get("agent") or {}, "summary", nxt)
            data = event.get("data") or {}
            for key in ("message", "content", "title", "summary"):
                _append(data, key, nxt)
            _append(data.get("incident") or {}, "summary", nxt)
        for dep in doc if isinstance(doc, list) else []:
            _append(dep, "description", nxt)
            _append(dep.get("creator") or {}, "login", nxt)
            for status in dep.get("statuses", []):
                _append(status, "description", nxt)
        path.write_text(json.dumps(doc, indent=1), encoding="utf-8")


def _access_path(payload: str) -> str:
    """A payload as nginx writes a request path: spaces percent-encoded, quotes as \\x22."""
    return payload.replace(" ", "%20").replace("\t", "%09").replace('"', "\\x22").replace("\\", "\\x5C")


def _plant_logs(folder: Path) -> None:
    app = folder / "logs" / "payments-api.jsonl.gz"
    lines = gzip.decompress(app.read_bytes()).decode("utf-8").splitlines()
    errors = [i for i, ln in enumerate(lines) if '"level":"ERROR"' in ln]
    step = max(1, len(errors) // len(PAYLOADS))
    for k, i in enumerate(errors[::step][: len(PAYLOADS)]):
        rec = json.loads(lines[i])
        rec["msg"] = f"{rec['msg']} {PAYLOADS[k]}"
        lines[i] = json.dumps(rec, separators=(",", ":"))
    app.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), mtime=0))
    access = folder / "logs" / "access.log.gz"
    lines = gzip.decompress(access.read_bytes()).decode("utf-8").splitlines()
    errors = [i for i, ln in enumerate(lines) if re.search(r'" 5\d\d ', ln)]
    step = max(1, len(errors) // len(PAYLOADS))
    for k, i in enumerate(errors[::step][: len(PAYLOADS)]):
        lines[i] = re.sub(
            r'"(\w+) (\S+) (HTTP/[\d.]+)"',
            lambda m, k=k: f'"{m[1]} {_access_path(PAYLOADS[k])} {m[3]}"',
            lines[i],
            count=1,
        )
        lines[i] = re.sub(
            r'"([^"]*)"$|"(Mozilla[^"]*)"', lambda m, k=k: f'"{_access_path(PAYLOADS[-1 - k])}"', lines[i], count=1
        )
    access.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), mtime=0))


def plant(folder: Path) -> None:
    """Every text field of the copied sample gets payloads (files stay parseable)."""
    nxt = _Cycle(PAYLOADS)
    _plant_spec(folder, nxt)
    _plant_chat(folder, nxt)
    _plant_alerts_and_deploys(folder, nxt)
    _plant_logs(folder)


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("xss") / "INC-2025-0142"
    shutil.copytree(SAMPLE, folder, ignore=shutil.ignore_patterns("expected.yaml"))
    plant(folder)
    [result] = render([folder], tmp_path_factory.mktemp("xss-out"), to=("html", "md"), jobs=1, progress=False)
    assert result.ok, result.error
    return result


def test_every_source_loaded_with_the_payloads(planted: Any) -> None:
    """The planted files still parse: no line or record was rejected."""
    from pmkit.incident import Incident

    inc = Incident.load(planted.incident_dir, cache=False)
    assert inc.rejects.height == 0, inc.rejects.head(5)


def test_rendered_html_has_nothing_active(planted: Any) -> None:
    page = planted.files["html"].read_text(encoding="utf-8")
    problems, scripts = html_problems(page)
    assert not problems, problems[:20]
    assert len(scripts) == 2, [s[:80] for _, s in scripts]
    plotly_js, boot = (s for _, s in scripts)
    assert "plotly.js" in plotly_js[:400] and "pmkit-figure-json" in boot
    # the payloads are there, as text
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    shown = [p for p in PAYLOADS if " ".join(p.split()) in " ".join(text.split())]
    assert len(shown) >= len(PAYLOADS) * 0.9, [p for p in PAYLOADS if p not in shown]


def test_markdown_output_has_no_live_link_or_remote_image(planted: Any) -> None:
    for name, path in planted.files.items():
        if str(path).endswith(".md"):
            problems = markdown_problems(path.read_text(encoding="utf-8"))
            assert not problems, (name, problems[:20])


# --- in the browser -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(chromium: Any) -> Any:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium.path, args=list(chromium.args))
        try:
            yield b
        finally:
            b.close()


_POINTS_JS = """
gd => {
  // page coordinates of the points to hover: every point of a trace with text (the evidence),
  // 25 spread along any other trace; a bar is hovered at its middle (stacked bars included)
  const out = [];
  const box = gd.getBoundingClientRect();
  const fl = gd._fullLayout;
  (gd._fullData || []).forEach((tr, i) => {
    const xa = fl[(tr.xaxis || 'x').replace('x', 'xaxis')];
    const ya = fl[(tr.yaxis || 'y').replace('y', 'yaxis')];
    const bar = tr.type === 'bar', cd = (gd.calcdata || [])[i] || [];
    if (!xa || !ya || !tr.x || !tr.y) { return; }
    const n = bar ? cd.length : tr.x.length;
    const step = tr.text && tr.text.length ? 1 : Math.max(1, Math.floor(n / 25));
    for (let j = 0; j < n; j += step) {
      const px = bar ? xa.c2p(cd[j].p) : xa.d2p(xa.d2c(tr.x[j]));
      const py = bar ? ya.c2p(cd[j].b + cd[j].s / 2) : ya.d2p(ya.d2c(tr.y[j]));
      if (!isFinite(px) || !isFinite(py) || px < 0 || px > xa._length || py < 0 || py > ya._length) { continue; }
      out.push([box.left + xa._offset + px, box.top + ya._offset + py]);
    }
  });
  const seen = new Set();  // points a few pixels apart show the same hover label
  return out.filter(([x, y]) => {
    const key = Math.round(x / 3) + ',' + Math.round(y / 3);
    return seen.has(key) ? false : (seen.add(key), true);
  });
}
"""


def test_nothing_runs_and_nothing_is_fetched_in_chromium(browser: Any, planted: Any, tmp_path: Path) -> None:
    from playwright.sync_api import Error as PlaywrightError

    page_path = planted.files["html"]
    doc_url = page_path.as_uri()
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    events: dict[str, list[str]] = {"dialog": [], "error": [], "request": [], "popup": []}

    def on_dialog(d: Any) -> None:
        events["dialog"].append(f"{d.type}: {d.message}")
        d.dismiss()

    ctx.on("request", lambda r: events["request"].append(r.url) if r.url.split("#")[0] != doc_url else None)
    ctx.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort())
    page = ctx.new_page()
    ctx.on("page", lambda p: events["popup"].append(p.url))  # any window a link or script opens
    page.on("dialog", on_dialog)
    page.on("console", lambda m: events["error"].append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: events["error"].append(f"page error: {e}"))
    page.goto(doc_url, wait_until="load", timeout=LOAD_MS)
    n = page.locator(".pmkit-figure").count()
    assert n >= 3
    page.wait_for_function(
        "n => [...document.querySelectorAll('.js-plotly-plot')].filter(p => p.querySelector('svg.main-svg')).length === n",
        arg=n,
        timeout=LOAD_MS,
    )

    # every link: those that stay on the page are clicked; the others must be http/https/mailto
    links = page.evaluate(
        "[...document.querySelectorAll('a')].map((a, i) => ({i, href: a.getAttribute('href') ?? "
        "a.getAttribute('xlink:href'), modebar: !!a.closest('.modebar')}))"
    )
    leaving = []
    for link in links:
        href = link["href"]
        if link["modebar"] or href is None:
            continue
        if re.match(r"\s*(https?|mailto):", href, re.I):
            leaving.append(href)
            continue
        try:
            page.evaluate(
                "i => document.querySelectorAll('a')[i].dispatchEvent("
                "new MouseEvent('click', {bubbles: true, cancelable: true, view: window}))",
                link["i"],
            )
            page.wait_for_timeout(10)
            ran = page.evaluate("() => typeof window.__xss")
        except PlaywrightError as exc:
            pytest.fail(f"clicking <a href={href!r}> left the page: {exc}")
        assert ran == "undefined", f"clicking <a href={href!r}> ran a payload"
    page.wait_for_timeout(200)
    assert page.url.split("#")[0] == doc_url, page.url
    assert all(_scheme_ok(h) for h in leaving)

    # every plotted point hovered (plotly throttles hover to one per 50 ms)
    hovered, labels = 0, set()
    shot = Path(os.environ.get("PMKIT_XSS_SHOT") or tmp_path / "hover.png")
    for k in range(n):
        plot = page.locator(".js-plotly-plot").nth(k)
        plot.scroll_into_view_if_needed()
        page.wait_for_timeout(100)
        for x, y in plot.evaluate(_POINTS_JS):
            page.mouse.move(x, y)
            page.wait_for_timeout(55)
            hovered += 1
            label, bad = page.evaluate(
                "() => [[...document.querySelectorAll('.hoverlayer .hovertext')].map(h => h.textContent).join(' | '),"
                " document.querySelectorAll('.hoverlayer a, .hoverlayer [style*=\"font-size: 80px\"]').length]"
            )
            assert bad == 0, label  # no link and no styling from the evidence in a hover label
            if label:
                labels.add(label)
                if "<" in label and not shot.exists():  # a look at a hover label with a payload
                    page.screenshot(path=str(shot))
    assert hovered > 100 and labels, hovered
    assert any("<img src=x onerror" in lb or "<svg" in lb or "<span style" in lb for lb in labels), sorted(labels)[:5]

    xss = page.evaluate("() => [typeof window.__xss, String(window.__xss)]")
    assert xss == ["undefined", "undefined"], xss
    assert not events["dialog"], events["dialog"]
    assert not events["popup"], events["popup"]
    assert not events["request"], events["request"][:10]
    assert not events["error"], events["error"][:10]
    ctx.close()
