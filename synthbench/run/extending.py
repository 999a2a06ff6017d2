"""Extending a stored results folder in place: every finished cell gets what this version
measures and it lacks (chance, ceiling, gap closed), and a cell scored on a test split that
has since changed is re-scored, with the N_eq and real-mix measures it had, from its stored
texts; or a curated variant of each stored cell is made from its stored texts. Nothing is
generated, so no provider is called (an intervention that asks a model, e.g. an LLM judge,
would: use ``synthbench run`` for those)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from synthbench.plugins import Plugins
from synthbench.record import CellRecord
from synthbench.run.runner import CellOutcome, Runner, stored_settings
from synthbench.run.workspace import RunSettings
from synthbench.store import iter_results


@dataclass(frozen=True)
class Selection:
    """Which stored cells to extend: of these tasks, models and generators (empty: any)."""

    tasks: Collection[str] = ()
    models: Collection[str] = ()
    generators: Collection[str] = ()

    def __call__(self, record: CellRecord) -> bool:
        config = record.config
        return all(not wanted or value in wanted for wanted, value in (
            (self.tasks, config.task), (self.models, config.model),
            (self.generators, config.generator)))


def extend_results(plugins: Plugins, settings: RunSettings, select: Selection = Selection(),
                   on_cell: Callable[[CellOutcome], None] = lambda outcome: None,
                   log: Callable[[str], None] = lambda line: None,
                   pipeline: Sequence[tuple[str, Mapping[str, Any]]] = ()
                   ) -> list[CellOutcome]:
    """Extend every finished cell under ``settings.out`` that ``select`` keeps (or, with
    ``pipeline``, add its curated variant); cells that measured N_eq or a real mix are run
    under settings that measure them again, grouped so each group shares one workspace
    (task data, embeddings, ceilings)."""
    groups: dict[tuple[int | None, tuple[str, ...], tuple[int, ...]],
                 list[tuple[Path, CellRecord]]] = defaultdict(list)
    for path, record in iter_results(settings.out):
        if select(record):
            groups[stored_settings(record)].append((path.parent, record))
    outcomes = []
    for (n_eq_max, n_eq_for, mix_real), cells in sorted(groups.items(),
                                                        key=lambda g: repr(g[0])):
        group = replace(settings, n_eq=n_eq_max is not None, n_eq_max=n_eq_max,
                        n_eq_classifiers=frozenset(n_eq_for), mix_real=mix_real)
        with Runner(plugins, group, log=log) as runner:
            outcomes += runner.extend_stored(cells, on_cell, pipeline)
    return outcomes
