"""pytest gates on synthbench cells (registered under the ``pytest11`` entry point).

A test in the user's own suite asks for a cell and asserts on its figures::

    @pytest.mark.synthbench_cell(task="sst2", model="local", generator="zero_shot", n=100,
                                 seed=0, classifier="minilm_lr")
    def test_sst2_data_is_useful(synthbench_cell):
        assert synthbench_cell.utility >= 0.8

Cells come from the results store (``--synthbench-results``, default ``results/`` under the
rootdir) and are reused as stored, never regenerated. A cell that is not stored is made
with the runner only when that costs nothing (``local``, ``hf/``, ``mock/`` ...); a provider
whose plugin declares it paid (``ProviderSpec.paid``: the API providers) generates only with
``--synthbench-allow-paid``, otherwise the test fails with one line saying so. Settings left
out (model, generator, classifier) are ``synthbench.defaults``. The
terminal summary lists every cell used and its figures. synthbench itself is imported only
when a test asks for a cell, so the plugin costs nothing to other test suites.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from synthbench.plugins import Plugins
    from synthbench.record import CellConfig

MARKER = "synthbench_cell"
CELL_DEFAULTS: Mapping[str, Any] = {"model": None, "generator": None, "n": 100, "seed": 0,
                                    "classifier": None, "params": None, "interventions": (),
                                    "oracle_size": 4000}  # None: synthbench.defaults


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("synthbench", "synthbench cell gates")
    group.addoption("--synthbench-results", metavar="DIR", default=None,
                    help="results store the cells come from (default: ini synthbench_results, "
                    "else results/ under the rootdir); write --synthbench-results=DIR, or "
                    "pytest may take DIR for the rootdir")
    group.addoption("--synthbench-data-dir", metavar="DIR", default=None,
                    help="offline task data DIR/<task>/{train,test}.jsonl (default "
                    "$SYNTHBENCH_DATA_DIR, else ini synthbench_data_dir, else the Hugging Face "
                    "hub); write --synthbench-data-dir=DIR")
    group.addoption("--synthbench-allow-paid", action="store_true", default=False,
                    help="let missing cells call paid API providers (openai/, anthropic/, "
                    "litellm/ and any other declared paid); without it such a test fails")
    group.addoption("--synthbench-provider-option", metavar="KEY=VALUE", action="append",
                    default=[], help="a provider option for cells this session generates or "
                    "finds, as synthbench run -P (e.g. engine=transformers)")
    parser.addini("synthbench_results", "results store for synthbench cells, relative to the "
                  "rootdir", default="results")
    parser.addini("synthbench_data_dir", "offline task data for synthbench cells, relative to "
                  "the rootdir", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(task, model='local', generator='zero_shot', n=100, seed=0, "
        "classifier='minilm_lr', params=None, interventions=(), oracle_size=4000): the cell "
        "the synthbench_cell fixture gives this test")
    given = config.getoption("synthbench_results")
    results = (config.invocation_params.dir / given if given
               else config.rootpath / str(config.getini("synthbench_results")))
    data_dir = config.getoption("synthbench_data_dir") or os.environ.get("SYNTHBENCH_DATA_DIR")
    ini_data = str(config.getini("synthbench_data_dir"))
    config.stash[_STORE] = CellStore(
        results, config.invocation_params.dir / data_dir if data_dir
        else config.rootpath / ini_data if ini_data else None,
        allow_paid=bool(config.getoption("synthbench_allow_paid")), environ=dict(os.environ),
        provider_options=dict(text.partition("=")[::2]
                              for text in config.getoption("synthbench_provider_option")))


@dataclass(frozen=True)
class GateCell:
    """One cell as a test sees it: the stored record and the figures of ``classifier``.
    ``generated`` is true when this session made the texts (false: reused from the store)."""

    name: str
    folder: Path
    record: Mapping[str, Any]
    classifier: str
    generated: bool

    @property
    def scores(self) -> Mapping[str, Any]:
        scores: Mapping[str, Any] = self.record["classifiers"][self.classifier]
        return scores

    @property
    def utility(self) -> float:
        """Synthetic macro-F1 / real macro-F1 at the same N, for ``classifier``."""
        return float(self.scores["utility"])

    @property
    def macro_f1(self) -> float:
        return float(self.scores["synthetic"]["macro_f1"])

    @property
    def n_eq(self) -> float | None:
        """Real examples worth the synthetic set, where the record has it; else None."""
        value = self.scores.get("n_eq")
        if isinstance(value, Mapping):  # synthbench's record: {"n_eq": ..., "bound": ...}
            value = value.get("n_eq")
        return None if value is None else float(value)

    @property
    def label_accuracy(self) -> float | None:
        value = self.record["metrics"].get("label_accuracy", {}).get("value")
        return None if value is None else float(value)

    @property
    def diversity(self) -> Mapping[str, float]:
        """Diversity of the synthetic texts (remote_clique, chamfer, distinct_n, ...)."""
        diversity: Mapping[str, float] = self.record["metrics"]["diversity"]["synthetic"]
        return diversity

    def summary(self) -> str:
        def fmt(value: float | None) -> str:
            return "—" if value is None else f"{value:.3f}"

        state = "generated" if self.generated else "stored"
        return (f"{self.name} [{state}] {self.classifier}: utility {fmt(self.utility)}, "
                f"N_eq {fmt(self.n_eq)}, label accuracy {fmt(self.label_accuracy)}, "
                f"Remote-Clique {fmt(self.diversity.get('remote_clique'))}")


def _runner_api() -> Any:
    """The runner's public API, in one place."""
    from synthbench import run

    return run


class CellStore:
    """Finds, or (when free or allowed) makes, the cells tests ask for; one per session."""

    def __init__(self, results: Path, data_dir: Path | None, allow_paid: bool,
                 environ: Mapping[str, str],
                 provider_options: Mapping[str, str] | None = None) -> None:
        """``environ``: the session's environment, read once here at the edge."""
        self.results = results
        self.data_dir = data_dir
        self.environ = dict(environ)
        self.provider_options = dict(provider_options or {})
        self.allow_paid = allow_paid
        self.used: dict[tuple[str, str], GateCell] = {}
        self.warnings: list[str] = []
        self._plugins: Plugins | None = None
        self._runner: Any = None

    def _runner_for(self) -> Any:
        if self._runner is None:
            from synthbench.plugins import load_plugins

            api = _runner_api()
            self._plugins = load_plugins(warn=self.warnings.append)
            from synthbench.calls import CacheSettings
            from synthbench.paths import cache_dir_from, use_cache_dir

            use_cache_dir(cache_dir_from(self.environ))
            self._runner = api.Runner(self._plugins, api.RunSettings(
                out=self.results, data_dir=self.data_dir, progress=False,
                cache=CacheSettings.from_env(self.environ), environ=self.environ,
                provider_options=self.provider_options))
        return self._runner

    def _config(self, task: str, model: str, generator: str, n: int, seed: int,
                classifier: str, params: Mapping[str, Any] | None,
                interventions: Sequence[tuple[str, Mapping[str, Any]]],
                oracle_size: int) -> CellConfig:
        runner = self._runner_for()
        (config,) = _runner_api().make_configs(
            runner.ws.plugins, models=[model], tasks=[task], generators=[generator],
            params=dict(params or {}), n=n, seeds=[seed], classifiers=[classifier],
            oracle_size=oracle_size, curations=[list(interventions)])
        result: CellConfig = config
        return result

    def _is_paid(self, model: str) -> bool:
        from synthbench.models import provider_spec

        assert self._plugins is not None
        return provider_spec(self._plugins, model)[0].paid

    def get(self, task: str, **settings: Any) -> GateCell:
        """The cell (task, model, generator, n, seed, classifier, params, interventions,
        oracle_size; defaults in ``CELL_DEFAULTS``), reused from the store when it is there."""
        from synthbench.errors import SynthbenchError
        from synthbench.store import GENERATION, SYNTHETIC, read_json

        unknown = set(settings) - set(CELL_DEFAULTS)
        if unknown:
            pytest.fail(f"synthbench_cell: unknown setting(s) {sorted(unknown)}; known: task, "
                        f"{', '.join(CELL_DEFAULTS)}", pytrace=False)
        from synthbench import defaults

        values = {**CELL_DEFAULTS, "model": defaults.MODEL, "generator": defaults.GENERATORS[0],
                  "classifier": defaults.CLASSIFIERS[-1], **settings}
        try:
            config = self._config(task, **values)
            runner = self._runner_for()
            cell = runner.ws.locate(config)
            folder, key, generation = cell.folder, cell.key, cell.texts / GENERATION
            stored = (generation.exists() and (generation.parent / SYNTHETIC).exists()
                      and read_json(generation).get("generation_key") == key)
            if not stored and self._is_paid(config.model) and not self.allow_paid:
                pytest.fail(f"synthbench cell {folder.name} is not in {self.results} and "
                            f"{config.model} is a paid provider: pass --synthbench-allow-paid "
                            "to generate it, or add the cell to the results store",
                            pytrace=False)
            (outcome,) = runner.run([config])
        except SynthbenchError as exc:
            pytest.fail(f"synthbench: {exc}", pytrace=False)
        # A cell this session generated stays "generated" when a later test asks for it again
        # (by then it is in the store): the summary reports what the session did.
        earlier = self.used.get((outcome.folder.name, values["classifier"]))
        cell = GateCell(outcome.folder.name, outcome.folder, outcome.record.to_json(),
                        values["classifier"],
                        generated=not stored or (earlier is not None and earlier.generated))
        self.used[(cell.name, cell.classifier)] = cell
        return cell


_STORE = pytest.StashKey[CellStore]()


@pytest.fixture(scope="session")
def synthbench_cells(request: pytest.FixtureRequest) -> CellStore:
    """The session's cell store: ``synthbench_cells.get(task=..., model=..., n=...)``."""
    return request.config.stash[_STORE]


@pytest.fixture
def synthbench_cell(request: pytest.FixtureRequest, synthbench_cells: CellStore) -> GateCell:
    """The cell named by the test's ``@pytest.mark.synthbench_cell(...)`` (or by indirect
    parametrization with a dict of the same settings)."""
    settings: dict[str, Any] | None = getattr(request, "param", None)
    if settings is None:
        marker = request.node.get_closest_marker(MARKER)
        if marker is None:
            pytest.fail(f"the synthbench_cell fixture needs @pytest.mark.{MARKER}(task=..., "
                        "...) on the test", pytrace=False)
        settings = dict(marker.kwargs)
    if "task" not in settings:
        pytest.fail(f"@pytest.mark.{MARKER} needs task=...", pytrace=False)
    return synthbench_cells.get(**settings)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int,
                            config: pytest.Config) -> None:
    store = config.stash.get(_STORE, None)
    if store is None or not store.used:
        return
    terminalreporter.write_sep("-", f"synthbench cells (results: {store.results})")
    for cell in store.used.values():
        terminalreporter.write_line(cell.summary())
    for line in store.warnings:
        terminalreporter.write_line(f"synthbench plugin warning: {line}")
