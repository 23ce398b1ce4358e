"""The issue ledger in the debate JSON: its items, each agent's position changes and the round
diffs, all derived from the state (``dialectic.debate.ledger``, ``dialectic.debate.diffs``).

Additive fields only, and only in a debate whose ledger has items: a debate without one (an old
debate, one whose models raised nothing) is written exactly as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from dialectic.debate import diffs, ledger
from dialectic.debate.state import DebateState, FinalSolution, LedgerEntry
from dialectic.transcript.schema import (
    AgentDiffRecord,
    LedgerEventRecord,
    LedgerItemRecord,
    OptionRecord,
    PositionChangeRecord,
    RulingRecord,
    SectionDiffRecord,
)


@dataclass(frozen=True)
class LedgerRecords:
    ledger: list[LedgerItemRecord] | None = None  # the items in id order
    position_changes: dict[str, PositionChangeRecord] | None = None  # by agent id
    diffs: dict[int, list[AgentDiffRecord]] = field(default_factory=dict)  # by round


def ledger_records(state: DebateState, agents: Sequence[str]) -> LedgerRecords:
    """The ledger's fields of the debate JSON (none when it has no items). ``agents``: the
    panel's ids in the config's order."""
    items = ledger.of_state(state, agents)
    if not items:
        return LedgerRecords()
    return LedgerRecords(
        ledger=[item_record(item) for item in items],
        position_changes={
            agent: signals_record(found) for agent, found in ledger.signals(items, agents).items()
        },
        diffs={
            number: [diff_record(found) for found in per_agent]
            for number, per_agent in diffs.round_diffs(state, agents).items()
        },
    )


def item_record(item: ledger.Item) -> LedgerItemRecord:
    return LedgerItemRecord(
        id=item.id,
        title=item.title,
        severity=item.severity,
        perspective=item.perspective,
        evidence=item.evidence,
        suggestion=item.suggestion,
        raisedBy=item.raised_by,
        target=item.target,
        round=item.round,
        status=item.status,
        history=[event_record(entry) for entry in item.history],
    )


def event_record(entry: LedgerEntry) -> LedgerEventRecord:
    return LedgerEventRecord(
        round=entry.round,
        kind=entry.kind,
        by=entry.agent_id,
        answer=entry.answer,
        text=entry.text,
        sections=list(entry.sections),
    )


def signals_record(found: ledger.Signals) -> PositionChangeRecord:
    return PositionChangeRecord(
        raised=found.raised,
        accepted=found.accepted,
        rebutted=found.rebutted,
        deferred=found.deferred,
        reopened=found.reopened,
        closed=found.closed,
        concessionsWithoutNewArgument=found.concessions_without_new_argument,
    )


def diff_record(found: diffs.AgentDiff) -> AgentDiffRecord:
    return AgentDiffRecord(
        agentId=found.agent_id,
        sections=[
            SectionDiffRecord(
                title=section.title,
                change=section.change,
                items=list(section.items),
                confirmed=section.confirmed,
            )
            for section in found.sections
        ],
    )


def rulings(final: FinalSolution) -> list[RulingRecord] | None:
    return [RulingRecord(id=r.id, ruling=r.ruling, reason=r.reason) for r in final.rulings] or None


def options(final: FinalSolution) -> list[OptionRecord] | None:
    return [
        OptionRecord(agentId=o.agent_id, verdict=o.verdict, reason=o.reason) for o in final.options
    ] or None
