"""The debate JSON file (spec §3): the TypeScript tool's field names and meaning, plus new keys.

Reading is lenient (unknown keys kept, optional keys optional) so that files written by either
tool, or by a later version, load; writing always produces every compatible field.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class ContributionMetadata(_Record):
    latencyMs: int | float | None = None
    model: str | None = None
    tokensUsed: int | float | None = None
    toolCalls: list[Any] | None = None  # [{id, name, arguments (JSON text)}]
    toolResults: list[Any] | None = None  # [{tool_call_id, role: "tool", content (truncated)}]
    toolCallIterations: int | None = None  # model turns that called tools


class ContributionRecord(_Record):
    agentId: str
    agentRole: str = ""
    type: str
    content: str = ""
    targetAgentId: str | None = None
    metadata: ContributionMetadata = Field(default_factory=ContributionMetadata)


class SummaryMetadata(_Record):
    beforeChars: int | None = None
    afterChars: int | None = None
    method: str | None = None
    timestamp: str | None = None
    latencyMs: int | float | None = None
    tokensUsed: int | float | None = None
    model: str | None = None
    temperature: float | None = None
    provider: str | None = None


class SummaryRecord(_Record):
    agentId: str
    agentRole: str = ""
    summary: str = ""
    metadata: SummaryMetadata = Field(default_factory=SummaryMetadata)


class SectionDiffRecord(_Record):
    """A section of an agent's design its refinement changed (``change``: changed, added,
    removed), or one an item named that did not change ("unchanged", ``confirmed`` false)."""

    title: str = ""  # "": the text before the design's first section
    change: str
    items: list[str] = Field(default_factory=list)  # the accepted items whose response named it
    confirmed: bool = True  # the text diff shows the change


class AgentDiffRecord(_Record):
    agentId: str
    sections: list[SectionDiffRecord] = Field(default_factory=list)


class RoundRecord(_Record):
    roundNumber: int
    timestamp: str | None = None
    contributions: list[ContributionRecord] = Field(default_factory=list)
    summaries: dict[str, SummaryRecord] | None = None
    diffs: list[AgentDiffRecord] | None = None  # what each refinement changed (debates with a ledger)


class RulingRecord(_Record):
    id: str
    ruling: str  # "upheld" (the critic was right) or "dismissed"
    reason: str = ""


class OptionRecord(_Record):
    agentId: str
    verdict: str  # "adopted", "partly adopted" or "rejected"
    reason: str = ""


class FinalSolutionRecord(_Record):
    description: str = ""
    tradeoffs: list[str] = Field(default_factory=list)
    recommendations: list[str] = Field(default_factory=list)
    confidence: int | float | None = None
    synthesizedBy: str | None = None
    unfulfilledMajorRequirements: list[str] | None = None
    openQuestions: list[str] | None = None
    # Additions of this tool, present when the judge gave any (rulings: debates with a ledger).
    remainingRisks: list[str] | None = None
    rulings: list[RulingRecord] | None = None  # on the contested ledger items
    options: list[OptionRecord] | None = None  # each panelist's design


class ClarificationItemRecord(_Record):
    id: str
    question: str
    answer: str = "NA"


class ClarificationGroupRecord(_Record):
    agentId: str
    agentName: str = ""
    role: str = ""
    items: list[ClarificationItemRecord] = Field(default_factory=list)


class SteeringRecord(_Record):
    """A note the user added after a round (``--steer``); agents and judge saw it from the next."""

    afterRound: int
    note: str
    timestamp: str | None = None


class ConsensusRecord(_Record):
    round: int
    score: float
    reason: str = ""


class FailureRecord(_Record):
    agentId: str
    phase: str
    round: int
    error: str
    timestamp: str | None = None
    recovered: bool = False
    # Whether retrying later may help (an outage) or not (a rejected key, an invalid reply).
    transient: bool | None = None


class LedgerEventRecord(_Record):
    """What was said about a ledger item after it was raised: the author's response or the
    critic's verdict."""

    round: int
    kind: str  # "response" or "verdict"
    by: str
    answer: str  # response: accepted, rebutted, deferred; verdict: close, reopen
    text: str = ""  # the response's note, the verdict's argument
    sections: list[str] = Field(default_factory=list)  # response: the sections it changed


class LedgerItemRecord(_Record):
    id: str
    title: str = ""
    severity: str = ""
    perspective: str = ""
    evidence: str = ""
    suggestion: str = ""
    raisedBy: str = ""
    target: str = ""
    round: int = 0
    status: str = "open"  # open, accepted, rebutted, deferred, closed, reopened
    history: list[LedgerEventRecord] = Field(default_factory=list)


class PositionChangeRecord(_Record):
    """An agent's position-change signals (see ``dialectic.debate.ledger.Signals``)."""

    raised: int = 0
    accepted: int = 0
    rebutted: int = 0
    deferred: int = 0
    reopened: int = 0
    closed: int = 0
    concessionsWithoutNewArgument: int = 0


class DebateRecord(_Record):
    id: str
    problem: str
    context: str | None = None
    status: str = "completed"
    currentRound: int = 0
    rounds: list[RoundRecord] = Field(default_factory=list)
    finalSolution: FinalSolutionRecord | None = None
    judgeSummary: SummaryRecord | None = None
    createdAt: str | None = None
    updatedAt: str | None = None
    promptSources: dict[str, Any] | None = None
    clarifications: list[ClarificationGroupRecord] | None = None
    clarificationIterations: int | None = None
    userFeedback: Any = None
    # While the debate waits for a person's input (the TypeScript tool's fields).
    suspendedAtNode: str | None = None
    suspendedAt: str | None = None
    # Additions of this tool (new keys only).
    usage: dict[str, Any] | None = None
    consensus: list[ConsensusRecord] | None = None
    failures: list[FailureRecord] | None = None
    stopReason: str | None = None
    steering: list[SteeringRecord] | None = None
    agents: list[dict[str, Any]] | None = None
    judge: dict[str, Any] | None = None
    maxRounds: int | None = None
    parentId: str | None = None
    # Per extension name: {"after", "callable"?, "runs": [{"round", "data"?, "notes"?, …}], "report"?}
    extensions: dict[str, Any] | None = None
    # The issue ledger, items in id order, and each agent's position-change signals.
    ledger: list[LedgerItemRecord] | None = None
    positionChanges: dict[str, PositionChangeRecord] | None = None

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)
