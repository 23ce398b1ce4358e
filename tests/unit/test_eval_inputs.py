"""What evaluators read of a saved debate, and the debates that cannot be evaluated."""

import json

import pytest

from dialectic.errors import InputError
from dialectic.evaluation.inputs import coverage_section, debate_name, load_debate

PROBLEM = "Design a queue. It must never lose a job. Jobs shall run within a minute. Be nice."


def proposal(agent, kind, coverage):
    return {
        "agentId": agent,
        "agentRole": "architect",
        "type": kind,
        "content": f"## Design\n\n1. **broker** — keeps jobs.\n\n## Requirements Coverage\n\n{coverage}\n\n## Notes\n\nmore",
    }


def record(**overrides):
    data = {
        "id": "deb-x",
        "problem": PROBLEM,
        "status": "completed",
        "currentRound": 2,
        "rounds": [
            {
                "roundNumber": 1,
                "contributions": [
                    proposal("a1", "proposal", "- old a1"),
                    proposal("a2", "proposal", "- a2 r1"),
                ],
            },
            {"roundNumber": 2, "contributions": [proposal("a1", "refinement", "- newest a1")]},
        ],
        "finalSolution": {
            "description": "# Final\n\nUse a **broker**.",
            "tradeoffs": [],
            "recommendations": [],
            "confidence": 40,
            "synthesizedBy": "judge-main",
            "unfulfilledMajorRequirements": ["Jobs shall run within a minute."],
        },
        "clarifications": [
            {
                "agentId": "a1",
                "agentName": "Architect",
                "role": "architect",
                "items": [{"id": "q1", "question": "How many jobs?", "answer": "10k a day"}],
            }
        ],
    }
    data.update(overrides)
    return data


def save(tmp_path, data, name="deb-x.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_inputs_of_a_finished_debate(tmp_path):
    inputs = load_debate(save(tmp_path, record()))
    assert inputs.name == "deb-x"
    assert inputs.problem == PROBLEM
    assert inputs.final_solution == "# Final\n\nUse a **broker**."
    assert "How many jobs?" in inputs.clarifications and "10k a day" in inputs.clarifications


def test_requirements_info_lists_requirements_unfulfilled_and_latest_coverage(tmp_path):
    info = load_debate(save(tmp_path, record())).requirements_info
    assert "- It must never lose a job." in info
    assert "- Jobs shall run within a minute." in info
    assert "Be nice" not in info
    unfulfilled = info.split("### Requirements the judge marked as unfulfilled")[1]
    assert unfulfilled.strip().startswith("- Jobs shall run within a minute.")
    assert "### Requirements Coverage claimed by a1 (round 2 refinement)\n\n- newest a1" in info
    assert "old a1" not in info  # only the latest proposal or refinement counts
    assert "### Requirements Coverage claimed by a2 (round 1 proposal)\n\n- a2 r1" in info
    assert "Notes" not in info  # the section ends at the next heading


def test_requirements_info_when_nothing_was_recorded(tmp_path, fixtures_dir):
    inputs = load_debate(fixtures_dir / "saved-debate-2-agents-2-rounds.json")
    assert inputs.name == "saved-debate-2-agents-2-rounds"
    assert inputs.clarifications == ""
    assert "Students must be able to upload their source code" in inputs.requirements_info
    assert "- (Not recorded in this debate.)" in inputs.requirements_info
    assert "claimed by" not in inputs.requirements_info


def test_coverage_section_levels_and_the_last_one_wins():
    text = "# A\n## Requirements Coverage\nfirst\n# B\n### Requirements coverage:\n- x\n#### detail\n- y\n### Next\nz"
    assert coverage_section(text) == "- x\n#### detail\n- y"
    assert coverage_section("## Design\nnothing") is None
    assert coverage_section("## Requirements Coverage\n\n") is None


@pytest.mark.parametrize(
    "final", [None, {"description": "   ", "tradeoffs": [], "recommendations": [], "confidence": 0}]
)
def test_a_debate_without_a_final_solution_is_exit_2(tmp_path, final):
    data = record(status="running")
    data.pop("finalSolution")
    if final is not None:
        data["finalSolution"] = final
    with pytest.raises(InputError) as caught:
        load_debate(save(tmp_path, data))
    assert caught.value.exit_code == 2
    assert "has no final solution (status 'running')" in str(caught.value)
    assert "dialectic resume deb-x" in str(caught.value)


def test_not_a_debate_file(tmp_path):
    with pytest.raises(InputError, match="not a debate file"):
        load_debate(save(tmp_path, {"agents": []}))
    with pytest.raises(InputError, match="debate file not found"):
        load_debate(tmp_path / "missing.json")


def test_debate_name_drops_only_a_json_extension(tmp_path):
    assert debate_name(tmp_path / "deb-1.JSON") == "deb-1"
    assert debate_name(tmp_path / "deb-1.txt") == "deb-1.txt"
