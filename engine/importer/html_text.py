"""A plain-text rendering of an HTML mail body, for mails that have no plain-text part.

The standard library's ``html.parser`` reads the markup; the text keeps the paragraphs and line
breaks, list items as ``- item``, and a link's target after its text when the two differ. Scripts,
styles and the document head are dropped; character references are resolved by the parser.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Elements that start a new line of their own; a paragraph-like one leaves a blank line after it.
_BLOCKS = frozenset({"address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "fieldset",
                     "figcaption", "figure", "footer", "form", "header", "hr", "li", "main", "nav", "ol",
                     "pre", "section", "table", "tr", "ul"})
_PARAGRAPHS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote", "ul", "ol"})
_HIDDEN = frozenset({"head", "script", "style", "title", "template"})
_SPACES = re.compile(r"[ \t\r\n\f\v]+")
# Breaks are marked while rendering and settled at the end: the edges of nested and neighbouring
# blocks (with the spaces between their tags) are one line break, or one blank line when a
# paragraph is among them.
_LINE, _PARAGRAPH = "\x01", "\x02"
_BREAKS = re.compile(r"[ \x01\x02]*[\x01\x02][ \x01\x02]*")
_BLANK_LINES = re.compile(r"\n{3,}")


class _Renderer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._hidden = 0
        self._pre = 0
        self._links: list[str | None] = []      # the href of each open <a>
        self._link_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden += 1
        elif tag == "br":
            self.out.append("\n")
        elif tag in _PARAGRAPHS:
            self.out.append(_PARAGRAPH)
        elif tag in _BLOCKS:
            self.out.append(_LINE)
        if tag == "li":
            self.out.append("- ")
        elif tag == "pre":
            self._pre += 1
        elif tag in ("td", "th"):
            self.out.append(" ")
        elif tag == "a":
            self._links.append(dict(attrs).get("href"))
            self._link_text.append("")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in ("br", "hr", "img"):
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag == "pre":
            self._pre = max(0, self._pre - 1)
        elif tag == "a" and self._links:
            href, text = self._links.pop(), self._link_text.pop()
            if href and _shows_target(href, text):
                self.out.append(f" ({href})")
        if tag in _PARAGRAPHS:
            self.out.append(_PARAGRAPH)
        elif tag in _BLOCKS:
            self.out.append(_LINE)

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        text = data if self._pre else _SPACES.sub(" ", data)
        if self._link_text:
            self._link_text[-1] += text
        self.out.append(text)


def _shows_target(href: str, text: str) -> bool:
    """Whether a link's target adds something to its text (an anchor or an inline image does not)."""
    target = href.strip()
    if target.startswith(("#", "cid:", "javascript:")):
        return False
    shown = target.removeprefix("mailto:")
    return shown.rstrip("/") not in text


def html_to_text(html: str) -> str:
    """The text of ``html`` as a reader would see it, without markup."""
    renderer = _Renderer()
    renderer.feed(html)
    renderer.close()
    text = _BREAKS.sub(lambda m: "\n\n" if _PARAGRAPH in m.group() else "\n", "".join(renderer.out))
    lines = [line.strip(" ") for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
