"""The model providers an agent's ``provider`` may name, as data: which LangChain integration
builds its chat model (through LangChain's ``init_chat_model``), which package and extra install
it, where its key and base URL come from, and how its prices are looked up.

Adding a provider LangChain supports is one row here. ``openai`` and ``openrouter`` ship with
Dialectic; the others need their integration package (``pip install 'dialectic-debate[ollama]'``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ProviderSpec:
    name: str  # what a config's ``provider`` says
    langchain: str  # init_chat_model's model_provider
    package: str  # the integration's module; without it the provider cannot be used
    extra: str | None  # the extra of dialectic-debate that installs it (None: always installed)
    key_env: str | None  # the variable holding its API key (None: it needs none)
    base_url_env: str | None = None  # a variable that may point it at another URL
    default_base_url: str | None = None  # its URL when neither the config nor the variable gives one
    price_id: str | None = None  # its provider id in the genai-prices table
    # Keyword arguments that differ from the common ones (api_key, base_url, timeout and
    # max_retries=0, our retry layer being the only one); None drops one the class lacks.
    arguments: Mapping[str, Any] = field(default_factory=dict)
    # Its prompt cache serves only what a request marks (Anthropic's ``cache_control``
    # breakpoints); the others cache any repeated prefix by themselves.
    cache_breakpoints: bool = False
    # Model-name prefixes it serves through such a cache all the same (OpenRouter passes the
    # marks on to Anthropic's models and caches nothing of theirs without them).
    breakpoint_models: tuple[str, ...] = ()
    # How a request offers tools the model may not call, for the APIs behind the marking cache
    # (Anthropic's): they refuse a request that replays tool calls without offering tools.
    no_tool_choice: Any = "none"
    # Whether its integration sends a mark on a tool result (langchain-openai strips a tool
    # message's content down to plain text parts, so through it a tool loop marks the user's
    # message instead).
    tool_result_marks: bool = False

    def marks_cache(self, model: str) -> bool:
        """Whether a call to ``model`` marks the prefixes its provider's cache may keep."""
        return self.cache_breakpoints or model.startswith(self.breakpoint_models)

    def replay_tool_choice(self, model: str) -> Any:
        """The tool choice with which a request that replays tool calls but lets ``model`` call
        none still offers the tools, where its API insists (Anthropic's, natively or through
        OpenRouter); None: such a request leaves the tools out."""
        return self.no_tool_choice if self.marks_cache(model) else None


OFFLINE = "offline"  # the built-in simulated model: no package, no key, no network

_CHAT_COMPLETIONS = {"use_responses_api": False}  # one request per call, through Chat Completions

PROVIDERS: dict[str, ProviderSpec] = {
    spec.name: spec
    for spec in (
        ProviderSpec(
            "openai",
            "openai",
            "langchain_openai",
            None,
            "OPENAI_API_KEY",
            "OPENAI_BASE_URL",
            price_id="openai",
            arguments=_CHAT_COMPLETIONS,
        ),
        ProviderSpec(
            "openrouter",
            "openai",  # an OpenAI-compatible API
            "langchain_openai",
            None,
            "OPENROUTER_API_KEY",
            "OPENROUTER_BASE_URL",
            "https://openrouter.ai/api/v1",
            price_id="openrouter",
            arguments=_CHAT_COMPLETIONS,
            breakpoint_models=("anthropic/",),
        ),
        ProviderSpec(
            "anthropic",
            "anthropic",
            "langchain_anthropic",
            "anthropic",
            "ANTHROPIC_API_KEY",
            "ANTHROPIC_BASE_URL",
            price_id="anthropic",
            cache_breakpoints=True,
            tool_result_marks=True,
            no_tool_choice={"type": "none"},  # langchain-anthropic reads the string "none" as a tool's name
        ),
        ProviderSpec(
            "google_genai",
            "google_genai",
            "langchain_google_genai",
            "google",
            "GOOGLE_API_KEY",
            price_id="google",
        ),
        ProviderSpec(
            "mistralai",
            "mistralai",
            "langchain_mistralai",
            "mistralai",
            "MISTRAL_API_KEY",
            price_id="mistral",
        ),
        ProviderSpec(
            "ollama",
            "ollama",
            "langchain_ollama",
            "ollama",
            None,  # a local server: no key
            "OLLAMA_HOST",
            "http://localhost:11434",
            arguments={"api_key": None, "max_retries": None, "timeout": "client_kwargs.timeout"},
        ),
    )
}
PROVIDER_NAMES: tuple[str, ...] = (*PROVIDERS, OFFLINE)
