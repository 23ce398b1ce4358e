"""Keys and replies at the trust boundary, end to end over HTTP through the installed command:
a key goes only to the endpoint it belongs to, a config cannot name another secret as its key,
and a 200 reply that is not the API's JSON (a proxy's HTML page) is retried and named as such."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.http.test_provider_path import PROBLEM, agent, judge, openai_env, two_agents, write_config

CANARY_KEY = "sk-canary-7f3e9b1d2c4a"
OTHER_SECRET = "aws-canary-0c8d6e2f9a1b"


def everything_written(folder: Path) -> str:
    """Every file the run wrote (debate JSON, report, checkpoints) as one text, to scan for secrets."""
    texts = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            texts.append(path.read_bytes().decode("utf-8", "replace"))
    store = folder / "debates" / "dialectic.sqlite"
    if store.exists():
        with sqlite3.connect(store) as db:
            for table in ("checkpoints", "writes"):
                for row in db.execute(f"SELECT * FROM {table}"):
                    texts.extend(
                        bytes(v).decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in row
                    )
    return "\n".join(texts)


def test_the_provider_key_never_goes_to_a_base_url_the_config_chose(
    cli, isolated: Path, llm_server, llm_server_factory
):
    """OPENAI_API_KEY goes to OPENAI_BASE_URL (the user's); an agent whose config names its own
    baseUrl and no apiKeyEnv gets no key at all, only a placeholder."""
    foreign = llm_server_factory()
    agents = [
        agent("agent-architect", "architect"),
        agent("agent-security", "security", model="local-model", baseUrl=foreign.url),
    ]
    write_config(isolated, agents, judge())
    env = {**openai_env(llm_server, key=CANARY_KEY), "AWS_SECRET_ACCESS_KEY": OTHER_SECRET}
    result = cli("debate", "-r", "1", "--id", "keys", PROBLEM, "--report", "r.md", "-v", env=env)
    assert result.code == 0, result.stderr

    assert foreign.log and {e["authorization"] for e in foreign.log} == {"Bearer not-needed"}
    assert {e["authorization"] for e in llm_server.log} == {f"Bearer {CANARY_KEY}"}
    # the canary scan: neither secret in anything the run wrote or printed
    written = everything_written(isolated) + result.stdout + result.stderr
    assert "## " in written  # (the scan did read the report and the JSON)
    assert CANARY_KEY not in written and OTHER_SECRET not in written


def test_a_config_cannot_send_another_secret_as_its_key(cli, isolated: Path, llm_server_factory):
    foreign = llm_server_factory()
    agents = [agent("agent-architect", "architect", baseUrl=foreign.url, apiKeyEnv="AWS_SECRET_ACCESS_KEY")]
    write_config(isolated, agents, judge())
    env = {"AWS_SECRET_ACCESS_KEY": OTHER_SECRET, "OPENAI_API_KEY": CANARY_KEY}
    result = cli("debate", "-r", "1", "--id", "aws", PROBLEM, env=env)
    assert result.code == 4, result.stderr
    assert "AWS_SECRET_ACCESS_KEY" in result.stderr and "_API_KEY" in result.stderr
    assert foreign.log == []  # refused before any request
    assert OTHER_SECRET not in result.stderr + result.stdout
    assert not (isolated / "debates").exists()


def test_an_explicit_api_key_env_goes_to_the_config_base_url(cli, isolated: Path, llm_server_factory):
    own = llm_server_factory(api_key="own-key")
    routed = {"baseUrl": own.url, "apiKeyEnv": "OWN_LLM_API_KEY"}
    agents = [agent("a1", "architect", **routed), agent("a2", "security", **routed)]
    write_config(isolated, agents, {**judge(), **routed})
    result = cli("debate", "-r", "1", "--id", "own", PROBLEM, env={"OWN_LLM_API_KEY": "own-key"})
    assert result.code == 0, result.stderr
    assert {e["authorization"] for e in own.log} == {"Bearer own-key"}


def test_a_key_with_a_trailing_newline_is_named_before_any_call(cli, isolated: Path, llm_server):
    write_config(isolated, two_agents(), judge())
    result = cli("debate", "-r", "1", PROBLEM, env=openai_env(llm_server, key=CANARY_KEY + "\n"))
    assert result.code == 4, result.stderr
    assert "OPENAI_API_KEY has trailing whitespace" in result.stderr
    assert llm_server.log == [] and "Traceback" not in result.stderr


def test_an_html_page_with_status_200_is_retried_as_a_malformed_reply(cli, isolated: Path, llm_server):
    llm_server.set(fail_next=["html"])
    write_config(isolated, two_agents(), judge())
    result = cli("debate", "-r", "1", "--id", "html-once", PROBLEM, env=openai_env(llm_server))
    assert result.code == 0, result.stderr
    assert [e["fault"] for e in llm_server.log].count("html") == 1
    record = json.loads((isolated / "debates" / "html-once.json").read_text())
    assert record["status"] == "completed" and not record.get("failures")


def test_an_html_page_every_time_is_described_not_called_a_rejection(cli, isolated: Path, llm_server):
    llm_server.set(faults={"html": 1.0})
    write_config(isolated, two_agents(), judge())
    result = cli("debate", "-r", "1", "--id", "html-always", PROBLEM, env=openai_env(llm_server))
    assert result.code == 3, result.stderr
    assert "not the API's JSON" in result.stderr and "HTML page" in result.stderr
    assert "request rejected" not in result.stderr
    # retried: more requests than the two proposals
    assert len(llm_server.log) > 2
