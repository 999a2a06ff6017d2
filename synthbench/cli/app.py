"""``synthbench``'s entry point: parse the command line (with the grid file merged into
``run``), read the environment once, dispatch, and turn every user error into one line on
stderr and a non-zero exit: 2 for bad usage, 5 when ``run -k`` selects no cell, 1 otherwise.
``SYNTHBENCH_DEBUG=1`` shows the traceback of an unexpected error."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from synthbench.cli import commands
from synthbench.cli.common import UsageError
from synthbench.cli.parser import build_parser
from synthbench.errors import SynthbenchError
from synthbench.paths import cache_dir_from, use_cache_dir


def _run(args: argparse.Namespace) -> int:
    from synthbench.cli.run import run_command

    return run_command(args)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": _run, "list": commands.list_command, "leaderboard": commands.leaderboard_command,
    "extend": commands.extend_command, "validate": commands.validate_command,
    "recheck": commands.recheck_command,
    "export": commands.export_command, "subjectivity": commands.subjectivity_command,
    "models": commands.models_command}


def with_grid_file(args: argparse.Namespace, argv: Sequence[str] | None,
                   cwd: Path) -> argparse.Namespace:
    """``run``'s arguments with the grid file's values under the flags: the command line is
    parsed again with the file's options defaulting to None, and the file fills the
    rest, so a flag given there wins (and a repeatable one replaces, not extends, the file's
    list)."""
    from synthbench.cli.gridfile import find_grid_file

    found = find_grid_file(cwd)
    if found is None:
        return args
    merged = build_parser(dict.fromkeys(found.values)).parse_args(argv)
    for dest, value in found.values.items():
        if getattr(merged, dest) is None:  # no flag gives None: this one was not given
            setattr(merged, dest, value)
    merged.environ = args.environ
    print(f"synthbench: grid file: {found.where}", file=sys.stderr)
    return merged


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = build_parser().parse_args(argv)
    # The one place synthbench's settings are read from the environment: commands get them
    # as values (args.environ, the cache root), nothing below reads os.environ for them.
    args.environ = dict(os.environ)
    use_cache_dir(cache_dir_from(args.environ))
    try:
        if args.command == "run":
            args = with_grid_file(args, argv, Path.cwd())
        return COMMANDS[args.command](args)
    except BrokenPipeError:
        # The reader closed the pipe (``synthbench list tasks | head``): end quietly, and point
        # stdout at nothing so the interpreter's final flush raises nothing either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except SynthbenchError as exc:
        print(f"synthbench: error: {exc}", file=sys.stderr)
        from synthbench.cli.run import NOTHING_SELECTED, NothingSelected

        return 2 if isinstance(exc, UsageError) else \
            NOTHING_SELECTED if isinstance(exc, NothingSelected) else 1
    except KeyboardInterrupt:
        print("synthbench: interrupted; finished cells are stored", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("SYNTHBENCH_DEBUG"):
            raise
        print(f"synthbench: internal error: {type(exc).__name__}: {exc} "
              "(set SYNTHBENCH_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1
