"""What one submitted results folder must hold, entry by entry and record by record, for
``synthbench validate``: only regular files and plain folders where a results folder has them,
cell records of this schema with provenance, plain plugin ids, hashes and folder names that
follow from the config, and the stored texts the record scored. Each problem is one line.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from synthbench.plugins import Plugins
from synthbench.record import SCHEMA_VERSION, CellConfig, CellRecord
from synthbench.sanity import (
    Refused,
    parse_json,
    plain_folder_name,
    plain_id,
    range_problems,
    read_bytes,
    read_json_file,
)
from synthbench.store import (
    CURATED,
    CURATION,
    GENERATION,
    LOCKS,
    RESULT,
    RESULT_KEYS,
    SYNTHETIC,
    cell_dir,
    config_hash,
)
from synthbench.types import Example

CELL_FILES = frozenset({RESULT, GENERATION, SYNTHETIC, CURATED, CURATION})
FOLDERS = ("cells", "baselines", "curves", "ceilings", "subjectivity", LOCKS)


def tree_problems(results: Path) -> list[str]:
    """Every entry under ``results``: no symlink, nothing but regular files and folders, each
    where a results folder has it (``.locks/`` holds the store's own ``*.lock`` claim files,
    which every run leaves behind)."""
    problems = []
    for top, dirs, files in os.walk(results):
        here = Path(top)
        rel = here.relative_to(results)
        depth = len(rel.parts)
        for name in sorted([*dirs, *files]):
            path = here / name
            label = str(rel / name)
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                problems.append(f"{label}: is a symlink (a submission holds regular files only)")
            elif stat.S_ISDIR(info.st_mode):
                if (depth == 0 and name not in FOLDERS) or (depth == 1 and rel.parts[0] != "cells"
                                                            ) or depth >= 2:
                    problems.append(f"{label}: unexpected folder in a results folder")
            elif not stat.S_ISREG(info.st_mode):
                problems.append(f"{label}: is not a regular file")
            elif depth == 0 or (depth == 1 and rel.parts[0] == "cells") or (
                    depth == 1 and not name.endswith(".lock" if rel.parts[0] == LOCKS
                                                     else ".json")) or (
                    depth == 2 and name not in CELL_FILES):
                problems.append(f"{label}: unexpected file in a results folder")
        dirs[:] = [d for d in dirs if not (here / d).is_symlink()]
    return problems


def stored_examples(path: Path) -> list[Example]:
    """The labelled texts of a stored JSON-lines file, or ``Refused``."""
    text = read_bytes(path)
    examples = []
    for number, line in enumerate(text.split(b"\n"), 1):
        if not line.strip():
            continue
        row = parse_json(line, f"{path.name} line {number}")
        if not isinstance(row, dict) or not isinstance(row.get("text"), str) \
                or not isinstance(row.get("label"), str):
            raise Refused(f"{path.name} line {number} has no text and label strings")
        examples.append(Example(row["text"], row["label"]))
    return examples


def id_problems(record: Mapping[str, Any], plugins: Plugins) -> tuple[list[str], list[str]]:
    """Problems of the plugin ids a record names, and the ids no installed plugin registers
    that are plain (a third-party plugin this synthbench does not have: unverified)."""
    config = record["config"]
    model = config.get("model")
    named: list[tuple[str, Any, Any]] = [
        ("config.task", config.get("task"), plugins.tasks),
        ("config.generator", config.get("generator"), plugins.generators),
        ("config.model", model, None)]
    named += [(f"config.classifiers[{i}]", c, plugins.classifiers)
              for i, c in enumerate(config.get("classifiers") or [])]
    named += [(f"classifiers.{c}", c, plugins.classifiers)
              for c in record.get("classifiers") or {}]
    for kind, registry in (("interventions", plugins.interventions),
                           ("baselines", plugins.baselines)):
        named += [(f"config.{kind}[{i}]", step[0] if isinstance(step, list) and step else step,
                   registry) for i, step in enumerate(config.get(kind) or [])]
    problems, unverified = [], []
    for field_name, value, registry in named:
        if not plain_id(value):
            problems.append(f"{field_name} {_show(value)} is not a plain id "
                            "([A-Za-z0-9_.:/-], at most 200)")
            continue
        if registry is None:
            provider = str(value).split("/", 1)[0]
            known = provider in plugins.providers.ids()
        else:
            known = value in registry.ids()
        if not known:
            unverified.append(str(value))
    if set(config.get("classifiers") or []) != set(record.get("classifiers") or {}):
        problems.append("classifiers are not those config.classifiers names")
    return problems, unverified


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 40 else text[:37] + "..."


def record_problems(name: str, folder: Path, record: Any) -> tuple[list[str], CellConfig | None]:
    """Schema, provenance, hashes and folder name of one record."""
    if not isinstance(record, dict):
        return ["result.json is not a synthbench cell record"], None
    version = record.get("schema_version")
    if type(version) is not int:
        return [f"schema_version {_show(version)} is not an integer"], None
    if version > SCHEMA_VERSION:
        return [f"record has schema {version}, newer than the {SCHEMA_VERSION} this synthbench "
                "reads: update synthbench, or recompute the cell with this version"], None
    if version < SCHEMA_VERSION:
        return [f"record has old schema {version}; this synthbench reads {SCHEMA_VERSION}: "
                "recompute the cell"], None
    missing = [k for k in (*RESULT_KEYS, "config_hash", "cell", "provenance") if k not in record]
    if missing:
        return [f"record lacks {', '.join(missing)}"], None
    problems = range_problems(record)
    accuracy = ((record.get("metrics") or {}).get("label_accuracy") or {}).get("value") \
        if isinstance(record.get("metrics"), dict) else None
    if accuracy is not None and not (isinstance(accuracy, (int, float)) and 0 <= accuracy <= 1):
        problems.append(f"metrics.label_accuracy.value {_show(accuracy)} is outside [0, 1]")
    if not isinstance(record.get("config"), dict) or not isinstance(record.get("classifiers"),
                                                                      dict):
        return [*problems, "config and classifiers are not JSON objects"], None
    task = record.get("task")
    if isinstance(task, dict) and task.get("local_dir") not in (None, "") \
            and not plain_folder_name(task.get("local_dir")):
        problems.append(f"task.local_dir {_show(task.get('local_dir'))} is not one plain folder "
                        "name (a path outside the data folder)")
    if problems:
        return problems, None
    try:
        config = CellConfig.from_record(record["config"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return [f"config is not a synthbench cell config ({type(exc).__name__}: {exc})"], None
    if not isinstance(config.seed, int) or isinstance(config.seed, bool):
        problems.append(f"seed {config.seed!r} is not an integer")
    packages = record["provenance"].get("packages") if isinstance(record["provenance"], dict) \
        else None
    if not isinstance(packages, dict) or "synthbench" not in packages:
        problems.append("provenance lacks package versions (synthbench's among them)")
    served = record["generation"].get("served_models") if isinstance(record["generation"], dict) \
        else None
    if not served or not all(isinstance(m, str) and m for m in served):
        problems.append("provenance lacks the served model (generation.served_models)")
    try:
        expected_hash = config_hash(config)
    except (TypeError, ValueError) as exc:
        return [*problems, f"config cannot be hashed ({exc})"], None
    if record["config_hash"] != expected_hash:
        problems.append(f"config_hash {str(record['config_hash'])[:12]}… does not match its "
                        f"stored config ({expected_hash[:12]}…)")
    if record["cell"] != name:
        problems.append(f"record names cell {str(record['cell'])[:200]!r}, not its folder")
    expected = cell_dir(folder.parent.parent, config, str(record["generation_key"])).name
    if expected != name:
        problems.append(f"folder name does not follow from its config and generation key "
                        f"(expected {expected})")
    if not problems:
        try:
            CellRecord.from_json(record)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            problems.append(f"result.json is not a valid cell record ({type(exc).__name__}: "
                            f"{exc})")
    return problems, config


def stored_texts(folder: Path, record: Mapping[str, Any], config: CellConfig
                 ) -> tuple[list[str], list[Example] | None, str]:
    """The texts the cell was scored on are stored, readable and as many as it scored."""
    needed = (CURATED, CURATION) if config.interventions else (SYNTHETIC, GENERATION)
    absent = [f for f in needed if not os.path.lexists(folder / f)]
    if absent:
        return [f"texts missing: {', '.join(absent)} not stored"], None, needed[0]
    try:
        examples = stored_examples(folder / needed[0])
        read_json_file(folder / needed[1])
    except Refused as exc:
        return [str(exc)], None, needed[0]
    if len(examples) != record.get("n_synthetic"):
        return [f"{needed[0]} holds {len(examples)} texts, the record scored "
                f"{record.get('n_synthetic')}"], None, needed[0]
    return [], examples, needed[0]
