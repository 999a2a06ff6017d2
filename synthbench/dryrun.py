"""``synthbench run --dry-run``: the requests, tokens and money each cell would cost, with no
call to any provider.

Each cell's generator runs as it would, against a stand-in provider that answers from the
request cache where it can (those requests are free) and otherwise with a placeholder text,
counting the request, its estimated input tokens and its ``max_tokens``. Output tokens and
money are therefore upper bounds for the generation; interventions and baselines that call a
model are not counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from synthbench.cached_provider import CachedProvider
from synthbench.data import balanced_quota
from synthbench.pricing import price_for
from synthbench.requests import LayeredProvider, estimate_input_tokens
from synthbench.types import (
    CellConfig,
    Completion,
    GenerationContext,
    GenerationRequest,
    Provider,
    Usage,
)

if TYPE_CHECKING:
    from synthbench.runner import Runner


@dataclass(frozen=True)
class CellEstimate:
    """What one cell would send: requests (and how many the cache answers), tokens, dollars
    (``None`` when the model has no price)."""

    cell: str
    model: str
    stored: bool
    requests: int
    cached: int
    input_tokens: int
    output_tokens: int
    usd: float | None


class _Counting:
    """Stands in for a provider during a dry run; any other attribute (``tokenize``) is the
    real provider's."""

    def __init__(self, provider: Provider, variant: str = "placeholder") -> None:
        self.provider = provider
        self.variant = variant
        self.requests = 0
        self.cached = 0
        self.usage = Usage()
        self.uncached: list[GenerationRequest] = []

    @property
    def model_id(self) -> str:
        return self.provider.model_id

    @property
    def capabilities(self) -> frozenset[str]:
        return self.provider.capabilities

    def describe(self) -> dict[str, Any]:
        return self.provider.describe()

    def complete(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        hits: list[Completion | None] = [None] * len(requests)
        if isinstance(self.provider, LayeredProvider):
            hits = self.provider.layer.cached(requests)
        elif isinstance(self.provider, CachedProvider):  # local models: free, but not rerun
            hits = self.provider.cached(requests)
        out = []
        for request, hit in zip(requests, hits, strict=True):
            self.requests += 1
            if hit is not None:
                self.cached += 1
                out.append(hit)
                continue
            self.usage = self.usage + Usage(estimate_input_tokens(request), request.max_tokens)
            self.uncached.append(request)
            out.append(Completion(f"dry run {self.variant} text number {request.sample_index} "
                                  f"seed {request.seed}", self.model_id,
                                  Usage(estimate_input_tokens(request), request.max_tokens)))
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self.provider, name)


def _rehearse(runner: Runner, config: CellConfig, variant: str = "placeholder") -> _Counting:
    """Run the cell's generator against the counting stand-in."""
    from synthbench.runner import make_generator

    task = runner.plugins.tasks.get(config.task)
    spec = runner.plugins.generators.get(config.generator)
    generator = make_generator(spec.id, spec.factory, config.generator_params)
    counting = _Counting(runner.provider(config.model), variant)
    generator.generate(GenerationContext(
        task=task, provider=counting, train=runner.task_data(task).train,
        per_label=balanced_quota(task.label_names, config.n), seed=config.seed))
    return counting


def estimate(runner: Runner, configs: Sequence[CellConfig]) -> list[CellEstimate]:
    """One estimate per cell; cells whose texts are stored cost nothing."""
    from synthbench.runner import _generation_stored

    runner.validate(configs)
    estimates = []
    for config in configs:
        folder, key = runner.locate(config)
        if _generation_stored(runner.generation_folder(config, key), key):
            estimates.append(CellEstimate(folder.name, config.model, True, 0, 0, 0, 0, 0.0))
            continue
        counting = _rehearse(runner, config)
        provider = runner.provider(config.model)
        price = price_for(config.model, provider.describe())
        batch = isinstance(provider, LayeredProvider) and provider.layer.batch
        estimates.append(CellEstimate(
            folder.name, config.model, False, counting.requests, counting.cached,
            counting.usage.input_tokens, counting.usage.output_tokens,
            None if price is None else price.cost(counting.usage, batch)))
    return estimates


def planned_requests(runner: Runner, configs: Sequence[CellConfig]
                     ) -> dict[str, list[GenerationRequest]]:
    """The requests the cells' generators will send that the cache lacks, by model, as far
    as they can be known before any answer. The generator is rehearsed twice with different
    stand-in answers; only requests both rehearsals make are planned, so a request that
    depends on earlier answers (a logit bias learned from them, a prompt quoting them) is
    never paid for in advance. Those, and top-ups for failed texts, are sent later."""
    planned: dict[str, list[GenerationRequest]] = {}
    for config in configs:
        first = _rehearse(runner, config, "placeholder").uncached
        second = set(_rehearse(runner, config, "other stand-in").uncached)
        planned.setdefault(config.model, []).extend(r for r in first if r in second)
    return planned


def estimate_table(estimates: Sequence[CellEstimate]) -> str:
    """The estimates as a table with a total line."""
    from tabulate import tabulate

    rows: list[list[Any]] = [
        [e.cell, e.model, "stored" if e.stored else e.requests, e.cached, e.input_tokens,
         e.output_tokens, "unknown" if e.usd is None else f"{e.usd:.4f}"] for e in estimates]
    priced = [e.usd for e in estimates if e.usd is not None]
    rows.append(["total", "", sum(e.requests for e in estimates),
                 sum(e.cached for e in estimates), sum(e.input_tokens for e in estimates),
                 sum(e.output_tokens for e in estimates),
                 f"{sum(priced):.4f}" + (" + unknown" if len(priced) < len(estimates) else "")])
    return tabulate(rows, headers=["cell", "model", "requests", "from cache",
                                   "input tokens (est.)", "output tokens (at most)",
                                   "usd (at most)"], tablefmt="simple", disable_numparse=True)
