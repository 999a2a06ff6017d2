"""Where synthbench keeps reusable files (converted models, embeddings, the request cache).

The root is the one process-wide setting: it says where files that only save time live, never
what a result is, and no cache key depends on it. The edge (the CLI, the pytest plugin, a Ray
worker) reads it once with ``cache_dir_from`` and installs it with ``use_cache_dir``; code
below only asks ``cache_dir()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

CACHE_ENV = "SYNTHBENCH_CACHE_DIR"
_root: Path | None = None


def cache_dir_from(environ: Mapping[str, str]) -> Path:
    """``SYNTHBENCH_CACHE_DIR``, else ``$XDG_CACHE_HOME/synthbench``, else
    ``~/.cache/synthbench``, as ``environ`` says."""
    explicit = environ.get(CACHE_ENV, "").strip()
    if explicit:
        return Path(explicit).expanduser()
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "synthbench"


def use_cache_dir(root: Path) -> None:
    """Make ``root`` this process's cache root (the edge calls this once)."""
    global _root
    _root = root


def cache_dir() -> Path:
    """This process's cache root: what the edge installed, else ``~/.cache/synthbench``."""
    return _root if _root is not None else cache_dir_from({})
