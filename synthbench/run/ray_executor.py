"""Run a grid's cells as Ray tasks (``synthbench run --executor ray``).

Ray is imported only here and only when asked for: the local executor (``Runner.run``) stays
the default and needs no Ray. What the design rests on:

- **One task per generation.** Cells that share generated texts (the curated variants of one
  generation) go to one task in order, so no worker waits on another's claim; every other
  cell is its own task. A task takes one CPU; Ray places them.
- **Typed configs travel.** A task receives its ``CellConfig``s, the ``RunSettings`` (paths
  made absolute) and which plugins to load, builds a ``Runner`` once per worker process and
  calls ``Runner.run_cell``: the same code, store layout and claims as a local run, so the
  records are the same.
- **One owner of the limits.** A ``LimitsOwner`` actor holds the token buckets and the budget
  for the whole cluster; each worker's providers get ``SharedLimits`` that ask it.
- **Lost workers.** A task whose worker process dies is retried by Ray (``max_retries``) on
  any node; the cell resumes from the request cache and its claim (an OS file lock) died
  with the process, so it is written once. A plugin error is not retried: it fails the run
  with one line, and the cells already finished stay stored.

Every worker must reach ``--out``, the request cache and the task data at the same paths (a
shared filesystem), and have the plugins and API keys installed: keys are never shipped.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from synthbench.calls import LimitsOwner, SharedLimits
from synthbench.errors import SynthbenchError
from synthbench.plugins import PluginSelection
from synthbench.record import CellConfig, CellRecord
from synthbench.run.runner import CellOutcome, Runner
from synthbench.run.workspace import RunSettings
from synthbench.store import check_writable

RETRIES = 3  # a cell's task is retried this often when its worker process dies
_SECRET_PARTS = ("KEY", "TOKEN", "SECRET", "PASSWORD")
_FORWARDED = ("SYNTHBENCH_", "HF_", "TRANSFORMERS_", "LITELLM_", "OPENAI_BASE_URL",
              "ANTHROPIC_BASE_URL", "OMP_NUM_THREADS", "TOKENIZERS_PARALLELISM")


def forwarded_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The driver's synthbench, hub and endpoint settings for the workers; never a secret."""
    return {k: v for k, v in environ.items()
            if k.startswith(_FORWARDED) and not any(part in k.upper() for part in _SECRET_PARTS)}


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise SynthbenchError("--executor ray needs Ray: pip install 'synthbench[ray]'"
                              ) from None
    return ray


def worker_settings(settings: RunSettings) -> RunSettings:
    """The settings a worker runs with: absolute paths, the driver's request cache, no bars."""
    return dataclasses.replace(
        settings, out=settings.out.absolute(), progress=False,
        data_dir=settings.data_dir.absolute() if settings.data_dir is not None else None,
        cache=dataclasses.replace(settings.cache, path=settings.cache.file.absolute()))


def run_on_ray(runner: Runner, configs: Sequence[CellConfig], plugins: PluginSelection,
               address: str | None = None,
               on_cell: Callable[[CellOutcome], None] = lambda outcome: None
               ) -> list[CellOutcome]:
    """Run ``configs`` on a Ray cluster (``address``; ``None`` starts one on this machine,
    unless this process is already connected) and return their outcomes in order."""
    if runner.ws.settings.mode == "batch":
        raise SynthbenchError("--mode batch sends one batch job per model from one process; "
                              "use it with --executor local")
    ray = import_ray()
    runner.validate(configs)
    settings = worker_settings(runner.ws.settings)
    check_writable(settings.out)
    groups: dict[str, list[int]] = {}
    for index, config in enumerate(configs):
        groups.setdefault(runner.ws.locate(config).texts.name, []).append(index)
    started = not ray.is_initialized()
    if started:
        try:
            ray.init(address=address, runtime_env={"env_vars": forwarded_env(os.environ)},
                     log_to_driver=False, configure_logging=False)
        except Exception as exc:  # Ray raises several kinds; each is one line for the user
            where = f"the Ray cluster at {address}" if address else "Ray on this machine"
            raise SynthbenchError(f"cannot start or reach {where}: {_first_line(exc)}"
                                  ) from None
    try:
        owner = ray.remote(LimitsOwner).options(num_cpus=0).remote(settings.max_cost)
        task = ray.remote(num_cpus=1, max_retries=RETRIES, retry_exceptions=False)(run_cells)
        run_id = uuid.uuid4().hex
        pending = {task.remote([configs[i] for i in members], settings, plugins, owner, run_id):
                   members
                   for members in groups.values()}
        outcomes: dict[int, CellOutcome] = {}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            members = pending.pop(done[0])
            try:
                results = ray.get(done[0])
            except ray.exceptions.RayError as exc:
                for ref in pending:
                    ray.cancel(ref)
                raise SynthbenchError(_one_line(exc)) from None
            for index, (folder, record, reused) in zip(members, results, strict=True):
                outcomes[index] = CellOutcome(Path(folder), CellRecord.from_json(record), reused)
                on_cell(outcomes[index])
        return [outcomes[index] for index in range(len(configs))]
    finally:
        if started:
            ray.shutdown()


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _one_line(exc: BaseException) -> str:
    """The worker's own error message (a ``SynthbenchError`` line), without Ray's trace."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, SynthbenchError):
        return str(cause)
    text = str(cause if cause is not None else exc).strip().splitlines()
    return f"a Ray task failed: {text[-1] if text else type(exc).__name__}"


_RUNNERS: dict[Any, Runner] = {}  # per worker process: models and data stay loaded


def run_cells(configs: Sequence[CellConfig], settings: RunSettings, plugins: PluginSelection,
              owner: Any, run_id: str) -> list[tuple[str, dict[str, Any], bool]]:
    """A Ray task: run cells that share one generation, in order, in this worker."""
    key = (repr(settings), plugins, run_id)  # the settings hold mappings: not hashable
    if key not in _RUNNERS:
        for old in _RUNNERS.values():
            old.ws.close()
        _RUNNERS.clear()
        _RUNNERS[key] = _worker_runner(settings, plugins, owner)
    runner = _RUNNERS[key]
    runner.prepare(configs)  # this worker's provider can serve the generator, and so on
    outcomes = [runner.run_cell(config) for config in configs]
    return [(str(o.folder), o.record.to_json(), o.reused) for o in outcomes]


def _worker_runner(settings: RunSettings, plugins: PluginSelection, owner: Any) -> Runner:
    ray = import_ray()
    loaded = plugins.load()

    def call(method: str, *args: Any) -> Any:
        return ray.get(getattr(owner, method).remote(*args))

    return Runner(loaded, settings, limits=SharedLimits(call, settings.max_cost))
