"""The hooks of the plugin contract (the types they pass are in ``synthbench.types``): one
hook per plugin kind, each handed a ``register`` callback.

A plugin module implements any of these with ``@synthbench.hookimpl`` and is listed under the
``synthbench`` entry-point group of its distribution (or loaded with ``-p MODULE``). When: each
hook is called exactly once per run, through pluggy, right after plugins load, on a fresh
plugin manager, so every hookimpl option (``tryfirst``, ``trylast``, ``wrapper``) works.
Returns: nothing; each implementation calls ``register`` zero or more times. An
implementation that raises costs one line naming its plugin, and the others still register.
Registered ids must be unique across all plugins: a second registration of an id is an error
naming both plugins. The order in which plugins are called never reaches any output.
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

from synthbench.types import (
    BaselineSpec,
    ClassifierSpec,
    GeneratorSpec,
    InterventionSpec,
    ProviderSpec,
    Task,
)

hookspec = pluggy.HookspecMarker("synthbench")


@hookspec
def synthbench_register_tasks(register: Callable[[Task], None]) -> None:
    """Register tasks.

    :param register: call ``register(Task(...))`` once per task. ``Task.id`` is what
        ``--task`` selects. A malformed task (no labels, duplicate label names, a word limit
        below 1) is rejected with one line naming the plugin; the other tasks still load.
    """


@hookspec
def synthbench_register_providers(register: Callable[[ProviderSpec], None]) -> None:
    """Register LLM providers by provider name, never by model name.

    :param register: call ``register(ProviderSpec(id="openai", factory=...))``. A model id
        ``"openai/gpt-4o-mini"`` reaches the factory of provider ``openai`` as
        ``factory("gpt-4o-mini", calls)`` with the run's ``CallContext``. Factories import
        their SDK lazily and raise ``SynthbenchError`` with a pip hint when it is missing.
    """


@hookspec
def synthbench_register_generators(register: Callable[[GeneratorSpec], None]) -> None:
    """Register generators (prompting and decoding strategies).

    :param register: call ``register(GeneratorSpec(id="zero_shot", factory=...))``; the
        factory takes the generator's parameters as keyword arguments.
    """


@hookspec
def synthbench_register_classifiers(register: Callable[[ClassifierSpec], None]) -> None:
    """Register downstream classifiers.

    :param register: call ``register(ClassifierSpec(id="tfidf_lr", factory=...))``; the
        factory takes ``random_state`` and returns an unfitted scikit-learn estimator.
    """


@hookspec
def synthbench_register_interventions(register: Callable[[InterventionSpec], None]) -> None:
    """Register interventions (curation steps run between generation and training).

    :param register: call ``register(InterventionSpec(id="dedup", factory=...))``; the
        factory takes the intervention's parameters as keyword arguments and returns an
        object with ``get_params()`` and ``apply(examples, ctx) -> InterventionOutcome``.
        ``--intervention a,b`` runs them in that order, each on the previous one's output.
    """


@hookspec
def synthbench_register_baselines(register: Callable[[BaselineSpec], None]) -> None:
    """Register baselines: references that use no synthetic data (the provider classifying
    the real test split in context).

    :param register: call ``register(BaselineSpec(id="llm_few_shot", factory=...))``; the
        factory takes the baseline's parameters as keyword arguments and returns an object
        with ``get_params()`` and ``run(provider, task, train, test, seed) -> dict``.
        ``--baseline ID`` runs it once per (model, task data, parameters, seed).
    """
