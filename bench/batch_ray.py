"""Figures for `dialectic batch --ray` (not a test): debates per minute on a local Ray cluster
with 2 workers against the test server (tests/http/llm_server.py, in this process, on loopback)
at 300 ms latency, and what Ray's scheduling costs per debate.

    DIALECTIC_TEST_POSTGRES=postgresql://… python bench/batch_ray.py [--debates 16] [--workers 2]
        [--latency-ms 300] [--rounds 1]

The debates are the TypeScript comparison's 3-agent config and problem
(`../shared/fixtures/perf/`), `--rounds` rounds, as jobs of a sweep (`run_job`), checkpointed to
a fresh PostgreSQL database (dropped at the end) in the given server. Printed:

- cluster start (`ray.init` of a local cluster) and worker warm-up (each worker process
  importing dialectic and LangGraph: the first task of each), which a long sweep pays once;
- debates per minute through `RayBackend` (warm workers), and, for comparison, through the local
  backend with as many threads as Ray has workers, same jobs, same store;
- scheduling overhead per debate: debates one at a time through the worker function Ray runs,
  the driver's wall time (submit to outcome) minus the time the worker spent in it; and the
  round trip of an empty task.

Timings are wall-clock on this machine: on a loaded one, take the median of a few invocations.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
import uuid
from typing import Any

from whole_process import FIXTURES, ROOT, SCRUBBED, load_server  # (bench/ is on sys.path)


def fresh_database(url: str) -> str:
    import psycopg

    name = f"dialectic_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return f"{url.rpartition('/')[0]}/{name}"


def drop_database(url: str, admin_url: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{url.rpartition("/")[2]}" WITH (FORCE)')


def make_jobs(prefix: str, count: int, rounds: int) -> list[Any]:
    from dialectic import load_config
    from dialectic.batch.jobs import Job

    config = json.loads((FIXTURES / "debate-config.json").read_text())
    settings = load_config(config, rounds=rounds)
    problem = (FIXTURES / "problem.md").read_text()
    return [
        Job(f"{prefix}.r{n}", "problem.md", problem, prefix, n, settings.to_json(), None, None)
        for n in range(1, count + 1)
    ]


def per_minute(count: int, seconds: float) -> str:
    return f"{count} debates in {seconds:.1f} s = {60 * count / seconds:.1f} debates/min"


def run_backend(backend: Any, jobs: list[Any], db: str) -> float:
    outcomes: list[Any] = []
    started = time.perf_counter()
    backend.run(jobs, db, outcomes.append)
    elapsed = time.perf_counter() - started
    bad = [o for o in outcomes if o.status != "completed"]
    if bad or len(outcomes) != len(jobs):
        raise SystemExit(f"not every debate completed: {bad[:3]}")
    return elapsed


def timed_on_worker(job: Any, db: str) -> tuple[float, Any]:
    """What Ray runs for a job, timed inside the worker."""
    from dialectic.batch.ray_backend import run_on_worker

    started = time.perf_counter()
    result = run_on_worker(job, db)
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--debates", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--latency-ms", type=float, default=300)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--overhead-debates", type=int, default=4)
    args = parser.parse_args()
    admin = os.environ.get("DIALECTIC_TEST_POSTGRES")
    if not admin:
        raise SystemExit(
            "set DIALECTIC_TEST_POSTGRES to a PostgreSQL URL (a database is created and dropped)"
        )

    import ray

    from dialectic.batch.local import LocalBackend
    from dialectic.batch.ray_backend import RayBackend

    folder = tempfile.mkdtemp(prefix="dialectic-bench-ray-")
    os.chdir(folder)  # the debates' JSON lands here
    server = load_server().LLMServer("127.0.0.1", 0, latency_ms=args.latency_ms, reply_tokens=400).start()
    db = fresh_database(admin)
    for name in SCRUBBED:
        os.environ.pop(name, None)
    # A local cluster's workers inherit this environment: the server and its key.
    os.environ.update(OPENAI_BASE_URL=server.url, OPENAI_API_KEY="bench-key")
    try:
        started = time.perf_counter()
        ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
        cluster_start = time.perf_counter() - started
        backend = RayBackend()
        started = time.perf_counter()
        run_backend(backend, make_jobs("warm", args.workers, args.rounds), db)
        warm_up = time.perf_counter() - started
        calls_before = len(server.requests())
        on_ray = run_backend(backend, make_jobs("ray", args.debates, args.rounds), db)
        calls = (len(server.requests()) - calls_before) / args.debates
        locally = run_backend(LocalBackend(args.workers), make_jobs("local", args.debates, args.rounds), db)

        timed = ray.remote(timed_on_worker).options(**backend.task_options())
        overheads = []
        for job in make_jobs("overhead", args.overhead_debates, args.rounds):
            started = time.perf_counter()
            inside, _ = ray.get(timed.remote(job, db))
            overheads.append(time.perf_counter() - started - inside)
        empty = ray.remote(lambda: None).options(**backend.task_options())
        ray.get(empty.remote())
        trips = []
        for _ in range(50):
            started = time.perf_counter()
            ray.get(empty.remote())
            trips.append(time.perf_counter() - started)
    finally:
        ray.shutdown()
        server.stop()
        drop_database(db, admin)
        os.chdir(ROOT)
        shutil.rmtree(folder)

    print(
        f"{args.rounds}-round debates of 3 agents ({calls:.0f} calls each), stub latency {args.latency_ms:g} ms, "
        f"PostgreSQL store, {args.workers} Ray workers (num_cpus={args.workers})"
    )
    print(
        f"cluster start (ray.init, local): {cluster_start:.1f} s; worker warm-up (first debate each): {warm_up:.1f} s"
    )
    print(f"Ray ({args.workers} workers):       {per_minute(args.debates, on_ray)}")
    print(f"local (--parallel {args.workers}):      {per_minute(args.debates, locally)}")
    print(
        f"scheduling overhead per debate (driver wall - worker time, {len(overheads)} debates one at a time): "
        f"median {1000 * statistics.median(overheads):.0f} ms, max {1000 * max(overheads):.0f} ms"
    )
    print(f"empty task round trip: median {1000 * statistics.median(trips):.1f} ms (50 tasks)")


if __name__ == "__main__":
    main()
