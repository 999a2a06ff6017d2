"""The ``synthbench`` command line: ``parser`` declares it, ``app`` runs it, ``run`` and
``commands`` hold the commands, ``gridfile``, ``keywords`` and ``junit`` serve ``run``."""

from synthbench.cli.app import main
from synthbench.cli.parser import build_parser

__all__ = ["build_parser", "main"]
