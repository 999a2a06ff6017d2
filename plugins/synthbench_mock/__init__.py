"""The ``mock`` provider: a deterministic fake LLM for fast tests (inspect_ai's mockllm)."""

from __future__ import annotations

from collections.abc import Callable

from synthbench import MockProvider, ProviderSpec, hookimpl


@hookimpl
def synthbench_register_providers(register: Callable[[ProviderSpec], None]) -> None:
    register(ProviderSpec("mock", lambda name, calls: MockProvider(name),
                          "deterministic fake LLM for tests: mock/<any name>; no key, instant"))
