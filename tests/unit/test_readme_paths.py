"""Every file the README's examples name is there: its links, the ``examples/…`` paths of its
commands, and the prompt files of any config example it shows (such an example is a file of
examples/, so a reader can run it as printed)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
EXAMPLES = ROOT / "examples"
# Config keys that name a file relative to the config (directories: promptsDir, not checked here).
FILE_KEYS = {
    "systemPromptPath",
    "userPromptPath",
    "summaryPromptPath",
    "clarificationPromptPath",
    "promptPath",
}


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, flags=re.MULTILINE | re.DOTALL)


def named_files(document: Any) -> Iterator[str]:
    """The values of the file-path keys anywhere in a parsed config."""
    if isinstance(document, dict):
        for key, value in document.items():
            if key in FILE_KEYS and isinstance(value, str):
                yield value
            else:
                yield from named_files(value)
    elif isinstance(document, list):
        for item in document:
            yield from named_files(item)


def shipped_configs() -> dict[Path, Any]:
    return {path: json.loads(path.read_text(encoding="utf-8")) for path in EXAMPLES.rglob("*.json")}


def test_local_links_point_at_files_that_exist() -> None:
    targets = re.findall(r"\]\(([^)#:\s]+)(?:#[^)]*)?\)", README)
    assert targets, "the README links to no local file (did the pattern break?)"
    missing = [target for target in targets if not (ROOT / target).exists()]
    assert not missing


def test_example_paths_in_the_readme_exist() -> None:
    paths = set(re.findall(r"\bexamples/[\w./-]*[\w/]", README))
    assert "examples/evaluation/eval_config.json" in paths
    assert not [path for path in sorted(paths) if not (ROOT / path).exists()]


@pytest.mark.parametrize("block", [b for b in code_blocks("json") if any(k in b for k in FILE_KEYS)])
def test_a_config_example_naming_prompt_files_ships_with_them(block: str) -> None:
    document = json.loads(block)
    shipped = [path for path, content in shipped_configs().items() if content == document]
    assert shipped, f"this README config example is not a file in examples/: {block[:80]}…"
    for path in shipped:
        for name in named_files(document):
            prompt = path.parent / name
            assert prompt.is_file() and prompt.read_text(encoding="utf-8").strip(), prompt
            assert prompt.resolve().is_relative_to(path.parent.resolve())  # loads without --trust-config


def test_the_evaluator_example_loads_without_warnings() -> None:
    from dialectic.evaluation.evaluators import load_evaluators

    evaluators, warnings = load_evaluators(EXAMPLES / "evaluation" / "eval_config.json")
    assert warnings == []
    assert [Path(e.user_source).name for e in evaluators] == ["eval_user.md"]
    assert [Path(e.system_source).name for e in evaluators] == ["eval_system.md"]
