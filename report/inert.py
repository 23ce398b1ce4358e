"""Text we did not write, made inert where we show it (model replies, the problem, names).

In the Markdown report a renderer must show HTML as text, follow no link that runs code, and
keep a contribution's code fences inside its own section; on a terminal no escape sequence from
stored text may reach the screen. Normal Markdown (headings, lists, code, https links) still
renders: only ``<`` outside code is escaped and only ``javascript:``/``vbscript:``/``data:``
link targets are defused. Which lines are code is read by a CommonMark parser (markdown-it, a
dependency of rich), and every result is parsed again to check it: where our reading of inline
code could differ from a renderer's, we escape inside it too (cosmetic, never unsafe).
"""

from __future__ import annotations

import html
import re
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when a report is made, not for the terminal helpers
    from markdown_it import MarkdownIt
    from markdown_it.token import Token
    from rich.text import Text

# --- terminal

_TERMINAL_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves, clearing the screen
    # OSC/DCS/SOS/PM/APC with their terminator: window titles, hyperlinks, clipboard writes
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[ -/]*[0-~]?"  # any other ESC sequence, or a lone ESC
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # C0 but tab and newline, DEL, C1
_CARRIAGE_RETURN = re.compile(r"\r\n?")  # a bare CR would let text overwrite the line before it


def terminal_safe(text: str) -> str:
    """``text`` without escape sequences or control characters; newlines and tabs stay."""
    text = _CARRIAGE_RETURN.sub("\n", text)
    return _CONTROL.sub("", _TERMINAL_SEQUENCE.sub("", text))


def terminal_line(line: str) -> Text:
    """A stderr line whose text is data: escape sequences removed, "[bold]" printed as written
    (never rich markup), a leading "warning:" in yellow."""
    from rich.text import Text

    text = Text(terminal_safe(line))
    if line.startswith("warning:"):
        text.stylize("yellow", 0, len("warning:"))
    return text


def one_line(text: str, limit: int = 100) -> str:
    """The first non-blank line of ``text``, terminal-safe, at most ``limit`` characters."""
    for line in terminal_safe(text).split("\n"):
        if line.strip():
            line = line.strip()
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""


# --- Markdown

_DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "data:")
_SAFE_AUTOLINK = re.compile(r"<(?:https?|mailto):[^\s<>`]*>", re.IGNORECASE)
_BACKTICKS = re.compile(r"`+")
_ESCAPABLE = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")  # what a backslash escapes
# A link target after "](" or "]:": blanks, at most one line break, then <…> or a word.
_TARGET = re.compile(r"[ \t]*(?:\n[ \t]*)?(<[^>\n]*>?|\S*)")
_FENCE_LINE = re.compile(r" {0,3}(`+|~+)[ \t]*")
_BACKSLASH_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_IGNORED_IN_URL = re.compile(r"[\x00-\x20\x7f-\x9f]")


def dangerous_url(url: str) -> bool:
    """Whether following ``url`` runs code, read as a browser reads it (entities and escapes
    decoded, blanks and controls ignored, any case)."""
    url = html.unescape(_BACKSLASH_ESCAPE.sub(r"\1", url))
    return _IGNORED_IN_URL.sub("", url).lower().startswith(_DANGEROUS_SCHEMES)


def fence(text: str, info: str = "text") -> str:
    """A fenced block whose fence is longer than any backtick run inside the text."""
    marks = "`" * max(3, _longest_backticks(text) + 1)
    return f"{marks}{info}\n{text.rstrip()}\n{marks}"


def code_span(text: str) -> str:
    """``text`` (one line) as inline code that no backtick inside can end."""
    text = terminal_safe(text).replace("\n", " ")
    marks = "`" * (_longest_backticks(text) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{marks}{pad}{text}{pad}{marks}"


def markdown_line(text: str) -> str:
    """One line of text for a heading or title: HTML shown as text, no link that runs code;
    line breaks become spaces. Inline code in it still renders."""
    text = terminal_safe(text).replace("\n", " ")
    escaped = _escape_prose(text, code_spans=True)
    if all(_inert(parser.parseInline(escaped)) for parser in _parsers()):
        return escaped
    return _escape_prose(text, code_spans=False)


def markdown_text(text: str) -> str:
    """Text placed inside our own Markdown (a table cell, a list item): HTML shown as text, no
    link that runs code, line breaks kept. ``<`` is escaped inside inline code too, since we do
    not know how the surrounding block splits it."""
    return _escape_prose(terminal_safe(text), code_spans=False)


def markdown_block(markdown: str) -> str:
    """A Markdown document from elsewhere (a model's reply) made inert for our report: HTML
    outside code shown as text, links that run code defused, an unclosed code fence closed."""
    lines = terminal_safe(markdown).split("\n")
    for code_spans in (True, False):
        safe = "\n".join(_close_fence(_escape_outside_code(lines, code_spans)))
        if all(_inert(parser.parse(safe)) for parser in _parsers()):
            return safe
    return fence("\n".join(lines))  # not reached in our tests; a fenced block is inert whatever it holds


@cache
def _parsers() -> tuple[MarkdownIt, MarkdownIt]:
    """How renderers read a report: CommonMark, and GitHub's tables (a row splits at ``|``
    before inline code is found). Links are kept raw so that the check sees every target."""
    from markdown_it import MarkdownIt

    plain = MarkdownIt("commonmark")
    tables = MarkdownIt("commonmark").enable("table")
    for parser in (plain, tables):
        parser.validateLink = _any_link  # type: ignore[method-assign]
        parser.normalizeLink = _same_link  # type: ignore[method-assign]
    return plain, tables


def _any_link(url: str) -> bool:
    return True


def _same_link(url: str) -> str:
    return url


def _inert(tokens: list[Token]) -> bool:
    """No raw HTML and no link target that runs code, at any depth."""
    for token in tokens:
        if token.type in ("html_block", "html_inline"):
            return False
        target = token.attrGet("href") or token.attrGet("src")
        if isinstance(target, str) and dangerous_url(target):
            return False
        if token.children and not _inert(token.children):
            return False
    return True


def _escape_outside_code(lines: list[str], code_spans: bool) -> list[str]:
    """Escape every line the parser does not read as code. Escaping can change how later lines
    parse (an HTML block that swallowed a fence is gone), so repeat until the lines we left
    alone are still code."""
    code = _code_lines(lines)
    while True:
        out = list(lines)
        start = 0
        for index in [*sorted(code), len(lines)]:  # runs of prose between code lines
            if start < index:
                out[start:index] = _escape_prose("\n".join(lines[start:index]), code_spans).split("\n")
            start = index + 1
        still = _code_lines(out)
        if code <= still:
            return out
        code &= still


def _code_lines(lines: list[str]) -> set[int]:
    """The lines every parser reads as fenced or indented code."""
    text = "\n".join(lines)
    found = [
        {
            line
            for token in parser.parse(text)
            if token.type in ("fence", "code_block") and token.map
            for line in range(*token.map)
        }
        for parser in _parsers()
    ]
    return found[0] & found[1]


def _close_fence(lines: list[str]) -> list[str]:
    """Close a top-level fence left open (it would run on into the next agent's section)."""
    tokens = _parsers()[0].parse("\n".join(lines))
    last = next((t for t in reversed(tokens) if t.level == 0), None)
    if last is None or last.type != "fence" or not last.map:
        return lines
    start, end = last.map
    closer = _FENCE_LINE.fullmatch(lines[end - 1]) if end - 1 > start else None
    if closer and closer.group(1)[0] == last.markup[0] and len(closer.group(1)) >= len(last.markup):
        return lines
    return [*lines, last.markup]


def _escape_prose(text: str, code_spans: bool) -> str:
    """Escape ``<`` (but in safe autolinks and, if ``code_spans``, in inline code closed on the
    same line) and defuse link targets that run code."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and text[i + 1 : i + 2] in _ESCAPABLE:
            out.append(text[i : i + 2])
            i += 2
        elif char == "`":
            run = _BACKTICKS.match(text, i)
            assert run is not None
            end = _closing_backticks(text, run) if code_spans else None
            out.append(text[i : end or run.end()])
            i = end or run.end()
        elif char == "<":
            autolink = _SAFE_AUTOLINK.match(text, i)
            out.append(autolink.group() if autolink else "&lt;")
            i = autolink.end() if autolink else i + 1
        elif char == "]" and text[i + 1 : i + 2] in ("(", ":") and _runs_code(text, i + 2):
            out.append("]\\")  # "](" / "]:" → "]\(" / "]\:": shown as typed, no longer a link
            i += 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _closing_backticks(text: str, opener: re.Match[str]) -> int | None:
    """The end of the inline code that ``opener`` starts, if a run as long closes it on the line."""
    line_end = text.find("\n", opener.end())
    for run in _BACKTICKS.finditer(text, opener.end(), len(text) if line_end < 0 else line_end):
        if len(run.group()) == len(opener.group()):
            return run.end()
    return None


def _runs_code(text: str, start: int) -> bool:
    target = _TARGET.match(text, start)
    return target is not None and dangerous_url(target.group(1).strip("<>"))


def _longest_backticks(text: str) -> int:
    return max((len(run) for run in _BACKTICKS.findall(text)), default=0)
