"""Command-line overrides, prompt files named by the config, and RunSettings serialization."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from dialectic import prompts
from dialectic.configs.loader import load_config, validate_config
from dialectic.configs.schema import BUILTIN_ROLES, DebateConfig
from dialectic.configs.settings import RunSettings, apply_overrides, resolve_settings, select_agents
from dialectic.errors import InputError


def agent(**overrides: Any) -> dict[str, Any]:
    base = {"id": "a1", "name": "Agent One", "role": "architect", "model": "m-1", "provider": "openai"}
    base.update(overrides)
    return base


def panel() -> DebateConfig:
    return validate_config(
        {
            "agents": [
                agent(id="arch", role="architect"),
                agent(id="perf", role="performance", provider="openrouter"),
                agent(id="sec", role="security"),
                agent(id="sec-off", role="security", enabled=False),
                agent(id="tester", role="testing", enabled=False),
            ],
            "judge": {"id": "judge", "name": "J", "role": "generalist", "model": "jm", "provider": "openai"},
        },
        "panel.json",
    )


def write_config(folder: Path, document: dict[str, Any], name: str = "debate-config.json") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


# --- apply_overrides / select_agents ----------------------------------------------------------


def test_no_overrides_returns_same_config() -> None:
    config = panel()
    assert apply_overrides(config, agent_roles=None, rounds=None, offline=False) is config


def test_select_agents_by_role_keeps_only_enabled() -> None:
    chosen = select_agents(panel(), ["security", "architect"])
    assert [a.id for a in chosen] == ["arch", "sec"]


def test_select_agents_unknown_role_lists_valid_roles() -> None:
    with pytest.raises(InputError) as info:
        select_agents(panel(), ["architect", "wizard"])
    message = str(info.value)
    assert info.value.exit_code == 2
    assert "'wizard'" in message
    assert "valid roles" in message
    for role in BUILTIN_ROLES:
        assert role in message


def test_select_agents_role_with_no_enabled_agent() -> None:
    with pytest.raises(InputError) as info:
        select_agents(panel(), ["testing"])
    message = str(info.value)
    assert "no enabled agent" in message
    assert "architect, performance, security" in message


def test_apply_overrides_agents_and_rounds() -> None:
    config = panel()
    result = apply_overrides(config, agent_roles=["performance"], rounds=5, offline=False)
    assert [a.id for a in result.agents] == ["perf"]
    assert result.debate.rounds == 5
    assert result.judge == config.judge
    # the original is not mutated
    assert len(config.agents) == 5
    assert config.debate.rounds == 3


def test_offline_switches_every_provider_including_judge() -> None:
    config = panel()
    result = apply_overrides(config, agent_roles=None, rounds=None, offline=True)
    assert {a.provider for a in result.agents} == {"offline"}
    assert len(result.agents) == 5
    assert result.judge.provider == "offline"
    # models and ids are kept
    assert [a.model for a in result.agents] == [a.model for a in config.agents]
    assert result.judge.id == "judge"
    assert config.judge.provider == "openai"


def test_offline_with_agent_selection() -> None:
    result = apply_overrides(panel(), agent_roles=["architect", "security"], rounds=None, offline=True)
    assert [(a.id, a.provider) for a in result.agents] == [("arch", "offline"), ("sec", "offline")]
    assert result.judge.provider == "offline"


def test_apply_overrides_unknown_role_raises_input_error() -> None:
    with pytest.raises(InputError):
        apply_overrides(panel(), agent_roles=["nobody"], rounds=None, offline=False)


# --- resolve_settings: prompt files -----------------------------------------------------------


def test_prompt_path_relative_to_config_folder(isolated: Path) -> None:
    folder = isolated / "conf"
    (folder / "prompts").mkdir(parents=True)
    (folder / "prompts" / "arch.md").write_text("You are {agent_name}, the {role}. Custom!", encoding="utf-8")
    (folder / "prompts" / "judge-sum.md").write_text(
        "Summarize {material} in {max_length} chars.", encoding="utf-8"
    )
    path = write_config(
        folder,
        {
            "agents": [agent(id="arch", systemPromptPath="prompts/arch.md"), agent(id="k", role="kiss")],
            "judge": {
                "id": "j",
                "name": "J",
                "role": "generalist",
                "model": "m",
                "provider": "openai",
                "summaryPromptPath": "prompts/judge-sum.md",
            },
        },
    )
    config, source, _ = load_config(path)

    settings, warnings = resolve_settings(config, source, offline=False)

    assert warnings == []
    assert settings.template("arch", "system") == "You are {agent_name}, the {role}. Custom!"
    assert settings.prompt_sources["arch"]["system"] == str((folder / "prompts" / "arch.md").resolve())
    assert settings.template("j", "summarize") == "Summarize {material} in {max_length} chars."
    # agents without overrides use the built-in templates
    assert settings.template("k", "system") == prompts.agent_template("kiss", "system")
    assert settings.template("arch", "propose") == prompts.agent_template("architect", "propose")
    assert settings.template("j", "synthesize") == prompts.judge_template("synthesize")
    assert settings.config_path == str(source)


def test_prompt_path_not_resolved_against_cwd(isolated: Path) -> None:
    """A file with the same name in the cwd must not be picked up: paths are relative to the config."""
    (isolated / "sys.md").write_text("cwd version {role}", encoding="utf-8")
    folder = isolated / "elsewhere"
    (folder).mkdir()
    (folder / "sys.md").write_text("config-folder version {role}", encoding="utf-8")
    path = write_config(folder, {"agents": [agent(systemPromptPath="sys.md")]})
    config, source, _ = load_config(path)
    settings, _ = resolve_settings(config, source, offline=False)
    assert settings.template("a1", "system") == "config-folder version {role}"


def test_debate_wide_summary_prompt_applies_to_agents(isolated: Path) -> None:
    (isolated / "sum.md").write_text("My summary of {material}", encoding="utf-8")
    path = write_config(
        isolated,
        {
            "agents": [agent(), agent(id="a2", role="kiss")],
            "debate": {"summarization": {"promptPath": "sum.md"}},
        },
    )
    config, source, _ = load_config(path)
    settings, warnings = resolve_settings(config, source, offline=False)
    assert warnings == []
    assert settings.template("a1", "summarize") == "My summary of {material}"
    assert settings.template("a2", "summarize") == "My summary of {material}"


def test_per_agent_summarization_prompt_path_is_used(isolated: Path) -> None:
    (isolated / "mine.md").write_text("Agent-specific summary of {material}", encoding="utf-8")
    path = write_config(
        isolated, {"agents": [agent(summarization={"promptPath": "mine.md"}), agent(id="a2", role="kiss")]}
    )
    config, source, _ = load_config(path)
    settings, _ = resolve_settings(config, source, offline=False)
    assert settings.summarization("a1").promptPath == "mine.md"
    assert settings.template("a1", "summarize") == "Agent-specific summary of {material}"
    assert settings.template("a2", "summarize") == prompts.agent_template("kiss", "summarize")


def test_missing_prompt_file_warns_and_falls_back(isolated: Path) -> None:
    path = write_config(isolated, {"agents": [agent(role="security", systemPromptPath="missing.md")]})
    config, source, _ = load_config(path)
    settings, warnings = resolve_settings(config, source, offline=False)
    assert len(warnings) == 1
    assert "a1.systemPromptPath" in warnings[0]
    assert str((isolated / "missing.md").resolve()) in warnings[0]
    assert "built-in" in warnings[0]
    assert settings.template("a1", "system") == prompts.agent_template("security", "system")
    assert "a1" not in settings.prompt_overrides


def test_empty_prompt_file_warns_and_falls_back(isolated: Path) -> None:
    (isolated / "empty.md").write_text("   \n\n", encoding="utf-8")
    path = write_config(isolated, {"agents": [agent(summaryPromptPath="empty.md")]})
    config, source, _ = load_config(path)
    settings, warnings = resolve_settings(config, source, offline=False)
    assert len(warnings) == 1
    assert "empty" in warnings[0]
    assert settings.template("a1", "summarize") == prompts.agent_template("architect", "summarize")


def test_braces_that_are_no_placeholder_stay_as_text(isolated: Path) -> None:
    text = 'You are {agent_name}. Solve {problem} using {magic}; answer as {"type": "object"}.'
    (isolated / "braces.md").write_text(text, encoding="utf-8")
    path = write_config(isolated, {"agents": [agent(systemPromptPath="braces.md")]})
    config, source, _ = load_config(path)
    settings, warnings = resolve_settings(config, source, offline=False)
    assert warnings == []  # nothing here looks like a misspelt placeholder
    rendered = prompts.render(settings.template("a1", "system"), {"agent_name": "Ann", "role": "architect"})
    # {problem} is no placeholder of a system prompt: it stays, like {magic} and the JSON
    assert rendered == 'You are Ann. Solve {problem} using {magic}; answer as {"type": "object"}.'


def test_a_misspelt_placeholder_warns_with_did_you_mean(isolated: Path) -> None:
    (isolated / "typo.md").write_text("You are {agent_nme}, the {role}.", encoding="utf-8")
    path = write_config(isolated, {"agents": [agent(systemPromptPath="typo.md")]})
    config, source, _ = load_config(path)
    settings, [warning] = resolve_settings(config, source, offline=False)
    assert str((isolated / "typo.md").resolve()) in warning
    assert "{agent_nme} (did you mean {agent_name}?)" in warning and "stays as written" in warning
    assert settings.template("a1", "system") == "You are {agent_nme}, the {role}."


def test_json_braces_in_prompt_file_are_fine(isolated: Path) -> None:
    (isolated / "clar.md").write_text(
        'Ask about {problem}. Reply like {"questions": [{"question": "..."}]} at most {max_questions}.',
        encoding="utf-8",
    )
    path = write_config(isolated, {"agents": [agent(clarificationPromptPath="clar.md")]})
    config, source, _ = load_config(path)
    settings, warnings = resolve_settings(config, source, offline=False)
    assert warnings == []
    # the clarification file adds to the built-in prompt (see the tests of appended prompts)
    assert settings.template("a1", "clarify").endswith(
        'Ask about {problem}. Reply like {"questions": [{"question": "..."}]} at most {max_questions}.\n'
    )


def test_disabled_agents_prompts_are_not_read(isolated: Path) -> None:
    path = write_config(
        isolated, {"agents": [agent(), agent(id="off", enabled=False, systemPromptPath="nowhere.md")]}
    )
    config, source, _ = load_config(path)
    _, warnings = resolve_settings(config, source, offline=False)
    assert warnings == []


def test_no_config_path_resolves_against_cwd(isolated: Path) -> None:
    (isolated / "here.md").write_text("cwd prompt for {role}", encoding="utf-8")
    config = validate_config({"agents": [agent(systemPromptPath="here.md")]}, "x")
    settings, warnings = resolve_settings(config, None, offline=True)
    assert warnings == []
    assert settings.template("a1", "system") == "cwd prompt for {role}"
    assert settings.config_path is None
    assert settings.offline is True


# --- RunSettings ------------------------------------------------------------------------------


def test_run_settings_round_trip(isolated: Path) -> None:
    (isolated / "s.md").write_text("I am {agent_name}", encoding="utf-8")
    path = write_config(
        isolated,
        {
            "agents": [
                agent(
                    systemPromptPath="s.md", summarization={"maxLength": 300}, tools=[{"name": "file_read"}]
                ),
                agent(id="custom", role="economist", promptsDir="p", temperature=1.25),
            ],
            "debate": {"rounds": 2, "minAgents": 2, "critiqueMode": "batched"},
        },
    )
    config, source, _ = load_config(path)
    settings, _ = resolve_settings(config, source, offline=True)

    text = settings.to_json()
    again = RunSettings.from_json(text)

    assert again == settings
    assert again.to_json() == text
    assert again.template("a1", "system") == "I am {agent_name}"
    assert again.summarization("a1").maxLength == 300
    assert again.agent("custom").role == "economist"
    assert again.offline is True
    assert json.loads(text)["prompt_sources"]["a1"]["system"] == str((isolated / "s.md").resolve())


def test_run_settings_accessors() -> None:
    settings, _ = resolve_settings(panel(), None, offline=False)
    assert [a.id for a in settings.agents] == ["arch", "perf", "sec"]
    assert settings.judge.id == "judge"
    assert settings.agent("judge") is settings.judge
    assert settings.agent("tester").role == "testing"
    with pytest.raises(KeyError):
        settings.agent("ghost")
    assert settings.min_agents == 2


def test_min_agents_bounded_by_panel_size() -> None:
    config = validate_config({"agents": [agent()], "debate": {"minAgents": 4}}, "x")
    settings, _ = resolve_settings(config, None, offline=False)
    assert settings.min_agents == 1
    config = validate_config(
        {
            "agents": [agent(), agent(id="b", role="kiss"), agent(id="c", role="testing")],
            "debate": {"minAgents": 3},
        },
        "x",
    )
    settings, _ = resolve_settings(config, None, offline=False)
    assert settings.min_agents == 3


def test_run_settings_is_frozen() -> None:
    settings, _ = resolve_settings(panel(), None, offline=False)
    with pytest.raises(ValidationError, match="frozen"):
        settings.offline = True  # type: ignore[misc]
