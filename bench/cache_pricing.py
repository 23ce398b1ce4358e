"""What a debate would cost on a priced model with and without prompt-cache pricing (not a test).

    python bench/cache_pricing.py [DEBATE.json ...] [--model gpt-4o-mini] [--provider openai]

With debate files (``debates/<id>.json``), prices their recorded usage: input, cached input and
output tokens per phase and in total, at the genai-prices rates of ``--model`` (cached tokens at
its cache-read rate, then all of them at the input rate). Without, first runs the 3 agents × 3
rounds of ``../shared/fixtures/perf`` (summaries firing) against the project's test server
(tests/http/llm_server.py) with its prompt cache on and replies of 400 tokens, as the
TypeScript comparison does, and prices that. The stub's cache is an ideal prefix cache in blocks
of 256 characters (a provider's may miss, and OpenAI's serves only prompts of 1,024+ tokens), so
the cached figure is a lower bound of what a real provider would charge.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from whole_process import FIXTURES, load_server  # (bench/ is on sys.path)

from dialectic.providers.pricing import table_cost


def prices(bucket: dict[str, Any], model: str, provider: str) -> tuple[float | None, float | None]:
    """The bucket's cost with its cached tokens at the cache rate, and with none cached."""
    inputs, outputs = int(bucket["inputTokens"]), int(bucket["outputTokens"])
    cached = int(bucket.get("cachedInputTokens", 0))
    return (
        table_cost(model, provider, inputs, outputs, cached),
        table_cost(model, provider, inputs, outputs),
    )


def report(name: str, usage: dict[str, Any], model: str, provider: str) -> None:
    print(f"{name} priced as {provider}/{model}:")
    print(
        f"  {'scope':<22}{'calls':>6}{'input':>10}{'cached':>10}{'output':>9}{'with cache':>12}{'without':>11}"
    )
    rows = [("total", usage["total"]), *((f"phase {k}", v) for k, v in usage["byPhase"].items())]
    for scope, bucket in rows:
        with_cache, without = prices(bucket, model, provider)
        print(
            f"  {scope:<22}{bucket['calls']:>6}{bucket['inputTokens']:>10,}{bucket.get('cachedInputTokens', 0):>10,}"
            f"{bucket['outputTokens']:>9,}{_usd(with_cache):>12}{_usd(without):>11}"
        )
    with_cache, without = prices(usage["total"], model, provider)
    if with_cache is not None and without:
        print(f"  prompt-cache pricing saves {100 * (1 - with_cache / without):.1f}% of the bill")


def _usd(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.5f}"


def run_perf_debate(folder: Path) -> dict[str, Any]:
    """The 3 × 3 fixture debate against the test server with its prompt cache on; its usage."""
    server = load_server().LLMServer("127.0.0.1", 0, prompt_cache=True, reply_tokens=400).start()
    try:
        os.chdir(folder)
        os.environ.update({"OPENAI_API_KEY": "bench-key", "OPENAI_BASE_URL": server.url})
        from dialectic.runner.inputs import prepare_settings
        from dialectic.runner.run import start_debate

        settings, _ = prepare_settings(
            str(FIXTURES / "debate-config.json"), roles=None, rounds=None, offline=False
        )
        problem = (FIXTURES / "problem.md").read_text()
        result = start_debate(problem, settings, debate_id="perf-3x3", db=str(folder / "bench.sqlite"))
        assert result.status == "completed", result.message
        served = sum(entry["cached_tokens"] for entry in server.log)
        print(
            f"3 × 3 over HTTP: {len(server.log)} calls, the server reported {served:,} cached prompt tokens"
        )
    finally:
        server.stop()
    usage: dict[str, Any] = result.record.dump()["usage"]
    return usage


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("debates", nargs="*", type=Path)
    parser.add_argument("--model", default="gpt-4o-mini")
    parser.add_argument("--provider", default="openai", help="its genai-prices provider id")
    args = parser.parse_args()
    if args.debates:
        for path in args.debates:
            report(str(path), json.loads(path.read_text())["usage"], args.model, args.provider)
        return
    with tempfile.TemporaryDirectory() as tmp:
        report("3 agents × 3 rounds", run_perf_debate(Path(tmp)), args.model, args.provider)


if __name__ == "__main__":
    main()
