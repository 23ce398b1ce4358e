"""Where the debate state's value types lived before they moved to ``dialectic.debate.state``.

Checkpoints record the module path of every value they hold, so debates saved before the move
name this module; it stays so that they still resume and show. New code imports
``dialectic.debate.state``.
"""

from dialectic.debate.state import (
    AgentClarifications,
    AgentQuestions,
    AgentTask,
    CallUsage,
    ClarificationItem,
    ClarifyTask,
    ConsensusScore,
    Contribution,
    ExtensionRun,
    Failure,
    FinalSolution,
    SteeringNote,
    Summary,
    ToolCallRecord,
)

__all__ = [
    "AgentClarifications",
    "AgentQuestions",
    "AgentTask",
    "CallUsage",
    "ClarificationItem",
    "ClarifyTask",
    "ConsensusScore",
    "Contribution",
    "ExtensionRun",
    "Failure",
    "FinalSolution",
    "SteeringNote",
    "Summary",
    "ToolCallRecord",
]
