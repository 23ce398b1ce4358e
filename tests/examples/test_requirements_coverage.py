"""The example extension in examples/requirements_coverage: its judgement on hand-written
refinements, and a whole debate through the installed command with the example's own config."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path
from types import ModuleType

from dialectic.configs.settings import RunSettings
from dialectic.extensions import ContributionView, DebateView, ExtensionContext, RoundView, SavedData

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "requirements_coverage"
REQUIREMENTS = (
    "Edits made offline must sync without losing anyone's changes when the phone reconnects.",
    "A change must reach the other members of the household within 2 seconds when they are online.",
    "Deleting an account must remove the person's data within 30 days.",
)


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("coverage_example", EXAMPLE / "coverage.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def refinement(agent_id: str, content: str) -> ContributionView:
    return ContributionView(
        round=2, agent_id=agent_id, agent_role="architect", type="refinement", content=content
    )


def view_of(refinements: tuple[ContributionView, ...], saved: tuple[SavedData, ...] = ()) -> DebateView:
    return DebateView(
        problem="\n".join(REQUIREMENTS),
        requirements=REQUIREMENTS,
        agents=(),
        round=2,
        position="refine",
        rounds=(RoundView(number=1), RoundView(number=2, refinements=refinements)),
        clarifications=(),
        consensus=(),
        extension_data={"requirements-coverage": saved},
    )


def context(settings: RunSettings | None = None, **options: object) -> ExtensionContext:
    return ExtensionContext(
        name="requirements-coverage",
        position="refine",
        round=2,
        debate_id="t",
        settings=settings,  # type: ignore[arg-type]  # the example does not read it
        options=options,
    )


def test_it_tells_covered_unmet_and_missing_apart_and_nudges_the_agent() -> None:
    coverage = load_example()
    text = (
        "## Revised Design\n\nA sync log per household; offline edits merge with CRDTs.\n\n"
        "## Requirements Coverage\n\n"
        "- Offline edits sync without losing changes on reconnect → per-field CRDT merge.\n"
        "- A change reaches other household members within 2 seconds when online → not yet met: "
        "push fan-out is still open.\n"
    )
    earlier = SavedData(1, {"requirements": list(REQUIREMENTS), "coverage": {"arch": ["missing"] * 3}})
    update = coverage.track_coverage(view_of((refinement("arch", text),), (earlier,)), context())

    assert update.data["coverage"] == {"arch": ["covered", "unmet", "missing"]}
    assert "within 2 seconds" in update.agent_notes["arch"] and "30 days" in update.agent_notes["arch"]
    assert "sync" not in update.agent_notes["arch"].split("\n", 1)[1]
    assert (
        "| Edits made offline must sync without losing anyone's changes when the phone reconnects. | ✗ → ✓ |"
        in update.report
    )
    assert "| **Covered in the last round** | 1/3 |" in update.report


def test_a_fully_covering_agent_gets_its_note_withdrawn() -> None:
    coverage = load_example()
    text = "## Requirements Coverage\n\n" + "\n".join(f"- {r} → done" for r in REQUIREMENTS)
    update = coverage.track_coverage(view_of((refinement("arch", text),)), context(nudge=True))
    assert update.agent_notes == {"arch": ""}
    assert (
        coverage.track_coverage(view_of((refinement("arch", text),)), context(nudge=False)).agent_notes
        is None
    )


def test_the_example_config_runs_a_debate_and_adds_the_table_to_the_report(cli, isolated: Path) -> None:
    shutil.copytree(EXAMPLE, isolated / "example")
    result = cli(
        "debate",
        "--offline",
        "-c",
        "example/debate-config.json",
        "-p",
        "example/problem.md",
        "--id",
        "coverage-1",
        "--report",
        "report.md",
    )
    assert result.code == 0, result.stderr
    assert "requirements-coverage: architect" in result.stderr  # its progress line
    saved = json.loads((isolated / "debates" / "coverage-1.json").read_text())
    runs = saved["extensions"]["requirements-coverage"]["runs"]
    assert [run["round"] for run in runs] == [1, 2]
    assert set(runs[0]["data"]["coverage"]) == {"architect", "security", "simplicity"}
    assert len(runs[0]["data"]["requirements"]) == 5
    report = (isolated / "report.md").read_text()
    section = report[report.index("## Extension: requirements-coverage") : report.index("## Outcome")]
    assert "| Requirement | architect | security | simplicity |" in section
    assert section.count(" → ") >= 5 * 3  # two rounds per cell
    assert "The service must handle 50,000 households editing at the same time." in section
