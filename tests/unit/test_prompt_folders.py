"""Custom roles and per-phase overrides through an agent's ``promptsDir``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dialectic import prompts
from dialectic.configs.loader import load_config
from dialectic.configs.settings import RunSettings, resolve_settings


def agent(**overrides: Any) -> dict[str, Any]:
    base = {"id": "a1", "name": "Agent One", "role": "architect", "model": "m", "provider": "offline"}
    base.update(overrides)
    return base


def settings_for(folder: Path, document: dict[str, Any]) -> tuple[RunSettings, list[str]]:
    path = folder / "debate-config.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    config, source, _ = load_config(path)
    return resolve_settings(config, source, offline=True)


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_custom_role_with_partial_folder_falls_back_to_the_generalist(isolated: Path) -> None:
    write(
        isolated / "roles" / "economist",
        {
            "system.md": "You are {agent_name}, the {role}: price everything.",
            "refine.md": "Refine: {proposal}",
        },
    )
    settings, warnings = settings_for(
        isolated, {"agents": [agent(id="eco", role="economist", promptsDir="roles/economist")]}
    )
    assert warnings == []
    assert settings.template("eco", "system") == "You are {agent_name}, the {role}: price everything."
    assert settings.template("eco", "refine") == "Refine: {proposal}"
    for phase in ("propose", "critique", "critique_all", "summarize", "clarify"):
        assert settings.template("eco", phase) == prompts.agent_template("generalist", phase)
    assert settings.prompt_sources["eco"] == {
        "system": str((isolated / "roles/economist/system.md").resolve()),
        "refine": str((isolated / "roles/economist/refine.md").resolve()),
    }


def test_built_in_role_is_overridden_phase_by_phase(isolated: Path) -> None:
    write(isolated / "sec", {"critique.md": "Attack {target_name}'s design: {target_proposal}"})
    settings, _ = settings_for(isolated, {"agents": [agent(id="sec", role="security", promptsDir="sec")]})
    assert settings.template("sec", "critique") == "Attack {target_name}'s design: {target_proposal}"
    assert settings.template("sec", "system") == prompts.agent_template("security", "system")
    assert settings.template("sec", "propose") == prompts.agent_template("security", "propose")


def test_a_prompt_path_key_wins_over_the_folder(isolated: Path) -> None:
    write(isolated / "p", {"system.md": "from the folder, {agent_name}"})
    write(isolated, {"own.md": "from systemPromptPath, {agent_name}"})
    settings, _ = settings_for(
        isolated, {"agents": [agent(promptsDir="p", systemPromptPath="own.md", role="kiss")]}
    )
    assert settings.template("a1", "system") == "from systemPromptPath, {agent_name}"


def test_the_judge_folder_holds_judge_phases(isolated: Path) -> None:
    write(isolated / "judge", {"synthesize.md": "Decide: {final_proposals}"})
    settings, _ = settings_for(
        isolated,
        {
            "agents": [agent()],
            "judge": {"id": "j", "name": "J", "model": "m", "provider": "offline", "promptsDir": "judge"},
        },
    )
    assert settings.template("j", "synthesize") == "Decide: {final_proposals}"
    assert settings.template("j", "system") == prompts.judge_template("system")


def test_stray_and_empty_files_warn_and_fall_back(isolated: Path) -> None:
    write(isolated / "p", {"propse.md": "typo {problem}", "critique.md": "  \n"})
    settings, warnings = settings_for(isolated, {"agents": [agent(id="x", role="tinker", promptsDir="p")]})
    assert any("propse.md" in w and "did you mean propose.md" in w for w in warnings)
    assert any("critique.md" in w and "empty" in w for w in warnings)
    assert settings.template("x", "propose") == prompts.agent_template("generalist", "propose")
    assert settings.template("x", "critique") == prompts.agent_template("generalist", "critique")


def test_a_missing_folder_warns(isolated: Path) -> None:
    settings, warnings = settings_for(isolated, {"agents": [agent(id="x", role="tinker", promptsDir="nope")]})
    assert len(warnings) == 1 and "nope" in warnings[0] and "not found" in warnings[0]
    assert settings.template("x", "system") == prompts.agent_template("generalist", "system")


def test_braces_that_are_no_placeholder_stay_in_the_template(isolated: Path) -> None:
    write(isolated / "p", {"propose.md": "{problem} within {budget}"})
    settings, warnings = settings_for(isolated, {"agents": [agent(id="x", role="tinker", promptsDir="p")]})
    assert warnings == []
    assert settings.template("x", "propose") == "{problem} within {budget}"


def test_a_misspelt_placeholder_warns_through_the_cli(cli, isolated: Path) -> None:
    write(isolated / "p", {"refine.md": "{proposal} {mood} {critques}"})
    (isolated / "c.json").write_text(
        json.dumps({"agents": [agent(id="x", role="tinker", promptsDir="p"), agent(id="y")]}),
        encoding="utf-8",
    )
    result = cli("debate", "--offline", "-c", "c.json", "Design a cache. It must survive restarts.")
    assert result.code == 0, result.stderr
    [warning] = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert "refine.md" in warning and "{critques} (did you mean {critiques}?)" in warning
    assert "{mood}" not in warning  # not close to any placeholder: plain text
