"""Where synthbench keeps caches and finds offline task data."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$SYNTHBENCH_CACHE_DIR``, else ``$XDG_CACHE_HOME/synthbench``, else
    ``~/.cache/synthbench``."""
    explicit = os.environ.get("SYNTHBENCH_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "synthbench"
