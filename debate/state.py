"""The debate graph's state and the value types inside it.

This module path is recorded in checkpoints: keep it stable. Values are pydantic models so
they round-trip through the checkpointer as themselves, not as dicts. Everything parallel
branches write goes through an appending reducer; LangGraph applies the writes of one step in
send order, so transcripts are reproducible.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from langgraph.channels.delta import DeltaChannel
from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict  # pydantic (LangGraph Server's schemas) needs this one before 3.12

from dialectic.debate.phases import position

# A contribution's type: what a round phase writes ("proposal", "critique", "refinement"; see
# ``dialectic.debate.phases``).
ContributionType = str


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True)


class ToolCallRecord(_Value):
    """One tool call a model made, and what the tool answered (the JSON text the model read)."""

    id: str
    name: str
    arguments: str  # the call's arguments as JSON text
    result: str = ""  # empty until the tool has run


class ToolStep(_Value):
    """One model turn of an agent's call that asked for tools (round phases only), and, once
    the tools ran, their answers. The joins read these to run each call's model <-> tools loop
    one checkpointed step at a time; a call's payload carries its answered steps."""

    kind: str  # the call's identity: its node, agent, target and round (as in AgentTask)
    agent_id: str
    target_agent_id: str | None = None
    round: int
    turn: int  # 1, 2, ... within the call
    text: str = ""  # what the model said beside its calls
    calls: tuple[ToolCallRecord, ...] = ()
    answered: bool = False
    tokens: int = 0  # the turn's tokens in and out
    latency_ms: int = 0

    @property
    def call_key(self) -> tuple[str, str, str | None, int]:
        return (self.kind, self.agent_id, self.target_agent_id, self.round)


class Contribution(_Value):
    round: int
    agent_id: str
    agent_role: str
    type: ContributionType
    content: str
    target_agent_id: str | None = None
    model: str
    latency_ms: int = 0
    tokens_used: int = 0
    tool_calls: tuple[ToolCallRecord, ...] = ()  # every tool call of the call, results truncated
    tool_turns: int = 0  # model turns that called tools (the JSON's toolCallIterations)
    timestamp: str
    carried: bool = False  # a round >= 2 proposal copied from the previous refinement

    @property
    def position(self) -> tuple[int, int]:
        return (self.round, position(self.type))


class Summary(_Value):
    """An agent's (or the judge's) summary of its history, used from ``for_round`` on."""

    agent_id: str
    agent_role: str
    for_round: int
    covers_through: tuple[int, int]  # (round, phase order) of the newest material summarized
    text: str
    before_chars: int
    after_chars: int
    method: str = "length-based"
    part: int = 1  # material larger than one prompt holds is summarised in parts (1, 2, ...)
    parts: int = 1  # of how many: a summary is in force only with all its parts
    model: str
    latency_ms: int = 0
    tokens_used: int = 0
    timestamp: str


class CallUsage(_Value):
    """Tokens and latency of one LLM call (summaries, convergence and judge included)."""

    agent_id: str
    phase: str
    round: int
    model: str
    provider: str
    input_tokens: int
    output_tokens: int
    latency_ms: int
    # Of input_tokens, those the provider served from its prompt cache (billed at its cache
    # rate). Not ``cached``: that is a whole reply replayed from our own response cache.
    cached_input_tokens: int = 0
    cache_write_input_tokens: int = 0  # of input_tokens, written to that cache (billed above the input rate)
    cached: bool = False
    attempts: int = 1
    cost_usd: float | None = None  # None: the model's price is unknown


class Failure(_Value):
    """A call that failed after retries; ``task`` lets a resumed run retry exactly it."""

    agent_id: str
    phase: str
    round: int
    error: str
    timestamp: str
    task: AgentTask | None = None
    # Whether retrying later may help (an outage, a timeout, a rate limit) or not (a rejected key,
    # an unknown model, a reply still invalid after the repair attempt). None: not a provider
    # failure (an extension), or recorded before the difference was kept.
    transient: bool | None = None


class LedgerEntry(_Value):
    """What an agent said about the issue ledger in one call (see ``dialectic.debate.ledger``):
    a finding its critique raised, a critic's verdict on the answer to one of its items, or an
    author's response to an item against its design."""

    kind: str  # "raised", "verdict" or "response"
    round: int
    agent_id: str  # the critic (raised, verdict) or the author (response)
    target_agent_id: str | None = None  # the design the item is about
    index: int = 0  # position in the reply
    item_id: str | None = None  # verdict, response: the item ("I3")
    title: str = ""
    severity: str = ""
    perspective: str = ""  # the critic's role
    evidence: str = ""
    suggestion: str = ""
    answer: str = ""  # response: accepted, rebutted, deferred; verdict: close, reopen
    text: str = ""  # the response's note, the verdict's argument
    sections: tuple[str, ...] = ()  # response: the design's sections it changed


class ConsensusScore(_Value):
    round: int
    score: float = Field(ge=0, le=100)
    reason: str


class Ruling(_Value):
    id: str
    ruling: str  # "upheld" (the critic was right) or "dismissed"
    reason: str = ""


class OptionVerdict(_Value):
    agent_id: str
    verdict: str  # "adopted", "partly adopted" or "rejected"
    reason: str = ""


class FinalSolution(_Value):
    description: str
    solution_markdown: str
    tradeoffs: tuple[str, ...] = ()
    recommendations: tuple[str, ...] = ()
    unfulfilled_major_requirements: tuple[str, ...] = ()
    open_questions: tuple[str, ...] = ()
    remaining_risks: tuple[str, ...] = ()
    rulings: tuple[Ruling, ...] = ()  # the judge's decisions on contested ledger items
    options: tuple[OptionVerdict, ...] = ()  # each panelist's design: adopted, in part, or not
    confidence: float
    synthesized_by: str


class ClarificationItem(_Value):
    id: str
    question: str
    answer: str = "NA"


class AgentClarifications(_Value):
    agent_id: str
    agent_name: str
    role: str
    items: tuple[ClarificationItem, ...] = ()


class AgentQuestions(_Value):
    """What one agent asked in one batch of the clarification phase (before numbering)."""

    agent_id: str
    iteration: int
    questions: tuple[str, ...] = ()


class ClarifyTask(_Value):
    """The payload of one clarification ``Send``: the agent, the batch, and the Q&A so far."""

    agent_id: str
    iteration: int
    problem: str
    clarifications: str = ""


class SteeringNote(_Value):
    """A note the user added between rounds; every prompt from the next round on shows it."""

    after_round: int
    text: str
    timestamp: str


class ExtensionRun(_Value):
    """One run of an extension node (see ``dialectic.extensions``): what it returned for later
    phases (notes), for the debate JSON (data, as JSON text) and for the report (Markdown).
    ``None`` means "not given"; a failed run records only that it ran."""

    name: str
    position: str
    round: int
    timestamp: str
    ok: bool = True
    data: str | None = None
    notes: str | None = None
    agent_notes: dict[str, str] | None = None
    report: str | None = None


class AgentTask(_Value):
    """The payload of one ``Send``: which call to make and all the material it needs."""

    kind: str  # the node that makes the call (a phase's ``node``)
    agent_id: str
    round: int
    problem: str
    clarifications: str = ""
    notes: str = ""
    history: str = ""
    target_agent_id: str | None = None
    material: str = ""  # the proposal under critique, the own proposal to refine, or text to summarize
    critiques: str = ""
    previous_summary: str = ""
    ledger: str = ""  # the ledger items the call is to answer or rule on (prompt text)
    covers_through: tuple[int, int] = (0, 0)
    before_chars: int = 0
    part: int = 1  # which part of the material a summary call covers
    parts: int = 1  # of how many parts
    # A call that uses tools: its model <-> tools turns so far (see dialectic.debate.turns).
    turns: tuple[ToolStep, ...] = ()

    @property
    def call_key(self) -> tuple[str, str, str | None, int]:
        return (self.kind, self.agent_id, self.target_agent_id, self.round)


def append(state: Sequence[Any], writes: Sequence[Sequence[Any]]) -> list[Any]:
    """Reducer of the append-only transcript channels, applied to a batch of writes at once."""
    return [*state, *(item for write in writes for item in write)]


# The transcript only grows: a DeltaChannel checkpoints each step's new items rather than the
# whole list again, so the store grows linearly with the debate, not quadratically.
Transcript: DeltaChannel[list[Any]] = DeltaChannel(append)


class DebateState(TypedDict, total=False):
    problem: str
    round: int
    contributions: Annotated[list[Contribution], Transcript]
    summaries: Annotated[list[Summary], Transcript]
    consensus: Annotated[list[ConsensusScore], Transcript]
    usage: Annotated[list[CallUsage], Transcript]
    failures: Annotated[list[Failure], Transcript]
    clarifications: list[AgentClarifications]
    agent_questions: Annotated[list[AgentQuestions], Transcript]
    clarification_iterations: int  # batches of questions put to the user
    steering_notes: Annotated[list[SteeringNote], Transcript]
    extension_runs: Annotated[list[ExtensionRun], Transcript]
    tool_steps: Annotated[list[ToolStep], Transcript]
    ledger: Annotated[list[LedgerEntry], Transcript]
    final_solution: FinalSolution | None
    stop_reason: str | None


Failure.model_rebuild()

# The value types checkpoints may contain (strict msgpack deserialization allows only these).
# (Checkpoints written before the move to this module name ``dialectic.graphs.state``.)
CHECKPOINT_TYPES: list[tuple[str, str]] = [
    (module, model.__name__)
    for module in (__name__, "dialectic.graphs.state")
    for model in (
        ToolCallRecord,
        ToolStep,
        Contribution,
        Summary,
        CallUsage,
        Failure,
        ConsensusScore,
        FinalSolution,
        Ruling,
        OptionVerdict,
        ClarificationItem,
        AgentClarifications,
        AgentQuestions,
        ClarifyTask,
        SteeringNote,
        AgentTask,
        ExtensionRun,
        LedgerEntry,
    )
]
