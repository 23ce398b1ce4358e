"""context_search (the file index and the debate search) and the LangChain tools built around it."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

import dialectic.tools.index as index_module
from dialectic.tools import (
    TOOL_NAMES,
    ContextDirectory,
    ContextIndex,
    ContributionRecord,
    ToolContext,
    build_tools,
    index_for,
    search_debate,
)
from dialectic.tools.index import CHUNK_LINES, fts_phrase
from dialectic.tools.text import MAX_FILE_BYTES

CANARY = "canary-9c47e2b0a85d4f16b3e8d1c6a7f20b59"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "context"
    (root / "src" / "auth").mkdir(parents=True)
    (root / "vendor").mkdir()
    (root / ".git").mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(f"{CANARY} ratelimiter\n")
    (root / ".gitignore").write_text("vendor/\n*.generated.ts\n")
    (root / "src" / "auth" / "session.py").write_text(
        "import os\n\n\ndef load(user):\n    return user.id  # the session key\n"
    )
    filler = "".join(f"# filler line {number}\n" for number in range(1, 101))
    (root / "src" / "long.py").write_text(filler + "RATE_LIMIT = 10  # ratelimiter budget\n")
    (root / "docs.md").write_text("Authentication uses tokens; see the ratelimiter design.\n")
    (root / "vendor" / "lib.js").write_text(f"{CANARY} ratelimiter\n")
    (root / "api.generated.ts").write_text(f"{CANARY} ratelimiter\n")
    (root / ".env").write_text(f"{CANARY} ratelimiter\n")
    (root / ".git" / "config").write_text(f"{CANARY} ratelimiter\n")
    (root / "escape.txt").symlink_to(outside / "secret.txt")
    (root / "outside-dir").symlink_to(outside, target_is_directory=True)
    return root


def search(root: Path, term: str) -> list[tuple[str, int]]:
    return [(hit["path"], hit["line"]) for hit in ContextIndex(ContextDirectory(root)).search(term)]


def test_hits_carry_the_path_line_and_a_snippet_around_the_match(root: Path) -> None:
    [hit] = ContextIndex(ContextDirectory(root)).search("user.id")
    assert hit == {"path": "src/auth/session.py", "line": 5, "snippet": "return user.id # the session key"}


def test_line_numbers_are_right_beyond_the_first_chunk(root: Path) -> None:
    assert CHUNK_LINES < 101
    assert search(root, "RATE_LIMIT") == [("src/long.py", 101)]


def test_only_visible_text_files_inside_the_root_are_indexed(root: Path) -> None:
    (root / "image.png").write_bytes(b"\x89PNG\x00\x00" + f"{CANARY} ratelimiter".encode())
    (root / "huge.log").write_bytes(f"{CANARY} ratelimiter\n".encode() * (MAX_FILE_BYTES // 40 + 1))
    index = ContextIndex(ContextDirectory(root))
    hits = index.search("ratelimiter")
    assert sorted(hit["path"] for hit in hits) == ["docs.md", "src/long.py"]
    assert index.search(CANARY) == []
    stats = index.stats()
    assert stats.files == 3  # .gitignore is hidden; vendor/, *.generated.ts ignored; links not followed
    assert stats.skipped == 2  # the binary and the oversized file
    assert stats.complete


def test_a_term_is_a_case_insensitive_phrase_whose_last_word_may_be_a_prefix(root: Path) -> None:
    assert search(root, "AUTH") == [("docs.md", 1)]  # "Authentication"
    assert search(root, "the session KEY") == [("src/auth/session.py", 5)]
    assert search(root, "session the") == []  # words in another order are another phrase


@pytest.mark.parametrize(
    "term",
    ['"', 'a"b', "user.id", "NEAR(a b)", "a AND b", "x OR", "NOT", "*", "^start", "col:val", "-x", "'", "(",
     "...", "___", "\\", "ü", "\x01", "%", "a" * 400],
)  # fmt: skip
def test_any_term_is_safe_to_search(root: Path, term: str) -> None:
    hits = ContextIndex(ContextDirectory(root)).search(term)
    assert isinstance(hits, list)


def test_fts_phrase_quotes_the_term() -> None:
    assert fts_phrase('say "hi"') == '"say ""hi"""*'
    assert fts_phrase("...") is None
    assert fts_phrase("") is None


def test_results_are_ranked_by_relevance(tmp_path: Path) -> None:
    (tmp_path / "passing.md").write_text(
        "".join(f"line {number} about storage\n" for number in range(30)) + "one mention of sharding\n"
    )
    (tmp_path / "focused.md").write_text("sharding: sharding keys, sharding by tenant\n")
    (tmp_path / "middle.md").write_text("we discussed sharding and also sharding again\nand more text\n" * 3)
    assert [path for path, _ in search(tmp_path, "sharding")] == ["focused.md", "middle.md", "passing.md"]


def test_results_are_capped(tmp_path: Path) -> None:
    for number in range(30):
        (tmp_path / f"f{number}.md").write_text("kafka\n")
    index = ContextIndex(ContextDirectory(tmp_path))
    assert len(index.search("kafka")) == 20
    assert len(index.search("kafka", limit=3)) == 3


def test_a_long_line_snippet_is_cut_around_the_match(tmp_path: Path) -> None:
    (tmp_path / "min.js").write_text("a " * 500 + "needle" + " b" * 500 + "\n")
    [hit] = ContextIndex(ContextDirectory(tmp_path)).search("needle")
    assert hit["snippet"].startswith("…") and hit["snippet"].endswith("…")
    assert "needle" in hit["snippet"]
    assert len(hit["snippet"]) < 220


def test_the_index_is_built_once_per_directory_even_under_concurrent_searches(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds: list[int] = []
    real_build = index_module._build

    def counting_build(directory: ContextDirectory) -> object:
        builds.append(1)
        return real_build(directory)

    monkeypatch.setattr(index_module, "_build", counting_build)
    directory = ContextDirectory(root)
    assert index_for(directory) is index_for(directory)
    assert index_for(ContextDirectory(root)) is not index_for(directory)
    start = threading.Barrier(8)
    results: list[list[tuple[str, int]]] = []

    def worker() -> None:
        start.wait()
        results.append([(hit["path"], hit["line"]) for hit in index_for(directory).search("ratelimiter")])

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert builds == [1]
    assert len(results) == 8 and all(result == results[0] for result in results)
    assert len(results[0]) == 2


def test_the_index_is_a_snapshot_taken_at_the_first_search(root: Path) -> None:
    index = ContextIndex(ContextDirectory(root))
    assert index.search("zeppelin") == []
    (root / "late.md").write_text("zeppelin\n")
    assert index.search("zeppelin") == []


# The debate search -------------------------------------------------------------------------------

LONG = (
    "Opening paragraph about the overall architecture and team constraints. " * 8
    + "The Rate Limiting layer uses a token bucket per tenant. "
    + "Closing remarks on deployment and observability. " * 8
)
RECORDS = [
    ContributionRecord(1, "agent-architect", "architect", "proposal", LONG),
    ContributionRecord(1, "agent-perf", "performance", "critique", "rate limiting twice: rate limiting."),
    ContributionRecord(2, "agent-architect", "architect", "refinement", "No match here."),
    ContributionRecord(2, "agent-security", "security", "critique", "RATE LIMITING once."),
]


def test_debate_matches_have_snippets_around_the_match_not_the_opening(tmp_path: Path) -> None:
    matches = search_debate(RECORDS, "rate limiting")
    first = next(match for match in matches if match["agentId"] == "agent-architect")
    assert "The Rate Limiting layer uses a token bucket" in first["contentSnippet"]
    assert 75 <= first["contentSnippet"].index("The Rate Limiting") <= 85  # about 80 characters before
    assert first["contentSnippet"].startswith("…") and first["contentSnippet"].endswith("…")
    assert len(first["contentSnippet"]) < 200
    assert first == {
        "roundNumber": 1,
        "agentId": "agent-architect",
        "agentRole": "architect",
        "type": "proposal",
        "contentSnippet": first["contentSnippet"],
        "occurrences": 1,
    }


def test_debate_search_is_case_insensitive_and_ranked_by_mentions() -> None:
    matches = search_debate(RECORDS, "RATE limiting")
    assert [(match["agentId"], match["occurrences"]) for match in matches] == [
        ("agent-perf", 2),
        ("agent-architect", 1),  # ties keep debate order
        ("agent-security", 1),
    ]
    assert matches[0]["contentSnippet"] == "rate limiting twice: rate limiting."  # close mentions merge


def test_debate_snippets_show_at_most_three_separate_mentions() -> None:
    far_apart = " filler " * 40
    content = far_apart.join(f"mention{number} kafka" for number in range(5))
    [match] = search_debate([ContributionRecord(3, "a", "r", "proposal", content)], "kafka")
    assert match["occurrences"] == 5
    assert [f"mention{number} kafka" in match["contentSnippet"] for number in range(5)] == [
        True,
        True,
        True,
        False,
        False,
    ]


def test_debate_search_treats_the_term_literally_and_caps_results() -> None:
    records = [ContributionRecord(1, f"a{n}", "r", "proposal", "use a.*b here") for n in range(30)]
    assert search_debate(records, "a.*b")[0]["contentSnippet"] == "use a.*b here"
    assert len(search_debate(records, "a.*b")) == 20
    assert search_debate(records, "a.+b") == []
    assert search_debate(records, "") == []


# The LangChain tools ----------------------------------------------------------------------------


def tools_by_name(context: ToolContext) -> dict[str, BaseTool]:
    return {tool.name: tool for tool in build_tools(TOOL_NAMES, context)}


def call(tool: BaseTool, arguments: object) -> dict[str, object]:
    result = tool.invoke(arguments)  # type: ignore[arg-type]
    assert isinstance(result, str)
    parsed = json.loads(result)
    assert isinstance(parsed, dict)
    return parsed


def test_build_tools_uses_the_typescript_names_and_argument_names(root: Path) -> None:
    tools = build_tools(["list_files", "file_read", "context_search", "file_read"], ToolContext())
    assert [tool.name for tool in tools] == ["list_files", "file_read", "context_search"]
    schemas = {tool.name: convert_to_openai_tool(tool)["function"] for tool in tools}
    assert schemas["list_files"]["parameters"]["required"] == ["path"]
    assert set(schemas["list_files"]["parameters"]["properties"]) == {"path"}
    assert schemas["file_read"]["parameters"]["required"] == ["path"]
    assert set(schemas["file_read"]["parameters"]["properties"]) == {"path", "start_line", "end_line"}
    assert schemas["context_search"]["parameters"]["required"] == ["term"]
    assert set(schemas["context_search"]["parameters"]["properties"]) == {"term"}
    assert all(len(schema["description"]) > 80 for schema in schemas.values())


def test_build_tools_refuses_an_unknown_name_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown tool 'web_search'.*context_search, file_read, list_files"):
        build_tools(["file_read", "web_search"], ToolContext())
    assert TOOL_NAMES == ("context_search", "file_read", "list_files")


def test_context_search_returns_debate_and_file_matches(root: Path) -> None:
    records = [ContributionRecord(1, "agent-architect", "architect", "proposal", "A ratelimiter per tenant.")]
    tools = tools_by_name(ToolContext(ContextDirectory(root), lambda: records))
    answer = call(tools["context_search"], {"term": "ratelimiter"})
    assert answer["status"] == "success"
    result = answer["result"]
    assert isinstance(result, dict)
    assert result["term"] == "ratelimiter"
    assert [match["agentId"] for match in result["matches"]] == ["agent-architect"]
    assert {(hit["path"], hit["line"]) for hit in result["fileMatches"]} == {
        ("docs.md", 1),
        ("src/long.py", 101),
    }
    assert "note" not in result


def test_without_a_context_directory_the_file_tools_say_so_and_search_covers_the_debate() -> None:
    records = [ContributionRecord(2, "agent-perf", "performance", "critique", "cache the ratelimiter state")]
    tools = tools_by_name(ToolContext(None, lambda: records))
    for name in ("list_files", "file_read"):
        answer = call(tools[name], {"path": "."})
        assert answer["status"] == "error"
        assert "--context" in str(answer["error"])
    answer = call(tools["context_search"], {"term": "ratelimiter"})
    result = answer["result"]
    assert isinstance(result, dict)
    assert [match["roundNumber"] for match in result["matches"]] == [2]
    assert result["fileMatches"] == []
    assert "--context" in result["note"]
    empty = call(tools_by_name(ToolContext())["context_search"], {"term": "x"})["result"]
    assert isinstance(empty, dict) and empty["matches"] == []


def test_tool_results_follow_the_status_convention(root: Path) -> None:
    tools = tools_by_name(ToolContext(ContextDirectory(root), lambda: RECORDS))
    read = call(tools["file_read"], {"path": "src/auth/session.py", "start_line": 4, "end_line": 5})
    assert read == {
        "status": "success",
        "result": {
            "path": "src/auth/session.py",
            "content": "def load(user):\n    return user.id  # the session key\n",
            "startLine": 4,
            "endLine": 5,
            "totalLines": 5,
            "truncated": False,
        },
    }
    assert call(tools["file_read"], {"path": ".env"}) == {
        "status": "error",
        "error": "'.env' is hidden: files and folders whose names start with '.', and links to them, are not available",
    }
    listing = call(tools["list_files"], {"path": "src"})
    assert listing["status"] == "success"


def failing_contributions() -> list[ContributionRecord]:
    raise RuntimeError(f"state unavailable at {CANARY}")


BAD_ARGUMENTS: list[object] = [
    {},
    {"path": None},
    {"path": 7},
    {"path": ["a"]},
    {"path": "src", "start_line": -3},
    {"path": "src/long.py", "start_line": "two"},
    {"path": "src/long.py", "start_line": 50, "end_line": 10},
    {"path": "src/long.py", "start_line": 10_000},
    {"term": ""},
    {"term": "   "},
    {"term": None},
    {"term": "x" * 10_000},
    {"path": "../" * 50},
    {"path": "\x00"},
    {"path": "x" * 100_000},
    {"unexpected": True},
    "src",
    "",
    None,
    42,
    [1, 2],
]


@pytest.mark.parametrize("arguments", BAD_ARGUMENTS, ids=range(len(BAD_ARGUMENTS)))
@pytest.mark.parametrize(
    "make_context",
    [
        lambda root: ToolContext(ContextDirectory(root), lambda: RECORDS),
        lambda root: ToolContext(None, None),
        lambda root: ToolContext(ContextDirectory(root), failing_contributions),
    ],
    ids=["context", "bare", "failing-history"],
)
def test_no_tool_ever_raises(
    root: Path, arguments: object, make_context: Callable[[Path], ToolContext]
) -> None:
    for tool in build_tools(TOOL_NAMES, make_context(root)):
        answer = call(tool, arguments)
        assert answer["status"] in {"success", "error"}
        assert ("error" in answer) == (answer["status"] == "error")
        assert CANARY not in json.dumps(answer)


def test_a_failure_inside_a_tool_becomes_an_error_result_and_a_log_line(
    root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tools = tools_by_name(ToolContext(ContextDirectory(root), failing_contributions))
    answer = call(tools["context_search"], {"term": "ratelimiter"})
    assert answer == {
        "status": "error",
        "error": "context_search failed unexpectedly; try other arguments or another tool",
    }
    assert "the context_search tool failed" in caplog.text


def test_a_tool_call_message_round_trips(root: Path) -> None:
    tools = tools_by_name(ToolContext(ContextDirectory(root)))
    message = tools["file_read"].invoke(
        {"name": "file_read", "args": {"path": 3}, "id": "call-1", "type": "tool_call"}
    )
    assert message.tool_call_id == "call-1"
    assert json.loads(message.content) == {
        "status": "error",
        "error": "invalid arguments: path: Input should be a valid string",
    }


def test_a_tree_too_large_to_index_whole_is_indexed_in_part_and_the_result_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_module, "MAX_INDEXED_FILES", 2)
    for number in range(5):
        (tmp_path / f"f{number}.md").write_text("kafka\n")
    directory = ContextDirectory(tmp_path)
    [tool] = build_tools(["context_search"], ToolContext(directory))
    result = call(tool, {"term": "kafka"})["result"]
    assert isinstance(result, dict)
    assert len(result["fileMatches"]) == 2
    assert "only 2 of its files were searched" in result["note"]
    assert index_for(directory).stats().complete is False
