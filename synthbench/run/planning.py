"""Knowing what a run will send before it sends anything: the dry-run estimate, and the
requests batch mode submits up front.

A cell is rehearsed: its generator runs as it would against a stand-in provider that answers
from the request cache where it can (free) and otherwise with a placeholder text, counting
each request, its estimated input tokens and its ``max_tokens``; interventions that call the
provider (an LLM judge) and baselines then run against the same stand-in. Output tokens and
money are therefore upper bounds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from synthbench.calls import CachedProvider, LayeredProvider, estimate_input_tokens
from synthbench.calls.backend import Priced
from synthbench.calls.wrapper import ProviderWrapper
from synthbench.data import balanced_quota
from synthbench.record import CellConfig
from synthbench.run import stages
from synthbench.run.grid import make_component
from synthbench.run.workspace import Located, Workspace
from synthbench.store import baseline_file, read_json
from synthbench.types import (
    Completion,
    Example,
    GenerationContext,
    GenerationRequest,
    Message,
    Provider,
    Usage,
)


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


class Counting(ProviderWrapper):
    """Stands in for a provider during a rehearsal: answers from the cache or with a
    placeholder, and counts what it was asked. Tokenizes and groups calls as the real one."""

    def __init__(self, provider: Provider, variant: str = "placeholder") -> None:
        super().__init__(provider)
        self.variant = variant
        self.requests = 0
        self.cached = 0
        self.usage = Usage()
        self.uncached: list[GenerationRequest] = []

    def complete(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        hits: list[Completion | None] = [None] * len(requests)
        if isinstance(self.inner, (LayeredProvider, CachedProvider)):
            hits = self.inner.cached(requests)
        out = []
        for request, hit in zip(requests, hits, strict=True):
            self.requests += 1
            if hit is not None:
                self.cached += 1
                out.append(hit)
                continue
            usage = Usage(estimate_input_tokens(request), request.max_tokens)
            self.usage = self.usage + usage
            self.uncached.append(request)
            out.append(Completion(f"dry run {self.variant} text number {request.sample_index} "
                                  f"seed {request.seed}", self.model_id, usage))
        return out

    def score_continuations(self, messages: Sequence[Message], continuations: Sequence[str]
                            ) -> list[float]:
        """Counts one request per continuation (its prompt as input, no output)."""
        prompt = estimate_input_tokens(GenerationRequest(tuple(messages), max_tokens=1))
        self.requests += len(continuations)
        self.usage = self.usage + Usage(prompt * len(continuations), 0)
        return [0.0 for _ in continuations]


def rehearse_generation(ws: Workspace, config: CellConfig, variant: str = "placeholder"
                        ) -> tuple[Counting, list[Example]]:
    """Run the cell's generator against the counting stand-in; its texts are placeholders."""
    task = ws.task(config.task)
    spec = ws.plugins.generators.get(config.generator)
    generator = make_component("generator", spec.id, spec.factory, config.generator_params)
    counting = Counting(ws.provider(config.model), variant)
    outcome = generator.generate(GenerationContext(
        task=task, provider=counting, train=ws.task_data(task).train,
        per_label=balanced_quota(task.label_names, config.n), seed=config.seed))
    return counting, list(outcome.examples)


def rehearse_cell(ws: Workspace, config: CellConfig, stored: bool) -> Counting | None:
    """Everything the cell would send: generation and the interventions that call the
    provider (unless its texts are stored), and baselines whose results are not stored yet;
    ``None`` when nothing is left to send."""
    task = ws.task(config.task)
    data = ws.eval_data(task, config)
    baselines = []
    for baseline, params in config.baselines:
        spec = ws.plugins.baselines.get(baseline)
        runner = make_component("baseline", baseline, spec.factory, params)
        path, key = baseline_file(ws.settings.out, config, baseline, runner.get_params(),
                                  task.to_record(), data.fingerprint)
        if not (path.exists() and read_json(path).get("key") == key):
            baselines.append(runner)
    if stored and not baselines:
        return None
    if stored:
        counting = Counting(ws.provider(config.model))
    else:
        counting, texts = rehearse_generation(ws, config)
        judging = {step for step, _ in config.interventions
                   if ws.plugins.interventions.get(step).calls_provider}
        if judging and texts:
            stages.apply_interventions(ws, config, texts, lambda model: counting,
                                       only=judging.__contains__)
    for runner in baselines:
        runner.run(counting, task, data.train, data.test, config.seed)
    return counting


def estimate(ws: Workspace, configs: Sequence[CellConfig]) -> list[CellEstimate]:
    """One estimate per cell; what is stored costs nothing."""
    estimates = []
    for config in configs:
        cell = ws.locate(config)
        folder, stored = cell.folder, stages.generation_stored(cell.texts, cell.key)
        counting = rehearse_cell(ws, config, stored)
        if counting is None:
            estimates.append(CellEstimate(folder.name, config.model, True, 0, 0, 0, 0, 0.0))
            continue
        provider = ws.provider(config.model)
        price = provider.price if isinstance(provider, Priced) else None
        batch = isinstance(provider, Priced) and provider.batch
        usd = 0.0 if not counting.uncached and not counting.usage.input_tokens else (
            None if price is None else price.cost(counting.usage, batch))
        estimates.append(CellEstimate(
            folder.name, config.model, False, counting.requests, counting.cached,
            counting.usage.input_tokens, counting.usage.output_tokens, usd))
    return estimates


def planned_requests(ws: Workspace, located: Sequence[Located]
                     ) -> dict[str, list[GenerationRequest]]:
    """The requests the cells' generators will send that the cache lacks, by model, as far
    as they can be known before any answer. The generator is rehearsed twice with different
    stand-in answers; only requests both rehearsals make are planned, so a request that
    depends on earlier answers (a logit bias learned from them, a prompt quoting them) is
    never paid for in advance. Those, and top-ups for failed texts, are sent later."""
    planned: dict[str, list[GenerationRequest]] = {}
    for config in (cell.config for cell in located):
        first = rehearse_generation(ws, config, "placeholder")[0].uncached
        second = set(rehearse_generation(ws, config, "other stand-in")[0].uncached)
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
