"""Baselines that use no synthetic data: ``llm_few_shot``, the provider classifying the real
test split with k real examples in context, the reference of Chung et al.'s break-even."""

from __future__ import annotations

from collections.abc import Callable

from synthbench import BaselineSpec, hookimpl
from synthbench_baselines.llm_few_shot import LlmFewShot

__all__ = ["LlmFewShot"]


@hookimpl
def synthbench_register_baselines(register: Callable[[BaselineSpec], None]) -> None:
    register(BaselineSpec(
        "llm_few_shot", LlmFewShot,
        "the provider classifies n_test real test texts with k real examples shown (label "
        "log-probabilities where it has them, else its reply)", break_even_reference=True))
