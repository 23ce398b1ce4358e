"""The phases of a debate, in one table.

Each row says what a phase's LLM calls are: the node that makes them (``dialectic.nodes.<name>``),
the prompt template they fill, the contribution they write, how they fan out, what material
their tasks carry, the join that waits for them, and how the user sees them. The graph builder,
the routers, the joins, the progress display, the budget projection, the prompt checks and the
offline model read this table, so a phase is added here, not in a dozen places.

A round runs ``ROUND`` in order (``propose`` only in round 1: later rounds carry each agent's
last refinement over as its proposal). Summaries run beside the refinements; the convergence
check, the judge's summary and the synthesis come after a round and are wired by the builder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# How the calls of a phase fan out:
#   each   one call per agent
#   peers  one call per agent and peer (one per agent covering every peer when
#          debate.critiqueMode is "batched")
#   judge  one call by the judge, made by a node that reads the state (no Send)
Fanout = Literal["each", "peers", "judge"]
# What a phase's tasks carry besides the problem, the clarifications, the notes and the agent's
# own history (which never repeats what the material holds):
#   none                    nothing more
#   peer_proposal           the proposal under critique (all peers' proposals when batched)
#   proposal_and_critiques  the agent's own proposal and the critiques it received
#   history                 the history to summarize (the summary nodes build it themselves)
Material = Literal["none", "peer_proposal", "proposal_and_critiques", "history"]


@dataclass(frozen=True)
class Phase:
    name: str  # names the phase in events, usage records and failures
    node: str  # the node that makes its calls: ``dialectic.nodes.<node>``
    label: str  # plural, for progress lines and the report ("critiques")
    template: str  # prompt template: prompts/<role>/<template>.md (judge/ for the judge)
    speaks_as: str  # what kind of text the offline model writes for it
    fanout: Fanout
    join: str  # the node that waits for every call of the phase, then routes on
    writes: str | None = None  # the contribution type its calls write (the debate JSON's ``type``)
    order: int = 0  # position in a round of what it writes: history is "everything before"
    material: Material = "none"
    first_round_only: bool = False
    quorum: bool = False  # failed calls count against debate.minAgents
    required: bool = False  # the debate cannot end without it: any failure pauses
    optional: bool = False  # the debate goes on without its failed calls, whatever the failure
    # The prompt file (prompts/<role>/<block>.md) that asks its calls to end with a JSON block
    # for the issue ledger (dialectic.debate.ledger): findings and verdicts, or responses.
    block: str | None = None


PROPOSE = Phase(
    name="propose",
    node="propose",
    label="proposals",
    template="propose",
    speaks_as="proposal",
    fanout="each",
    join="proposals_done",
    writes="proposal",
    order=0,
    first_round_only=True,
    quorum=True,
)
CRITIQUE = Phase(
    name="critique",
    node="critique",
    label="critiques",
    template="critique",
    speaks_as="critique",
    fanout="peers",
    join="critiques_done",
    writes="critique",
    order=1,
    material="peer_proposal",
    quorum=True,
    block="findings",
)
REFINE = Phase(
    name="refine",
    node="refine",
    label="refinements",
    template="refine",
    speaks_as="refinement",
    fanout="each",
    join="round_done",
    writes="refinement",
    order=2,
    material="proposal_and_critiques",
    quorum=True,
    block="responses",
)
SUMMARIZE = Phase(
    name="summarize",
    node="summarize",
    label="summaries",
    template="summarize",
    speaks_as="summary",
    fanout="each",
    join="round_done",
    material="history",
)
JUDGE_SUMMARY = Phase(
    name="judge_summary",
    node="summarize",
    label="judge summary",
    template="summarize",
    speaks_as="summary",
    fanout="judge",
    join="round_done",
    material="history",
)
CONVERGENCE = Phase(
    name="convergence",
    node="convergence",
    label="convergence check",
    template="convergence",
    speaks_as="convergence",
    fanout="judge",
    join="round_done",
)
SYNTHESIZE = Phase(
    name="synthesize",
    node="judge",
    label="synthesis",
    template="synthesize",
    speaks_as="synthesis",
    fanout="judge",
    join="round_done",
    required=True,
)
CLARIFY = Phase(
    name="clarify",
    node="clarify",
    label="clarifying questions",
    template="clarify",
    speaks_as="questions",
    fanout="each",
    join="ask_user",
    optional=True,
)

# The phases of a round that write contributions, in order.
ROUND: tuple[Phase, ...] = (PROPOSE, CRITIQUE, REFINE)
PHASES: dict[str, Phase] = {
    phase.name: phase
    for phase in (PROPOSE, CRITIQUE, REFINE, SUMMARIZE, JUDGE_SUMMARY, CONVERGENCE, SYNTHESIZE, CLARIFY)
}
# The phases whose calls run beside a round phase's, in the same step: the summaries for the
# next round beside the refinements (and, in the last round, the judge's summary of the debate).
BESIDE: dict[str, tuple[Phase, ...]] = {REFINE.name: (SUMMARIZE, JUDGE_SUMMARY)}
# The contribution types, in round order, and the phase that writes each.
WRITER: dict[str, Phase] = {phase.writes: phase for phase in ROUND if phase.writes}
# Phases whose failures a join settles (the join's own phase and those that run beside it).
SETTLED_AT: dict[str, tuple[Phase, ...]] = {
    join: tuple(phase for phase in PHASES.values() if phase.join == join)
    for join in dict.fromkeys(phase.join for phase in PHASES.values())
}


def phase(name: str) -> Phase:
    return PHASES[name]


def position(contribution_type: str) -> int:
    """Where a contribution of this type stands within its round."""
    return WRITER[contribution_type].order


def next_in_round(current: Phase) -> Phase | None:
    """The round phase after ``current``; None after the last."""
    index = ROUND.index(current)
    return ROUND[index + 1] if index + 1 < len(ROUND) else None


def of_call(node: str, agent_id: str, judge_id: str) -> Phase:
    """The phase of a call a node made (the summary node makes the judge's summary too)."""
    if node == JUDGE_SUMMARY.node and agent_id == judge_id:
        return JUDGE_SUMMARY
    return next(phase for phase in PHASES.values() if phase.node == node)


def expected_calls(phase: Phase, agents: int, *, batched: bool) -> int:
    """How many calls a phase makes with this many agents taking part (for budgets)."""
    if phase.fanout == "judge":
        return 1
    if phase.fanout == "peers":
        return 0 if agents < 2 else agents if batched else agents * (agents - 1)
    return agents


def label(name: str) -> str:
    """The progress label of a phase (an unknown name, an extension's say, as it is)."""
    found = PHASES.get(name)
    return found.label if found else name
