"""The architecture decision record of a debate (``dialectic adr``), in the Nygard/MADR layout:
status, context, decision, the options considered, consequences, open risks and dissent. It is
built from the stored state — the judge's synthesis and the issue ledger — not from the
transcript: a reader wants what was decided and what is still disputed, not the 30 pages that
led there.

Everything a model wrote (and the problem, and names from the config) is untrusted: it passes
through the report's inert helpers, and a block whose headings would break out of the section
it sits in is shown fenced.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from dialectic.debate import ledger
from dialectic.debate.state import DebateState, FinalSolution, OptionVerdict, Ruling
from dialectic.nodes.judge import final_proposals
from dialectic.report.inert import fence, markdown_block, markdown_line, terminal_safe
from dialectic.report.markdown import nest, title_of

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

    from dialectic.configs.schema import AgentConfig
    from dialectic.configs.settings import RunSettings

# The ADR's own sections, in order (a test and a reader can rely on them).
SECTIONS = ("Status", "Context", "Decision", "Options considered", "Consequences", "Open risks", "Dissent")
# The section of a refined design that holds the design itself (prompts/*/refine.md asks for it).
REVISED = "revised design"
# What opens a block at the start of a list item's text: a heading, a quote, a list marker, a rule
# (the match ends on the character to escape).
_BLOCK_START = re.compile(r"#|>|[-+*](?=\s|[-+*\s]*$)|\d{1,9}[.)]")


def render_adr(state: Mapping[str, Any], settings: RunSettings, *, debate_id: str, status: str) -> str:
    """The ADR of a debate. Without a synthesis it is still written, with Status *Proposed* and
    why, so a stopped debate's options and dissent can be reviewed before it is resumed."""
    typed = cast(DebateState, state)
    items = ledger.of_state(typed, [agent.id for agent in settings.agents])
    final = typed.get("final_solution")
    out = [f"# ADR: {markdown_line(title_of(typed.get('problem', '')))}", ""]
    out += _section("Status", _status(typed, settings, debate_id=debate_id, status=status))
    out += _section("Context", _context(typed, settings))
    decision = _block(final.solution_markdown, 3) if final else "No decision has been synthesized yet."
    out += _section("Decision", [decision])
    out += _section("Options considered", _options(typed, settings.agents, final))
    out += _section("Consequences", _consequences(final))
    out += _section("Open risks", _open_risks(items, final))
    out += _section("Dissent", _dissent(items, final))
    return terminal_safe("\n".join(out).rstrip() + "\n")  # `cat adr.md` runs no escape sequence


def _section(title: str, body: list[str]) -> list[str]:
    while body and not body[-1]:
        body = body[:-1]
    return [f"## {title}", "", *body, ""]


# --- status and context ---------------------------------------------------------------------------


def _status(state: DebateState, settings: RunSettings, *, debate_id: str, status: str) -> list[str]:
    final = state.get("final_solution")
    rounds = state.get("round") or 0
    if final is None:
        return [
            f"Proposed. The debate has no synthesis yet: it is {markdown_line(status)} in round {rounds} "
            f"of {settings.config.debate.rounds}, so nothing was decided (`dialectic resume {debate_id}` "
            "continues it). The options below are the panelists' latest designs."
        ]
    reason = state.get("stop_reason")
    line = (
        f"Accepted. {markdown_line(settings.judge.name)} synthesized this decision after {rounds} "
        f"round(s) among {len(settings.agents)} panelists"
        + (f" (stop reason: {markdown_line(reason)})" if reason else "")
        + f", with confidence {final.confidence:g}/100."
    )
    if status == "degraded":
        line += " Some calls failed for good: the debate finished degraded."
    return [line]


def _context(state: DebateState, settings: RunSettings) -> list[str]:
    out = ["### Problem", "", _block(state.get("problem", ""), 4), ""]
    answered = [
        (group, item)
        for group in state.get("clarifications", [])
        for item in group.items
        if item.answer.strip() and item.answer.strip() != "NA"
    ]
    if answered:
        out += ["### Clarifications", ""]
        out += [
            f"- {_inline(item.question)} ({markdown_line(group.agent_name or group.agent_id)} asked): "
            f"{_inline(item.answer)}"
            for group, item in answered
        ]
        out.append("")
    out += ["### Panel", ""]
    out += [f"- {_member(agent)}" for agent in settings.agents]
    out.append(f"- Judge: {_member(settings.judge)}")
    return out


def _member(agent: AgentConfig) -> str:
    return (
        f"**{markdown_line(agent.name)}** ({markdown_line(agent.id)}; role {markdown_line(agent.role)}; "
        f"model {markdown_line(agent.model)})"
    )


# --- options --------------------------------------------------------------------------------------


def _options(state: DebateState, agents: Sequence[AgentConfig], final: FinalSolution | None) -> list[str]:
    designs = {design.agent_id: design for design in final_proposals(state)}
    verdicts = {verdict.agent_id: verdict for verdict in final.options} if final else {}
    out: list[str] = []
    for agent in agents:
        design = designs.get(agent.id)
        out += [f"### {markdown_line(agent.name)} ({markdown_line(agent.id)})", ""]
        out += [_verdict(verdicts.get(agent.id), final), ""]
        out += [_block(summary_of(design.content), 4) if design else "No design from this panelist.", ""]
    return out or ["None."]


def _verdict(verdict: OptionVerdict | None, final: FinalSolution | None) -> str:
    if final is None:
        return "**Verdict:** none yet (no synthesis)."
    if verdict is None:
        return "**Verdict:** the judge gave none."
    reason = f" — {_inline(verdict.reason)}" if verdict.reason.strip() else ""
    return f"**Verdict:** {markdown_line(verdict.verdict)}{reason}"


@dataclass(frozen=True)
class _Part:
    """A top-level block of a design: lines [start, end), its kind ("heading", "paragraph",
    "bullet_list"…), and for a heading its level and text."""

    start: int
    end: int
    kind: str
    level: int = 0
    text: str = ""


def summary_of(design: str) -> str:
    """What a design says about itself in brief: its ``Summary`` section; else the first block
    of its ``Revised Design`` section (a refinement has no summary); else its first paragraph;
    else its first block."""
    blocks = _blocks(design)
    lines = design.split("\n")

    def text(chosen: Sequence[_Part]) -> str:
        return "\n".join(lines[chosen[0].start : chosen[-1].end]) if chosen else ""

    body = [b for b in blocks if b.kind != "heading"]
    for title, whole in (("summary", True), (REVISED, False)):
        found = _under(blocks, title)
        if found:
            return text(found if whole else found[:1])
    paragraphs = [b for b in body if b.kind == "paragraph"]
    return text(paragraphs[:1] or body[:1]) or design


def _under(blocks: Sequence[_Part], title: str) -> list[_Part]:
    """The blocks of the first section headed ``title`` (any level, any case)."""
    for index, block in enumerate(blocks):
        if block.kind == "heading" and block.text.strip().lower() == title:
            inside = []
            for later in blocks[index + 1 :]:
                if later.kind == "heading" and later.level <= block.level:
                    break
                inside.append(later)
            return inside
    return []


def _blocks(design: str) -> list[_Part]:
    """The top-level blocks of a Markdown document, as CommonMark reads them (so a ``#`` line in
    code is no heading)."""
    tokens = _parser().parse(design)
    out = []
    for index, token in enumerate(tokens):
        if token.level != 0 or token.nesting == -1 or token.map is None:
            continue
        start, end = token.map
        if token.type == "heading_open":
            out.append(_Part(start, end, "heading", int(token.tag[1:]), tokens[index + 1].content))
        else:
            out.append(_Part(start, end, token.type.removesuffix("_open")))
    return out


@cache
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table")


# --- consequences and risks -----------------------------------------------------------------------


def _consequences(final: FinalSolution | None) -> list[str]:
    if final is None:
        return ["None recorded yet (no synthesis)."]
    return [
        *_listed("Trade-offs", [_inline(t) for t in final.tradeoffs]),
        *_listed("Recommendations", [_inline(r) for r in final.recommendations]),
    ]


def _open_risks(items: Sequence[ledger.Item], final: FinalSolution | None) -> list[str]:
    """What the decision leaves open: the judge's remaining risks, the ledger items still open,
    the major requirements not met, the items deferred, the rebuttals no critic ruled on yet,
    the questions left."""
    risks = final.remaining_risks if final else ()
    unmet = final.unfulfilled_major_requirements if final else ()
    questions = final.open_questions if final else ()
    out = [
        *_listed("Remaining risks", [_inline(r) for r in risks]),
        *_listed("Open ledger items", [_item_line(i) for i in items if i.is_open]),
        *_listed("Unfulfilled major requirements", [_inline(u) for u in unmet]),
        *_listed("Deferred items", [_item_line(i) for i in items if i.status == "deferred"]),
        *_listed(
            "Rebuttals awaiting their critic's verdict",
            [_item_line(i) for i in items if i.status == "rebutted" and not i.contested],
        ),
        *_listed("Open questions", [_inline(q) for q in questions]),
    ]
    return out or ["None."]


def _listed(title: str, lines: Sequence[str]) -> list[str]:
    """A subsection listing ``lines``; none when there are none."""
    return [f"### {title}", "", *(f"- {line}" for line in lines), ""] if lines else []


def _item_line(item: ledger.Item) -> str:
    """An item on one line, with the latest word on it: the reopening, or the author's answer."""
    said = item.last("verdict") if item.status == "reopened" else item.last("response")
    why = (
        f" {item.status.capitalize()} by {markdown_line(said.agent_id)}: {_inline(said.text)}"
        if said and said.text.strip()
        else ""
    )
    return (
        f"**{item.id}** ({markdown_line(item.severity)}, {item.status}; raised by "
        f"{markdown_line(item.raised_by)} in round {item.round} on {markdown_line(item.target)}'s design): "
        f"{_inline(item.title)}.{why}"
    )


# --- dissent --------------------------------------------------------------------------------------


def _dissent(items: Iterable[ledger.Item], final: FinalSolution | None) -> list[str]:
    """Exactly the contested items — reopened by their critic and not settled since — each with both sides
    and the judge's ruling."""
    rulings = {ruling.id: ruling for ruling in final.rulings} if final else {}
    out: list[str] = []
    for item in items:
        if item.contested:
            out += _contested(item, rulings.get(item.id), final is not None)
    return out or ["None."]


def _contested(item: ledger.Item, ruling: Ruling | None, judged: bool) -> list[str]:
    """Both sides of a contested item — the author's latest answer and the critic's latest
    reopening, in the order they were said — then the judge's ruling."""
    lines = [
        f"- Raised by {markdown_line(item.raised_by)} ({markdown_line(item.perspective or 'critic')}) in "
        f"round {item.round} against {markdown_line(item.target)}'s design; severity "
        f"{markdown_line(item.severity)}; now {item.status}."
    ]
    if item.evidence.strip():
        lines.append(f"- Evidence: {_inline(item.evidence)}")
    answer = item.last("response")
    reopened = next((e for e in reversed(item.history) if e.kind == "verdict" and e.answer == "reopen"), None)
    said = sorted((e for e in (answer, reopened) if e is not None), key=item.history.index)
    for entry in said:
        did = "reopened" if entry.kind == "verdict" else markdown_line(entry.answer)
        lines.append(
            f"- {markdown_line(entry.agent_id)} {did} it (round {entry.round}): "
            f"{_inline(entry.text) or '(nothing said)'}"
        )
    lines.append(f"- Judge's ruling: {_ruling(ruling, judged)}")
    return [f"### {item.id}: {markdown_line(item.title)}", "", *lines, ""]


def _ruling(ruling: Ruling | None, judged: bool) -> str:
    if ruling is None:
        return "none (no synthesis yet)." if not judged else "none given."
    reason = f" — {_inline(ruling.reason)}" if ruling.reason.strip() else ""
    return f"{markdown_line(ruling.ruling)}{reason}"


# --- model text -----------------------------------------------------------------------------------


def _block(markdown: str, top: int) -> str:
    """A model's Markdown under one of our headings of level ``top - 1``: its headings moved down
    to ``top``, made inert. A heading ``nest`` cannot move (setext, or inside a quote) that would
    still end our section makes it a fenced block instead."""
    if not markdown.strip():
        return "(empty)"
    block = markdown_block(nest(markdown, top))
    levels = [int(t.tag[1:]) for t in _parser().parse(block) if t.type == "heading_open"]
    return fence(terminal_safe(markdown)) if any(level < top for level in levels) else block


def _inline(text: str) -> str:
    """Model text on one line of a list item: inert, and not starting a block of its own (a
    heading, a quote, a nested list, a rule) when it opens the item; emphasis stays."""
    line = markdown_line(text).strip()
    marker = _BLOCK_START.match(line)
    return f"{line[: marker.end() - 1]}\\{line[marker.end() - 1 :]}" if marker else line
