"""Test settings: everything offline, caches in a per-session temporary folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
