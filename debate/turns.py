"""Agents' calls that use tools, as pure functions of the state: where each call's model <-> tools
loop stands.

A round phase's call with tools takes turns: the model answers with tool calls (a ``ToolStep``
is recorded), the tools run (the step is recorded again, answered), the model goes on with their
results, until it answers without tools or its ``toolCallLimit`` of turns is spent (then it is
asked once more, without tools). Every turn and every tool run is a graph step of its own, so a
debate stopped inside a loop resumes inside it: finished turns and tool results are kept.
"""

from __future__ import annotations

from collections.abc import Sequence

from dialectic.debate.phases import WRITER
from dialectic.debate.state import AgentTask, DebateState, Failure, ToolStep

CallKey = tuple[str, str, str | None, int]


def steps_of(state: DebateState, key: CallKey) -> list[ToolStep]:
    """A call's turns so far, in order, each as last recorded (answered once its tools ran)."""
    latest: dict[int, ToolStep] = {}
    for step in state.get("tool_steps", []):
        if step.call_key == key:
            latest[step.turn] = step
    return [latest[turn] for turn in sorted(latest)]


def progressed(state: DebateState, failure: Failure) -> bool:
    """Whether a failed call has taken a turn since it failed (a retry got further)."""
    if failure.task is None:
        return False
    return len(steps_of(state, failure.task.call_key)) > len(failure.task.turns)


def continued(task: AgentTask, steps: Sequence[ToolStep]) -> AgentTask:
    """The call's payload with its turns so far."""
    return task.model_copy(update={"turns": tuple(steps)})


def looping(
    tasks: Sequence[AgentTask], state: DebateState, failures: Sequence[Failure]
) -> tuple[list[AgentTask], list[AgentTask]]:
    """Of these calls, those whose loop goes on: (calls whose tools are to run, calls whose model
    is to go on with the answers). A call that is done, or whose last turn failed, is not."""
    failed = {f.task.call_key: f for f in failures if f.task is not None}
    done = _done_keys(state)
    run_tools: list[AgentTask] = []
    go_on: list[AgentTask] = []
    for task in tasks:
        key = task.call_key
        steps = steps_of(state, key)
        if not steps or key in done:
            continue
        failure = failed.get(key)
        if failure is not None and failure.task is not None and len(failure.task.turns) >= len(steps):
            continue  # its latest turn failed: the failure is settled at the join
        (go_on if steps[-1].answered else run_tools).append(continued(task, steps))
    return run_tools, go_on


def _done_keys(state: DebateState) -> set[CallKey]:
    """Calls that ended with their contribution (their loop is over)."""
    keys: set[CallKey] = set()
    for c in state.get("contributions", []):
        writer = WRITER.get(c.type)
        if writer is not None and not c.carried:
            keys.add((writer.node, c.agent_id, c.target_agent_id, c.round))
    return keys
