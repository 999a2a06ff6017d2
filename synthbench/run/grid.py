"""The grid of cells: configs from the command line's lists, and the one factory that builds
any configured component (generator, intervention, baseline) with a one-line error."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from synthbench import defaults
from synthbench.errors import SynthbenchError
from synthbench.plugins import Plugins
from synthbench.record import CellConfig
from synthbench.types import Configurable

C = TypeVar("C", bound=Configurable)

Pipeline = tuple[tuple[str, Mapping[str, Any]], ...]


def make_component(kind: str, component_id: str, factory: Callable[..., C],
                   params: Mapping[str, Any]) -> C:
    """``factory(**params)``; a wrong parameter is one line naming the component."""
    try:
        return factory(**dict(params))
    except (TypeError, ValueError) as exc:
        raise SynthbenchError(f"{kind} {component_id!r} rejects its parameters: {exc}") from None


def full_params(plugins: Plugins, kind: str, component_id: str,
                params: Mapping[str, Any]) -> dict[str, Any]:
    """The component's parameters with every default filled in, so setting a default
    explicitly gives the same cell."""
    factory: Callable[..., Configurable]
    if kind == "generator":
        factory = plugins.generators.get(component_id).factory
    elif kind == "intervention":
        factory = plugins.interventions.get(component_id).factory
    else:
        factory = plugins.baselines.get(component_id).factory
    return make_component(kind, component_id, factory, params).get_params()


def make_configs(plugins: Plugins, models: Sequence[str], tasks: Sequence[str],
                 generators: Sequence[str], params: Mapping[str, Any], n: int,
                 seeds: Sequence[int], classifiers: Sequence[str],
                 oracle_size: int = 4000, oracle: str | None = None,
                 curations: Sequence[Sequence[tuple[str, Mapping[str, Any]]]] = ((),),
                 baselines: Sequence[tuple[str, Mapping[str, Any]]] = (),
                 keep_test_overlap: bool = False) -> list[CellConfig]:
    """The grid model x task x generator x curation x seed. ``curations`` lists intervention
    pipelines, each a sequence of (id, params) applied in order; ``()`` is the uncurated
    cell. Every component's parameters are stored in full. ``oracle``: the classifier behind
    label accuracy (``None``, or the default's id: the default, so those cells keep their
    hash); ``keep_test_overlap``: score on the whole test split (``synthbench.overlap``)."""
    oracle = None if oracle == defaults.ORACLE else oracle
    pipelines: list[Pipeline] = [
        tuple((step, full_params(plugins, "intervention", step, p)) for step, p in pipeline)
        for pipeline in curations]
    full_baselines = tuple((b, full_params(plugins, "baseline", b, p)) for b, p in baselines)
    return [CellConfig(model=model, task=task, generator=gen_id,
                       generator_params=full_params(plugins, "generator", gen_id, params),
                       n=n, seed=seed, classifiers=tuple(classifiers), oracle_size=oracle_size,
                       interventions=pipeline, baselines=full_baselines, oracle=oracle,
                       keep_test_overlap=keep_test_overlap)
            for gen_id in generators for model in models for task in tasks
            for pipeline in pipelines for seed in seeds]


def split_values(values: Sequence[str] | None) -> list[str]:
    """Repeated and comma-separated values, in order, without duplicates."""
    out: list[str] = []
    for value in values or []:
        for part in value.split(","):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return out


def parse_param(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` with VALUE read as JSON where it is JSON, else as a string."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise SynthbenchError(f"generator parameter {text!r} is not KEY=VALUE")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip(), value


def _sweep(text: str) -> list[Any]:
    """The values of ``KEY=VALUE``: one, or several when VALUE is not JSON and has commas."""
    key, value = parse_param(text)
    raw = text.partition("=")[2]
    values = [parse_param(f"{key}={part}")[1] for part in raw.split(",")] \
        if isinstance(value, str) and value == raw and "," in raw else [value]
    return [v for i, v in enumerate(values) if v not in values[:i]]


def generator_grid(settings: Sequence[str]) -> list[dict[str, Any]]:
    """Generator parameters from ``-G KEY=VALUE``; a VALUE that is not JSON and has commas
    sweeps (``-G temperature=0.3,0.7,0.9,1.3``: one cell per value; several swept keys give
    every combination). A quoted JSON string keeps its commas: ``-G 'style="a, b"'``."""
    grid: list[dict[str, Any]] = [{}]
    for text in settings:
        key = parse_param(text)[0]
        grid = [{**point, key: v} for point in grid for v in _sweep(text)]
    return grid


def curation_grid(pipelines: Sequence[str] | None, settings: Sequence[str]
                  ) -> list[list[tuple[str, dict[str, Any]]]]:
    """Intervention pipelines from ``--intervention`` (each one comma-separated, in order;
    ``none`` is the uncurated cell) and ``-I STEP.KEY=VALUE`` settings. A VALUE with commas
    sweeps: one pipeline per value (several swept keys give every combination)."""
    steps_of = [[s.strip() for s in p.split(",") if s.strip()] for p in pipelines or []]
    steps_of = [[] if s == ["none"] else s for s in steps_of] or [[]]
    used = {step for steps in steps_of for step in steps}
    sweeps: list[tuple[str, str, list[Any]]] = []
    for text in settings:
        target = parse_param(text)[0]
        step, dot, key = target.partition(".")
        if not dot or not key:
            raise SynthbenchError(f"intervention parameter {text!r} is not STEP.KEY=VALUE")
        if step not in used:
            raise SynthbenchError(f"-I {text}: intervention {step!r} is not in --intervention")
        sweeps.append((step, key, _sweep(f"x={text.partition('=')[2]}")))
    combos: list[dict[tuple[str, str], Any]] = [{}]
    for step, key, values in sweeps:
        combos = [{**c, (step, key): v} for c in combos for v in values]
    out: list[list[tuple[str, dict[str, Any]]]] = []
    for steps in steps_of:
        for combo in combos:
            pipeline = [(step, {k: v for (s, k), v in combo.items() if s == step})
                        for step in steps]
            if pipeline not in out:
                out.append(pipeline)
    return out


MAX_SEED = 2 ** 32 - 1  # scikit-learn's and numpy's random_state bound


def seeds(values: Sequence[str] | None, option: str = "--seed") -> list[int]:
    """Integers in [0, 2**32 - 1] from repeated or comma-separated values (``--seed``: default
    0); anything else is refused here, before a cell is planned."""
    parts = split_values(values or ["0"])
    if not parts:
        raise SynthbenchError(f"{option} {values[-1] if values else ''!r} is not an integer")
    out = []
    for part in parts:
        try:
            value = int(part)
        except ValueError:
            raise SynthbenchError(f"{option} takes integers, got {part!r}") from None
        if value < 0:
            raise SynthbenchError(f"{option} {value} is negative; seeds are 0 to {MAX_SEED}")
        if value > MAX_SEED:
            raise SynthbenchError(f"{option} {value} is over {MAX_SEED}, the largest random "
                                  "state scikit-learn and numpy take")
        out.append(value)
    return out
