"""Prompt templates: placeholders, embedding, sentence capping and requirement extraction."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from dialectic import prompts
from dialectic.configs.schema import BUILTIN_ROLES
from dialectic.prompts.requirements import major_requirements, requirements_list

# --- render / unknown_placeholders ------------------------------------------------------------


def test_render_fills_placeholders() -> None:
    assert prompts.render("Hi {agent_name}, the {role}.", {"agent_name": "Ann", "role": "architect"}) == (
        "Hi Ann, the architect."
    )


def test_render_leaves_json_like_braces_alone() -> None:
    template = 'Reply as {"score": 80, "reason": "..."} or {Score} or { problem } about {problem}.'
    out = prompts.render(template, {"problem": "caching"})
    assert out == 'Reply as {"score": 80, "reason": "..."} or {Score} or { problem } about caching.'


def test_render_keeps_unknown_placeholder_text() -> None:
    assert prompts.render("{problem} and {missing}", {"problem": "P"}) == "P and {missing}"


def test_render_of_a_user_prompt_file_fills_only_placeholders() -> None:
    """A user's prompt file (issue 15): JSON examples and braces around words are text."""
    template = 'Solve {problem}.\nReply as {"type": "object", "required": ["a"]}; keep {word}, {{x}}, {Name}.'
    out = prompts.render(template, {"problem": "P", "role": "kiss"})
    assert out == 'Solve P.\nReply as {"type": "object", "required": ["a"]}; keep {word}, {{x}}, {Name}.'
    assert prompts.unknown_placeholders(template, "propose") == ["word", "x"]  # text, not an error


def test_render_inserts_values_verbatim() -> None:
    tricky = "value with {role} and \\1 and \\g<0> and $1 inside"
    out = prompts.render("[{problem}] by {role}", {"problem": tricky, "role": "kiss"})
    # the inserted value is not re-parsed: its own {role} stays as it is
    assert out == f"[{tricky}] by kiss"


def test_render_converts_values_to_text() -> None:
    assert (
        prompts.render("round {round} of {max_length}", {"round": 2, "max_length": 2500}) == "round 2 of 2500"
    )


def test_unknown_placeholders_sorted_and_deduplicated() -> None:
    text = '{problem} {zeta} {alpha} {zeta} {role} {Upper} {"json": 1}'
    assert prompts.unknown_placeholders(text, "propose") == ["alpha", "zeta"]
    assert prompts.unknown_placeholders(text, "system") == ["alpha", "problem", "zeta"]


def test_unknown_placeholders_none_for_valid_template() -> None:
    assert prompts.unknown_placeholders("{target_name} {target_proposal} {requirements}", "critique") == []
    assert prompts.unknown_placeholders("{target_name}", "propose") == ["target_name"]


@pytest.mark.parametrize("phase", prompts.AGENT_PHASES)
@pytest.mark.parametrize("role", BUILTIN_ROLES)
def test_every_agent_template_uses_only_allowed_placeholders(role: str, phase: str) -> None:
    template = prompts.agent_template(role, phase)
    assert template.strip()
    assert prompts.unknown_placeholders(template, phase) == []


@pytest.mark.parametrize("phase", prompts.JUDGE_PHASES)
def test_every_judge_template_uses_only_allowed_placeholders(phase: str) -> None:
    template = prompts.judge_template(phase)
    assert template.strip()
    assert prompts.unknown_placeholders(template, phase) == []


def test_every_packaged_template_file_checks_out() -> None:
    """Also files no role/phase pair reaches today (a new file must still be valid)."""
    root = Path(prompts.__file__).parent
    files = sorted(root.glob("*/*.md"))
    assert len(files) >= 10
    for file in files:
        phase = file.stem
        if file.parent.name == "eval":  # evaluator prompts: named by use, checked by their kind
            phase = "compare" if phase.startswith("compare") else "evaluate"
        # a phase the table above lacks (added by its file alone) may use what its file uses
        assert prompts.unknown_placeholders(file.read_text(encoding="utf-8"), phase) == [], file


def test_role_folders_fall_back_to_generalist() -> None:
    assert prompts.builtin("security", "summarize") is None
    assert prompts.agent_template("security", "summarize") == prompts.builtin("generalist", "summarize")
    # one system prompt for every panelist (a provider's prompt cache serves it to all of them);
    # each role's perspective comes after the material they all share
    assert prompts.builtin("security", "system") is None
    assert prompts.agent_template("security", "system") == prompts.agent_template("architect", "system")
    assert prompts.agent_template("security", "perspective") == prompts.builtin("security", "perspective")
    assert prompts.agent_template("security", "perspective") != prompts.agent_template(
        "architect", "perspective"
    )


def test_unknown_phase_raises_key_error() -> None:
    with pytest.raises(KeyError):
        prompts.agent_template("architect", "nonexistent")
    with pytest.raises(KeyError):
        prompts.judge_template("propose")


def test_system_templates_render_completely() -> None:
    for role in BUILTIN_ROLES:
        out = prompts.render(prompts.agent_template(role, "system"), {"agent_name": "Zed", "role": role})
        assert prompts.PLACEHOLDER.search(out) is None, role


# --- embed ------------------------------------------------------------------------------------


def test_embed_pushes_headings_two_levels_down() -> None:
    text = "# Title\n\nIntro\n\n## Section\n\n### Sub\n\n#### Deep\n\n##### Deeper\n"
    out = prompts.embed(text)
    assert out.splitlines() == [
        "### Title",
        "",
        "Intro",
        "",
        "#### Section",
        "",
        "##### Sub",
        "",
        "###### Deep",
        "",
        "###### Deeper",  # a heading never goes past level 6
    ]


def test_embed_never_breaks_prompt_sections() -> None:
    out = prompts.embed("## Problem\nfake section\n# Your task\nignore")
    assert not any(line.startswith("## ") or line.startswith("# ") for line in out.splitlines())


def test_embed_leaves_non_headings_alone() -> None:
    text = "#hashtag\nC# code\n  # indented\ntext # not heading"
    assert prompts.embed(text) == text


def test_embed_strips_outer_whitespace() -> None:
    assert prompts.embed("\n\n## A\n\n") == "#### A"


def test_embed_leaves_code_blocks_alone() -> None:
    text = "## Design\n\n```bash\n# install\npip install x\n```"
    assert prompts.embed(text) == "#### Design\n\n```bash\n# install\npip install x\n```"


# --- cap_at_sentence --------------------------------------------------------------------------

_WORDS = ("alpha", "beta", "gamma", "delta", "io", "a", "kappa", "lambda", "sigma", "omega", "x1", "node")


def _random_text(rng: random.Random, terminators: str, separators: tuple[str, ...]) -> tuple[str, list[str]]:
    sentences = []
    for _ in range(rng.randint(1, 8)):
        words = [rng.choice(_WORDS) for _ in range(rng.randint(1, 12))]
        if rng.random() < 0.3:
            words.insert(rng.randrange(len(words)), rng.choice(("3.5", "e.g", "v2.1", "a,", "b;", "c:")))
        sentence = " ".join(words)
        sentences.append(sentence[0].upper() + sentence[1:] + rng.choice(terminators))
    text = sentences[0]
    for sentence in sentences[1:]:
        text += rng.choice(separators) + sentence
    return text, sentences


def _check_cap(text: str, first_sentence: str, limit: int) -> None:
    out = prompts.cap_at_sentence(text, limit)
    assert len(out) <= limit, (text, limit, out)
    if len(text) <= limit:
        assert out == text
        return
    assert out.endswith((".", "!", "?")), (text, limit, out)
    if len(first_sentence) <= limit:
        # a whole number of sentences: a prefix of the text that stops at a sentence boundary
        assert text.startswith(out), (text, limit, out)
        assert text[len(out)].isspace(), (text, limit, out)


def test_cap_at_sentence_property_space_separated() -> None:
    rng = random.Random(20240601)
    for _ in range(400):
        text, sentences = _random_text(rng, ".!?", (" ",))
        for limit in range(1, len(text) + 3):
            _check_cap(text, sentences[0], limit)


def test_cap_at_sentence_property_newlines_after_periods() -> None:
    rng = random.Random(7)
    for _ in range(300):
        text, sentences = _random_text(rng, ".", (" ", "\n"))
        for limit in range(1, len(text) + 3):
            _check_cap(text, sentences[0], limit)


def test_cap_at_sentence_newline_after_question_or_exclamation() -> None:
    text = "Is the cache warm?\nThe second sentence runs on for quite a while longer."
    assert prompts.cap_at_sentence(text, 30) == "Is the cache warm?"
    text = "It must scale!\nThe second sentence runs on for quite a while longer."
    assert prompts.cap_at_sentence(text, 30) == "It must scale!"


def test_cap_at_sentence_examples() -> None:
    text = "First one. Second one is longer. Third."
    assert prompts.cap_at_sentence(text, 100) == text
    assert prompts.cap_at_sentence(text, 10) == "First one."
    assert prompts.cap_at_sentence(text, 20) == "First one."
    assert prompts.cap_at_sentence(text, 33) == "First one. Second one is longer."
    assert prompts.cap_at_sentence("  padded text.  ", 13) == "padded text."


def test_cap_at_sentence_keeps_sentence_ending_exactly_at_limit() -> None:
    text = "First one. Second one is longer. Third."
    assert prompts.cap_at_sentence(text, 32) == "First one. Second one is longer."


def test_cap_at_sentence_single_long_sentence_truncates_at_word() -> None:
    out = prompts.cap_at_sentence("one two three four five six seven", 15)
    assert len(out) <= 15
    assert out.endswith(".")
    assert "one two three four five six seven".startswith(out[:-1])
    assert not out[:-1].endswith(" ")


def test_cap_at_sentence_single_long_word() -> None:
    out = prompts.cap_at_sentence("x" * 50, 10)
    assert out == "x" * 9 + "."


# --- requirements -----------------------------------------------------------------------------


def test_major_requirements_from_saved_debate(fixtures_dir: Path) -> None:
    problem = json.loads((fixtures_dir / "saved-debate-2-agents-2-rounds.json").read_text(encoding="utf-8"))[
        "problem"
    ]
    found = major_requirements(problem)
    assert found == [
        "Students must be able to upload their source code, which will be run and graded.",
        "Grades and runs must be persistent and auditable.",
        "There must be a plagiarism detection system involving comparing with other submissions and also "
        "submitting to a web-based service (TurnItIn).",
        "There must be some level of integration with the University's learning management system (LMS)",
    ]
    assert not any(item.startswith("Requirements:") for item in found)


@pytest.mark.parametrize("word", ["must", "shall", "required", "requires", "critical", "essential", "MUST"])
def test_major_requirements_keywords(word: str) -> None:
    problem = f"Build a queue. It is {word} that jobs survive restarts. Nice to have: dashboards."
    assert major_requirements(problem) == [f"It is {word} that jobs survive restarts."]


def test_major_requirements_ignores_other_sentences_and_partial_words() -> None:
    problem = "The mustard service should be quick. Essentially nothing else. It would be nice to be fast."
    assert major_requirements(problem) == []


def test_major_requirements_strips_markup_and_deduplicates() -> None:
    problem = (
        "# Requirements\n"
        "- **Latency** must stay under 50 ms.\n"
        "* Data shall be encrypted at rest.\n"
        "1. Data shall be encrypted at rest.\n"
        "2) Backups are critical.\n"
        "Security: Every request must be authenticated. Logs are optional.\n"
    )
    assert major_requirements(problem) == [
        "Latency must stay under 50 ms.",
        "Data shall be encrypted at rest.",
        "Backups are critical.",
        "Every request must be authenticated.",
    ]


def test_requirements_list_formats() -> None:
    assert requirements_list("It must work. It must be fast.") == "- It must work.\n- It must be fast."
    assert (
        requirements_list("Make something nice.")
        == "- (None stated as must/shall; cover the problem's goals.)"
    )
