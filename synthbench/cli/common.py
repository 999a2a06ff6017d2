"""What every command shares: stderr lines, the plugin selection, and the usage error."""

from __future__ import annotations

import argparse
import sys

from synthbench.errors import SynthbenchError
from synthbench.plugins import Plugins, PluginSelection


class UsageError(SynthbenchError):
    """Bad usage that argparse cannot see (a grid file, ``-k``): one line, exit 2."""


def warn(line: str) -> None:
    print(f"synthbench: warning: {line}", file=sys.stderr)


def note(line: str) -> None:
    print(f"synthbench: {line}", file=sys.stderr)


def selection(args: argparse.Namespace) -> PluginSelection:
    return PluginSelection.of(
        [*args.pre_plugin_args, *args.plugin_args], strict=args.strict or args.pre_strict,
        local_plugins=not (args.no_local_plugins or args.pre_no_local_plugins))


def load_plugins(args: argparse.Namespace) -> Plugins:
    return selection(args).load(warn=warn)
