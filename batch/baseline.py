"""The self-refine baseline: one model writes a design, critiques it itself and refines it, cycle
after cycle, while another cycle fits in the token budget of the debate it is compared with.

A tiny LangGraph graph (draft → critique → refine → … → finish) checkpointed in the debates'
store under the job's id, so a baseline resumes like a debate: a finished call is never made
again. Its state has the debate state's shape (contributions, usage, round, final solution), so
the debate JSON is written by the debates' own exporter and the evaluator's ``compare`` reads it
like any debate. Its checkpoints carry no debate settings: ``dialectic list`` passes them over
as a thread it did not write, and ``dialectic resume`` refuses them.

Why not a one-agent debate: the debate graph has no self-critique (an agent critiques the others),
always ends with a judge's synthesis (calls the baseline must not have), and budgets pause a
debate rather than end it; expressing "refine while the budget lasts" there would bend the
debate graph for the baseline's sake.
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from dialectic import prompts
from dialectic.batch.jobs import Job, JobOutcome, made_otherwise, outcome_of
from dialectic.configs.settings import RunSettings
from dialectic.debate.context import DebateContext
from dialectic.debate.history import critiques_text
from dialectic.debate.state import CallUsage, Contribution, FinalSolution
from dialectic.prompts.requirements import requirements_list

if TYPE_CHECKING:
    from langgraph.runtime import RunControl

# A safety cap on critique + refine cycles: the budget ends the loop (a 6 x 3 debate's tokens are
# ~30 cycles of one model), so the cap must not end it first or the match is not compute-matched.
MAX_CYCLES = 40
FIRST_CYCLE_FACTOR = 3  # before any cycle ran, one is guessed at this many drafts' tokens
JOB_KEY = "dialectic_batch_job"  # checkpoint metadata: what the baseline is made from (Job.fingerprint)


class BaselineState(TypedDict, total=False):
    problem: str
    budget: int
    round: int
    contributions: Annotated[list[Contribution], operator.add]
    usage: Annotated[list[CallUsage], operator.add]
    final_solution: FinalSolution | None


def spent(state: BaselineState) -> int:
    return sum(u.input_tokens + u.output_tokens for u in state.get("usage", []))


def another_cycle(state: BaselineState) -> bool:
    """Whether one more critique + refine cycle fits the budget, judged by the last cycle's
    tokens (before the first: FIRST_CYCLE_FACTOR drafts')."""
    usage = state.get("usage", [])
    cycles = sum(1 for c in state.get("contributions", []) if c.type == "refinement")
    if cycles >= MAX_CYCLES or not usage:
        return False
    if cycles:
        last = [u for u in usage if u.round == state.get("round", 1) and u.phase != "propose"]
        cycle = sum(u.input_tokens + u.output_tokens for u in last)
    else:
        cycle = FIRST_CYCLE_FACTOR * spent(state)
    return spent(state) + cycle <= state.get("budget", 0)


def _design(state: BaselineState) -> str:
    return next(c.content for c in reversed(state.get("contributions", [])) if c.type != "critique")


def _ask(
    runtime: Runtime[DebateContext],
    state: BaselineState,
    phase: str,
    speaks_as: str,
    round_number: int,
    values: dict[str, Any],
) -> tuple[Contribution, CallUsage]:
    from dialectic.nodes import llm
    from dialectic.nodes.agent_call import attempt, now_iso

    ctx = runtime.context
    member = ctx.settings.agents[0]
    problem = state.get("problem", "")
    user = prompts.render(
        _template(phase),
        {"problem": prompts.embed(problem), "requirements": requirements_list(problem), **values},
    )
    call = llm.Call(member.id, phase, round_number, member.id if phase == "critique" else None, speaks_as)
    reply = llm.complete(
        ctx.model(member.id),
        member,
        call,
        llm.messages_for(_template("system"), user),
        attempt=attempt(runtime),
        gate=ctx.gate,
    )
    usage = reply.usage
    contribution = Contribution(
        round=round_number,
        agent_id=member.id,
        agent_role=member.role,
        type=speaks_as,  # proposal, critique, refinement
        content=reply.text,
        target_agent_id=call.target,
        model=member.model,
        latency_ms=usage.latency_ms,
        tokens_used=usage.input_tokens + usage.output_tokens,
        timestamp=now_iso(),
    )
    return contribution, usage


def _template(name: str) -> str:
    text = prompts.builtin("baseline", name)
    assert text is not None, name
    return text


def draft(state: BaselineState, runtime: Runtime[DebateContext]) -> dict[str, Any]:
    made, usage = _ask(runtime, state, "propose", "proposal", 1, {})
    return {"round": 1, "contributions": [made], "usage": [usage]}


def critique(state: BaselineState, runtime: Runtime[DebateContext]) -> dict[str, Any]:
    refined = any(c.type == "refinement" for c in state.get("contributions", []))
    number = state.get("round", 1) + (1 if refined else 0)
    made, usage = _ask(
        runtime, state, "critique", "critique", number, {"target_proposal": prompts.embed(_design(state))}
    )
    return {"round": number, "contributions": [made], "usage": [usage]}


def refine(state: BaselineState, runtime: Runtime[DebateContext]) -> dict[str, Any]:
    number = state.get("round", 1)
    review = state["contributions"][-1]
    made, usage = _ask(
        runtime,
        state,
        "refine",
        "refinement",
        number,
        {"proposal": prompts.embed(_design(state)), "critiques": critiques_text([review])},
    )
    return {"contributions": [made], "usage": [usage]}


def finish(state: BaselineState, runtime: Runtime[DebateContext]) -> dict[str, Any]:
    """The last design is the final solution (no judge: the baseline is one model)."""
    design = _design(state)
    member = runtime.context.settings.agents[0]
    return {
        "final_solution": FinalSolution(
            description=design, solution_markdown=design, confidence=0, synthesized_by=member.id
        )
    }


def _next(state: BaselineState) -> str:
    return "critique" if another_cycle(state) else "finish"


def build_graph() -> StateGraph[Any, Any, Any, Any]:
    from dialectic.nodes.llm import RETRY

    graph = StateGraph(BaselineState, context_schema=DebateContext)
    graph.add_node("draft", draft, retry_policy=RETRY)
    graph.add_node("critique", critique, retry_policy=RETRY)
    graph.add_node("refine", refine, retry_policy=RETRY)
    graph.add_node("finish", finish)
    graph.add_edge(START, "draft")
    graph.add_conditional_edges("draft", _next, ["critique", "finish"])
    graph.add_edge("critique", "refine")
    graph.add_conditional_edges("refine", _next, ["critique", "finish"])
    graph.add_edge("finish", END)
    return graph


def run_baseline(job: Job, db: str, *, control: RunControl | None = None) -> JobOutcome:
    """Run (or resume, or read back) the baseline ``job`` within its token budget."""
    from langgraph.errors import GraphDrained

    from dialectic.errors import ProviderError
    from dialectic.runner import store as stores
    from dialectic.runner.feedback import save_keeping_feedback
    from dialectic.runner.run import (
        BASELINE_KEY,
        CREATED_KEY,
        check_providers,
        thread_config,
        utc_now,
        warm_up,
    )
    from dialectic.transcript.export import to_record

    settings = RunSettings.from_json(job.settings_json)
    check_providers(settings)
    debate_id = stores.validate_debate_id(job.debate_id)
    path = stores.debate_json_path(debate_id)
    with stores.open_store(stores.db_url(db)) as store, store.writer(debate_id, "dialectic batch"):
        graph = build_graph().compile(checkpointer=store.saver)
        config = thread_config(debate_id)
        context = DebateContext(settings)
        snapshot = graph.get_state(config)
        metadata = dict(snapshot.metadata or {})
        if snapshot.created_at is not None and metadata.get(JOB_KEY) != job.fingerprint:
            raise made_otherwise(job, store.url)
        created = str(metadata.get(CREATED_KEY) or utc_now())
        config = {
            **config,
            "recursion_limit": 2 * MAX_CYCLES + 8,  # draft, cycles of two steps, finish
            "metadata": {
                CREATED_KEY: created,
                BASELINE_KEY: job.baseline,
                JOB_KEY: job.fingerprint,
            },
        }

        def save(status: str, stop_reason: str | None = None) -> JobOutcome:
            state = dict(graph.get_state(config).values)
            record = to_record(
                debate_id, state, settings, status=status, created_at=created, updated_at=utc_now()
            )
            record.maxRounds = MAX_CYCLES
            if stop_reason:
                record.stopReason = stop_reason
            save_keeping_feedback(path, record)  # a reader's verdict outlives a rerun
            return outcome_of(job, record, path, stop_reason)

        finished = snapshot.created_at is not None and not snapshot.next
        if finished:
            return save("completed")
        start = None if snapshot.next else {"problem": job.problem_text, "budget": job.budget_tokens or 0}
        try:
            warm_up(context)
            for _ in graph.stream(start, config, context=context, durability="sync", control=control):
                pass
        except (GraphDrained, KeyboardInterrupt):
            return save("interrupted", "interrupted")
        except ProviderError as exc:
            return save("failed", str(exc))
        finally:
            context.close()  # its response cache: a sweep runs many baselines in one process
        return save("completed")
