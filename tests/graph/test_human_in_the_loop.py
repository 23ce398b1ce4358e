"""Clarifying questions and steering notes on the whole graph, with the offline model: the pause
(interrupt), resuming with an id -> answer map, follow-up batches, the batch cap, NA, unique ids,
and notes that reach every later prompt."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from dialectic.configs.loader import validate_config
from dialectic.configs.settings import RunSettings, resolve_settings
from dialectic.debate.clarifications import normalized
from dialectic.debate.pauses import ClarificationPause, SteeringPause
from dialectic.graphs.debate import GraphOptions, build_graph, options_for
from dialectic.providers import offline_text
from dialectic.providers.offline import META_AGENT, META_PHASE, META_ROUND, OfflineChatModel
from dialectic.runner.run import DebateResult, DebateRun, utc_now

PROBLEM = (
    "Design a notification service.\n"
    "It must deliver messages to 10,000 users within 5 seconds.\n"
    "Messages must never be lost after they are accepted."
)


def make_settings(
    roles=("architect", "performance", "kiss"), rounds=1, clarify=True, steer=False, **debate: Any
) -> RunSettings:
    member = {"model": "sim", "provider": "offline", "maxRetries": 0}
    document = {
        "agents": [{"id": f"agent-{r}", "name": r.title(), "role": r, **member} for r in roles],
        "judge": {"id": "judge-main", "name": "Judge", "role": "generalist", **member},
        "debate": {"rounds": rounds, "summarization": {"enabled": False}, **debate},
    }
    settings, _ = resolve_settings(validate_config(document, "test"), None, offline=True)
    return settings.model_copy(update={"clarify": clarify, "steer": steer})


class Harness:
    """A debate run in memory that records its progress events."""

    def __init__(self, settings: RunSettings) -> None:
        self.events: list[dict[str, Any]] = []
        self.run = DebateRun(
            InMemorySaver(), "hitl-1", settings, created_at=utc_now(), on_event=self.events.append
        )

    def start(self) -> DebateResult:
        return self.run.execute({"problem": PROBLEM})

    def answer(self, answers: dict[str, str]) -> DebateResult:
        return self.run.execute(self.run.resume_input({"clarification": answers}))

    def note(self, note: str) -> DebateResult:
        return self.run.execute(self.run.resume_input({"steering": {"note": note}}))

    def warnings(self) -> list[str]:
        return [e["message"] for e in self.events if e["event"] == "warning"]


def questions(result: DebateResult) -> list[dict[str, Any]]:
    assert result.status == "waiting_for_input" and result.exit_code == 5, result.message
    (pause,) = result.pending
    assert isinstance(pause, ClarificationPause)
    return [question.model_dump() for question in pause.questions]


@pytest.fixture
def prompts(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every prompt the offline model receives, with its phase, agent and round."""
    seen: list[dict[str, Any]] = []
    original = OfflineChatModel._generate

    def spy(self, messages, stop=None, run_manager=None, **kwargs):
        meta = dict(run_manager.metadata) if run_manager else {}
        seen.append(
            {
                "phase": meta.get(META_PHASE),
                "agent": meta.get(META_AGENT),
                "round": meta.get(META_ROUND),
                "text": "\n".join(str(m.content) for m in messages),
            }
        )
        return original(self, messages, stop=stop, run_manager=run_manager, **kwargs)

    monkeypatch.setattr(OfflineChatModel, "_generate", spy)
    return seen


@pytest.fixture
def call_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "calls.jsonl"
    monkeypatch.setenv("DIALECTIC_OFFLINE_CALL_LOG", str(path))
    return path


def finished_calls(log: Path) -> list[dict[str, Any]]:
    return [c for c in map(json.loads, log.read_text().splitlines()) if c["event"] == "end"]


def test_every_agent_asks_at_once_and_the_graph_pauses_with_ids_unique_across_agents(
    call_log: Path, monkeypatch: pytest.MonkeyPatch
):
    # All three clarify calls must be in flight at once: each waits at a barrier for the other
    # two (calls made one after another would break it, and the debate would fail to ask).
    from dialectic.providers.offline import OfflineChatModel

    barrier = threading.Barrier(3, timeout=60)
    log = OfflineChatModel._log

    def meeting(self: OfflineChatModel, event: str, meta: dict[str, Any], usage: Any) -> None:
        log(self, event, meta, usage)
        if event == "start":
            barrier.wait()

    monkeypatch.setattr(OfflineChatModel, "_log", meeting)
    debate = Harness(make_settings())
    asked = questions(debate.start())
    assert not barrier.broken
    assert [q["id"] for q in asked] == [f"q{n}" for n in range(1, len(asked) + 1)]
    assert {q["agentId"] for q in asked} == {"agent-architect", "agent-performance", "agent-kiss"}
    assert debate.run.graph.get_state(debate.run.config).next == ("ask_user",)
    calls = finished_calls(call_log)
    assert sorted(c["agent"] for c in calls) == ["agent-architect", "agent-kiss", "agent-performance"]
    assert {(c["phase"], c["round"]) for c in calls} == {("clarify", 0)}  # the judge asks nothing


def test_answers_by_id_reach_every_later_prompt_missing_ones_are_na(prompts: list[dict[str, Any]]):
    debate = Harness(make_settings(clarificationsMaxIterations=1))
    asked = questions(debate.start())
    result = debate.answer({"q1": "Exactly three servers, in one region.", "q99": "stray"})
    assert result.status == "completed", result.message
    answers = {i.id: i.answer for g in debate.run.state()["clarifications"] for i in g.items}
    assert answers == {q["id"]: "NA" for q in asked} | {"q1": "Exactly three servers, in one region."}
    missing = ", ".join(q["id"] for q in asked[1:])
    assert debate.warnings() == [
        f"clarification batch 1: no answer for {missing}: answered NA",
        "clarification batch 1: no agent asked q99: ignored",
    ]
    later = [p for p in prompts if p["phase"] in ("propose", "critique", "refine", "synthesize")]
    assert {p["phase"] for p in later} == {"propose", "critique", "refine", "synthesize"}
    assert all("Exactly three servers, in one region." in p["text"] for p in later)
    assert all("(NA: the owner did not answer" in p["text"] for p in later)
    record = result.record
    assert record.clarificationIterations == 1
    saved = {g.agentId: [(i.id, i.question) for i in g.items] for g in record.clarifications or []}
    assert saved == {
        agent: [(q["id"], q["question"]) for q in asked if q["agentId"] == agent]
        for agent in dict.fromkeys(q["agentId"] for q in asked)
    }


def test_follow_ups_see_the_answers_never_repeat_a_question_and_stop_at_the_cap(
    prompts: list[dict[str, Any]], call_log: Path
):
    debate = Harness(make_settings(clarificationsMaxIterations=2))
    first = questions(debate.start())
    second = questions(debate.answer({q["id"]: f"answer to {q['id']}" for q in first}))
    numbers = [int(q["id"][1:]) for q in first + second]
    assert numbers == list(range(1, len(numbers) + 1))  # ids go on across batches
    texts = [normalized(q["question"]) for q in first + second]
    assert len(set(texts)) == len(texts)
    follow_up_prompts = [p for p in prompts if p["phase"] == "clarify"][3:]
    assert follow_up_prompts and all("answer to q1" in p["text"] for p in follow_up_prompts)
    result = debate.answer({})  # the offline agents would ask a third batch: the cap stops them
    assert result.status == "completed"
    assert result.record.clarificationIterations == 2
    clarify_calls = [c for c in finished_calls(call_log) if c["phase"] == "clarify"]
    assert len(clarify_calls) == 3 + len({q["agentId"] for q in first})
    answers = {i.id: i.answer for g in debate.run.state()["clarifications"] for i in g.items}
    assert all(answers[q["id"]] == "NA" for q in second)


def _scripted_questions(monkeypatch: pytest.MonkeyPatch, script) -> None:
    def questions_for(role, agent, problem, max_questions, already, rng):
        return {"questions": [{"question": q} for q in script(agent, already)]}

    monkeypatch.setattr(offline_text, "clarifying_questions", questions_for)


def test_an_agent_that_asks_nothing_is_done_while_another_goes_on_to_the_cap(
    monkeypatch: pytest.MonkeyPatch, call_log: Path
):
    def script(agent: str, already: str) -> list[str]:
        if agent == "agent-kiss":
            return []
        return [f"Question number {already.count('Question number') + 1}?"]

    _scripted_questions(monkeypatch, script)
    debate = Harness(make_settings(roles=("architect", "kiss"), clarificationsMaxIterations=3))
    result = debate.start()
    for batch in (1, 2, 3):
        (asked,) = questions(result)
        assert asked["id"] == f"q{batch}" and asked["agentId"] == "agent-architect"
        assert isinstance(result.pending[0], ClarificationPause) and result.pending[0].iteration == batch
        result = debate.answer({asked["id"]: ""})  # Enter alone: NA, no warning
    assert result.status == "completed"
    clarify_calls = [c["agent"] for c in finished_calls(call_log) if c["phase"] == "clarify"]
    assert clarify_calls.count("agent-architect") == 3 and clarify_calls.count("agent-kiss") == 1
    assert debate.warnings() == []


def test_a_question_already_put_to_the_user_is_never_asked_again(monkeypatch: pytest.MonkeyPatch):
    def script(agent: str, already: str) -> list[str]:
        if agent == "agent-architect":
            return ["Which cloud provider do you use?"]  # asked again in every batch
        return [] if "budget" in already else ["which cloud provider do you use", "What is the budget?"]

    _scripted_questions(monkeypatch, script)
    debate = Harness(make_settings(roles=("architect", "kiss"), clarificationsMaxIterations=3))
    asked = questions(debate.start())
    assert [(q["id"], q["agentId"], q["question"]) for q in asked] == [
        ("q1", "agent-architect", "Which cloud provider do you use?"),
        ("q2", "agent-kiss", "What is the budget?"),
    ]
    result = debate.answer({"q1": "AWS", "q2": ""})
    assert result.status == "completed"  # the second batch held nothing new: no second pause
    assert result.record.clarificationIterations == 1
    groups = {g.agentId: [(i.id, i.answer) for i in g.items] for g in result.record.clarifications or []}
    assert groups == {"agent-architect": [("q1", "AWS")], "agent-kiss": [("q2", "NA")]}


def test_a_failed_clarify_call_is_recorded_and_the_others_questions_still_pause(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("DIALECTIC_OFFLINE_FAIL", "agent-kiss:clarify")
    debate = Harness(make_settings(roles=("architect", "kiss"), clarificationsMaxIterations=1))
    asked = questions(debate.start())
    assert {q["agentId"] for q in asked} == {"agent-architect"}
    result = debate.answer({})
    assert result.status == "degraded"
    assert [(f.agentId, f.phase, f.round) for f in result.record.failures or []] == [
        ("agent-kiss", "clarify", 0)
    ]


def test_steering_notes_reach_every_prompt_from_the_next_round_on(prompts: list[dict[str, Any]]):
    note = "The budget is fixed at two servers; drop the Kafka idea."
    debate = Harness(make_settings(rounds=3, clarify=False, steer=True))
    result = debate.start()
    assert result.status == "waiting_for_input" and result.pending == [SteeringPause(round=1, rounds=3)]
    assert "dialectic resume hitl-1 --note" in (result.message or "")
    result = debate.note(note)
    assert result.pending == [SteeringPause(round=2, rounds=3)]
    result = debate.note("")  # an empty note just continues
    assert result.status == "completed"  # and there is no pause after the last round
    with_note = [(p["phase"], p["round"]) for p in prompts if note in p["text"]]
    without = [(p["phase"], p["round"]) for p in prompts if note not in p["text"]]
    assert all(r == 1 for _, r in without if _ != "synthesize")
    assert {(phase, r) for phase, r in with_note} == {
        ("critique", 2),
        ("refine", 2),
        ("critique", 3),
        ("refine", 3),
        ("synthesize", 3),
    }
    assert [(n.afterRound, n.note) for n in result.record.steering or []] == [(1, note)]
    assert [e["note"] for e in debate.events if e["event"] == "steering"] == [note, ""]


def test_the_options_survive_a_resume_and_shape_the_drawing():
    stored = RunSettings.from_json(make_settings(clarify=True, steer=True).to_json())
    assert options_for(stored) == GraphOptions(clarify=True, steer=True)
    from_config = make_settings(clarify=False, interactiveClarifications=True)
    assert options_for(from_config) == GraphOptions(clarify=True, steer=False)
    plain = build_graph().compile().get_graph().draw_mermaid()
    full = build_graph(GraphOptions(clarify=True, steer=True)).compile().get_graph().draw_mermaid()
    for node in ("clarify", "ask_user", "steer"):
        assert f"\t{node}({node})" in full and f"\t{node}(" not in plain
    assert "__start__ -.-> clarify;" in full and "steer --> begin_round;" in full
