"""The debate's data model as pure functions: the phase table, the tasks each phase sends, what
failed calls mean, what comes next after each join, the pause payloads and a debate's status."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pytest
from debate_states import (
    AGENTS,
    JUDGE,
    PROBLEM,
    contribution,
    debate_state,
    failure,
    make_settings,
    summary,
    task_of,
    text,
)

from dialectic.configs.settings import RunSettings
from dialectic.debate import course, failures, tasks
from dialectic.debate.clarifications import PendingQuestion
from dialectic.debate.pauses import (
    BudgetPause,
    ClarificationPause,
    ProviderPause,
    SteeringPause,
    by_urgency,
    read_pause,
)
from dialectic.debate.phases import (
    BESIDE,
    CLARIFY,
    CONVERGENCE,
    CRITIQUE,
    JUDGE_SUMMARY,
    PHASES,
    PROPOSE,
    REFINE,
    ROUND,
    SETTLED_AT,
    SUMMARIZE,
    SYNTHESIZE,
    WRITER,
    Phase,
    expected_calls,
    label,
    next_in_round,
    of_call,
    position,
)
from dialectic.debate.state import (
    AgentClarifications,
    AgentTask,
    ClarificationItem,
    ConsensusScore,
    Contribution,
    FinalSolution,
)
from dialectic.debate.status import debate_status


def without(state: dict[str, Any], *removed: Contribution) -> dict[str, Any]:
    return {**state, "contributions": [c for c in state["contributions"] if c not in removed]}


SOLUTION = FinalSolution(description="d", solution_markdown="s", confidence=80, synthesized_by=JUDGE)


# --- the phase table ----------------------------------------------------------------------------


def test_every_round_phase_has_its_own_join():
    joins = [phase.join for phase in ROUND]
    assert len(set(joins)) == len(ROUND)


def test_every_phase_is_settled_at_exactly_one_join_its_own():
    settled = [phase.name for group in SETTLED_AT.values() for phase in group]
    assert sorted(settled) == sorted(PHASES)
    for join, group in SETTLED_AT.items():
        assert group and all(phase.join == join for phase in group)
    assert {phase.join for phase in ROUND} <= set(SETTLED_AT)


def test_phases_beside_a_round_phase_end_at_its_join():
    for name, beside in BESIDE.items():
        assert PHASES[name] in ROUND
        assert all(phase.join == PHASES[name].join for phase in beside)


def test_the_table_is_keyed_by_phase_name_and_writes_in_round_order():
    assert all(PHASES[name].name == name for name in PHASES)
    assert [phase.writes for phase in ROUND] == ["proposal", "critique", "refinement"]
    assert [position(kind) for kind in ("proposal", "critique", "refinement")] == [0, 1, 2]
    assert all(WRITER[phase.writes] is phase for phase in ROUND if phase.writes)
    assert [next_in_round(phase) for phase in ROUND] == [CRITIQUE, REFINE, None]
    assert [phase.name for phase in ROUND if phase.first_round_only] == ["propose"]


def test_only_the_synthesis_is_required_and_only_the_clarifications_optional():
    assert [phase for phase in PHASES.values() if phase.required] == [SYNTHESIZE]
    assert [phase for phase in PHASES.values() if phase.optional] == [CLARIFY]
    assert {phase for phase in PHASES.values() if phase.quorum} == set(ROUND)


def test_of_call_tells_the_judge_summary_from_the_agents_summaries():
    assert of_call("summarize", JUDGE, JUDGE) is JUDGE_SUMMARY
    assert of_call("summarize", "a", JUDGE) is SUMMARIZE
    assert of_call("judge", JUDGE, JUDGE) is SYNTHESIZE
    assert of_call("convergence", JUDGE, JUDGE) is CONVERGENCE
    assert of_call("critique", "a", JUDGE) is CRITIQUE


def test_labels_of_unknown_phases_are_the_names_themselves():
    assert label("critique") == CRITIQUE.label
    assert label("my_extension") == "my_extension"


@pytest.mark.parametrize(
    ("phase", "agents", "batched", "calls"),
    [
        (PROPOSE, 3, False, 3),
        (CRITIQUE, 3, False, 6),
        (CRITIQUE, 3, True, 3),
        (CRITIQUE, 2, False, 2),
        (CRITIQUE, 1, False, 0),
        (CRITIQUE, 1, True, 0),
        (CRITIQUE, 0, False, 0),
        (REFINE, 4, True, 4),
        (SUMMARIZE, 3, False, 3),
        (JUDGE_SUMMARY, 5, False, 1),
        (CONVERGENCE, 3, False, 1),
        (SYNTHESIZE, 3, True, 1),
    ],
)
def test_expected_calls(phase: Phase, agents: int, batched: bool, calls: int):
    assert expected_calls(phase, agents, batched=batched) == calls


def test_expected_calls_match_the_tasks_a_round_phase_makes():
    for batched in (False, True):
        settings = make_settings(critiqueMode="batched" if batched else "pairwise")
        for phase, done in ((PROPOSE, 0), (CRITIQUE, 1), (REFINE, 2)):
            made = tasks.phase_tasks(phase, debate_state(1, done, batched=batched), settings)
            assert len(made) == expected_calls(phase, len(AGENTS), batched=batched)


# --- tasks --------------------------------------------------------------------------------------


def test_proposals_are_asked_of_every_agent_in_round_one_only():
    settings = make_settings()
    made = tasks.phase_tasks(PROPOSE, debate_state(1, 0), settings)
    assert [(t.kind, t.agent_id, t.round) for t in made] == [("propose", a, 1) for a in AGENTS]
    assert all(PROBLEM in t.problem and t.history == "" and t.material == "" for t in made)
    assert tasks.phase_tasks(PROPOSE, debate_state(2, 0), settings) == []


def test_only_agents_with_a_proposal_critique_and_refine():
    settings = make_settings()
    state = without(debate_state(1, 1), contribution(1, "c", "proposal"))
    assert {(t.agent_id, t.target_agent_id) for t in tasks.phase_tasks(CRITIQUE, state, settings)} == {
        ("a", "b"),
        ("b", "a"),
    }
    assert [t.agent_id for t in tasks.phase_tasks(REFINE, state, settings)] == ["a", "b"]


def test_a_pairwise_critique_carries_the_proposal_under_critique():
    settings = make_settings(rounds=3)
    task = task_of(CRITIQUE, debate_state(2, 0), settings, "a", "b")
    assert task.kind == "critique" and task.round == 2
    assert text(1, "b", "refinement") in task.material  # b's carried proposal
    # The agent's own previous refinement is its history (the material is another agent's).
    assert text(1, "a", "refinement") in task.history


def test_a_refinement_history_leaves_out_what_its_material_shows():
    settings = make_settings(rounds=3)
    task = task_of(REFINE, debate_state(2, 2), settings, "a")
    # The material: the critiques it received this round, which the history does not repeat.
    received = (text(2, "b", "critique", "a"), text(2, "c", "critique", "a"))
    assert all(c in task.critiques and c not in task.history for c in received)
    # Its current design (the refinement its carried proposal repeats) is the newest of its
    # history, as in its critiques' prompts (a provider's prompt cache serves that prefix).
    assert "Round 1: your current design (your refinement)" in task.history
    assert text(1, "a", "refinement") in task.history and task.material == ""
    assert task.history == task_of(CRITIQUE, debate_state(2, 1), settings, "a", "b").history
    # Round 1 is there; its own critiques of this round are not (they are about the others).
    assert text(1, "a", "proposal") in task.history and text(1, "b", "critique", "a") in task.history
    assert text(2, "a", "critique", "b") not in task.history
    assert text(1, "b", "critique", "c") not in task.history  # others' exchanges are not its history


def test_a_refine_template_that_shows_the_proposal_apart_gets_it_once():
    settings = make_settings(rounds=3)
    settings = settings.model_copy(update={"prompt_overrides": {"a": {"refine": "{proposal}\n{history}"}}})
    task = task_of(REFINE, debate_state(2, 2), settings, "a")
    assert text(1, "a", "refinement") in task.material
    assert text(1, "a", "refinement") not in task.history


def test_a_first_round_refinement_history_leaves_out_the_critiques():
    task = task_of(REFINE, debate_state(1, 2), make_settings(), "a")
    assert "Round 1: your current design (your proposal)" in task.history
    assert text(1, "a", "proposal") in task.history
    assert (
        text(1, "b", "critique", "a") not in task.history and text(1, "b", "critique", "a") in task.critiques
    )
    assert text(1, "a", "critique", "b") not in task.history


def test_critiques_received_are_those_aimed_at_the_agent_and_others_batched_ones():
    pairwise = debate_state(1, 2)
    assert {c.agent_id for c in tasks.critiques_received(pairwise, "a", 1)} == {"b", "c"}
    assert all(c.target_agent_id == "a" for c in tasks.critiques_received(pairwise, "a", 1))
    assert tasks.critiques_received(pairwise, "a", 2) == []
    batched = debate_state(1, 2, batched=True)
    assert [c.agent_id for c in tasks.critiques_received(batched, "a", 1)] == ["b", "c"]


def test_a_batched_refinement_shows_the_critiques_of_the_others():
    settings = make_settings(critiqueMode="batched")
    task = task_of(REFINE, debate_state(1, 2, batched=True), settings, "b")
    assert text(1, "a", "critique") in task.critiques and text(1, "c", "critique") in task.critiques
    assert text(1, "b", "critique") not in task.critiques


def summarizing(rounds: int = 3, threshold: int = 1, **debate: Any) -> RunSettings:
    return make_settings(rounds=rounds, summarization={"threshold": threshold, "maxLength": 100}, **debate)


def test_summaries_are_asked_for_long_histories_before_the_last_round_only():
    state = debate_state(1, 2)
    made = tasks.summary_tasks(state, summarizing())
    assert [(t.kind, t.agent_id, t.round, t.covers_through) for t in made] == [
        ("summarize", a, 1, (1, 1)) for a in AGENTS
    ]
    assert all(t.before_chars > 0 for t in made)
    assert tasks.summary_tasks(state, summarizing(threshold=100_000)) == []
    assert tasks.summary_tasks(state, make_settings(rounds=3)) == []  # disabled
    assert tasks.summary_tasks(debate_state(3, 2), summarizing(rounds=3)) == []  # the last round


def test_a_summary_builds_on_the_previous_one_without_repeating_what_it_covers():
    state = debate_state(2, 2, summaries=[summary("a", 2, (1, 1), "A'S EARLIER SUMMARY")])
    task = next(t for t in tasks.summary_tasks(state, summarizing()) if t.agent_id == "a")
    assert task.covers_through == (2, 1)
    # The built-in template reads the agent's history and the critiques it received as its
    # refinement's prompt has them (the previous summary, then what came since).
    refine = task_of(REFINE, state, summarizing(), "a")
    assert (task.history, task.critiques) == (refine.history, refine.critiques)
    assert "A'S EARLIER SUMMARY" in task.history and text(1, "a", "refinement") in task.history
    assert text(2, "b", "critique", "a") in task.critiques
    # Its own critiques of the others are not its history: their targets' refinements answer them.
    assert task.material == "" and text(2, "a", "critique", "b") not in task.history
    assert text(1, "a", "proposal") not in task.history  # covered by the previous summary


def test_a_summary_template_that_asks_for_the_material_gets_its_own_critiques():
    state = debate_state(2, 2, summaries=[summary("a", 2, (1, 1), "A'S EARLIER SUMMARY")])
    custom = {"prompt_overrides": {"a": {"summarize": "{history}\n{critiques}\n{material}"}}}
    task = next(
        t for t in tasks.summary_tasks(state, summarizing().model_copy(update=custom)) if t.agent_id == "a"
    )
    assert text(2, "a", "critique", "b") in task.material and text(2, "a", "critique", "c") in task.material
    assert text(1, "a", "refinement") not in task.material


def test_a_summary_template_without_the_history_gets_everything_since_as_material():
    state = debate_state(2, 2, summaries=[summary("a", 2, (1, 1), "A'S EARLIER SUMMARY")])
    custom = {"prompt_overrides": {"a": {"summarize": "{previous_summary}\n{material}"}}}
    settings = summarizing().model_copy(update=custom)
    task = next(t for t in tasks.summary_tasks(state, settings) if t.agent_id == "a")
    assert task.previous_summary == "A'S EARLIER SUMMARY" and task.history == ""
    assert text(1, "a", "proposal") not in task.material  # covered by the previous summary
    assert text(1, "a", "refinement") in task.material
    assert text(2, "a", "critique", "b") in task.material and text(2, "b", "critique", "a") in task.material


def test_the_judge_summary_is_asked_for_once_per_round_over_a_long_transcript():
    settings = summarizing(rounds=2)
    state = debate_state(2, 2)
    [task] = tasks.judge_summary_tasks(state, settings, ending=True)
    assert (task.kind, task.agent_id, task.round, task.covers_through) == ("summarize", JUDGE, 2, (2, 1))
    assert text(1, "a", "critique", "b") in task.material and text(2, "a", "critique", "b") in task.material
    # The designs it leaves to the final proposals: each panelist's last one supersedes the rest.
    designs = [text(r, a, kind) for r in (1, 2) for a in AGENTS for kind in ("proposal", "refinement")]
    assert not any(design in task.material for design in designs)
    done = {**state, "summaries": [summary(JUDGE, 3, (2, 1))]}
    assert tasks.judge_summary_tasks(done, settings, ending=True) == []
    assert tasks.judge_summary_tasks(state, summarizing(rounds=2, threshold=1_000_000), ending=True) == []
    assert (
        tasks.judge_summary_tasks(state, summarizing(rounds=2, includeFullHistory=False), ending=True) == []
    )
    assert tasks.judge_summary_tasks(state, make_settings(), ending=True) == []  # summaries disabled


def test_clarify_tasks_share_the_questions_and_answers_so_far():
    qa = [
        AgentClarifications(
            agent_id="a",
            agent_name="A",
            role="architect",
            items=(ClarificationItem(id="q1", question="Which region?", answer="EU"),),
        )
    ]
    made = tasks.clarify_tasks({"problem": PROBLEM, "clarifications": qa}, ["a", "c"], 2)
    assert [(t.agent_id, t.iteration) for t in made] == [("a", 2), ("c", 2)]
    assert all("Which region?" in t.clarifications and "EU" in t.clarifications for t in made)
    assert all(PROBLEM in t.problem for t in made)


# --- failures -----------------------------------------------------------------------------------


def test_a_failure_is_resolved_by_a_later_success_of_the_same_call():
    settings = make_settings()
    done = debate_state(1, 2)
    task = task_of(CRITIQUE, done, settings, "a", "b")
    missing = without(done, contribution(1, "a", "critique", "b"))
    lost = failure(task)
    assert not failures.task_done(missing, task)
    assert not failures.resolved({**missing, "failures": [lost]}, lost)
    assert failures.task_done(done, task)
    assert failures.resolved({**done, "failures": [lost]}, lost)
    # A critique of another peer does not make good this one.
    assert not failures.task_done(without(done, contribution(1, "a", "critique", "b")), task)


def test_a_summary_failure_is_resolved_by_the_summary_for_the_next_round():
    task = AgentTask(kind="summarize", agent_id="a", round=1, problem=PROBLEM)
    state = debate_state(1, 3)
    assert not failures.task_done(state, task)
    assert not failures.task_done({**state, "summaries": [summary("a", 3, (2, 1))]}, task)
    assert failures.task_done({**state, "summaries": [summary("a", 2, (1, 1))]}, task)


def test_judge_failures_are_resolved_by_the_judge_s_result():
    converge = failure(phase="convergence", round_number=1)
    assert not failures.resolved(
        {"round": 1, "consensus": [ConsensusScore(round=2, score=50, reason="r")]}, converge
    )
    assert failures.resolved(
        {"round": 1, "consensus": [ConsensusScore(round=1, score=50, reason="r")]}, converge
    )
    synth = failure(phase="synthesize", round_number=2)
    assert not failures.resolved({"round": 2, "final_solution": None}, synth)
    assert failures.resolved({"round": 2, "final_solution": SOLUTION}, synth)
    # Clarifying questions and extensions are never retried.
    assert not failures.resolved(
        {"final_solution": SOLUTION}, failure(phase="clarify", agent="a", transient=None)
    )


def test_outstanding_keeps_the_latest_failure_of_each_call_of_the_round():
    settings = make_settings()
    state = debate_state(1, 1)
    ab, ac = task_of(CRITIQUE, state, settings, "a", "b"), task_of(CRITIQUE, state, settings, "a", "c")
    first, second, other = failure(ab, error="first"), failure(ab, error="second"), failure(ac)
    earlier = failure(ab.model_copy(update={"round": 0}))
    state["failures"] = [first, other, second, earlier]
    assert failures.outstanding(state, ["critique"], 1) == [second, other]
    assert failures.outstanding(state, ["refine"], 1) == []
    assert failures.unrecovered(state) == [first, other, second, earlier]


def test_participants_of_a_critique_without_peers_are_the_proposers():
    lone = debate_state(1, 1, ["a"])
    assert failures.participants(lone, CRITIQUE, 1) == ["a"]
    state = without(
        debate_state(1, 3),
        contribution(1, "b", "refinement"),
        *(contribution(1, "c", "critique", t) for t in ("a", "b")),
    )
    assert failures.participants(state, CRITIQUE, 1) == ["a", "b"]
    assert failures.participants(state, REFINE, 1) == ["a", "c"]
    assert failures.participants(state, PROPOSE, 1) == list(AGENTS)


def failed_refinements(settings: RunSettings, agents: Sequence[str], *, transient: bool | None):
    """Round 1 after the refinements of ``agents`` failed."""
    state = debate_state(1, 2)
    lost = [failure(task_of(REFINE, state, settings, a), transient=transient) for a in agents]
    refined = [contribution(1, a, "refinement") for a in AGENTS if a not in agents]
    return {**state, "contributions": [*state["contributions"], *refined], "failures": lost}, lost


def test_transient_failures_pause_for_an_outage_and_only_they_are_retried():
    settings = make_settings()
    state, (flaky, broken) = failed_refinements(settings, ["a", "b"], transient=True)
    broken = broken.model_copy(update={"transient": False})
    state["failures"] = [flaky, broken]
    assert failures.pausing(state, settings, REFINE) == ("outage", [flaky])


def test_permanent_failures_leaving_a_quorum_stand():
    settings = make_settings()
    state, _ = failed_refinements(settings, ["a"], transient=False)
    assert failures.pausing(state, settings, REFINE) is None
    # Failures recorded before the difference was kept (None) count as permanent.
    state, _ = failed_refinements(settings, ["a"], transient=None)
    assert failures.pausing(state, settings, REFINE) is None


def test_losing_the_quorum_pauses_and_retries_every_failed_call():
    settings = make_settings()
    state, lost = failed_refinements(settings, ["a", "b"], transient=False)
    assert failures.pausing(state, settings, REFINE) == ("quorum", lost)
    # debate.minAgents sets the quorum.
    assert failures.pausing(state, make_settings(minAgents=1), REFINE) is None
    state, lost = failed_refinements(settings, ["a"], transient=False)
    assert failures.pausing(state, make_settings(minAgents=3), REFINE) == ("quorum", lost)


def test_the_degrade_policy_pauses_for_the_quorum_only():
    degrade = make_settings(onTransientFailure="degrade")
    state, _ = failed_refinements(degrade, ["a"], transient=True)
    assert failures.pausing(state, degrade, REFINE) is None
    state, lost = failed_refinements(degrade, ["a", "b"], transient=True)
    assert failures.pausing(state, degrade, REFINE) == ("quorum", lost)


def test_the_synthesis_is_required_whatever_the_failure():
    for transient in (True, False, None):
        lost = failure(phase="synthesize", round_number=2, transient=transient)
        state = debate_state(2, 3, failures=[lost])
        for policy in ("pause", "degrade"):
            assert failures.pausing(state, make_settings(onTransientFailure=policy), SYNTHESIZE) == (
                "required",
                [lost],
            )
        assert failures.pausing({**state, "final_solution": SOLUTION}, make_settings(), SYNTHESIZE) is None


def test_failed_clarifying_questions_never_pause():
    lost = failure(AgentTask(kind="clarify", agent_id="a", round=0, problem=PROBLEM), transient=True)
    assert failures.pausing({"round": 0, "failures": [lost]}, make_settings(), CLARIFY) is None


def test_summaries_pause_for_an_outage_only():
    task = AgentTask(kind="summarize", agent_id="a", round=1, problem=PROBLEM)
    settings = make_settings()
    for transient, verdict in ((True, "outage"), (False, None)):
        lost = failure(task, transient=transient)
        found = failures.pausing(debate_state(1, 3, failures=[lost]), settings, SUMMARIZE)
        assert (found[0] if found else None) == verdict


def test_pausing_failures_gathers_the_retries_of_every_phase_settled_at_a_join():
    settings = make_settings()
    state, lost = failed_refinements(settings, ["a"], transient=True)
    summary_task = AgentTask(kind="summarize", agent_id="b", round=1, problem=PROBLEM)
    judge = failure(summary_task.model_copy(update={"agent_id": JUDGE}), phase="judge_summary")
    state["failures"] = [*lost, failure(summary_task), judge]
    assert failures.pausing_failures(state, settings, SETTLED_AT[REFINE.join]) == state["failures"]
    assert failures.pausing_failures(state, settings, SETTLED_AT[CRITIQUE.join]) == []


# --- the course of the debate -------------------------------------------------------------------


def test_next_calls_after_the_proposals_are_the_critiques():
    settings = make_settings()
    calls = course.next_calls(PROPOSE.join, debate_state(1, 1), settings)
    assert calls.phase is CRITIQUE and calls.node is None
    assert calls.counted() == ("critique", 6)
    assert calls.tasks == tuple(tasks.phase_tasks(CRITIQUE, debate_state(1, 1), settings))
    assert course.next_calls(PROPOSE.join, debate_state(1, 1, ["a"]), make_settings(agents=["a"])).count == 0


def test_next_calls_after_the_critiques_are_the_refinements_with_the_summaries():
    calls = course.next_calls(CRITIQUE.join, debate_state(1, 2), summarizing(rounds=3))
    assert calls.phase is REFINE
    assert [(t.kind, t.agent_id) for t in calls.tasks] == [
        *(("refine", a) for a in AGENTS),
        *(("summarize", a) for a in AGENTS),
    ]
    last = course.next_calls(CRITIQUE.join, debate_state(2, 2), summarizing(rounds=2))
    assert [(t.kind, t.agent_id) for t in last.tasks] == [
        *(("refine", a) for a in AGENTS),
        ("summarize", JUDGE),
    ]


def test_next_calls_at_the_end_of_a_round():
    assert course.next_calls(REFINE.join, debate_state(1, 3), make_settings(rounds=2)).count == 0
    assert course.next_calls(REFINE.join, debate_state(2, 3), make_settings(rounds=2)).counted() == (
        "synthesize",
        1,
    )
    converging = make_settings(rounds=2, terminationCondition={"type": "convergence"})
    calls = course.next_calls(REFINE.join, debate_state(1, 3), converging)
    assert calls.counted() == ("convergence", 1) and calls.node == CONVERGENCE.node
    assert course.next_calls(REFINE.join, debate_state(2, 3), summarizing(rounds=2)).counted() == (
        "judge_summary",
        1,
    )


def test_next_calls_are_the_retries_while_a_join_is_paused():
    settings = make_settings()
    state, lost = failed_refinements(settings, ["a"], transient=True)
    calls = course.next_calls(REFINE.join, state, settings)
    assert calls.tasks == tuple(f.task for f in lost) and calls.phase is REFINE
    synthesis = course.retry_calls(
        debate_state(2, 3, failures=[failure(phase="synthesize", round_number=2)]), settings, REFINE.join
    )
    assert (synthesis.phase, synthesis.tasks, synthesis.node) == (SYNTHESIZE, (), "judge")


def test_after_phase_follows_the_round_order():
    settings = make_settings()
    state = debate_state(1, 1)
    assert course.after_phase(PROPOSE, state, settings) == course.phase_calls(CRITIQUE, state, settings)
    assert course.after_phase(REFINE, debate_state(1, 3), settings) == course.after_refinements(
        debate_state(1, 3), settings
    )
    assert course.phase_calls(PROPOSE, debate_state(2, 0), settings) == course.NONE


def test_convergence_is_due_once_after_every_round_but_the_last():
    converging = make_settings(rounds=3, terminationCondition={"type": "convergence", "threshold": 70})
    assert course.convergence_due(debate_state(1, 3), converging)
    assert not course.convergence_due(debate_state(3, 3), converging)
    assert not course.convergence_due(debate_state(1, 3), make_settings(rounds=3))  # fixed rounds
    scored = debate_state(2, 3, consensus=[ConsensusScore(round=2, score=10, reason="r")])
    assert not course.convergence_due(scored, converging)
    assert course.convergence_due(
        {**scored, "round": 3}, make_settings(rounds=4, terminationCondition={"type": "quality"})
    )
    failed = debate_state(1, 3, failures=[failure(phase="convergence", round_number=1, transient=False)])
    assert not course.convergence_due(failed, converging)


def test_the_debate_ends_after_the_last_round_or_on_consensus_this_round():
    converging = make_settings(rounds=3, terminationCondition={"type": "convergence", "threshold": 70})
    assert not course.debate_ends(debate_state(1, 3), converging)
    assert course.debate_ends(debate_state(3, 3), converging)
    at = debate_state(2, 3, consensus=[ConsensusScore(round=2, score=70, reason="r")])
    assert course.consensus_reached(at, converging) and course.debate_ends(at, converging)
    below = debate_state(2, 3, consensus=[ConsensusScore(round=2, score=69.9, reason="r")])
    assert not course.consensus_reached(below, converging)
    earlier = debate_state(2, 3, consensus=[ConsensusScore(round=1, score=100, reason="r")])
    assert not course.consensus_reached(earlier, converging)


# --- pauses -------------------------------------------------------------------------------------

QUESTION = {"id": "q1", "agentId": "a", "agentName": "A", "role": "architect", "question": "Which region?"}


def test_read_pause_parses_an_old_provider_failure_as_a_quorum_pause():
    found = read_pause(
        {
            "kind": "provider_failure",
            "phase": "critique",
            "round": 1,
            "needed": 2,
            "taking_part": ["a"],
            "errors": ["boom"],
        }
    )
    assert found == ProviderPause(
        phase="critique", round=1, reason="quorum", needed=2, taking_part=["a"], errors=["boom"]
    )


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"kind": "steering", "round": 1, "rounds": 2}, SteeringPause(round=1, rounds=2)),
        (
            {
                "kind": "budget",
                "phase": "refine",
                "round": 2,
                "calls": 3,
                "spent_tokens": 9000,
                "projected_tokens": 12000,
                "max_tokens": 10000,
            },
            BudgetPause(
                phase="refine", round=2, calls=3, spent_tokens=9000, projected_tokens=12000, max_tokens=10000
            ),
        ),
        (
            {"kind": "clarification", "iteration": 1, "maxIterations": 3, "questions": [QUESTION]},
            ClarificationPause(iteration=1, maxIterations=3, questions=[PendingQuestion(**QUESTION)]),
        ),
        (
            {
                "kind": "provider_failure",
                "phase": "judge",
                "round": 2,
                "reason": "required",
                "unknown_later_key": 1,
            },
            ProviderPause(phase="judge", round=2, reason="required"),
        ),
    ],
)
def test_read_pause_parses_the_payloads_checkpoints_hold(payload: dict[str, Any], expected: object):
    assert read_pause(payload) == expected


@pytest.mark.parametrize(
    "value",
    [
        None,
        "steering",
        42,
        [],
        {},
        {"round": 1, "rounds": 2},
        {"kind": "something_else", "round": 1},
        {"kind": "steering"},
        {"kind": "provider_failure", "round": 1},
        {"kind": "provider_failure", "phase": "refine", "round": 1, "reason": "bored"},
    ],
)
def test_read_pause_returns_none_for_anything_else(value: object):
    assert read_pause(value) is None


@pytest.mark.parametrize(
    "pause",
    [
        ProviderPause(phase="refine", round=1, reason="outage", errors=["x"]),
        BudgetPause(
            phase="critique",
            round=1,
            calls=6,
            spent_tokens=1,
            projected_tokens=2,
            max_usd=1.0,
            projected_usd=2.0,
        ),
        ClarificationPause(iteration=2, maxIterations=3, questions=[PendingQuestion(**QUESTION)]),
        SteeringPause(round=2, rounds=3),
    ],
)
def test_a_pause_survives_the_checkpoint_as_json(pause: Any):
    assert read_pause(pause.model_dump(mode="json")) == pause


def test_pauses_sort_by_urgency_and_say_whether_they_need_a_person():
    steering, clarification = (
        SteeringPause(round=1, rounds=2),
        ClarificationPause(iteration=1, maxIterations=1),
    )
    budget = BudgetPause(phase="refine", round=1, calls=1, spent_tokens=1, projected_tokens=2)
    provider = ProviderPause(phase="refine", round=1)
    assert by_urgency([steering, budget, clarification, provider]) == [
        provider,
        budget,
        clarification,
        steering,
    ]
    assert [p.needs_input for p in (provider, budget, clarification, steering)] == [False, False, True, True]


def max_flag(command: str, flag: str) -> float | None:
    found = re.search(rf"{flag} (\S+)", command)
    return float(found.group(1)) if found else None


def test_the_budget_resume_command_covers_the_next_phase():
    tokens = BudgetPause(
        phase="refine", round=1, calls=3, spent_tokens=9000, projected_tokens=12345, max_tokens=10000
    )
    command = tokens.resume_command("d-1")
    assert command.startswith("dialectic resume d-1")
    assert (max_flag(command, "--max-tokens") or 0) >= 12345 and max_flag(command, "--max-cost") is None
    cost = BudgetPause(
        phase="refine",
        round=1,
        calls=3,
        spent_tokens=10,
        projected_tokens=20,
        max_tokens=1000,
        projected_usd=1.2,
        max_usd=1.0,
    )
    command = cost.resume_command("d-1")
    assert (max_flag(command, "--max-cost") or 0) >= 1.2 and max_flag(command, "--max-tokens") is None


def test_the_budget_resume_command_covers_a_projection_of_a_fraction_of_a_cent():
    pause = BudgetPause(
        phase="refine",
        round=1,
        calls=3,
        spent_tokens=10,
        projected_tokens=20,
        spent_usd=0.001,
        projected_usd=0.0021,
        max_usd=0.002,
    )
    assert (max_flag(pause.resume_command("d-1"), "--max-cost") or 0) >= 0.0021


# --- status -------------------------------------------------------------------------------------


def test_a_running_debate_is_running_whatever_else():
    assert (
        debate_status({}, [ProviderPause(phase="refine", round=1)], finished=False, running=True) == "running"
    )


def test_a_paused_debate_has_the_status_of_its_most_urgent_pause():
    steering, provider = SteeringPause(round=1, rounds=2), ProviderPause(phase="refine", round=1)
    budget = BudgetPause(phase="refine", round=1, calls=1, spent_tokens=1, projected_tokens=2)
    assert debate_status({}, [steering], finished=False) == "waiting_for_input"
    assert debate_status({}, [steering, budget], finished=False) == "paused"
    assert debate_status({}, [steering, budget, provider], finished=False) == "failed"


def test_a_finished_debate_is_degraded_by_unrecovered_failures_only():
    settings = make_settings()
    state = debate_state(2, 3, final_solution=SOLUTION)
    assert debate_status(state, [], finished=True) == "completed"
    task = task_of(REFINE, debate_state(2, 2), settings, "a")
    assert debate_status({**state, "failures": [failure(task)]}, [], finished=True) == "completed"  # retried
    lost = failure(task_of(CRITIQUE, debate_state(2, 1), settings, "a", "b"))
    gone = without(state, contribution(2, "a", "critique", "b"))
    assert debate_status({**gone, "failures": [lost]}, [], finished=True) == "degraded"


def test_a_debate_stopped_with_work_left_is_interrupted_or_failed():
    assert debate_status(debate_state(1, 2), [], finished=False) == "interrupted"
    assert debate_status(debate_state(1, 2), [], finished=False, errored=True) == "failed"
    assert debate_status(debate_state(1, 2), [], finished=True, errored=True) == "failed"
