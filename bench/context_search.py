"""Figures for the context_search index (not a test).

    python bench/context_search.py [--files 10000] [--seed 7] [--repeat 20]

Generates a tree of files in a temporary folder: mostly small text files with a tail of large ones,
nested folders, a .gitignore with files it ignores (an ignored folder and a pattern), a few binaries
and a few files over 5 MB. The text is lines of identifiers drawn with Zipf weights (a few words
everywhere, most rare), like source code. Then prints the index build time, its size in memory, and
query times (median and p95) per term, through the index and through the tool.
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dialectic.tools import ContextDirectory, ContributionRecord, ToolContext, build_tools, index_for

KEYWORDS = ["def", "return", "self", "import", "if", "for", "in", "class", "None", "session", "config"]
SYLLABLES = [
    "ra",
    "te",
    "lim",
    "cur",
    "sor",
    "ten",
    "ant",
    "sha",
    "rd",
    "que",
    "ue",
    "ret",
    "ry",
    "lo",
    "ad",
    "er",
]
TERMS = [
    "session",  # in most chunks
    "self",  # in most chunks
    "ratelimiter",  # planted in a few lines
    "user.id",  # punctuation
    "retry budget",  # a planted phrase
    "cur",  # a short prefix of many identifiers
    'say "hi"',  # quotes
    "NEAR(a b)",  # FTS5 syntax, taken literally
    "zeppelin",  # absent
]


def vocabulary(rng: random.Random) -> tuple[list[str], list[float]]:
    words = {"".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))) for _ in range(6_000)}
    singles = sorted(words)
    compounds = [f"{rng.choice(singles)}_{rng.choice(singles)}" for _ in range(20_000)]
    names = [*KEYWORDS, *singles, *compounds]
    # Zipf: a few words everywhere, most rare. Cumulative, so choices() does not re-add them per call.
    cumulative = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(names))))
    return names, cumulative


@dataclass(frozen=True)
class LinePool:
    lines: list[str]
    average: float  # characters per line


def line_pool(rng: random.Random, size: int = 20_000) -> LinePool:
    names, cumulative = vocabulary(rng)
    pool = []
    for number in range(size):
        words = rng.choices(names, cum_weights=cumulative, k=rng.randint(3, 12))
        if number % 500 == 0:
            words.append("ratelimiter")
        if number % 100 == 1:
            words.append("user.id")
        if number % 700 == 2:
            words += ["retry", "budget"]
        pool.append("    " * rng.randint(0, 3) + " ".join(words) + "\n")
    return LinePool(pool, sum(map(len, pool)) / len(pool))


def text_of_size(rng: random.Random, pool: LinePool, target: int) -> bytes:
    return "".join(rng.choices(pool.lines, k=max(1, round(target / pool.average)))).encode()


def file_size(rng: random.Random) -> int:
    # Mostly small files and a tail of large ones, roughly the shape of a real repository.
    roll = rng.random()
    if roll < 0.75:
        return rng.randint(200, 6_000)
    if roll < 0.98:
        return rng.randint(6_000, 30_000)
    return rng.randint(30_000, 200_000)


def generate(root: Path, files: int, rng: random.Random) -> dict[str, int]:
    counts = {"text": 0, "ignored": 0, "binary": 0, "oversized": 0, "bytes": 0}
    pool = line_pool(rng)
    (root / ".gitignore").write_text("build/\n*.min.js\n")
    folders = [root / f"pkg{a}" / f"mod{b}" / ("deep" if c else "") for a in range(20) for b in range(10) for c in (0, 1)]  # fmt: skip
    for folder in [*folders, root / "build"]:
        folder.mkdir(parents=True, exist_ok=True)
    for number in range(files):
        folder = folders[number % len(folders)]
        roll = rng.random()
        if roll < 0.005:
            kind, path, data = "binary", folder / f"img{number}.png", b"\x89PNG\x00" + rng.randbytes(4096)
        elif roll < 0.006:
            kind, path, data = "oversized", folder / f"dump{number}.sql", b"-- x\n" * 1_100_000
        elif roll < 0.05:
            path = folder / f"bundle{number}.min.js" if number % 2 else root / "build" / f"out{number}.txt"
            kind, data = "ignored", text_of_size(rng, pool, 4_000)
        else:
            kind, path, data = "text", folder / f"file{number}.py", text_of_size(rng, pool, file_size(rng))
        path.write_bytes(data)
        counts[kind] += 1
        counts["bytes"] += len(data)
    return counts


def timed(action: Callable[[], object], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description="Figures for the context_search index.")
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=20)
    options = parser.parse_args()
    rng = random.Random(options.seed)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        started = time.perf_counter()
        counts = generate(root, options.files, rng)
        print(f"tree: {options.files:,} files, {counts['bytes'] / 1e6:.1f} MB, generated in "
              f"{time.perf_counter() - started:.1f} s ({counts['text']:,} text, {counts['ignored']} ignored, "
              f"{counts['binary']} binary, {counts['oversized']} over 5 MB)")  # fmt: skip

        directory = ContextDirectory(root)
        index = index_for(directory)  # the one the tool below uses too
        stats = index.stats()
        print(f"index build: {stats.seconds:.2f} s; {stats.files:,} files, {stats.chunks:,} chunks, "
              f"{stats.characters / 1e6:.1f} M characters, {stats.skipped} skipped, complete={stats.complete}")  # fmt: skip
        print(f"index size in memory: {stats.size_bytes / 1e6:.1f} MB")

        print(f"\nquery times over {options.repeat} runs each (ms):")
        print(f"  {'term':<16} {'hits':>4} {'median':>8} {'p95':>8}")
        everything: list[float] = []
        for term in TERMS:
            samples = timed(lambda term=term: index.search(term), options.repeat)
            everything += samples
            hits = len(index.search(term))
            print(f"  {term!r:<16} {hits:>4} {statistics.median(samples):>8.2f} {p95(samples):>8.2f}")
        print(f"  {'all terms':<16} {'':>4} {statistics.median(everything):>8.2f} {p95(everything):>8.2f}")

        # Through the tool: JSON in and out, and a 60-contribution debate searched as well.
        pool = line_pool(rng, 2_000)
        records = [
            ContributionRecord(n // 6 + 1, f"agent-{n % 3}", "architect", "proposal", text_of_size(rng, pool, 4_000).decode())
            for n in range(60)
        ]  # fmt: skip
        [tool] = build_tools(["context_search"], ToolContext(directory, lambda: records))
        tool_samples = [
            sample for term in TERMS for sample in timed(lambda term=term: tool.invoke({"term": term}), options.repeat)
        ]  # fmt: skip
        print(f"\ncontext_search tool (index + debate search + JSON): median "
              f"{statistics.median(tool_samples):.2f} ms, p95 {p95(tool_samples):.2f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
