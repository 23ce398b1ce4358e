"""Config files: the TypeScript tool's files load unchanged, defaults fill partial blocks, what
the TypeScript tool forgives is a warning (an error when strict), and every other mistake is a
ConfigError (exit 4) that names the file, field and what is allowed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dialectic import prompts
from dialectic.configs.loader import (
    builtin_config_text,
    check_config,
    format_path,
    load_config,
    parse_document,
    read_config_document,
    validate_config,
)
from dialectic.configs.providers import PROVIDER_NAMES
from dialectic.configs.schema import BUILTIN_ROLES, DebateConfig
from dialectic.configs.settings import RunSettings
from dialectic.errors import ConfigError

FIXTURE_CONFIGS = (
    "debate_config1.json",
    "example3/debate-config.json",
    "example3/debate-config-sm.json",
)


def agent(**overrides: Any) -> dict[str, Any]:
    base = {"id": "a1", "name": "Agent One", "role": "architect", "model": "m-1", "provider": "openai"}
    base.update(overrides)
    return base


def config_error(document: Any, source: str = "/cfg/debate-config.json") -> ConfigError:
    with pytest.raises(ConfigError) as info:
        validate_config(document, source)
    assert info.value.exit_code == 4
    return info.value


# --- the TypeScript tool's files --------------------------------------------------------------


@pytest.mark.parametrize("name", FIXTURE_CONFIGS)
def test_fixture_config_loads_unchanged(fixtures_dir: Path, name: str) -> None:
    path = fixtures_dir / name
    raw = json.loads(path.read_text(encoding="utf-8"))

    config, source, notices = load_config(path)

    assert source == path.resolve()
    assert notices == []
    assert [a.id for a in config.agents] == [a["id"] for a in raw["agents"]]
    for loaded, written in zip(config.agents, raw["agents"], strict=True):
        for key, value in written.items():
            assert getattr(loaded, key) == value, (name, key)
    for key, value in raw["judge"].items():
        assert getattr(config.judge, key) == value, (name, key)
    for key, value in raw["debate"].items():
        if isinstance(value, dict):
            assert getattr(config.debate, key).model_dump(exclude_unset=True) == value
        else:
            assert getattr(config.debate, key) == value, (name, key)


def test_debate_config1_values(fixtures_dir: Path) -> None:
    config, _, _ = load_config(fixtures_dir / "debate_config1.json")
    assert config.debate.rounds == 4
    assert config.debate.timeoutPerRound == 450000
    assert [a.temperature for a in config.agents] == [0.5, 0.6, 0.4]
    assert {a.model for a in config.agents} == {"gpt-4"}
    # blocks the file lacks come from the defaults
    assert config.debate.summarization.enabled is True
    assert config.debate.summarization.threshold == 5000
    assert config.debate.summarization.maxLength == 2500


def test_sm_fixture_partial_summarization_keeps_defaults(fixtures_dir: Path) -> None:
    config, _, _ = load_config(fixtures_dir / "example3" / "debate-config-sm.json")
    summarization = config.debate.summarization
    assert summarization.enabled is False
    assert summarization.maxLength == 2500
    assert summarization.threshold == 5000
    assert summarization.method == "length-based"
    assert config.debate.terminationCondition.type == "convergence"
    assert config.debate.terminationCondition.threshold == 95
    assert config.debate.interactiveClarifications is True
    assert config.debate.clarificationsMaxPerAgent == 2
    assert config.debate.orchestratorType == "state-machine"


def test_example3_summarization_block(fixtures_dir: Path) -> None:
    config, _, _ = load_config(fixtures_dir / "example3" / "debate-config.json")
    assert len(config.agents) == 4
    assert config.debate.summarization.enabled is False
    assert config.debate.summarization.threshold == 10000
    assert config.debate.summarization.maxLength == 5000
    assert all(a.provider == "openrouter" for a in config.agents)


# --- defaults and merging ---------------------------------------------------------------------


def test_builtin_defaults_used_without_a_file() -> None:
    config, source, notices = load_config(None)
    assert source is None
    assert len(notices) == 1 and "built-in" in notices[0]
    assert [a.role for a in config.agents] == ["architect", "performance", "kiss"]
    assert config.judge.role == "generalist"
    assert all(a.provider == "openai" and a.model == "gpt-4o-mini" for a in config.agents)
    assert config.debate.rounds == 3
    assert config.debate.terminationCondition.type == "fixed"


def test_debate_config_json_in_cwd_is_picked_up(isolated: Path) -> None:
    (isolated / "debate-config.json").write_text(
        json.dumps({"agents": [agent()], "debate": {"rounds": 7}}), encoding="utf-8"
    )
    config, source, notices = load_config(None)
    assert source == (isolated / "debate-config.json").resolve()
    assert notices == []
    assert config.debate.rounds == 7


def test_missing_agents_use_builtin_agents() -> None:
    config = validate_config({"debate": {"rounds": 1}}, "x")
    builtin = json.loads(builtin_config_text())
    assert [a.id for a in config.agents] == [a["id"] for a in builtin["agents"]]
    assert config.debate.rounds == 1


def test_partial_debate_block_merges_with_defaults() -> None:
    config = validate_config({"agents": [agent()], "debate": {"summarization": {"threshold": 123}}}, "x")
    assert config.debate.summarization.threshold == 123
    assert config.debate.summarization.maxLength == 2500
    assert config.debate.summarization.enabled is True
    assert config.debate.rounds == 3
    assert config.debate.critiqueMode == "pairwise"
    assert config.debate.maxConcurrency is None  # no cap: adaptive (providers.concurrency)


def test_partial_termination_block_keeps_default_threshold() -> None:
    config = validate_config(
        {"agents": [agent()], "debate": {"terminationCondition": {"type": "convergence"}}}, "x"
    )
    assert config.debate.terminationCondition.threshold == 90


def test_agent_defaults() -> None:
    config = validate_config({"agents": [agent()]}, "x")
    only = config.agents[0]
    assert only.temperature == 0.5
    assert only.enabled is True
    assert only.toolCallLimit == 10
    assert only.timeoutSeconds == 120
    assert only.maxRetries == 3
    assert only.tools == []


def test_missing_judge_inherits_first_agent_provider_and_model() -> None:
    document = {
        "agents": [
            agent(id="a1", provider="openrouter", model="google/gemini-2.5-flash-lite"),
            agent(id="a2", role="security", provider="openai", model="gpt-4o"),
        ]
    }
    config = validate_config(document, "x")
    assert config.judge.provider == "openrouter"
    assert config.judge.model == "google/gemini-2.5-flash-lite"
    assert config.judge.id == "judge-main"
    assert config.judge.role == "generalist"
    assert config.judge.temperature == 0.3


def test_missing_judge_inherits_base_url_and_key_env() -> None:
    first = agent(baseUrl="http://localhost:11434/v1", apiKeyEnv="LOCAL_KEY", model="llama3")
    config = validate_config({"agents": [first]}, "x")
    assert config.judge.baseUrl == "http://localhost:11434/v1"
    assert config.judge.apiKeyEnv == "LOCAL_KEY"
    assert config.judge.model == "llama3"


def test_explicit_judge_is_not_replaced() -> None:
    document = {
        "agents": [agent(provider="openrouter", model="x/y")],
        "judge": {"id": "j", "name": "J", "role": "generalist", "model": "gpt-4o", "provider": "openai"},
    }
    config = validate_config(document, "x")
    assert (config.judge.id, config.judge.provider, config.judge.model) == ("j", "openai", "gpt-4o")


def test_per_agent_summarization_override_merges_over_debate_block() -> None:
    document = {
        "agents": [agent(summarization={"maxLength": 400}), agent(id="a2", role="security")],
        "debate": {"summarization": {"threshold": 800}},
    }
    config = validate_config(document, "x")
    first = config.summarization_for(config.agents[0])
    second = config.summarization_for(config.agents[1])
    assert (first.threshold, first.maxLength, first.enabled) == (800, 400, True)
    assert (second.threshold, second.maxLength) == (800, 2500)


def test_enabled_agents_skips_disabled() -> None:
    config = validate_config({"agents": [agent(), agent(id="a2", enabled=False)]}, "x")
    assert [a.id for a in config.enabled_agents()] == ["a1"]


def test_custom_role_allowed_with_prompts_dir() -> None:
    config = validate_config({"agents": [agent(role="economist", promptsDir="prompts/economist")]}, "x")
    assert config.agents[0].role == "economist"


def test_yaml_config_accepted(isolated: Path) -> None:
    path = isolated / "conf.yaml"
    path.write_text(
        "agents:\n"
        "  - id: y1\n"
        "    name: Yaml Agent\n"
        "    role: security\n"
        "    model: gpt-4o-mini\n"
        "    provider: offline\n"
        "    temperature: 0.2\n"
        "debate:\n"
        "  rounds: 2\n"
        "  summarization:\n"
        "    enabled: false\n",
        encoding="utf-8",
    )
    config, source, _ = load_config(path)
    assert source == path.resolve()
    assert config.agents[0].id == "y1"
    assert config.agents[0].temperature == 0.2
    assert config.debate.rounds == 2
    assert config.debate.summarization.enabled is False
    assert config.debate.summarization.maxLength == 2500
    assert config.judge.provider == "offline"


def test_yml_suffix_is_yaml_too(isolated: Path) -> None:
    path = isolated / "conf.yml"
    path.write_text(
        "agents:\n  - {id: z, name: Z, role: kiss, model: m, provider: offline}\n", encoding="utf-8"
    )
    config, _, _ = load_config(path)
    assert config.agents[0].role == "kiss"


# --- syntax errors ----------------------------------------------------------------------------


def test_invalid_json_names_file_line_and_column(isolated: Path) -> None:
    path = isolated / "broken.json"
    path.write_text('{\n  "agents": [\n    {"id": "a1",, "name": "x"}\n  ]\n}\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert info.value.exit_code == 4
    assert str(path.resolve()) in message
    assert "line 3" in message
    assert "column 17" in message
    assert "invalid JSON" in message


def test_parse_document_json_position() -> None:
    with pytest.raises(ConfigError, match=r"invalid JSON in src\.json at line 2, column 14"):
        parse_document('{\n  "agents": [,]\n}', "src.json", yaml_syntax=False)


def test_invalid_yaml_names_file_and_line(isolated: Path) -> None:
    path = isolated / "broken.yaml"
    path.write_text("agents:\n  - id: a1\n    name: [unclosed\n    role: x\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "invalid YAML" in message
    assert str(path.resolve()) in message
    assert "line " in message and "column " in message


def test_missing_config_file(isolated: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found") as info:
        read_config_document(isolated / "nope.json")
    assert str((isolated / "nope.json").resolve()) in str(info.value)


def test_config_path_is_directory(isolated: Path) -> None:
    (isolated / "dir.json").mkdir()
    with pytest.raises(ConfigError, match="directory"):
        load_config(isolated / "dir.json")


def test_top_level_must_be_object() -> None:
    error = config_error([agent()])
    assert "top level must be an object" in str(error)


# --- validation errors ------------------------------------------------------------------------


def test_wrong_range_names_field_path() -> None:
    error = config_error({"agents": [agent(), agent(id="a2", temperature=5)]})
    message = str(error)
    assert "/cfg/debate-config.json" in message
    assert "agents[1].temperature" in message
    assert "less than or equal to 2" in message
    assert "5" in message


def test_wrong_type_names_field_path() -> None:
    error = config_error({"agents": [agent(), agent(id="a2", temperature="hot")]})
    assert "agents[1].temperature" in str(error)
    assert "'hot'" in str(error)


def test_nested_debate_field_path() -> None:
    error = config_error({"agents": [agent()], "debate": {"rounds": 0}})
    assert "debate.rounds" in str(error)
    assert "greater than or equal to 1" in str(error)


def test_literal_lists_allowed_values() -> None:
    error = config_error({"agents": [agent()], "debate": {"terminationCondition": {"type": "sometimes"}}})
    message = str(error)
    assert "debate.terminationCondition.type" in message
    for allowed in ("fixed", "convergence", "quality"):
        assert allowed in message


def test_missing_required_field() -> None:
    broken = agent()
    del broken["model"]
    error = config_error({"agents": [broken]})
    assert "agents[0].model: required field is missing" in str(error)


def test_empty_agents_list_rejected() -> None:
    error = config_error({"agents": []})
    assert "agents" in str(error)


@pytest.mark.parametrize(
    ("typo", "expected"),
    [("temprature", "temperature"), ("modle", "model"), ("enabeld", "enabled")],
)
def test_unknown_agent_key_suggests_field(typo: str, expected: str) -> None:
    error = config_error({"agents": [agent(**{typo: 1})]})
    message = str(error)
    assert f"unknown key {typo!r} in agents[0]" in message
    assert f"did you mean {expected!r}" in message


def test_unknown_nested_key_suggests_field() -> None:
    error = config_error({"agents": [agent()], "debate": {"summarization": {"maxLenght": 10}}})
    message = str(error)
    assert "debate.summarization" in message
    assert "did you mean 'maxLength'" in message


def test_unknown_top_level_key_suggests_field() -> None:
    error = config_error({"agents": [agent()], "judgee": {}})
    assert "unknown key 'judgee' in top level" in str(error)
    assert "did you mean 'judge'" in str(error)


def test_unknown_key_without_close_match_lists_allowed_keys() -> None:
    error = config_error({"agents": [agent()], "debate": {"zzzzqqq": 1}})
    message = str(error)
    assert "allowed keys:" in message
    assert "rounds" in message and "summarization" in message


def test_duplicate_agent_ids() -> None:
    error = config_error({"agents": [agent(id="same"), agent(id="other", role="kiss"), agent(id="same")]})
    message = str(error)
    assert "duplicate agent id 'same'" in message
    assert "agents[2].id" in message


def test_unknown_role_with_did_you_mean() -> None:
    error = config_error({"agents": [agent(), agent(id="a2", role="securty")]})
    message = str(error)
    assert "agents[1].role" in message
    assert "unknown role 'securty'" in message
    assert "did you mean 'security'" in message
    for role in BUILTIN_ROLES:
        assert role in message


def test_unknown_role_without_close_match_lists_roles() -> None:
    error = config_error({"agents": [agent(role="qqqqqq")]})
    message = str(error)
    assert "did you mean" not in message
    assert all(role in message for role in BUILTIN_ROLES)
    assert "promptsDir" in message


def test_unknown_provider_lists_allowed_values() -> None:
    error = config_error({"agents": [agent(provider="openruoter")]})
    message = str(error)
    assert "agents[0].provider" in message
    assert "'openruoter'" in message and "did you mean 'openrouter'" in message
    for provider in PROVIDER_NAMES:
        assert provider in message


def test_judge_id_equal_to_agent_id() -> None:
    document = {
        "agents": [agent(id="boss")],
        "judge": {"id": "boss", "name": "J", "role": "generalist", "model": "m", "provider": "openai"},
    }
    error = config_error(document)
    assert "judge.id" in str(error)
    assert "'boss'" in str(error)


def test_bad_agent_id_pattern() -> None:
    error = config_error({"agents": [agent(id="has space")]})
    assert "agents[0].id" in str(error)


def test_base_url_must_be_http() -> None:
    error = config_error({"agents": [agent(baseUrl="ftp://example.org")]})
    assert "agents[0].baseUrl" in str(error)


def test_many_errors_are_capped() -> None:
    bad = [agent(id=f"a{i}", temperature=9) for i in range(6)]
    error = config_error({"agents": bad})
    message = str(error)
    assert "and 3 more" in message
    assert message.count("temperature") == 3


def test_load_config_error_names_resolved_path(isolated: Path) -> None:
    path = isolated / "c.json"
    path.write_text(json.dumps({"agents": [agent(temperature=-1)]}), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path.resolve()) in str(info.value)
    assert "agents[0].temperature" in str(info.value)


def test_format_path() -> None:
    assert format_path(("agents", 1, "temperature")) == "agents[1].temperature"
    assert format_path(("debate", "summarization", "maxLength")) == "debate.summarization.maxLength"
    assert format_path(()) == ""


def test_validated_config_is_a_debate_config() -> None:
    config = validate_config({"agents": [agent()]}, "x")
    assert isinstance(config, DebateConfig)
    assert DebateConfig.model_validate(config.model_dump()) == config


# --- leniency where the TypeScript tool is lenient (check_config; validate_config is strict) ---


def test_unknown_keys_anywhere_are_dropped_with_a_warning_each() -> None:
    document = {
        "agents": [agent(temprature=0.2, tools=[{"name": "file_read", "sandbox": True}]), agent(id="a2")],
        "debate": {"rounds": 2, "summarization": {"maxLenght": 10}, "terminationCondition": {"typ": "x"}},
        "judge": {"id": "j", "name": "J", "role": "generalist", "model": "m", "provider": "openai", "x": 1},
        "extensions": [],
        "metadata": {"owner": "me"},
    }
    config, warnings = check_config(document, "/cfg/c.json")
    assert warnings == [
        "unknown key 'temprature' in agents[0] (did you mean 'temperature'?); ignored",
        "unknown key 'sandbox' in agents[0].tools[0]; ignored",
        "unknown key 'maxLenght' in debate.summarization (did you mean 'maxLength'?); ignored",
        "unknown key 'typ' in debate.terminationCondition (did you mean 'type'?); ignored",
        "unknown key 'x' in judge; ignored",
        "unknown key 'metadata' in top level; ignored",
    ]
    assert config.agents[0].temperature == 0.5 and config.agents[0].tools[0].name == "file_read"
    assert config.debate.rounds == 2 and config.debate.summarization.maxLength == 2500


def test_free_form_mappings_are_not_screened() -> None:
    document = {
        "agents": [agent()],
        "debate": {"requestsPerSecond": {"openai": 2}},
        "extensions": [{"name": "n", "callable": "m:f", "after": "round", "options": {"anything": 1}}],
    }
    config, warnings = check_config(document, "x")
    assert warnings == []
    assert config.extensions[0].options == {"anything": 1}


@pytest.mark.parametrize("method", ["voting", "merge"])
def test_voting_and_merge_are_synthesized_by_the_judge(method: str) -> None:
    config, [warning] = check_config({"agents": [agent()], "debate": {"synthesisMethod": method}}, "x")
    assert config.debate.synthesisMethod == "judge"
    assert warning == (
        f"debate.synthesisMethod: {method!r} is not supported here; "
        "the judge synthesizes the final solution (as the TypeScript tool does)"
    )


def test_an_unknown_role_uses_the_architect_prompts() -> None:
    document = {"agents": [agent(role="securty"), agent(id="a2", role="devops")]}
    config, warnings = check_config(document, "x")
    assert [a.role for a in config.agents] == ["securty", "devops"]  # the name is kept
    assert warnings[0].startswith("agents[0].role: unknown role 'securty' (did you mean 'security'?); ")
    assert warnings[1].startswith(
        "agents[1].role: unknown role 'devops'; the agent uses the architect prompts"
    )
    settings = RunSettings(config=config)
    for agent_id in ("a1", "a2"):
        assert settings.template(agent_id, "system") == prompts.agent_template("architect", "system")
        assert settings.template(agent_id, "propose") == prompts.agent_template("architect", "propose")


def test_a_custom_role_with_a_prompts_dir_is_no_warning_and_keeps_the_generalist_fallback() -> None:
    config, warnings = check_config({"agents": [agent(role="economist", promptsDir="roles/eco")]}, "x")
    assert warnings == []
    assert RunSettings(config=config).template("a1", "system") == prompts.agent_template(
        "generalist", "system"
    )


def test_an_unknown_judge_role_is_a_warning() -> None:
    judge = {"id": "j", "name": "J", "role": "moderator", "model": "m", "provider": "openai"}
    config, [warning] = check_config({"agents": [agent()], "judge": judge}, "x")
    assert config.judge.role == "moderator"
    assert warning == "judge.role: unknown role 'moderator'; ignored: the judge has its own prompts"


def test_strict_true_in_the_file_makes_every_warning_one_error() -> None:
    document = {
        "strict": True,
        "agents": [agent(temprature=1, role="securty")],
        "debate": {"synthesisMethod": "voting"},
    }
    with pytest.raises(ConfigError) as info:
        check_config(document, "/cfg/c.json")
    message = str(info.value)
    assert info.value.exit_code == 4 and "\n" not in message
    assert message.startswith("config error in /cfg/c.json: unknown key 'temprature' in agents[0]")
    assert "debate.synthesisMethod: 'voting' is not supported here (use 'judge')" in message
    assert "agents[0].role: unknown role 'securty' (did you mean 'security'?)" in message
    assert "strict mode" in message
    # and the same from the caller's side (--strict), without the key in the file
    del document["strict"]
    with pytest.raises(ConfigError, match="unknown key 'temprature'"):
        check_config(document, "x", strict=True)
    assert check_config({"agents": [agent()], "strict": True}, "x")[0].strict is True


def test_strict_must_be_a_boolean() -> None:
    with pytest.raises(ConfigError, match="strict"):
        check_config({"agents": [agent()], "strict": "yes"}, "x")


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ({"agents": []}, "agents"),
        ({"agents": [agent(temperature="hot")], "typo": 1}, "agents[0].temperature"),
        ({"agents": [agent(), agent()]}, "duplicate agent id 'a1'"),
        ({"agents": [agent()], "debate": {"rounds": 0}}, "debate.rounds"),
        ({"agents": [agent()], "debate": {"synthesisMethod": "consensus"}}, "debate.synthesisMethod"),
        ({"agents": [agent(role="")]}, "agents[0].role"),
    ],
)
def test_what_makes_a_debate_meaningless_stays_an_error(document: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        check_config(document, "x")
    assert fragment in str(info.value)


def test_load_config_returns_the_warnings_and_the_library_warns(isolated: Path) -> None:
    from dialectic.runner.library import DialecticWarning
    from dialectic.runner.library import load_config as library_load_config

    path = isolated / "c.json"
    path.write_text(json.dumps({"agents": [agent(provider="offline", colour="red")]}), encoding="utf-8")
    _, _, notices = load_config(path)
    assert notices == ["unknown key 'colour' in agents[0]; ignored"]
    with pytest.raises(ConfigError, match="colour"):
        load_config(path, strict=True)
    with pytest.warns(DialecticWarning, match="unknown key 'colour'"):
        library_load_config({"agents": [agent(provider="offline", colour="red")]})
    with pytest.raises(ConfigError, match="colour"):
        library_load_config({"agents": [agent(provider="offline", colour="red")]}, strict=True)
