"""A cell's copies of training data (``metrics.train_copies``), measured at the end of a run or
afterwards on a stored cell: nothing is generated, since the examples a prompt quoted are
replayed from the cell's seed, train split and quota by a generator that can say them
(``ShowsExamples``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from synthbench.data import balanced_quota
from synthbench.embeddings import Embedder
from synthbench.generation import ShowsExamples
from synthbench.metrics.copies import copies_of_prompt, copies_of_train, train_copies
from synthbench.plugins import Plugins
from synthbench.record import CellConfig, CellRecord, GenerationRecord
from synthbench.run.grid import make_component
from synthbench.types import Example, GenerationContext, Task


class _NoProvider:
    """Stands in for the provider of a replay, which sends nothing."""

    model_id = "none (replay)"


def quoted_examples(plugins: Plugins, config: CellConfig, task: Task, train: Sequence[Example],
                    generation: GenerationRecord, raw: Sequence[Example]
                    ) -> tuple[list[tuple[Example, ...]] | None, str | None]:
    """The real examples each request of the cell quoted, by request index, and ``None`` with
    the reason when they are unknown: the generator quotes none or cannot say which, or the
    replay does not send as many requests as the record says were sent."""
    if config.generator not in plugins.generators.ids():
        return None, f"generator {config.generator} is not installed"
    spec = plugins.generators.get(config.generator)
    if not spec.real_data:
        return None, f"{config.generator} quotes no real examples"
    generator = make_component("generator", spec.id, spec.factory, config.generator_params)
    if not isinstance(generator, ShowsExamples):
        return None, f"{config.generator} cannot say which real examples a prompt quoted"
    kept = {int(e.meta["request"]) for e in raw if isinstance(e.meta.get("request"), int)}
    quota = dict(generation.quota) or balanced_quota(task.label_names, config.n)
    ctx = GenerationContext(task=task, provider=_NoProvider(),  # type: ignore[arg-type]
                            train=tuple(train), per_label=quota, seed=config.seed)
    prompts = generator.prompt_examples(ctx, kept)
    sent = generation.counts.get("requests_sent")
    if sent is not None and len(prompts) != int(sent):
        return None, (f"the replay sends {len(prompts)} requests where the record says "
                      f"{sent} were sent: the quoted examples are not known")
    return prompts, None


def measure_copies(plugins: Plugins, config: CellConfig, task: Task, train: Sequence[Example],
                   generation: GenerationRecord, raw: Sequence[Example],
                   synthetic: Sequence[Example], embedder: Embedder, threshold: float,
                   syn_vecs: Any = None) -> dict[str, Any]:
    """``metrics.train_copies`` of the cell: ``synthetic`` (its curated texts) against the
    whole ``train`` split and against the examples quoted in each text's own prompt.
    ``raw``: the texts generation kept (their request indices replay the prompts)."""
    texts = [e.text for e in synthetic]
    vectors = embedder.encode(texts) if syn_vecs is None else syn_vecs
    train_texts = [e.text for e in train]
    on_train = copies_of_train(texts, vectors, train_texts, embedder.encode(train_texts),
                               threshold)
    prompts, note = quoted_examples(plugins, config, task, train, generation, raw)
    on_prompt = None
    if prompts is not None:
        quoted = [[q.text for q in prompts[e.meta["request"]]]
                  if isinstance(e.meta.get("request"), int)
                  and 0 <= e.meta["request"] < len(prompts) else [] for e in synthetic]
        dim = int(np.asarray(vectors).shape[1]) if len(texts) else 0
        quoted_vecs = [embedder.encode(q) if q else np.zeros((0, dim), np.float32)
                       for q in quoted]
        on_prompt = copies_of_prompt(texts, vectors, quoted, quoted_vecs, threshold)
    return train_copies(on_train, on_prompt, threshold, note)


def stored_copies(plugins: Plugins, record: CellRecord, task: Task, train: Sequence[Example],
                  raw: Sequence[Example], synthetic: Sequence[Example] | None = None,
                  embedder: Embedder | None = None,
                  threshold: float | None = None) -> dict[str, Any]:
    """``metrics.train_copies`` of a stored cell, generating nothing: ``raw`` are the texts of
    its ``synthetic.jsonl``, ``synthetic`` those it trained on (its ``curated.jsonl`` where it
    has one; default ``raw``), ``train`` the task's train split as loaded (its fingerprint must
    be the record's), and the threshold that of its test leakage unless given."""
    from synthbench.embeddings import default_embedder

    limit = threshold if threshold is not None else float(record.metrics.leakage["threshold"])
    return measure_copies(plugins, record.config, task, train, record.generation, raw,
                          raw if synthetic is None else synthetic,
                          embedder or default_embedder(), limit)
