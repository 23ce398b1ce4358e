"""The shared prefix a provider that caches only marked prefixes (Anthropic) is told to keep:
``prompts.shared_length`` ends it before the first call-specific placeholder, whatever order a
template places its material in, and a config's own price bills what is written to that cache."""

from __future__ import annotations

from importlib import resources

import pytest

from dialectic import prompts
from dialectic.configs.schema import AgentConfig
from dialectic.providers.pricing import CACHE_WRITE_PREMIUM, call_cost

# The phases whose calls mark a shared prefix (nodes/agent_call.contribute, summarize, judge).
MARKED = ("propose", "critique", "critique_all", "refine", "summarize", "synthesize")


def values_for(template: str) -> dict[str, str]:
    return {name: f"<{name.upper()} VALUE>" for name in prompts.PLACEHOLDER.findall(template)}


def builtin_templates() -> list[tuple[str, str]]:
    root = resources.files("dialectic.prompts")
    return [
        (f"{folder.name}/{phase}", text)
        for folder in root.iterdir()
        if folder.is_dir()
        for phase in MARKED
        if (text := prompts.builtin(folder.name, phase)) is not None
    ]


@pytest.mark.parametrize(("name", "template"), builtin_templates())
def test_every_builtin_prefix_holds_only_shared_material_and_ends_at_a_line(name, template):
    values = values_for(template)
    user = prompts.render(template, values)
    shared = prompts.shared_length(template, values)
    head = user[:shared]
    assert "<PROBLEM VALUE>" in head
    for placeholder, value in values.items():
        if placeholder not in prompts.SHARED_PLACEHOLDERS:
            assert value not in head, f"{name}: {placeholder} is call-specific"
    # the cut is at a line start or right after a value: never inside one
    assert shared == len(user) or user[shared - 1] == "\n" or head.endswith(tuple(values.values()))


def test_the_generalist_critics_fixed_instructions_are_shared_with_its_role():
    template = prompts.agent_template("generalist", "critique")
    values = values_for(template)
    user = prompts.render(template, values)
    shared = prompts.shared_length(template, values)
    head, tail = user[:shared], user[shared:]
    # its role is the member's own: its instructions are the same for every target it critiques
    assert "as the <ROLE VALUE> on the panel" in head
    assert tail.startswith("## Proposal by <TARGET_NAME VALUE>")


def test_a_template_placing_call_specific_material_first_shares_only_what_precedes_it():
    template = "## Problem\n\n{problem}\n\n## Proposal by {target_name}\n\n{target_proposal}\n\n{history}\n"
    values = values_for(template)
    user = prompts.render(template, values)
    assert user[: prompts.shared_length(template, values)] == "## Problem\n\n<PROBLEM VALUE>\n\n"
    # nothing shared before the target: nothing to mark
    assert prompts.shared_length("{target_proposal}\n{problem}\n", values) == 0


def test_a_template_opening_with_the_members_name_shares_it():
    template = "You are {agent_name}, the {role}.\n\n{problem}\n{history}\n## Critiques\n\n{critiques}\n"
    values = values_for(template)
    user = prompts.render(template, values)
    assert user[: prompts.shared_length(template, values)].endswith("<HISTORY VALUE>\n## Critiques\n\n")


def test_a_configs_own_price_bills_cache_writes_at_the_write_premium():
    agent = AgentConfig.model_validate(
        {
            "id": "a",
            "name": "A",
            "role": "architect",
            "model": "claude-sonnet-4-5",
            "provider": "anthropic",
            "price": {"inputPerMillion": 3.0, "outputPerMillion": 15.0},
        }
    )
    plain = call_cost(agent, 1_000_000, 0)
    written = call_cost(agent, 1_000_000, 0, cache_write_input_tokens=400_000)
    assert plain == pytest.approx(3.0)
    # never below the bill: 600k at the input rate, 400k at the write rate
    assert written == pytest.approx(0.6 * 3.0 + 0.4 * 3.0 * CACHE_WRITE_PREMIUM)
