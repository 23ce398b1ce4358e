"""``dialectic graph`` draws the compiled debate graph without a network; ``--help`` shows examples."""

from __future__ import annotations

from pathlib import Path

import pytest

NODES = ("propose", "critique", "refine", "summarize", "judge", "convergence")


def test_graph_mermaid_on_stdout(cli):
    result = cli("graph", "--format", "mermaid")
    assert result.code == 0, result.stderr
    assert "graph TD;" in result.stdout
    for node in NODES:
        assert f"\t{node}({node})" in result.stdout, node
    assert "propose --> proposals_done;" in result.stdout
    assert "judge --> __end__;" in result.stdout
    assert result.stderr == ""


def test_graph_ascii(cli):
    result = cli("graph", "-f", "ascii")
    assert result.code == 0, result.stderr
    for node in NODES:
        assert f"| {node} |" in result.stdout, node
    assert "graph TD" not in result.stdout


def test_graph_to_a_file(cli, isolated: Path):
    result = cli("graph", "--format", "mermaid", "-o", "debate.mmd")
    assert result.code == 0, result.stderr
    assert result.stdout == ""
    drawing = (isolated / "debate.mmd").read_text(encoding="utf-8")
    for node in NODES:
        assert f"{node}({node})" in drawing


@pytest.mark.parametrize(
    ("args", "fragment"),
    [(("--format", "bogus"), "'bogus'"), (("--format", "png"), "-o")],
)
def test_graph_bad_format(cli, args: tuple[str, ...], fragment: str):
    result = cli("graph", *args)
    assert result.code == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert "--format" in lines[0] and fragment in lines[0]


def test_top_level_help_shows_examples(cli):
    result = cli("--help")
    assert result.code == 0, result.stderr
    assert "Example" in result.stdout


def test_top_level_help_lists_the_commands(cli):
    result = cli("--help")
    assert result.code == 0, result.stderr
    for command in ("debate", "report", "graph"):
        assert command in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["debate", "report", "graph"])
def test_command_help_shows_examples(cli, command: str):
    result = cli(command, "--help")
    assert result.code == 0, result.stderr
    assert "Example" in result.stdout
    assert f"dialectic {command}" in result.stdout.split("Example", 1)[1]


def test_debate_help_lists_every_option(cli):
    result = cli("debate", "--help")
    assert result.code == 0, result.stderr
    for option in (
        "--problem-file",
        "--problemDescription",
        "--config",
        "--agents",
        "--rounds",
        "--output",
        "--report",
        "--env-file",
        "--verbose",
        "--offline",
        "--id",
        "--db",
    ):
        assert option in result.stdout, option
