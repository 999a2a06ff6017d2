"""The whole plugin contract: one hook per plugin kind, each handed a ``register`` callback.

A plugin module implements any of these with ``@synthbench.hookimpl`` and is listed under the
``synthbench`` entry-point group of its distribution. Every hook is called once per run on a
fresh plugin manager; each implementation calls ``register`` zero or more times and returns
nothing. Registered ids must be unique across all plugins: a second registration of an id is
an error naming both plugins. The order in which plugins are called never reaches any output.
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

from synthbench.types import (
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
        ``factory("gpt-4o-mini")``. Factories import their SDK lazily and raise
        ``SynthbenchError`` with a pip hint when it is missing.
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
