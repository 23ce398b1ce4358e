"""The library API's side of issue 11: the same trust boundaries as the CLI (``trust_config``),
and an extension given from Python never silently replaces one the config lists (item 16)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

PROBLEM = "Design a rate limiter for a public API. It must allow 100 requests per minute per key."
AGENT = {"id": "arch", "name": "Arch", "role": "architect", "model": "m", "provider": "offline"}
EXTENSION = {"name": "marker", "callable": "marker_ext.py:note", "after": "round"}


def note(view, context):
    return {"data": "from python"}


def write_marker_module(folder: Path) -> None:
    (folder / "marker_ext.py").write_text(
        "from pathlib import Path\n"
        "Path(__file__).with_name('imported.txt').write_text('imported')\n"
        "def note(view, context):\n"
        "    return None\n",
        encoding="utf-8",
    )


def test_an_extension_named_like_the_configs_is_a_config_error(isolated: Path) -> None:
    from dialectic import ConfigError, Extension, load_config, run_debate

    write_marker_module(isolated)
    document = {"agents": [AGENT], "debate": {"rounds": 1}, "extensions": [EXTENSION]}
    (isolated / "c.json").write_text(json.dumps(document), encoding="utf-8")
    settings = load_config(isolated / "c.json", offline=True)
    with pytest.raises(ConfigError) as caught:
        run_debate(PROBLEM, settings, extensions=[Extension("marker", note, after="round")], debate_id="x")
    assert caught.value.exit_code == 4
    assert "'marker'" in str(caught.value) and "another name" in str(caught.value)
    assert not (isolated / "debates").exists()  # checked before anything ran

    other = run_debate(PROBLEM, settings, extensions=[Extension("mine", note, after="round")], debate_id="y")
    assert set(other.record.extensions) == {"marker", "mine"}


def test_prompt_paths_are_confined_unless_trusted(isolated: Path) -> None:
    from dialectic import ConfigError, load_config

    (isolated / "secret.md").write_text("You are {agent_name}.", encoding="utf-8")
    (isolated / "cfg").mkdir()
    document = {"agents": [{**AGENT, "systemPromptPath": "../secret.md"}]}
    (isolated / "cfg" / "c.json").write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"arch\.systemPromptPath: '\.\./secret\.md'.*trust"):
        load_config(isolated / "cfg" / "c.json", offline=True)
    trusted = load_config(isolated / "cfg" / "c.json", offline=True, trust_config=True)
    assert trusted.template("arch", "system") == "You are {agent_name}."

    # A dict's paths are relative to the working directory, and confined to it.
    with pytest.raises(ConfigError, match="systemPromptPath"):
        load_config({"agents": [{**AGENT, "systemPromptPath": "/etc/hostname"}]}, offline=True)


def test_an_implicit_configs_extensions_need_trust(isolated: Path) -> None:
    from dialectic import DialecticWarning, load_config

    write_marker_module(isolated)
    document = {"agents": [AGENT], "extensions": [EXTENSION]}
    (isolated / "debate-config.json").write_text(json.dumps(document), encoding="utf-8")
    with pytest.warns(DialecticWarning, match=r"\(marker\) are not imported"):
        settings = load_config(None, offline=True)
    assert settings.config.extensions == [] and not (isolated / "imported.txt").exists()

    with warnings.catch_warnings():
        warnings.simplefilter("error", DialecticWarning)
        trusted = load_config(None, offline=True, trust_config=True)
    assert [spec.name for spec in trusted.config.extensions] == ["marker"]
    assert (isolated / "imported.txt").exists()
