"""The offline model's issue-ledger blocks: findings and verdicts at the end of a critique,
responses at the end of a refinement, and the design changes an accepted item makes."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage

from dialectic import prompts
from dialectic.debate.blocks import CritiqueBlock, RefinementBlock, split
from dialectic.providers import offline_text
from dialectic.providers.offline import OfflineChatModel

PROBLEM = (
    "Design a notification service.\nIt must deliver messages to 10,000 users within 5 seconds.\n"
    "Messages must never be lost after they are accepted."
)
# What the ledger's instructions name (the prompt files word them; the fields are the contract).
ASK_FINDINGS = '\n## Findings for the issue ledger\n\nEnd with one ```json block: {"findings": [...], "verdicts": [...]}\n'
ASK_RESPONSES = '\n## Responses for the issue ledger\n\nEnd with one ```json block: {"responses": [...]}\n'
SEVERITIES = ("critical", "major", "minor")
STATUSES = {"open", "accepted", "rebutted", "deferred", "closed", "reopened"}


def call(prompt: str, phase: str, agent: str, round_: int = 1, target: str | None = None) -> str:
    """One call with the metadata nodes/llm.py attaches."""
    speaks_as = {"propose": "proposal", "critique": "critique", "refine": "refinement"}[phase]
    metadata = {
        "dialectic_phase": phase,
        "dialectic_agent": agent,
        "dialectic_role": {"a1": "architect", "a2": "performance", "a3": "kiss"}.get(agent, "generalist"),
        "dialectic_round": round_,
        "dialectic_target": target,
        "dialectic_speaks_as": speaks_as,
    }
    messages = [SystemMessage(content="You are a panelist."), HumanMessage(content=prompt)]
    reply = OfflineChatModel.from_environment().invoke(messages, config={"metadata": metadata})
    return str(reply.content)


def block(text: str) -> tuple[str, dict[str, Any]]:
    """The prose and the JSON of the fenced block the reply ends with."""
    found = re.search(r"```json\n(.*)\n```\s*\Z", text, re.S)
    assert found, text[-400:]
    return text[: found.start()], json.loads(found.group(1))


def proposal(agent: str = "a1") -> str:
    return call(f"## Problem\n\n{PROBLEM}\n\n## Your task\n\nPropose a design.\n", "propose", agent)


def critique_prompt(design: str, author: str = "a1", items: str = "", ask: bool = True) -> str:
    due = f"\n## Your items against this design\n\n{items}\n" if items else ""
    return (
        f"## Problem\n\n{PROBLEM}\n\n## Your task\n\nReview the proposal.\n\n"
        f"## Proposal by {author} (architect)\n\n{prompts.embed(design)}\n{due}{ASK_FINDINGS if ask else ''}"
    )


def refine_prompt(design: str, items: str = "", ask: bool = True) -> str:
    open_items = f"\n## Open items against your design\n\n{items}\n" if items else ""
    return (
        f"## Problem\n\n{PROBLEM}\n\n## Your current proposal\n\n{prompts.embed(design)}\n\n"
        f"## Critiques you received\n\n(none)\n\n## Your task\n\nRevise.\n{open_items}{ASK_RESPONSES if ask else ''}"
    )


@dataclass
class Tracked:
    """An item as the ledger tracks it, rendered the way the spec's prompt sections show it."""

    number: int
    severity: str = "major"
    title: str = ""
    suggestion: str = ""
    critic: str = "a2"
    target: str = "a1"
    round: int = 1
    status: str = "open"
    note: str = ""
    argument: str = ""
    reopened_in: int = 0
    repeated: bool = False  # its latest reopening repeated its title

    def __post_init__(self) -> None:
        self.title = self.title or f"Point number {self.number} about the queue"
        self.suggestion = self.suggestion or (
            f"Add a **change {self.number} component** that absorbs bursts for point {self.number}."
        )

    @property
    def id(self) -> str:
        return f"I{self.number}"

    def due_line(self) -> str:
        """Its line under "Your items against this design" (a critique)."""
        note = self.note or f"kept for reason {self.number}."
        return f"- **{self.id}** ({self.severity}, round {self.round}): {self.title}. The author *{self.status}* it: {note}"

    def open_line(self) -> str:
        """Its entry under "Open items against your design" (a refinement)."""
        line = f"- **{self.id}** ({self.severity}, raised by {self.critic} in round {self.round}): {self.title}. Suggested: {self.suggestion}"
        if self.status == "reopened":
            argument = self.argument or f"A new argument for point {self.number}."
            line += f"\n  - reopened by {self.critic} in round {self.reopened_in}: {argument}"
        return line


def due_line(number: int, status: str) -> str:
    return Tracked(number, status=status).due_line()


def open_line(number: int, severity: str, reopened_in: int = 0, raised_in: int = 1) -> str:
    status = "reopened" if reopened_in else "open"
    return Tracked(number, severity, round=raised_in, status=status, reopened_in=reopened_in).open_line()


def design_sections(markdown: str) -> dict[str, str]:
    """Sections of a design at any heading level (an embedded one is pushed down)."""
    return {
        m.group(1).strip(): m.group(2).strip()
        for m in re.finditer(r"^#{2,6} (.+?)\n(.*?)(?=^#{2,6} |\Z)", markdown, re.M | re.S)
    }


# --- critiques ---------------------------------------------------------------------------------


def test_a_round_1_critique_ends_with_two_findings_about_the_targets_design() -> None:
    design = proposal()
    text = call(critique_prompt(design), "critique", "a2", target="a1")
    prose, found = block(text)
    assert set(offline_text.sections(prose)) >= {"Requirements Check", "Weaknesses", "Suggested Changes"}
    assert found["verdicts"] == []
    assert len(found["findings"]) == 2
    names = [element.name for element in offline_text.design_elements(design)]
    weaknesses = offline_text.sections(prose)["Weaknesses"]
    for finding in found["findings"]:
        assert set(finding) == {"title", "severity", "evidence", "suggestion"}
        assert finding["title"] in weaknesses  # the prose and the block say the same
        assert any(f"**{name}**" in finding["evidence"] for name in names)
        assert finding["suggestion"].startswith(("Add a", "Add an", "Show how the existing"))
    # The block is what dialectic.debate.blocks accepts, and leaves the prose.
    kept, parsed, why = split(text, CritiqueBlock)
    assert parsed is not None and why == "" and kept == prose.strip()


def test_round_1_severities_give_a_panel_critical_major_and_minor_findings() -> None:
    design = proposal()
    # The first finding is critical when the target's id sorts before the critic's, else major.
    first = block(call(critique_prompt(design), "critique", "a2", target="a1"))[1]["findings"]
    second = block(call(critique_prompt(design), "critique", "a0", target="a1"))[1]["findings"]
    assert [f["severity"] for f in first] == ["critical", "minor"]
    assert [f["severity"] for f in second] == ["major", "minor"]


def test_a_critique_not_asked_for_a_block_is_prose_only() -> None:
    text = call(critique_prompt(proposal(), ask=False), "critique", "a2", target="a1")
    assert "```json" not in text
    assert "## Suggested Changes" in text


def test_later_rounds_raise_at_most_one_new_finding_and_never_a_concern_already_shown() -> None:
    counts: Counter[int] = Counter()
    severities: Counter[str] = Counter()
    for index in range(12):
        design = proposal(f"b{index}")
        first = call(critique_prompt(design, author=f"b{index}"), "critique", "a2", target=f"b{index}")
        # The critic's history shows its round-1 critique: its concerns are not raised again.
        prompt = critique_prompt(design, author=f"b{index}").replace(
            "## Your task",
            f"## Your history in this debate\n\n{prompts.embed(block(first)[0])}\n\n## Your task",
        )
        findings = block(call(prompt, "critique", "a2", round_=2, target=f"b{index}"))[1]["findings"]
        counts[len(findings)] += 1
        for finding in findings:
            assert finding["title"] not in first
            severities[finding["severity"]] += 1
    assert set(counts) <= {0, 1} and counts[0] > 0
    assert severities["minor"] >= severities["major"] and severities["critical"] == 0


def test_every_listed_item_gets_a_verdict_and_both_verdicts_occur() -> None:
    lines = [due_line(n, "deferred" if n % 4 == 0 else "rebutted") for n in range(1, 25)]
    text = call(critique_prompt(proposal(), items="\n".join(lines)), "critique", "a2", round_=2, target="a1")
    verdicts = block(text)[1]["verdicts"]
    assert [v["id"] for v in verdicts] == [f"I{n}" for n in range(1, 25)]
    by_verdict = Counter(v["verdict"] for v in verdicts)
    assert by_verdict["close"] > 0 and by_verdict["reopen"] > 0
    assert all(v["argument"] == "" for v in verdicts if v["verdict"] == "close")
    reopened = {v["id"]: v["argument"] for v in verdicts if v["verdict"] == "reopen"}
    title = "Point number {} about the queue"
    # A reopening either repeats the item's own words (nothing new) or argues something new.
    repeats = [i for i, argument in reopened.items() if argument == title.format(i[1:])]
    fresh = [i for i, argument in reopened.items() if argument not in lines[int(i[1:]) - 1]]
    assert repeats and fresh and set(repeats) | set(fresh) == set(reopened)
    # Most deferrals are closed; rebuttals are reopened in part.
    deferred = [v for v, line in zip(verdicts, lines, strict=True) if "*deferred*" in line]
    rebutted = [v for v, line in zip(verdicts, lines, strict=True) if "*rebutted*" in line]
    assert sum(v["verdict"] == "close" for v in deferred) > len(deferred) / 2
    assert 0 < sum(v["verdict"] == "reopen" for v in rebutted) < len(rebutted)


def test_a_batched_critique_names_the_design_of_each_finding() -> None:
    peers = "\n".join(f"### {peer} (architect)\n\n{prompts.embed(proposal(peer))}" for peer in ("a1", "a3"))
    prompt = (
        f"## Problem\n\n{PROBLEM}\n\n## Proposals from the other panelists\n\n{peers}\n\n"
        f"## Your task\n\nReview each.\n{ASK_FINDINGS}"
    )
    findings = block(call(prompt, "critique", "a2"))[1]["findings"]
    assert [f["target"] for f in findings] == ["a1", "a1", "a3", "a3"]


# --- refinements -------------------------------------------------------------------------------


def refined_design() -> str:
    """A design as a refinement writes it (Revised Design, Trade-offs and Risks, ...)."""
    return call(refine_prompt(proposal(), ask=False), "refine", "a1")


def test_a_refinement_answers_its_open_items_in_all_three_ways() -> None:
    lines = [open_line(n, "minor" if n % 2 == 0 else "major") for n in range(1, 25)]
    design = refined_design()
    text = call(refine_prompt(design, "\n".join(lines)), "refine", "a1", round_=1)
    prose, found = block(text)
    responses = {r["id"]: r for r in found["responses"]}
    # Every item but the minor ones numbered by a multiple of 6 (they stay open, visibly).
    assert set(responses) == {f"I{n}" for n in range(1, 25) if n % 6 != 0}
    assert {r["response"] for r in responses.values()} == {"accepted", "rebutted", "deferred"}
    for response in responses.values():
        assert set(response) == {"id", "response", "note", "sections"} and response["note"]
        assert bool(response["sections"]) == (response["response"] == "accepted")
    kept, parsed, why = split(text, RefinementBlock)
    assert parsed is not None and why == "" and kept == prose.strip()


def test_an_accepted_item_changes_the_sections_it_names() -> None:
    design = refined_design()
    before = design_sections(design)
    lines = [open_line(n, "major") for n in (1, 2, 6)]  # courses: accepted, rebutted, accepted
    prose, found = block(call(refine_prompt(design, "\n".join(lines)), "refine", "a1", round_=2))
    after = offline_text.sections(prose)
    accepted = [r for r in found["responses"] if r["response"] == "accepted"]
    assert [r["id"] for r in accepted] == ["I1", "I6"]
    assert {"Revised Design", "Trade-offs and Risks"} == set(accepted[1]["sections"])
    changed = {section for r in accepted for section in r["sections"]}
    assert changed <= set(before) & set(after)
    for response in accepted:
        for section in response["sections"]:
            assert before[section] != after[section]
            assert f"**{response['id']}**" in after[section]
    assert "**I2**" not in after["Revised Design"] + after["Trade-offs and Risks"]
    # The change the item suggested is now part of the design.
    assert "change 1 component" in [e.name for e in offline_text.design_elements(after["Revised Design"])]
    # The answers are also said in the prose.
    assert all(f"**{r['id']}**" in after["Response to Critiques"] for r in found["responses"])


def test_a_rebuttal_leaves_the_design_as_it_was() -> None:
    design = refined_design()
    before = design_sections(design)
    prose, found = block(call(refine_prompt(design, open_line(2, "major")), "refine", "a1", round_=2))
    after = offline_text.sections(prose)
    assert found["responses"][0]["response"] == "rebutted"
    for section in ("Revised Design", "Trade-offs and Risks"):
        assert after[section] == before[section]


def test_changes_made_for_earlier_items_stay_in_later_revisions() -> None:
    design = call(refine_prompt(refined_design(), open_line(18, "major")), "refine", "a1")
    earlier = design_sections(block(design)[0])
    assert "**I18**" in earlier["Revised Design"] and "**I18**" in earlier["Trade-offs and Risks"]
    # A later revision with nothing to answer (not asked for a block) keeps those lines.
    later = offline_text.sections(call(refine_prompt(block(design)[0], ask=False), "refine", "a1", round_=3))
    assert "```json" not in later["Requirements Coverage"]
    for section in ("Revised Design", "Trade-offs and Risks"):
        kept = [line for line in earlier[section].splitlines() if line.startswith("- For **I")]
        assert kept and all(line in later[section] for line in kept)


def test_reopened_items_are_mostly_conceded_and_some_wait_or_stay_reopened() -> None:
    lines = [
        open_line(7, "major", reopened_in=3, raised_in=2),  # conceded
        open_line(19, "major", reopened_in=3),  # conceded (I7's course), on a later reopening too
        open_line(3, "major", reopened_in=3),  # rebutted again: a standing dispute
        open_line(8, "minor", reopened_in=3),  # reopened this round: answered only in the next
        open_line(20, "minor", reopened_in=2, raised_in=2),  # (I8's course) a round late: deferred again
        open_line(9, "major", reopened_in=3),  # reopened a second time: left unanswered
        open_line(21, "major", reopened_in=3, raised_in=2),  # (I9's course) a first reopening: rebutted
    ]
    found = block(call(refine_prompt(refined_design(), "\n".join(lines)), "refine", "a1", round_=3))[1]
    got = {r["id"]: r["response"] for r in found["responses"]}
    assert got == {
        "I7": "accepted",
        "I19": "accepted",
        "I3": "rebutted",
        "I20": "deferred",
        "I21": "rebutted",
    }


def test_a_refinement_not_asked_for_a_block_is_prose_only() -> None:
    text = call(refine_prompt(proposal(), ask=False), "refine", "a1")
    assert "```json" not in text and "## Revised Design" in text


def test_the_blocks_are_deterministic() -> None:
    critique = critique_prompt(proposal(), items=due_line(3, "rebutted"))
    assert call(critique, "critique", "a2", 2, "a1") == call(critique, "critique", "a2", 2, "a1")
    refine = refine_prompt(refined_design(), "\n".join(open_line(n, "major") for n in range(1, 6)))
    assert call(refine, "refine", "a1", 2) == call(refine, "refine", "a1", 2)


# --- a whole exchange --------------------------------------------------------------------------


def test_three_rounds_of_a_three_agent_panel_end_with_items_in_every_status() -> None:
    """Critiques raise, refinements answer, critics rule, through the prompt sections of the spec
    (a tiny ledger here: ids in order of round, critic, target and position)."""
    agents = ("a1", "a2", "a3")
    designs = {agent: proposal(agent) for agent in agents}
    items: dict[str, Tracked] = {}
    concessions = 0
    for round_ in (1, 2, 3):
        for critic, target in [(c, t) for c in agents for t in agents if c != t]:
            due = [
                i
                for i in items.values()
                if (i.critic, i.target) == (critic, target) and i.status in ("rebutted", "deferred")
            ]
            listed = "\n".join(i.due_line() for i in due)
            found = block(
                call(critique_prompt(designs[target], target, listed), "critique", critic, round_, target)
            )[1]
            for finding in found["findings"]:
                number = len(items) + 1
                items[f"I{number}"] = Tracked(
                    number,
                    finding["severity"],
                    finding["title"],
                    finding["suggestion"],
                    critic,
                    target,
                    round_,
                )
            for verdict in found["verdicts"]:
                item = items[verdict["id"]]
                item.status = "closed" if verdict["verdict"] == "close" else "reopened"
                if item.status == "reopened":
                    item.argument, item.reopened_in = verdict["argument"], round_
                    item.repeated = verdict["argument"] == item.title
        for author in agents:
            mine = [i for i in items.values() if i.target == author and i.status in ("open", "reopened")]
            listed = "\n".join(i.open_line() for i in mine)
            text = call(refine_prompt(designs[author], listed, ask=bool(mine)), "refine", author, round_)
            if mine:
                text, found = block(text)
                for response in found["responses"]:
                    item = items[response["id"]]
                    if response["response"] == "accepted" and item.status == "reopened" and item.repeated:
                        concessions += 1
                    item.status, item.note = response["response"], response["note"]
            designs[author] = text
    assert {i.status for i in items.values()} == STATUSES
    assert {i.severity for i in items.values()} == set(SEVERITIES)
    assert concessions >= 1  # accepting a reopened item whose critic only repeated itself
