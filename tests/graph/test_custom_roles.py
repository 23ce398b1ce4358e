"""A custom role with a partial prompt folder takes part in a whole debate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from dialectic.configs.loader import load_config
from dialectic.configs.settings import resolve_settings
from dialectic.runner.run import DebateRun, utc_now


def test_custom_role_debates_with_its_own_and_the_generalists_prompts(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dialectic.providers.offline as offline

    seen: list[tuple[str, str, str, str]] = []
    original = offline.OfflineChatModel._text

    def spy(self, meta, messages, rng):
        seen.append(
            (
                meta.get("dialectic_agent"),
                meta.get("dialectic_phase"),
                messages[0].content,
                messages[-1].content,
            )
        )
        return original(self, meta, messages, rng)

    monkeypatch.setattr(offline.OfflineChatModel, "_text", spy)
    folder = isolated / "economist"
    folder.mkdir()
    (folder / "system.md").write_text("ECONOMIST-SYSTEM: you are {agent_name}, the {role}.", encoding="utf-8")
    (folder / "refine.md").write_text(
        "ECONOMIST-REFINE\n{problem}\n{proposal}\n{critiques}\n{requirements}", encoding="utf-8"
    )
    document = {
        "agents": [
            {
                "id": "eco",
                "name": "Eco",
                "role": "economist",
                "promptsDir": "economist",
                "model": "m",
                "provider": "offline",
            },
            {"id": "arch", "name": "Arch", "role": "architect", "model": "m", "provider": "offline"},
        ],
        "debate": {"rounds": 1, "summarization": {"enabled": False}},
    }
    (isolated / "debate-config.json").write_text(json.dumps(document), encoding="utf-8")
    config, source, _ = load_config(isolated / "debate-config.json")
    settings, _ = resolve_settings(config, source, offline=True)

    run = DebateRun(InMemorySaver(), "roles-1", settings, created_at=utc_now())
    result = run.execute({"problem": "Design a ledger. Balances must never go negative."})

    assert result.status == "completed"
    by_phase = {phase: (system, user) for agent, phase, system, user in seen if agent == "eco"}
    assert set(by_phase) == {"propose", "critique", "refine"}
    assert all(system == "ECONOMIST-SYSTEM: you are Eco, the economist." for system, _ in by_phase.values())
    assert by_phase["refine"][1].startswith("ECONOMIST-REFINE")
    assert "from your perspective as the economist on the panel" in by_phase["propose"][1]  # generalist's
    roles = {c.agentId: c.agentRole for r in result.record.rounds for c in r.contributions}
    assert roles == {"eco": "economist", "arch": "architect"}
