"""One debate's state as the store holds it, for the commands that render a debate from its
checkpoints rather than from its JSON (``dialectic adr``, ``dialectic show --diff``): the state,
the settings it ran with and where it stands. Read-only, through the catalog's reader graph, so
a debate whose extensions no longer import still reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from dialectic.configs.settings import RunSettings
from dialectic.debate.state import DebateState
from dialectic.runner import store as stores
from dialectic.runner.catalog import reader, status_of
from dialectic.runner.run import read_stored, thread_config


@dataclass
class StoredState:
    id: str
    values: DebateState
    settings: RunSettings
    status: str  # as ``dialectic show`` says it
    notices: list[str]  # stored settings this version could not read (their defaults were used)


def read_state(db: str | None, debate_id: str) -> StoredState:
    """The debate's latest state; an ``InputError`` (exit 2) for an unknown id or store."""
    url = stores.db_url(db)
    stores.require_store(url, debate_id)
    with stores.open_store(url, read_only=True) as store:
        stored = read_stored(store, debate_id, required=True)
        assert stored is not None
        snapshot = reader(store).get_state(thread_config(debate_id))
        settings, notices = RunSettings.from_stored(stored.settings_json)
        return StoredState(
            id=debate_id,
            values=cast(DebateState, dict(snapshot.values)),
            settings=settings,
            status=status_of(snapshot, running=store.holder(debate_id) is not None),
            notices=notices,
        )
