"""Every option of ``dialectic debate``, run through the installed command with the offline model
(one or two rounds, about a second each)."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BUILT_IN_NOTICE = "no debate-config.json here: using the built-in configuration"
BUILT_IN_AGENTS = ["agent-architect", "agent-performance", "agent-kiss"]
PROBLEM = "Design a URL shortener. It must handle 1,000 new links per second."
_PROGRESS = re.compile(r"^\[\s*\d+\.\d+s\] (.*)$")


def progress(stderr: str) -> list[str]:
    """The per-phase progress lines, without their clock and figures."""
    found = [m.group(1) for line in stderr.splitlines() if (m := _PROGRESS.match(line))]
    return [re.sub(r"(: | \().*$", "", line) for line in found]


def lines_add_up(stderr: str, record: dict) -> bool:
    """Whether the progress lines' tokens add up to the debate's."""
    shown = [int(m.group(1).replace(",", "")) for m in re.finditer(r"\(?([\d,]+) tokens", stderr)]
    total = record["usage"]["total"]
    return sum(shown) == total["inputTokens"] + total["outputTokens"]


def saved(folder: Path, debate_id: str) -> dict:
    return json.loads((folder / "debates" / f"{debate_id}.json").read_text(encoding="utf-8"))


def contributors(record: dict) -> set[str]:
    return {c["agentId"] for r in record["rounds"] for c in r["contributions"]}


def offline_agents(*roles: str) -> list[dict[str, object]]:
    return [
        {"id": f"my-{role}", "name": role.title(), "role": role, "model": "sim-1", "provider": "offline"}
        for role in roles
    ]


def offline_config(*roles: str, rounds: int = 1) -> dict[str, object]:
    return {
        "agents": offline_agents(*roles),
        "judge": {
            "id": "my-judge",
            "name": "Judge",
            "role": "generalist",
            "model": "sim-1",
            "provider": "offline",
        },
        "debate": {"rounds": rounds, "terminationCondition": {"type": "fixed"}},
    }


def assert_solution_only(stdout: str, record: dict) -> None:
    """stdout is the final solution and nothing else."""
    assert stdout.rstrip("\n") == record["finalSolution"]["description"].rstrip("\n")
    assert "## Judge Assessment" in stdout
    assert not re.search(r"^(\[\s*\d+\.\d+s\] |debate \S+: |no debate-config)", stdout, re.MULTILINE)


# --- the problem --------------------------------------------------------------------------------


def test_inline_problem_built_in_config_and_one_line_per_phase(cli, isolated: Path):
    result = cli("debate", "--offline", "-r", "2", "--id", "inline", f"   {PROBLEM}\n  ")
    assert result.code == 0, result.stderr
    record = saved(isolated, "inline")
    assert record["problem"] == PROBLEM  # trimmed
    assert record["status"] == "completed"
    assert_solution_only(result.stdout, record)

    lines = result.stderr.splitlines()
    assert lines[0] == BUILT_IN_NOTICE
    assert sum("built-in" in line for line in lines) == 1
    assert progress(result.stderr) == [
        "round 1/2 proposals",
        "round 1/2 critiques",
        "round 1/2 refinements",
        "round 2/2 critiques",
        "round 2/2 refinements",
        "judge synthesized the final design",
    ]
    assert lines[-1] == "debate inline: completed · JSON debates/inline.json"
    assert lines_add_up(result.stderr, record)  # the summaries' tokens are on the refinements' line
    assert "\x1b[" not in result.stderr  # not a terminal: no colours, no live table
    assert "error" not in result.stderr.lower()
    assert sorted(contributors(record)) == sorted(BUILT_IN_AGENTS)


def test_the_lines_of_a_debate_ending_on_consensus_add_up(cli, isolated: Path):
    config = offline_config("architect", "kiss", rounds=3)
    config["debate"]["terminationCondition"] = {"type": "convergence", "threshold": 99}  # type: ignore[index]
    (isolated / "debate-config.json").write_text(json.dumps(config))
    result = cli("debate", "--id", "converge", PROBLEM)
    assert result.code == 0, result.stderr
    assert "consensus" in result.stderr  # the judge scored agreement after rounds 1 and 2
    assert lines_add_up(result.stderr, saved(isolated, "converge"))


# --- configs -------------------------------------------------------------------------------------


def test_json_config_rounds_override_and_problem_file(cli, isolated: Path, fixtures_dir: Path):
    problem = fixtures_dir / "task-queue" / "problem.md"
    (isolated / "conf").mkdir()
    (isolated / "conf" / "mine.json").write_text(
        json.dumps(offline_config("architect", "security", rounds=3))
    )
    result = cli(
        "debate", "-c", "conf/mine.json", "-r", "2", "--id", "json-conf", "--problem-file", str(problem)
    )
    assert result.code == 0, result.stderr
    assert BUILT_IN_NOTICE not in result.stderr
    record = saved(isolated, "json-conf")
    assert record["problem"] == problem.read_text(encoding="utf-8").strip()
    assert [r["roundNumber"] for r in record["rounds"]] == [1, 2]  # -r 2 wins over the config's 3
    assert contributors(record) == {"my-architect", "my-security"}
    assert [a["id"] for a in record["agents"]] == ["my-architect", "my-security"]
    assert record["finalSolution"]["synthesizedBy"] == "my-judge"
    assert progress(result.stderr)[0] == "round 1/2 proposals"
    assert_solution_only(result.stdout, record)


def test_yaml_config_and_short_problem_flag(cli, isolated: Path):
    (isolated / "problem.md").write_text(f"\n\n{PROBLEM}\n\n", encoding="utf-8")
    (isolated / "mine.yaml").write_text(
        "# a YAML config\n"
        "agents:\n"
        "  - {id: y-arch, name: Arch, role: architect, model: sim-1, provider: offline}\n"
        "  - {id: y-test, name: Tester, role: testing, model: sim-1, provider: offline, temperature: 0.2}\n"
        "judge: {id: y-judge, name: Judge, role: generalist, model: sim-1, provider: offline}\n"
        "debate:\n"
        "  rounds: 1\n"
    )
    result = cli("debate", "-c", "mine.yaml", "--id", "yaml-conf", "-p", "problem.md")
    assert result.code == 0, result.stderr
    record = saved(isolated, "yaml-conf")
    assert record["problem"] == PROBLEM
    assert [r["roundNumber"] for r in record["rounds"]] == [1]  # the config's rounds
    assert contributors(record) == {"y-arch", "y-test"}
    assert {a["id"]: a["temperature"] for a in record["agents"]}["y-test"] == 0.2
    assert_solution_only(result.stdout, record)


def test_typescript_configs_run_unchanged_offline(cli, isolated: Path, fixtures_dir: Path):
    """Each of the TypeScript tool's configs, untouched; the three debates run at once (each with
    its own checkpoint store)."""
    configs = ["debate_config1.json", "example3/debate-config.json", "example3/debate-config-sm.json"]
    problem = str(fixtures_dir / "example3" / "problem.md")
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(
            pool.map(
                lambda n: cli(
                    "debate",
                    "--offline",
                    "-r",
                    "1",
                    "-c",
                    str(fixtures_dir / configs[n]),
                    "--id",
                    f"ts-{n}",
                    "--db",
                    f"ts-{n}.sqlite",
                    "-p",
                    problem,
                ),
                range(len(configs)),
            )
        )
    # debate-config-sm.json turns clarifications on: without a terminal each batch of questions
    # pauses (exit 5) until answered; empty answers are NA.
    (isolated / "no-answers.json").write_text("{}")
    for _ in range(3):
        if results[2].code != 5:
            break
        results[2] = cli("resume", "ts-2", "--db", "ts-2.sqlite", "--answers", "no-answers.json")
    for n, (config, result) in enumerate(zip(configs, results, strict=True)):
        assert result.code == 0, f"{config}: {result.stderr}"
        expected = json.loads((fixtures_dir / config).read_text())
        record = saved(isolated, f"ts-{n}")
        assert record["status"] == "completed", config
        wanted = [a["id"] for a in expected["agents"] if a.get("enabled", True)]
        assert contributors(record) == set(wanted), config
        assert [a["id"] for a in record["agents"]] == wanted, config
        assert [a["model"] for a in record["agents"]] == [a["model"] for a in expected["agents"]], config
        assert all(a["provider"] == "offline" for a in record["agents"]), config  # --offline wins
        assert record["finalSolution"]["synthesizedBy"] == expected["judge"]["id"], config
        assert_solution_only(result.stdout, record)


def test_default_config_file_and_long_problem_flag(cli, isolated: Path):
    (isolated / "debate-config.json").write_text(json.dumps(offline_config("security", "datamodeling")))
    (isolated / "problem.txt").write_text(PROBLEM, encoding="utf-8")
    # no -c and no --offline: ./debate-config.json is used, and its agents are offline
    result = cli("debate", "--id", "default-conf", "--problemDescription", "problem.txt")
    assert result.code == 0, result.stderr
    assert "built-in" not in result.stderr
    record = saved(isolated, "default-conf")
    assert record["problem"] == PROBLEM
    assert contributors(record) == {"my-security", "my-datamodeling"}
    assert_solution_only(result.stdout, record)


# --- agents and rounds ---------------------------------------------------------------------


def test_agents_flag_selects_roles(cli, isolated: Path):
    result = cli("debate", "--offline", "-a", "architect, kiss", "-r", "1", "--id", "picked", PROBLEM)
    assert result.code == 0, result.stderr
    record = saved(isolated, "picked")
    assert [a["id"] for a in record["agents"]] == ["agent-architect", "agent-kiss"]
    assert contributors(record) == {"agent-architect", "agent-kiss"}
    critiques = [c for c in record["rounds"][0]["contributions"] if c["type"] == "critique"]
    assert {(c["agentId"], c["targetAgentId"]) for c in critiques} == {
        ("agent-architect", "agent-kiss"),
        ("agent-kiss", "agent-architect"),
    }


def test_agents_flag_selecting_a_single_agent(cli, isolated: Path):
    result = cli("debate", "--offline", "-a", "architect", "-r", "1", "--id", "solo", PROBLEM)
    if result.code == 0:  # a one-agent debate is allowed: it must finish with a solution
        assert "## Judge Assessment" in result.stdout
        assert saved(isolated, "solo")["status"] == "completed"
    else:  # or refused before any LLM call, as a bad argument, in one line
        assert result.code in (2, 4), result.stderr
        assert result.stdout == ""
        assert not progress(result.stderr)
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "agent" in errors[0]


def test_convergence_config_prints_one_line_per_phase(cli, isolated: Path, fixtures_dir: Path):
    config = json.loads((fixtures_dir / "example3" / "debate-config-sm.json").read_text())  # convergence, 95
    config["debate"]["interactiveClarifications"] = False  # this test is about the rounds' progress lines
    (isolated / "conv.json").write_text(json.dumps(config))
    result = cli("debate", "--offline", "-c", "conv.json", "-r", "2", "--id", "conv", PROBLEM)
    assert result.code == 0, result.stderr
    lines = [line for line in progress(result.stderr) if line.startswith("round ") and "/" in line.split()[1]]
    assert len(lines) == len(set(lines)), result.stderr


# --- outputs ---------------------------------------------------------------------------------


def test_output_json_and_default_id(cli, isolated: Path):
    result = cli("debate", "--offline", "-r", "1", "-o", "x.json", PROBLEM)
    assert result.code == 0, result.stderr
    assert result.stdout == ""
    written = json.loads((isolated / "x.json").read_text(encoding="utf-8"))
    debate_id = written["id"]
    assert re.fullmatch(r"deb-\d{8}-\d{6}-[0-9a-z]{4}", debate_id), debate_id
    assert written == saved(isolated, debate_id)
    assert written["problem"] == PROBLEM
    assert written["status"] == "completed"
    assert {"rounds", "finalSolution", "createdAt", "updatedAt"} <= written.keys()
    assert {c["type"] for c in written["rounds"][0]["contributions"]} == {
        "proposal",
        "critique",
        "refinement",
    }
    assert (isolated / "debates" / "dialectic.sqlite").stat().st_size > 0
    assert f"debate {debate_id}: completed" in result.stderr


def test_id_db_and_upper_case_json_output(cli, isolated: Path):
    result = cli(
        "debate",
        "--offline",
        "-r",
        "1",
        "--id",
        "my-debate_1.a",
        "--db",
        "store/x.sqlite",
        "-o",
        "X.JSON",
        PROBLEM,
    )
    assert result.code == 0, result.stderr
    assert result.stdout == ""
    written = json.loads((isolated / "X.JSON").read_text(encoding="utf-8"))
    assert written == saved(isolated, "my-debate_1.a")
    assert written["id"] == "my-debate_1.a"
    assert (isolated / "store" / "x.sqlite").stat().st_size > 0
    assert not (isolated / "debates" / "dialectic.sqlite").exists()
    assert "debate my-debate_1.a: completed" in result.stderr


def test_output_text_and_a_report_that_cannot_be_written(cli, isolated: Path):
    """-o with another extension writes the solution text; a report path that cannot be written
    is refused before the debate spends anything (issue 11, item 7)."""
    (isolated / "blocker").write_text("a file, not a folder")
    refused = cli(
        "debate", "--offline", "-r", "1", "--id", "to-md", "-o", "sol.md", "--report", "blocker/r.md", PROBLEM
    )
    assert refused.code == 2 and refused.stdout == ""
    assert f"error: --report blocker/r.md: {isolated / 'blocker'} is a file, not a folder" in refused.stderr
    assert not (isolated / "debates").exists() and not (isolated / "sol.md").exists()
    result = cli("debate", "--offline", "-r", "1", "--id", "to-md", "-o", "sol.md", PROBLEM)
    assert result.code == 0, result.stderr
    assert result.stdout == ""
    record = saved(isolated, "to-md")
    assert record["status"] == "completed"
    text = (isolated / "sol.md").read_text(encoding="utf-8")
    assert text.rstrip("\n") == record["finalSolution"]["description"].rstrip("\n")
    assert "Traceback" not in result.stderr and "error:" not in result.stderr


def test_verbose_prints_a_per_call_breakdown_and_totals(cli, isolated: Path):
    result = cli("debate", "--offline", "-r", "1", "-v", "--id", "loud", PROBLEM)
    assert result.code == 0, result.stderr
    record = saved(isolated, "loud")
    assert_solution_only(result.stdout, record)
    for word in (
        "round",
        "agent",
        "phase",
        "latency",
        "tokens",
        "propose",
        "critique",
        "refine",
        "synthesize",
    ):
        assert word in result.stderr, word
    for agent_id in [*BUILT_IN_AGENTS, "judge-main"]:
        assert agent_id in result.stderr
    total = record["usage"]["total"]
    totals = [line for line in result.stderr.splitlines() if line.startswith("totals:")]
    assert len(totals) == 1
    assert f"{total['calls']} calls" in totals[0]
    assert f"{total['inputTokens']:,} input" in totals[0]
    assert f"{total['outputTokens']:,} output" in totals[0]
    assert "Traceback" not in result.stderr


def test_id_reused_with_another_store_does_not_overwrite_the_saved_debate(cli, isolated: Path):
    first = cli("debate", "--offline", "-r", "1", "--id", "twice", "--db", "one.sqlite", PROBLEM)
    assert first.code == 0, first.stderr
    before = (isolated / "debates" / "twice.json").read_bytes()
    second = cli("debate", "--offline", "-r", "1", "--id", "twice", "--db", "two.sqlite", "Design a cache.")
    assert (isolated / "debates" / "twice.json").read_bytes() == before
    assert second.code == 2, second.stderr


# --- env file --------------------------------------------------------------------------------


def test_env_file_supplies_the_key(cli, isolated: Path):
    """The key from -e passes the key check; the call then fails fast against the closed loopback
    OPENAI_BASE_URL: exit 3, one error line, state kept."""
    limits = {"provider": "openai", "model": "gpt-4o-mini", "maxRetries": 0, "timeoutSeconds": 2}
    config = {
        "agents": [
            {"id": "net-arch", "name": "Arch", "role": "architect", **limits},
            {"id": "net-kiss", "name": "Kiss", "role": "kiss", **limits},
        ],
        "judge": {"id": "net-judge", "name": "Judge", "role": "generalist", **limits},
        "debate": {"rounds": 1},
    }
    (isolated / "net.json").write_text(json.dumps(config))
    (isolated / "keys.env").write_text("OPENAI_API_KEY=sk-test-from-the-env-file\n")
    env = {"DIALECTIC_RETRY_BASE_SECONDS": "0.01"}

    without = cli("debate", "-c", "net.json", "--id", "no-key", PROBLEM, env=env)
    assert without.code == 4, without.stderr
    assert "missing API key" in without.stderr and "net-arch" in without.stderr

    result = cli(
        "debate", "-c", "net.json", "-e", "keys.env", "--id", "with-key", PROBLEM, env=env, timeout=60
    )
    assert result.code == 3, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert "missing API key" not in result.stderr
    assert "sk-test-from-the-env-file" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert "dialectic resume with-key" in result.stderr
    assert saved(isolated, "with-key")["status"] == "failed"
