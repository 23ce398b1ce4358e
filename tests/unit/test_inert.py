"""Text we did not write is inert in the report and on the terminal (issue 11, item 6).

The Markdown checks render with markdown-it as a permissive renderer would (raw HTML on, every
link target allowed) and look at the HTML that comes out."""

from __future__ import annotations

import re
from typing import Any

import pytest
from markdown_it import MarkdownIt

from dialectic.report.inert import (
    code_span,
    dangerous_url,
    markdown_block,
    markdown_line,
    markdown_text,
    one_line,
    terminal_safe,
)
from dialectic.report.markdown import render_report
from dialectic.transcript.schema import DebateRecord


def permissive(tables: bool = True) -> MarkdownIt:
    """A renderer that lets raw HTML and any link through (what we must not rely on)."""
    parser = MarkdownIt("commonmark")
    if tables:
        parser.enable("table")
    parser.validateLink = lambda url: True  # type: ignore[method-assign]
    return parser


def rendered(markdown: str) -> list[str]:
    return [permissive(tables).render(markdown) for tables in (True, False)]


def assert_inert(markdown: str) -> None:
    for page in rendered(markdown):
        assert not re.search(r"<(script|img|iframe|svg|a href=\"javascript)", page, re.IGNORECASE), page
        assert not re.search(r"(href|src)=\"\s*(javascript|vbscript|data):", page, re.IGNORECASE), page


# --- terminal


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[31mred\x1b[0m", "red"),  # colours (CSI)
        ("a\x1b[2J\x1b[Hb", "ab"),  # clear the screen, cursor home
        ("\x1b]0;pwned\x07title", "title"),  # window title (OSC, BEL)
        ("\x1b]8;;https://evil\x1b\\link\x1b]8;;\x1b\\", "link"),  # hyperlink (OSC, ST)
        ("\x1bPq#0\x1b\\x", "x"),  # DCS
        ("\x9b31mc1\x9b0m", "c1"),  # 8-bit CSI
        ("\x1bcreset", "reset"),  # a two-byte ESC sequence
        ("bell\x07 back\x08 nul\x00 del\x7f", "bell back nul del"),
        ("lone\x1b", "lone"),
        ("tab\tand\nnewline", "tab\tand\nnewline"),
        ("crlf\r\nlines\rhere", "crlf\nlines\nhere"),  # a bare CR would overwrite the line
        ("[bold]x[/bold] é → 🙂", "[bold]x[/bold] é → 🙂"),
    ],
)
def test_terminal_safe(raw: str, shown: str) -> None:
    assert terminal_safe(raw) == shown


def test_one_line_is_the_first_non_blank_line_cut_to_fit() -> None:
    assert one_line("\n  \n  \x1b[1mDesign\x1b[0m a cache  \nmore") == "Design a cache"
    assert one_line("x" * 150, limit=20) == "x" * 19 + "…"
    assert one_line(" \n\t\n") == ""


# --- links


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " java\tscript:alert(1)",
        "jav&#x61;script:alert(1)",
        "&#106;avascript:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html,<script>alert(1)</script>",
        "javascript\\:alert(1)",
    ],
)
def test_dangerous_urls(url: str) -> None:
    assert dangerous_url(url)


@pytest.mark.parametrize("url", ["https://example.com", "/docs/a.md", "#section", "mailto:a@b.c", "x.md"])
def test_ordinary_urls(url: str) -> None:
    assert not dangerous_url(url)


# --- model replies


HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "text <img src=x onerror=alert(1)> text",
    "<!-- hidden --><svg onload=alert(1)>",
    "[click](javascript:alert(1))",
    "[click]( javascript:alert(1) 'title')",
    "[click](<javascript:alert(1)>)",
    "[click](\njavascript:alert(1))",
    "[click](jav&#x61;script:alert(1))",
    "![x](javascript:alert(1))",
    "[click][r]\n\n[r]: javascript:alert(1)",
    "[click][r]\n\n[r]:\n  vbscript:msgbox(1)",
    "<javascript:alert(1)>",
    "[a](x`y) <script>alert(1)</script> `z`",  # a backtick in a link target is no code span
    "a `\nc ` <script>alert(1)</script> ` d",  # code spans pair across lines
    "| a | b |\n|---|---|\n| `x | <script>alert(1)</script>` |",  # a table row splits first
    "<div>\n```\n<script>alert(1)</script>\n```",  # an HTML block swallowed the fence
    "- a\n  ```\n<script>alert(1)</script>",  # the list item (and its fence) ends there
    "[a]: <b c>\n    <script>alert(1)</script>",
    "\\`<script>alert(1)</script>`",
]


@pytest.mark.parametrize("reply", HOSTILE)
def test_hostile_reply_is_inert(reply: str) -> None:
    assert_inert(markdown_block(reply))


def test_raw_html_shows_as_text() -> None:
    page = permissive().render(markdown_block("Use <b>bold</b> & <script>alert(1)</script>."))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page


def test_dangerous_link_is_shown_as_typed() -> None:
    page = permissive().render(markdown_block("[click](javascript:alert(1))"))
    assert "<a " not in page
    assert "[click](javascript:alert(1))" in page


def test_ordinary_markdown_still_renders() -> None:
    reply = (
        "## Plan\n\n"
        "1. Use `Map<K, V>` and a [guide](https://example.com/a?b=1&c=2).\n"
        "2. See <https://example.com>.\n\n"
        "> quoted\n\n"
        "```python\nx = '<b>' if a < b else None  # <script> in code is code\n```\n\n"
        "    indented <code>\n\n"
        "| a | b |\n|---|---|\n| `List<T>` | 2 |"
    )
    assert markdown_block(reply) == reply  # nothing dangerous: left exactly as written
    page = permissive().render(markdown_block(reply))
    assert "<h2>Plan</h2>" in page
    assert '<a href="https://example.com/a?b=1&amp;c=2">guide</a>' in page
    assert '<a href="https://example.com">https://example.com</a>' in page
    assert "<code>Map&lt;K, V&gt;</code>" in page
    assert "x = '&lt;b&gt;' if a &lt; b" in page
    assert "<table>" in page and "<code>List&lt;T&gt;</code>" in page


@pytest.mark.parametrize(
    ("reply", "closer"),
    [
        ("```python\nprint(1)", "```"),
        ("text\n````\ncode\n```", "````"),  # a shorter run does not close it
        ("~~~\ncode", "~~~"),
        ("```\ncode\n    ```", "```"),  # indented four spaces: not a closing fence
        ("```", "```"),
    ],
)
def test_unclosed_fence_is_closed(reply: str, closer: str) -> None:
    safe = markdown_block(reply)
    assert safe.endswith("\n" + closer)
    after = permissive().parse(safe + "\n\n# Next section")
    assert [t.type for t in after][-3:] == ["heading_open", "inline", "heading_close"]


def test_closed_fence_is_left_alone() -> None:
    assert markdown_block("```\ncode\n```") == "```\ncode\n```"
    assert markdown_block("- a\n  ```\n  code") == "- a\n  ```\n  code"  # ends with its list item


# --- our own Markdown around others' text


def test_markdown_line_keeps_inline_code_and_escapes_html() -> None:
    assert markdown_line("A <script>x</script> `a<b>`\nnext") == "A &lt;script>x&lt;/script> `a<b>` next"
    assert_inert("# " + markdown_line("[a](x`y) <img src=x onerror=alert(1)> `z`"))


def test_markdown_text_escapes_everywhere_and_keeps_lines() -> None:
    assert markdown_text("a `<b>`\n<i>") == "a `&lt;b>`\n&lt;i>"


def test_code_span_cannot_be_closed_from_inside() -> None:
    assert code_span("a`b") == "``a`b``"
    assert code_span("`x") == "`` `x ``"
    assert code_span("a\nb\x1b[31m") == "`a b`"


# --- the report


def contribution(agent: str, content: str) -> dict[str, Any]:
    return {"agentId": agent, "agentRole": "architect", "type": "proposal", "content": content}


def hostile_record() -> DebateRecord:
    return DebateRecord.model_validate(
        {
            "id": "deb-1",
            "problem": "Cache <script>alert(1)</script> \x1b[31m[bold]x[/bold]\nmore <img src=x onerror=alert(1)>",
            "status": "completed",
            "rounds": [
                {
                    "roundNumber": 1,
                    "contributions": [
                        contribution(
                            "a1", "## Plan\n\n<img src=x onerror=alert(1)>\n\n```python\nunclosed = True"
                        ),
                        contribution("a2", "[x](javascript:alert(1)) and <script>alert(2)</script>"),
                    ],
                }
            ],
            "clarifications": [
                {
                    "agentId": "a1",
                    "agentName": "<b>A</b>",
                    "role": "architect",
                    "items": [{"id": "q1", "question": "<i>Why</i>?", "answer": "<script>x</script>\n```"}],
                }
            ],
            "steering": [{"afterRound": 1, "note": "<script>note</script>"}],
            "finalSolution": {"description": "Done <iframe src=x>\n\n~~~\nopen"},
            "consensus": [{"round": 1, "score": 90, "reason": "<svg onload=alert(1)>"}],
            "failures": [
                {"agentId": "<b>a3</b>", "phase": "propose", "round": 1, "error": "<script>e</script>"}
            ],
            "extensions": {"<b>ext</b>": {"report": "<script>ext</script>"}},
        }
    )


def test_report_is_inert() -> None:
    report = render_report(hostile_record())
    # Raw HTML only inside code blocks (the problem is quoted in one), where it shows as text.
    tokens = permissive().parse(report)
    code = [t.content for t in tokens if t.type in ("fence", "code_block")]
    outside = report
    for block in code:
        outside = outside.replace(block, "")
    assert "<script" not in outside and "<img" not in outside and "<iframe" not in outside
    assert "<script>alert(1)</script>" in code[0]  # the problem, as the user wrote it
    assert "\x1b" not in report
    assert report.splitlines()[0] == "# Debate: Cache &lt;script>alert(1)&lt;/script> [bold]x[/bold]"
    assert_inert(report)


def test_unclosed_fence_stays_in_its_contribution() -> None:
    report = render_report(hostile_record())
    before_next = report.split("Agent *a2*", 1)[0]
    fences = [line for line in before_next.splitlines() if re.match(r"^ {0,3}(```|~~~)", line)]
    assert len(fences) % 2 == 0, fences  # every fence opened before the next agent is closed
    # and a renderer agrees: the next agent's line and the sections after it are not code
    tokens = permissive().parse(report)
    code = "\n".join(t.content for t in tokens if t.type in ("fence", "code_block"))
    assert "Agent" not in code and "Final Synthesis" not in code and "## Outcome" not in code
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert {"Final Synthesis", "Outcome", "Consensus", "Failures"} <= set(headings)
