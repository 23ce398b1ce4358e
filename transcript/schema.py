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


class RoundRecord(_Record):
    roundNumber: int
    timestamp: str | None = None
    contributions: list[ContributionRecord] = Field(default_factory=list)
    summaries: dict[str, SummaryRecord] | None = None


class FinalSolutionRecord(_Record):
    description: str = ""
    tradeoffs: list[str] = Field(default_factory=list)
    recommendations: list[str] = Field(default_factory=list)
    confidence: int | float | None = None
    synthesizedBy: str | None = None
    unfulfilledMajorRequirements: list[str] | None = None
    openQuestions: list[str] | None = None


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

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)
