"""The stages of one cell, each returning a typed value: generate, curate, score, measure
(and run a baseline). Each stage reads what it needs from the workspace and the values of the
stages before it; none reaches back, and only the runner knows their order."""

from __future__ import annotations

import dataclasses
import random
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from synthbench import metrics
from synthbench.calls.backend import Price
from synthbench.data import TaskData, balanced_quota, sample_per_label
from synthbench.embeddings import default_embedder
from synthbench.generation import request_seed
from synthbench.metrics.equivalence import (
    LearningCurve,
    curve_key,
    n_grid,
    real_equivalent_n,
)
from synthbench.metrics.naturalness import two_sample_auc
from synthbench.record import (
    BaselineResult,
    CellConfig,
    ClassifierResult,
    Cost,
    CurationRecord,
    DataMetrics,
    Diversity,
    GenerationRecord,
    LabelAccuracy,
)
from synthbench.run.copies import measure_copies
from synthbench.run.fitting import fit_and_score, learning_curve
from synthbench.run.grid import make_component
from synthbench.run.headroom import with_headroom
from synthbench.run.mixing import mix_real, score_mixed
from synthbench.run.workspace import Workspace
from synthbench.store import (
    CURATED,
    CURATION,
    GENERATION,
    SYNTHETIC,
    baseline_file,
    claim,
    curation_key,
    read_examples,
    read_json,
    write_examples,
    write_json,
)
from synthbench.subjectivity.agreement import agreement_curve
from synthbench.types import (
    Example,
    GenerationContext,
    InterventionContext,
    Provider,
    RequestCounter,
    Task,
)


@dataclass(frozen=True)
class Generated:
    """A cell's generated texts and how they were made."""

    examples: tuple[Example, ...]
    record: GenerationRecord


@dataclass(frozen=True)
class Curated:
    """The texts the cell trains on and, when interventions ran, what each one did."""

    examples: tuple[Example, ...]
    record: CurationRecord | None


@dataclass(frozen=True)
class Measured:
    """The data's metrics and the sizes they were measured on."""

    n_synthetic: int
    n_real: int
    n_test: int
    metrics: DataMetrics


def generation_stored(folder: Path, key: str) -> bool:
    """Whether ``folder`` holds generated texts with this generation key."""
    meta_path = folder / GENERATION
    if not meta_path.exists() or not (folder / SYNTHETIC).exists():
        return False
    meta = read_json(meta_path)
    return isinstance(meta, dict) and meta.get("generation_key") == key


def generate(ws: Workspace, config: CellConfig, folder: Path, key: str) -> Generated:
    """The cell's synthetic texts: stored ones with this key, else fresh ones, stored at once
    so a crash later in the cell does not cost the generation."""
    if generation_stored(folder, key):
        ws.log(f"{folder.name}: reusing stored synthetic texts")
        return Generated(tuple(read_examples(folder / SYNTHETIC)),
                         GenerationRecord.from_json(read_json(folder / GENERATION)))
    task = ws.task(config.task)
    spec = ws.plugins.generators.get(config.generator)
    generator = make_component("generator", spec.id, spec.factory, config.generator_params)
    provider = ws.provider(config.model)
    quota = balanced_quota(task.label_names, config.n)
    bar = _progress(config, ws.settings.progress)
    calls_before = request_stats(provider)
    try:
        outcome = generator.generate(GenerationContext(
            task=task, provider=provider, train=ws.task_data(task).train, per_label=quota,
            seed=config.seed, progress=bar))
    finally:
        bar.close()
    record = GenerationRecord(
        generation_key=key, generator={"id": spec.id, "params": generator.get_params()},
        provider=provider.describe(),
        served_models=tuple(sorted({str(e.meta.get("model", "")) for e in outcome.examples})),
        quota=quota, counts=outcome.counts.as_dict(),
        usage={"input_tokens": outcome.usage.input_tokens,
               "cached_input_tokens": outcome.usage.cached_input_tokens,
               "output_tokens": outcome.usage.output_tokens},
        requests=request_stats(provider, calls_before) or None,
        generator_meta=dict(outcome.meta) or None)
    if outcome.counts.shortfall:
        ws.log(f"{folder.name}: kept {outcome.counts.kept} of {outcome.counts.requested} "
               f"texts after {outcome.counts.requests_sent} requests")
    write_examples(folder / SYNTHETIC, outcome.examples)
    write_json(folder / GENERATION, record.to_json())
    return Generated(tuple(outcome.examples), record)


def curate(ws: Workspace, config: CellConfig, raw: Sequence[Example], folder: Path,
           key: str) -> Curated:
    """Run the cell's interventions in order on its generated texts (or reuse the stored
    curated texts of the same curation key)."""
    if not config.interventions:
        return Curated(tuple(raw), None)
    ckey = curation_key(config, key)
    if (folder / CURATION).exists() and (folder / CURATED).exists():
        stored = read_json(folder / CURATION)
        if isinstance(stored, dict) and stored.get("curation_key") == ckey:
            ws.log(f"{folder.name}: reusing stored curated texts")
            return Curated(tuple(read_examples(folder / CURATED)),
                           CurationRecord.from_json(stored))
    examples, steps = apply_interventions(ws, config, raw, ws.provider)
    record = CurationRecord(ckey, len(raw), len(examples), tuple(steps))
    write_examples(folder / CURATED, examples)
    write_json(folder / CURATION, record.to_json())
    return Curated(tuple(examples), record)


def apply_interventions(ws: Workspace, config: CellConfig, raw: Sequence[Example],
                        provider: Callable[[str], Provider],
                        only: Callable[[str], bool] = lambda step: True
                        ) -> tuple[list[Example], list[dict[str, Any]]]:
    """The texts after each intervention of the cell (those ``only`` admits) and a report per
    step; ``provider`` builds the model an LLM judge uses (a dry run passes a stand-in)."""
    task = ws.task(config.task)
    ctx = InterventionContext(
        task=task, train=ws.task_data(task).train, seed=config.seed,
        oracle=lambda: ws.oracle(task, config)[0], embedder=default_embedder,
        provider=lambda: provider(config.model), log=ws.log)
    examples = list(raw)
    steps = []
    for step, params in config.interventions:
        if not only(step):
            continue
        spec = ws.plugins.interventions.get(step)
        intervention = make_component("intervention", step, spec.factory, params)
        began = time.perf_counter()
        outcome = intervention.apply(tuple(examples), ctx)
        steps.append({"id": step, "params": intervention.get_params(),
                      "n_in": len(examples), "n_out": len(outcome.examples),
                      "usage": {"input_tokens": outcome.usage.input_tokens,
                                "output_tokens": outcome.usage.output_tokens},
                      "seconds": round(time.perf_counter() - began, 3),
                      "report": dict(outcome.report)})
        examples = list(outcome.examples)
    return examples, steps


def real_sample(task: Task, data: TaskData, config: CellConfig) -> list[Example]:
    """The real training examples of the cell's real-data baseline: N, label-balanced."""
    return sample_per_label(data.train, balanced_quota(task.label_names, config.n),
                            random.Random(request_seed(config.seed, "real")))


def score(ws: Workspace, classifier: str, config: CellConfig, synthetic: Sequence[Example],
          real: Sequence[Example]) -> ClassifierResult:
    """One classifier fitted on the synthetic set and, alike, on the real sample."""
    task = ws.task(config.task)
    test = ws.eval_data(task, config).test
    factory = ws.plugins.classifiers.get(classifier).factory
    syn_model, real_model = factory(config.seed), factory(config.seed)
    on_synthetic = fit_and_score(syn_model, synthetic, test, task.label_names)
    on_real = fit_and_score(real_model, real, test, task.label_names)
    syn_f1, real_f1 = on_synthetic.macro_f1, on_real.macro_f1
    agreement = None
    if task.agreement_field and syn_f1 is not None and real_f1 is not None:
        texts = [e.text for e in test]  # Li's instance level: accuracy over a_i >= γ
        agreement = agreement_curve(task, test, [str(p) for p in syn_model.predict(texts)],
                                    [str(p) for p in real_model.predict(texts)],
                                    seed=config.seed)
    result = ClassifierResult(on_synthetic, on_real,
                              syn_f1 / real_f1 if syn_f1 is not None and real_f1 else None,
                              agreement=agreement)
    return extend(ws, classifier, config, result, synthetic)


def incomplete(ws: Workspace, classifier: str, result: ClassifierResult) -> bool:
    """Whether this run measures something ``result`` lacks: its chance and ceiling (always),
    N_eq, or a K of ``--mix-real``."""
    unfitted = result.ceiling is not None and result.ceiling.get("not_fitted") is not None
    return (result.ceiling is None or (unfitted and classifier not in ws.settings.skip_ceilings)
            or (_wants_n_eq(ws, classifier, result)
                                       and result.n_eq is None) or any(
        str(k) not in (result.mixed or {}) for k in ws.settings.mix_real))


def _wants_n_eq(ws: Workspace, classifier: str, result: ClassifierResult) -> bool:
    only = ws.settings.n_eq_classifiers
    return (ws.settings.n_eq and result.synthetic.macro_f1 is not None
            and (only is None or classifier in only))


def extend(ws: Workspace, classifier: str, config: CellConfig, result: ClassifierResult,
           synthetic: Sequence[Example]) -> ClassifierResult:
    """``result`` with what this run measures and it lacks: chance, ceiling and gap closed, the
    real-data-equivalent size on the classifier's real learning curve, and synthetic + K real
    against K real alone."""
    if not incomplete(ws, classifier, result):
        return result
    if result.ceiling is None or (result.ceiling.get("not_fitted") is not None
                                  and classifier not in ws.settings.skip_ceilings):
        result = with_headroom(ws, classifier, config, result)
    f1 = result.synthetic.macro_f1
    if _wants_n_eq(ws, classifier, result) and f1 is not None and result.n_eq is None:
        curve, name = real_curve(ws, classifier, config)
        result = dataclasses.replace(
            result, n_eq={**real_equivalent_n(curve, f1).to_json(), "curve": name})
    task = ws.task(config.task)
    data = ws.eval_data(task, config)
    mixed = dict(result.mixed or {})
    for k in ws.settings.mix_real:
        if str(k) not in mixed:
            sets = mix_real(synthetic, data.train, task.label_names, k, config.seed)
            mixed[str(k)] = score_mixed(ws.plugins.classifiers.get(classifier).factory,
                                        config.seed, sets, data.test,
                                        task.label_names).to_json()
    return dataclasses.replace(result, mixed=mixed or None)


def real_curve(ws: Workspace, classifier: str, config: CellConfig) -> tuple[LearningCurve, str]:
    """The classifier's learning curve on real data (seeded, label-balanced samples on a
    geometric grid up to the train split or ``n_eq_max``), stored once under ``<out>/curves/``
    and shared by every cell of that task, classifier, seed and test split; and its file name."""
    task = ws.task(config.task)
    data = ws.eval_data(task, config)
    grid = n_grid(min(len(data.train), ws.settings.n_eq_max or len(data.train)))
    key = curve_key(data.fingerprint, classifier, config.seed, grid)
    path = ws.settings.out / "curves" / f"{task.id}__{classifier}__s{config.seed}__{key}.json"
    if path.exists():
        return LearningCurve.from_json(read_json(path)), path.name
    ws.log(f"{task.id}: real learning curve of {classifier} at N = {', '.join(map(str, grid))}")
    curve = learning_curve(ws.plugins.classifiers.get(classifier).factory, data.train,
                           data.test, task.label_names, config.seed, grid, classifier)
    write_json(path, curve.to_json())
    return curve, path.name


def measure(ws: Workspace, config: CellConfig, synthetic: Sequence[Example],
            real: Sequence[Example], generated: Generated) -> Measured:
    """Metrics of the data itself: diversity, label accuracy, similarity, leakage on the test
    split and copies of the train split (``generated``: the texts before curation, whose
    request indices replay the prompts)."""
    task = ws.task(config.task)
    data = ws.eval_data(task, config)
    embedder = default_embedder()
    syn_vecs = embedder.encode([e.text for e in synthetic])
    real_vecs = embedder.encode([e.text for e in real])
    test_vecs = embedder.encode([e.text for e in data.test])
    oracle, oracle_f1 = ws.oracle(task, config)
    label_accuracy = None
    if synthetic:
        predicted = oracle.predict([e.text for e in synthetic])
        label_accuracy = float(np.mean([p == e.label
                                        for p, e in zip(predicted, synthetic, strict=True)]))
    threshold = ws.settings.leakage_threshold
    share, pairs = metrics.leakage(syn_vecs, test_vecs, threshold)
    return Measured(len(synthetic), len(real), len(data.test), DataMetrics(
        synthetic_diversity=_diversity([e.text for e in synthetic], syn_vecs),
        real_diversity=_diversity([e.text for e in real], real_vecs),
        label_accuracy=LabelAccuracy(
            label_accuracy, f"{ws.oracle_id(config)} trained on up to {config.oracle_size} real "
            "training examples", oracle_f1),
        similarity_to_real={
            "reference": "real training sample of the same size",
            "top5_cosine": _num(metrics.top_k_similarity(real_vecs, syn_vecs, k=5)),
            "mean_cross_distance": _num(metrics.mean_cross_distance(real_vecs, syn_vecs))},
        leakage={"threshold": threshold, "share": _num(share),
                 "pairs": [{"synthetic": int(i), "test": int(j), "cosine": round(float(c), 4)}
                           for i, j, c in pairs]},
        embedder=embedder.describe(),
        naturalness=two_sample_auc([e.text for e in synthetic], [e.text for e in real],
                                   seed=config.seed).to_json(),
        train_copies=measure_copies(ws.plugins, config, task, data.train, generated.record,
                                    generated.examples, synthetic, embedder, threshold,
                                    syn_vecs)))


def with_copies(ws: Workspace, config: CellConfig, stored: DataMetrics, generated: Generated,
                synthetic: Sequence[Example]) -> DataMetrics:
    """A stored cell's data metrics, with its copies of training data measured (at the
    threshold its test leakage used) when a version before that metric stored them."""
    if stored.train_copies is not None:
        return stored
    task = ws.task(config.task)
    return dataclasses.replace(stored, train_copies=measure_copies(
        ws.plugins, config, task, ws.task_data(task).train, generated.record,
        generated.examples, synthetic, default_embedder(), float(stored.leakage["threshold"])))


def run_baseline(ws: Workspace, config: CellConfig, baseline: str,
                 params: Mapping[str, Any]) -> BaselineResult:
    """A baseline's result, stored once per (model, task data, params, seed) under
    ``<out>/baselines/`` so every cell of that model and task shares it."""
    task = ws.task(config.task)
    data = ws.eval_data(task, config)
    spec = ws.plugins.baselines.get(baseline)
    runner = make_component("baseline", baseline, spec.factory, params)
    path, bkey = baseline_file(ws.settings.out, config, baseline, runner.get_params(),
                               task.to_record(), data.fingerprint)
    with claim(ws.settings.out, path.stem):  # another process may be running it right now
        if path.exists():
            cached = read_json(path)
            if isinstance(cached, dict) and cached.get("key") == bkey:
                return BaselineResult.from_json({k: v for k, v in cached.items() if k != "key"})
        ws.log(f"{config.task} {config.model}: running baseline {baseline}")
        result = runner.run(ws.provider(config.model), task, data.train, data.test, config.seed)
        result = {"id": baseline, "params": runner.get_params(), **result}
        write_json(path, {**result, "key": bkey})
    return BaselineResult.from_json(result)


def request_stats(provider: Provider, before: dict[str, Any] | None = None
                  ) -> dict[str, Any]:
    """The provider's call counters (since ``before``), where it counts them."""
    if not isinstance(provider, RequestCounter):
        return {}
    now = provider.request_stats()
    if before is None:
        return now
    return {group: {k: v - before.get(group, {}).get(k, 0) for k, v in counts.items()
                    if v - before.get(group, {}).get(k, 0)} for group, counts in now.items()}


def _num(value: float | None) -> float | None:
    return None if value is None or np.isnan(value) else float(value)


def _diversity(texts: list[str], vectors: Any) -> Diversity:
    return Diversity(
        remote_clique=_num(metrics.remote_clique(vectors)),
        chamfer=_num(metrics.chamfer(vectors)),
        distinct_1=_num(metrics.distinct_n(texts, 1)),
        distinct_2=_num(metrics.distinct_n(texts, 2)),
        distinct_3=_num(metrics.distinct_n(texts, 3)),
        compression_ratio=_num(metrics.compression_ratio(texts)))


class _Bar:
    def __init__(self, bar: Any) -> None:
        self.bar = bar

    def __call__(self, n: int) -> None:
        self.bar.update(n)

    def close(self) -> None:
        self.bar.close()


def _progress(config: CellConfig, enabled: bool) -> _Bar:
    from tqdm import tqdm

    return _Bar(tqdm(total=config.n, desc=f"{config.task} {config.model} {config.generator} "
                     f"seed {config.seed}", unit="text", file=sys.stderr, disable=not enabled,
                     leave=False, dynamic_ncols=True))



def cost_of(generation: GenerationRecord) -> Cost:
    """The cell's tokens at the price its provider stated (unknown when it stated none)."""
    price = Price.from_dict(generation.provider.get("price_per_million_tokens"))
    return Cost.of(generation.tokens, price, generation.provider.get("request_mode") == "batch")
