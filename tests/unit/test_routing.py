"""The debate graph's routers as pure functions of (state, settings, extension points): which calls
and nodes follow each join, and that whatever they return is in the path maps the graph is drawn
from."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from debate_states import AGENTS, JUDGE, PROBLEM, contribution, debate_state, failure, make_settings
from langgraph.types import Send

from dialectic.configs.settings import RunSettings
from dialectic.debate import tasks
from dialectic.debate.phases import CLARIFY, CONVERGENCE, CRITIQUE, PHASES, PROPOSE, REFINE, ROUND, SYNTHESIZE
from dialectic.debate.state import (
    AgentQuestions,
    AgentTask,
    ClarifyTask,
    ConsensusScore,
    ExtensionRun,
    Failure,
    Summary,
)
from dialectic.graphs import routing
from dialectic.graphs.routing import NO_EXTENSIONS, ExtensionPoints, Route

EVERYWHERE = ExtensionPoints(
    {"propose": "x_propose", "critique": "x_critique", "refine": "x_refine", "round": "x_round"}
)
PHASE_NODES = {phase.node for phase in PHASES.values()}


def judge_failure(phase: str, round_number: int, *, transient: bool = True) -> Failure:
    return Failure(
        agent_id=JUDGE, phase=phase, round=round_number, error="timeout", timestamp="t", transient=transient
    )


def with_failed_calls(
    state: dict[str, Any],
    phase: Any,
    settings: RunSettings,
    failed: Iterable[tuple[str, str | None]],
    *,
    transient: bool = True,
) -> tuple[dict[str, Any], list[Failure]]:
    """``state`` after ``phase``'s calls ran, those of ``failed`` (agent, target) failing."""
    failing = set(failed)
    planned = tasks.phase_tasks(phase, state, settings)
    made, lost = [], []
    for task in planned:
        if (task.agent_id, task.target_agent_id) in failing:
            lost.append(failure(task, transient=transient))
        else:
            made.append(contribution(task.round, task.agent_id, phase.writes, task.target_agent_id))
    assert len(lost) == len(failing), "every failed call must be one the phase makes"
    return {**state, "contributions": [*state["contributions"], *made], "failures": lost}, lost


def extension_run(name: str, round_number: int, *, ok: bool = True) -> ExtensionRun:
    return ExtensionRun(name=name, position="any", round=round_number, timestamp="t", ok=ok)


def judge_summary(round_number: int) -> Summary:
    return Summary(
        agent_id=JUDGE,
        agent_role="generalist",
        for_round=round_number + 1,
        covers_through=(round_number, 1),
        text="The debate so far.",
        before_chars=100,
        after_chars=20,
        model="sim",
        timestamp="t",
    )


def destinations(route: Route) -> list[str]:
    return [route] if isinstance(route, str) else [i.node if isinstance(i, Send) else i for i in route]


def sends(route: Route) -> list[Send]:
    assert isinstance(route, list), f"expected Sends, got {route!r}"
    assert all(isinstance(item, Send) for item in route), route
    return [item for item in route if isinstance(item, Send)]


def calls(route: Route) -> list[tuple[str, str, str | None]]:
    """(node, agent, target) of every Send of a route."""
    return [(s.node, s.arg.agent_id, s.arg.target_agent_id) for s in sends(route)]


# --- starting a round ---------------------------------------------------------------------------


def test_round_one_begins_with_one_proposal_per_agent_in_config_order():
    settings = make_settings()
    route = routing.after_begin_round(debate_state(1, 0), settings, NO_EXTENSIONS)
    assert calls(route) == [("propose", a, None) for a in AGENTS]
    assert all(
        isinstance(s.arg, AgentTask) and s.arg.kind == "propose" and s.arg.round == 1 for s in sends(route)
    )


def test_later_rounds_skip_the_proposals_and_begin_with_the_critiques():
    settings = make_settings(rounds=3)
    route = routing.after_begin_round(debate_state(2, 0), settings, NO_EXTENSIONS)
    assert calls(route) == [("critique", a, b) for a in AGENTS for b in AGENTS if a != b]
    assert {s.arg.round for s in sends(route)} == {2}


def test_later_rounds_run_the_after_propose_extensions_before_the_critiques():
    settings = make_settings(rounds=3)
    state = debate_state(2, 0)
    assert routing.after_begin_round(state, settings, EVERYWHERE) == "x_propose"
    state["extension_runs"] = [extension_run("x_propose", 2)]
    assert {node for node, _, _ in calls(routing.after_begin_round(state, settings, EVERYWHERE))} == {
        "critique"
    }


def test_a_lone_agent_skips_the_critiques_to_their_join():
    settings = make_settings(agents=["a"])
    proposed = debate_state(1, 1, ["a"])
    assert routing.after_join(PROPOSE, proposed, settings, NO_EXTENSIONS) == CRITIQUE.join
    assert routing.enter(CRITIQUE, proposed, settings, NO_EXTENSIONS) == CRITIQUE.join
    # ... and refines alone, with no critiques received.
    refine = sends(routing.after_join(CRITIQUE, proposed, settings, NO_EXTENSIONS))
    assert [(s.node, s.arg.agent_id) for s in refine] == [("refine", "a")]
    # (its current design is the newest of its history: the built-in template shows it there)
    assert "Round 1: your current design (your proposal)" in refine[0].arg.history
    assert "proposal 1 by a" in refine[0].arg.history and "critique 1" not in refine[0].arg.critiques
    # In round 2 too, straight from begin_round.
    assert routing.after_begin_round(debate_state(2, 0, ["a"]), settings, NO_EXTENSIONS) == CRITIQUE.join


def test_batched_critiques_make_one_call_per_agent_covering_every_peer():
    settings = make_settings(critiqueMode="batched")
    route = routing.after_join(PROPOSE, debate_state(1, 1), settings, NO_EXTENSIONS)
    assert calls(route) == [("critique", a, None) for a in AGENTS]
    for send in sends(route):
        peers = [p for p in AGENTS if p != send.arg.agent_id]
        assert all(f"proposal 1 by {p}" in send.arg.material for p in peers)
        assert f"proposal 1 by {send.arg.agent_id}" not in send.arg.material


def test_the_refinements_follow_the_critiques_one_per_proposer():
    settings = make_settings()
    route = routing.after_join(CRITIQUE, debate_state(1, 2), settings, NO_EXTENSIONS)
    assert calls(route) == [("refine", a, None) for a in AGENTS]


# --- retries at a paused join -------------------------------------------------------------------


def test_a_paused_join_retries_exactly_the_failed_calls_with_their_payloads():
    settings = make_settings()
    state, lost = with_failed_calls(debate_state(1, 1), CRITIQUE, settings, [("a", "b"), ("c", "a")])
    route = routing.after_join(CRITIQUE, state, settings, EVERYWHERE)
    # The failed calls and nothing else: no extension, no refinement.
    assert [(s.node, s.arg) for s in sends(route)] == [("critique", f.task) for f in lost]


def test_once_the_retries_succeed_the_join_goes_on():
    settings = make_settings()
    state, lost = with_failed_calls(debate_state(1, 1), CRITIQUE, settings, [("a", "b")])
    task = lost[0].task
    assert task is not None
    state["contributions"] = [*state["contributions"], contribution(1, "a", "critique", "b")]
    assert {node for node, _, _ in calls(routing.after_join(CRITIQUE, state, settings, NO_EXTENSIONS))} == {
        "refine"
    }


def test_retries_come_before_the_extensions_of_the_join():
    settings = make_settings()
    state, lost = with_failed_calls(debate_state(1, 0), PROPOSE, settings, [("b", None)])
    route = routing.after_join(PROPOSE, state, settings, EVERYWHERE)
    assert [s.arg for s in sends(route)] == [f.task for f in lost]


def test_permanent_failures_that_leave_a_quorum_are_not_retried():
    settings = make_settings()
    state, _ = with_failed_calls(debate_state(1, 1), CRITIQUE, settings, [("a", "b")], transient=False)
    assert {node for node, _, _ in calls(routing.after_join(CRITIQUE, state, settings, NO_EXTENSIONS))} == {
        "refine"
    }
    assert routing.retry(state, settings, CRITIQUE.join) == []


def test_permanent_failures_below_the_quorum_are_retried():
    settings = make_settings()
    state, lost = with_failed_calls(
        debate_state(1, 0), PROPOSE, settings, [("a", None), ("b", None)], transient=False
    )
    route = routing.after_join(PROPOSE, state, settings, NO_EXTENSIONS)
    assert [s.arg for s in sends(route)] == [f.task for f in lost]


def test_the_degrade_policy_goes_on_without_transient_failures():
    settings = make_settings(onTransientFailure="degrade")
    state, _ = with_failed_calls(debate_state(1, 1), CRITIQUE, settings, [("a", "b")])
    assert {node for node, _, _ in calls(routing.after_join(CRITIQUE, state, settings, NO_EXTENSIONS))} == {
        "refine"
    }


def test_a_failed_judge_call_is_retried_as_its_node():
    settings = make_settings(rounds=2)
    state = debate_state(2, 3, failures=[judge_failure("synthesize", 2)])
    assert routing.after_join(REFINE, state, settings, NO_EXTENSIONS) == [SYNTHESIZE.node]
    state = debate_state(1, 3, failures=[judge_failure("convergence", 1)])
    converging = make_settings(rounds=3, terminationCondition={"type": "convergence"})
    assert routing.after_join(REFINE, state, converging, NO_EXTENSIONS) == [CONVERGENCE.node]


# --- extensions ---------------------------------------------------------------------------------


def test_extension_points_are_due_once_per_round():
    points = ExtensionPoints({"critique": "x_critique"})
    assert points.due("critique", debate_state(1, 2)) == "x_critique"
    assert points.due("refine", debate_state(1, 2)) is None  # no extension there
    assert points.due("critique", debate_state(1, 2, extension_runs=[extension_run("x_critique", 1)])) is None
    # A failed run has run all the same; a run of another round does not count.
    assert (
        points.due("critique", debate_state(1, 2, extension_runs=[extension_run("x_critique", 1, ok=False)]))
        is None
    )
    assert (
        points.due("critique", debate_state(2, 2, extension_runs=[extension_run("x_critique", 1)]))
        == "x_critique"
    )


def test_each_join_enters_its_extensions_then_goes_on():
    settings = make_settings(rounds=2)
    ran: list[ExtensionRun] = []
    expected = [
        (PROPOSE, debate_state(1, 1), "x_propose", {"critique"}),
        (CRITIQUE, debate_state(1, 2), "x_critique", {"refine"}),
    ]
    for phase, state, head, following in expected:
        assert routing.after_join(phase, {**state, "extension_runs": ran}, settings, EVERYWHERE) == head
        ran = [*ran, extension_run(head, 1)]
        route = routing.after_join(phase, {**state, "extension_runs": ran}, settings, EVERYWHERE)
        assert {node for node, _, _ in calls(route)} == following
    refined = debate_state(1, 3)
    assert routing.after_join(REFINE, {**refined, "extension_runs": ran}, settings, EVERYWHERE) == "x_refine"
    ran.append(extension_run("x_refine", 1))
    assert routing.after_join(REFINE, {**refined, "extension_runs": ran}, settings, EVERYWHERE) == "x_round"
    # The end of a phase's chain goes where the join would have gone without it.
    assert (
        routing.continue_after(REFINE, {**refined, "extension_runs": ran}, settings, EVERYWHERE) == "x_round"
    )
    ran.append(extension_run("x_round", 1))
    assert (
        routing.after_join(REFINE, {**refined, "extension_runs": ran}, settings, EVERYWHERE) == "begin_round"
    )


# --- the end of a round -------------------------------------------------------------------------


def converging(rounds: int = 3, **debate: Any) -> RunSettings:
    return make_settings(
        rounds=rounds, terminationCondition={"type": "convergence", "threshold": 80}, **debate
    )


def score(round_number: int, value: float) -> ConsensusScore:
    return ConsensusScore(round=round_number, score=value, reason="agreement")


def test_the_convergence_check_follows_the_refinements_of_every_round_but_the_last():
    assert routing.after_join(REFINE, debate_state(1, 3), converging(), NO_EXTENSIONS) == [CONVERGENCE.node]
    assert routing.after_join(REFINE, debate_state(2, 3), converging(), NO_EXTENSIONS) == [CONVERGENCE.node]
    assert routing.after_join(REFINE, debate_state(3, 3), converging(), NO_EXTENSIONS) == SYNTHESIZE.node
    assert (
        routing.after_join(REFINE, debate_state(1, 3), make_settings(rounds=3), NO_EXTENSIONS)
        == "begin_round"
    )


def test_the_convergence_check_runs_once_per_round():
    below = debate_state(1, 3, consensus=[score(1, 50)])
    assert routing.after_join(REFINE, below, converging(), NO_EXTENSIONS) == "begin_round"
    earlier = debate_state(2, 3, consensus=[score(1, 50)])
    assert routing.after_join(REFINE, earlier, converging(), NO_EXTENSIONS) == [CONVERGENCE.node]
    standing = debate_state(1, 3, failures=[judge_failure("convergence", 1, transient=False)])
    assert routing.after_join(REFINE, standing, converging(), NO_EXTENSIONS) == "begin_round"


def test_consensus_sends_the_debate_to_the_judge_before_the_last_round():
    reached = debate_state(1, 3, consensus=[score(1, 80)])
    assert routing.after_join(REFINE, reached, converging(), NO_EXTENSIONS) == SYNTHESIZE.node
    assert routing.round_ready(reached, converging()) == SYNTHESIZE.node
    # A score of an earlier round does not end a later one.
    later = debate_state(2, 3, consensus=[score(1, 95), score(2, 10)])
    assert routing.round_ready(later, converging()) == "begin_round"


def test_steering_pauses_between_rounds_but_not_after_the_last():
    settings = make_settings(rounds=2, steer=True)
    assert routing.round_ready(debate_state(1, 3), settings) == "steer"
    assert routing.round_ready(debate_state(2, 3), settings) == SYNTHESIZE.node
    assert routing.round_ready(debate_state(1, 3), make_settings(rounds=2)) == "begin_round"


def summarizing(rounds: int = 2, **debate: Any) -> RunSettings:
    return make_settings(rounds=rounds, summarization={"threshold": 1, "maxLength": 100}, **debate)


def test_the_judge_summary_runs_beside_the_refinements_of_the_last_round():
    route = routing.after_join(CRITIQUE, debate_state(2, 2), summarizing(rounds=2), NO_EXTENSIONS)
    assert calls(route) == [*(("refine", a, None) for a in AGENTS), ("summarize", JUDGE, None)]
    judge_task = sends(route)[-1].arg
    assert judge_task.round == 2 and judge_task.covers_through == (2, 1)


def test_before_the_last_round_only_the_agents_summarize_beside_the_refinements():
    route = routing.after_join(CRITIQUE, debate_state(1, 2), summarizing(rounds=3), NO_EXTENSIONS)
    assert calls(route) == [*(("refine", a, None) for a in AGENTS), *(("summarize", a, None) for a in AGENTS)]


def test_after_the_last_round_the_judge_synthesizes_once_its_summary_is_in():
    settings = summarizing(rounds=2)
    assert routing.after_join(
        REFINE, debate_state(2, 3, summaries=[judge_summary(2)]), settings, NO_EXTENSIONS
    ) == (SYNTHESIZE.node)
    # A judge summary that failed for good is not asked for again.
    [task] = tasks.judge_summary_tasks(debate_state(2, 2), settings, ending=True)
    gone = debate_state(2, 3, failures=[failure(task, transient=False, phase="judge_summary")])
    assert routing.after_join(REFINE, gone, settings, NO_EXTENSIONS) == SYNTHESIZE.node
    # One that failed for a while is retried.
    retried = debate_state(2, 3, failures=[failure(task, transient=True, phase="judge_summary")])
    assert [(s.node, s.arg) for s in sends(routing.after_join(REFINE, retried, settings, NO_EXTENSIONS))] == [
        ("summarize", task)
    ]


def test_consensus_before_the_last_round_asks_for_the_judge_summary_first():
    settings = summarizing(rounds=3, terminationCondition={"type": "convergence", "threshold": 80})
    reached = debate_state(1, 3, consensus=[score(1, 90)])
    assert calls(routing.after_join(REFINE, reached, settings, NO_EXTENSIONS)) == [("summarize", JUDGE, None)]
    reached["summaries"] = [judge_summary(1)]
    assert routing.after_join(REFINE, reached, settings, NO_EXTENSIONS) == SYNTHESIZE.node


# --- clarifications -----------------------------------------------------------------------------


def test_clarification_starts_with_every_agent_and_follows_up_with_those_that_asked():
    settings = make_settings(interactiveClarifications=True, clarificationsMaxIterations=3)
    first = routing.start_clarifying({"problem": PROBLEM}, settings)
    assert [(s.node, s.arg.agent_id, s.arg.iteration) for s in sends(first)] == [
        ("clarify", a, 1) for a in AGENTS
    ]
    assert all(isinstance(s.arg, ClarifyTask) for s in sends(first))
    asked = {
        "problem": PROBLEM,
        "clarification_iterations": 1,
        "agent_questions": [
            AgentQuestions(agent_id="a", iteration=1, questions=("Which region?",)),
            AgentQuestions(agent_id="b", iteration=1, questions=()),
        ],
    }
    follow_up = routing.after_answers(asked, settings)
    assert [(s.node, s.arg.agent_id, s.arg.iteration) for s in sends(follow_up)] == [("clarify", "a", 2)]
    assert routing.after_answers({"problem": PROBLEM}, settings) == "begin_round"


# --- every route is in its path map -------------------------------------------------------------

SETTINGS = {
    "pairwise": make_settings(),
    "lone": make_settings(agents=["a"]),
    "batched": make_settings(critiqueMode="batched", onTransientFailure="degrade"),
    "converging": make_settings(
        rounds=3,
        steer=True,
        terminationCondition={"type": "convergence", "threshold": 80},
        summarization={"threshold": 1, "maxLength": 100},
    ),
}


def representative_states(settings: RunSettings) -> list[dict[str, Any]]:
    agents = [agent.id for agent in settings.agents]
    batched = settings.config.debate.critiqueMode == "batched"
    last = settings.config.debate.rounds
    found = [debate_state(r, done, agents, batched=batched) for r in (1, 2, last) for done in range(4)]
    found.append(with_failed_calls(debate_state(1, 0, agents), PROPOSE, settings, [(agents[0], None)])[0])
    found.append(
        with_failed_calls(
            debate_state(1, 0, agents), PROPOSE, settings, [(agents[0], None)], transient=False
        )[0]
    )
    if len(agents) > 1:
        target = None if batched else agents[1]
        found.append(
            with_failed_calls(debate_state(1, 1, agents), CRITIQUE, settings, [(agents[0], target)])[0]
        )
    found.append(with_failed_calls(debate_state(1, 2, agents), REFINE, settings, [(agents[-1], None)])[0])
    found.append(debate_state(1, 3, agents, failures=[judge_failure("convergence", 1)]))
    found.append(debate_state(last, 3, agents, failures=[judge_failure("synthesize", last)]))
    found.append(debate_state(1, 3, agents, consensus=[score(1, 99)]))
    found.append(debate_state(1, 3, agents, consensus=[score(1, 10)]))
    found.append(debate_state(last, 3, agents, summaries=[judge_summary(last)]))
    runs = [extension_run(name, r) for name in EVERYWHERE.heads.values() for r in (1, 2, last)]
    before_round_end = [run for run in runs if run.name != EVERYWHERE.heads["round"]]
    found += [{**state, "extension_runs": ran} for ran in (runs, before_round_end) for state in list(found)]
    return found


@pytest.mark.parametrize("name", SETTINGS)
@pytest.mark.parametrize("points", [NO_EXTENSIONS, EVERYWHERE], ids=["plain", "extensions"])
def test_every_route_is_in_its_path_map(name: str, points: ExtensionPoints):
    settings = SETTINGS[name]
    next_round = "steer" if settings.steer else "begin_round"
    checked: list[tuple[Route, list[str], str]] = []
    for state in representative_states(settings):
        where = f"round {state['round']}, {len(state['contributions'])} contributions"
        checked.append(
            (
                routing.after_begin_round(state, settings, points),
                routing.entering(ROUND[0], points, next_round),
                where,
            )
        )
        for phase in ROUND:
            checked.append(
                (
                    routing.after_join(phase, state, settings, points),
                    routing.after_joining(phase, points, next_round),
                    f"after {phase.join}, {where}",
                )
            )
            checked.append(
                (
                    routing.continue_after(phase, state, settings, points),
                    routing.continuing(phase, points, next_round),
                    f"after {phase.name}'s extensions, {where}",
                )
            )
        checked.append(
            (routing.round_ready(state, settings), routing.ending(next_round), f"round end, {where}")
        )
    clarifying = {"problem": PROBLEM, "clarification_iterations": 1}
    checked.append((routing.start_clarifying(clarifying, settings), [CLARIFY.node, "begin_round"], "clarify"))
    checked.append((routing.after_answers(clarifying, settings), [CLARIFY.node, "begin_round"], "answers"))
    for route, path_map, where in checked:
        assert route, f"an empty route {where}"
        assert set(destinations(route)) <= set(path_map), f"{destinations(route)} not in {path_map} {where}"
        if isinstance(route, list):
            for item in route:
                if isinstance(item, Send):
                    assert item.node in PHASE_NODES, where
                    assert (
                        item.node == item.arg.kind
                        if isinstance(item.arg, AgentTask)
                        else item.node == "clarify"
                    )
