"""API providers ``openai/<model>``, ``anthropic/<model>`` and ``litellm/<model id>``.

Each module wraps one SDK in a ``synthbench.Backend``; the request layer in the core
does the caching, rate limiting, retries, timeouts and cost. SDKs are imported only when a
provider is built, so synthbench works without them and says which package to install.
"""

from __future__ import annotations

from collections.abc import Callable

from synthbench import CallContext, LayeredProvider, ProviderSpec, hookimpl


def openai_provider(name: str, calls: CallContext) -> LayeredProvider:
    from synthbench_api.openai_backend import build

    return build(name, calls)


def anthropic_provider(name: str, calls: CallContext) -> LayeredProvider:
    from synthbench_api.anthropic_backend import build

    return build(name, calls)


def litellm_provider(name: str, calls: CallContext) -> LayeredProvider:
    from synthbench_api.litellm_backend import build

    return build(name, calls)


@hookimpl
def synthbench_register_providers(register: Callable[[ProviderSpec], None]) -> None:
    register(ProviderSpec(
        "openai", openai_provider,
        "OpenAI chat completions: openai/<model> (key OPENAI_API_KEY, OPENAI_BASE_URL)",
        paid=True))
    register(ProviderSpec(
        "anthropic", anthropic_provider,
        "Anthropic messages: anthropic/<model> (key ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL)",
        paid=True))
    register(ProviderSpec(
        "litellm", litellm_provider,
        "any model litellm knows: litellm/<litellm model id> (keys as litellm reads them)",
        paid=True))
