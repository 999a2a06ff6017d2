"""The ``mock`` provider: a deterministic fake LLM for fast tests (inspect_ai's mockllm)."""

from __future__ import annotations

from collections.abc import Callable

from synthbench import ProviderSpec, hookimpl
from synthbench.testing import MockProvider


@hookimpl
def synthbench_register_providers(register: Callable[[ProviderSpec], None]) -> None:
    register(ProviderSpec("mock", MockProvider,
                          "deterministic fake LLM for tests: mock/<any name>; no key, instant"))
