"""What a paused debate waits for: the typed payloads of its ``interrupt()`` calls.

A node pauses with ``pause(SomePause(...))``; the checkpoint keeps the payload as a plain JSON
object (what LangGraph Server clients receive too, and what debates saved before these types
hold), and ``read_pause`` turns it back into its type. Every question about a pause — does it
need a person's input, what status and exit code does it mean, how does the user go on — is
answered by its class, not by comparing ``kind`` strings.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Annotated, Any, ClassVar, Literal

from langgraph.types import Interrupt, interrupt
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from dialectic.debate.clarifications import PendingQuestion
from dialectic.errors import ExitCode


class _Pause(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    needs_input: ClassVar[bool] = False  # resumed by a person's input, not just by continuing
    # Where a debate waiting for a person's input stands (the debate JSON's ``suspendedAtNode``).
    suspended_at_node: ClassVar[str | None] = None
    status: ClassVar[str] = "waiting_for_input"
    exit_code: ClassVar[ExitCode] = ExitCode.PAUSED

    def how_to_continue(self, debate_id: str) -> str:
        return f"`dialectic resume {debate_id}`"

    def describe(self, debate_id: str) -> str:
        """One line for the user: what the debate waits for."""
        kind = getattr(self, "kind", "input")
        return f"waiting for input ({kind}): {self.how_to_continue(debate_id)}"


class ProviderPause(_Pause):
    """Calls of a phase failed after their retries and the debate cannot go on whole: a provider
    outage (transient failures), too few agents left (``minAgents``), or a call the debate cannot
    do without (the synthesis). Resuming retries exactly the failed calls."""

    kind: Literal["provider_failure"] = "provider_failure"
    phase: str
    round: int
    reason: Literal["outage", "quorum", "required"] = "quorum"  # debates saved before it had quorum only
    needed: int = 0
    taking_part: list[str] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)

    status: ClassVar[str] = "failed"
    exit_code: ClassVar[ExitCode] = ExitCode.PROVIDER

    def describe(self, debate_id: str) -> str:
        first = self.errors[0] if self.errors else "provider failure"
        if self.reason == "quorum":
            return (
                f"too few agents left in {self.phase} of round {self.round} "
                f"({len(self.taking_part)} of the {self.needed} needed): {first}"
            )
        calls = f"{len(self.errors)} call{'s' if len(self.errors) != 1 else ''}"
        return f"{calls} of {self.phase} in round {self.round} failed after retries: {first}"

    def how_to_continue(self, debate_id: str) -> str:
        return f"when the provider is back, `dialectic resume {debate_id}` retries the failed calls"


class BudgetPause(_Pause):
    """The next phase would cross the token or cost budget."""

    kind: Literal["budget"] = "budget"
    phase: str
    round: int
    calls: int
    spent_tokens: int
    projected_tokens: int
    max_tokens: int | None = None
    spent_usd: float | None = None
    projected_usd: float | None = None
    max_usd: float | None = None

    status: ClassVar[str] = "paused"

    def describe(self, debate_id: str) -> str:
        spent = f"{self.spent_tokens:,} tokens" + (
            f" (${self.spent_usd:.4f})" if self.spent_usd is not None else ""
        )
        projected = f"{self.projected_tokens:,} tokens" + (
            f" (${self.projected_usd:.4f})" if self.projected_usd is not None else ""
        )
        limits = [
            f"--max-tokens {self.max_tokens}" if self.max_tokens else "",
            f"--max-cost {self.max_usd}" if self.max_usd else "",
        ]
        return (
            f"budget reached: {spent} spent; the next phase ({self.phase}, {self.calls} calls) would bring "
            f"it to about {projected}, over {' and '.join(x for x in limits if x)}"
        )

    def how_to_continue(self, debate_id: str) -> str:
        return f"`{self.resume_command(debate_id)}`"

    def resume_command(self, debate_id: str) -> str:
        """The command that continues with a budget covering the next phase, with room to spare."""
        command = f"dialectic resume {debate_id}"
        if self.max_tokens and self.projected_tokens > self.max_tokens:
            command += f" --max-tokens {_round_up(self.projected_tokens * 1.5)}"
        if self.max_usd and (self.projected_usd or 0) > self.max_usd:
            command += f" --max-cost {_cost_up((self.projected_usd or 0) * 1.5)}"
        return command


class ClarificationPause(_Pause):
    """The agents' clarifying questions wait for the user's answers."""

    kind: Literal["clarification"] = "clarification"
    iteration: int
    maxIterations: int
    questions: list[PendingQuestion] = Field(default_factory=list)

    needs_input: ClassVar[bool] = True
    suspended_at_node: ClassVar[str] = "clarification_input"  # the TypeScript tool's name of this wait

    def how_to_continue(self, debate_id: str) -> str:
        return (
            f"see the questions with `dialectic show {debate_id} --json`, then answer them with "
            f'`dialectic resume {debate_id} --answers FILE` (FILE: a JSON object like {{"q1": "your answer"}}; '
            "a question left out is answered NA)"
        )


class SteeringPause(_Pause):
    """After a round, the user may add a note for the agents and the judge."""

    kind: Literal["steering"] = "steering"
    round: int
    rounds: int

    needs_input: ClassVar[bool] = True
    suspended_at_node: ClassVar[str] = "steer"

    def how_to_continue(self, debate_id: str) -> str:
        return (
            f'add a note with `dialectic resume {debate_id} --note "…"` (or --note-file FILE), '
            f"or continue without one: `dialectic resume {debate_id}`"
        )


Pause = Annotated[
    ProviderPause | BudgetPause | ClarificationPause | SteeringPause, Field(discriminator="kind")
]
_PAUSE: TypeAdapter[Pause] = TypeAdapter(Pause)
# The order in which a debate waiting at several pauses reports them (the most pressing first).
_URGENCY: tuple[type[_Pause], ...] = (ProviderPause, BudgetPause, ClarificationPause, SteeringPause)


def pause(payload: _Pause) -> Any:
    """Pause the debate here (LangGraph ``interrupt``); returns the value it is resumed with."""
    return interrupt(payload.model_dump(mode="json"))


def read_pause(value: object) -> Pause | None:
    """The typed pause an interrupt's value holds (None: not one of ours)."""
    try:
        return _PAUSE.validate_python(value)
    except ValidationError:
        return None


def read_pauses(interrupts: Iterable[Interrupt]) -> list[Pause]:
    """The typed pauses among a snapshot's interrupts."""
    return [found for item in interrupts if (found := read_pause(item.value)) is not None]


def by_urgency(pauses: list[Pause]) -> list[Pause]:
    return sorted(pauses, key=lambda p: _URGENCY.index(type(p)))


def _cost_up(value: float) -> str:
    """At least ``value`` dollars, to two significant digits: 0.00315 -> 0.0032, 1.8 -> 1.8."""
    if value <= 0:
        return "0.01"
    exponent = math.floor(math.log10(value)) - 1
    step = 10.0**exponent
    return f"{math.ceil(value / step - 1e-9) * step:.{max(0, -exponent)}f}"


def _round_up(value: float) -> int:
    step = 10 ** max(0, len(str(int(value))) - 2)
    return int(-(-value // step) * step)
