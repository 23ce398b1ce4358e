"""The CLI's finishing touches through the installed command: --version/-V, -h on every
command, shell completion, the -v header and per-call table, and --report without .md."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

PROBLEM = "Design a URL shortener. It must handle 1,000 new links per second."
COMMANDS = ("debate", "resume", "list", "show", "fork", "report", "eval", "graph")


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_prints_the_package_version(cli, flag: str):
    result = cli(flag)
    assert result.code == 0, result.stderr
    assert result.stdout == f"dialectic {version('dialectic-debate')}\n"
    assert result.stderr == ""


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_dash_h_is_help_on_every_command(cli, command: str | None):
    args = [command] if command else []
    short, long = cli(*args, "-h"), cli(*args, "--help")
    assert short.code == long.code == 0, short.stderr
    assert short.stdout == long.stdout
    assert short.stdout.startswith(f"Usage: dialectic {command or ''}".rstrip())
    assert "-h, --help" in short.stdout


def test_no_arguments_still_print_help_with_the_new_options(cli):
    result = cli()
    assert result.code == 0, result.stderr
    assert "Usage: dialectic" in result.stdout and "Commands:" in result.stdout
    for option in ("--version", "--install-completion", "--show-completion"):
        assert option in result.stdout


def test_shell_completion_script_is_available(isolated: Path):
    # --show-completion names the shell it finds among the command's parent processes: run it as
    # a real process under bash (through the fork server its parents are Python processes).
    command = Path(sys.executable).parent / "dialectic"
    ran = subprocess.run(
        ["bash", "-c", f"{shlex.quote(str(command))} --show-completion; exit $?"],  # two commands: bash forks
        cwd=isolated,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert ran.returncode == 0, ran.stderr
    assert "_DIALECTIC_COMPLETE" in ran.stdout and "complete " in ran.stdout


def test_completion_offers_the_commands(cli):
    result = cli(
        env={"_DIALECTIC_COMPLETE": "complete_bash", "COMP_WORDS": "dialectic de", "COMP_CWORD": "1"}
    )
    assert result.code == 0, result.stderr
    assert "debate" in result.stdout.split()


def write_config(folder: Path) -> Path:
    (folder / "arch.md").write_text("You are an architect; boundaries first.\n")
    document = {
        "agents": [
            {"id": "agent-architect", "name": "Architect", "role": "architect", "model": "gpt-4o-mini",
             "provider": "openai", "temperature": 0.6, "systemPromptPath": "arch.md"},
            {"id": "agent-kiss", "name": "Simplicity", "role": "kiss", "model": "gpt-4o",
             "provider": "openrouter"},
        ],
        "judge": {"id": "judge-main", "name": "Judge", "role": "generalist", "model": "gpt-4o-mini",
                  "provider": "openai"},
        "debate": {
            "rounds": 2,
            "terminationCondition": {"type": "convergence", "threshold": 99},
            "summarization": {"enabled": True, "threshold": 4000, "maxLength": 1500},
        },
    }  # fmt: skip
    path = folder / "debate-config.json"
    path.write_text(json.dumps(document))
    return path


def test_verbose_prints_a_header_before_the_run(cli, isolated: Path):
    config = write_config(isolated)
    result = cli("debate", "--offline", "-c", str(config), "-v", "--id", "hdr", PROBLEM)
    assert result.code == 0, result.stderr
    lines = result.stderr.splitlines()
    header = lines[: lines.index("agents:") + 6]
    architect = next(line for line in header if "agent-architect" in line)
    assert "model gpt-4o-mini" in architect and "temperature 0.6" in architect
    assert "provider offline (simulated model)" in architect
    assert f"system: {(isolated / 'arch.md').resolve()}" in architect
    kiss = next(line for line in header if "agent-kiss" in line)
    assert "model gpt-4o," in kiss and "prompts: built-in" in kiss
    judge = next(line for line in header if line.startswith("judge:"))
    assert "judge-main" in judge and "temperature 0.3" in judge
    assert "summarization: length-based, threshold 4,000 chars, summaries up to 1,500 chars" in header
    assert "termination: convergence, at most 2 rounds, stop at consensus 99" in header
    # The header comes before any progress, and only once.
    assert result.stderr.index("termination:") < result.stderr.index("round 1/2")
    assert result.stderr.count("agents:") == 1


def test_the_header_names_each_members_provider(isolated: Path):
    from dialectic.runner.inputs import prepare_settings
    from dialectic.runner.progress import run_header

    settings, _ = prepare_settings(str(write_config(isolated)), roles=None, rounds=None, offline=False)
    lines = run_header(settings)
    assert "provider openrouter" in next(line for line in lines if "agent-kiss" in line)
    assert "provider openai" in next(line for line in lines if line.startswith("judge:"))


def test_without_verbose_there_is_no_header(cli, isolated: Path):
    result = cli("debate", "--offline", "-r", "1", "--id", "quiet", PROBLEM)
    assert result.code == 0, result.stderr
    assert "agents:" not in result.stderr and "termination:" not in result.stderr


def test_offline_header_names_the_simulated_model(cli, isolated: Path):
    result = cli("debate", "--offline", "-r", "1", "-v", "--id", "off", PROBLEM)
    assert result.code == 0, result.stderr
    assert "provider offline (simulated model)" in result.stderr


def test_the_per_call_table_is_in_the_order_calls_happened(cli, isolated: Path):
    result = cli("debate", "--offline", "-r", "2", "-v", "--id", "order", PROBLEM)
    assert result.code == 0, result.stderr
    phases = []
    for line in result.stderr.splitlines():
        cells = [cell.strip() for cell in re.split(r"[│|]", line)]
        if len(cells) > 4 and cells[1].isdigit():
            phases.append((int(cells[1]), cells[3]))
    assert phases, result.stderr
    # Summaries run beside the refinements (debate/phases.py BESIDE): they share a rank.
    order = {"propose": 0, "critique": 1, "refine": 2, "summarize": 2, "judge_summary": 2, "synthesize": 3}
    keys = [(round_number, order[phase]) for round_number, phase in phases]
    assert keys == sorted(keys), phases  # proposals, critiques, refinements, round by round
    assert phases[0] == (1, "propose") and phases[-1] == (2, "synthesize")


def test_report_without_md_says_it_appended_md(cli, isolated: Path):
    result = cli("debate", "--offline", "-r", "1", "--id", "rep", "--report", "adir", PROBLEM)
    assert result.code == 0, result.stderr
    assert "warning: --report adir does not end in .md; writing adir.md" in result.stderr
    assert (isolated / "adir.md").read_text(encoding="utf-8").startswith("# Debate:")
    assert not (isolated / "adir").exists()


def test_report_with_md_gives_no_warning(cli, isolated: Path):
    result = cli("debate", "--offline", "-r", "1", "--id", "rep2", "--report", "out/r.MD", PROBLEM)
    assert result.code == 0, result.stderr
    assert "warning" not in result.stderr
    assert (isolated / "out" / "r.MD").exists()
