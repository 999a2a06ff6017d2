"""The ``synthbench`` command: run / list / leaderboard. Thin: parses, calls, prints.

Every user error is one line on stderr and a non-zero exit (2 for bad usage, 1 otherwise);
``SYNTHBENCH_DEBUG=1`` shows the traceback of an unexpected error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from tabulate import tabulate

from synthbench.plugins import Plugins, load_plugins
from synthbench.types import SynthbenchError

DEFAULT_CLASSIFIERS = "tfidf_lr,minilm_lr"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _warn(line: str) -> None:
    print(f"synthbench: warning: {line}", file=sys.stderr)


def _split(values: Sequence[str] | None) -> list[str]:
    """Repeated and comma-separated values, in order, without duplicates."""
    out: list[str] = []
    for value in values or []:
        for part in value.split(","):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return out


def _param(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise SynthbenchError(f"generator parameter {text!r} is not KEY=VALUE")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip(), value


def _seeds(values: Sequence[str] | None) -> list[int]:
    seeds = []
    for part in _split(values or ["0"]):
        try:
            seeds.append(int(part))
        except ValueError:
            raise SynthbenchError(f"--seed takes integers, got {part!r}") from None
    return seeds


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("-p", dest="plugin_args", action="append", default=[], metavar="NAME",
                        help="load plugin module NAME, or block a plugin with no:NAME")
    common.add_argument("--strict", action="store_true",
                        help="fail when any plugin fails to load")
    parser = _Parser(prog="synthbench", description=__doc__.splitlines()[0] if __doc__ else "")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", parents=[common], help="generate, train, test, measure, store")
    run.add_argument("--model", action="append", help="provider/model, e.g. local or hf/gpt2; "
                     "repeat or comma-separate for several (default: local)")
    run.add_argument("--task", action="append", required=True,
                     help="task id(s); repeat or comma-separate")
    run.add_argument("--generator", action="append",
                     help="generator id(s) (default: zero_shot)")
    run.add_argument("-G", dest="generator_params", action="append", default=[],
                     metavar="KEY=VALUE", help="generator parameter, e.g. -G k=5")
    run.add_argument("--temperature", type=float, help="sampling temperature of the generator")
    run.add_argument("--n", type=int, default=100, help="synthetic texts per cell (default 100)")
    run.add_argument("--seed", action="append",
                     help="seed(s); several give a mean and a 95%% interval (default 0)")
    run.add_argument("--classifier", action="append",
                     help=f"downstream classifier(s) (default {DEFAULT_CLASSIFIERS})")
    run.add_argument("--out", default="results", help="results directory (default results/)")
    run.add_argument("--data-dir", help="offline task data: DIR/<task>/{train,test}.jsonl "
                     "(default $SYNTHBENCH_DATA_DIR, else the Hugging Face hub)")
    run.add_argument("--oracle-size", type=int, default=4000,
                     help="real training examples for the label-accuracy oracle (default 4000)")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    lst = sub.add_parser("list", parents=[common], help="list tasks, models, generators, "
                         "classifiers or plugins")
    lst.add_argument("what", choices=["tasks", "models", "generators", "classifiers", "plugins"])

    board = sub.add_parser("leaderboard", parents=[common],
                           help="rebuild leaderboard/ from the results directory alone")
    board.add_argument("--results", default="results", help="results directory (default results/)")
    board.add_argument("--out", default="leaderboard", help="where to write (default leaderboard/)")
    return parser


def _plugins(args: argparse.Namespace) -> Plugins:
    modules = [p for p in args.plugin_args if not p.startswith("no:")]
    blocked = [p[3:] for p in args.plugin_args if p.startswith("no:")]
    return load_plugins(modules, blocked, strict=args.strict, warn=_warn)


def _run(args: argparse.Namespace) -> int:
    from synthbench.data import resolve_data_dir
    from synthbench.leaderboard import summary_table
    from synthbench.runner import CellOutcome, Runner, RunSettings, make_configs

    if args.n < 1:
        raise SynthbenchError(f"--n must be at least 1, got {args.n}")
    if args.oracle_size < 2:
        raise SynthbenchError(f"--oracle-size must be at least 2, got {args.oracle_size}")
    plugins = _plugins(args)
    params = dict(_param(p) for p in args.generator_params)
    if args.temperature is not None:
        params["temperature"] = args.temperature
    configs = make_configs(
        plugins, models=_split(args.model) or ["local"], tasks=_split(args.task),
        generators=_split(args.generator) or ["zero_shot"], params=params, n=args.n,
        seeds=_seeds(args.seed), classifiers=_split(args.classifier or [DEFAULT_CLASSIFIERS]),
        oracle_size=args.oracle_size,
    )
    settings = RunSettings(out=Path(args.out), data_dir=resolve_data_dir(args.data_dir),
                           progress=not args.no_progress)
    runner = Runner(plugins, settings, log=_warn)
    done = iter(range(1, len(configs) + 1))

    def report(outcome: CellOutcome) -> None:
        state = "stored, reused" if outcome.reused else "done"
        print(f"[{next(done)}/{len(configs)}] {outcome.folder.name}: {state}", file=sys.stderr)

    outcomes = runner.run(configs, on_cell=report)
    print(summary_table([o.record for o in outcomes]))
    print(f"\nresults in {settings.out}/; rebuild the leaderboard with: synthbench leaderboard "
          f"--results {settings.out}")
    return 0


def _list(args: argparse.Namespace) -> int:
    plugins = _plugins(args)
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
    elif args.what == "models":
        headers = ["provider", "model ids", "description", "plugin"]
        rows = [[p, f"{p}/<model>" if p != "local" else "local", plugins.providers.get(p)
                 .description, plugins.providers.origin(p).distribution]
                for p in plugins.providers.ids()]
    elif args.what == "generators":
        headers = ["generator", "description", "parameters (defaults)", "plugin"]
        rows = []
        for gen_id in plugins.generators.ids():
            spec = plugins.generators.get(gen_id)
            try:
                defaults = ", ".join(f"{k}={v}" for k, v in
                                     sorted(spec.factory().get_params().items()))
            except Exception as exc:
                defaults = f"(no defaults: {type(exc).__name__})"
            rows.append([gen_id, spec.description, defaults,
                         plugins.generators.origin(gen_id).distribution])
    elif args.what == "classifiers":
        headers = ["classifier", "description", "plugin"]
        rows = [[c, plugins.classifiers.get(c).description,
                 plugins.classifiers.origin(c).distribution] for c in plugins.classifiers.ids()]
    else:
        headers = ["plugin", "distribution", "version", "module", "status"]
        rows = [[p.name, p.distribution, p.version, p.module, p.error or "ok"]
                for p in sorted(plugins.loaded, key=lambda p: p.name)]
    print(tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True))
    return 0


def _leaderboard(args: argparse.Namespace) -> int:
    from synthbench.leaderboard import rebuild

    results = Path(args.results)
    if not results.is_dir():
        raise SynthbenchError(f"results directory {str(results)!r} does not exist")
    json_path, md_path, count = rebuild(results, Path(args.out))
    print(f"leaderboard rebuilt from {count} cell(s): {md_path}, {json_path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = build_parser().parse_args(argv)
    commands = {"run": _run, "list": _list, "leaderboard": _leaderboard}
    try:
        return commands[args.command](args)
    except SynthbenchError as exc:
        print(f"synthbench: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("synthbench: interrupted; finished cells are stored", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("SYNTHBENCH_DEBUG"):
            raise
        print(f"synthbench: internal error: {type(exc).__name__}: {exc} "
              "(set SYNTHBENCH_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
