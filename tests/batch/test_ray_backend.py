"""`dialectic batch --ray`: debates as Ray tasks on a local Ray cluster (2 CPUs, started once for
the module) with the PostgreSQL store: the sweep gives the same table as locally; a worker
killed mid-debate is retried and resumes from its checkpoint with no finished call repeated
(counted in the test server's log); Ctrl-C drains the debates out and the rerun resumes them;
a SQLite store, or Ray missing, is one line.

Skipped without ray, and (the cluster tests) without DIALECTIC_TEST_POSTGRES."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph.runtime import RunControl

from dialectic.batch.jobs import Job, JobOutcome, run_job
from dialectic.batch.ray_backend import SCRATCH_PREFIX, RayBackend
from dialectic.errors import ConfigError, InputError
from tests.batch.conftest import needs_postgres
from tests.batch.offline_sweep import write_sweep
from tests.conftest import _SCRUBBED
from tests.http.conftest import load_server_module
from tests.http.test_provider_path import CALLS_2_AGENTS_1_ROUND, PROBLEM, judge, two_agents

# One Ray cluster for the module: kept on one xdist worker when pytest runs with --dist loadgroup.
pytestmark = pytest.mark.xdist_group("ray")
FORWARDED = ("OPENAI_API_KEY", "OPENAI_BASE_URL")  # what the workers get with each task


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A local Ray cluster; its workers inherit this environment, as ``isolated`` makes it
    (no keys, no tracing, OpenAI at a closed port), from a folder that outlives the module."""
    ray = pytest.importorskip("ray", reason="ray is not installed: pip install 'dialectic-debate[ray]'")
    patch = pytest.MonkeyPatch()
    for name in _SCRUBBED:
        patch.delenv(name, raising=False)
    patch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    patch.setenv("LANGGRAPH_STRICT_MSGPACK", "true")
    patch.setenv("DIALECTIC_RETRY_BASE_SECONDS", "0.01")
    patch.chdir(tmp_path_factory.mktemp("ray-driver"))
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        logging_level="WARNING",
        object_store_memory=100 * 1024 * 1024,  # debates pass kilobytes; a shared test machine
        _node_ip_address="127.0.0.1",
    )
    try:
        yield ray
    finally:
        ray.shutdown()
        patch.undo()


@pytest.fixture(scope="module")
def module_server() -> Iterator[Any]:
    """One server for the module: the same URL and key in every test, so the same Ray
    runtime_env, so a worker warmed by one test serves the next."""
    server = load_server_module().LLMServer("127.0.0.1", 0).start()
    yield server
    server.stop()


@pytest.fixture
def llm_server(module_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The module's server, with a fresh log; the debates' key and URL set here and sent to
    the workers with each task (RayBackend's forward_env)."""
    module_server.reset()
    module_server.set(latency_ms=0)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("OPENAI_BASE_URL", module_server.url)
    yield module_server
    module_server.release()


def http_job(key: str) -> Job:
    """A 1-round debate of 2 agents against the test server (7 calls)."""
    from dialectic import load_config

    config = {
        "agents": two_agents(),
        "judge": judge(),
        "debate": {
            "rounds": 1,
            "terminationCondition": {"type": "fixed"},
            "summarization": {"enabled": False},
        },
    }
    settings = load_config(config)
    return Job(key, "problem.md", PROBLEM, "debate", 1, settings.to_json(), None, None)


def pids_connected_to(port: int) -> set[int]:
    """The processes with an open TCP connection to ``port`` on loopback (from /proc)."""
    sockets = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[2].rsplit(":", 1)[1], 16) == port and fields[3] == "01":  # ESTABLISHED
                sockets.add(f"socket:[{fields[9]}]")
    pids = set()
    for folder in Path("/proc").glob("[0-9]*/fd"):
        try:
            if any(os.readlink(fd) in sockets for fd in folder.iterdir()):
                pids.add(int(folder.parent.name))
        except OSError:  # gone, or not ours to read
            continue
    return pids


@needs_postgres
def test_a_worker_killed_mid_debate_is_retried_and_resumes_from_its_checkpoint(
    cluster, postgres: str, llm_server, isolated: Path
) -> None:
    # The uninterrupted debate, in this process: its calls and its transcript.
    reference = run_job(http_job("reference"), postgres)
    assert reference.status == "completed", reference
    calls = len(llm_server.requests())
    llm_server.reset()

    # On the cluster: the proposals' step is checkpointed before any critique is asked, so
    # once both critique requests are in (held) the worker dies with that checkpoint saved.
    llm_server.hold_from(lambda entry: entry["id"] > 2)
    outcomes: list[JobOutcome] = []
    backend = RayBackend(forward_env=FORWARDED)
    killed = http_job(f"killed-{uuid.uuid4().hex[:8]}")
    runner = threading.Thread(target=backend.run, args=([killed], postgres, outcomes.append))
    runner.start()
    try:
        assert llm_server.wait_for(lambda log: sum(e["id"] > 2 for e in log) == 2, timeout=120)
        assert len(llm_server.requests(status=200)) == 2
        (worker,) = pids_connected_to(llm_server.port) - {os.getpid()}
        os.kill(worker, signal.SIGKILL)
    finally:
        llm_server.release()
        runner.join(timeout=180)
    assert not runner.is_alive()

    (outcome,) = outcomes
    assert outcome.status == "completed", outcome
    # Every call made once, but the two critiques the dead worker was waiting for.
    assert len(llm_server.requests()) == calls + 2
    assert transcript(Path(outcome.json_path)) == transcript(isolated / reference.json_path)
    # The scratch folder the killed worker could not remove (the retry removed its own).
    (left,) = Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}{killed.debate_id}-*")
    shutil.rmtree(left)


def transcript(path: Path) -> list[tuple[Any, ...]]:
    record = json.loads(path.read_text())
    return [
        (r["roundNumber"], c["type"], c["agentId"], c.get("targetAgentId") or "", c["content"])
        for r in record["rounds"]
        for c in r["contributions"]
    ] + [record["finalSolution"]["description"]]


class WatchedControl(RunControl):
    """A RunControl that says when the backend has seen the drain (and so cancels next)."""

    __slots__ = ("seen",)

    def __init__(self) -> None:
        super().__init__()
        self.seen = threading.Event()

    @property
    def drain_requested(self) -> bool:
        drained = super().drain_requested
        if drained:
            self.seen.set()
        return drained


@needs_postgres
def test_ctrl_c_cancels_the_debates_out_and_the_rerun_resumes_them(
    cluster, postgres: str, llm_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_server.hold_from(lambda entry: entry["id"] > 2)
    control = WatchedControl()
    outcomes: list[JobOutcome] = []
    backend = RayBackend(control=control, forward_env=FORWARDED)
    job = http_job("stopped")
    runner = threading.Thread(target=backend.run, args=([job], postgres, outcomes.append))
    runner.start()
    try:
        assert llm_server.wait_for(lambda log: sum(e["id"] > 2 for e in log) == 2, timeout=120)
        llm_server.set(latency_ms=1500)  # the refinements: slow enough for the cancel to land first
        control.request_drain("Ctrl-C")
        assert control.seen.wait(timeout=30)
    finally:
        llm_server.release()
        runner.join(timeout=120)
    assert not runner.is_alive()
    (outcome,) = outcomes
    assert outcome.status == "interrupted", outcome
    assert json.loads(Path(outcome.json_path).read_text())["status"] == "interrupted"

    # The calls in flight finished and were saved: the rerun makes each remaining call once.
    llm_server.set(latency_ms=0)
    monkeypatch.setenv("DIALECTIC_RAY_ENV", ",".join(FORWARDED))  # as a user asks for it
    RayBackend().run([job], postgres, outcomes.append)
    assert outcomes[-1].status == "completed", outcomes[-1]
    assert len(llm_server.requests()) == CALLS_2_AGENTS_1_ROUND


def start_batch(folder: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "dialectic"), "batch", "sweep.yaml", "--offline", *args],
        cwd=folder,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@needs_postgres
def test_the_sweep_on_ray_gives_the_same_table_as_locally(cluster, postgres: str, tmp_path: Path) -> None:
    local, on_ray = tmp_path / "local", tmp_path / "ray"
    for folder in (local, on_ray):
        folder.mkdir()
        write_sweep(folder)
    # At once: locally, and the installed command as a second driver on the module's cluster.
    here = start_batch(local, "--parallel", "2")
    there = start_batch(on_ray, "--ray", cluster.get_runtime_context().gcs_address, "--db", postgres)
    (_, here_err), (there_out, there_err) = here.communicate(timeout=300), there.communicate(timeout=300)
    assert here.returncode == 0, here_err
    assert there.returncode == 0, there_err
    assert "Traceback" not in there_err and there_out == ""
    for name in ("results.csv", "comparisons.csv", "summary.md"):
        assert (on_ray / "panels-results" / name).read_text() == (local / "panels-results" / name).read_text()
    # The debates' JSON came back to the driver's folder.
    assert sorted(p.name for p in (on_ray / "debates").glob("*.json")) == sorted(
        p.name for p in (local / "debates").glob("*.json")
    )


def test_ray_needs_a_postgresql_store(cli, isolated: Path) -> None:
    write_sweep(isolated)
    result = cli("batch", "sweep.yaml", "--offline", "--ray", "ray://127.0.0.1:9")
    assert result.code == 2
    assert result.stderr.count("\n") == 1 and "--db postgresql://" in result.stderr, result.stderr


def test_the_library_backend_refuses_sqlite_before_it_reaches_for_a_cluster(isolated: Path) -> None:
    pytest.importorskip("ray", reason="ray is not installed: pip install 'dialectic-debate[ray]'")
    with pytest.raises(InputError, match="postgresql"):
        RayBackend("ray://127.0.0.1:9").run([], str(isolated / "store.sqlite"), print)


def test_without_ray_installed_batch_ray_says_how_to_install_it(cli, isolated: Path) -> None:
    write_sweep(isolated)
    hidden = isolated / "no-ray" / "ray"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text("raise ImportError(\"No module named 'ray'\", name='ray')\n")
    result = cli(
        "batch",
        "sweep.yaml",
        "--offline",
        "--ray",
        "--db",
        "postgresql://127.0.0.1:9/none",
        env={"PYTHONPATH": str(hidden.parent)},
    )
    assert result.code == 4, result.stderr
    # The one line, before any other: no sweep header first.
    assert result.stderr.splitlines() == [
        "error: dialectic batch --ray needs Ray: pip install 'dialectic-debate[ray]'"
    ]


def test_a_cluster_out_of_reach_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("ray", reason="ray is not installed: pip install 'dialectic-debate[ray]'")
    backend = RayBackend("auto")

    def unreachable(**options: Any) -> None:  # what ray.init raises when "auto" finds no cluster
        raise ConnectionError("Could not find any running Ray instance.\nmore detail")

    monkeypatch.setattr(backend.ray, "init", unreachable)
    with pytest.raises(ConfigError) as raised:
        backend.connect()
    assert str(raised.value).startswith(
        "cannot reach the Ray cluster auto: Could not find any running Ray instance.;"
    )


def test_a_sweep_joins_its_cluster_once_and_leaves_one_it_found(monkeypatch: pytest.MonkeyPatch) -> None:
    """A sweep runs its debates, then its baselines: two ``run`` calls in one ``session``, one
    cluster joined (a new local one is not started twice)."""
    pytest.importorskip("ray", reason="ray is not installed: pip install 'dialectic-debate[ray]'")
    backend = RayBackend("auto")
    joined: list[str] = []
    up = {"now": False}

    def init(**options: Any) -> None:
        up["now"] = True
        joined.append("init")

    def shutdown() -> None:
        up["now"] = False
        joined.append("shutdown")

    monkeypatch.setattr(backend.ray, "is_initialized", lambda: up["now"])
    monkeypatch.setattr(backend.ray, "init", init)
    monkeypatch.setattr(backend.ray, "shutdown", shutdown)
    monkeypatch.setattr(backend, "store_for_workers", lambda db: db)
    monkeypatch.setattr(backend, "gather", lambda *args: joined.append("gather"))
    with backend.session():
        backend.run([], "postgresql://", print)
        backend.run([], "postgresql://", print)
    assert joined == ["init", "gather", "gather", "shutdown"]
    joined.clear()
    up["now"] = True  # a cluster this process had joined already: used, and left joined
    with backend.session():
        backend.run([], "postgresql://", print)
    assert joined == ["gather"] and up["now"]
