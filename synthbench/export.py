"""Export stored cells' texts as a Hugging Face dataset with a dataset card.

``export_cells`` writes, for each chosen cell, its texts (the curated ones for a curated
cell) as a ``datasets.DatasetDict`` on disk and as Parquet, and one dataset card
(``README.md`` with a YAML header) that names the task, labels, generator and parameters,
model, N, seed, the licence of the task's real data, and the figures measured for the cell.
The folder is laid out as a Hugging Face dataset repository, one config per cell, so
``push_to_hub`` uploads it as it is:

    OUT/README.md                      dataset card (YAML ``configs`` point at the Parquet)
    OUT/data/<cell>/train.parquet      load_dataset("parquet", data_files=...)
    OUT/arrow/<cell>/                  DatasetDict.save_to_disk (load_from_disk)
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthbench.errors import SynthbenchError
from synthbench.store import CURATED, RESULT, SYNTHETIC, check_record, iter_results, read_json

CARD = "README.md"
EXPORT_FORMAT = 1
COLUMNS = ("request", "model", "finish_reason", "truncated", "intended_label", "label_source")


@dataclass(frozen=True)
class ExportedCell:
    """One exported cell: its config name in the export and where its files went."""

    config_name: str
    rows: int
    curated: bool
    parquet: Path
    arrow: Path


def select_cells(results: Path, names: Sequence[str] = ()) -> list[tuple[Path, dict[str, Any]]]:
    """The finished cells under ``results`` (a results directory or one cell folder), or
    those named in ``names`` (folder names); an unknown name is a one-line error."""
    if (results / RESULT).is_file():
        found = [(results, check_record(results / RESULT,
                                        read_json(results / RESULT)).to_json())]
    elif results.is_dir():
        found = [(path.parent, record.to_json()) for path, record in iter_results(results)]
    else:
        raise SynthbenchError(f"results directory {str(results)!r} does not exist")
    if not found:
        raise SynthbenchError(f"no finished cell (result.json) under {results}")
    if not names:
        return found
    by_name = {folder.name: (folder, record) for folder, record in found}
    missing = [name for name in names if name not in by_name]
    if missing:
        near = difflib.get_close_matches(missing[0], list(by_name), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise SynthbenchError(f"no finished cell {missing[0]!r} under {results} "
                              f"({len(by_name)} cell(s) there){hint}")
    return [by_name[name] for name in dict.fromkeys(names)]


def real_data_licence(record: Mapping[str, Any], data_dir: Path | None,
                      real_data: Mapping[str, bool | None] | None = None) -> dict[str, Any]:
    """Source, licence and citation of the task's real data: the licence from the data
    folder's ``meta.json`` (under ``data_dir`` or where the cell read it), else unknown."""
    task = record.get("task", {})
    source = str(record.get("data", {}).get("source", ""))
    candidates = []
    if data_dir is not None:
        candidates.append(data_dir / (task.get("local_dir") or task.get("id", "")) / "meta.json")
    if source.startswith("local:"):
        candidates.append(Path(source.removeprefix("local:")) / "meta.json")
    licence, citation = None, None
    for meta_path in candidates:
        if meta_path.is_file():
            meta = read_json(meta_path)
            licence = meta.get("licence") or meta.get("license")
            citation = meta.get("citation")
            break
    citation = citation or task.get("citation") or None
    if licence is None:
        hub = (task.get("hub") or {}).get("id")
        licence = (f"unknown: see the dataset card of {hub} on the Hugging Face hub" if hub
                   else "unknown: no meta.json found (pass --data-dir)")
    declared = (real_data or {}).get(record["config"]["generator"])
    return {"source": source, "licence": licence, "citation": citation,
            "real_examples_in_prompts": "unknown" if declared is None else declared}


def cell_figures(record: Mapping[str, Any]) -> dict[str, Any]:
    """The cell's measured figures that exist in its record: utility (and N_eq and the
    synthetic/real macro-F1) per classifier, diversity, label accuracy, leakage, naturalness."""
    classifiers = {}
    for name, scores in sorted(record.get("classifiers", {}).items()):
        entry = {"utility": scores.get("utility"),
                 "synthetic_macro_f1": scores.get("synthetic", {}).get("macro_f1"),
                 "real_macro_f1": scores.get("real", {}).get("macro_f1")}
        if isinstance(scores.get("n_eq"), Mapping):  # measured with --n-eq
            entry["n_eq"] = scores["n_eq"]["label"]
        classifiers[name] = entry
    metrics = record.get("metrics", {})
    figures: dict[str, Any] = {"classifiers": classifiers}
    if "diversity" in metrics:
        figures["diversity"] = metrics["diversity"].get("synthetic", metrics["diversity"])
    if "label_accuracy" in metrics:
        figures["label_accuracy"] = metrics["label_accuracy"].get("value")
    if "leakage" in metrics:
        figures["leakage"] = {k: metrics["leakage"].get(k) for k in ("share", "threshold")}
    if "naturalness" in metrics:  # the two-sample AUC (0.5 = indistinguishable from real)
        figures["naturalness_auc"] = metrics["naturalness"].get("auc")
    if "similarity_to_real" in metrics:
        figures["similarity_to_real"] = {k: v for k, v in metrics["similarity_to_real"].items()
                                         if isinstance(v, (int, float))}
    return figures


def _rows(folder: Path, record: Mapping[str, Any]) -> tuple[list[dict[str, Any]], bool]:
    """The cell's texts as rows (curated texts for a curated cell) and whether curated."""
    curated = bool(record["config"].get("interventions"))
    path = folder / (CURATED if curated else SYNTHETIC)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SynthbenchError(f"cell {folder.name}: cannot read {path.name} "
                              f"({type(exc).__name__})") from None
    labels = [label["name"] for label in record["task"]["labels"]]
    for index, row in enumerate(rows):
        if not isinstance(row.get("text"), str) or row.get("label") not in labels:
            raise SynthbenchError(f"cell {folder.name}: {path.name} line {index + 1} has no "
                                  f"text or a label outside {labels}")
    expected = record.get("n_synthetic")
    if expected is not None and expected != len(rows):
        raise SynthbenchError(f"cell {folder.name}: {path.name} has {len(rows)} texts, its "
                              f"record says {expected}")
    return rows, curated


def _dataset(rows: list[dict[str, Any]], labels: list[str]) -> Any:
    """A ``datasets.Dataset``: text, label (ClassLabel), the common per-text fields, and every
    other field as one JSON string ``meta``."""
    import datasets

    columns: dict[str, list[Any]] = {"text": [r["text"] for r in rows],
                                     "label": [r["label"] for r in rows]}
    features: dict[str, Any] = {"text": datasets.Value("string"),
                                "label": datasets.ClassLabel(names=labels)}
    types = {"request": "int64", "truncated": "bool"}
    for column in COLUMNS:
        if any(column in r for r in rows):
            columns[column] = [r.get(column) for r in rows]
            features[column] = datasets.Value(types.get(column, "string"))
    known = {"text", "label", *COLUMNS}
    columns["meta"] = [json.dumps({k: v for k, v in r.items() if k not in known},
                                  sort_keys=True, ensure_ascii=False) for r in rows]
    features["meta"] = datasets.Value("string")
    return datasets.Dataset.from_dict(columns, features=datasets.Features(features))


def _size_category(n: int) -> str:
    for bound, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")):
        if n < bound:
            return name
    return "100K<n<1M"


def _cell_meta(config_name: str, folder: Path, record: Mapping[str, Any], rows: int,
               curated: bool, data_dir: Path | None,
               real_data: Mapping[str, bool | None] | None) -> dict[str, Any]:
    config = record["config"]
    generation = record.get("generation", {})
    meta: dict[str, Any] = {
        "config_name": config_name, "cell": folder.name,
        "generation_key": record.get("generation_key"), "config_hash": record.get("config_hash"),
        "task": {"id": config["task"], "name": record["task"].get("name"),
                 "citation": record["task"].get("citation") or None,
                 "labels": [label["name"] for label in record["task"]["labels"]],
                 "subjectivity": record.get("subjectivity", {}).get("declared")},
        "model": config["model"], "served_models": generation.get("served_models", []),
        "generator": {"id": config["generator"], "params": config["generator_params"]},
        "n": config["n"], "seed": config["seed"], "rows": rows,
        "texts": (f"curated ({CURATED}): the texts kept and relabelled by the interventions"
                  if curated else f"as generated ({SYNTHETIC})"),
        "real_data": real_data_licence(record, data_dir, real_data),
        "figures": cell_figures(record),
    }
    if curated:
        meta["interventions"] = [{"id": step, "params": params}
                                 for step, params in config["interventions"]]
        meta["n_raw_synthetic"] = record.get("n_raw_synthetic")
    return meta


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else ("—" if value is None else str(value))


def _card_body(cells: list[dict[str, Any]]) -> str:
    lines = ["# Synthetic text-classification data from synthbench", "",
             "Texts written by an LLM for text classification, exported from synthbench cell "
             "records. Each config is one cell (model × task × generator × N × seed); the "
             "`synthbench` block of the YAML header holds every setting and figure below.", ""]
    for cell in cells:
        task, gen = cell["task"], cell["generator"]
        params = ", ".join(f"{k}={json.dumps(v)}" for k, v in sorted(gen["params"].items()))
        lines += [f"## `{cell['config_name']}`", "",
                  f"- task: {task['id']} ({task['name']}); labels: {', '.join(task['labels'])}",
                  f"- model: `{cell['model']}` (served: {', '.join(cell['served_models']) or '—'})",
                  f"- generator: `{gen['id']}` ({params})",
                  f"- N = {cell['n']}, seed {cell['seed']}, {cell['rows']} rows; texts "
                  f"{cell['texts']}"]
        if "interventions" in cell:
            steps = " → ".join(f"{s['id']}({json.dumps(s['params'], sort_keys=True)})"
                               for s in cell["interventions"])
            lines.append(f"- interventions: {steps}; {cell['n_raw_synthetic']} texts before")
        real = cell["real_data"]
        in_prompts = {True: "yes", False: "no"}.get(real["real_examples_in_prompts"], "unknown")
        lines += [f"- real data: {real['source'] or '—'} (real examples in the prompts: "
                  f"{in_prompts})", f"  - licence: {real['licence']}",
                  f"  - citation: {real['citation'] or '—'}", ""]
        figures = cell["figures"]
        lines += ["| classifier | utility | N_eq | synthetic macro-F1 | real macro-F1 |",
                  "|---|---|---|---|---|"]
        for name, scores in figures["classifiers"].items():
            lines.append(f"| {name} | {_fmt(scores['utility'])} | {_fmt(scores.get('n_eq'))} | "
                         f"{_fmt(scores['synthetic_macro_f1'])} | "
                         f"{_fmt(scores['real_macro_f1'])} |")
        extra = []
        if "label_accuracy" in figures:
            extra.append(f"label accuracy {_fmt(figures['label_accuracy'])}")
        if "diversity" in figures:
            extra.append(f"Remote-Clique {_fmt(figures['diversity'].get('remote_clique'))}")
        if "leakage" in figures:
            extra.append(f"leakage share {_fmt(figures['leakage']['share'])}")
        if "naturalness_auc" in figures:
            extra.append(f"naturalness AUC {_fmt(figures['naturalness_auc'])} (0.5 = "
                         "indistinguishable from real)")
        lines += ["", "; ".join(extra) + ".", ""] if extra else [""]
    return "\n".join(lines)


def _card(cells: list[dict[str, Any]], total_rows: int, licence: str) -> str:
    from huggingface_hub import DatasetCard, DatasetCardData

    configs = [{"config_name": c["config_name"],
                "data_files": [{"split": "train",
                                "path": f"data/{c['config_name']}/train.parquet"}]}
               for c in cells]
    if len(configs) == 1:
        configs[0]["default"] = True
    data = DatasetCardData(
        license=licence, task_categories=["text-classification"],
        size_categories=_size_category(total_rows), tags=["synthetic", "synthbench"],
        pretty_name="synthbench synthetic texts", configs=configs,
        synthbench={"export_format": EXPORT_FORMAT, "cells": cells})
    return str(DatasetCard(f"---\n{data.to_yaml()}\n---\n\n{_card_body(cells)}"))


@contextlib.contextmanager
def _quiet_datasets() -> Iterator[None]:
    import datasets

    was_disabled = datasets.are_progress_bars_disabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if not was_disabled:
            datasets.enable_progress_bars()


def _is_export(folder: Path) -> bool:
    card = folder / CARD
    try:
        return card.is_file() and "synthbench:" in card.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False


def export_cells(results: Path, out: Path, names: Sequence[str] = (),
                 data_dir: Path | None = None, licence: str = "unknown",
                 real_data: Mapping[str, bool | None] | None = None) -> list[ExportedCell]:
    """Write the chosen cells of ``results`` under ``out`` (layout in the module docstring).
    ``real_data`` maps generator ids to whether their prompts quote real training texts, as
    their plugins declare it (``GeneratorSpec.real_data``); others are "unknown".

    The export is built in a temporary folder beside ``out`` and moved into place at the
    end, so a failure leaves ``out`` as it was; an existing ``out`` is replaced only when
    it is an earlier synthbench export or empty."""
    chosen = select_cells(results, names)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not _is_export(out))):
        raise SynthbenchError(f"{out} exists and is not a synthbench export; choose another "
                              "--out")
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.tmp")
    import datasets

    exported: list[ExportedCell] = []
    cells: list[dict[str, Any]] = []
    try:
        with _quiet_datasets():
            for folder, record in chosen:
                rows, curated = _rows(folder, record)
                labels = [label["name"] for label in record["task"]["labels"]]
                dataset = _dataset(rows, labels)
                name = folder.name
                parquet = tmp / "data" / name / "train.parquet"
                parquet.parent.mkdir(parents=True)
                dataset.to_parquet(str(parquet))
                datasets.DatasetDict({"train": dataset}).save_to_disk(str(tmp / "arrow" / name))
                exported.append(ExportedCell(name, len(rows), curated,
                                             out / "data" / name / "train.parquet",
                                             out / "arrow" / name))
                cells.append(_cell_meta(name, folder, record, len(rows), curated, data_dir,
                                        real_data))
        (tmp / CARD).write_text(_card(cells, sum(e.rows for e in exported), licence),
                                encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return exported


def _env_on(name: str) -> bool:
    return os.environ.get(name, "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def push_to_hub(folder: Path, repo_id: str, private: bool = False) -> str:
    """Upload an export (card and Parquet; not the Arrow copies) to the dataset repository
    ``repo_id`` with the token in ``HF_TOKEN``; return the repository's URL. Offline, without
    a token, or when the hub refuses: one-line ``SynthbenchError``."""
    from huggingface_hub import HfApi, constants

    if constants.HF_HUB_OFFLINE or _env_on("HF_HUB_OFFLINE"):
        raise SynthbenchError(f"cannot push to {repo_id}: offline mode is on "
                              f"(HF_HUB_OFFLINE); the export is in {folder}")
    token = os.environ.get("HF_TOKEN", "").strip()
    if not token:
        raise SynthbenchError(f"cannot push to {repo_id}: no token; set HF_TOKEN to a Hugging "
                              f"Face write token (the export is in {folder})")
    api = HfApi(token=token)
    try:
        url = api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        api.upload_folder(repo_id=repo_id, repo_type="dataset", folder_path=folder,
                          allow_patterns=[CARD, "data/**"],
                          commit_message="Upload synthetic texts exported by synthbench")
    except Exception as exc:  # HTTP, connection and validation errors alike: one line
        message = str(exc).replace(token, "***").splitlines()[0] if str(exc) else ""
        raise SynthbenchError(f"cannot push to {repo_id}: {type(exc).__name__}: {message}"
                              ) from None
    return str(url)
