"""The evaluation graph's state, its value types and its run context.

One task per evaluator × run (× order, when comparing two debates); each branch adds one
outcome through the ``operator.add`` reducer, in send order.
"""

from __future__ import annotations

import operator
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Literal, TypedDict

from pydantic import BaseModel, ConfigDict, JsonValue

from dialectic.configs.schema import AgentConfig
from dialectic.debate.state import CallUsage
from dialectic.providers.concurrency import ConcurrencyGate

if TYPE_CHECKING:  # LangChain loads slowly: bad inputs are reported before it is needed
    from langchain_core.language_models import BaseChatModel

Order = Literal["AB", "BA"]  # pairwise: which debate's solution is shown first


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True)


class EvaluationTask(_Value):
    evaluator_id: str
    run: int  # 1-based repeat
    order: Order | None = None


class EvaluationOutcome(_Value):
    evaluator_id: str
    run: int
    order: Order | None = None
    reply: dict[str, JsonValue] | None = None  # the JSON object of the reply, when it had one
    text: str = ""
    error: str | None = None
    usage: CallUsage | None = None


class EvaluationState(TypedDict, total=False):
    tasks: list[EvaluationTask]
    outcomes: Annotated[list[EvaluationOutcome], operator.add]


@dataclass(frozen=True)
class Prompt:
    system: str
    user: str


@dataclass
class EvaluationContext:
    members: dict[str, AgentConfig]
    prompts: dict[tuple[str, Order | None], Prompt]  # (evaluator id, order) -> rendered prompt
    gate: ConcurrencyGate | None = None  # admits the evaluators' calls (see DebateContext.gate)
    _models: dict[str, BaseChatModel] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def prompt(self, task: EvaluationTask) -> Prompt:
        return self.prompts[(task.evaluator_id, task.order)]

    def model(self, evaluator_id: str) -> BaseChatModel:
        with self._lock:
            if evaluator_id not in self._models:
                from dialectic.providers.factory import build_chat_model

                self._models[evaluator_id] = build_chat_model(self.members[evaluator_id])
            return self._models[evaluator_id]
