"""The replay cache revives chat replies only: a cache file may come from someone else."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from langchain_core.load import dumps
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration
from langchain_core.prompts import PromptTemplate

from dialectic.providers.cache import SQLiteResponseCache, is_cached


def test_a_reply_round_trips_marked_as_cached(tmp_path: Path) -> None:
    cache = SQLiteResponseCache(tmp_path / "c.sqlite")
    reply = AIMessage(
        content="a design", tool_calls=[{"name": "file_read", "args": {"path": "a"}, "id": "t1"}]
    )
    cache.update("prompt", "llm", [ChatGeneration(message=reply)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # langchain_core.load is marked beta
        found = cache.lookup("prompt", "llm")
    assert found is not None and is_cached([found[0].message])
    assert found[0].message.content == "a design" and found[0].message.tool_calls[0]["args"] == {"path": "a"}
    cache.close()


def test_an_entry_that_is_not_a_chat_reply_is_a_miss(tmp_path: Path) -> None:
    cache = SQLiteResponseCache(tmp_path / "c.sqlite")
    with cache._lock:  # planted by hand, as an edited file would be
        cache._conn.execute(
            "INSERT INTO responses VALUES (?, ?, ?)",
            ("prompt", "llm", dumps([PromptTemplate.from_template("{x}")])),
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert cache.lookup("prompt", "llm") is None
    cache.update("prompt", "llm", [ChatGeneration(message=AIMessage(content="real"))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = cache.lookup("prompt", "llm")
    assert found is not None and found[0].message.content == "real"
    cache.close()


@pytest.mark.parametrize(
    "stored",
    [
        "not json",
        "[]",
        '{"a": 1}',
        '["x"]',
        dumps([AIMessage(content="a bare message, not a generation")]),
        '{"lc": 1, "type": "not_implemented", "id": ["x", "Y"], "repr": "Y()"}',
    ],
    ids=["not-json", "empty", "object", "strings", "messages", "not-implemented"],
)
def test_a_malformed_entry_is_a_miss(tmp_path: Path, stored: str) -> None:
    cache = SQLiteResponseCache(tmp_path / "c.sqlite")
    with cache._lock:
        cache._conn.execute("INSERT INTO responses VALUES (?, ?, ?)", ("prompt", "llm", stored))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert cache.lookup("prompt", "llm") is None
    cache.close()
