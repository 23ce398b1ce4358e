"""The offline evaluator: plausible scores that follow the solution and vary per metric and seed."""

from dialectic import prompts
from dialectic.evaluation.metrics import METRICS
from dialectic.evaluation.parsing import first_json_object, read_score, read_verdict
from dialectic.providers import offline_text


def render_user(solution: str, unfulfilled: str = "- None.") -> str:
    values = {
        "problem": "Design a queue. It must never lose a job.",
        "clarifications": "",
        "final_solution": solution,
        "requirements_info": f"### Requirements the judge marked as unfulfilled\n\n{unfulfilled}\n",
    }
    return prompts.render(prompts.eval_template("user"), values)


SOLUTION = "Use a **broker** with replicas, a cache, auth tokens, contract tests and GDPR retention."


def test_offline_evaluation_is_plausible_and_varies_by_metric_and_seed():
    replies = [
        first_json_object(offline_text.evaluation(render_user(SOLUTION), offline_text.seeded(str(i))))
        for i in range(12)
    ]
    assert all(replies)
    scores = [[read_score(reply, m)[0] for m in METRICS] for reply in replies]
    assert all(isinstance(s, float) and s == int(s) and 1 <= s <= 10 for row in scores for s in row)
    assert all(read_score(reply, m)[1] is None for reply in replies for m in METRICS)
    assert len({tuple(row) for row in scores}) > 1  # varies per seed
    assert any(len(set(row)) > 2 for row in scores)  # varies per metric
    reasoning = replies[0]["evaluation"]["non_functional"]["security"]["reasoning"]
    assert "broker" in reasoning or "auth" in reasoning


def test_offline_evaluation_reads_the_typescript_prompt_layout(fixtures_dir):
    template = (fixtures_dir / "eval_user.md").read_text()
    user = prompts.render(template, {"problem": "p", "clarifications": "", "final_solution": SOLUTION})
    reply = first_json_object(offline_text.evaluation(user, offline_text.seeded("x")))
    assert "broker" in str(reply) or "cache" in str(reply)


def test_offline_requirements_score_drops_when_the_judge_found_gaps():
    def mean_score(unfulfilled):
        metric = next(m for m in METRICS if m.key == "requirements_fulfillment")
        user = render_user(SOLUTION, unfulfilled)
        values = [
            read_score(first_json_object(offline_text.evaluation(user, offline_text.seeded(str(i)))), metric)[
                0
            ]
            for i in range(10)
        ]
        return sum(values) / len(values)

    assert mean_score("- It must never lose a job.") < mean_score("- None.")


def test_offline_evidence_covers_every_graded_metric():
    assert list(offline_text._EVIDENCE) == [m.key for m in METRICS if m.key != "overall_score"]


def test_offline_comparison_prefers_the_clearly_richer_design():
    rich = "Auth tokens, TLS, audit log, cache, shards, replicas, queue, contract tests, staging, GDPR retention, versioned interfaces."
    values = {
        "problem": "p",
        "clarifications": "",
        "requirements": "- r",
        "solution_1": "A bare box.",
        "solution_2": rich,
    }
    reply = first_json_object(
        offline_text.comparison(
            prompts.render(prompts.eval_template("compare_user"), values), offline_text.seeded("s")
        )
    )
    assert read_verdict(reply) == "2"
