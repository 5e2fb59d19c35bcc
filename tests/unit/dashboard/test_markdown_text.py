"""User strings in the dashboard's Markdown (dashboard/common.py ``md`` and ``md_code``): whatever a
customer, agent or supervisor typed renders as exactly those characters, judged by a CommonMark
renderer (markdown-it) with raw HTML allowed, as the transcript's ``st.markdown`` allows it."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from frontdesk.dashboard.common import WORD_JOINER, md, md_code

RENDERER = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])

HOSTILE = [
    "![x](http://127.0.0.1:1/p.png)",
    "<img src=x onerror=alert(1)>",
    "**bold** _italic_ ~~gone~~ `code`",
    "[a link](https://example.com) <https://example.com> <someone@example.com>",
    "# heading", "1. first", "- item", "> quote", "| a | b |", "---",
    ":red[red] :material/home: :smile: $x^2$ &amp; &#60;b&#62; \\*",
    "Vera <vera@example.com>",
    "line one\n\n![x](http://127.0.0.1:1/p.png)",
]


def paragraph_text(markdown: str) -> str:
    """The text of ``markdown`` rendered as ONE paragraph of plain text (asserts that it is), as
    seen: without the invisible word joiners."""
    rendered = RENDERER.render(markdown)
    assert rendered.startswith("<p>") and rendered.endswith("</p>\n"), rendered
    inner = rendered[3:-5]
    assert "<" not in inner, rendered          # no element at all: no img, a, strong, code, ...
    return html.unescape(inner).replace(WORD_JOINER, "")


@pytest.mark.parametrize("text", HOSTILE)
def test_markup_in_a_user_string_is_shown_as_typed(text: str) -> None:
    assert paragraph_text(md(text)) == " ".join(text.splitlines())


@given(st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E) | st.sampled_from([" ", "é", "ß", "→"]),
               min_size=1).map(str.strip).filter(bool))
def test_any_printable_text_is_shown_as_typed(text: str) -> None:
    assert paragraph_text(md(text)) == text


@pytest.mark.parametrize("text", ["mail me: someone@example.com", "www.example.com", "WWW.EXAMPLE.COM",
                                  "http://127.0.0.1:1/p.png", "HTTPS://example.com", "ftp://x.example"])
def test_addresses_are_kept_from_becoming_links_by_themselves(text: str) -> None:
    # GitHub's autolinks start at www., scheme:// and @ in the text left after the escapes are undone
    seen = md(text).replace("\\", "")
    assert not re.search(r"www\.|://|[-.\w+]@", seen, re.IGNORECASE)
    assert seen.replace(WORD_JOINER, "") == text


@pytest.mark.parametrize("text", ["weekly.mon[0]", "a`b", "`x", "x``", "![x](//evil.example/p.png)"])
def test_a_code_span_shows_any_text_as_typed(text: str) -> None:
    rendered = RENDERER.renderInline(md_code(text))
    assert rendered == f"<code>{html.escape(text, quote=False)}</code>"
