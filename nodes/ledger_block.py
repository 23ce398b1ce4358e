"""The issue ledger's part of a critique or a refinement call: the items the call answers or
rules on and the instructions for its JSON block go at the end of the prompt; the block at the
end of the reply becomes ledger entries (``dialectic.debate.ledger``) and the prose before it the
contribution. A block that is missing or invalid gets one repair call; if that fails too the
contribution stands without entries (its prose is worth keeping) and a warning says so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langgraph.runtime import Runtime

from dialectic import prompts
from dialectic.debate import blocks
from dialectic.debate.context import DebateContext
from dialectic.debate.phases import Phase
from dialectic.debate.state import AgentTask, CallUsage, LedgerEntry
from dialectic.nodes.llm import CallFailed

Ask = Callable[[str], tuple[str, CallUsage]]  # a repair call: its closing message -> text, usage


def wanted(task: AgentTask, phase: Phase) -> bool:
    """A critique always reports its findings; a refinement answers only when items are open."""
    return phase.block == "findings" or (phase.block == "responses" and bool(task.ledger))


def prompt_part(ctx: DebateContext, task: AgentTask, phase: Phase) -> str:
    """What the prompt ends with: the items, then the block's instructions."""
    assert phase.block is not None
    hint = " and the `target`, the id of the design it is about" if task.target_agent_id is None else ""
    # Verdicts are asked for only when the call lists items of the critic's to rule on.
    verdicts = (
        "; and `verdicts`, one per item of yours listed above: `close` if the answer settles it, else "
        "`reopen` with a new `argument`"
        if task.ledger
        else ""
    )
    instructions = prompts.render(
        ctx.settings.template(task.agent_id, phase.block), {"target_hint": hint, "verdicts_hint": verdicts}
    )
    return f"{task.ledger}{instructions}"


def settle(
    runtime: Runtime[DebateContext], task: AgentTask, phase: Phase, text: str, repair: Ask
) -> tuple[str, list[LedgerEntry], list[CallUsage]]:
    """The reply's prose, its ledger entries, and the usage of a repair call if one was made."""
    schema: type[blocks.CritiqueBlock] | type[blocks.RefinementBlock] = (
        blocks.CritiqueBlock if phase.block == "findings" else blocks.RefinementBlock
    )
    prose, block, why = blocks.split(text, schema)
    usages: list[CallUsage] = []
    if block is None:
        try:
            fixed, usage = repair(
                f"Your reply was:\n\n{text[-6000:]}\n\n{blocks.repair_request(schema, why)}"
            )
        except CallFailed as exc:  # the contribution is good: it is not lost for its block
            fixed, why_again = "", str(exc)
        else:
            usages.append(usage)
            _, block, why_again = blocks.split(fixed, schema)
        if block is None:
            runtime.stream_writer(
                {
                    "event": "warning",
                    "message": f"{task.agent_id} ({phase.name}, round {task.round}): no valid ledger block "
                    f"after a repair ({why_again}); its {phase.name} stands without ledger entries",
                }
            )
            return prose, [], usages
    found = entries(runtime.context, task, block)
    if isinstance(block, blocks.CritiqueBlock) and len([e for e in found if e.kind == "raised"]) < len(
        block.findings
    ):
        runtime.stream_writer(
            {
                "event": "warning",
                "message": f"{task.agent_id} (critique, round {task.round}): findings that name no peer's "
                "design as their target were left out of the ledger",
            }
        )
    return prose, found, usages


def entries(ctx: DebateContext, task: AgentTask, block: Any) -> list[LedgerEntry]:
    base = {"round": task.round, "agent_id": task.agent_id}
    if isinstance(block, blocks.RefinementBlock):
        return [
            LedgerEntry(
                kind="response",
                **base,
                target_agent_id=task.agent_id,
                index=index,
                item_id=r.id,
                answer=r.response,
                text=r.note,
                sections=tuple(r.sections),
            )
            for index, r in enumerate(block.responses)
        ]
    peers = {agent.id for agent in ctx.settings.agents} - {task.agent_id}
    found = [
        LedgerEntry(
            kind="raised",
            **base,
            target_agent_id=task.target_agent_id or f.target,
            index=index,
            title=f.title,
            severity=f.severity,
            perspective=ctx.member(task.agent_id).role,
            evidence=f.evidence,
            suggestion=f.suggestion,
        )
        for index, f in enumerate(block.findings)
        if (task.target_agent_id or f.target) in peers  # a batched finding names its design
    ]
    # This critique reported (its block was valid): an "issues" termination needs every one.
    found.append(LedgerEntry(kind="reported", **base, target_agent_id=task.target_agent_id))
    found += [
        LedgerEntry(
            kind="verdict",
            **base,
            target_agent_id=task.target_agent_id,
            index=index,
            item_id=v.id,
            answer=v.verdict,
            text=v.argument,
        )
        for index, v in enumerate(block.verdicts)
    ]
    return found
