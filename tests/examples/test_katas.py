"""The example problems in examples/: each runs offline through the installed command as its
README says, the one with code is read through --context, and they ship in the sdist and are
listed in the README."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
KATAS = ("meeting_rooms", "library_loans", "delivery_dispatch", "rate_limiter_upgrade")


def saved(folder: Path, debate_id: str) -> dict:
    return json.loads((folder / "debates" / f"{debate_id}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("kata", KATAS)
def test_each_kata_runs_offline(cli, isolated: Path, kata: str):
    folder = EXAMPLES / kata
    config = json.loads((folder / "debate-config.json").read_text(encoding="utf-8"))
    # Offline-friendly: a real provider and model, which --offline replaces.
    assert {m["provider"] for m in [*config["agents"], config["judge"]]} == {"openai"}
    assert all(m.get("model") for m in [*config["agents"], config["judge"]])
    extra = ["--context", str(folder / "service")] if (folder / "service").is_dir() else []
    result = cli(
        "debate",
        "--offline",
        "-p",
        str(folder / "problem.md"),
        "-c",
        str(folder / "debate-config.json"),
        "--id",
        f"kata-{kata}",
        *extra,
        input="",
    )
    assert result.code == 0, result.stderr
    assert "## Judge Assessment" in result.stdout
    record = saved(isolated, f"kata-{kata}")
    assert record["status"] == "completed"
    assert len({c["agentId"] for c in record["rounds"][0]["contributions"]}) == len(config["agents"])


def test_the_requirements_kata_lists_requirements_the_debate_tracks(cli, isolated: Path):
    from dialectic.prompts.requirements import requirements_list

    problem = (EXAMPLES / "library_loans" / "problem.md").read_text(encoding="utf-8")
    assert len(requirements_list(problem).splitlines()) >= 3


def test_the_context_kata_reads_its_code(cli, isolated: Path):
    folder = EXAMPLES / "rate_limiter_upgrade"
    args = ["-p", str(folder / "problem.md"), "-c", str(folder / "debate-config.json")]
    result = cli(
        "debate", "--offline", *args, "--context", str(folder / "service"), "--id", "ctx", "--report", "r.md"
    )
    assert result.code == 0, result.stderr
    contributions = [c for r in saved(isolated, "ctx")["rounds"] for c in r["contributions"]]
    read = {
        json.loads(call["arguments"]).get("path")
        for c in contributions
        for call in c["metadata"].get("toolCalls", [])
        if call["name"] == "file_read"
    }
    assert {"limiter.py", "gateway.py"} <= read
    assert "Files read:" in (isolated / "r.md").read_text(encoding="utf-8")


def test_the_evaluator_example_scores_a_kata(cli, isolated: Path):
    eval_config = EXAMPLES / "evaluation" / "eval_config.json"
    for agent in json.loads(eval_config.read_text(encoding="utf-8"))["agents"]:
        for key in ("systemPromptPath", "userPromptPath"):
            if key in agent:
                assert (eval_config.parent / agent[key]).is_file(), agent[key]
    folder = EXAMPLES / "meeting_rooms"
    debate = cli(
        "debate", "--offline", "-p", str(folder / "problem.md"), "-c", str(folder / "debate-config.json"),
        "--id", "ev",
    )  # fmt: skip
    assert debate.code == 0, debate.stderr
    scored = cli("eval", "--offline", "-c", str(eval_config), "-d", "debates/ev.json")
    assert scored.code == 0, scored.stderr
    assert "Overall Score" in scored.stdout


def test_the_examples_ship_in_the_sdist_and_are_documented():
    assert "graft examples" in (ROOT / "MANIFEST.in").read_text(encoding="utf-8").split("\n")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for kata in KATAS:
        assert f"(examples/{kata}/)" in readme
        assert (EXAMPLES / kata / "README.md").is_file()
    assert "examples/evaluation/eval_config.json" in readme
