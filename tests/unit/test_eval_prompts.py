"""The built-in evaluator prompts: package resources, valid placeholders, our own words."""

from dialectic import prompts
from dialectic.evaluation.metrics import METRICS

EVALUATE = ("system", "user")
COMPARE = ("compare_system", "compare_user")


def test_built_in_prompts_are_package_resources_with_known_placeholders():
    for name in EVALUATE + COMPARE:
        text = prompts.builtin("eval", name)
        assert text and text.strip(), name
        phase = "compare" if name.startswith("compare") else "evaluate"
        assert prompts.unknown_placeholders(text, phase) == [], name
    user = prompts.eval_template("user")
    for placeholder in ("{problem}", "{clarifications}", "{final_solution}", "{requirements_info}"):
        assert placeholder in user
    for metric in METRICS:
        assert f'"{metric.key}"' in user  # the reply shape names every metric


def test_the_built_in_prompts_are_our_own_words(fixtures_dir):
    theirs = (fixtures_dir / "eval_system.md").read_text() + (fixtures_dir / "eval_user.md").read_text()
    ours = prompts.eval_template("system") + prompts.eval_template("user")
    their_lines = {line.strip() for line in theirs.splitlines() if len(line.strip()) > 30}
    assert not [line for line in ours.splitlines() if line.strip() in their_lines]
