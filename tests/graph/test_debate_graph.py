"""The whole debate graph on the offline model: structure, summaries, termination, failures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from dialectic.configs.loader import validate_config
from dialectic.configs.settings import RunSettings, resolve_settings
from dialectic.runner.run import DebateRun, utc_now

PROBLEM = (
    "Design a notification service.\n"
    "It must deliver messages to 10,000 users within 5 seconds.\n"
    "Messages must never be lost after they are accepted."
)


def make_settings(
    roles=("architect", "performance", "kiss"), rounds=2, max_retries=0, **debate: Any
) -> RunSettings:
    document = {
        "agents": [
            {
                "id": f"agent-{r}",
                "name": r.title(),
                "role": r,
                "model": "sim",
                "provider": "offline",
                "maxRetries": max_retries,
            }
            for r in roles
        ],
        "judge": {
            "id": "judge-main",
            "name": "Judge",
            "role": "generalist",
            "model": "sim",
            "provider": "offline",
            "maxRetries": max_retries,
        },
        "debate": {"rounds": rounds, **debate},
    }
    settings, _ = resolve_settings(validate_config(document, "test"), None, offline=True)
    return settings


def new_run(settings: RunSettings, saver=None, debate_id: str = "t-1") -> DebateRun:
    return DebateRun(saver or InMemorySaver(), debate_id, settings, created_at=utc_now())


def calls(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    return [c for c in map(json.loads, log.read_text().splitlines()) if c["event"] == "end"]


@pytest.fixture
def call_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "calls.jsonl"
    monkeypatch.setenv("DIALECTIC_OFFLINE_CALL_LOG", str(path))
    return path


def test_rounds_have_every_contribution_and_carry_refinements():
    run = new_run(make_settings(rounds=2, summarization={"enabled": False}))
    result = run.execute({"problem": PROBLEM})
    assert result.status == "completed" and result.exit_code == 0
    state = run.state()
    by_round = {r: [c for c in state["contributions"] if c.round == r] for r in (1, 2)}
    for r in (1, 2):
        kinds = [c.type for c in by_round[r]]
        assert (
            kinds.count("proposal") == 3 and kinds.count("critique") == 6 and kinds.count("refinement") == 3
        )
    pairs = {(c.agent_id, c.target_agent_id) for c in by_round[1] if c.type == "critique"}
    assert len(pairs) == 6 and all(a != b for a, b in pairs)
    refinements = {c.agent_id: c.content for c in by_round[1] if c.type == "refinement"}
    carried = {c.agent_id: c.content for c in by_round[2] if c.type == "proposal"}
    assert carried == refinements
    assert all(c.carried for c in by_round[2] if c.type == "proposal")
    # One usage record per LLM call: 3 proposals + 12 critiques + 6 refinements + judge.
    assert len(state["usage"]) == 3 + 12 + 6 + 1
    assert state["final_solution"].synthesized_by == "judge-main"
    assert state["stop_reason"] == "rounds"
    assert "## Judge Assessment" in result.record.finalSolution.description


def test_critique_references_its_target_and_requirements_reach_every_proposal():
    run = new_run(make_settings(rounds=1, summarization={"enabled": False}))
    run.execute({"problem": PROBLEM})
    state = run.state()
    for c in state["contributions"]:
        if c.type == "critique":
            assert c.target_agent_id in c.content
        if c.type in ("proposal", "refinement"):
            assert "Requirements Coverage" in c.content
            assert "Messages must never be lost after they are accepted." in c.content


def test_summaries_run_beside_refinements_and_add_no_step():
    run = new_run(make_settings(rounds=3, summarization={"threshold": 1500, "maxLength": 600}))
    run.execute({"problem": PROBLEM})
    history = list(run.graph.get_state_history(run.config))
    steps_with_summaries = [snap for snap in history if "summarize" in snap.next]
    assert steps_with_summaries, "summaries never fired"
    assert all("refine" in snap.next for snap in steps_with_summaries)
    summaries = run.state()["summaries"]
    agent_summaries = [s for s in summaries if s.agent_id != "judge-main"]
    assert {s.for_round for s in agent_summaries} <= {2, 3}
    assert all(len(s.text) <= 600 for s in summaries)
    assert all(s.text.rstrip().endswith((".", "!", "?")) for s in summaries)


def test_incremental_summary_feeds_later_prompts(call_log: Path, monkeypatch: pytest.MonkeyPatch):
    seen: list[str] = []
    import dialectic.providers.offline as offline

    original = offline.OfflineChatModel._text

    def spy(self, meta, messages, rng):
        seen.append(
            f"{meta.get('dialectic_phase')}|{meta.get('dialectic_agent')}|{meta.get('dialectic_round')}|{messages[-1].content}"
        )
        return original(self, meta, messages, rng)

    monkeypatch.setattr(offline.OfflineChatModel, "_text", spy)
    run = new_run(make_settings(rounds=3, summarization={"threshold": 1500, "maxLength": 600}))
    run.execute({"problem": PROBLEM})
    summary = next(
        s for s in run.state()["summaries"] if s.agent_id == "agent-architect" and s.for_round == 2
    )
    round2_refine = next(p for p in seen if p.startswith("refine|agent-architect|2|"))
    assert "Summary of your earlier contributions" in round2_refine
    assert summary.text[:60] in round2_refine
    # Every call carries the problem statement.
    assert all("It must deliver messages to 10,000 users within 5 seconds." in p for p in seen)


def test_convergence_stops_early_and_records_the_score():
    settings = make_settings(rounds=3, terminationCondition={"type": "convergence", "threshold": 60})
    run = new_run(settings)
    result = run.execute({"problem": PROBLEM})
    state = run.state()
    assert result.status == "completed"
    assert state["round"] == 1
    assert state["stop_reason"] == "consensus"
    assert state["consensus"][0].score >= 60 and state["consensus"][0].reason
    assert result.record.consensus and result.record.stopReason == "consensus"


def test_convergence_below_threshold_runs_all_rounds():
    run = new_run(make_settings(rounds=2, terminationCondition={"type": "convergence", "threshold": 100}))
    run.execute({"problem": PROBLEM})
    state = run.state()
    assert state["round"] == 2 and state["stop_reason"] == "rounds"
    assert [s.round for s in state["consensus"]] == [1]  # no check after the last round


@pytest.mark.parametrize(
    ("failure", "debate"),
    [("503", {"onTransientFailure": "degrade"}), ("401", {})],
    ids=["outage-with-degrade", "rejected-key"],
)
def test_a_failing_critic_degrades_but_does_not_stop_the_debate(
    monkeypatch: pytest.MonkeyPatch, failure: str, debate: dict[str, Any]
):
    monkeypatch.setenv("DIALECTIC_OFFLINE_FAIL", f"agent-kiss:critique:{failure}")
    run = new_run(make_settings(rounds=1, **debate))
    result = run.execute({"problem": PROBLEM})
    assert result.status == "degraded" and result.exit_code == 0
    state = run.state()
    critiques = [c for c in state["contributions"] if c.type == "critique"]
    assert len(critiques) == 4 and all(c.agent_id != "agent-kiss" for c in critiques)
    assert {(f.agent_id, f.phase) for f in state["failures"]} == {("agent-kiss", "critique")}
    assert len(state["failures"]) == 2
    assert result.record.failures and not any(f.recovered for f in result.record.failures)


def test_lost_quorum_pauses_and_resume_retries_only_the_failed_calls(
    call_log: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("DIALECTIC_OFFLINE_FAIL", "agent-performance:propose")
    settings = make_settings(roles=("architect", "performance"), rounds=1, summarization={"enabled": False})
    saver = InMemorySaver()
    result = new_run(settings, saver).execute({"problem": PROBLEM})
    assert result.status == "failed" and result.exit_code == 3
    assert "agent-performance" in (result.message or "")
    before = calls(call_log)
    assert [c["agent"] for c in before] == ["agent-architect"]  # the failing call raises before logging

    monkeypatch.delenv("DIALECTIC_OFFLINE_FAIL")
    run = new_run(settings, saver)
    resumed = run.execute(Command(resume={"retry": True}))
    assert resumed.status == "completed", resumed.message
    after = calls(call_log)[len(before) :]
    assert [(c["phase"], c["agent"]) for c in after[:1]] == [("propose", "agent-performance")]
    assert sum(1 for c in after if c["phase"] == "propose") == 1
    assert resumed.record.failures and all(f.recovered for f in resumed.record.failures)


def test_judge_failure_stops_with_exit_3_and_resume_reruns_only_the_judge(
    call_log: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("DIALECTIC_OFFLINE_FAIL", "judge-main:synthesize")
    settings = make_settings(rounds=1, summarization={"enabled": False})
    saver = InMemorySaver()
    result = new_run(settings, saver).execute({"problem": PROBLEM})
    assert result.exit_code == 3 and result.status == "failed"
    assert "judge-main" in (result.message or "")
    made = len(calls(call_log))
    assert made == 3 + 6 + 3

    monkeypatch.delenv("DIALECTIC_OFFLINE_FAIL")
    run = new_run(settings, saver)
    resumed = run.execute(run.resume_input())
    assert resumed.status == "completed"
    assert [c["phase"] for c in calls(call_log)[made:]] == ["synthesize"]


def test_confidence_is_capped_when_a_major_requirement_is_unmet(monkeypatch: pytest.MonkeyPatch):
    import dialectic.providers.offline_text as text

    original = text.synthesis

    def unmet(problem, proposals, rng, ledger=""):
        data = original(problem, proposals, rng, ledger)
        data.update(
            confidence=95,
            unfulfilledMajorRequirements=["Messages must never be lost after they are accepted."],
        )
        return data

    monkeypatch.setattr(text, "synthesis", unmet)
    run = new_run(make_settings(rounds=1, summarization={"enabled": False}))
    run.execute({"problem": PROBLEM})
    final = run.state()["final_solution"]
    assert final.confidence == 40
    assert "Messages must never be lost" in final.description


def test_batched_critiques_make_one_call_per_critic():
    run = new_run(make_settings(rounds=1, critiqueMode="batched", summarization={"enabled": False}))
    run.execute({"problem": PROBLEM})
    critiques = [c for c in run.state()["contributions"] if c.type == "critique"]
    assert len(critiques) == 3 and all(c.target_agent_id is None for c in critiques)


def test_same_input_gives_the_same_transcript():
    first = new_run(make_settings(rounds=2), debate_id="a")
    first.execute({"problem": PROBLEM})
    second = new_run(make_settings(rounds=2), debate_id="b")
    second.execute({"problem": PROBLEM})

    def contents(run):
        return [(c.agent_id, c.type, c.target_agent_id, c.content) for c in run.state()["contributions"]]

    assert contents(first) == contents(second)


def test_the_final_state_is_written_once_with_its_status(monkeypatch: pytest.MonkeyPatch):
    # The synthesis ends the graph: its state goes to the JSON once, as completed, not first as
    # "running" (a write fewer between the last reply and the process's exit).
    from dialectic.runner import feedback

    written: list[tuple[str, bool]] = []
    real = feedback.write_record
    monkeypatch.setattr(
        feedback,
        "write_record",
        lambda path, record: (
            written.append((record.status, record.finalSolution is not None)),
            real(path, record),
        ),
    )
    result = new_run(make_settings(rounds=1)).execute(
        {"problem": "Design a cache. It must serve 1,000 reads a second."}
    )
    assert result.status == "completed"
    assert written[-1] == ("completed", True) and ("running", True) not in written
    assert ("running", False) in written  # the steps before it are written as they finish
