"""Measure the subjectivity of registered tasks with a judge named by its model id."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from synthbench.calls.context import CallContext
from synthbench.data import load_task_data
from synthbench.errors import SynthbenchError
from synthbench.models import resolve_model
from synthbench.plugins import Plugins
from synthbench.subjectivity.protocol import ProtocolSettings, measure
from synthbench.types import Closeable


def measure_tasks(plugins: Plugins, judge: str, task_ids: Sequence[str] | None = None,
                  data_dir: Path | None = None, out: Path | None = None,
                  settings: ProtocolSettings | None = None,
                  log: Callable[[str], None] = lambda line: None,
                  calls: CallContext | None = None) -> dict[str, Any]:
    """Measure ``task_ids`` (default: every registered task) with the judge ``judge`` (a
    model id), reading each task's real training split for the examples on its card; the
    record is stored under ``out/subjectivity/`` when ``out`` is given; ``calls``: the run's
    request context (default: the defaults, no environment)."""
    ids = list(task_ids) if task_ids else plugins.tasks.ids()
    unknown = [t for t in ids if t not in plugins.tasks]
    if unknown:
        raise SynthbenchError(f"unknown task(s) {', '.join(unknown)} (known: "
                              f"{', '.join(plugins.tasks.ids())})")
    tasks = [plugins.tasks.get(t) for t in ids]
    train = {t.id: load_task_data(t, data_dir).train for t in tasks}
    provider = resolve_model(plugins, judge, calls if calls is not None else CallContext())
    try:
        return measure(provider, tasks, train, settings, out, log)
    finally:
        if isinstance(provider, Closeable):
            provider.close()
