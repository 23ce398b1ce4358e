"""Extensions: your own functions as nodes of the debate graph.

An extension is a plain function ``f(view, context)`` run after a phase of every round::

    from dialectic.extensions import DebateView, ExtensionContext, ExtensionUpdate

    def count_words(view: DebateView, context: ExtensionContext) -> ExtensionUpdate:
        words = {c.agent_id: len(c.content.split()) for c in view.current.refinements}
        return ExtensionUpdate(data=words, notes="Keep refinements under 800 words.")

Name it in the config (``"callable"`` is ``package.module:function`` or a ``.py`` file relative
to the config's folder; without it, the installed ``dialectic.nodes`` entry point of that name)::

    "extensions": [{"name": "words", "callable": "my_pkg.checks:count_words", "after": "refine"}]

or pass ``Extension("words", count_words, after="refine")`` to ``build_graph``/``run_debate``.

- ``after``: ``propose`` (after the round's proposals), ``critique``, ``refine`` (after the
  refinements, before the convergence check) or ``round`` (the end of the round, before the next
  round or the judge). Several extensions at one position run one after another, in order.
- ``view`` (:class:`DebateView`, read-only): the problem and its major requirements, the agents,
  the rounds so far (proposals, critiques, refinements), clarifications, consensus scores and the
  data extensions saved so far.
- ``context`` (:class:`ExtensionContext`): the extension's name, position, round, the debate id,
  the run's settings, its config ``options``, and ``log(message)`` for a progress line.
- Return :class:`ExtensionUpdate` (or a dict with its keys, or ``None``): ``notes`` for every
  agent and the judge in later phases, ``agent_notes`` for one agent, ``data`` (JSON) saved in the
  debate JSON under ``extensions.<name>``, ``report`` (Markdown) shown as a report section.

The node is checkpointed like any other: a resumed debate does not run it again for a round it
finished. If it raises, the run is recorded in the debate's ``failures`` and the debate goes on.
"""

from dialectic.configs.schema import EXTENSION_POSITIONS
from dialectic.extensions.api import (
    UPDATE_KEYS,
    Extension,
    ExtensionContext,
    ExtensionFunction,
    ExtensionUpdate,
)
from dialectic.extensions.loading import ENTRY_POINT_GROUP
from dialectic.extensions.view import (
    AgentView,
    ClarificationView,
    ContributionView,
    DebateView,
    RoundView,
    SavedData,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "EXTENSION_POSITIONS",
    "UPDATE_KEYS",
    "AgentView",
    "ClarificationView",
    "ContributionView",
    "DebateView",
    "Extension",
    "ExtensionContext",
    "ExtensionFunction",
    "ExtensionUpdate",
    "RoundView",
    "SavedData",
]
