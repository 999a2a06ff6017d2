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


def _note(line: str) -> None:
    print(f"synthbench: {line}", file=sys.stderr)


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


def _generator_grid(settings: Sequence[str]) -> list[dict[str, Any]]:
    """Generator parameters from ``-G KEY=VALUE``; a VALUE that is not JSON and has commas
    sweeps (``-G temperature=0.3,0.7,0.9,1.3``: one cell per value; several swept keys give
    every combination). A quoted JSON string keeps its commas: ``-G 'style="a, b"'``."""
    grid: list[dict[str, Any]] = [{}]
    for text in settings:
        key, value = _param(text)
        raw = text.partition("=")[2]
        values = [_param(f"{key}={part}")[1] for part in raw.split(",")] \
            if isinstance(value, str) and value == raw and "," in raw else [value]
        values = [v for i, v in enumerate(values) if v not in values[:i]]
        grid = [{**point, key: v} for point in grid for v in values]
    return grid


def _curations(pipelines: Sequence[str] | None, settings: Sequence[str]
               ) -> list[list[tuple[str, dict[str, Any]]]]:
    """Intervention pipelines from ``--intervention`` (each one comma-separated, in order;
    ``none`` is the uncurated cell) and ``-I STEP.KEY=VALUE`` settings. A VALUE with commas
    sweeps: one pipeline per value (several swept keys give every combination)."""
    steps_of = [[s.strip() for s in p.split(",") if s.strip()] for p in pipelines or []]
    steps_of = [[] if s == ["none"] else s for s in steps_of] or [[]]
    used = {step for steps in steps_of for step in steps}
    sweeps: list[tuple[str, str, list[Any]]] = []
    for text in settings:
        target, value = _param(text)
        step, dot, key = target.partition(".")
        if not dot or not key:
            raise SynthbenchError(f"intervention parameter {text!r} is not STEP.KEY=VALUE")
        if step not in used:
            raise SynthbenchError(f"-I {text}: intervention {step!r} is not in --intervention")
        raw = text.partition("=")[2]
        values = [_param(f"x={part}")[1] for part in raw.split(",")] \
            if isinstance(value, str) and value == raw and "," in raw else [value]
        sweeps.append((step, key, values))
    combos: list[dict[tuple[str, str], Any]] = [{}]
    for step, key, values in sweeps:
        combos = [{**c, (step, key): v} for c in combos for v in values]
    out: list[list[tuple[str, dict[str, Any]]]] = []
    for steps in steps_of:
        for combo in combos:
            pipeline = [(step, {k: v for (s, k), v in combo.items() if s == step})
                        for step in steps]
            if pipeline not in out:
                out.append(pipeline)
    return out


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
                     metavar="KEY=VALUE", help="generator parameter, e.g. -G k=5; VALUE "
                     "a,b,c sweeps (one cell per value), e.g. -G temperature=0.3,0.7,0.9,1.3")
    run.add_argument("--temperature", type=float, help="sampling temperature of the generator")
    run.add_argument("--n", type=int, default=100, help="synthetic texts per cell (default 100)")
    run.add_argument("--seed", action="append",
                     help="seed(s); several give a mean and a 95%% interval (default 0)")
    run.add_argument("--classifier", action="append",
                     help=f"downstream classifier(s) (default {DEFAULT_CLASSIFIERS})")
    run.add_argument("--out", default="results", help="results directory (default results/)")
    run.add_argument("--data-dir", help="offline task data: DIR/<task>/{train,test}.jsonl "
                     "(default $SYNTHBENCH_DATA_DIR, else the Hugging Face hub)")
    run.add_argument("--intervention", action="append", metavar="STEP[,STEP...]",
                     help="curate the generated texts with these interventions, in order, e.g. "
                     "dedup,label_replacement; repeat for several variants (none = uncurated)")
    run.add_argument("-I", dest="intervention_params", action="append", default=[],
                     metavar="STEP.KEY=VALUE", help="intervention parameter, e.g. -I "
                     "label_replacement.k=90; VALUE a,b,c sweeps (one cell per value)")
    run.add_argument("--baseline", action="append", metavar="ID",
                     help="also run a baseline on the real test split: llm_few_shot")
    run.add_argument("-B", dest="baseline_params", action="append", default=[],
                     metavar="KEY=VALUE", help="baseline parameter, e.g. -B k=8 -B n_test=100")
    run.add_argument("--oracle-size", type=int, default=4000,
                     help="real training examples for the label-accuracy oracle (default 4000)")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    run.add_argument("--dry-run", action="store_true",
                     help="print the requests, tokens and money each cell would cost; call "
                     "nothing")
    run.add_argument("--mode", choices=["online", "batch"],
                     help="API requests online (default) or through the providers' batch "
                     "APIs (half the price; hours); a re-run collects a submitted batch")
    run.add_argument("--max-cost", type=float, metavar="USD",
                     help="stop before API calls would cross this many dollars in this run "
                     "(finished cells and answers are kept)")

    lst = sub.add_parser("list", parents=[common], help="list tasks, models, generators, "
                         "classifiers or plugins")
    lst.add_argument("what", choices=["tasks", "models", "generators", "classifiers",
                                      "interventions", "plugins"])
    lst.add_argument("--results", default="results", help="for tasks: show measured "
                     "subjectivity from DIR/subjectivity/ when a record exists (default results/)")

    subj = sub.add_parser("subjectivity", parents=[common],
                          help="measure task subjectivity with an LLM judge (Li's pairwise "
                          "protocol, Bradley-Terry)")
    from synthbench.subjectivity.command import add_arguments

    add_arguments(subj)

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
    from synthbench.leaderboard import break_even, break_even_table, summary_table
    from synthbench.runner import CellOutcome, Runner, RunSettings, make_configs

    if args.n < 1:
        raise SynthbenchError(f"--n must be at least 1, got {args.n}")
    if args.oracle_size < 2:
        raise SynthbenchError(f"--oracle-size must be at least 2, got {args.oracle_size}")
    if args.baseline_params and not args.baseline:
        raise SynthbenchError("-B sets a baseline parameter, but no --baseline is given")
    plugins = _plugins(args)
    grid = _generator_grid(args.generator_params)
    if args.temperature is not None:
        grid = [{**params, "temperature": args.temperature} for params in grid]
    configs = [config for params in grid for config in make_configs(
        plugins, models=_split(args.model) or ["local"], tasks=_split(args.task),
        generators=_split(args.generator) or ["zero_shot"], params=params, n=args.n,
        seeds=_seeds(args.seed), classifiers=_split(args.classifier or [DEFAULT_CLASSIFIERS]),
        oracle_size=args.oracle_size,
        curations=_curations(args.intervention, args.intervention_params),
        baselines=[(b, dict(_param(p) for p in args.baseline_params))
                   for b in _split(args.baseline)],
    )]
    if args.mode:
        os.environ["SYNTHBENCH_REQUEST_MODE"] = args.mode  # read by the request layer
    if args.max_cost is not None and not args.max_cost > 0:
        raise SynthbenchError(f"--max-cost must be a positive number of dollars, "
                              f"got {args.max_cost}")
    settings = RunSettings(out=Path(args.out), data_dir=resolve_data_dir(args.data_dir),
                           progress=not args.no_progress, max_cost=args.max_cost)
    runner = Runner(plugins, settings, log=_note)
    if args.dry_run:
        from synthbench.dryrun import estimate, estimate_table

        print(estimate_table(estimate(runner, configs)))
        print("\ndry run: nothing was called; output tokens and dollars are upper bounds "
              "(max_tokens per request) for generation only")
        return 0
    done = iter(range(1, len(configs) + 1))

    def report(outcome: CellOutcome) -> None:
        state = "stored, reused" if outcome.reused else "done"
        print(f"[{next(done)}/{len(configs)}] {outcome.folder.name}: {state}", file=sys.stderr)

    outcomes = runner.run(configs, on_cell=report)
    print(summary_table([o.record for o in outcomes]))
    even = break_even([o.record for o in outcomes])
    if even:
        print("\nbreak-even of label_replacement against llm_few_shot (inspection simulated "
              "by the oracle):\n" + break_even_table(even))
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
        from synthbench.subjectivity.command import with_measured

        headers, rows = with_measured(headers, rows, Path(args.results))
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
    elif args.what == "interventions":
        headers = ["intervention", "description", "parameters (defaults)", "plugin"]
        rows = []
        for step in plugins.interventions.ids():
            ispec = plugins.interventions.get(step)
            defaults = ", ".join(f"{k}={v}" for k, v in
                                 sorted(ispec.factory().get_params().items()))
            rows.append([step, ispec.description, defaults,
                         plugins.interventions.origin(step).distribution])
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


def _subjectivity(args: argparse.Namespace) -> int:
    from synthbench.subjectivity.command import run_command

    return run_command(args, _plugins(args), _note)


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = build_parser().parse_args(argv)
    commands = {"run": _run, "list": _list, "leaderboard": _leaderboard,
                "subjectivity": _subjectivity}
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
