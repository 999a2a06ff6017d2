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
import uuid
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from synthbench.errors import SynthbenchError
from synthbench.record import SCHEMA_VERSION, CellConfig, CellRecord
from synthbench.types import Example

RESULT = "result.json"
GENERATION = "generation.json"
SYNTHETIC = "synthetic.jsonl"
CURATED = "curated.jsonl"
CURATION = "curation.json"
RESULT_KEYS = ("schema_version", "generation_key", "config", "subjectivity", "classifiers",
               "metrics", "generation", "cost")


def _digest(payload: Any) -> str:
    text = json.dumps({"schema": SCHEMA_VERSION, **payload}, sort_keys=True, allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def config_hash(config: CellConfig) -> str:
    """Hash of the whole cell config (generation and evaluation settings)."""
    return _digest(config.to_record())


def generation_key(config: CellConfig, task_record: Mapping[str, Any], data_fingerprint: str,
                   provider_identity: Mapping[str, Any] | None = None) -> str:
    """Hash of all that decides a cell's synthetic texts: model, task definition, real data,
    generator and its parameters, N, seed, and what the provider plugin declares decides its
    samples (an engine; left out when empty, so such cells keep their keys). Classifiers and
    speed settings are not in it, so adding a classifier later reuses the texts."""
    record = config.to_record()
    payload = {
        "model": record["model"], "generator": record["generator"],
        "generator_params": record["generator_params"], "n": record["n"],
        "seed": record["seed"], "task": task_record, "data": data_fingerprint,
    }
    if provider_identity:
        payload["provider_identity"] = dict(provider_identity)
    return _digest(payload)


def curation_key(config: CellConfig, generation: str) -> str:
    """Hash of what decides a cell's curated texts: its generated texts (their key), the
    interventions with their parameters in order, and the oracle they may use (its size, and
    its classifier where it is not the default, so earlier keys stay)."""
    record = config.to_record()
    payload = {"generation": generation, "interventions": record.get("interventions", []),
               "oracle_size": record["oracle_size"]}
    if config.oracle:
        payload["oracle"] = config.oracle
    return _digest(payload)


def baseline_file(out: Path, config: CellConfig, baseline: str, params: Mapping[str, Any],
                  task_record: Mapping[str, Any], data_fingerprint: str) -> tuple[Path, str]:
    """Where a baseline's result is kept, and its key: model, task, real data, baseline
    parameters and seed decide it, so all generators and curations of a task share it."""
    key = _digest({"model": config.model, "task": task_record, "data": data_fingerprint,
                   "baseline": baseline, "params": params, "seed": config.seed})
    name = f"{_slug(config.task)}__{_slug(config.model)}__{_slug(baseline)}__{key[:12]}.json"
    return out / "baselines" / name, key


def _slug(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", value.replace("/", "--")).strip("-") or "x"


def cell_dir(out: Path, config: CellConfig, key: str) -> Path:
    """The cell's folder; a curated variant gets its own folder next to the uncurated one,
    whose generated texts it reads (see ``curation_key``), and so does a cell judged by
    another oracle than the default or scored on the whole test split."""
    name = (f"{_slug(config.task)}__{_slug(config.model)}__{_slug(config.generator)}"
            f"__s{config.seed}__{key[:12]}")
    if config.interventions:
        steps = "+".join(step for step, _ in config.interventions)
        name += f"__{_slug(steps)}-{curation_key(config, key)[:8]}"
    if config.oracle:
        name += f"__oracle-{_slug(config.oracle)}"
    if config.keep_test_overlap:
        name += "__keep-test-overlap"
    return out / "cells" / name


LOCKS = ".locks"


@contextlib.contextmanager
def claim(out: Path, name: str, wait: bool = True) -> Iterator[bool]:
    """Hold the store-wide claim on ``name`` (a generation folder's name) while its cells run.

    Several processes, or Ray workers on a shared filesystem, may work on one results
    directory: the claim is an OS file lock under ``<out>/.locks/``, so whoever holds it is
    the only one generating those texts and writing those cells, and the lock of a killed
    process is released by the OS. ``wait=False`` yields ``False`` at once when another
    process holds it, so the caller can do other cells first.
    """
    folder = out / LOCKS
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(folder / f"{name}.lock", thread_local=False)
    try:
        lock.acquire(timeout=-1 if wait else 0)
    except Timeout:
        yield False
        return
    try:
        yield True
    finally:
        lock.release()


def check_writable(out: Path) -> None:
    """Fail now, with one line, if results cannot be written under ``out``."""
    try:
        (out / "cells").mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out / "cells", prefix=".probe-"):
            pass
    except OSError as exc:
        raise SynthbenchError(f"cannot write results under {str(out)!r}: "
                              f"{exc.strerror or type(exc).__name__}") from None


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through an fsynced temporary file and ``os.replace``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask applies
    except OSError as exc:
        raise SynthbenchError(f"cannot write {path}: {exc.strerror or type(exc).__name__}"
                              ) from None
    try:
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
    lines = (json.dumps({**dict(e.meta), "text": e.text, "label": e.label}, ensure_ascii=False)
             for e in examples)
    atomic_write_text(path, "".join(line + "\n" for line in lines))


def read_examples(path: Path) -> list[Example]:
    examples = []
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            text, label = row.pop("text"), row.pop("label")
            if not isinstance(text, str) or not isinstance(label, str):
                raise TypeError("text and label must be strings")
            examples.append(Example(text, label, row))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError,
            AttributeError) as exc:
        raise SynthbenchError(f"results file {path} is unreadable ({type(exc).__name__}); "
                              "delete it to recompute that cell") from None
    return examples


def load_result(folder: Path, key: str) -> CellRecord | None:
    """The stored result of the cell with this generation key, else None."""
    path = folder / RESULT
    if not path.exists():
        return None
    record = check_record(path, read_json(path))
    return record if record.generation_key == key else None


def check_record(path: Path, data: Any) -> CellRecord:
    """The cell record in ``data``, else a one-line error naming ``path``."""
    if not isinstance(data, dict) or any(k not in data for k in RESULT_KEYS):
        raise SynthbenchError(f"results file {path} is not a synthbench cell record; "
                              "delete it to recompute that cell")
    if data["schema_version"] != SCHEMA_VERSION:
        newer = isinstance(data["schema_version"], int) and data["schema_version"] > SCHEMA_VERSION
        raise SynthbenchError(
            f"results file {path} has schema {data['schema_version']}, this synthbench reads "
            f"{SCHEMA_VERSION}; " + ("upgrade synthbench to read it" if newer else "recompute it"))
    try:
        return CellRecord.from_json(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SynthbenchError(f"results file {path} is not a valid cell record "
                              f"({type(exc).__name__}: {exc}); delete it to recompute that "
                              "cell") from None


def iter_results(out: Path) -> Iterator[tuple[Path, CellRecord]]:
    """Every finished cell under ``out``, sorted by folder name."""
    cells = out / "cells"
    if not cells.is_dir():
        return
    for folder in sorted(p for p in cells.iterdir() if p.is_dir()):
        path = folder / RESULT
        if path.exists():
            yield path, check_record(path, read_json(path))
