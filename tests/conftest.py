"""Test settings: everything offline, caches in a per-session temporary folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from synthbench.data import TaskData, load_task_data
from synthbench.paths import use_cache_dir
from synthbench.plugins import Plugins, load_plugins

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real task data given beside the checkout (read-only)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"real task data not found at {SHARED_DATA}; put ../shared beside the repo")
    return SHARED_DATA


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Caches (converted model, embeddings) in a fresh folder per session unless one is set,
    so the suite proves a fresh machine works; subprocesses inherit it."""
    if not os.environ.get("SYNTHBENCH_CACHE_DIR"):
        os.environ["SYNTHBENCH_CACHE_DIR"] = str(tmp_path_factory.mktemp("synthbench-cache"))
    root = Path(os.environ["SYNTHBENCH_CACHE_DIR"])
    use_cache_dir(root)  # in this process, as the CLI does at its edge
    return root


@pytest.fixture
def fresh_cache(tmp_path: Path, isolated_cache: Path) -> Iterator[Path]:
    """An empty cache root for one test (in this process; ``SYNTHBENCH_CACHE_DIR`` for the
    subprocesses it starts), the session's again afterwards."""
    root = tmp_path / "fresh-cache"
    os.environ["SYNTHBENCH_CACHE_DIR"] = str(root)
    use_cache_dir(root)
    yield root
    os.environ["SYNTHBENCH_CACHE_DIR"] = str(isolated_cache)
    use_cache_dir(isolated_cache)


@pytest.fixture(scope="session")
def plugins() -> Plugins:
    """Every installed plugin, loaded once."""
    return load_plugins()


@pytest.fixture(scope="session")
def sst2_data(plugins: Plugins, shared_data: Path) -> TaskData:
    """SST-2's real train and test splits from the shared data."""
    return load_task_data(plugins.tasks.get("sst2"), shared_data)
