"""The cost of a call in USD: the agent's own price if its config gives one, else the maintained
price table of the ``genai-prices`` package. A model without a known price costs ``None``
(unknown) — never 0, which would understate a bill.

Token counts follow LangChain's convention, which is also genai-prices': ``input_tokens`` counts
every prompt token, ``cached_input_tokens`` the part of them the provider's prompt cache served
(billed at the table's cache-read rate, or at the input rate for a model that has none), and
``cache_write_input_tokens`` the part written to that cache (billed at its cache-write rate)."""

from __future__ import annotations

from dialectic.configs.providers import OFFLINE, PROVIDERS
from dialectic.configs.schema import AgentConfig

# A prompt-cache write costs this times the input rate: Anthropic's 5-minute cache, the lifetime
# of the breakpoints we send (nodes/llm.py).
CACHE_WRITE_PREMIUM = 1.25


def call_cost(
    agent: AgentConfig,
    input_tokens: int,
    output_tokens: int,
    cached_input_tokens: int = 0,
    cache_write_input_tokens: int = 0,
) -> float | None:
    if agent.price is not None:
        # A config's own price names no cache rate: cached tokens cost the input rate, and tokens
        # written to the cache the premium of the only writes we ask for, so the figure may
        # overstate a bill, never understate it.
        written = min(cache_write_input_tokens, input_tokens) * (CACHE_WRITE_PREMIUM - 1)
        return (
            (input_tokens + written) * agent.price.inputPerMillion
            + output_tokens * agent.price.outputPerMillion
        ) / 1e6
    if agent.provider == OFFLINE:
        return 0.0  # the simulated model is free
    price_id = PROVIDERS[agent.provider].price_id
    if agent.baseUrl or price_id is None:
        return None  # a self-hosted or third-party server: the public price table does not apply
    return table_cost(
        agent.model, price_id, input_tokens, output_tokens, cached_input_tokens, cache_write_input_tokens
    )


def table_cost(
    model: str,
    provider: str,
    input_tokens: int,
    output_tokens: int,
    cached_input_tokens: int = 0,
    cache_write_input_tokens: int = 0,
) -> float | None:
    """The price table's cost of these tokens on ``model`` of ``provider`` (its genai-prices
    id); None if the table does not know the model."""
    from genai_prices import Usage, calc_price

    read = min(cached_input_tokens, input_tokens)  # the table refuses more
    usage = Usage(
        input_tokens=input_tokens,
        cache_read_tokens=read,
        cache_write_tokens=min(cache_write_input_tokens, input_tokens - read),
        output_tokens=output_tokens,
    )
    try:
        price = calc_price(usage, model, provider_id=provider)
    except LookupError:
        return None
    return float(price.total_price)
