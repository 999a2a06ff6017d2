"""``synthbench run``: the grid from the flags (and the grid file merged into them), the
``-k`` selection, the run itself, its summary, and the ``--junitxml`` report."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from synthbench import defaults
from synthbench.cli.common import UsageError, load_plugins, note, selection
from synthbench.errors import SynthbenchError
from synthbench.plugins import Plugins
from synthbench.record import CellConfig, CellRecord
from synthbench.run.grid import curation_grid, generator_grid, parse_param, seeds, split_values

if TYPE_CHECKING:
    from synthbench.cli.junit import CaseReport
    from synthbench.run import CellOutcome, Runner
    from synthbench.run.workspace import Located

NOTHING_SELECTED = 5  # like pytest's "no tests collected"


class NothingSelected(SynthbenchError):
    """``-k`` matched none of the planned cells."""


def _provider_option(text: str) -> tuple[str, str]:
    """``-P KEY=VALUE``: a provider option, its value a plain string."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise SynthbenchError(f"-P {text!r}: write a provider option as KEY=VALUE")
    return key.strip(), value.strip()


def _check(args: argparse.Namespace) -> list[int]:
    """The numeric options' bounds, before any plugin loads; returns ``--mix-real``'s Ks."""
    if not args.task:
        raise UsageError("run needs tasks: pass --task ID[,ID...] (synthbench list tasks), or "
                         "declare the grid in synthbench.toml or pyproject.toml's "
                         "[tool.synthbench]")
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
    return mix_real


def _plan(args: argparse.Namespace, plugins: Plugins) -> list[CellConfig]:
    """Every cell the flags describe, then the ``-k`` selection of them."""
    from synthbench.run import make_configs

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
    if args.keyword is None:
        return configs
    from synthbench.cli.keywords import select

    chosen = select(configs, args.keyword)
    if not chosen:
        raise NothingSelected(f"-k {args.keyword!r} selects none of the {len(configs)} "
                              "planned cell(s)")
    line = f"-k {args.keyword!r}: {len(chosen)} of {len(configs)} cell(s) selected"
    if args.dry_run:
        print(line)
    else:
        note(line)
    return chosen


class _Ledger:
    """What each planned cell came to, for ``--junitxml``: finished, failed, or not reached."""

    def __init__(self, configs: Sequence[CellConfig]) -> None:
        from synthbench.cli.keywords import cell_name

        self.configs = configs
        self.names = [cell_name(config) for config in configs]
        self.cases: dict[int, CaseReport] = {}

    def locate(self, runner: Runner) -> None:
        """Name the cells by their folders, as the progress lines and results/ do."""
        self.names = [runner.ws.locate(config).folder.name for config in self.configs]

    def _index(self, folder: Path) -> int | None:
        return self.names.index(folder.name) if folder.name in self.names else None

    def done(self, outcome: CellOutcome) -> None:
        from synthbench.cli.junit import passed

        if (index := self._index(outcome.folder)) is not None:
            self.cases[index] = passed(self.configs[index].task, self.names[index],
                                       outcome.record, outcome.reused)

    def failed(self, cell: Located, exc: Exception) -> None:
        from synthbench.cli.junit import failed

        if (index := self._index(cell.folder)) is not None:
            self.cases[index] = failed(cell.config.task, self.names[index], exc)

    def write(self, path: Path, stopped: BaseException | None) -> None:
        """Every planned cell as a testcase; when the run stopped, the cells it never reached
        are skipped, or errors when no cell was to blame."""
        from synthbench.cli.junit import CaseReport, write_junitxml

        blamed = any(case.failure is not None for case in self.cases.values())
        why = "" if stopped is None else str(stopped) or type(stopped).__name__
        cases = [self.cases.get(index) or (
            CaseReport(config.task, name, skipped="not run: the run stopped at an earlier "
                       "cell's failure")
            if blamed else CaseReport(config.task, name, error=f"the run stopped: {why}"))
            for index, (config, name) in enumerate(zip(self.configs, self.names, strict=True))]
        write_junitxml(path, cases)


def run_command(args: argparse.Namespace) -> int:
    mix_real = _check(args)
    from synthbench.calls import CacheSettings
    from synthbench.data import require_data_source, resolve_data_dir
    from synthbench.run import Runner, RunSettings

    plugins = load_plugins(args)
    configs = _plan(args, plugins)
    settings = RunSettings(out=Path(args.out),
                           data_dir=resolve_data_dir(args.data_dir, args.environ),
                           n_eq=args.n_eq or args.n_eq_max is not None,
                           n_eq_max=args.n_eq_max, mix_real=tuple(mix_real),
                           progress=not args.no_progress,
                           max_cost=args.max_cost, mode=args.mode or "online",
                           cache=CacheSettings.from_env(args.environ), environ=args.environ,
                           provider_options=dict(map(_provider_option,
                                                     args.provider_options)))
    ledger = _Ledger(configs)
    with Runner(plugins, settings, log=note) as runner:
        runner.validate(configs)  # a wrong id is named before the data source is checked
        require_data_source(settings.data_dir, args.environ)
        if args.dry_run:
            from synthbench.run.planning import estimate, estimate_table

            print(estimate_table(estimate(runner.ws, configs)))
            print("\ndry run: nothing was called; output tokens and dollars are upper bounds "
                  "(max_tokens per request) for generation, interventions that call the model "
                  "and baselines")
            return 0
        try:
            outcomes = _execute(args, runner, configs, ledger)
        except BaseException as exc:
            if args.junitxml and not isinstance(exc, SystemExit):
                ledger.write(Path(args.junitxml), exc)
            raise
    if args.junitxml:
        ledger.write(Path(args.junitxml), None)
    _summary(plugins, [o.record for o in outcomes], settings.out)
    return 0


def _execute(args: argparse.Namespace, runner: Runner, configs: Sequence[CellConfig],
             ledger: _Ledger) -> list[CellOutcome]:
    """Run the cells here or on Ray, one progress line per cell as it lands."""
    done = iter(range(1, len(configs) + 1))

    def report(outcome: CellOutcome) -> None:
        ledger.done(outcome)
        state = "stored, reused" if outcome.reused else "done"
        print(f"[{next(done)}/{len(configs)}] {outcome.folder.name}: {state}", file=sys.stderr)

    if args.junitxml:
        ledger.locate(runner)
    if args.executor == "ray":
        from synthbench.run.ray_executor import run_on_ray

        return run_on_ray(runner, configs, selection(args), args.ray_address, on_cell=report)
    return runner.run(configs, on_cell=report, on_error=ledger.failed)


def _summary(plugins: Plugins, records: Sequence[CellRecord], out: Path) -> None:
    from synthbench.leaderboard import BreakEvenKeys, break_even, break_even_table, summary_table

    print(summary_table(records))
    keys = BreakEvenKeys.of(plugins)
    for reference, step, _ in keys.pairs:
        rows = [r for r in break_even(records, keys)
                if r.get("reference", reference) == reference
                and r.get("intervention", step) == step]
        if rows:
            print(f"\nbreak-even of {step} against {reference} (inspection simulated by the "
                  "oracle):\n" + break_even_table(rows, reference))
    print(f"\nresults in {out}/; rebuild the leaderboard with: synthbench leaderboard "
          f"--results {out}")
