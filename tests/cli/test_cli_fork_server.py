"""The fork server behind the ``cli`` fixture (tests/cli_fork_server.py) runs a command as a real
process would: with what its environment says even where a module read it at import, with all
its arguments however long, with only its own standard streams open, and never outliving the
call that started it."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

PROBE = """\
import json, os, signal, sys
preloaded = "langgraph" in sys.modules  # a fresh process has imported nothing yet
if sys.argv[1] == "hang":
    print(os.getpid(), flush=True)
    signal.pause()
import langgraph.checkpoint.serde._msgpack as msgpack
fds = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
print(json.dumps({"preloaded": preloaded, "strict": msgpack.STRICT_MSGPACK_ENABLED,
                  "args": [len(arg) for arg in sys.argv[1:]], "fds": fds}))
"""


@pytest.fixture(scope="module")
def probe(fork_server_for: Callable[[str], Any], tmp_path_factory: pytest.TempPathFactory) -> Any:
    if not hasattr(socket, "send_fds"):
        pytest.skip("no SCM_RIGHTS here: the cli fixture runs real processes")
    script = tmp_path_factory.mktemp("probe") / "probe.py"
    script.write_text(PROBE)
    return fork_server_for(str(script))


def report(probe: Any, folder: Path, *args: str, **env: str) -> dict[str, Any]:
    done = probe.run(["report", *args], folder, {**os.environ, **env}, "", 120)
    assert done.code == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_a_command_in_the_tests_environment_is_forked_and_sees_what_langgraph_read(probe, isolated):
    # isolated sets LANGGRAPH_STRICT_MSGPACK=true, which langgraph reads once, at import
    result = report(probe, isolated)
    assert result["preloaded"] and result["strict"] is True
    # only its standard streams (and the listing's own descriptor) are open
    assert result["fds"][:3] == [0, 1, 2] and len(result["fds"]) == 4


def test_a_command_changing_a_variable_read_at_import_runs_as_a_fresh_process(probe, isolated):
    result = report(probe, isolated, LANGGRAPH_STRICT_MSGPACK="false")
    assert not result["preloaded"] and result["strict"] is False


def test_long_arguments_reach_the_command_whole(probe, isolated):
    # one argument below the kernel's limit for one (128 KiB), beyond one socket message
    assert report(probe, isolated, "x" * 100_000)["args"] == [6, 100_000]


def test_a_command_that_outlives_its_timeout_is_stopped(probe, isolated):
    with pytest.raises(subprocess.TimeoutExpired):
        probe.run(["hang"], isolated, dict(os.environ), "", 0.5)


class Interrupted(BaseException):
    """As pytest-timeout's failure or ^C: no Exception, raised while the command runs."""


def test_a_call_ended_by_anything_else_stops_its_command(probe, isolated, monkeypatch):
    module = sys.modules[type(probe).__module__]
    pids: list[int] = []

    def interrupted(stdin: int, stdout: int, stderr: int, text: str, deadline: float) -> Any:
        with open(stdout, "rb") as out:  # once the command runs, and says which it is
            pids.append(int(out.readline()))
        os.close(stdin)
        os.close(stderr)
        raise Interrupted

    monkeypatch.setattr(module, "_communicate", interrupted)
    with pytest.raises(Interrupted):
        probe.run(["hang"], isolated, dict(os.environ), "", 120)
    try:
        pidfd = os.pidfd_open(pids[0])
    except ProcessLookupError:
        return  # gone already
    try:
        ended, _, _ = select.select([pidfd], [], [], 60)
        if not ended:
            os.kill(pids[0], signal.SIGKILL)
        assert ended, "the command outlived the call that started it"
    finally:
        os.close(pidfd)
