"""The offline simulated model: deterministic, phase-aware, structured output, env controls."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from dialectic import prompts
from dialectic.debate.phases import PHASES
from dialectic.nodes.convergence import ConvergenceAssessment
from dialectic.nodes.judge import Synthesis
from dialectic.nodes.llm import is_transient, status_code
from dialectic.providers import offline_text
from dialectic.providers.offline import OfflineChatModel, SimulatedOutage, estimate_tokens

REQUIREMENT = "The system must encrypt data at rest."
PROBLEM = f"Design a document store for hospital records. {REQUIREMENT} Reads should be fast."


def meta(
    phase: str, agent: str = "a1", role: str = "security", round_: int = 1, **extra: Any
) -> dict[str, Any]:
    metadata = {
        "dialectic_phase": phase,
        "dialectic_role": role,
        "dialectic_agent": agent,
        "dialectic_round": round_,
        # The voice the phase table gives the phase, as nodes/llm.py passes it.
        "dialectic_speaks_as": PHASES[phase].speaks_as if phase in PHASES else None,
        **extra,
    }
    return {"metadata": metadata}


def messages(user: str, system: str = "You are a panelist.") -> list[BaseMessage]:
    return [SystemMessage(content=system), HumanMessage(content=user)]


def propose_prompt(problem: str = PROBLEM) -> str:
    return f"## Problem\n\n{problem}\n\n## Your task\n\nPropose a design.\n"


def model() -> OfflineChatModel:
    return OfflineChatModel.from_environment()


# --- determinism and usage --------------------------------------------------------------------


def test_same_messages_and_metadata_give_identical_output() -> None:
    first = model().invoke(messages(propose_prompt()), config=meta("propose"))
    second = OfflineChatModel.from_environment().invoke(messages(propose_prompt()), config=meta("propose"))
    assert isinstance(first, AIMessage)
    assert first.content == second.content
    assert first.usage_metadata == second.usage_metadata


def test_output_depends_on_role_and_prompt() -> None:
    base = model().invoke(messages(propose_prompt()), config=meta("propose", role="security"))
    other_role = model().invoke(messages(propose_prompt()), config=meta("propose", role="performance"))
    other_problem = model().invoke(
        messages(propose_prompt("Design a chat service for students. Messages must be delivered once.")),
        config=meta("propose", role="security"),
    )
    assert base.content != other_role.content
    assert base.content != other_problem.content
    assert "security engineer" in str(base.content)
    assert "performance engineer" in str(other_role.content)


def test_usage_metadata_has_positive_token_counts() -> None:
    prompt = propose_prompt()
    reply = model().invoke(messages(prompt), config=meta("propose"))
    usage = reply.usage_metadata
    assert usage is not None
    assert usage["input_tokens"] > 0
    assert usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    # roughly four characters per token
    assert usage["output_tokens"] == estimate_tokens(len(str(reply.content)))
    assert reply.response_metadata["model_name"] == "offline"


def test_model_name_from_environment_factory() -> None:
    named = OfflineChatModel.from_environment(model_name="gpt-4o-mini")
    reply = named.invoke(messages(propose_prompt()), config=meta("propose"))
    assert reply.response_metadata["model_name"] == "gpt-4o-mini"


def test_estimate_tokens() -> None:
    assert estimate_tokens(0) == 1
    assert estimate_tokens(4) == 1
    assert estimate_tokens(5) == 2
    assert estimate_tokens(400) == 100


# --- structured output ------------------------------------------------------------------------


class Item(BaseModel):
    label: str
    weight: int = Field(ge=3, le=7)


class Plan(BaseModel):
    """A generic schema the offline model has no dedicated writer for."""

    title: str
    count: int = Field(ge=10, le=20)
    ratio: float = Field(ge=0.25, le=0.75)
    tags: list[str]
    items: list[Item] = Field(min_length=2)
    note: str | None = None
    done: bool


def structured(schema: type[BaseModel], user: str, config: dict[str, Any]) -> dict[str, Any]:
    runnable = model().with_structured_output(schema, include_raw=True)
    result = runnable.invoke(messages(user), config=config)
    assert isinstance(result, dict)
    return result


def test_structured_output_for_generic_schema() -> None:
    result = structured(Plan, propose_prompt(), meta("plan"))
    assert result["parsing_error"] is None
    plan = result["parsed"]
    assert isinstance(plan, Plan)
    assert 10 <= plan.count <= 20
    assert 0.25 <= plan.ratio <= 0.75
    assert len(plan.tags) >= 1 and all(tag for tag in plan.tags)
    assert len(plan.items) >= 2
    assert all(3 <= item.weight <= 7 for item in plan.items)
    assert plan.title
    raw = result["raw"]
    assert isinstance(raw, AIMessage)
    assert raw.tool_calls[0]["name"] == "Plan"
    assert raw.usage_metadata is not None and raw.usage_metadata["output_tokens"] > 0


def test_structured_output_generic_schema_across_many_prompts() -> None:
    for index in range(40):
        result = structured(Plan, propose_prompt(f"Problem number {index}. It must work."), meta("x"))
        assert isinstance(result["parsed"], Plan), result["parsing_error"]


def test_structured_output_is_deterministic() -> None:
    first = structured(Plan, propose_prompt(), meta("plan"))["parsed"]
    second = structured(Plan, propose_prompt(), meta("plan"))["parsed"]
    assert first == second


def test_structured_synthesis() -> None:
    proposal = offline_text.propose("architect", "a1", PROBLEM, offline_text.seeded("p"))
    user = (
        f"## Problem\n\n{PROBLEM}\n\n## The debate so far\n\n(none)\n\n"
        f"## Final proposals\n\n### a1 (architect)\n\n{prompts.embed(proposal)}\n\n## Your task\n\nSynthesize.\n"
    )
    result = structured(Synthesis, user, meta("synthesize", agent="judge-main", role="generalist"))
    synthesis = result["parsed"]
    assert isinstance(synthesis, Synthesis), result["parsing_error"]
    assert 0 <= synthesis.confidence <= 100
    assert synthesis.solutionMarkdown.strip()
    assert REQUIREMENT in synthesis.solutionMarkdown
    assert "a1" in synthesis.solutionMarkdown
    assert synthesis.tradeoffs and synthesis.recommendations


def test_structured_convergence_assessment() -> None:
    user = "## Problem\n\nX must work.\n\n## Current proposals\n\n### a1 (architect)\n\nstuff\n"
    result = structured(ConvergenceAssessment, user, meta("convergence", agent="judge-main", round_=2))
    assessment = result["parsed"]
    assert isinstance(assessment, ConvergenceAssessment), result["parsing_error"]
    assert 0 <= assessment.score <= 100
    assert assessment.reason


class Bounded(BaseModel):
    code: str = Field(max_length=8)


def test_structured_output_respects_string_max_length() -> None:
    result = structured(Bounded, propose_prompt(), meta("x"))
    assert isinstance(result["parsed"], Bounded), result["parsing_error"]


class NonPositive(BaseModel):
    offset: int = Field(le=0)


def test_structured_output_respects_maximum_without_minimum() -> None:
    result = structured(NonPositive, propose_prompt(), meta("x"))
    assert isinstance(result["parsed"], NonPositive), result["parsing_error"]


# --- phase-aware text -------------------------------------------------------------------------


def test_propose_maps_requirements_in_coverage_section() -> None:
    reply = model().invoke(messages(propose_prompt()), config=meta("propose"))
    text = str(reply.content)
    sections = offline_text.sections(text)
    for title in ("Summary", "Design", "Trade-offs and Risks", "Open Questions", "Requirements Coverage"):
        assert title in sections, title
    coverage = sections["Requirements Coverage"]
    assert REQUIREMENT in coverage
    # the requirement is mapped to an element of the proposed design
    design_names = [element.name for element in offline_text.design_elements(sections["Design"])]
    assert design_names
    assert any(f"**{name}**" in coverage for name in design_names)


def test_propose_without_requirements_says_so() -> None:
    reply = model().invoke(
        messages(propose_prompt("Design a photo gallery for a club.")), config=meta("propose")
    )
    coverage = offline_text.sections(str(reply.content))["Requirements Coverage"]
    assert "no explicit must/shall requirement" in coverage


def _proposal_text() -> str:
    return str(model().invoke(messages(propose_prompt()), config=meta("propose", agent="a1")).content)


def test_critique_names_target_and_references_proposal_element() -> None:
    proposal = _proposal_text()
    elements = [element.name for element in offline_text.design_elements(proposal)]
    user = (
        f"## Problem\n\n{PROBLEM}\n\n## Proposal by a1 (security)\n\n{prompts.embed(proposal)}\n\n"
        "## Your task\n\nReview a1's proposal.\n"
    )
    reply = model().invoke(
        messages(user), config=meta("critique", agent="a2", role="performance", dialectic_target="a1")
    )
    text = str(reply.content)
    sections = offline_text.sections(text)
    assert {"Requirements Check", "Strengths", "Weaknesses", "Suggested Changes"} <= set(sections)
    assert "a1" in sections["Requirements Check"]
    assert REQUIREMENT in sections["Requirements Check"]
    assert any(f"**{name}**" in text for name in elements)


def test_critique_of_proposal_without_coverage_says_so() -> None:
    user = (
        f"## Problem\n\n{PROBLEM}\n\n## Proposal by b7 (kiss)\n\n"
        "#### Design\n\n1. **single binary** — does everything.\n\n## Your task\n\nReview.\n"
    )
    reply = model().invoke(messages(user), config=meta("critique", agent="a2", dialectic_target="b7"))
    text = str(reply.content)
    assert "b7's proposal has no Requirements Coverage section" in text
    assert "single binary" in text.lower()


def test_refine_answers_each_critic() -> None:
    proposal = _proposal_text()
    critique_prompt = f"## Problem\n\n{PROBLEM}\n\n## Proposal by a1 (security)\n\n{prompts.embed(proposal)}\n\n## Your task\n\nx\n"
    critique = str(
        model()
        .invoke(
            messages(critique_prompt),
            config=meta("critique", agent="a2", role="performance", dialectic_target="a1"),
        )
        .content
    )
    user = (
        f"## Problem\n\n{PROBLEM}\n\n## Your current proposal\n\n{prompts.embed(proposal)}\n\n"
        f"## Critiques you received\n\n### Critique from a2 (performance)\n\n{prompts.embed(critique)}\n\n"
        "## Your task\n\nRevise.\n"
    )
    reply = str(model().invoke(messages(user), config=meta("refine")).content)
    sections = offline_text.sections(reply)
    assert "**a2** (performance)" in sections["Response to Critiques"]
    assert REQUIREMENT in sections["Requirements Coverage"]
    kept = [element.name for element in offline_text.design_elements(proposal)]
    revised = [element.name for element in offline_text.design_elements(sections["Revised Design"])]
    assert revised[: len(kept)] == kept


def test_summarize_respects_max_length() -> None:
    material = "\n".join(f"{i}. **component {i}** — does thing {i}." for i in range(1, 8))
    user = (
        f"## Problem\n\n{PROBLEM}\n\n## New material since then\n\nRound 1\n\n{material}\n\n"
        "## Your task\n\nWrite at most 120 characters, in complete sentences.\n"
    )
    reply = str(model().invoke(messages(user), config=meta("summarize")).content)
    assert 0 < len(reply) <= 120
    assert reply.endswith(".")


# --- environment controls ---------------------------------------------------------------------


def test_latency_env_adds_latency(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALECTIC_OFFLINE_LATENCY_MS", "120")
    slow = OfflineChatModel.from_environment()
    assert slow.latency_ms == 120
    started = time.perf_counter()
    slow.invoke(messages(propose_prompt()), config=meta("propose"))
    assert time.perf_counter() - started >= 0.12


def test_no_latency_by_default() -> None:
    assert model().latency_ms == 0


def read_call_log(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def finished_calls(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line per finished call (older logs have no "event" key; newer ones mark it "end")."""
    return [r for r in records if r.get("event", "end") == "end"]


def test_call_log_gets_one_json_line_per_call(monkeypatch: pytest.MonkeyPatch, isolated: Path) -> None:
    log = isolated / "calls.jsonl"
    monkeypatch.setenv("DIALECTIC_OFFLINE_CALL_LOG", str(log))
    logged = OfflineChatModel.from_environment()
    logged.invoke(messages(propose_prompt()), config=meta("propose", agent="a1", round_=1))
    logged.invoke(
        messages(propose_prompt()), config=meta("critique", agent="a2", round_=2, dialectic_target="a1")
    )
    logged.with_structured_output(Plan, include_raw=True).invoke(
        messages("x"), config=meta("plan", agent="j")
    )

    records = read_call_log(log)
    finished = finished_calls(records)
    assert [(r["phase"], r["agent"], r["round"]) for r in finished] == [
        ("propose", "a1", 1),
        ("critique", "a2", 2),
        ("plan", "j", 1),
    ]
    assert finished[1]["target"] == "a1"
    assert all(r["input_tokens"] > 0 and r["output_tokens"] > 0 for r in finished)
    assert all(r["pid"] > 0 and r["time"] > 0 for r in records)
    # any other line is the matching "call started" line of one of these calls
    started = [r for r in records if r not in finished]
    assert all(r["event"] == "start" for r in started)
    assert len(started) in (0, len(finished))


def test_no_call_log_by_default(isolated: Path) -> None:
    model().invoke(messages(propose_prompt()), config=meta("propose"))
    assert list(isolated.iterdir()) == []


def test_fail_env_selects_agent_and_phase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALECTIC_OFFLINE_FAIL", "a1:critique")
    flaky = OfflineChatModel.from_environment()

    with pytest.raises(SimulatedOutage) as info:
        flaky.invoke(messages(propose_prompt()), config=meta("critique", agent="a1"))
    assert info.value.status_code == 503
    assert status_code(info.value) == 503
    assert is_transient(info.value)
    assert "a1" in str(info.value) and "critique" in str(info.value)

    # other phases of the same agent and the same phase of other agents work
    assert flaky.invoke(messages(propose_prompt()), config=meta("propose", agent="a1")).content
    assert flaky.invoke(messages(propose_prompt()), config=meta("critique", agent="a2")).content


def test_fail_env_wildcards_and_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALECTIC_OFFLINE_FAIL", " *:refine , b2:* ")
    flaky = OfflineChatModel.from_environment()
    assert flaky.fail == ("*:refine", "b2:*")
    for config in (meta("refine", agent="anyone"), meta("propose", agent="b2"), meta("critique", agent="b2")):
        with pytest.raises(SimulatedOutage):
            flaky.invoke(messages(propose_prompt()), config=config)
    assert flaky.invoke(messages(propose_prompt()), config=meta("propose", agent="b3")).content


def test_failing_call_is_not_logged(monkeypatch: pytest.MonkeyPatch, isolated: Path) -> None:
    log = isolated / "calls.jsonl"
    monkeypatch.setenv("DIALECTIC_OFFLINE_CALL_LOG", str(log))
    monkeypatch.setenv("DIALECTIC_OFFLINE_FAIL", "a1:propose")
    flaky = OfflineChatModel.from_environment()
    with pytest.raises(SimulatedOutage):
        flaky.invoke(messages(propose_prompt()), config=meta("propose", agent="a1"))
    flaky.invoke(messages(propose_prompt()), config=meta("propose", agent="a2"))
    records = read_call_log(log)
    assert [r["agent"] for r in finished_calls(records)] == ["a2"]
    assert all(r["agent"] == "a2" for r in records)


# --- helpers of offline_text ------------------------------------------------------------------


def test_sections_parses_level_two_headings() -> None:
    text = "intro\n## One\nbody 1\n### Sub\nmore\n## Two\nbody 2\n## One\nduplicate\n"
    assert offline_text.sections(text) == {"One": "body 1\n### Sub\nmore", "Two": "body 2"}


def test_seeded_is_stable() -> None:
    assert offline_text.seeded("a", "b").random() == offline_text.seeded("a", "b").random()
    assert offline_text.seeded("a", "b").random() != offline_text.seeded("ab").random()
