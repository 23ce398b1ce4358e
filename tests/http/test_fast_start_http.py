"""A debate over HTTP loads its provider client and the price table before its first request, not
inside the first wave's calls (issue 13); checked on what the process had loaded when the debate
started (tests/cli/start_probe.py), never on how long it took."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

PROBE = Path(__file__).resolve().parent.parent / "cli" / "start_probe.py"


def member(member_id: str, role: str) -> dict[str, Any]:
    # gpt-4o-mini of provider openai: a model the price table knows, so its cost is looked up there.
    return {"id": member_id, "name": member_id, "role": role, "model": "gpt-4o-mini", "provider": "openai"}


def test_provider_client_and_price_table_load_before_the_first_request(isolated: Path, llm_server):
    config = {
        "agents": [member("agent-architect", "architect"), member("agent-security", "security")],
        "judge": member("judge-main", "generalist"),
        "debate": {
            "rounds": 1,
            "terminationCondition": {"type": "fixed"},
            "summarization": {"enabled": False},
        },
    }
    (isolated / "debate-config.json").write_text(json.dumps(config))
    env = {**os.environ, "OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": llm_server.url}
    done = subprocess.run(
        [sys.executable, str(PROBE), "debate", "-r", "1", "Design a URL shortener."],
        cwd=isolated,
        env=env,
        input="",
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1].removeprefix("PROBE "))
    assert seen["built_at_run"] == ["agent-architect", "agent-security", "judge-main"]
    assert seen["loaded_at_run"] == ["langchain_openai", "genai_prices"]
    assert len(llm_server.requests()) == 7  # 2 proposals, 2 critiques, 2 refinements, 1 synthesis
    assert seen["frozen_at_exit"] is True
