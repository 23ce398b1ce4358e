"""The judge synthesizes the final design (structured output).

Confidence is capped at 40 whenever a major requirement is left unfulfilled. A debate cannot end
without its synthesis: if the judge's call fails after its retries, the debate pauses at the
round's join (exit 3) and resuming calls the judge again, every contribution before it being
checkpointed.
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

from dialectic import prompts
from dialectic.debate import course, history, ledger
from dialectic.debate.context import DebateContext
from dialectic.debate.phases import SYNTHESIZE
from dialectic.debate.state import Contribution, DebateState, FinalSolution, OptionVerdict, Ruling
from dialectic.nodes.agent_call import ask_structured, perspective_section
from dialectic.prompts.requirements import requirements_list

UNFULFILLED_CONFIDENCE_CAP = 40


class RulingOut(BaseModel):
    """The judge's decision on a contested ledger item."""

    id: str
    ruling: Literal["upheld", "dismissed"]
    reason: str = ""


class OptionOut(BaseModel):
    """What became of a panelist's final design."""

    agentId: str
    verdict: Literal["adopted", "partly adopted", "rejected"]
    reason: str = ""


class Synthesis(BaseModel):
    """The judge's final design."""

    solutionMarkdown: str = Field(description="the complete final design in Markdown")
    tradeoffs: list[str] = Field(default_factory=list)
    recommendations: list[str] = Field(default_factory=list)
    unfulfilledMajorRequirements: list[str] = Field(default_factory=list)
    openQuestions: list[str] = Field(default_factory=list)
    rulings: list[RulingOut] = Field(default_factory=list)
    remainingRisks: list[str] = Field(default_factory=list)
    options: list[OptionOut] = Field(default_factory=list)
    confidence: int = Field(ge=0, le=100)


def final_proposals(state: DebateState) -> list[Contribution]:
    """Each agent's latest design: its last refinement, else its last proposal."""
    latest: dict[str, Contribution] = {}
    for contribution in state.get("contributions", []):
        if contribution.type in ("proposal", "refinement"):
            latest[contribution.agent_id] = contribution
    return list(latest.values())


def debate_text(state: DebateState, ctx: DebateContext) -> str:
    """What the judge reads of the debate before the final proposals: the summaries in force
    (the panelists' own, then the judge's), then what came after them."""
    if not ctx.settings.config.debate.includeFullHistory:
        return "(Only the final proposals are shown.)"
    round_number = state["round"]
    reading = history.judge_reading(state, ctx.settings.judge.id, round_number + 1)
    parts = [history.panel_text(reading.panel)]
    if reading.own is not None:
        parts.append(f"### Summary of the debate\n\n{prompts.embed(reading.own.text)}\n")
    parts += history.transcript_entries(state.get("contributions", []), reading.floor, (round_number, 2))
    return prompts.embed("\n".join(p for p in parts if p.strip())) or "(No earlier material.)"


def ledger_section(state: DebateState, ctx: DebateContext) -> str:
    """The ledger items the judge rules on (none: the section is left out)."""
    if not state.get("ledger"):
        return ""
    found = ledger.of_state(state, [agent.id for agent in ctx.settings.agents])
    return history.section("Issue ledger: what is still open or contested", ledger.judge_text(found))


def assessment_markdown(synthesis: Synthesis, confidence: int) -> str:
    """The "Judge Assessment" block under the solution, laid out as the TypeScript tool writes
    it (its report readers look for ``**Confidence Score**: N``, N an integer)."""
    lines = ["", "---", "", "## Judge Assessment", "", f"**Confidence Score**: {int(confidence)}", ""]
    for title, items in (
        ("Unfulfilled Major Requirements", synthesis.unfulfilledMajorRequirements),
        ("Open Questions", synthesis.openQuestions),
        ("Recommendations", synthesis.recommendations),
        ("Trade-offs", synthesis.tradeoffs),
        # ours, after the TypeScript tool's four, and only when there are some
        *((("Remaining Risks", synthesis.remainingRisks),) if synthesis.remainingRisks else ()),
    ):
        lines.append(f"### {title}")
        lines.append("")
        lines.extend(f"- {item}" for item in items) if items else lines.append("- None.")
        lines.append("")
    return "\n".join(lines)


def judge(state: DebateState, runtime: Runtime[DebateContext]) -> dict[str, Any]:
    ctx = runtime.context
    member = ctx.settings.judge
    proposals = final_proposals(state)
    template = ctx.settings.template(member.id, SYNTHESIZE.template)
    values = {
        "problem": prompts.embed(state["problem"]),
        "clarifications": history.clarifications_text(state.get("clarifications", [])),
        "notes": history.notes_text(state, None),
        "debate": debate_text(state, ctx),
        "final_proposals": history.proposals_text(
            [p.model_copy(update={"content": prompts.embed(p.content)}) for p in proposals]
        ),
        "requirements": requirements_list(state["problem"]),
        "agent_name": member.name,
        "perspective": perspective_section(ctx, member.id),
        "ledger": ledger_section(state, ctx),
    }
    if not prompts.places(template, "final_proposals"):
        # A user's template that reads only {debate}, which no longer shows designs: the final
        # ones come with it.
        values["debate"] = f"{values['debate']}\n\n### Final proposals\n\n{values['final_proposals']}"
    user = prompts.render(template, values)
    synthesis, usage = ask_structured(
        runtime,
        SYNTHESIZE,
        member.id,
        state["round"],
        user,
        Synthesis,
        shared=prompts.shared_length(template, values),
    )
    confidence = synthesis.confidence
    if synthesis.unfulfilledMajorRequirements:
        confidence = min(confidence, UNFULFILLED_CONFIDENCE_CAP)
    solution = FinalSolution(
        description=synthesis.solutionMarkdown.rstrip() + "\n" + assessment_markdown(synthesis, confidence),
        solution_markdown=synthesis.solutionMarkdown,
        tradeoffs=tuple(synthesis.tradeoffs),
        recommendations=tuple(synthesis.recommendations),
        unfulfilled_major_requirements=tuple(synthesis.unfulfilledMajorRequirements),
        open_questions=tuple(synthesis.openQuestions),
        remaining_risks=tuple(synthesis.remainingRisks),
        rulings=tuple(Ruling(id=r.id, ruling=r.ruling, reason=r.reason) for r in synthesis.rulings),
        options=tuple(
            OptionVerdict(agent_id=o.agentId, verdict=o.verdict, reason=o.reason) for o in synthesis.options
        ),
        confidence=confidence,
        synthesized_by=member.id,
    )
    stop_reason = course.early_stop(state, ctx.settings) or "rounds"
    return {"final_solution": solution, "usage": [usage], "stop_reason": stop_reason}
