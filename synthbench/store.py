"""Results on disk: one folder per cell, every file written atomically.

``<out>/cells/<task>__<model>__<generator>__s<seed>__<hash>/`` holds ``synthetic.jsonl`` and
``generation.json`` (written as soon as the texts exist, so a crash later in the cell does
not cost the generation) and ``result.json`` (written last: its presence means the cell is
complete). A temporary file is fsynced and then renamed over the target, so a reader sees
either the old file or the whole new one, never a torn write.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from synthbench.types import SCHEMA_VERSION, CellConfig, Example, SynthbenchError

RESULT = "result.json"
GENERATION = "generation.json"
SYNTHETIC = "synthetic.jsonl"
_UMASK = os.umask(0)
os.umask(_UMASK)


def config_hash(config: CellConfig) -> str:
    """Hash of everything that decides a cell's result, and the schema version."""
    payload = json.dumps({"schema": SCHEMA_VERSION, **config.to_record()}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def _slug(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", value.replace("/", "--")).strip("-") or "x"


def cell_dir(out: Path, config: CellConfig) -> Path:
    name = (f"{_slug(config.task)}__{_slug(config.model)}__{_slug(config.generator)}"
            f"__s{config.seed}__{config_hash(config)[:12]}")
    return out / "cells" / name


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through an fsynced temporary file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def read_json(path: Path) -> Any:
    """Parsed JSON, or a one-line ``SynthbenchError`` naming the file when it is unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SynthbenchError(
            f"results file {path} is unreadable ({type(exc).__name__}: {exc}); "
            "delete it to recompute that cell"
        ) from None


def write_examples(path: Path, examples: Iterable[Example]) -> None:
    lines = (json.dumps({"text": e.text, "label": e.label, **dict(e.meta)}, ensure_ascii=False)
             for e in examples)
    atomic_write_text(path, "".join(line + "\n" for line in lines))


def read_examples(path: Path) -> list[Example]:
    examples = []
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            text, label = row.pop("text"), row.pop("label")
            examples.append(Example(text, label, row))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError) as exc:
        raise SynthbenchError(f"results file {path} is unreadable ({type(exc).__name__}); "
                              "delete it to recompute that cell") from None
    return examples


def load_complete(folder: Path, expected_hash: str) -> dict[str, Any] | None:
    """The stored result of a finished cell with this config hash, else None."""
    path = folder / RESULT
    if not path.exists():
        return None
    record = read_json(path)
    if not isinstance(record, dict) or record.get("config_hash") != expected_hash:
        return None
    return record


def iter_results(out: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every finished cell under ``out``, sorted by folder name."""
    cells = out / "cells"
    if not cells.is_dir():
        return
    for folder in sorted(p for p in cells.iterdir() if p.is_dir()):
        path = folder / RESULT
        if path.exists():
            record = read_json(path)
            if not isinstance(record, dict) or "config" not in record:
                raise SynthbenchError(f"results file {path} is not a synthbench cell record")
            yield path, record
