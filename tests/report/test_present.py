"""The text functions of the document: evidence escaping, the author-Markdown rewrite, plotly text, the URL policy.

Each is read back the way the HTML export reads it, by nbconvert's own Markdown renderer
(mistune with its math, table and URL plugins).
"""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmkit.report.present import author_md, code, esc, plotly_text
from pmkit.report.sanitize import allowed_src, allowed_url


def md2html(text: str) -> str:
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return markdown2html_mistune(text)


def paragraph_text(text: str) -> str:
    out = md2html(text).strip()
    assert out.startswith("<p>") and out.endswith("</p>"), out
    inner = out[3:-4]
    assert "<" not in inner, inner  # no element: only text
    return html.unescape(inner)


# --- evidence ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("[status page](javascript:alert(1))", r"\[status page\](javascript:alert(1))"),
        ("![x](https://e.invalid/x.png)", r"!\[x\](https\://e.invalid/x.png)"),
        ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"),
        ("&#106;avascript:", "&amp;#106;avascript:"),
        ("**[SEV1] Update**", r"\*\*\[SEV1\] Update\*\*"),
        ("DB_MAX_CONNS and _x_", r"DB_MAX_CONNS and \_x\_"),
        ("$340K and $5", r"\$340K and \$5"),
        ("a | b", r"a \| b"),
        ("`kubectl get pods`", "'kubectl get pods'"),
        (r"C:\temp \(x\)", "C:&#92;temp &#92;(x&#92;)"),
        ("see www.example.invalid", r"see www\.example.invalid"),
        ("# not a heading", r"\# not a heading"),
        ("- not a list", r"\- not a list"),
        ("1. not a list", r"1\. not a list"),
        ("ends with #", r"ends with \#"),
        ("{{7*7}} {% raw %}", r"{{7\*7}} {% raw %}"),
        ("line\nbreak\tand  spaces", "line break and spaces"),
    ],
)
def test_esc_escapes_every_markdown_and_html_syntax(text: str, want: str) -> None:
    assert esc(text) == want


def test_esc_shortens_and_keeps_one_line() -> None:
    assert esc("x" * 500, 10) == "x" * 9 + "…"
    assert "\n" not in esc("a\nb\r\nc")
    assert esc(None) == ""


@settings(deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab1 _*[]()!<>&#;`\\|$~:/.w-+=\"'{}%\n")), max_size=60))
def test_evidence_reads_back_as_itself(text: str) -> None:
    """Whatever the characters, escaped evidence is a paragraph of that same text (backticks as ')."""
    want = " ".join(text.split()).replace("`", "'")
    if not want:
        return
    assert paragraph_text(esc(text, 10_000)) == want


@settings(deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab _*[]()!<>&#`\\|$~:/.-")), max_size=40))
def test_evidence_stays_in_its_table_cell(text: str) -> None:
    out = md2html(f"| a | b |\n|---|---|\n| {esc(text, 10_000)} | end |")
    cells = re.findall(r"<td[^>]*>(.*?)</td>", out, re.S)
    assert len(cells) == 2 and cells[1] == "end", out
    assert html.unescape(cells[0]) == " ".join(text.split()).replace("`", "'")


def test_code_shows_evidence_as_it_is() -> None:
    assert code("GET /api/<id>") == "`GET /api/<id>`"
    assert md2html("- " + code("a `[x](javascript:1)` b")).count("<a") == 0
    assert code("") == ""


# --- author Markdown ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("plain text, nothing special", "plain text, nothing special"),
        ("*em* **strong** ~~gone~~ `code`", "*em* **strong** ~~gone~~ `code`"),
        ("see [runbook](https://r.invalid/x)", "see [runbook](https://r.invalid/x)"),
        ("mail [us](mailto:sre@acme.invalid)", "mail [us](mailto:sre@acme.invalid)"),
        ("[top](#executive-summary)", "[top](#executive-summary)"),
        ("[status page](javascript:alert(1))", "status page"),
        ("[x](JaVaScRiPt:alert(1))", "x"),
        ("[x](&#106;avascript:alert(1))", "x"),
        ("[x](data:text/html,hi)", "x"),
        ("[x](vbscript:msgbox)", "x"),
        ("[x](relative/path.md)", "x"),
        ("[x](//evil.invalid/)", "x"),
        ("![diagram](https://img.invalid/d.png)", "[diagram](https://img.invalid/d.png)"),
        ("![diagram](javascript:alert(1))", "diagram"),
        ("![](https://img.invalid/d.png)", "[image](https://img.invalid/d.png)"),
        ("<b>bold</b>", "&lt;b&gt;bold&lt;/b&gt;"),
        ("<javascript:alert(1)>", r"javascript:alert(1)"),
        ("<https://ok.invalid>", r"[https\://ok.invalid](https://ok.invalid)"),
        ("[a][ref] and [ref]: javascript:x", r"\[a\]\[ref\] and \[ref\]: javascript:x"),
        ("R&amp;D &lt;tag&gt;", "R&amp;D &lt;tag&gt;"),
        ("costs $5 and $6", r"costs \$5 and \$6"),
        ("[a](https://x.invalid/a_(b)?q=1&r=2)", "[a](https://x.invalid/a_%28b%29?q=1&r=2)"),
        ("[![i](x.png)](https://a.invalid)", "[i](https://a.invalid)"),
        ("# heading?", r"\# heading?"),
        ("wow!http://x.invalid", r"wow\![http\://x.invalid](http://x.invalid)"),  # not an image
    ],
)
def test_author_markdown_keeps_its_safe_part(text: str, want: str) -> None:
    assert author_md(text) == want


def test_author_markdown_renders_as_markdown() -> None:
    out = md2html(author_md("See *the* [runbook](https://r.invalid/x) and `kubectl` <i>x</i> [bad](javascript:1)"))
    assert '<a href="https://r.invalid/x">runbook</a>' in out
    assert "<em>the</em>" in out and "<code>kubectl</code>" in out
    assert "&lt;i&gt;x&lt;/i&gt;" in out and "javascript" not in out


def test_author_markdown_in_a_table_cell() -> None:
    cell = author_md("use `a|b` and [x](https://x.invalid) | next", table=True)
    out = md2html(f"| a | b |\n|---|---|\n| {cell} | end |")
    cells = re.findall(r"<td[^>]*>(.*?)</td>", out, re.S)
    assert len(cells) == 2 and cells[1] == "end", out
    assert html.unescape(re.sub("<[^>]+>", "", cells[0])) == "use a|b and x | next"  # a piped code span is text
    assert 'href="https://x.invalid"' in cells[0]
    assert "<code>a|b</code>" in md2html(author_md("use `a|b`"))  # outside a table it stays code


_PIECES = [*"ab _*[]()!<>&#`\\|$~:/.-\n", "http://", "https://a.invalid", "javascript:", "www.", "&#106;", "![", "](",
           "<a href=", "<script>", "mailto:", "<http://a.invalid>", "[x](http://a.invalid)", "**", "~~"]  # fmt: skip


@settings(deadline=None, max_examples=400)
@given(st.lists(st.sampled_from(_PIECES), max_size=25).map("".join), st.booleans())
def test_author_markdown_never_links_outside_the_policy(text: str, table: bool) -> None:
    out = md2html(author_md(text, table=table))
    assert not set(re.findall(r"<([a-zA-Z]+)", out)) - {"p", "a", "em", "strong", "code", "del"}, out
    for href in re.findall(r'href="([^"]*)"', out):
        assert allowed_url(html.unescape(href)) is not None, out


# --- plotly and the URL policy ---------------------------------------------------------------------------


def test_plotly_text_shows_markup_as_text() -> None:
    assert (
        plotly_text('<a href="javascript:x">&amp;</a><br>')
        == '&lt;a href="javascript:x"&gt;&amp;amp;&lt;/a&gt;&lt;br&gt;'
    )
    assert plotly_text(None) == ""


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://a.invalid/x", True),
        ("HTTP://a.invalid", True),
        ("mailto:a@b.invalid", True),
        ("#section", True),
        ("javascript:alert(1)", False),
        (" \x0e javascript:alert(1)", False),
        ("java\tscript:alert(1)", False),
        ("&#106;avascript:alert(1)", False),
        ("jav&#x09;ascript:x", False),
        ("data:text/html,x", False),
        ("vbscript:x", False),
        ("file:///etc/passwd", False),
        ("relative/x.html", False),
        ("//evil.invalid/x", False),
        (None, False),
    ],
)
def test_allowed_url(url: str | None, ok: bool) -> None:
    assert (allowed_url(url) is not None) is ok


def test_allowed_src_is_embedded_images_only() -> None:
    assert allowed_src("data:image/png;base64,iVBORw0KGgo=")
    assert not allowed_src("data:text/html;base64,PHNjcmlwdD4=")
    assert not allowed_src("https://a.invalid/x.png")
    assert not allowed_src("figures/figure-1.png")
