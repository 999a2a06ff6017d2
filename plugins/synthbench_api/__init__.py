"""API providers ``openai/<model>``, ``anthropic/<model>`` and ``litellm/<model id>``.

Each module wraps one SDK in a ``synthbench.requests.Backend``; the request layer in the core
does the caching, rate limiting, retries, timeouts and cost. SDKs are imported only when a
provider is built, so synthbench works without them and says which package to install.
"""

from __future__ import annotations

from collections.abc import Callable

from synthbench import ProviderSpec, hookimpl
from synthbench.requests import LayeredProvider


def openai_provider(name: str) -> LayeredProvider:
    from synthbench_api.openai_backend import build

    return build(name)


def anthropic_provider(name: str) -> LayeredProvider:
    from synthbench_api.anthropic_backend import build

    return build(name)


def litellm_provider(name: str) -> LayeredProvider:
    from synthbench_api.litellm_backend import build

    return build(name)


@hookimpl
def synthbench_register_providers(register: Callable[[ProviderSpec], None]) -> None:
    register(ProviderSpec(
        "openai", openai_provider,
        "OpenAI chat completions: openai/<model> (key OPENAI_API_KEY, OPENAI_BASE_URL)",
        requires_key="OPENAI_API_KEY"))
    register(ProviderSpec(
        "anthropic", anthropic_provider,
        "Anthropic messages: anthropic/<model> (key ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL)",
        requires_key="ANTHROPIC_API_KEY"))
    register(ProviderSpec(
        "litellm", litellm_provider,
        "any model litellm knows: litellm/<litellm model id> (keys as litellm reads them)"))
