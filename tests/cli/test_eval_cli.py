"""``dialectic eval`` end to end through the installed command, on the offline model."""

import csv
import json
from concurrent.futures import ThreadPoolExecutor

SAVED = "saved-debate-2-agents-2-rounds.json"
CONFIG = "example3/eval_config.json"
HEADER = (
    "debate,Functional Completeness,Performance & Scalability,Security,Maintainability & Evolvability,"
    "Regulatory Compliance,Testability,Requirements Fulfillment,Overall Score"
)


def scores_of(row: str) -> list[float]:
    return [float(cell) for cell in row.strip("| \n").split(" | ")[1:]]


def error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_scores_the_typescript_debate_with_the_fixture_config(cli, eval_layout):
    result = cli("eval", "-c", CONFIG, "-d", SAVED, "--offline")
    assert result.code == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == "| " + HEADER.replace(",", " | ") + " |"
    assert lines[2].startswith("| saved-debate-2-agents-2-rounds | ")
    scores = scores_of(lines[2])
    assert len(scores) == 8 and all(1 <= s <= 10 for s in scores)
    assert len(set(scores)) > 1


def test_json_output_skips_a_failed_evaluator_with_a_warning(cli, eval_layout):
    failing = {"DIALECTIC_OFFLINE_FAIL": "eval-2:evaluate"}
    result = cli("eval", "-c", CONFIG, "-d", SAVED, "--offline", "-o", "scores.json", env=failing)
    assert result.code == 0, result.stderr
    assert result.stdout == ""
    warning, notice = result.stderr.strip().splitlines()
    assert warning.startswith("warning: [eval-2] skipped: eval-2 (evaluate, round 1): provider failed")
    assert notice == "evaluation written to scores.json"
    document = json.loads((eval_layout / "scores.json").read_text())
    assert set(document) == {"evaluation", "overall_score", "agents"}
    assert set(document["agents"]) == {"eval-1"}
    assert document["agents"]["eval-1"]["evaluation"]["functional_completeness"]["reasoning"]
    average = document["evaluation"]["non_functional"]["security"]["average_score"]
    assert average == document["agents"]["eval-1"]["evaluation"]["non_functional"]["security"]["score"]


def test_csv_appends_one_row_per_run_under_one_header(cli, eval_layout):
    for _ in range(2):
        result = cli("eval", "-c", CONFIG, "-d", SAVED, "--offline", "-o", "scores.csv")
        assert result.code == 0, result.stderr
        assert "row appended to scores.csv" in result.stderr
    text = (eval_layout / "scores.csv").read_text()
    assert text.startswith(HEADER + "\n")
    rows = list(csv.reader(text.splitlines()))
    assert len(rows) == 3 and rows[1] == rows[2]  # same offline replies: the same row twice
    assert rows[1][0] == "saved-debate-2-agents-2-rounds"


def test_markdown_file_with_repeats(cli, eval_layout):
    result = cli("eval", "-c", CONFIG, "-d", SAVED, "--offline", "--repeats", "3", "-o", "scores.md", "-v")
    assert result.code == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr.count(": answered (") == 6  # 2 evaluators × 3 runs, shown with -v
    text = (eval_layout / "scores.md").read_text()
    assert text.startswith("| debate | Functional Completeness |")
    assert "3 runs of each of 2 evaluator(s)" in text
    spread = [line for line in text.splitlines() if line.startswith("| Overall Score |")]
    mean, across_runs, across_evaluators, count = spread[0].strip("| ").split(" | ")[1:]
    assert count == "6" and 1 <= float(mean) <= 10
    assert float(across_runs) >= 0 and float(across_evaluators) >= 0


def test_scores_a_debate_we_produced_with_built_in_prompts(cli, isolated):
    debate = cli(
        "debate", "--offline", "-r", "1", "--id", "to-score", "Design a cache. It must survive restarts."
    )
    assert debate.code == 0, debate.stderr
    (isolated / "eval.json").write_text(
        json.dumps({"agents": [{"id": "solo", "name": "Solo", "model": "gpt-4o-mini", "provider": "openai"}]})
    )
    result = cli("eval", "-c", "eval.json", "-d", "debates/to-score.json", "--offline", "-v")
    assert result.code == 0, result.stderr
    assert result.stdout.splitlines()[2].startswith("| to-score | ")
    assert "solo run 1: answered" in result.stderr


def test_compare_two_debates(cli, eval_layout):
    data = json.loads((eval_layout / SAVED).read_text())
    data["finalSolution"]["description"] = "One server with a cache and password login."
    (eval_layout / "small.json").write_text(json.dumps(data))
    result = cli("eval", "-c", CONFIG, "--compare", SAVED, "small.json", "--offline", "-o", "compare.json")
    assert result.code == 0, result.stderr
    comparison = json.loads((eval_layout / "compare.json").read_text())["comparison"]
    assert (comparison["a"], comparison["b"]) == ("saved-debate-2-agents-2-rounds", "small")
    assert comparison["pairs"] == 2 and comparison["winner"] == "A"
    assert comparison["position_bias_rate"] == comparison["contradictions"] / 2


def test_all_evaluators_failing_is_exit_3(cli, eval_layout):
    result = cli("eval", "-c", CONFIG, "-d", SAVED, "--offline", env={"DIALECTIC_OFFLINE_FAIL": "*:evaluate"})
    assert result.code == 3
    assert "all 2 evaluator call(s) failed; the first: [eval-1]" in error_line(result)
    assert result.stdout == ""


EVALUATOR = {"id": "e1", "name": "E", "model": "m", "provider": "openai"}

# name -> (files to write, arguments after "eval", exit code, what the one error line says)
BAD_INPUTS = {
    "missing config": ({}, ["-c", "nope.json", "-d", SAVED], 4, "config file not found: {cwd}/nope.json"),
    "invalid config JSON": (
        {"broken.json": '{"agents": ['},
        ["-c", "broken.json", "-d", SAVED],
        4,
        "invalid JSON in {cwd}/broken.json at line 1",
    ),
    "unknown provider": (
        {"provider.json": {"agents": [{**EVALUATOR, "provider": "claude"}]}},
        ["-c", "provider.json", "-d", SAVED],
        4,
        "agents[0].provider: unknown provider 'claude': use one of openai, openrouter,",
    ),
    "no enabled evaluator": (
        {"disabled.json": {"agents": [{**EVALUATOR, "enabled": False}]}},
        ["-c", "disabled.json", "-d", SAVED],
        4,
        "no enabled evaluator in {cwd}/disabled.json",
    ),
    "wrong field type": (
        {"typed.json": {"agents": [{**EVALUATOR, "timeout": "soon"}]}},
        ["-c", "typed.json", "-d", SAVED],
        4,
        "agents[0].timeout",
    ),
    "missing key": ({}, ["-c", CONFIG, "-d", SAVED], 4, "eval-1 (openrouter) needs OPENROUTER_API_KEY"),
    "no final solution": (
        {"unfinished.json": "UNFINISHED"},
        ["-c", CONFIG, "-d", "unfinished.json", "--offline"],
        2,
        "has no final solution (status 'running')",
    ),
    "missing debate": ({}, ["-c", CONFIG, "-d", "gone.json", "--offline"], 2, "debate file not found"),
    "debate and compare": (
        {},
        ["-c", CONFIG, "-d", SAVED, "--compare", SAVED, SAVED, "--offline"],
        2,
        "exactly one of --debate",
    ),
    "neither debate nor compare": ({}, ["-c", CONFIG, "--offline"], 2, "exactly one of --debate"),
    "zero repeats": ({}, ["-c", CONFIG, "-d", SAVED, "--repeats", "0"], 2, "--repeats must be"),
    "word repeats": ({}, ["-c", CONFIG, "-d", SAVED, "--repeats", "many"], 2, "--repeats must be"),
}


def test_bad_inputs_exit_with_the_spec_code_and_one_error_line(cli, eval_layout):
    saved = json.loads((eval_layout / SAVED).read_text())
    unfinished = {key: value for key, value in saved.items() if key != "finalSolution"} | {
        "status": "running"
    }
    for files, *_ in BAD_INPUTS.values():
        for name, content in files.items():
            content = unfinished if content == "UNFINISHED" else content
            (eval_layout / name).write_text(content if isinstance(content, str) else json.dumps(content))
    # Independent processes: run them side by side to keep the suite fast.
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = dict(
            zip(BAD_INPUTS, pool.map(lambda case: cli("eval", *case[1]), BAD_INPUTS.values()), strict=True)
        )
    for name, (_, _, code, fragment) in BAD_INPUTS.items():
        result = results[name]
        assert result.code == code, f"{name}: {result.code} {result.stderr}"
        assert fragment.format(cwd=eval_layout.resolve()) in error_line(result), name
    assert "--offline" in results["missing key"].stderr


def test_help_lists_the_options_without_loading_langgraph(isolated):
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from dialectic.cli import app\n"
        "try:\n    app(['eval', '--help'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith(('langgraph', 'langchain'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=isolated
    )
    assert done.returncode == 0, done.stderr
    for option in ("--config", "--debate", "--compare", "--repeats", "--offline", "--env-file"):
        assert option in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "[]"
