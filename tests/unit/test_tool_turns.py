"""Where a call's model <-> tools loop stands (debate/turns.py), how the offline model uses tools
(providers/offline_tools.py), and how tool calls are written to the debate JSON."""

from __future__ import annotations

import json

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from dialectic.debate import failures, turns
from dialectic.debate.state import AgentTask, Contribution, Failure, ToolCallRecord, ToolStep
from dialectic.providers import offline_tools
from dialectic.transcript.export import contribution_record

TASK = AgentTask(kind="critique", agent_id="a", target_agent_id="b", round=1, problem="p")


def step(turn: int, *, answered: bool, task: AgentTask = TASK) -> ToolStep:
    call = ToolCallRecord(id=f"c{turn}", name="file_read", arguments=json.dumps({"path": f"f{turn}.py"}))
    return ToolStep(
        kind=task.kind,
        agent_id=task.agent_id,
        target_agent_id=task.target_agent_id,
        round=task.round,
        turn=turn,
        calls=(call.model_copy(update={"result": "ok"}) if answered else call,),
        answered=answered,
    )


def critique(task: AgentTask = TASK) -> Contribution:
    return Contribution(
        round=task.round,
        agent_id=task.agent_id,
        agent_role="architect",
        type="critique",
        content="done",
        target_agent_id=task.target_agent_id,
        model="m",
        timestamp="t",
    )


def failure(task: AgentTask) -> Failure:
    return Failure(
        agent_id="a", phase="critique", round=1, error="503", timestamp="t", task=task, transient=True
    )


def test_a_call_that_never_called_tools_is_not_looping() -> None:
    assert turns.looping([TASK], {"tool_steps": []}, []) == ([], [])


def test_an_unanswered_turn_runs_its_tools_and_an_answered_one_goes_back_to_the_model() -> None:
    first = step(1, answered=True)
    pending = {"tool_steps": [step(1, answered=False), first, step(2, answered=False)]}
    run_tools, go_on = turns.looping([TASK], pending, [])
    assert go_on == [] and [t.turns for t in run_tools] == [(first, step(2, answered=False))]
    answered = {"tool_steps": [*pending["tool_steps"], step(2, answered=True)]}
    run_tools, go_on = turns.looping([TASK], answered, [])
    assert run_tools == [] and [len(t.turns) for t in go_on] == [2]
    assert turns.steps_of(answered, TASK.call_key) == [first, step(2, answered=True)]


def test_a_call_with_its_contribution_is_done() -> None:
    state = {"tool_steps": [step(1, answered=True)], "contributions": [critique()]}
    assert turns.looping([TASK], state, []) == ([], [])


def test_a_failed_turn_stops_the_loop_until_a_retry_gets_further() -> None:
    midway = TASK.model_copy(update={"turns": (step(1, answered=True),)})
    state = {"tool_steps": [step(1, answered=True)], "failures": [failure(midway)]}
    assert turns.looping([TASK], state, state["failures"]) == ([], [])  # settled at the join instead
    assert not failures.resolved(state, state["failures"][0])
    further = {**state, "tool_steps": [*state["tool_steps"], step(2, answered=False)]}
    assert turns.progressed(further, state["failures"][0])
    assert failures.resolved(further, state["failures"][0])  # the retry took a turn past the failure
    run_tools, _ = turns.looping([TASK], further, state["failures"])
    assert len(run_tools) == 1


def test_calls_are_told_apart_by_node_agent_target_and_round() -> None:
    other = TASK.model_copy(update={"target_agent_id": "c"})
    state = {"tool_steps": [step(1, answered=True, task=other)]}
    assert turns.looping([TASK], state, []) == ([], [])
    assert len(turns.looping([other], state, [])[1]) == 1


# --- the offline model ------------------------------------------------------------------------

PROBLEM = "Design a job scheduler. Jobs must never run twice."


def listing(*entries: tuple[str, str]) -> str:
    return json.dumps(
        {"status": "success", "result": {"entries": [{"path": p, "type": t} for p, t in entries], "more": 0}}
    )


def turn(call_id: str, name: str, args: dict[str, str], answer: str) -> list[object]:
    return [
        AIMessage(content="", tool_calls=[{"id": call_id, "name": name, "args": args}]),
        ToolMessage(content=answer, tool_call_id=call_id),
    ]


def test_the_offline_model_lists_then_reads_the_most_relevant_files_then_answers() -> None:
    names = ["list_files", "file_read", "context_search"]
    start = [HumanMessage(content=f"## Problem\n\n{PROBLEM}\n")]
    assert offline_tools.next_calls(names, start, PROBLEM) == [("list_files", {"path": "."})]
    listed = [
        *start,
        *turn(
            "1",
            "list_files",
            {"path": "."},
            listing(("notes.txt", "file"), ("scheduler.md", "file"), ("src", "directory")),
        ),
    ]
    second = offline_tools.next_calls(names, listed, PROBLEM)
    # the file that shares a word with the problem first
    assert second[0] == ("file_read", {"path": "scheduler.md", "end_line": offline_tools.READ_LINES})
    assert ("list_files", {"path": "src"}) in second
    read = {
        "status": "success",
        "result": {"path": "scheduler.md", "content": "intro\nA job runs twice if a lease expires.\n"},
    }
    done = [*listed, *turn("2", "file_read", {"path": "scheduler.md"}, json.dumps(read))]
    assert offline_tools.findings(done).read == {"scheduler.md": read["result"]["content"]}
    evidence = offline_tools.evidence(done, PROBLEM)
    assert "`scheduler.md` line 2: “A job runs twice if a lease expires.”" in evidence
    later = [*done, *turn("3", "file_read", {"path": "notes.txt"}, json.dumps(read))]
    assert offline_tools.next_calls(names, later, PROBLEM) == []  # three turns are enough


def test_the_offline_model_searches_when_it_cannot_list() -> None:
    start = [HumanMessage(content=f"## Problem\n\n{PROBLEM}\n")]
    assert offline_tools.next_calls(["context_search"], start, PROBLEM) == [
        ("context_search", {"term": "scheduler"})
    ]


# --- the debate JSON --------------------------------------------------------------------------


def test_tool_calls_are_written_in_the_typescript_tools_shapes() -> None:
    call = ToolCallRecord(
        id="call_1", name="file_read", arguments='{"path": "a.py"}', result='{"status": "success"}'
    )
    record = contribution_record(critique().model_copy(update={"tool_calls": (call,), "tool_turns": 1}))
    metadata = record.model_dump(exclude_none=True)["metadata"]
    assert metadata["toolCalls"] == [{"id": "call_1", "name": "file_read", "arguments": '{"path": "a.py"}'}]
    assert metadata["toolResults"] == [
        {"tool_call_id": "call_1", "role": "tool", "content": '{"status": "success"}'}
    ]
    assert metadata["toolCallIterations"] == 1
    plain = contribution_record(critique()).model_dump(exclude_none=True)["metadata"]
    assert "toolCalls" not in plain and "toolCallIterations" not in plain


def test_a_typescript_debate_file_with_tool_metadata_loads_and_reports_the_files_read(isolated) -> None:
    from dialectic.report.markdown import render_report
    from dialectic.transcript.files import read_record

    call = {"id": "call_9", "name": "file_read", "arguments": '{"path": "src/app.ts"}'}
    refused = {"id": "call_10", "name": "file_read", "arguments": '{"path": ".env"}'}
    document = {
        "id": "deb-ts",
        "problem": "Design X.",
        "status": "completed",
        "currentRound": 1,
        "rounds": [
            {
                "roundNumber": 1,
                "timestamp": "2025-01-01T00:00:00.000Z",
                "contributions": [
                    {
                        "agentId": "agent-architect",
                        "agentRole": "architect",
                        "type": "proposal",
                        "content": "A design.",
                        "metadata": {
                            "latencyMs": 10,
                            "model": "m",
                            "tokensUsed": 5,
                            "toolCalls": [call, refused],
                            "toolResults": [
                                {
                                    "tool_call_id": "call_9",
                                    "role": "tool",
                                    "content": '{"status":"success","result":{}}',
                                },
                                {
                                    "tool_call_id": "call_10",
                                    "role": "tool",
                                    "content": '{"status":"error","error":"no"}',
                                },
                            ],
                            "toolCallIterations": 1,
                        },
                    }
                ],
            }
        ],
        "createdAt": "2025-01-01T00:00:00.000Z",
        "updatedAt": "2025-01-01T00:00:00.000Z",
    }
    path = isolated / "ts.json"
    path.write_text(json.dumps(document))
    record = read_record(path)
    assert record.rounds[0].contributions[0].metadata.toolCallIterations == 1
    assert "Files read: `src/app.ts`\n" in render_report(record)
