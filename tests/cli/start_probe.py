"""Run the ``dialectic`` command (its arguments are this script's) and print, as the last line of
stdout, ``PROBE {json}``: what the process looked like when its debate started (the
``run_started`` event, before any LLM call) and at its very end. Used by the start-up and exit
tests (tests/cli/test_fast_start_exit.py, tests/http/test_fast_start_http.py); not a test.

- ``collector_on_in_start_up``: whether the garbage collector ran while the command started
  (read when the run begins, after the command's imports and checks);
- ``collector_on_at_run``, ``frozen_at_run``: the collector once the debate started, and whether
  start-up's objects were moved out of its reach by then;
- ``built_at_run``: the members whose chat model was built by then, in order;
- ``loaded_at_run``: which of the provider client and the price table were imported by then;
- ``frozen_at_exit``: whether, after every other exit handler, the objects still alive are out
  of the collector's reach (so the interpreter's teardown does not walk them);
- ``modules``: the top-level packages the command imported.

It imports nothing the command would not (only ``dialectic.cli`` and the light factory module).
"""

from __future__ import annotations

import atexit
import gc
import json
import sys
from typing import Any

record: dict[str, Any] = {}


def report() -> None:
    modules = sorted({name.split(".")[0] for name in sys.modules})
    print("PROBE " + json.dumps({**record, "frozen_at_exit": gc.get_freeze_count() > 0, "modules": modules}))


atexit.register(report)  # registered before the command's own: runs after them

from dialectic import cli  # noqa: E402
from dialectic.providers import factory  # noqa: E402

built: list[str] = []
build = factory.build_chat_model
run = cli._run


def counting_build(agent: Any, *args: Any, **kwargs: Any) -> Any:
    built.append(agent.id)
    return build(agent, *args, **kwargs)


def noting_run(console: Any, debate_id: str, start: Any, **kwargs: Any) -> int:
    record["collector_on_in_start_up"] = gc.isenabled()

    def noting_start(on_event: Any, control: Any, respond: Any) -> Any:
        def noting_event(event: dict[str, Any]) -> None:
            on_event(event)  # the command's own handler first: it knows when start-up ends
            if event.get("event") == "run_started":
                record.update(
                    collector_on_at_run=gc.isenabled(),
                    frozen_at_run=gc.get_freeze_count() > 0,
                    built_at_run=list(built),
                    loaded_at_run=[m for m in ("langchain_openai", "genai_prices") if m in sys.modules],
                )

        return start(noting_event, control, respond)

    return run(console, debate_id, noting_start, **kwargs)


factory.build_chat_model = counting_build
cli._run = noting_run

sys.argv = ["dialectic", *sys.argv[1:]]
cli.main()
