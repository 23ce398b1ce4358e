"""Start fast, exit fast (issue 13): a command imports only what it needs, a debate builds its
models before its first call with the garbage collector paused through start-up, and the process
exits without the interpreter walking its heap for cycles. Checked on what the process did
(tests/cli/start_probe.py), never on how long it took."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

PROBE = Path(__file__).resolve().parent / "start_probe.py"
PROVIDER_CLIENTS = {"langchain_openai", "openai", "genai_prices"}


def probe(folder: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any], str]:
    """Run ``dialectic ARGS`` under the probe: its exit code, what the probe saw, its stderr."""
    done = subprocess.run(
        [sys.executable, str(PROBE), *args],
        cwd=folder,
        env={**os.environ, **(env or {})},
        input="",
        capture_output=True,
        text=True,
        timeout=180,
    )
    line = done.stdout.strip().splitlines()[-1]
    assert line.startswith("PROBE "), done.stdout + done.stderr
    return done.returncode, json.loads(line.removeprefix("PROBE ")), done.stderr


def test_a_debate_builds_its_models_before_the_first_call_with_the_collector_paused(isolated: Path):
    code, seen, stderr = probe(
        isolated, "debate", "--offline", "-r", "1", "--id", "fast-1", "Design a cache."
    )
    assert code == 0, stderr
    # Every member's model exists before the first call (not built inside it, the wave waiting).
    saved = json.loads((isolated / "debates" / "fast-1.json").read_text())
    assert seen["built_at_run"] == [a["id"] for a in saved["agents"]] + [saved["judge"]["id"]]
    assert len(seen["built_at_run"]) >= 3
    # Start-up ran with the collector off; the run with it on, start-up's objects out of its reach.
    assert seen["collector_on_in_start_up"] is False
    assert seen["collector_on_at_run"] is True
    assert seen["frozen_at_run"] is True
    assert seen["frozen_at_exit"] is True


def test_exit_freezes_the_heap_for_every_command(isolated: Path):
    for args in (["--help"], ["list"], ["debate"]):  # the last: an input error (no problem given)
        code, seen, stderr = probe(isolated, *args)
        assert seen["frozen_at_exit"] is True, (args, stderr)
    assert code == 2 and "problem" in stderr


def test_help_list_and_show_load_no_provider_client(isolated: Path, cli):
    assert cli("debate", "--offline", "-r", "1", "--id", "shown-1", "Design a cache.").code == 0
    for args in (["--help"], ["list"], ["show", "shown-1"], ["debate", "--help"]):
        code, seen, stderr = probe(isolated, *args)
        assert code == 0, (args, stderr)
        assert not PROVIDER_CLIENTS & set(seen["modules"]), args
    _, seen, _ = probe(isolated, "--help")
    assert not {"langgraph", "langchain_core", "rich"} & set(seen["modules"])


def test_report_loads_neither_langgraph_nor_a_provider_client(isolated: Path, cli):
    """A report reads the debate JSON: the state module (and LangGraph behind it) stays out."""
    assert cli("debate", "--offline", "-r", "1", "--id", "reported-1", "Design a cache.").code == 0
    code, seen, stderr = probe(isolated, "report", "-d", "debates/reported-1.json", "-o", "report.md")
    assert code == 0, stderr
    assert "## " in (isolated / "report.md").read_text()
    assert not ({"langgraph", "langchain_core"} | PROVIDER_CLIENTS) & set(seen["modules"])


def test_main_gives_an_in_process_caller_its_collector_back(isolated: Path):
    """``main`` run inside another process (as tests do) leaves the collector on and nothing
    frozen, whether the command failed in start-up or after it; the exit freeze waits for the
    interpreter's real exit."""
    script = (
        "import gc, sys\n"
        "from dialectic.cli import main\n"
        "for args in (['debate', '--offline', '--rounds', 'many', 'Design a cache.'], ['list']):\n"
        "    sys.argv = ['dialectic', *args]\n"
        "    try:\n        main()\n    except SystemExit as exc:\n        print('exit', exc.code)\n"
        "    print('collector', gc.isenabled(), 'frozen', gc.get_freeze_count())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=isolated, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.split() == ["exit", "2", "collector", "True", "frozen", "0"] * 2, done.stderr


def test_ids_and_debate_paths_need_no_langgraph(isolated: Path):
    """`report`, `--id` checks and error messages name debates without loading LangGraph."""
    script = (
        "import sys\n"
        "from dialectic.runner.store import debate_json_path, new_debate_id, validate_debate_id\n"
        "debate_json_path(validate_debate_id(new_debate_id()))\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'langgraph', 'langchain_core'}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=isolated, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.strip() == "[]", done.stderr
