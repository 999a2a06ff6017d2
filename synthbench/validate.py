"""Checks on a submitted results folder (``synthbench validate``) and on a fresh run against
recorded results (``synthbench recheck``), as a leaderboard pull request and the scheduled job
need them.

``validate`` names each problem in one line, ``cell <folder>: <problem>``: a record that is not
a cell record or is of another schema, missing provenance (package versions, served model,
seed, a config hash that matches the stored config), a folder name that its config and keys
do not give, missing texts, duplicate cells, metrics that its stored texts do not give (the
lexical ones for every cell, Remote-Clique with the embedder for a sample), and, against a
base results folder, any deleted or changed file of an existing cell or baseline.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthbench import metrics
from synthbench.errors import SynthbenchError
from synthbench.leaderboard import build
from synthbench.metrics import mean_ci
from synthbench.record import SCHEMA_VERSION, CellConfig, CellRecord
from synthbench.store import (
    CURATED,
    CURATION,
    GENERATION,
    RESULT,
    RESULT_KEYS,
    SYNTHETIC,
    cell_dir,
    config_hash,
)

LEXICAL = {"distinct_1": lambda t: metrics.distinct_n(t, 1),
           "distinct_2": lambda t: metrics.distinct_n(t, 2),
           "distinct_3": lambda t: metrics.distinct_n(t, 3),
           "compression_ratio": metrics.compression_ratio}
LEXICAL_TOLERANCE = 1e-9
EMBEDDING_TOLERANCE = 1e-3  # float32 embeddings on another CPU or library build


@dataclass
class Report:
    """What ``validate`` found: problem lines, and what it checked."""

    problems: list[str]
    cells: int
    new_cells: int
    recomputed: list[str]


def _load(path: Path) -> tuple[Any, str | None]:
    try:
        return json.loads(path.read_text(encoding="utf-8")), None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"{path.name} is unreadable ({type(exc).__name__})"


def _texts(path: Path) -> tuple[list[str], str | None]:
    texts = []
    try:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            row = json.loads(line)
            if not isinstance(row, dict) or not isinstance(row.get("text"), str) \
                    or not isinstance(row.get("label"), str):
                return [], f"{path.name} line {number} has no text and label strings"
            texts.append(row["text"])
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return [], f"{path.name} is unreadable ({type(exc).__name__})"
    return texts, None


def _check_record(name: str, folder: Path, record: Any) -> tuple[list[str], CellConfig | None]:
    """Schema, provenance, hashes and folder name of one record."""
    if not isinstance(record, dict):
        return ["result.json is not a synthbench cell record"], None
    version = record.get("schema_version")
    if not isinstance(version, int):
        return ["result.json has no integer schema_version"], None
    if version > SCHEMA_VERSION:
        return [f"record has schema {version}, newer than the {SCHEMA_VERSION} this synthbench "
                "reads: update synthbench, or recompute the cell with this version"], None
    if version < SCHEMA_VERSION:
        return [f"record has old schema {version}; this synthbench reads {SCHEMA_VERSION}: "
                "recompute the cell"], None
    missing = [k for k in (*RESULT_KEYS, "config_hash", "cell", "provenance") if k not in record]
    if missing:
        return [f"record lacks {', '.join(missing)}"], None
    problems = []
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
    expected_hash = config_hash(config)
    if record["config_hash"] != expected_hash:
        problems.append(f"config_hash {str(record['config_hash'])[:12]}… does not match its "
                        f"stored config ({expected_hash[:12]}…)")
    if record["cell"] != name:
        problems.append(f"record names cell {record['cell']!r}, not its folder")
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


def _check_texts(folder: Path, record: Mapping[str, Any], config: CellConfig
                 ) -> tuple[list[str], list[str] | None]:
    """The texts the cell was scored on are stored and their lexical metrics match."""
    needed = (CURATED, CURATION) if config.interventions else (SYNTHETIC, GENERATION)
    absent = [f for f in needed if not (folder / f).exists()]
    if absent:
        return [f"texts missing: {', '.join(absent)} not stored"], None
    texts, error = _texts(folder / needed[0])
    if error:
        return [error], None
    if len(texts) != record.get("n_synthetic"):
        return [f"{needed[0]} holds {len(texts)} texts, the record scored "
                f"{record.get('n_synthetic')}"], None
    stored = record["metrics"].get("diversity", {}).get("synthetic", {})
    problems = []
    for key, fn in LEXICAL.items():
        if stored.get(key) is None:
            continue
        value = float(fn(texts))
        if not math.isclose(value, float(stored[key]), abs_tol=LEXICAL_TOLERANCE):
            problems.append(f"metric {key} {stored[key]:.6f} does not match its texts "
                            f"({value:.6f} recomputed from {needed[0]})")
    return problems, texts


def _compare_tree(base: Path, new: Path, label: str) -> list[str]:
    """Every file of ``base`` is in ``new`` with the same bytes."""
    if not new.is_dir():
        return [f"{label}: deleted (it is in the base results)"]
    problems = []
    for path in sorted(p for p in base.rglob("*") if p.is_file()):
        rel = path.relative_to(base)
        other = new / rel
        if not other.is_file():
            problems.append(f"{label}: {rel} deleted (an existing cell may not change)")
        elif other.read_bytes() != path.read_bytes():
            problems.append(f"{label}: {rel} changed (an existing cell may not change)")
    for path in sorted(p for p in new.rglob("*") if p.is_file()):
        if not (base / path.relative_to(new)).exists():
            problems.append(f"{label}: {path.relative_to(new)} added to an existing cell")
    return problems


def _against_base(results: Path, base: Path) -> list[str]:
    problems = []
    for folder in sorted(p for p in (base / "cells").glob("*") if p.is_dir()):
        problems += _compare_tree(folder, results / "cells" / folder.name,
                                  f"cell {folder.name}")
    for path in sorted((base / "baselines").glob("*.json")):
        other = results / "baselines" / path.name
        if not other.is_file():
            problems.append(f"baseline {path.name}: deleted (it is in the base results)")
        elif other.read_bytes() != path.read_bytes():
            problems.append(f"baseline {path.name}: changed (an existing result may not change)")
    return problems


def _sample(names: Iterable[str], size: int) -> list[str]:
    """A fixed sample: the names whose sha256 sorts first."""
    return sorted(names, key=lambda n: hashlib.sha256(n.encode()).hexdigest())[:max(size, 0)]


def validate(results: Path, base: Path | None = None, sample: int = 3) -> Report:
    """Check the results folder ``results`` (see the module docstring); ``sample`` cells get
    Remote-Clique recomputed with the default embedder."""
    if not (results / "cells").is_dir():
        raise SynthbenchError(f"{results} has no cells/ folder: not a synthbench results folder")
    if base is not None and not base.is_dir():
        raise SynthbenchError(f"base results folder {str(base)!r} does not exist")
    problems: list[str] = []
    good: dict[str, tuple[Mapping[str, Any], list[str]]] = {}
    hashes: dict[str, list[str]] = defaultdict(list)
    folders = sorted(p for p in (results / "cells").iterdir() if p.is_dir())
    for folder in folders:
        name = folder.name
        if not (folder / RESULT).exists():
            problems.append(f"cell {name}: result.json missing (an unfinished cell)")
            continue
        record, error = _load(folder / RESULT)
        found, config = ([error], None) if error else _check_record(name, folder, record)
        if config is not None:
            hashes[str(record["config_hash"])].append(name)
        if config is not None and not found:
            more, texts = _check_texts(folder, record, config)
            found += more
            if texts is not None and not more:
                good[name] = (record, texts)
        problems += [f"cell {name}: {p}" for p in found]
    for names in hashes.values():
        problems += [f"cell {n}: duplicate of cell {names[0]} (same config hash)"
                     for n in names[1:]]
    for path in sorted((results / "baselines").glob("*.json")):
        value, error = _load(path)
        if error or not isinstance(value, dict):
            problems.append(f"baseline {path.name}: {error or 'not a JSON object'}")
    try:
        build([CellRecord.from_json(record) for record, _ in good.values()])
    except SynthbenchError as exc:
        problems.append(str(exc))
    recomputed = _sample(good, sample)
    if recomputed:
        from synthbench.embeddings import default_embedder

        embedder = default_embedder()
        for name in recomputed:
            record, texts = good[name]
            stored = record["metrics"].get("diversity", {}).get("synthetic", {})
            if stored.get("remote_clique") is None:
                continue
            value = float(metrics.remote_clique(embedder.encode(texts)))
            if not math.isclose(value, float(stored["remote_clique"]),
                                abs_tol=EMBEDDING_TOLERANCE):
                problems.append(f"cell {name}: metric remote_clique "
                                f"{stored['remote_clique']:.6f} does not match its texts "
                                f"({value:.6f} recomputed)")
    new_cells = len(folders)
    if base is not None:
        problems += _against_base(results, base)
        new_cells = sum(1 for f in folders if not (base / "cells" / f.name).exists())
    return Report(problems, len(folders), new_cells, recomputed)


def _utilities(results: Path) -> dict[tuple[str, ...], list[float]]:
    """Utility per (model, task, generator with params and interventions, N, classifier)."""
    from synthbench.store import iter_results

    out: dict[tuple[str, ...], list[float]] = defaultdict(list)
    for _, cell in iter_results(results):
        record = cell.to_json()
        config = record["config"]
        what = json.dumps([config["generator"], config["generator_params"],
                           config.get("interventions") or []], sort_keys=True)
        for classifier, scores in record["classifiers"].items():
            if scores.get("utility") is not None:
                key = (config["model"], config["task"], what, str(config["n"]), classifier)
                out[key].append(float(scores["utility"]))
    return out


def recheck(fresh: Path, recorded: Path, tolerance: float) -> tuple[list[str], int]:
    """Lines for each fresh (model, task, generator, N, classifier) whose mean utility leaves
    the recorded one's interval (mean over seeds with its 95 % interval, widened by
    ``tolerance``; a single recorded seed gives value ± tolerance), and how many were
    compared. Fails when nothing in ``fresh`` was recorded."""
    if tolerance < 0:
        raise SynthbenchError(f"--tolerance must not be negative, got {tolerance}")
    now, then = _utilities(fresh), _utilities(recorded)
    shared = sorted(k for k in now if k in then)
    if not shared:
        raise SynthbenchError(f"no cell in {fresh} matches one recorded in {recorded} "
                              "(same model, task, generator and parameters, N, classifier)")
    lines = []
    for key in shared:
        mean, low, high = mean_ci(then[key])
        if math.isnan(low):
            low, high = mean, mean
        value = float(sum(now[key]) / len(now[key]))
        if not low - tolerance <= value <= high + tolerance:
            model, task, what, n, classifier = key
            generator = json.loads(what)[0]
            lines.append(f"{task} · {model} · {generator} · N={n} · {classifier}: utility "
                         f"{value:.3f} leaves the recorded [{low:.3f}, {high:.3f}] "
                         f"± {tolerance}")
    return lines, len(shared)


def summary(report: Report, base: Path | None) -> str:
    """The closing line of a passing validation."""
    against = f", {report.new_cells} new against {base}" if base is not None else ""
    return (f"{report.cells} cell(s) valid{against}; Remote-Clique recomputed for "
            f"{len(report.recomputed)}: {', '.join(report.recomputed) or 'none'}")


def format_problems(problems: Sequence[str]) -> str:
    return "\n".join(f"synthbench: invalid: {p}" for p in problems)
