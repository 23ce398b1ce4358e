"""Figures for the real provider path under faults (not a test), against the project's
OpenAI-compatible test server (tests/http/llm_server.py) over loopback HTTP.

    python bench/provider_faults.py [--seeds 20] [--latency-ms 300]

3 agents x 3 rounds, summaries firing. Prints the completion rate with 10% 500s, 10% 429s and
10% malformed replies over N seeds each, the wall time under each fault kind divided by the wall
time without faults, the time to give up on a hung provider, and prompt tokens per round.
Status faults (429/5xx) are answered at once, as a gateway does; malformed replies come after
the full latency.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PROBLEM = """Design a rate limiter for a public HTTP API.
The limiter must enforce per-API-key quotas of 1,000 requests per minute.
It must add less than 5 ms of latency at the 99th percentile.
Limits shall survive a restart of any single node."""


def load_server() -> Any:
    spec = importlib.util.spec_from_file_location(
        "dialectic_bench_llm_server", ROOT / "tests" / "http" / "llm_server.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def write_config(folder: Path, **agent_extra: Any) -> Path:
    roles = ("architect", "performance", "kiss")
    extra = {"provider": "openai", "model": "gpt-4o-mini", **agent_extra}
    config = {
        "agents": [{"id": f"agent-{r}", "name": r.title(), "role": r, **extra} for r in roles],
        "judge": {"id": "judge-main", "name": "Judge", "role": "generalist", **extra},
        "debate": {"rounds": 3, "summarization": {"enabled": True, "threshold": 2500, "maxLength": 1200}},
    }
    path = folder / "debate-config.json"
    path.write_text(json.dumps(config))
    return path


def debate(folder: Path, name: str, config: Path) -> tuple[Any, float]:
    from dialectic.runner.inputs import prepare_settings
    from dialectic.runner.run import start_debate

    settings, _ = prepare_settings(str(config), roles=None, rounds=None, offline=False)
    started = time.perf_counter()
    result = start_debate(PROBLEM, settings, debate_id=name, db=str(folder / "bench.sqlite"))
    return result, time.perf_counter() - started


def complete(result: Any) -> bool:
    record = result.record.dump()
    counts = [c["type"] for r in record["rounds"] for c in r["contributions"]]
    return result.status == "completed" and len(counts) == 36 and record.get("finalSolution") is not None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=300)
    args = parser.parse_args()

    import dialectic.graphs.debate  # noqa: F401  (imported before timing)

    server_module = load_server()
    server = server_module.LLMServer(
        "127.0.0.1", 0, latency_ms=args.latency_ms, fast_status_faults=True, retry_after=0
    ).start()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.chdir(folder)
        os.environ.update({"OPENAI_API_KEY": "bench-key", "OPENAI_BASE_URL": server.url})
        config = write_config(folder)
        baseline = []
        for seed in range(3):
            server.set(faults={}, seed=seed)
            result, wall = debate(folder, f"base-{seed}", config)
            assert complete(result), result.message
            baseline.append(wall)
        base = statistics.median(baseline)
        by_round = result.record.dump()["usage"]["byRound"]
        print(
            f"3 agents x 3 rounds over HTTP at {args.latency_ms:g} ms per call; no faults: {base:.2f} s (median of 3)"
        )
        print(
            "prompt tokens per round: "
            + ", ".join(f"round {k}: {v['inputTokens']:,}" for k, v in sorted(by_round.items()))
        )
        for kind in ("500", "429", "malformed"):
            walls, done = [], 0
            for seed in range(args.seeds):
                server.set(faults={kind: 0.1}, seed=1000 + seed)
                result, wall = debate(folder, f"{kind}-{seed}", config)
                done += complete(result)
                walls.append(wall)
            print(
                f"10% {kind:<9} completed {done}/{args.seeds} ({100 * done / args.seeds:.0f}%); "
                f"wall / no-fault wall: median {statistics.median(walls) / base:.2f}, worst {max(walls) / base:.2f}"
            )
        server.set(faults={}, fail_models={"hung-model": "hang"})
        hung_config = write_config(folder, model="hung-model", timeoutSeconds=2, maxRetries=1)
        result, wall = debate(folder, "hung", hung_config)
        print(
            f"hung provider (timeoutSeconds 2, maxRetries 1): gave up after {wall:.1f} s "
            f"(status {result.status}, exit {result.exit_code})"
        )
    server.stop()


if __name__ == "__main__":
    main()
