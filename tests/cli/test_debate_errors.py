"""Bad input to ``dialectic debate``: the exact exit code of spec §1.6, nothing on stdout, and one
clear ``error:`` line on stderr naming what is wrong. Nothing here reaches an LLM.

The cases of a group are independent, so each group runs its commands at once (a thread per
subprocess) and reports every case that fails, by name."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROLES = ("architect", "performance", "security", "testing", "kiss", "generalist", "datamodeling")
BUILT_IN_NOTICE = "no debate-config.json here: using the built-in configuration"
PROBLEM = "Design a cache. It must survive restarts."


def error_line(result, code: int, *, notice: bool = False) -> str:
    """Check the shape every error shares and return its one line (after the one-line notice that
    the built-in configuration is used, when ``notice``)."""
    assert result.code == code, f"exit {result.code}, expected {code}; stderr:\n{result.stderr}"
    assert result.stdout == "", f"stdout should be empty, got:\n{result.stdout}"
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    if notice:
        assert lines[:1] == [BUILT_IN_NOTICE], result.stderr
        lines = lines[1:]
    assert len(lines) == 1, f"stderr should be one line, got:\n{result.stderr}"
    assert lines[0].startswith("error:"), lines[0]
    return lines[0]


@dataclass
class Case:
    """One bad invocation. ``names``: what the error line must contain ("{cwd}" is the test's
    folder, so "{cwd}/x" is an absolute path); ``files``: written first, relative to that folder."""

    name: str
    args: tuple[str, ...]
    code: int
    names: tuple[str, ...]
    files: dict[str, str | bytes] = field(default_factory=dict)
    notice: bool = False


def run_all(cli: Callable[..., object], *invocations: Sequence[str]) -> list:
    """Run independent commands at once; results in the order given."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda args: cli(*args), invocations))


def check_cases(cli: Callable[..., object], folder: Path, cases: Sequence[Case]) -> None:
    for case in cases:
        for relative, content in case.files.items():
            path = folder / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
    results = run_all(cli, *(case.args for case in cases))
    problems = []
    for case, result in zip(cases, results, strict=True):
        try:
            line = error_line(result, case.code, notice=case.notice)
            for wanted in case.names:
                wanted = wanted.replace("{cwd}", str(folder))
                assert wanted in line, f"{wanted!r} not in: {line}"
        except AssertionError as exc:
            problems.append(f"[{case.name}] dialectic {' '.join(case.args)}\n{exc}")
    assert not problems, "\n\n".join(problems)


def agent(agent_id: str, role: str, **extra: object) -> dict[str, object]:
    return {
        "id": agent_id,
        "name": agent_id.title(),
        "role": role,
        "model": "m",
        "provider": "offline",
        **extra,
    }


JUDGE = {"id": "judge", "name": "Judge", "role": "generalist", "model": "m", "provider": "offline"}


def config_text(*agents: dict[str, object], judge: dict[str, object] | None = JUDGE) -> str:
    config: dict[str, object] = {"agents": list(agents), "debate": {"rounds": 1}}
    if judge is not None:
        config["judge"] = judge
    return json.dumps(config, indent=2)


GOOD_CONFIG = config_text(agent("a1", "architect"), agent("a2", "kiss"))


# --- the problem --------------------------------------------------------------------------------


def test_bad_problem(cli, isolated: Path):
    (isolated / "adir").mkdir()
    check_cases(
        cli,
        isolated,
        [
            Case(
                "missing file",
                ("debate", "--offline", "-p", "nope/problem.md"),
                2,
                ("{cwd}/nope/problem.md", "not found"),
            ),
            Case(
                "directory", ("debate", "--offline", "--problem-file", "adir"), 2, ("{cwd}/adir", "directory")
            ),
            Case(
                "whitespace only",
                ("debate", "--offline", "--problemDescription", "blank.md"),
                2,
                ("{cwd}/blank.md", "empty"),
                files={"blank.md": "  \n\t\n   \n"},
            ),
            Case(
                "not UTF-8",
                ("debate", "--offline", "-p", "binary.md"),
                2,
                ("{cwd}/binary.md", "UTF-8"),
                files={"binary.md": b"\xff\xfe\x00 not text"},
            ),
            Case(
                "inline and file",
                ("debate", "--offline", "-p", "p.md", PROBLEM),
                2,
                ("inline", "--problem-file"),
                files={"p.md": PROBLEM},
            ),
            Case("neither", ("debate", "--offline"), 2, ("no problem", "--problem-file")),
        ],
    )


# --- rounds ---------------------------------------------------------------------------------------


def test_bad_rounds(cli, isolated: Path):
    cases = [
        Case(f"-r {value}", ("debate", "--offline", "-r", value, PROBLEM), 2, ("--rounds", value))
        for value in ("0", "-1", "2.5", "abc")
    ]
    cases.append(Case("-r without value", ("debate", "--offline", PROBLEM, "-r"), 2, ("'-r'",)))
    check_cases(cli, isolated, cases)


# --- the config -------------------------------------------------------------------------------


def test_bad_config(cli, isolated: Path):
    def run(path: str) -> tuple[str, ...]:
        return ("debate", "-c", path, PROBLEM)

    check_cases(
        cli,
        isolated,
        [
            Case(
                "broken JSON",
                run("broken.json"),
                4,
                ("{cwd}/broken.json", "line 2", "column 12"),
                files={"broken.json": '{"agents": [\n  {"id": 1,,}\n]}\n'},
            ),
            Case(
                "broken YAML",
                run("broken.yaml"),
                4,
                ("{cwd}/broken.yaml", "line 3", "column"),
                files={"broken.yaml": "agents:\n  - id: a\n   bad: [\n"},
            ),
            Case(
                "wrong type",
                run("hot.json"),
                4,
                ("{cwd}/hot.json", "agents[0].temperature", "hot"),
                files={
                    "hot.json": config_text(agent("a1", "architect", temperature="hot"), agent("a2", "kiss"))
                },
            ),
            Case(
                "duplicate ids",
                run("dup.json"),
                4,
                ("duplicate", "'twin'"),
                files={"dup.json": config_text(agent("twin", "architect"), agent("twin", "kiss"))},
            ),
            Case(
                "unknown role, --strict",  # without --strict: a warning (tests/cli/test_config_leniency.py)
                ("debate", "--strict", "-c", "role.json", PROBLEM),
                4,
                ("agents[0].role", "architekt", "did you mean 'architect'", "--strict"),
                files={"role.json": config_text(agent("a1", "architekt"), agent("a2", "kiss"))},
            ),
            Case(
                "unknown provider",
                run("provider.json"),
                4,
                ("agents[0].provider", "'acme'", "openai", "openrouter", "ollama", "offline"),
                files={
                    "provider.json": config_text(
                        agent("a1", "architect", provider="acme"), agent("a2", "kiss")
                    )
                },
            ),
            Case(
                "provider whose integration is not installed",
                run("mistral.json"),
                4,
                (
                    "provider 'mistralai' (a1)",
                    "langchain_mistralai",
                    "pip install 'dialectic-debate[mistralai]'",
                ),
                files={
                    "mistral.json": config_text(
                        agent("a1", "architect", provider="mistralai"), agent("a2", "kiss")
                    )
                },
            ),
            Case(
                "unknown key, --strict",
                ("debate", "--strict", "-c", "key.json", PROBLEM),
                4,
                ("temprature", "agents[0]", "did you mean 'temperature'", "--strict"),
                files={
                    "key.json": config_text(agent("a1", "architect", temprature=0.3), agent("a2", "kiss"))
                },
            ),
        ],
    )


def test_unknown_provider_without_judge_block_blames_only_the_agent(cli, isolated: Path):
    text = config_text(agent("a1", "architect", provider="acme"), agent("a2", "kiss"), judge=None)
    (isolated / "cfg.json").write_text(text)
    line = error_line(cli("debate", "-c", "cfg.json", PROBLEM), 4)
    assert "agents[0].provider" in line
    assert "judge" not in line


def test_missing_api_key(cli, isolated: Path):
    mixed = config_text(
        agent("a-openai", "architect", provider="openai"),
        agent("a-router", "security", provider="openrouter"),
        agent("a-local", "kiss"),
        judge={**JUDGE, "id": "the-judge", "provider": "openai"},
    )
    (isolated / "mixed.json").write_text(mixed)
    built_in, from_file = run_all(cli, ("debate", PROBLEM), ("debate", "-c", "mixed.json", PROBLEM))
    line = error_line(built_in, 4, notice=True)
    for agent_id in ("agent-architect", "agent-performance", "agent-kiss", "judge-main"):
        assert agent_id in line
    assert "OPENAI_API_KEY" in line and "--offline" in line

    line = error_line(from_file, 4)
    assert "a-openai" in line and "OPENAI_API_KEY" in line
    assert "a-router" in line and "OPENROUTER_API_KEY" in line
    assert "the-judge" in line
    assert "a-local" not in line  # the offline agent needs no key
    assert "--offline" in line
    assert not (isolated / "debates").exists() or not list((isolated / "debates").glob("*.json"))


# --- agents, ids, env file, options -----------------------------------------------------------


def test_bad_agents_flag(cli, isolated: Path):
    check_cases(
        cli,
        isolated,
        [
            Case(
                "unknown role",
                ("debate", "--offline", "-a", "architect,nosuchrole", PROBLEM),
                2,
                ("nosuchrole", *ROLES),
            ),
            Case(
                "role not in config",
                ("debate", "--offline", "-a", "security", PROBLEM),
                2,
                ("--agents", "security"),
            ),
        ],
    )


def test_bad_debate_id(cli, isolated: Path):
    (isolated / "cfg.json").write_text(GOOD_CONFIG)
    check_cases(
        cli,
        isolated,
        [
            Case(f"--id {bad}", ("debate", "-c", "cfg.json", "--id", bad, PROBLEM), 2, (f"'{bad}'", "id"))
            for bad in ("../x",)
        ],
    )
    assert not (isolated / "x.json").exists()
    assert not list(isolated.glob("debates/*.json"))


def test_empty_debate_id_is_refused(cli, isolated: Path):
    (isolated / "cfg.json").write_text(GOOD_CONFIG)
    line = error_line(cli("debate", "-c", "cfg.json", "--id", "", PROBLEM), 2)
    assert "id" in line


def test_existing_debate_id_is_refused(cli, isolated: Path):
    (isolated / "cfg.json").write_text(GOOD_CONFIG)
    first = cli("debate", "-c", "cfg.json", "--id", "taken", PROBLEM)
    assert first.code == 0, first.stderr
    saved = (isolated / "debates" / "taken.json").read_bytes()

    line = error_line(cli("debate", "-c", "cfg.json", "--id", "taken", "Design a queue."), 2)
    assert "'taken'" in line
    assert "already exists" in line
    assert "dialectic resume taken" in line
    assert (isolated / "debates" / "taken.json").read_bytes() == saved


def test_bad_env_file_and_options(cli, isolated: Path):
    check_cases(
        cli,
        isolated,
        [
            Case(
                "missing env file",
                ("debate", "--offline", "-e", "missing.env", PROBLEM),
                2,
                ("{cwd}/missing.env",),
            ),
            Case("unknown option", ("debate", "--offline", "--bogus", PROBLEM), 2, ("--bogus",)),
            Case("misspelt option", ("debate", "--offline", "--round", "2", PROBLEM), 2, ("--round",)),
            Case("unknown command", ("debat", PROBLEM), 2, ("debat",)),
        ],
    )


def test_no_arguments_shows_plain_help(cli):
    result = cli()
    assert "Traceback" not in result.stderr
    assert "error:" not in result.stdout + result.stderr
    assert "debate" in result.stdout + result.stderr
    assert result.code in (0, 2)
