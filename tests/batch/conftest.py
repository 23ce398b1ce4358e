"""What the batch tests share: a fresh PostgreSQL database per module (DIALECTIC_TEST_POSTGRES;
tests that need it are skipped without it)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

POSTGRES = os.environ.get("DIALECTIC_TEST_POSTGRES")
needs_postgres = pytest.mark.skipif(
    not POSTGRES, reason="set DIALECTIC_TEST_POSTGRES to a PostgreSQL URL to run the PostgreSQL store tests"
)


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A fresh PostgreSQL database for the module, dropped after it."""
    import psycopg

    assert POSTGRES
    name = f"dialectic_batch_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = POSTGRES.rpartition("/")
    yield f"{base}/{name}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
