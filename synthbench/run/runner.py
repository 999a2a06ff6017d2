"""One cell end to end: generate -> curate -> fit/predict -> measure -> store. The only module
that knows the order of the stages.

Every option is checked before the first cell starts, so a typo never costs an hour of
generation. A finished cell (same generation key) is reused as stored, and extended rather
than redone when asked for more (another classifier, a baseline); a cell whose texts were
generated but whose result was never written reuses the texts and redoes the rest.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from synthbench.calls import LayeredProvider, Limits
from synthbench.errors import SynthbenchError
from synthbench.models import provider_spec
from synthbench.plugins import Plugins
from synthbench.record import CellConfig, CellRecord, DeclaredSubjectivity
from synthbench.run import planning, stages
from synthbench.run.grid import full_params
from synthbench.run.workspace import Located, RunSettings, Workspace
from synthbench.store import (
    RESULT,
    cell_dir,
    check_writable,
    claim,
    config_hash,
    load_result,
    write_json,
)

T = TypeVar("T")


@dataclass(frozen=True)
class CellOutcome:
    folder: Path
    record: CellRecord
    reused: bool


class Runner:
    """Runs cells in a workspace that shares providers, task data and oracles between them."""

    def __init__(self, plugins: Plugins, settings: RunSettings,
                 log: Callable[[str], None] = lambda line: None,
                 limits: Limits | None = None) -> None:
        self.ws = Workspace(plugins, settings, log, limits)

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.ws.close()

    def validate(self, configs: Sequence[CellConfig]) -> None:
        """Raise ``SynthbenchError`` for the first unknown id or bad option, before any work."""
        plugins = self.ws.plugins
        for config in configs:
            provider_spec(plugins, config.model)
            task = plugins.tasks.get(config.task)
            full_params(plugins, "generator", config.generator, config.generator_params)
            for classifier in config.classifiers:
                plugins.classifiers.get(classifier)
            for step, params in config.interventions:
                full_params(plugins, "intervention", step, params)
            for baseline, params in config.baselines:
                full_params(plugins, "baseline", baseline, params)
            if config.n < len(task.labels):
                raise SynthbenchError(
                    f"--n {config.n} is smaller than the {config.task} task's number of labels")
            if (oracle := self.ws.oracle_id(config)) not in plugins.classifiers:
                raise SynthbenchError(f"the oracle classifier {oracle!r} is not loaded")
        self._check_provider_options(configs)

    def _check_provider_options(self, configs: Sequence[CellConfig]) -> None:
        """Every ``-P`` option is one that a provider of this run declares, and its value one
        the provider accepts (its identity, cheap and without weights, checks that)."""
        options = self.ws.settings.provider_options
        declared: dict[str, str] = {}
        for model in sorted({config.model for config in configs}):
            spec, name = provider_spec(self.ws.plugins, model)
            declared.update({option: spec.id for option in spec.options})
            if spec.identity is not None and set(options) & set(spec.options):
                spec.identity(name, options)
        if unknown := sorted(set(options) - set(declared)):
            known = ", ".join(sorted(declared)) or "none"
            raise SynthbenchError(f"-P {unknown[0]}: no provider of this run takes that option "
                                  f"(options of these models: {known})")

    def prepare(self, configs: Sequence[CellConfig]) -> list[Located]:
        """Validate everything, locate every cell, check the results folder and build the
        providers of cells still to generate, so a bad model id, a missing data file or an
        unwritable ``--out`` fails before the first cell rather than after hours of others."""
        self.validate(configs)
        located = [self.ws.locate(config) for config in configs]
        check_writable(self.ws.settings.out)
        for cell in located:
            config = cell.config
            if not stages.generation_stored(cell.texts, cell.key):
                provider = self.ws.provider(config.model)
                needs = self.ws.plugins.generators.get(config.generator).requires
                if missing := sorted(set(needs) - set(provider.capabilities)):
                    raise SynthbenchError(
                        f"generator {config.generator} needs a provider with "
                        f"{', '.join(sorted(needs))}; {provider.model_id} lacks "
                        f"{', '.join(missing)}")
        return located

    def run(self, configs: Sequence[CellConfig],
            on_cell: Callable[[CellOutcome], None] = lambda outcome: None,
            on_error: Callable[[Located, Exception], None] = lambda cell, exc: None
            ) -> list[CellOutcome]:
        """Prepare, then run every cell; ``on_cell`` sees each outcome as it lands, and
        ``on_error`` the cell whose error ends the run (then the error is raised). Cells that
        another process on the same results directory is running are left for last, then
        waited for and read back, so two runs started together split the work."""
        located = self.prepare(configs)
        self._generate_ahead(located)
        outcomes: dict[int, CellOutcome] = {}
        busy = []

        def claimed(cell: Located, wait: bool) -> CellOutcome | None:
            try:
                return self._claimed(cell, wait)
            except Exception as exc:
                on_error(cell, exc)
                raise

        for index, cell in enumerate(located):
            if (outcome := claimed(cell, wait=False)) is None:
                busy.append(index)
            else:
                outcomes[index] = outcome
                on_cell(outcome)
        for index in busy:
            outcome = claimed(located[index], wait=True)
            assert outcome is not None
            outcomes[index] = outcome
            on_cell(outcome)
        return [outcomes[index] for index in range(len(configs))]

    def _generate_ahead(self, located: Sequence[Located]) -> None:
        """With API models, send batch jobs up front, and with several API models generate
        their cells' texts at the same time (one thread per model, each model's cells in
        order); the cells then find their texts stored."""
        by_model: dict[str, dict[Path, Located]] = {}
        for cell in located:
            if (not stages.generation_stored(cell.texts, cell.key)
                    and isinstance(self.ws.provider(cell.config.model), LayeredProvider)):
                by_model.setdefault(cell.config.model, {}).setdefault(cell.texts, cell)
        self._submit_batches([c for cells in by_model.values() for c in cells.values()])
        if len(by_model) < 2:
            return

        def generate(cells: dict[Path, Located]) -> None:
            for folder, cell in cells.items():
                with claim(self.ws.settings.out, folder.name):
                    stages.generate(self.ws, cell.config, folder, cell.key)

        self._each_model(generate, list(by_model.values()))

    def _submit_batches(self, located: Sequence[Located]) -> None:
        """In batch mode, send every request the cells will need up front, one batch job per
        model (all models at once), so the cells then find their answers in the cache."""
        if located and self.ws.settings.mode == "batch":
            planned = planning.planned_requests(self.ws, located)
            self._each_model(lambda model: self.ws.provider(model).complete(planned[model]),
                             [model for model in planned if planned[model]])

    @staticmethod
    def _each_model(work: Callable[[T], object], items: Sequence[T]) -> None:
        """``work`` on every item at once, one thread each; the first error is raised."""
        with ThreadPoolExecutor(max(1, len(items)), thread_name_prefix="synthbench") as pool:
            futures = [pool.submit(work, item) for item in items]
        for future in futures:
            future.result()

    def run_cell(self, config: CellConfig) -> CellOutcome:
        """Run one cell under its store-wide claim, waiting while another process holds it."""
        outcome = self._claimed(self.ws.locate(config), wait=True)
        assert outcome is not None
        return outcome

    def try_cell(self, config: CellConfig) -> CellOutcome | None:
        """Run one cell, or return ``None`` at once when another process holds its claim."""
        return self._claimed(self.ws.locate(config), wait=False)

    def extend_stored(self, cells: Sequence[tuple[Path, CellRecord]],
                      on_cell: Callable[[CellOutcome], None] = lambda outcome: None,
                      pipeline: Sequence[tuple[str, Mapping[str, Any]]] = ()
                      ) -> list[CellOutcome]:
        """Finished cells (their folders and records) given what this version measures and
        they lack, and re-scored where their task's test split changed; with ``pipeline``,
        instead a curated variant of each uncurated cell, made from its stored texts. Each is
        found from its own record, not located again, so the engine options of the run that
        made it do not matter; nothing is generated (a cell whose texts are missing is an
        error)."""
        outcomes = []
        out = self.ws.settings.out
        for folder, record in cells:
            config, key = record.config, record.generation_key
            texts = cell_dir(out, replace(config, interventions=(), oracle=None,
                                          keep_test_overlap=False), key)
            if pipeline:
                if config.interventions:
                    continue  # a curated cell is not curated again
                config = replace(config, interventions=tuple(pipeline))
                folder = cell_dir(out, config, key)
            self.validate([config])
            if not stages.generation_stored(texts, key):
                raise SynthbenchError(f"{folder.name}: its generated texts are not in "
                                      f"{texts}; extend never generates")
            outcome = self._claimed(Located(config, folder, key, texts), wait=True)
            assert outcome is not None
            outcomes.append(outcome)
            on_cell(outcome)
        return outcomes

    def _claimed(self, cell: Located, wait: bool) -> CellOutcome | None:
        """A finished cell is read back without a claim (a read-only store works); any other
        is run under its claim, or skipped (``None``) when busy and not ``wait``."""
        stored = load_result(cell.folder, cell.key)
        if self._finished(cell.config, stored):
            assert stored is not None
            return CellOutcome(cell.folder, stored, reused=True)
        with claim(self.ws.settings.out, cell.texts.name, wait) as held:
            return self._run_claimed(cell) if held else None

    def _fresh_baselines(self, config: CellConfig, stored: CellRecord | None
                         ) -> list[tuple[str, Mapping[str, Any]]]:
        done = dict(stored.baselines) if stored is not None else {}
        return [(b, p) for b, p in config.baselines
                if b not in done or dict(done[b].params) != dict(p)]

    def _finished(self, config: CellConfig, stored: CellRecord | None) -> bool:
        """Whether the stored cell already holds everything ``config`` asks for, scored on the
        task's test split as it is now."""
        return not (stored is None or not self._same_oracle(config, stored)
                    or self._test_changed(stored) or stored.metrics.train_copies is None
                    or "test_overlap" not in stored.data
                    or not set(config.classifiers) <= set(stored.classifiers)
                    or self._fresh_baselines(config, stored)
                    or any(stages.incomplete(self.ws, name, result)
                           for name, result in stored.classifiers.items()))

    def _test_changed(self, stored: CellRecord) -> bool:
        """Whether the cell was scored on another test split than its task's now (e.g. before
        test rows that also occur in train were left out): its scores are then redone."""
        task = self.ws.task(stored.config.task)
        return stored.n_test != len(self.ws.eval_data(task, stored.config).test)

    @staticmethod
    def _same_oracle(config: CellConfig, stored: CellRecord) -> bool:
        return (stored.config.oracle_size, stored.config.oracle) == (config.oracle_size,
                                                                     config.oracle)

    def _run_claimed(self, cell: Located) -> CellOutcome:
        """Generate (or reuse the texts), then evaluate what is missing and store the result.

        A stored result is extended, never discarded: classifiers already scored keep their
        scores, and the data metrics are recomputed only when the oracle size changed; a cell
        scored on a test split that has since changed is re-scored whole (texts kept).
        """
        config, folder, key = cell.config, cell.folder, cell.key
        stored = load_result(folder, key)  # read again: another process may have finished it
        if self._finished(config, stored):
            assert stored is not None
            return CellOutcome(folder, stored, reused=True)
        ws = self.ws
        wanted = sorted(set(config.classifiers))
        rescore = stored is not None and self._test_changed(stored)
        same_oracle = stored is not None and self._same_oracle(config, stored) and not rescore
        if config.interventions and not same_oracle:
            stored = None  # curated texts (e.g. relabelled by the oracle) depend on the oracle
        done = dict(stored.baselines) if stored is not None else {}
        fresh = self._fresh_baselines(config, stored)
        task = ws.task(config.task)
        data = ws.task_data(task)
        started = time.perf_counter()
        generated = stages.generate(ws, config, cell.texts, key)
        curated = stages.curate(ws, config, generated.examples, folder, key)
        generated_at = time.perf_counter()
        real = stages.real_sample(task, data, config)
        done.update({b: stages.run_baseline(ws, config, b, p) for b, p in fresh})
        scored = {c: stages.extend(ws, c, config, r, curated.examples)
                  for c, r in (stored.classifiers.items() if stored is not None and not rescore
                               else ())}
        wanted = sorted(set(wanted) | (set(stored.classifiers) if stored is not None else set()))
        for classifier in wanted:
            if classifier not in scored:
                scored[classifier] = stages.score(ws, classifier, config, curated.examples, real)
        measured = (stages.Measured(stored.n_synthetic, stored.n_real, stored.n_test,
                                    stages.with_copies(ws, config, stored.metrics, generated,
                                                       curated.examples))
                    if stored is not None and same_oracle
                    else stages.measure(ws, config, curated.examples, real, generated))
        merged = replace(config, classifiers=tuple(sorted(scored)),
                         baselines=tuple((b, r.params) for b, r in sorted(done.items())))
        record = CellRecord(
            cell=folder.name, generation_key=key, config_hash=config_hash(merged),
            config=merged, task=task.to_record(),
            subjectivity=DeclaredSubjectivity(task.subjectivity.score, task.subjectivity.source,
                                              task.subjectivity.provisional),
            generation=generated.record, classifiers=scored, metrics=measured.metrics,
            n_synthetic=measured.n_synthetic, n_real=measured.n_real, n_test=measured.n_test,
            cost=stored.cost if stored is not None else stages.cost_of(generated.record),
            data={"source": data.source, "fingerprint": data.fingerprint,
                  "reports": {s: dataclasses.asdict(r) for s, r in data.reports.items()},
                  "test_overlap": ws.overlap(task).to_json(not config.keep_test_overlap)},
            provenance=ws.provenance(),
            timings=self._timings(stored, generated_at - started,
                                  time.perf_counter() - generated_at),
            curation=curated.record, baselines=done)
        write_json(folder / RESULT, record.to_json())
        return CellOutcome(folder, record, reused=False)

    @staticmethod
    def _timings(stored: CellRecord | None, generation: float, evaluation: float
                 ) -> dict[str, float]:
        """A new cell's generation and evaluation seconds; an extended one keeps the times of
        the run that made it and adds what extending took."""
        if stored is None:
            return {"generation_s": round(generation, 3), "evaluation_s": round(evaluation, 3)}
        return {**stored.timings, "extension_s": round(generation + evaluation, 3)}


def stored_settings(record: CellRecord
                    ) -> tuple[int | None, tuple[str, ...], tuple[int, ...]]:
    """What a stored cell measured beyond the defaults, as the settings that measure it again
    when the cell is re-scored: ``n_eq_max`` (None: no N_eq), the classifiers it measured N_eq
    for, and ``mix_real``."""
    n_max = {int(r.n_eq["n_max"]) for r in record.classifiers.values() if r.n_eq}
    mixes = {int(k) for r in record.classifiers.values() for k in (r.mixed or {})}
    return ((max(n_max) if n_max else None),
            tuple(sorted(c for c, r in record.classifiers.items() if r.n_eq)),
            tuple(sorted(mixes)))
