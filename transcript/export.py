"""The debate state as the debate JSON file (spec §3)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from dialectic.configs.settings import RunSettings
from dialectic.debate import history
from dialectic.debate.clarifications import PendingQuestion
from dialectic.debate.failures import unrecovered as unrecovered_failures
from dialectic.debate.state import Contribution, DebateState, ExtensionRun, Summary
from dialectic.transcript.ledger import ledger_records, options, rulings
from dialectic.transcript.schema import (
    ClarificationGroupRecord,
    ClarificationItemRecord,
    ConsensusRecord,
    ContributionMetadata,
    ContributionRecord,
    DebateRecord,
    FailureRecord,
    FinalSolutionRecord,
    RoundRecord,
    SteeringRecord,
    SummaryMetadata,
    SummaryRecord,
)
from dialectic.transcript.usage import summarize_usage

# Agent config keys worth keeping in the file (never keys or anything secret).
_AGENT_KEYS = (
    "id",
    "name",
    "role",
    "model",
    "provider",
    "temperature",
    "enabled",
    "systemPromptPath",
    "summaryPromptPath",
    "baseUrl",
)


def contribution_record(c: Contribution) -> ContributionRecord:
    metadata = ContributionMetadata(latencyMs=c.latency_ms, model=c.model, tokensUsed=c.tokens_used)
    if c.tool_calls:  # the TypeScript tool's shapes: OpenAI's tool calls and tool messages
        metadata.toolCalls = [{"id": t.id, "name": t.name, "arguments": t.arguments} for t in c.tool_calls]
        metadata.toolResults = [
            {"tool_call_id": t.id, "role": "tool", "content": t.result} for t in c.tool_calls
        ]
        metadata.toolCallIterations = c.tool_turns
    return ContributionRecord(
        agentId=c.agent_id,
        agentRole=c.agent_role,
        type=c.type,
        content=c.content,
        targetAgentId=c.target_agent_id,
        metadata=metadata,
    )


def summary_record(s: Summary, settings: RunSettings) -> SummaryRecord:
    try:
        member = settings.agent(s.agent_id)
    except KeyError:  # a member the settings no longer have (a fork with another config)
        member = None
    return SummaryRecord(
        agentId=s.agent_id,
        agentRole=s.agent_role,
        summary=s.text,
        metadata=SummaryMetadata(
            beforeChars=s.before_chars,
            afterChars=s.after_chars,
            method=s.method,
            timestamp=s.timestamp,
            latencyMs=s.latency_ms,
            tokensUsed=s.tokens_used,
            model=s.model,
            temperature=member.temperature if member else None,
            provider=member.provider if member else None,
        ),
    )


def _agent_dict(agent: Any) -> dict[str, Any]:
    data = agent.model_dump(exclude_none=True)
    return {key: data[key] for key in _AGENT_KEYS if key in data}


def to_record(
    debate_id: str,
    state: Mapping[str, Any],
    settings: RunSettings,
    *,
    status: str,
    created_at: str,
    updated_at: str,
    parent_id: str | None = None,
) -> DebateRecord:
    typed: DebateState = state  # type: ignore[assignment]
    contributions: list[Contribution] = list(typed.get("contributions", []))
    summaries: list[Summary] = list(typed.get("summaries", []))
    judge_id = settings.judge.id
    ledger_fields = ledger_records(typed, [agent.id for agent in settings.agents])
    rounds: list[RoundRecord] = []
    for number in range(1, (typed.get("round") or 0) + 1):
        made = [c for c in contributions if c.round == number]
        round_summaries = {
            agent_id: summary_record(found, settings)
            for agent_id in dict.fromkeys(s.agent_id for s in summaries if s.for_round == number)
            if agent_id != judge_id
            and (found := history.latest_summary(summaries, agent_id, number)) is not None
        }
        rounds.append(
            RoundRecord(
                roundNumber=number,
                timestamp=made[0].timestamp if made else updated_at,
                contributions=[contribution_record(c) for c in made],
                summaries=round_summaries or None,
                diffs=ledger_fields.diffs.get(number),
            )
        )
    judge_summary = history.latest_summary(summaries, judge_id, (typed.get("round") or 0) + 1)
    final = typed.get("final_solution")
    failures = typed.get("failures", [])
    unrecovered = unrecovered_failures(typed)
    return DebateRecord(
        id=debate_id,
        problem=typed.get("problem", ""),
        status=status,
        currentRound=typed.get("round") or 0,
        maxRounds=settings.config.debate.rounds,
        rounds=rounds,
        finalSolution=FinalSolutionRecord(
            description=final.description,
            tradeoffs=list(final.tradeoffs),
            recommendations=list(final.recommendations),
            confidence=round(final.confidence),  # an integer, as TypeScript readers expect
            synthesizedBy=final.synthesized_by,
            unfulfilledMajorRequirements=list(final.unfulfilled_major_requirements),
            openQuestions=list(final.open_questions),
            remainingRisks=list(final.remaining_risks) or None,
            rulings=rulings(final),
            options=options(final),
        )
        if final
        else None,
        judgeSummary=summary_record(judge_summary, settings) if judge_summary else None,
        createdAt=created_at,
        updatedAt=updated_at,
        promptSources=_prompt_sources(settings),
        clarifications=[
            ClarificationGroupRecord(
                agentId=g.agent_id,
                agentName=g.agent_name,
                role=g.role,
                items=[i.model_dump() for i in g.items],
            )
            for g in typed.get("clarifications", [])
        ]
        or None,
        clarificationIterations=typed.get("clarification_iterations"),
        usage=summarize_usage(typed.get("usage", [])),
        consensus=[
            ConsensusRecord(round=s.round, score=s.score, reason=s.reason) for s in typed.get("consensus", [])
        ]
        or None,
        failures=[
            FailureRecord(
                agentId=f.agent_id,
                phase=f.phase,
                round=f.round,
                error=f.error,
                timestamp=f.timestamp,
                recovered=f not in unrecovered,
                transient=f.transient,
            )
            for f in failures
        ]
        or None,
        stopReason=typed.get("stop_reason"),
        steering=[
            SteeringRecord(afterRound=n.after_round, note=n.text, timestamp=n.timestamp)
            for n in typed.get("steering_notes", [])
        ]
        or None,
        agents=[_agent_dict(a) for a in settings.agents],
        judge=_agent_dict(settings.judge),
        parentId=parent_id,
        extensions=extensions_record(typed.get("extension_runs", []), settings),
        ledger=ledger_fields.ledger,
        positionChanges=ledger_fields.position_changes,
    )


def extensions_record(runs: Sequence[ExtensionRun], settings: RunSettings) -> dict[str, Any] | None:
    """Each extension's runs under its own name: round by round, what it saved and noted, and
    its latest report section."""
    found: dict[str, dict[str, Any]] = {}
    for spec in settings.config.extensions:
        found[spec.name] = {"after": spec.after, "runs": []}
        if spec.callable:
            found[spec.name]["callable"] = spec.callable
    for run in runs:
        entry = found.setdefault(run.name, {"after": run.position, "runs": []})
        item: dict[str, Any] = {"round": run.round, "timestamp": run.timestamp}
        if not run.ok:
            item["failed"] = True
        if run.data is not None:
            item["data"] = json.loads(run.data)
        if run.notes is not None:
            item["notes"] = run.notes
        if run.agent_notes is not None:
            item["agentNotes"] = dict(run.agent_notes)
        entry["runs"].append(item)
        if run.report is not None:
            entry["report"] = run.report
    return found or None


def _prompt_sources(settings: RunSettings) -> dict[str, Any]:
    """Where each member's prompts came from, as the TypeScript tool writes it: ``source``
    "built-in" or "file" (with ``path``) for the system prompt, ``summarySource`` for the
    judge's summary prompt; ``filePrompts`` (ours) maps any other phase read from a file to it."""

    def entry(member_id: str, *, summary: bool) -> dict[str, Any]:
        files = dict(settings.prompt_sources.get(member_id, {}))
        found: dict[str, Any] = _source("source", "path", files.pop("system", None))
        if summary:
            found |= _source("summarySource", "summaryPath", files.pop("summarize", None))
        if files:
            found["filePrompts"] = files
        return found

    return {
        "agents": [{"agentId": a.id, "role": a.role, **entry(a.id, summary=False)} for a in settings.agents],
        "judge": {"id": settings.judge.id, **entry(settings.judge.id, summary=True)},
    }


def _source(kind: str, where: str, path: str | None) -> dict[str, str]:
    return {kind: "file", where: path} if path and path != "built-in" else {kind: "built-in"}


def with_pending_questions(
    groups: list[ClarificationGroupRecord] | None, questions: Sequence[PendingQuestion]
) -> list[ClarificationGroupRecord] | None:
    """The clarifications with the questions still waiting for answers (answer ""), grouped by
    agent, as the TypeScript tool's file holds them while it waits."""
    merged = [g.model_copy(deep=True) for g in groups or []]
    for question in questions:
        group = next((g for g in merged if g.agentId == question.agentId), None)
        if group is None:
            group = ClarificationGroupRecord(
                agentId=question.agentId, agentName=question.agentName, role=question.role
            )
            merged.append(group)
        group.items.append(ClarificationItemRecord(id=question.id, question=question.question, answer=""))
    return merged or None
