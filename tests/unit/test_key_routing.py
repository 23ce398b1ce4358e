"""Which key goes where (providers/factory.py): the rules a config cannot widen."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dialectic.configs.schema import AgentConfig
from dialectic.errors import ConfigError
from dialectic.providers.factory import check_keys, endpoint


def agent(**fields: object) -> AgentConfig:
    return AgentConfig.model_validate(
        {"id": "a", "name": "A", "role": "architect", "model": "m", "provider": "openai", **fields}
    )


def test_the_provider_key_goes_to_its_own_endpoint_or_the_users_base_url() -> None:
    assert endpoint(agent(), {}).key_env == "OPENAI_API_KEY"
    mine = endpoint(agent(), {"OPENAI_BASE_URL": "http://127.0.0.1:8000/v1"})
    assert (mine.base_url, mine.key_env) == ("http://127.0.0.1:8000/v1", "OPENAI_API_KEY")


def test_a_config_base_url_gets_no_key_unless_it_names_one() -> None:
    theirs = endpoint(agent(baseUrl="https://llm.example.com/v1"), {"OPENAI_API_KEY": "k"})
    assert (theirs.base_url, theirs.key_env, theirs.from_config) == ("https://llm.example.com/v1", None, True)
    named = endpoint(agent(baseUrl="https://llm.example.com/v1", apiKeyEnv="EXAMPLE_API_KEY"), {})
    assert named.key_env == "EXAMPLE_API_KEY"


@pytest.mark.parametrize("name", ["MY_LLM_API_KEY", "GROQ_KEY", "HF_TOKEN"])
def test_api_key_env_may_name_an_llm_key(name: str) -> None:
    assert agent(apiKeyEnv=name).apiKeyEnv == name


@pytest.mark.parametrize(
    "name",
    [
        "AWS_SECRET_ACCESS_KEY",
        "GITHUB_TOKEN",
        "DB_PASSWORD",
        "HOME",
        "SSH_AUTH_SOCK",
        "my_api_key",
        "SLACK_BOT_TOKEN",
        "STRIPE_API_KEY",
        "LANGSMITH_API_KEY",
    ],
)
def test_api_key_env_may_not_name_another_secret(name: str) -> None:
    with pytest.raises(ValidationError, match="does not look like the variable of an LLM API key"):
        agent(apiKeyEnv=name)


def test_plain_http_to_another_machine_is_refused_unless_allowed() -> None:
    remote = [agent(baseUrl="http://10.1.2.3:8000/v1", apiKeyEnv="MY_LLM_API_KEY")]
    env = {"MY_LLM_API_KEY": "k"}
    with pytest.raises(ConfigError, match="--allow-insecure-http"):
        check_keys(remote, env)
    check_keys(remote, env, allow_insecure_http=True)
    check_keys(remote, {**env, "DIALECTIC_ALLOW_INSECURE_HTTP": "1"})
    for host in ("127.0.0.1", "localhost", "[::1]"):
        check_keys([agent(baseUrl=f"http://{host}:8000/v1")], {})  # this machine: fine, no key needed
    with pytest.raises(ConfigError, match="OPENAI_API_KEY over plain http"):
        check_keys([agent()], {"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": "http://proxy.example.com/v1"})


def test_a_padded_key_is_named() -> None:
    with pytest.raises(ConfigError, match="OPENAI_API_KEY has trailing whitespace"):
        check_keys([agent()], {"OPENAI_API_KEY": "sk-1\n"})


def test_a_providers_standard_key_cannot_be_borrowed() -> None:
    """apiKeyEnv naming OPENAI_API_KEY for a URL the config chose, or another provider's key,
    would send that key where it does not belong."""
    env = {"OPENAI_API_KEY": "k", "ANTHROPIC_API_KEY": "a"}
    with pytest.raises(ConfigError, match="OPENAI_API_KEY goes only to openai's endpoint"):
        check_keys([agent(baseUrl="https://collector.example/v1", apiKeyEnv="OPENAI_API_KEY")], env)
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY, anthropic's key"):
        check_keys([agent(apiKeyEnv="ANTHROPIC_API_KEY")], env)
    check_keys([agent(apiKeyEnv="OPENAI_API_KEY")], env)  # its own provider's key, its own endpoint
