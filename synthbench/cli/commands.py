"""The commands other than ``run``: list, leaderboard, extend, validate, recheck, export,
models, subjectivity. Each imports what it needs when called, so ``--help`` stays light."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthbench import defaults
from synthbench.cli.common import load_plugins, note
from synthbench.errors import SynthbenchError

if TYPE_CHECKING:
    pass


def list_command(args: argparse.Namespace) -> int:
    from synthbench.cli.listing import list_command as listing

    return listing(args, load_plugins(args))


def leaderboard_command(args: argparse.Namespace) -> int:
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
    keys = BreakEvenKeys.of(load_plugins(args))
    json_path, md_path, count = rebuild(results, out, data_dir, keys, force=args.force)
    print(f"leaderboard rebuilt from {count} cell(s): {md_path}, {json_path}, "
          f"{out / 'index.html'}", file=sys.stderr if base is not None else sys.stdout)
    if base is not None:
        from synthbench.leaderboard.text import diff_markdown
        from synthbench.store import read_json

        print(diff_markdown(base, read_json(json_path)))
    return 0


def validate_command(args: argparse.Namespace) -> int:
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


def recheck_command(args: argparse.Namespace) -> int:
    from synthbench.validate import recheck

    lines, compared = recheck(Path(args.fresh), Path(args.against), args.tolerance)
    for line in lines:
        print(f"synthbench: out of interval: {line}", file=sys.stderr)
    print(f"{compared - len(lines)} of {compared} fresh utilities within their recorded interval")
    return 1 if lines else 0


def export_command(args: argparse.Namespace) -> int:
    from synthbench.data import resolve_data_dir
    from synthbench.export import export_cells, push_to_hub
    from synthbench.run.grid import split_values

    data_dir = resolve_data_dir(args.data_dir, args.environ)
    out = Path(args.out)
    plugins = load_plugins(args)
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


def models_command(args: argparse.Namespace) -> int:
    """``models install MODEL``; a bare name that is no provider is a model of the default
    provider (``qwen2.5-0.5b`` = ``local/qwen2.5-0.5b``)."""
    from synthbench.models import provider_spec, split_model_id

    plugins = load_plugins(args)
    provider = split_model_id(args.model)[0]
    model_id = args.model if provider in plugins.providers else f"{defaults.MODEL}/{args.model}"
    spec, name = provider_spec(plugins, model_id)
    if spec.install is None:
        raise SynthbenchError(f"{model_id}: provider {spec.id!r} has no weights to install")
    print(spec.install(name, args.force_reinstall))
    return 0


def subjectivity_command(args: argparse.Namespace) -> int:
    from synthbench.subjectivity.command import run_command

    return run_command(args, load_plugins(args), note, args.environ)


def extend_command(args: argparse.Namespace) -> int:
    """Extend every stored cell under ``--results`` in place (no provider is called)."""
    from synthbench.data import require_data_source, resolve_data_dir
    from synthbench.run import RunSettings
    from synthbench.run.extending import Selection, extend_results
    from synthbench.run.grid import full_params, split_values

    if args.ceiling_cap is not None and args.ceiling_cap < 2:
        raise SynthbenchError(f"--ceiling-cap must be at least 2, got {args.ceiling_cap}")
    results = Path(args.results)
    if not (results / "cells").is_dir():
        raise SynthbenchError(f"{results} has no cells/ folder: nothing to extend")
    settings = RunSettings.from_environ(
        args.environ, out=results, progress=False, ceiling_cap=args.ceiling_cap,
        skip_ceilings=frozenset(split_values(args.skip_ceiling)),
        data_dir=require_data_source(resolve_data_dir(args.data_dir, args.environ),
                                     args.environ))
    plugins = load_plugins(args)
    select = Selection(split_values(args.task), split_values(args.model),
                       split_values(args.generator))
    for task in select.tasks:
        plugins.tasks.get(task)  # an unknown id is named before any work
    for generator in select.generators:
        plugins.generators.get(generator)
    pipeline = [(step, full_params(plugins, "intervention", step, {}))
                for step in split_values(args.intervention)]
    done = 0

    def report(outcome: Any) -> None:
        nonlocal done
        done += 1
        state = "already complete" if outcome.reused else "extended"
        print(f"[{done}] {outcome.folder.name}: {state}", file=sys.stderr)

    outcomes = extend_results(plugins, settings, select, on_cell=report, log=note,
                              pipeline=pipeline)
    changed = sum(1 for o in outcomes if not o.reused)
    print(f"{changed} of {len(outcomes)} cell(s) extended in {results}; rebuild the "
          f"leaderboard with: synthbench leaderboard --results {results}")
    return 0
