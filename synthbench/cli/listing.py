"""``synthbench list``: the tables of tasks (with ``--audit``, their data's test/train
overlap), models, generators, classifiers, interventions, baselines and plugins."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from synthbench import defaults
from synthbench.errors import SynthbenchError
from synthbench.plugins import Plugins, Registry


def list_command(args: argparse.Namespace, plugins: Plugins) -> int:
    """Print the table of what ``args.what`` names; tasks with ``args.audit`` also get their
    data's sizes and test/train overlap."""
    rows: list[list[Any]]
    if args.what == "tasks":
        headers = ["task", "labels", "subjectivity", "data (hub id / offline folder)", "plugin"]
        rows = []
        for task_id in plugins.tasks.ids():
            task = plugins.tasks.get(task_id)
            mark = " (provisional)" if task.subjectivity.provisional else ""
            hub = task.hub.id + (f" [{task.hub.config}]" if task.hub.config else "") \
                if task.hub else "no hub copy"
            rows.append([task.id, ", ".join(task.label_names),
                         f"{task.subjectivity.score:.2f}{mark}",
                         f"{hub} / <data-dir>/{task.data_dir_name}/",
                         plugins.tasks.origin(task_id).distribution])
        from synthbench.subjectivity.command import with_measured

        headers, rows = with_measured(headers, rows, Path(args.results))
        if args.audit:
            headers, rows = _with_audit(args, plugins, headers, rows)
    elif args.what == "models":
        headers = ["provider", "model ids", "description", "plugin"]
        rows = []
        for p in plugins.providers.ids():
            pspec, origin = plugins.providers.get(p), plugins.providers.origin(p).distribution
            rows.append([p, p if p == defaults.MODEL else f"{p}/<model>", pspec.description,
                         origin])
            for model in pspec.models() if pspec.models else ():  # offline models, one a row
                rows.append(["", model["id"], f"{model['size']}; {model['engine']}; "
                             f"{model['installed']}" + (f"; {model['note']}"
                                                        if model.get("note") else ""), origin])
    elif args.what in ("generators", "interventions", "baselines"):
        registry: Registry[Any] = getattr(plugins, args.what)
        headers = [args.what[:-1], "description", "parameters (defaults)", "plugin"]
        rows = [[item, registry.get(item).description, _defaults(registry.get(item).factory),
                 registry.origin(item).distribution] for item in registry.ids()]
    elif args.what == "classifiers":
        headers = ["classifier", "description", "plugin"]
        rows = [[c, plugins.classifiers.get(c).description,
                 plugins.classifiers.origin(c).distribution] for c in plugins.classifiers.ids()]
    else:
        headers = ["plugin", "distribution", "version", "module", "status"]
        rows = [[p.name, p.distribution, p.version, p.module, p.error or "ok"]
                for p in sorted(plugins.loaded, key=lambda p: p.name)]
    from tabulate import tabulate

    print(tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True))
    return 0


def _defaults(factory: Any) -> str:
    """A component's parameters with their defaults, as ``k=v, ...``."""
    try:
        return ", ".join(f"{k}={v}" for k, v in sorted(factory().get_params().items()))
    except Exception as exc:  # a component with required parameters
        return f"(no defaults: {type(exc).__name__})"


def _with_audit(args: argparse.Namespace, plugins: Plugins, headers: list[str],
                rows: list[list[Any]]) -> tuple[list[str], list[list[Any]]]:
    """``rows`` (one a task, in ``plugins.tasks.ids()`` order) with train rows, test rows
    and test rows also in train (``synthbench.overlap``) from the offline data."""
    from synthbench.data import load_task_data, resolve_data_dir
    from synthbench.overlap import audit

    data_dir = resolve_data_dir(args.data_dir, args.environ)
    if data_dir is None:
        raise SynthbenchError("list tasks --audit reads the task data offline: pass --data-dir "
                              "DIR (or set $SYNTHBENCH_DATA_DIR)")
    audited = []
    for row, task_id in zip(rows, plugins.tasks.ids(), strict=True):
        found = audit(load_task_data(plugins.tasks.get(task_id), data_dir))
        share = found.duplicates / found.n_test if found.n_test else 0.0
        audited.append([*row, found.n_train, found.n_test,
                        f"{found.duplicates} ({share:.1%})"])
    return [*headers, "train rows", "test rows", "test rows also in train"], audited
