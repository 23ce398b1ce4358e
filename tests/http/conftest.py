"""Fixtures for tests over real HTTP against the OpenAI-compatible test server in llm_server.py.

pytest runs in importlib mode, so ``llm_server.py`` is not importable by name: it is loaded here
from its path, once, and handed out through fixtures:

- ``llm_server``: a started server on ``127.0.0.1`` (free port), stopped after the test;
  ``.url`` is ``http://127.0.0.1:PORT/v1``, ``.set(...)`` changes settings, ``.log`` is the log.
- ``llm_server_factory``: ``make(**settings)`` starts more servers (all stopped after the test).
- ``llm_server_module``: the module itself (``LLMServer``, ``instance_from_schema``, ``validate``...).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SERVER_PATH = Path(__file__).resolve().parent / "llm_server.py"
_MODULE_NAME = "dialectic_tests_http_llm_server"


def load_server_module() -> ModuleType:
    module = sys.modules.get(_MODULE_NAME)
    if module is None:
        spec = importlib.util.spec_from_file_location(_MODULE_NAME, SERVER_PATH)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[_MODULE_NAME] = module  # dataclasses look their module up by name
        spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def llm_server_module() -> ModuleType:
    return load_server_module()


@pytest.fixture
def llm_server_factory(llm_server_module: ModuleType) -> Iterator[Callable[..., Any]]:
    started: list[Any] = []

    def make(**settings: Any) -> Any:
        server = llm_server_module.LLMServer("127.0.0.1", 0, **settings).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def llm_server(llm_server_factory: Callable[..., Any]) -> Any:
    return llm_server_factory()
