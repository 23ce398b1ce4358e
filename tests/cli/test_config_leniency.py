"""What the TypeScript tool accepts runs here: its own configs without a warning; unknown keys,
``synthesisMethod: "voting"`` and unknown roles with one warning each (exit 0); ``--strict`` or
``"strict": true`` makes those exit 4. Prompt files may hold braces that are no placeholder.
Through the installed command; independent commands run at once."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

PROBLEM = "Design a cache. It must survive restarts."
SAVED = "saved-debate-2-agents-2-rounds.json"


def run_all(cli: Callable[..., Any], *invocations: Sequence[str]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda args: cli(*args), invocations))


def warnings_in(stderr: str) -> list[str]:
    return [line.removeprefix("warning: ") for line in stderr.splitlines() if line.startswith("warning:")]


def agent(agent_id: str, role: str, **extra: object) -> dict[str, object]:
    return {
        "id": agent_id,
        "name": agent_id.title(),
        "role": role,
        "model": "m",
        "provider": "offline",
        **extra,
    }


# A config the TypeScript tool runs: keys it ignores, voting, a role it has no prompts for.
LENIENT = {
    "agents": [
        agent("a1", "architect", temprature=0.3),
        agent("a2", "devops"),
        agent("a3", "securty", tools=[{"name": "context_search", "description": "search"}]),
    ],
    "judge": {**agent("judge", "generalist"), "color": "blue"},
    "debate": {"rounds": 1, "synthesisMethod": "voting", "summarization": {"enabled": False}},
    "version": 2,
}
EXPECTED_WARNINGS = [
    "unknown key 'temprature' in agents[0] (did you mean 'temperature'?); ignored",
    "unknown key 'description' in agents[2].tools[0]; ignored",
    "unknown key 'color' in judge; ignored",
    "unknown key 'version' in top level; ignored",
    "debate.synthesisMethod: 'voting' is not supported here; the judge synthesizes the final solution "
    "(as the TypeScript tool does)",
    "agents[1].role: unknown role 'devops'; the agent uses the architect prompts (as the TypeScript tool "
    "does; a promptsDir gives a custom role its own)",
    "agents[2].role: unknown role 'securty' (did you mean 'security'?); the agent uses the architect "
    "prompts (as the TypeScript tool does; a promptsDir gives a custom role its own)",
]


def typescript_configs(fixtures_dir: Path) -> list[Path]:
    """Every config file among the TypeScript fixtures (saved debates have no "agents" list)."""
    found = []
    for path in sorted(fixtures_dir.rglob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        if (
            isinstance(document, dict)
            and isinstance(document.get("agents"), list)
            and "rounds" not in document
        ):
            found.append(path)
    return found


def test_every_typescript_config_runs_offline_without_a_warning(cli, isolated: Path, fixtures_dir: Path):
    shutil.copytree(fixtures_dir, isolated / "ts")
    # debate-config-sm.json asks questions (every answer NA)
    (isolated / "no-answers.json").write_text(json.dumps({f"q{n}": "NA" for n in range(1, 60)}))
    configs = typescript_configs(isolated / "ts")
    assert len(configs) >= 5  # 4 debate configs and the evaluator config
    invocations = []
    for n, path in enumerate(configs):
        if "eval" in path.name:
            # Its prompt files are in the folder above it: allowed only with --trust-config (issue 11).
            invocations.append(
                ("eval", "--strict", "--trust-config", "--offline", "-c", str(path), "-d", f"ts/{SAVED}")
            )
        else:
            config = json.loads(path.read_text())
            answers = (
                ("--answers", "no-answers.json") if config["debate"].get("interactiveClarifications") else ()
            )
            invocations.append(
                ("debate", "--strict", "--offline", "-r", "1", "-c", str(path), "--id", f"ts-{n}", "--db",
                 f"ts-{n}.sqlite", "-p", "ts/example3/problem.md", *answers)
            )  # fmt: skip
    results = run_all(cli, *invocations)
    for n, path in enumerate(configs):
        stderr = results[n].stderr
        for _ in range(5):  # clarifications come in batches: answer each (all NA) until done
            if results[n].code != 5:
                break
            results[n] = cli("resume", f"ts-{n}", "--db", f"ts-{n}.sqlite", "--answers", "no-answers.json")
        assert results[n].code == 0, f"{path.name}: {results[n].stderr}"
        assert warnings_in(stderr) == [], f"{path.name}: {stderr}"


def test_lenient_config_runs_with_a_warning_for_each_leniency(cli, isolated: Path):
    (isolated / "lenient.json").write_text(json.dumps(LENIENT, indent=2))
    result = cli("debate", "--offline", "-c", "lenient.json", "--id", "lenient", PROBLEM)
    assert result.code == 0, result.stderr
    assert warnings_in(result.stderr) == EXPECTED_WARNINGS
    record = json.loads((isolated / "debates" / "lenient.json").read_text())
    assert record["status"] == "completed"
    assert record["finalSolution"]["synthesizedBy"] == "judge"
    roles = {c["agentId"]: c["agentRole"] for c in record["rounds"][0]["contributions"]}
    assert roles == {"a1": "architect", "a2": "devops", "a3": "securty"}  # the names are kept
    # the role names select agents as the config spells them
    picked = cli("debate", "--offline", "-c", "lenient.json", "-a", "devops", "--id", "picked", PROBLEM)
    assert picked.code == 0, picked.stderr
    assert [a["id"] for a in json.loads((isolated / "debates" / "picked.json").read_text())["agents"]] == [
        "a2"
    ]


def test_strict_turns_each_leniency_into_exit_4(cli, isolated: Path):
    cases = {
        "key.json": ({"agents": [agent("a1", "architect", temprature=0.3)]}, "did you mean 'temperature'"),
        "voting.json": (
            {"agents": [agent("a1", "kiss")], "debate": {"synthesisMethod": "voting"}},
            "'voting'",
        ),
        "merge.json": ({"agents": [agent("a1", "kiss")], "debate": {"synthesisMethod": "merge"}}, "'merge'"),
        "role.json": ({"agents": [agent("a1", "devops")]}, "unknown role 'devops'"),
    }
    for name, (document, _) in cases.items():
        (isolated / name).write_text(json.dumps(document))
        (isolated / f"in-file-{name}").write_text(json.dumps({**document, "strict": True}))
    names = list(cases)
    results = run_all(
        cli,
        *(("debate", "--offline", "--strict", "-c", name, PROBLEM) for name in names),
        *(("debate", "--offline", "-c", f"in-file-{name}", PROBLEM) for name in names),
        *(("debate", "--offline", "-c", name, "-r", "1", PROBLEM) for name in names),
    )
    for n, result in enumerate(results):
        name = names[n % len(names)]
        if n >= 2 * len(names):  # the same configs without strict: warnings, and they run
            assert result.code == 0, f"{name}: {result.stderr}"
            assert len(warnings_in(result.stderr)) == 1, result.stderr
            continue
        assert result.code == 4, f"{name}: {result.stderr}"
        assert result.stdout == ""
        [line] = result.stderr.splitlines()
        assert line.startswith("error: config error in ") and cases[name][1] in line and "strict" in line, (
            line
        )


def test_fork_with_a_lenient_config_warns_and_strict_refuses(cli, isolated: Path):
    agents = [agent("a1", "architect"), agent("a2", "kiss")]
    (isolated / "base.json").write_text(json.dumps({"agents": agents, "debate": {"rounds": 1}}))
    assert cli("debate", "-c", "base.json", "--id", "parent", PROBLEM).code == 0
    shown = cli("show", "parent", "--json", "--history")
    first = json.loads(shown.stdout)["checkpoints"][2]["checkpoint"]
    (isolated / "fork.json").write_text(
        json.dumps({"agents": agents, "debate": {"rounds": 2, "colour": "red"}})
    )
    refused, forked = run_all(
        cli,
        ("fork", "parent", "--at", first, "-c", "fork.json", "--strict", "--id", "refused"),
        ("fork", "parent", "--at", first, "-c", "fork.json", "--id", "child"),
    )
    assert refused.code == 4 and "unknown key 'colour' in debate" in refused.stderr, refused.stderr
    assert forked.code == 0, forked.stderr
    assert warnings_in(forked.stderr) == ["unknown key 'colour' in debate; ignored"]


def test_eval_config_with_an_unknown_key_warns_and_strict_refuses(cli, eval_layout: Path):
    config = json.loads((eval_layout / "example3" / "eval_config.json").read_text())
    config["agents"][0]["temperature"] = 0.2  # the TypeScript tool ignores it too
    (eval_layout / "example3" / "loose.json").write_text(json.dumps(config))
    loose, strict = run_all(
        cli,
        ("eval", "--offline", "-c", "example3/loose.json", "-d", SAVED),
        ("eval", "--offline", "--strict", "-c", "example3/loose.json", "-d", SAVED),
    )
    assert loose.code == 0, loose.stderr
    assert warnings_in(loose.stderr) == ["unknown key 'temperature' in agents[0]; ignored"]
    assert strict.code == 4 and strict.stdout == ""
    assert strict.stderr.startswith("error: evaluator config error in ") and "'temperature'" in strict.stderr


def test_braces_in_a_prompt_file_are_text(cli, isolated: Path):
    (isolated / "system.md").write_text(
        'You are {agent_name}. Answer with JSON like {"type": "object"}; keep {word} as written.\n'
    )
    (isolated / "c.json").write_text(
        json.dumps({"agents": [agent("a1", "architect", systemPromptPath="system.md"), agent("a2", "kiss")]})
    )
    result = cli("debate", "--offline", "-r", "1", "-c", "c.json", PROBLEM)
    assert result.code == 0, result.stderr
    assert warnings_in(result.stderr) == []
