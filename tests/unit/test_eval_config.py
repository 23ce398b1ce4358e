"""The evaluator config: compatible with the TypeScript tool's, lenient where it is (unless
strict), one clear error line."""

import json
import shutil
from pathlib import Path

import pytest

from dialectic import prompts
from dialectic.errors import ConfigError
from dialectic.evaluation.evaluators import BUILT_IN, load_evaluators


def write(path: Path, agents, **extra) -> Path:
    path.write_text(json.dumps({"agents": agents, **extra}))
    return path


def agent(**fields):
    return {"id": "eval-1", "name": "Evaluator", "model": "gpt-4o-mini", "provider": "openai", **fields}


def test_the_typescript_fixture_loads_with_its_relative_prompt_paths(fixtures_dir):
    # Its prompts are in the folder above the config's (../eval_*.md): the user must trust it.
    with pytest.raises(
        ConfigError, match=r"eval-1\.systemPromptPath: '\.\./eval_system\.md'.*--trust-config"
    ):
        load_evaluators(fixtures_dir / "example3" / "eval_config.json")
    evaluators, warnings = load_evaluators(fixtures_dir / "example3" / "eval_config.json", trust_config=True)
    assert warnings == []
    assert [e.member.id for e in evaluators] == ["eval-1", "eval-2"]
    first = evaluators[0]
    assert first.member.provider == "openrouter"
    assert first.member.model == "google/gemini-2.5-flash-lite"
    assert first.member.timeoutSeconds == 30  # "timeout": 30000 ms
    assert first.member.temperature == 0.1
    assert first.user_template == (fixtures_dir / "eval_user.md").read_text()
    assert first.system_source == str((fixtures_dir / "eval_system.md").resolve())


def test_built_in_prompts_when_the_config_names_none(tmp_path):
    evaluators, _ = load_evaluators(write(tmp_path / "eval.json", [agent()]))
    assert evaluators[0].user_template == prompts.eval_template("user")
    assert evaluators[0].system_source == BUILT_IN
    assert evaluators[0].member.timeoutSeconds == 120  # the provider layer's default


def test_offline_switches_every_evaluator_to_the_offline_model(tmp_path):
    evaluators, _ = load_evaluators(write(tmp_path / "eval.json", [agent()]), offline=True)
    assert evaluators[0].member.provider == "offline"


def test_disabled_evaluators_are_left_out_and_numeric_ids_are_names(tmp_path):
    config = write(tmp_path / "eval.json", [agent(id=7), agent(id="off", enabled=False)])
    evaluators, _ = load_evaluators(config)
    assert [e.member.id for e in evaluators] == ["7"]


def test_a_missing_prompt_file_falls_back_to_the_built_in_with_a_warning(tmp_path):
    empty = tmp_path / "empty.md"
    empty.write_text("  \n")
    config = write(tmp_path / "eval.json", [agent(userPromptPath="nope.md", systemPromptPath="empty.md")])
    evaluators, warnings = load_evaluators(config)
    assert evaluators[0].user_source == BUILT_IN and evaluators[0].system_source == BUILT_IN
    assert "eval-1.userPromptPath" in warnings[1] or "eval-1.userPromptPath" in warnings[0]
    assert len(warnings) == 2


def test_copied_fixture_layout_resolves_relative_to_the_config(tmp_path, fixtures_dir):
    shutil.copytree(fixtures_dir / "example3", tmp_path / "example3")
    for name in ("eval_system.md", "eval_user.md"):
        shutil.copy(fixtures_dir / name, tmp_path / name)
    evaluators, warnings = load_evaluators(tmp_path / "example3" / "eval_config.json", trust_config=True)
    assert warnings == [] and evaluators[0].user_source == str((tmp_path / "eval_user.md").resolve())


def check_error(tmp_path, document, *fragments, culprit="eval.json"):
    """The error is one line naming the file at fault and every fragment."""
    path = tmp_path / "eval.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    with pytest.raises(ConfigError) as caught:
        load_evaluators(path)
    message = str(caught.value)
    assert caught.value.exit_code == 4
    assert "\n" not in message
    for fragment in (str((tmp_path / culprit).resolve()), *fragments):
        assert fragment in message, message


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r"config file not found: .*nope\.json"):
        load_evaluators(tmp_path / "nope.json")


def test_invalid_json_names_line_and_column(tmp_path):
    check_error(tmp_path, '{"agents": [\n  {"id": }\n]}', "invalid JSON", "line 2, column")


def test_not_an_object(tmp_path):
    check_error(tmp_path, "[]", "the top level must be an object")


def test_no_agents(tmp_path):
    check_error(tmp_path, {"agents": []}, "agents:")
    check_error(tmp_path, {}, "agents: required field is missing")


def test_an_unknown_key_is_ignored_with_a_warning_that_suggests_the_right_one(tmp_path):
    path = write(tmp_path / "eval.json", [agent(userPrompPath="x.md")], comment="mine")
    evaluators, warnings = load_evaluators(path)
    assert [e.member.id for e in evaluators] == ["eval-1"]
    assert warnings == [
        "unknown key 'userPrompPath' in agents[0] (did you mean 'userPromptPath'?); ignored",
        "unknown key 'comment' in top level; ignored",
    ]


def test_strict_makes_an_unknown_key_an_error(tmp_path):
    check_error(
        tmp_path,
        {"agents": [agent(userPrompPath="x.md")], "strict": True},
        "unknown key 'userPrompPath'",
        "did you mean 'userPromptPath'",
        "strict",
    )
    path = write(tmp_path / "lenient.json", [agent(userPrompPath="x.md")])
    with pytest.raises(ConfigError, match="unknown key 'userPrompPath'"):
        load_evaluators(path, strict=True)


def test_unknown_provider(tmp_path):
    check_error(tmp_path, {"agents": [agent(provider="claude")]}, "agents[0].provider", "openai", "'claude'")


def test_wrong_types_and_ranges(tmp_path):
    check_error(tmp_path, {"agents": [agent(timeout=-5)]}, "agents[0].timeout")
    check_error(tmp_path, {"agents": [agent(enabled="yes please")]}, "agents[0].enabled")


def test_duplicate_ids(tmp_path):
    check_error(tmp_path, {"agents": [agent(), agent()]}, "duplicate evaluator id 'eval-1'")


def test_no_enabled_evaluator(tmp_path):
    check_error(tmp_path, {"agents": [agent(enabled=False)]}, "no enabled evaluator", "enable at least one")


def test_braces_in_a_custom_prompt_that_are_no_placeholder_stay_as_text(tmp_path):
    text = 'Grade {final_solution} against {rubric}. Reply as {"score": 7}.'
    (tmp_path / "user.md").write_text(text)
    evaluators, warnings = load_evaluators(write(tmp_path / "eval.json", [agent(userPromptPath="user.md")]))
    assert warnings == []
    rendered = prompts.render(evaluators[0].user_template, {"final_solution": "S"})
    assert rendered == 'Grade S against {rubric}. Reply as {"score": 7}.'
