"""What the batch tests share: a fresh PostgreSQL database per module (DIALECTIC_TEST_POSTGRES;
tests that need it are skipped without it)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest

POSTGRES = os.environ.get("DIALECTIC_TEST_POSTGRES")
needs_postgres = pytest.mark.skipif(
    not POSTGRES, reason="set DIALECTIC_TEST_POSTGRES to a PostgreSQL URL to run the PostgreSQL store tests"
)


@pytest.fixture(scope="module")
def postgres(new_postgres_database: Callable[[str], AbstractContextManager[str]]) -> Iterator[str]:
    """A fresh PostgreSQL database for the module, dropped after it."""
    assert POSTGRES
    with new_postgres_database("dialectic_batch") as url:
        yield url
