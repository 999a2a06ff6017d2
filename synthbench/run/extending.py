"""Extending a stored results folder in place: every finished cell gets what this version
measures and it lacks (chance, ceiling, gap closed), and a cell scored on a test split that
has since changed is re-scored, with the N_eq and real-mix measures it had, from its stored
texts. Nothing is generated, so no provider is called."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import replace
from pathlib import Path

from synthbench.plugins import Plugins
from synthbench.record import CellRecord
from synthbench.run.runner import CellOutcome, Runner, stored_settings
from synthbench.run.workspace import RunSettings
from synthbench.store import iter_results


def extend_results(plugins: Plugins, settings: RunSettings, tasks: Collection[str] = (),
                   on_cell: Callable[[CellOutcome], None] = lambda outcome: None,
                   log: Callable[[str], None] = lambda line: None) -> list[CellOutcome]:
    """Extend every finished cell under ``settings.out`` (of ``tasks``, when given); cells
    that measured N_eq or a real mix are run under settings that measure them again, grouped
    so each group shares one workspace (task data, embeddings, ceilings)."""
    groups: dict[tuple[int | None, tuple[str, ...], tuple[int, ...]],
                 list[tuple[Path, CellRecord]]] = defaultdict(list)
    for path, record in iter_results(settings.out):
        if not tasks or record.config.task in tasks:
            groups[stored_settings(record)].append((path.parent, record))
    outcomes = []
    for (n_eq_max, n_eq_for, mix_real), cells in sorted(groups.items(),
                                                        key=lambda g: repr(g[0])):
        group = replace(settings, n_eq=n_eq_max is not None, n_eq_max=n_eq_max,
                        n_eq_classifiers=frozenset(n_eq_for), mix_real=mix_real)
        with Runner(plugins, group, log=log) as runner:
            outcomes += runner.extend_stored(cells, on_cell)
    return outcomes
