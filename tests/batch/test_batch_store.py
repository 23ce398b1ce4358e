"""The batch in a PostgreSQL store, no Ray needed (DIALECTIC_TEST_POSTGRES, else skipped): a sweep's
records kept in the LangGraph PostgresStore, its rerun starting nothing; and the lock a debate's
runner holds there is probed by the server, so a lost machine's lock is freed (a Ray retry waits
for it)."""

from __future__ import annotations

from pathlib import Path

from tests.batch.conftest import needs_postgres
from tests.batch.offline_sweep import Scripted, every_job, run_here, write_sweep

pytestmark = needs_postgres


def test_a_sweep_keeps_its_progress_in_a_postgresql_store(postgres: str, isolated: Path) -> None:
    from dialectic.batch.state import open_state

    sweep = write_sweep(isolated, problems=1, repeats=1, evaluator=False)
    sweep.write_text(sweep.read_text().replace("  - name: trio-batched\n    critiqueMode: batched\n", ""))
    assert run_here(sweep, db=postgres).exit_code == 0
    table = (isolated / "out" / "results.csv").read_text()
    with open_state(postgres, "panels") as state:
        jobs = state.all("jobs")
        assert sorted(jobs) == ["panels.rate-limiter.pair.r1", "panels.rate-limiter.self-refine-vs-pair.r1"]
        assert {job["status"] for job in jobs.values()} == {"completed"}
        state.put("scores", "panels.rate-limiter.pair.r1", {"overall": 7.5, "fingerprint": "f"})
        assert state.all("scores") == {"panels.rate-limiter.pair.r1": {"overall": 7.5, "fingerprint": "f"}}
        state.put("scores", "panels.rate-limiter.pair.r1", {"overall": 8.0, "fingerprint": "g"})
        assert state.all("scores")["panels.rate-limiter.pair.r1"]["overall"] == 8.0
    with open_state(postgres, "another") as state:  # each sweep its own namespace
        assert state.all("jobs") == {}

    rerun = Scripted(every_job())
    assert run_here(sweep, rerun, db=postgres).exit_code == 0
    assert rerun.ran == []  # both finished: read from the store, nothing run again
    assert (isolated / "out" / "results.csv").read_text() == table


def test_the_lock_on_a_debate_is_probed_by_the_server(postgres: str) -> None:
    """The server's TCP keepalives on the lock's connection (PostgreSQL's default: the OS's two
    hours): how a lock held from a machine that vanished is freed. What a test can see of it is
    the session's own settings."""
    from dialectic.runner import store as stores

    with stores.open_store(postgres) as store:
        locks = store._locks  # the lock's own connection: nothing else shows its session settings
        held = locks.acquire("probed", stores.Owner.me("test"))
        try:
            settings = {
                name: held.execute(f"SHOW {name}").fetchone()[0]
                for name in ("tcp_keepalives_idle", "tcp_keepalives_interval", "tcp_keepalives_count")
            }
        finally:
            locks.release(held)
    assert settings == {
        "tcp_keepalives_idle": "30",
        "tcp_keepalives_interval": "10",
        "tcp_keepalives_count": "3",
    }
    assert stores.LOCK_KEEPALIVE_SECONDS == 60
