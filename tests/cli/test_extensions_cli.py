"""Extensions through the installed command: config errors exit 4 naming the extension, the
graph drawing shows them where they run (a snapshot), and installed packages offer nodes
through the ``dialectic.nodes`` entry-point group. (The configs are given with -c: the extensions
of a ./debate-config.json found implicitly are not imported, tests/cli/test_config_trust.py.)"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parent / "golden" / "graph-with-extensions.mmd"
PROBLEM = "Design a cache. It must survive restarts. Reads must take under 5 ms."

CHECKS = """
def after_proposals(view, context):
    return None

def after_critiques(view, context):
    return None

def after_refinements(view, context):
    return {"data": len(view.current.refinements)}

def end_of_round(view, context):
    return None

def one_argument(view):
    return None
"""


def write_config(folder: Path, extensions: list[dict[str, object]], rounds: int = 1) -> Path:
    (folder / "checks.py").write_text(CHECKS, encoding="utf-8")
    document = {
        "agents": [
            {"id": "arch", "name": "Arch", "role": "architect", "model": "m", "provider": "offline"},
            {"id": "kiss", "name": "Kiss", "role": "kiss", "model": "m", "provider": "offline"},
        ],
        "debate": {"rounds": rounds},
        "extensions": extensions,
    }
    path = folder / "debate-config.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("extension", "expected"),
    [
        (
            {"name": "ghost", "callable": "no_such_package.nodes:check", "after": "refine"},
            "cannot import module",
        ),
        ({"name": "ghost", "callable": "checks.py:one_argument", "after": "refine"}, "wrong signature"),
        (
            {"name": "ghost", "callable": "checks.py:end_of_round", "after": "judge"},
            "unknown position 'judge'",
        ),
    ],
    ids=["import-error", "wrong-signature", "unknown-position"],
)
def test_a_broken_extension_exits_4_naming_it(cli, isolated: Path, extension: dict[str, str], expected: str):
    write_config(isolated, [extension])
    result = cli("debate", "--offline", "-c", "debate-config.json", PROBLEM)
    assert result.code == 4, result.stderr
    assert "'ghost'" in result.stderr and expected in result.stderr
    assert result.stderr.strip().count("\n") == 0  # one line, no traceback
    assert not (isolated / "debates").exists()  # nothing ran


def test_the_graph_drawing_shows_extensions_where_they_run(cli, isolated: Path):
    write_config(
        isolated,
        [
            {"name": "after_proposals", "callable": "checks.py:after_proposals", "after": "propose"},
            {"name": "after_critiques", "callable": "checks.py:after_critiques", "after": "critique"},
            {"name": "coverage", "callable": "checks.py:after_refinements", "after": "refine"},
            {"name": "tally", "callable": "checks.py:after_refinements", "after": "refine"},
            {"name": "end_of_round", "callable": "checks.py:end_of_round", "after": "round"},
        ],
    )
    result = cli("graph", "-c", "debate-config.json")
    assert result.code == 0, result.stderr
    if os.environ.get("DIALECTIC_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == GOLDEN.read_text(encoding="utf-8"), (
        "the drawing changed; if that is intended, rerun with DIALECTIC_UPDATE_GOLDEN=1"
    )
    broken = cli(
        "graph", "-c", str(write_config(isolated, [{"name": "x", "callable": "nope:f", "after": "round"}]))
    )
    assert broken.code == 4 and "'x'" in broken.stderr


def make_installed_package(site: Path) -> None:
    """A tiny installed distribution: a module and the dist-info that pip would write for it."""
    package = site / "dialectic_wordcount"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        "def count(view, context):\n"
        "    words = {c.agent_id: len(c.content.split()) for c in view.current.refinements}\n"
        "    return {'data': words, 'report': '| agent | words |\\n|---|---|\\n'"
        " + ''.join(f'| {a} | {n} |\\n' for a, n in words.items())}\n",
        encoding="utf-8",
    )
    info = site / "dialectic_wordcount-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: dialectic-wordcount\nVersion: 1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        "[dialectic.nodes]\nwordcount = dialectic_wordcount:count\n", encoding="utf-8"
    )
    (info / "RECORD").write_text("", encoding="utf-8")


def test_installed_packages_offer_nodes_through_entry_points(
    cli, isolated: Path, monkeypatch: pytest.MonkeyPatch
):
    site = isolated / "site"
    make_installed_package(site)
    monkeypatch.syspath_prepend(str(site))

    from dialectic.extensions.loading import offered_nodes

    assert offered_nodes()["wordcount"].value == "dialectic_wordcount:count"

    write_config(isolated, [{"name": "wordcount", "after": "refine"}])
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    result = cli(
        "debate",
        "--offline",
        "-c",
        "debate-config.json",
        "--id",
        "ep-1",
        "--report",
        "report.md",
        PROBLEM,
        env=env,
    )
    assert result.code == 0, result.stderr
    saved = json.loads((isolated / "debates" / "ep-1.json").read_text())
    [run] = saved["extensions"]["wordcount"]["runs"]
    assert set(run["data"]) == {"arch", "kiss"} and all(n > 50 for n in run["data"].values())
    assert "## Extension: wordcount" in (isolated / "report.md").read_text()

    without = cli(
        "debate", "--offline", "-c", "debate-config.json", PROBLEM
    )  # the package is not on this process's path
    assert without.code == 4 and "entry point named 'wordcount'" in without.stderr


def test_extension_runs_survive_a_failure_and_are_not_repeated_by_resume(cli, isolated: Path):
    (isolated / "counting.py").write_text(
        "from pathlib import Path\n"
        "def count(view, context):\n"
        "    with (Path(__file__).parent / 'runs.txt').open('a') as log:\n"
        "        log.write(f'{view.round}\\n')\n"
        "    return {'data': view.round}\n",
        encoding="utf-8",
    )
    write_config(isolated, [{"name": "counter", "callable": "counting.py:count", "after": "round"}], rounds=2)
    failed = cli(
        "debate",
        "--offline",
        "-c",
        "debate-config.json",
        "--id",
        "res-1",
        PROBLEM,
        env={"DIALECTIC_OFFLINE_FAIL": "judge-main:synthesize"},
    )
    assert failed.code == 3, failed.stderr
    assert (isolated / "runs.txt").read_text().split() == ["1", "2"]

    resumed = cli("resume", "res-1")
    assert resumed.code == 0, resumed.stderr
    assert (isolated / "runs.txt").read_text().split() == ["1", "2"]  # checkpointed: not run again
    saved = json.loads((isolated / "debates" / "res-1.json").read_text())
    assert [run["data"] for run in saved["extensions"]["counter"]["runs"]] == [1, 2]


def test_list_and_show_read_a_debate_whose_extension_no_longer_imports(cli, isolated: Path):
    """The catalog reads debates through the checkpointer and never imports their extensions."""
    write_config(isolated, [{"name": "tally", "callable": "checks.py:after_refinements", "after": "refine"}])
    first = cli("debate", "-c", "debate-config.json", "--id", "with-ext", "--steer", "-r", "2", PROBLEM)
    assert first.code == 5, first.stderr  # paused for a steering note after round 1
    (isolated / "checks.py").unlink()  # the extension's code is gone
    listed = cli("list", "--json")
    assert listed.code == 0, listed.stderr
    assert [(row["id"], row["status"]) for row in listed.json()] == [("with-ext", "waiting_for_input")]
    shown = cli("show", "with-ext")
    assert shown.code == 0, shown.stderr
    assert "debate with-ext: waiting_for_input" in shown.stdout and "next: steer" in shown.stdout
    resumed = cli("resume", "with-ext")
    assert resumed.code == 4 and "tally" in resumed.stderr  # running it needs the code: one clear line
    assert resumed.stderr.count("\n") == 1
