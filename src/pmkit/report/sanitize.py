"""What a rendered document may link to and contain: the URL policy and the two HTML clean-up passes.

The document's text is made safe where it is written (:mod:`pmkit.report.present`: evidence is
escaped, author Markdown is rewritten); this module is the defence in depth on the HTML export:

- :func:`clean_fragment`: the HTML that nbconvert's Markdown filter makes of every Markdown output
  goes through an allowlist (`nh3`, the Rust *ammonia* sanitizer): the tags and attributes Markdown
  produces, links only to ``http``, ``https``, ``mailto`` and ``#fragment``, images only from
  ``data:image/...`` (no network), no ``style`` but ``text-align``, no comments, no script, style,
  iframe, form...
- :func:`clean_document`: a pass over the whole exported page, before plotly.js goes in, for what
  a notebook may carry besides Markdown (``text/html`` outputs of another notebook): every ``on*``
  attribute, every ``href``/``src`` (and other URL attribute) outside the policy, every ``style``
  with ``url(``/``expression``/``@import``, ``<script>`` that is not ours, ``<iframe>``,
  ``<object>``, ``<embed>``, ``<form>``, ``<base>``, ``<meta http-equiv>``, ``<noscript>``,
  ``<template>``, and ``<style>``/``<link>``/``<meta>`` outside ``<head>`` go. "Ours" is
  decided by position: the template writes a comment holding a random token (one per export, so
  no input can forge it) before its own scripts, and what follows it is the template's; before it,
  only inert figure data (``<script type="application/json">``) is kept. The token is removed, so
  the page's bytes stay the same from run to run.

:func:`allowed_url` is the one URL policy; :mod:`pmkit.report.present` applies it to author Markdown.
"""

from __future__ import annotations

import functools
import html as _html
import re
from typing import Any

ALLOWED_SCHEMES = frozenset({"http", "https", "mailto"})
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")
_IMAGE_DATA = re.compile(r"^data:image/(?:png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/=\s]*$", re.IGNORECASE)
_BAD_VALUE = re.compile(r"^(?:javascript|vbscript|livescript|mocha|data):", re.IGNORECASE)
_CSS_BAD = re.compile(r"url\s*\(|expression\s*\(|@import|javascript:|vbscript:|behavior\s*:|-moz-binding", re.I)

# Tags that Markdown (mistune, as nbconvert runs it) produces; anything else is dropped, its text kept.
MARKDOWN_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del", "div", "dl",
        "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "input", "ins", "kbd", "li", "mark",
        "ol", "p", "pre", "q", "s", "samp", "small", "span", "strike", "strong", "sub", "sup", "table", "tbody",
        "td", "tfoot", "th", "thead", "tr", "u", "ul", "var",
    }
)  # fmt: skip
MARKDOWN_ATTRIBUTES = {
    "*": {"class", "id", "title", "lang", "dir"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"align", "style", "colspan", "rowspan"},
    "th": {"align", "style", "colspan", "rowspan", "scope"},
    "ol": {"start", "type"},
    "li": {"value"},
    "input": {"type", "checked", "disabled"},
}
# Removed with their content: their text is not document text.
_DROP_WITH_CONTENT = frozenset({"script", "style", "noscript", "template", "iframe", "object", "embed", "textarea"})

# clean_document: elements that go wherever they are (with what they hold) ...
_DOC_DROP = frozenset(
    {
        "iframe", "frame", "frameset", "object", "embed", "applet", "form", "base", "noscript", "template",
        "portal", "fencedframe", "animate", "animatemotion", "animatetransform", "set", "handler", "listener",
        "import", "xmp", "plaintext", "noembed", "noframes", "param",
    }
)  # fmt: skip
# ... and those that belong in <head> only (the template's own styles)
_HEAD_ONLY = frozenset({"style", "link", "meta", "title"})
# attributes holding a URL: checked against the policy (href: a link; src: an embedded image)
_LINK_ATTRS = frozenset({"href", "xlink:href"})
_SRC_ATTRS = frozenset({"src"})
_URL_ATTRS = frozenset(
    {
        "action", "formaction", "srcset", "poster", "background", "ping", "data", "codebase", "cite",
        "longdesc", "lowsrc", "dynsrc", "manifest", "archive", "classid", "srcdoc", "imagesrcset",
    }
)  # fmt: skip


def _normalized(url: str) -> str:
    """A URL as a browser reads its scheme: entities decoded, tabs and newlines dropped, C0 and spaces trimmed."""
    text = _html.unescape(str(url))
    text = re.sub(r"[\t\n\r]", "", text)
    return text.strip("".join(chr(c) for c in range(0x21)))


def allowed_url(url: str | None) -> str | None:
    """The URL if a reader may follow it (``http``, ``https``, ``mailto`` or a ``#fragment``), else None.

    Relative paths, protocol-relative ``//host`` and every other scheme (``javascript:``, ``data:``,
    ``vbscript:``, ``file:``...) are refused, whatever entities, case or whitespace disguise them.
    """
    if url is None:
        return None
    text = _normalized(url)
    m = _SCHEME.match(text)
    if m is None:
        return text if text.startswith("#") else None
    return text if m.group(1).lower() in ALLOWED_SCHEMES else None


def allowed_src(url: str | None) -> bool:
    """True for an embedded image (``data:image/png;base64,...`` and friends): nothing is fetched."""
    return url is not None and bool(_IMAGE_DATA.match(_normalized(url)))


def _css_ok(style: str) -> bool:
    text = re.sub(r"/\*.*?\*/", "", _html.unescape(style), flags=re.S)
    text = re.sub(r"\\([0-9a-fA-F]{1,6})\s?", lambda m: chr(min(int(m.group(1), 16), 0x10FFFF) or 0xFFFD), text)
    text = re.sub(r"\\(.)", r"\1", text)
    return _CSS_BAD.search(text) is None


def _fragment_attribute(element: str, attribute: str, value: str) -> str | None:
    if attribute == "href":
        return allowed_url(value)
    if attribute == "src":
        return value if allowed_src(value) else None
    if attribute == "style":
        return value if _css_ok(value) else None
    return None if _BAD_VALUE.match(_normalized(value)) else value


@functools.cache
def _fragment_cleaner() -> Any:
    import nh3

    return nh3.Cleaner(
        tags=set(MARKDOWN_TAGS),
        clean_content_tags=set(_DROP_WITH_CONTENT),
        attributes={k: set(v) for k, v in MARKDOWN_ATTRIBUTES.items()},
        attribute_filter=_fragment_attribute,
        url_schemes={"http", "https", "mailto", "data"},
        filter_style_properties={"text-align"},
        strip_comments=True,
        link_rel=None,
    )


def clean_fragment(html: str) -> str:
    """Markdown's HTML through the allowlist (see the module docstring); text is kept, markup outside it goes."""
    return _fragment_cleaner().clean(html)


def _clean_tag(el: Any, in_head: bool) -> None:
    name = el.name.lower()
    if name in _DOC_DROP or (name in _HEAD_ONLY and not in_head):
        el.decompose()
        return
    if name == "meta" and any(k.lower() == "http-equiv" for k in el.attrs):
        el.decompose()
        return
    if name == "script":
        kind = str(el.get("type", "")).strip().lower()
        if kind != "application/json" or el.has_attr("src"):  # figure data is inert; code is never kept here
            el.decompose()
            return
    for attr in list(el.attrs):
        key = attr.lower()
        value = el.attrs[attr]
        text = " ".join(value) if isinstance(value, list) else str(value)
        if key.startswith("on") or key in _URL_ATTRS:
            del el.attrs[attr]
        elif key in _LINK_ATTRS:
            ok = allowed_url(text)
            if ok is None or (name not in ("a", "area") and not ok.startswith("#")):
                del el.attrs[attr]
        elif key in _SRC_ATTRS:
            if not allowed_src(text):
                del el.attrs[attr]
        elif key == "style":
            if not _css_ok(text):
                del el.attrs[attr]
        elif _BAD_VALUE.match(_normalized(text)):
            del el.attrs[attr]


def clean_document(html: str, *, trusted: str | None = None) -> str:
    """The exported page without active content it should not have (see the module docstring).

    ``trusted`` is the token of the comment that the template writes before its own scripts: what
    follows that comment is left as it is, and the comment is removed. Without it (or when the page
    has no such comment) every script but inert figure data goes.
    """
    from bs4 import BeautifulSoup, Comment

    soup = BeautifulSoup(html, features="html.parser")
    marker = None
    if trusted:
        marker = soup.find(string=lambda s: isinstance(s, Comment) and s.strip() == trusted)
    tail = {id(el) for el in marker.find_all_next(True)} if marker is not None else set()
    for el in soup.find_all(True):
        if id(el) in tail or getattr(el, "decomposed", False):
            continue
        in_head = el.find_parent("head") is not None
        _clean_tag(el, in_head)
    if marker is not None:
        marker.extract()
    return str(soup)


@functools.cache
def html_exporter_class() -> type:
    """nbconvert's ``HTMLExporter`` whose ``markdown2html`` filter cleans its HTML with :func:`clean_fragment`."""
    import jinja2
    from nbconvert import HTMLExporter

    class SafeHTMLExporter(HTMLExporter):  # type: ignore[misc]
        @jinja2.pass_context
        def markdown2html(self, context: Any, source: str) -> str:
            return clean_fragment(super().markdown2html(context, source))

    return SafeHTMLExporter
