"""The cost of a call in USD: the agent's own price if its config gives one, else the maintained
price table of the ``genai-prices`` package. A model without a known price costs ``None``
(unknown) — never 0, which would understate a bill."""

from __future__ import annotations

from dialectic.configs.providers import OFFLINE, PROVIDERS
from dialectic.configs.schema import AgentConfig


def call_cost(agent: AgentConfig, input_tokens: int, output_tokens: int) -> float | None:
    if agent.price is not None:
        return (
            input_tokens * agent.price.inputPerMillion + output_tokens * agent.price.outputPerMillion
        ) / 1e6
    if agent.provider == OFFLINE:
        return 0.0  # the simulated model is free
    price_id = PROVIDERS[agent.provider].price_id
    if agent.baseUrl or price_id is None:
        return None  # a self-hosted or third-party server: the public price table does not apply
    return _table_cost(agent.model, price_id, input_tokens, output_tokens)


def _table_cost(model: str, provider: str, input_tokens: int, output_tokens: int) -> float | None:
    from genai_prices import Usage, calc_price

    try:
        price = calc_price(
            Usage(input_tokens=input_tokens, output_tokens=output_tokens), model, provider_id=provider
        )
    except LookupError:
        return None
    return float(price.total_price)
