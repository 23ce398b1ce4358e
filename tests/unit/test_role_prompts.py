"""Each built-in role's own propose/critique/refine guidance (its own section to write), with the
problem and the requirements list kept in every prompt; and what counts as a major requirement."""

from __future__ import annotations

import pytest

from dialectic import prompts
from dialectic.configs.loader import validate_config
from dialectic.configs.schema import BUILTIN_ROLES
from dialectic.configs.settings import RunSettings
from dialectic.prompts.requirements import major_requirements, requirements_list

PROBLEM = (
    "Design a ledger service for a small bank. Every transfer must be recorded exactly once. "
    "The service needs to answer balance queries in under 50 ms."
)

# role -> the section heading its prompt asks for, in propose, critique and refine
OWN_SECTIONS = {
    "architect": (
        "Components and Interfaces",
        "Components and Interfaces Check",
        "Components and Interfaces",
    ),
    "performance": (
        "Capacity and Latency Budget",
        "Capacity and Latency Check",
        "Capacity and Latency Budget",
    ),
    "security": ("Threat Model", "Threats Not Addressed", "Threat Model"),
    "testing": ("Test Strategy", "Testability Gaps", "Test Strategy"),
    "kiss": ("What We Are NOT Building", "What Could Be Cut", "What We Are NOT Building"),
    "generalist": ("Balance of Concerns", "Balance of Concerns", "Balance of Concerns"),
    "datamodeling": ("Entities and Invariants", "Entities and Invariants Check", "Entities and Invariants"),
}
PHASES = ("propose", "critique", "refine")


def settings() -> RunSettings:
    member = {"model": "sim", "provider": "offline"}
    agents = [{"id": f"a-{role}", "name": f"The {role}", "role": role, **member} for role in BUILTIN_ROLES]
    config = validate_config(
        {"agents": agents, "judge": {"id": "j", "name": "J", "role": "generalist", **member}}, "roles.json"
    )
    return RunSettings(config=config)


def rendered(role: str, phase: str) -> str:
    values = {
        "problem": PROBLEM,
        "clarifications": "",
        "notes": "",
        "history": "MY-HISTORY",
        "perspective": settings().perspective(f"a-{role}"),
        "requirements": requirements_list(PROBLEM),
        "role": role,
        "agent_name": f"The {role}",
        "proposal": "MY-PROPOSAL",
        "critiques": "THE-CRITIQUES",
        "target_proposal": "THEIR-PROPOSAL",
        "target_name": "Other",
        "target_role": "architect",
    }
    return prompts.render(settings().template(f"a-{role}", phase), values)


def headings_asked(prompt: str) -> list[str]:
    """The sections the prompt asks the model to write: its "- `## Title` — ..." lines."""
    return [
        line.split("`")[1].removeprefix("## ") for line in prompt.splitlines() if line.startswith("- `## ")
    ]


def test_every_built_in_role_has_its_own_section() -> None:
    assert set(OWN_SECTIONS) == set(BUILTIN_ROLES)


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("role", BUILTIN_ROLES)
def test_each_role_asks_for_its_own_section_and_keeps_problem_and_requirements(role: str, phase: str) -> None:
    prompt = rendered(role, phase)
    own = OWN_SECTIONS[role][PHASES.index(phase)]
    assert own in headings_asked(prompt)
    # no other role's section leaks in
    others = {heading for other, sections in OWN_SECTIONS.items() if other != role for heading in sections}
    assert not others & set(headings_asked(prompt))
    assert f"## Problem\n\n{PROBLEM}" in prompt
    assert (
        "Major requirements stated in the problem:\n- Every transfer must be recorded exactly once.\n"
        in prompt
    )
    assert "- The service needs to answer balance queries in under 50 ms." in prompt
    assert "Requirements Coverage" in prompt
    assert prompts.PLACEHOLDER.search(prompt) is None, prompt  # every placeholder was filled


@pytest.mark.parametrize("role", BUILTIN_ROLES)
def test_phase_material_reaches_each_role(role: str) -> None:
    critique = rendered(role, "critique")
    assert "## Proposal by Other (architect)\n\nTHEIR-PROPOSAL" in critique
    refine = rendered(role, "refine")
    assert "## Critiques you received\n\nTHE-CRITIQUES" in refine
    # Stable first: the problem, then the agent's perspective and history (its current design
    # among them), then what the phase is about.
    for prompt in (critique, refine):
        assert prompt.index(PROBLEM) < prompt.index(f"You are The {role}") < prompt.index("MY-HISTORY")
    assert critique.index("MY-HISTORY") < critique.index("THEIR-PROPOSAL")
    assert refine.index("MY-HISTORY") < refine.index("THE-CRITIQUES")
    assert "MY-PROPOSAL" not in refine


@pytest.mark.parametrize("phase", PHASES)
def test_roles_have_distinct_templates(phase: str) -> None:
    templates = {prompts.agent_template(role, phase) for role in BUILTIN_ROLES}
    assert len(templates) == len(BUILTIN_ROLES)


def test_simplicity_advocate_says_what_is_not_built() -> None:
    propose = rendered("kiss", "propose")
    assert "`## What We Are NOT Building`" in propose
    assert "Leaving out a stated requirement is not simplicity" in " ".join(propose.split())


def test_custom_role_falls_back_to_the_generalist_in_its_own_name() -> None:
    prompt = prompts.render(
        prompts.agent_template(prompts.FALLBACK_ROLE, "propose"), {"role": "economist", "problem": PROBLEM}
    )
    assert "as the economist on the panel" in prompt
    assert "generalist" not in prompt


# --- requirement extraction -------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "The queue needs to survive a restart.",
        "Operators need to see every failed job.",
        "The service has to run on two servers.",
        "Clients have to authenticate with a token.",
        "The scheduler is required to retry failed jobs.",
        "Every job shall run at most once.",
        "The API HAS TO stay backwards compatible.",
        "It needs\tto scale to ten regions.",
    ],
)
def test_major_requirements_new_phrasings(sentence: str) -> None:
    assert major_requirements(f"Build a job queue. {sentence} Dashboards would be nice.") == [sentence]


@pytest.mark.parametrize(
    "sentence",
    [
        "The queue does not need to be distributed.",
        "The service is not required to support offline use.",
        "It is not critical to be fast.",
        "Jobs don't have to run in order.",
        "There is no need to support Windows.",
        "The service doesn't need to scale past one node.",
        "Operators needed tooling in the old system.",
        "The team has tooling for this.",
    ],
)
def test_major_requirements_skip_negated_and_unrelated_phrasings(sentence: str) -> None:
    assert major_requirements(f"Build a job queue. {sentence}") == []


def test_a_negation_elsewhere_does_not_hide_a_requirement() -> None:
    problem = "Jobs do not need to be ordered but they have to run within a minute."
    assert major_requirements(problem) == [problem]
