"""Agent tools over real HTTP: debates whose agents call ``list_files``, ``file_read`` and
``context_search`` through langchain-openai against the test server (tests/http/llm_server.py),
which plays the tool-using model (on its own, or as a ``tool_script`` dictates). The offline
model is never used: every LLM call is an HTTP request the server logs."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

# The TypeScript tool's config in which every agent has context_search.
TS_CONFIG = (
    Path(__file__).resolve().parents[1]
    / "fixtures"
    / "typescript"
    / "tools"
    / "debate-config-context-search.json"
)
PROBLEM = "Design a rate limiter for a public API. It must handle 10,000 requests per second per node."
FILE_TOOLS = [{"name": "list_files"}, {"name": "file_read"}, {"name": "context_search"}]


def _exe() -> str:
    return str(Path(sys.executable).parent / "dialectic")


def env(server, **extra: str) -> dict[str, str]:
    return {
        "OPENAI_API_KEY": "test-key",
        "OPENAI_BASE_URL": server.url,
        "DIALECTIC_RETRY_BASE_SECONDS": "0.01",
        **extra,
    }


def config(
    folder: Path,
    models: tuple[str, str, str] = ("gpt-4o-mini", "gpt-4o-mini", "gpt-4o-mini"),
    *,
    tools: list[dict[str, str]] | None = None,
    **agent_extra: Any,
) -> Path:
    """Two agents with ``tools`` (and ``agent_extra``), 1 round, no summaries; a judge."""
    tools = FILE_TOOLS if tools is None else tools
    roles = ("architect", "security")
    document = {
        "agents": [
            {
                "id": f"agent-{role}",
                "name": role.title(),
                "role": role,
                "model": model,
                "provider": "openai",
                "maxRetries": 1,
                "tools": tools,
                **agent_extra,
            }
            for role, model in zip(roles, models[:2], strict=True)
        ],
        "judge": {
            "id": "judge-main",
            "name": "Judge",
            "role": "generalist",
            "model": models[2],
            "provider": "openai",
            "maxRetries": 1,
        },
        "debate": {"rounds": 1, "summarization": {"enabled": False}},
    }
    path = folder / "debate-config.json"
    path.write_text(json.dumps(document))
    return path


def saved(folder: Path, debate_id: str) -> dict[str, Any]:
    return json.loads((folder / "debates" / f"{debate_id}.json").read_text())


def contributions(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for r in record["rounds"] for c in r["contributions"]]


def small_context(folder: Path) -> Path:
    context = folder / "context"
    (context / "src").mkdir(parents=True)
    (context / "README.md").write_text("# Limiter\n\nA token bucket per client, kept in Redis.\n")
    (context / "src" / "limiter.py").write_text(
        "# requests per second are counted in a token bucket\nRATE = 10_000\n"
    )
    return context


def bodies(server) -> list[dict[str, Any]]:
    return [e["body"] for e in server.requests()]


def tool_messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in body["messages"] if m.get("role") == "tool"]


# --- a. the TypeScript tool's config ----------------------------------------------------------


def test_typescript_context_search_config_runs_unchanged(cli, isolated: Path, llm_server):
    from dialectic.nodes.agent_call import RECORDED_RESULT_CHARS

    llm_server.set(record_bodies=True)
    document = json.loads(TS_CONFIG.read_text())
    document["debate"]["rounds"] = 1  # the only change: 1 round instead of 3
    (isolated / TS_CONFIG.name).write_text(json.dumps(document, indent=2))
    agent_ids = [a["id"] for a in document["agents"]]
    context = small_context(isolated)

    result = cli(
        "debate",
        "-c",
        TS_CONFIG.name,
        "--context",
        str(context),
        "--id",
        "ts",
        "--report",
        "report.md",
        PROBLEM,
        env={
            "OPENROUTER_API_KEY": "test-key",
            "OPENROUTER_BASE_URL": llm_server.url,
            "DIALECTIC_RETRY_BASE_SECONDS": "0.01",
        },
    )
    assert result.code == 0, result.stderr
    record = saved(isolated, "ts")
    assert record["status"] == "completed"

    log = llm_server.requests()
    assert log and all(e["status"] == 200 for e in log)
    # Every agent request offers context_search (and only it), with the TypeScript tool's schema;
    # the judge's synthesis is the one request without tools.
    agent_requests = [e for e in log if e["tools_offered"]]
    assert len(log) - len(agent_requests) == 1
    assert [e["kind"] for e in log if not e["tools_offered"]] == ["json_schema"]
    assert all(e["tools_offered"] == ["context_search"] for e in agent_requests)
    for entry in agent_requests:
        [tool] = entry["body"]["tools"]
        assert tool["type"] == "function" and tool["function"]["name"] == "context_search"
        parameters = tool["function"]["parameters"]
        assert parameters["type"] == "object" and parameters["required"] == ["term"]
        assert parameters["properties"]["term"]["type"] == "string"
    # 4 agents, 1 round: 4 proposals, 12 critiques, 4 refinements; each call takes the server's
    # 2 tool turns, then answers with the results in front of it.
    assert len(contributions(record)) == 20
    assert Counter(e["tool_results"] for e in agent_requests) == {0: 20, 1: 20, 2: 20}
    assert Counter(e["kind"] for e in agent_requests if e["tool_results"] == 2) == {"text": 20}

    served_ids = {
        call["id"]
        for e in agent_requests
        for m in e["body"]["messages"]
        if m.get("role") == "assistant"
        for call in m.get("tool_calls") or ()
    }
    for c in contributions(record):
        assert c["agentId"] in agent_ids
        metadata = c["metadata"]
        assert metadata["toolCallIterations"] == 2
        calls, results = metadata["toolCalls"], metadata["toolResults"]
        assert len(calls) == len(results) == 2
        for call, answer in zip(calls, results, strict=True):
            # ToolCall {id, name, arguments: JSON text}; ToolResult {tool_call_id, role, content}
            assert set(call) == {"id", "name", "arguments"} and call["name"] == "context_search"
            assert isinstance(call["arguments"], str) and set(json.loads(call["arguments"])) == {"term"}
            assert call["id"] in served_ids  # the ids the model gave
            assert set(answer) == {"tool_call_id", "role", "content"}
            assert answer["tool_call_id"] == call["id"] and answer["role"] == "tool"
            assert isinstance(answer["content"], str)
    # What the model read is recorded: whole, or (the spec's "truncated" results) as valid JSON
    # keeping its status and its first RECORDED_RESULT_CHARS.
    sent = {m["tool_call_id"]: m["content"] for body in bodies(llm_server) for m in tool_messages(body)}
    whole = 0
    for c in contributions(record):
        for answer in c["metadata"]["toolResults"]:
            given = sent[answer["tool_call_id"]]
            kept = json.loads(answer["content"])
            assert kept["status"] == "success"
            if answer["content"] == given:
                whole += 1
                assert isinstance(kept["result"]["matches"], list)
            else:
                assert kept["truncated"] is True and kept["preview"] == given[:RECORDED_RESULT_CHARS]
    assert whole > 0
    assert (isolated / "report.md").read_text().startswith("# Debate:")


# --- b. the sandbox, end to end ---------------------------------------------------------------

SEARCH_TERM = "zqxcanary"  # the first word of every canary: searching it would find them all


def canary(kind: str) -> str:
    return f"{SEARCH_TERM}-{kind}-{uuid.uuid4().hex}"


def sandbox_layout(folder: Path) -> tuple[Path, Path, dict[str, str]]:
    """A context folder with ordinary files and, each holding a canary of its own, files no tool
    may show: hidden, git-ignored (a file and a folder), binary, over 5 MB; outside the folder, a
    file and a folder, each also reached through a symbolic link of the context folder; and links
    inside the folder to its hidden and ignored files."""
    canaries = {
        kind: canary(kind)
        for kind in ("env", "git", "ignored", "ignored_dir", "binary", "big", "outside", "outside_dir")
    }
    context = small_context(folder)
    (context / "NOTES.md").write_text(f"The word {SEARCH_TERM} is what this test searches for.\n")
    (context / ".env").write_text(f"API_KEY={canaries['env']}\n")
    (context / ".git").mkdir()
    (context / ".git" / "config").write_text(f"[remote]\n\turl = {canaries['git']}\n")
    (context / ".gitignore").write_text("secret.txt\nlogs/\n")
    (context / "secret.txt").write_text(f"password {canaries['ignored']}\n")
    (context / "logs").mkdir()
    (context / "logs" / "app.log").write_text(f"token {canaries['ignored_dir']}\n")
    (context / "blob.dat").write_bytes(b"\x00\x01\x02 " + canaries["binary"].encode() + b"\n")
    with (context / "big.txt").open("w") as handle:
        handle.write(f"key {canaries['big']}\n")
        handle.write(("x" * 99 + "\n") * (5 * 1024 * 1024 // 100 + 10))
    assert (context / "big.txt").stat().st_size > 5 * 1024 * 1024
    outside = folder / "outside"
    (outside / "deeper").mkdir(parents=True)
    (outside / "secret.txt").write_text(f"outside {canaries['outside']}\n")
    (outside / "deeper" / "more.txt").write_text(f"outside {canaries['outside_dir']}\n")
    (context / "link.txt").symlink_to(outside / "secret.txt")
    (context / "linkdir").symlink_to(outside, target_is_directory=True)
    (context / "alias.txt").symlink_to(".env")
    (context / "aliasdir").symlink_to(".git", target_is_directory=True)
    (context / "alias_ignored.txt").symlink_to("secret.txt")
    return context, outside, canaries


def sandbox_script(context: Path, outside: Path) -> tuple[list[list[dict[str, Any]]], set[str]]:
    """Turns of tool calls that try every way out; the (name, path) of those that must fail."""

    def read(path: str, **lines: int) -> dict[str, Any]:
        return {"name": "file_read", "arguments": {"path": path, **lines}}

    def listing(path: str) -> dict[str, Any]:
        return {"name": "list_files", "arguments": {"path": path}}

    reads = [
        ".env",
        str(context / ".env"),  # hidden, by absolute path inside the folder
        ".git/config",
        "secret.txt",
        "logs/app.log",
        "blob.dat",
        "big.txt",
        "../outside/secret.txt",
        "src/../../outside/secret.txt",
        str(outside / "secret.txt"),
        "link.txt",
        "linkdir/secret.txt",
        "linkdir/deeper/more.txt",
        "src/../.env",
        "./.git/config",
        "alias.txt",
        "aliasdir/config",
        "alias_ignored.txt",
    ]
    listings = [
        ".git",
        "src/../.git",
        "aliasdir",
        "logs",
        "..",
        "../outside",
        str(outside),
        "linkdir",
        "linkdir/deeper",
        "/",
    ]
    script = [
        [
            *(read(path) for path in reads),
            # a few lines of a file too big or binary to read whole are refused as well
            read("big.txt", start_line=1, end_line=1),
            read("blob.dat", start_line=1, end_line=1),
        ],
        [*(listing(path) for path in listings), listing(".")],
        [{"name": "context_search", "arguments": {"term": SEARCH_TERM}}],
    ]
    refused = {("file_read", p) for p in reads} | {("list_files", p) for p in listings}
    return script, refused


def files_outside(root: Path, *skip: Path) -> list[Path]:
    found = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if Path(folder, d) not in skip]
        found += [Path(folder, n) for n in names if not Path(folder, n).is_symlink()]
    return found


def debate_with_report(cli, server, context: Path, debate_id: str):
    """A debate over the server with --context and a report (report.md)."""
    return cli(
        "debate",
        "--context",
        str(context),
        "--id",
        debate_id,
        "--report",
        "report.md",
        PROBLEM,
        env=env(server),
    )


def test_sandbox_end_to_end_no_canary_escapes(cli, isolated: Path, llm_server):
    context, outside, canaries = sandbox_layout(isolated)
    script, refused = sandbox_script(context, outside)
    llm_server.set(record_bodies=True, tool_script=script)
    config(isolated)
    result = debate_with_report(cli, llm_server, context, "sb")
    assert result.code == 0, result.stderr
    record = saved(isolated, "sb")
    assert record["status"] == "completed"

    # Every call of the script ran, in every agent call (2 agents x propose, critique, refine),
    # and each refused call came back as an error result to the model.
    calls_by_id: dict[str, tuple[str, str]] = {}
    answered: list[tuple[str, str, dict[str, Any]]] = []
    for body in bodies(llm_server):
        for m in body["messages"]:
            for call in (m.get("tool_calls") or ()) if m.get("role") == "assistant" else ():
                arguments = json.loads(call["function"]["arguments"])
                subject = arguments.get("path", arguments.get("term"))
                calls_by_id[call["id"]] = (call["function"]["name"], subject)
        answered += [(*calls_by_id[m["tool_call_id"]], json.loads(m["content"])) for m in tool_messages(body)]
    assert Counter(e["tools_called"] != [] for e in llm_server.requests()) == {True: 18, False: 7}
    seen = {(name, subject) for name, subject, _ in answered}
    assert refused | {("list_files", "."), ("context_search", SEARCH_TERM)} == seen
    for name, subject, content in answered:
        if (name, subject) in refused:
            assert content["status"] == "error" and set(content) == {"status", "error"}, (
                name,
                subject,
                content,
            )
        else:
            assert content["status"] == "success", (name, subject, content)
    listed = next(c["result"] for n, s, c in answered if (n, s) == ("list_files", "."))
    names = {entry["path"] for entry in listed["entries"]}
    assert {"README.md", "src", "NOTES.md"} <= names
    hidden = {".env", ".git", ".gitignore", "secret.txt", "logs", "link.txt", "linkdir", "alias.txt"}
    assert not names & {*hidden, "aliasdir", "alias_ignored.txt"}
    search = next(c["result"] for n, s, c in answered if n == "context_search")
    # context_search also searches the folder's files: the ordinary file naming the term is found
    # (so the search did reach the files), none of the files holding a canary
    assert search["matches"] == [] and [m["path"] for m in search["fileMatches"]] == ["NOTES.md"]

    # No canary anywhere: not in any request the model received, not in the debate JSON or the
    # report, not in the checkpoint store (SQLite, its WAL), not in any file the run wrote.
    every_body = json.dumps([e["body"] for e in llm_server.log])
    written = files_outside(isolated, context, outside)
    store = isolated / "debates" / "dialectic.sqlite"
    assert {store, isolated / "debates" / "sb.json", isolated / "report.md"} <= set(written)
    for kind, secret in canaries.items():
        assert secret not in every_body, kind
        assert secret not in result.stdout + result.stderr, kind
        for path in written:
            assert secret.encode() not in path.read_bytes(), (kind, path)
    assert Path(f"{store}-wal") in written or not Path(f"{store}-wal").exists()


def test_report_lists_only_the_files_the_tools_read(cli, isolated: Path, llm_server):
    context = small_context(isolated)
    (context / ".env").write_text("API_KEY=not-for-agents\n")
    llm_server.set(
        tool_script=[
            [
                {"name": "file_read", "arguments": {"path": ".env"}},
                {"name": "file_read", "arguments": {"path": "../elsewhere.txt"}},
                {"name": "file_read", "arguments": {"path": "README.md"}},
            ]
        ]
    )
    config(isolated)
    result = debate_with_report(cli, llm_server, context, "fr")
    assert result.code == 0, result.stderr
    lines = [ln for ln in (isolated / "report.md").read_text().splitlines() if ln.startswith("Files read:")]
    assert len(lines) == 6  # 2 agents x proposal, critique, refinement
    assert set(lines) == {"Files read: `README.md`"}


# --- c. kill -9 inside a tool loop, then resume -----------------------------------------------

AGENT_MODELS = ("gpt-4o-mini", "gpt-4o", "google/gemini-2.5-flash-lite")  # architect, security, judge


def call_key(entry: dict[str, Any]) -> tuple[str, str, int]:
    """(agent, phase call, turn) of a request: the agent by its model, the phase call by the
    prompt that opens it (the messages before the model's first turn: system and user prompt of
    that phase, round and target), the turn by how many tool results the request carries (the
    server's agent makes one call a turn: 0 for the first turn, 1, 2...)."""
    opening = []
    for message in entry["body"]["messages"]:
        if message.get("role") not in ("system", "user"):
            break
        opening.append(message.get("content"))
    digest = hashlib.sha256(json.dumps(opening).encode()).hexdigest()[:16]
    return entry["model"], digest, entry["tool_results"]


def test_sigkill_inside_a_tool_loop_then_resume_repeats_no_finished_turn(isolated: Path, llm_server):
    """kill -9 while a turn of a tool loop is in flight; ``resume`` sends no finished turn again.

    How turns are identified (``call_key``): every request the server logged (with its body) is
    keyed by (agent, phase call, turn). The agent is the request's model name (each agent has
    its own model, the judge another). The phase call is the prompt that opens the call (system
    and user messages before the model's first turn: propose, critique of whom, refine, or the
    synthesis), the same in both processes. The turn is the log's ``tool_results``, the number of
    tool messages the request carries: the server's agent makes one call a turn, so it is 0, 1,
    2 for the first, second and last (answering) turn of a call's model <-> tools loop.

    Both agents have tools and run the same loop side by side. Once the architect's second turn
    (``tool_results == 1``) has reached the server, ``hold()`` keeps it (and anything arriving
    after) unanswered; the process is killed with it in flight. Its first turns, and the tools
    they called, were checkpointed: ``resume`` must go on from there. A reply counts as received
    unless it was held past the kill (those go to a dead process after ``release()``). Every key
    must have exactly one received reply, and the keys sent twice must be exactly those in
    flight at the kill: the architect's second turn (and the security agent's, when it got there
    first), each sent once before the kill and once by ``resume``."""

    def second_turn_of_architect(entry: dict[str, Any]) -> bool:
        return entry.get("model") == AGENT_MODELS[0] and entry.get("tool_results") == 1

    llm_server.set(record_bodies=True)
    # The server engages the hold as the architect's second turn arrives: it is never answered.
    llm_server.hold_from(second_turn_of_architect)
    config(isolated, AGENT_MODELS)
    context = small_context(isolated)
    process = subprocess.Popen(
        [_exe(), "debate", "--context", str(context), "--id", "k9", PROBLEM],
        cwd=isolated,
        env={**os.environ, **env(llm_server)},
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert llm_server.wait_for(lambda log: any(map(second_turn_of_architect, log)), timeout=100), (
            process.stderr.read() if process.poll() is not None else ""
        )
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=100)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    first_run = llm_server.log
    in_flight = [e for e in first_run if e["ended"] is None]
    assert any(map(second_turn_of_architect, in_flight))
    first_ids = {e["id"] for e in first_run}
    llm_server.set(latency_ms=0)
    llm_server.release()  # the held requests are answered to a process that is gone
    assert llm_server.wait_for(lambda log: all(e["ended"] is not None for e in log), timeout=100)

    resumed = subprocess.run(
        [_exe(), "resume", "k9"],
        cwd=isolated,
        env={**os.environ, **env(llm_server)},
        text=True,
        capture_output=True,
        timeout=60,
    )
    assert resumed.returncode == 0, resumed.stderr
    record = saved(isolated, "k9")
    assert record["status"] == "completed"
    assert [c["metadata"]["toolCallIterations"] for c in contributions(record)] == [2] * 6
    # resume kept --context: the file tools run by the second process found the files too
    results = [r["content"] for c in contributions(record) for r in c["metadata"]["toolResults"]]
    assert len(results) == 12 and all(r.startswith('{"status": "success"') for r in results)

    log = llm_server.requests()
    assert all(e["status"] == 200 for e in log)
    # A turn is finished once its process went on from it (sent the next turn of that call; a
    # turn is checkpointed before the next is sent). A reply the server finished sending just
    # before the kill may have died with the process unread: it may be asked again.
    first_keys = {call_key(e) for e in first_run}
    went_on = {key for key in first_keys if (key[0], key[1], key[2] + 1) in first_keys}
    sent = Counter(call_key(e) for e in log)
    # 2 agents x (propose, critique, refine) x 3 turns, and the judge's synthesis
    calls = Counter(key[:2] for key in sent)
    assert len(calls) == 7
    assert sorted(Counter(model for model, _ in calls).values()) == [1, 3, 3]
    assert {key[2] for key in sent if key[0] != AGENT_MODELS[2]} == {0, 1, 2}
    assert len(sent) == 6 * 3 + 1
    assert went_on and all(sent[key] == 1 for key in went_on), [k for k in went_on if sent[k] > 1]
    # Sent twice: the turns in flight at the kill, and none the first process went on from.
    twice = {key for key, n in sent.items() if n > 1}
    assert {call_key(e) for e in in_flight} <= twice <= first_keys - went_on
    assert all(n <= 2 for n in sent.values())
    assert any(e["id"] not in first_ids for e in log)


# --- d. toolCallLimit -------------------------------------------------------------------------


def test_tool_call_limit_one_then_the_model_is_asked_for_its_answer(cli, isolated: Path, llm_server):
    from dialectic import prompts

    # what each agent (architect, security) is told once its tool turns are spent
    closing = {prompts.agent_template(role, "tools_spent").strip() for role in ("architect", "security")}
    assert all("answer" in text for text in closing)
    llm_server.set(record_bodies=True, tool_turns=2)  # the model would take 2 tool turns
    config(isolated, toolCallLimit=1)
    context = small_context(isolated)
    result = cli("debate", "--context", str(context), "--id", "lim", PROBLEM, env=env(llm_server))
    assert result.code == 0, result.stderr
    record = saved(isolated, "lim")
    assert record["status"] == "completed"

    agent_log = [e for e in llm_server.requests() if e["kind"] != "json_schema"]  # not the synthesis
    with_tools = [e for e in agent_log if e["tools_offered"]]
    # one tool turn per call (6 calls), and nothing more with tools offered
    assert [(e["kind"], e["tool_results"]) for e in with_tools] == [("tool_calls", 0)] * 6
    last_turns = [e for e in agent_log if not e["tools_offered"] and e["tool_results"] > 0]
    assert len(last_turns) == 6
    for entry in last_turns:
        body = entry["body"]
        assert "tools" not in body and "tool_choice" not in body
        assert entry["kind"] == "text" and entry["tool_results"] == 1
        assert body["messages"][-1]["role"] == "user" and body["messages"][-1]["content"] in closing
        assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "tool", "user"]
    for c in contributions(record):
        assert c["metadata"]["toolCallIterations"] == 1
        assert len(c["metadata"]["toolCalls"]) == len(c["metadata"]["toolResults"]) == 1


def test_a_tool_loop_to_an_anthropic_model_through_openrouter_marks_its_user_message_for_later_turns(
    cli, isolated: Path, llm_server
):
    # OpenRouter caches an Anthropic model's prompt only up to a cache_control mark. A request that
    # offers tools marks the end of its user message (langchain-openai would strip a mark from a
    # tool result), so every later turn of the call reads the prompt up to there from the cache.
    claude = "anthropic/claude-3.5-haiku"
    llm_server.set(record_bodies=True, tool_turns=2)
    config(isolated, (claude, claude, "gpt-4o-mini"), provider="openrouter")
    context = small_context(isolated)
    router = {"OPENROUTER_API_KEY": "test-key", "OPENROUTER_BASE_URL": llm_server.url}
    result = cli("debate", "--context", str(context), "--id", "marks", PROBLEM, env=env(llm_server, **router))
    assert result.code == 0, result.stderr
    assert saved(isolated, "marks")["status"] == "completed"

    turns = [e for e in llm_server.requests() if e["model"] == claude and e["tools_offered"]]
    assert {e["tool_results"] for e in turns} >= {0, 1, 2}  # first turns and turns after tool results
    for entry in turns:
        _system, user, *rest = entry["body"]["messages"]
        assert [block.get("cache_control") for block in user["content"]][-1] == {"type": "ephemeral"}
        assert "cache_control" not in json.dumps(rest)


def test_the_answer_after_spent_tool_turns_through_openrouter_offers_anthropic_models_the_tools(
    cli, isolated: Path, llm_server
):
    # Anthropic refuses a request replaying tool calls that offers no tools, so for its models the
    # last answer offers them with tool_choice "none"; other models' last answer has no tools.
    claude = "anthropic/claude-3.5-haiku"
    llm_server.set(record_bodies=True, tool_turns=2)
    config(isolated, (claude, "openai/gpt-4o-mini", "gpt-4o-mini"), provider="openrouter", toolCallLimit=1)
    context = small_context(isolated)
    router = {"OPENROUTER_API_KEY": "test-key", "OPENROUTER_BASE_URL": llm_server.url}
    result = cli("debate", "--context", str(context), "--id", "spent", PROBLEM, env=env(llm_server, **router))
    assert result.code == 0, result.stderr
    assert saved(isolated, "spent")["status"] == "completed"

    answers = [e for e in llm_server.requests() if e["tool_results"] > 0]
    assert {e["model"] for e in answers} == {claude, "openai/gpt-4o-mini"}
    for entry in answers:
        body = entry["body"]
        assert entry["kind"] == "text" and body["messages"][-1]["role"] == "user"
        if entry["model"] == claude:
            assert body["tool_choice"] == "none" and [t["function"]["name"] for t in body["tools"]]
        else:
            assert "tools" not in body and "tool_choice" not in body
