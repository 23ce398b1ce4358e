"""The prompt ceiling (``debate.maxPromptTokens``): no prompt of any phase grows past it.

A prompt grows with the material it carries (histories, the transcript the judge reads), so
what would cross the ceiling is summarised first, and material too large for one summary call
is summarised in parts, each a call that fits. Nothing is ever cut mid-sentence.

Tokens are estimated as characters ÷ 4, the usual rule of thumb for English text and what the
benchmarks' stub counts: no tokenizer is needed (models of different providers would count
differently anyway), and the estimate leaves a margin below the ceiling for that difference.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from dialectic.configs.settings import RunSettings

CHARS_PER_TOKEN = 4
# What the estimate keeps free below the ceiling: markup the templates add around material
# (headings, list bullets), and a tokenizer that counts a little more than characters ÷ 4.
MARGIN = 0.1


def tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def ceiling(settings: RunSettings) -> int:
    """The usable ceiling, the margin taken off."""
    return int(settings.config.debate.maxPromptTokens * (1 - MARGIN))


def fixed_tokens(settings: RunSettings, member_id: str, phase: str, *texts: str) -> int:
    """What a call's prompt holds besides the material to fit: its system prompt and template
    (unrendered: placeholders are a little longer than the names they stand for) and the texts given."""
    return sum(
        tokens(text)
        for text in (settings.template(member_id, "system"), settings.template(member_id, phase), *texts)
    )


def history_budget(settings: RunSettings) -> int:
    """The most an agent's raw history may hold before it is summarised whatever the
    summarization settings say: half the ceiling, so a round's material fits beside it."""
    return ceiling(settings) // 2


def parts(entries: Sequence[str], budget: int) -> list[list[str]]:
    """Consecutive whole entries grouped so that each group holds at most ``budget`` tokens (an
    entry larger than that on its own stays whole: a part is never cut)."""
    groups: list[list[str]] = []
    size = 0
    for entry in entries:
        cost = tokens(entry) + 1  # the line between entries
        if groups and size + cost <= budget:
            groups[-1].append(entry)
            size += cost
        else:
            groups.append([entry])
            size = cost
    return groups
