"""The evaluation graph on the offline model (fan-out, concurrency, failures, repeats, compare),
and the evaluate node's handling of replies and servers."""

import json
import threading

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from dialectic.configs.schema import AgentConfig
from dialectic.errors import ProviderError
from dialectic.evaluation.parsing import first_json_object, read_verdict
from dialectic.evaluation.state import EvaluationContext, EvaluationTask, Prompt
from dialectic.graphs.evaluation import build_graph
from dialectic.nodes.evaluate import _ask, unusable
from dialectic.runner.evaluation import compare_debates, score_debate


def eval_config(tmp_path, count=2):
    agents = [
        {"id": f"ev-{i}", "name": f"Evaluator {i}", "model": f"m{i}", "provider": "offline"}
        for i in range(1, count + 1)
    ]
    path = tmp_path / "eval.json"
    path.write_text(json.dumps({"agents": agents}))
    return path


@pytest.fixture
def debate(fixtures_dir):
    return fixtures_dir / "saved-debate-2-agents-2-rounds.json"


def test_the_graph_fans_out_to_one_evaluate_node():
    drawing = build_graph().compile().get_graph().draw_mermaid()
    assert "evaluate" in drawing and "__start__" in drawing


def test_every_evaluator_runs_every_repeat(tmp_path, debate):
    events = []
    table = score_debate(eval_config(tmp_path, 3), debate, repeats=2, on_event=events.append)
    assert {key: len(runs) for key, runs in table.replies.items()} == {"ev-1": 2, "ev-2": 2, "ev-3": 2}
    assert all(reply is not None for runs in table.replies.values() for reply in runs)
    finished = [e for e in events if e["event"] == "call_finished"]
    assert sorted((e["agent"], e["run"]) for e in finished) == [
        (f"ev-{i}", r) for i in (1, 2, 3) for r in (1, 2)
    ]
    assert table.stats["overall_score"].count == 6
    assert table.stats["overall_score"].std_across_runs is not None


def test_evaluators_run_concurrently(tmp_path, debate, monkeypatch):
    # Each of the four calls waits at a barrier for the other three: calls made one after
    # another would break it, and every evaluator would fail.
    from dialectic.providers.offline import OfflineChatModel

    barrier = threading.Barrier(4, timeout=60)
    log = OfflineChatModel._log

    def meeting(self, event, meta, usage):
        log(self, event, meta, usage)
        if event == "start":
            barrier.wait()

    monkeypatch.setattr(OfflineChatModel, "_log", meeting)
    table = score_debate(eval_config(tmp_path, 4), debate)
    assert not barrier.broken and all(runs[0] is not None for runs in table.replies.values())


def test_a_failed_evaluator_is_skipped_with_a_warning(tmp_path, debate, monkeypatch):
    monkeypatch.setenv("DIALECTIC_OFFLINE_FAIL", "ev-2:evaluate")
    events = []
    table = score_debate(eval_config(tmp_path), debate, on_event=events.append)
    assert table.replies["ev-2"] == [None]
    assert table.replies["ev-1"][0] is not None
    warnings = [e["message"] for e in events if e["event"] == "warning"]
    assert len(warnings) == 1 and warnings[0].startswith("[ev-2] skipped:") and "503" in warnings[0]
    assert table.stats["security"].count == 1


def test_all_evaluators_failing_is_a_provider_error(tmp_path, debate, monkeypatch):
    monkeypatch.setenv("DIALECTIC_OFFLINE_FAIL", "*:evaluate")
    with pytest.raises(ProviderError) as caught:
        score_debate(eval_config(tmp_path), debate)
    assert caught.value.exit_code == 3
    assert "all 2 evaluator call(s) failed" in str(caught.value)


def test_evaluations_whose_every_reply_is_unusable_still_say_what_their_calls_cost(
    tmp_path, debate, monkeypatch
):
    from dialectic.evaluation.spend import EvaluationFailed
    from dialectic.providers import offline_text

    monkeypatch.setattr(offline_text, "evaluation", lambda user, seed: "I would rather not score this.")
    monkeypatch.setattr(offline_text, "comparison", lambda user, seed: '{"winner": "maybe"}')
    config = eval_config(tmp_path)
    data = json.loads(config.read_text())
    for agent in data["agents"]:
        agent["price"] = {"inputPerMillion": 1000.0, "outputPerMillion": 1000.0}
    config.write_text(json.dumps(data))
    for run in (
        lambda on_event: score_debate(config, debate, repeats=2, on_event=on_event),
        lambda on_event: compare_debates(config, debate, debate, on_event=on_event),
    ):
        events = []
        with pytest.raises(EvaluationFailed) as caught:
            run(events.append)
        assert caught.value.exit_code == 3
        tokens = [e["tokens"] for e in events if e["event"] == "call_failed"]
        assert len(tokens) == 4  # every call answered, and was paid for, but none usably
        assert caught.value.cost_usd == pytest.approx(sum(tokens) * 1000 / 1e6)


def test_compare_asks_each_evaluator_in_both_orders(tmp_path, debate):
    # Two debates on the same problem whose solutions differ a little: close calls.
    data = json.loads(debate.read_text())
    other = dict(
        data, finalSolution=dict(data["finalSolution"], description="A smaller design with a cache and auth.")
    )
    b = tmp_path / "b.json"
    b.write_text(json.dumps(other))
    events = []
    comparison = compare_debates(eval_config(tmp_path), debate, b, repeats=3, on_event=events.append)
    assert len(comparison.pairs) == 6 and all(pair.complete for pair in comparison.pairs)
    orders = sorted((e["agent"], e["run"], e["order"]) for e in events if e["event"] == "call_finished")
    assert orders == sorted((f"ev-{i}", r, o) for i in (1, 2) for r in (1, 2, 3) for o in ("AB", "BA"))
    assert comparison.tally.winner == "A"  # the richer saved solution
    assert not [e for e in events if e["event"] == "warning"]


def test_scoring_and_comparing_say_what_their_calls_cost(tmp_path, debate):
    config = eval_config(tmp_path)
    assert score_debate(config, debate).cost_usd == 0.0  # the offline model is free
    events = []
    data = json.loads(config.read_text())
    for agent in data["agents"]:
        agent["price"] = {"inputPerMillion": 1000.0, "outputPerMillion": 2000.0}
    config.write_text(json.dumps(data))
    table = score_debate(config, debate, repeats=2, on_event=events.append)
    tokens = [e["tokens"] for e in events if e["event"] == "call_finished"]
    assert len(tokens) == 4 and table.cost_usd > sum(tokens) * 1000 / 1e6  # output costs more
    assert table.cost_usd < sum(tokens) * 2000 / 1e6
    comparison = compare_debates(config, debate, debate)
    assert comparison.cost_usd > 0 and comparison.cost_usd != table.cost_usd


class RejectsResponseFormat(BaseChatModel):
    """A server that answers 400 to any response format and fenced JSON otherwise."""

    calls: list = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "rejects-response-format"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.calls.append(sorted(kwargs))
        if "response_format" in kwargs:
            raise HTTPError("response_format is not supported")
        text = 'Sure:\n```json\n{"winner": "2", "reasoning": "simpler"}\n```'
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


class HTTPError(Exception):
    status_code = 400


def test_a_server_rejecting_response_formats_gets_the_plain_prompt():
    member = AgentConfig(id="ev", name="Ev", role="generalist", model="m", provider="openai", maxRetries=0)
    model = RejectsResponseFormat()
    context = EvaluationContext(members={"ev": member}, prompts={("ev", "AB"): Prompt("system", "user")})
    context._models["ev"] = model
    reply = _ask(EvaluationTask(evaluator_id="ev", run=1, order="AB"), context, "compare", 1)
    assert read_verdict(first_json_object(reply.text)) == "2"
    assert model.calls == [["response_format"], []]


def test_unusable_replies():
    assert unusable(None, "evaluate") == "the reply held no JSON object"
    assert (
        unusable({"overall_summary": {"overall_score": "?"}}, "evaluate")
        == "the reply held no score for any metric"
    )
    assert unusable({"overall_summary": {"overall_score": 4}}, "evaluate") is None
    assert unusable({"winner": "maybe"}, "compare") == 'the reply held no "winner" of 1, 2 or tie'
    assert unusable({"winner": "tie"}, "compare") is None
