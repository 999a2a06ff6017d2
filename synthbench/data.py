"""Real task data: from an offline directory or the Hugging Face hub, both through ``datasets``.

Offline layout: ``<data_dir>/<task>/{train,test}.jsonl``, one ``{"text", "label"}`` object a
line (further fields such as ``agreement`` are kept in ``Example.meta``). Malformed rows (no
text, empty text, unknown label) are counted per split and left out; a split with no usable
row, or a file that is missing or not JSON lines, is a one-line ``SynthbenchError``.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthbench.errors import SynthbenchError
from synthbench.types import Example, Task

SPLITS = ("train", "test")
DATA_DIR_ENV = "SYNTHBENCH_DATA_DIR"


@dataclass(frozen=True)
class SplitReport:
    """What loading one split kept and why it left rows out."""

    source: str
    rows: int
    kept: int
    missing_text: int = 0
    empty_text: int = 0
    unknown_label: int = 0
    unknown_label_values: tuple[str, ...] = ()
    label_counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def dropped(self) -> int:
        return self.rows - self.kept


@dataclass(frozen=True)
class TaskData:
    """Both real splits of a task; ``fingerprint`` identifies their content wherever they
    were loaded from, so results on different data never pass for one another."""

    train: tuple[Example, ...]
    test: tuple[Example, ...]
    source: str
    reports: Mapping[str, SplitReport]
    fingerprint: str = ""


def fingerprint(*splits: Sequence[Example]) -> str:
    """sha256 over the texts and labels of ``splits``, in order."""
    digest = hashlib.sha256()
    for split in splits:
        for example in split:
            digest.update(json.dumps([example.text, example.label]).encode())
        digest.update(b"\x00split\x00")
    return digest.hexdigest()


def resolve_data_dir(option: str | os.PathLike[str] | None,
                     environ: Mapping[str, str]) -> Path | None:
    """The ``--data-dir`` option, else ``SYNTHBENCH_DATA_DIR`` of ``environ`` (the edge's
    ``os.environ``), else None (load from the hub)."""
    value = option if option is not None else environ.get(DATA_DIR_ENV)
    if value is None or str(value) == "":
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        origin = "" if option is not None else f" (from ${DATA_DIR_ENV})"
        raise SynthbenchError(
            f"data directory {str(path)!r}{origin} does not exist or is not a folder")
    return path


def require_data_source(data_dir: Path | None, environ: Mapping[str, str]) -> Path | None:
    """``data_dir`` back, or a one-line error when there is none and the hub is switched off
    (``HF_HUB_OFFLINE`` / ``HF_DATASETS_OFFLINE``): fail now rather than after the hub
    client's retries."""
    offline = [name for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
               if environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}]
    if data_dir is None and offline:
        raise SynthbenchError(f"{offline[0]} is set and no data folder is given: pass "
                              f"--data-dir DIR (or set ${DATA_DIR_ENV}) to read the tasks "
                              "offline")
    return data_dir


def load_task_data(task: Task, data_dir: Path | None) -> TaskData:
    """Load and validate both splits of ``task``: offline when ``data_dir`` is given, else hub."""
    _quiet_datasets()
    if data_dir is not None:
        raw, source = _load_local(task, data_dir)
    else:
        raw, source = _load_hub(task)
    examples: dict[str, tuple[Example, ...]] = {}
    reports: dict[str, SplitReport] = {}
    for split in SPLITS:
        kept, report = _validate(task, split, raw[split][0], raw[split][1])
        if not kept:
            found = f" (found {list(report.unknown_label_values)})" if report.unknown_label else ""
            raise SynthbenchError(
                f"task {task.id!r}: split {split!r} from {report.source} has no usable rows "
                f"({report.rows} rows: {report.missing_text} without text, {report.empty_text} "
                f"empty, {report.unknown_label} with a label not in {list(task.label_names)}"
                f"{found})"
            )
        examples[split] = kept
        reports[split] = report
    missing = [n for n in task.label_names if n not in reports["train"].label_counts]
    if missing:
        raise SynthbenchError(
            f"task {task.id!r}: the train split from {reports['train'].source} has no example "
            f"of label(s) {missing}"
        )
    return TaskData(examples["train"], examples["test"], source, reports,
                    fingerprint(examples["train"], examples["test"]))


def _quiet_datasets() -> None:
    import datasets

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()


Rows = tuple[list[dict[str, Any]], str]


def _load_local(task: Task, data_dir: Path) -> tuple[dict[str, Rows], str]:
    import datasets

    folder = data_dir / task.data_dir_name
    files = {split: folder / f"{split}.jsonl" for split in SPLITS}
    for split, path in files.items():
        if not path.is_file():
            raise SynthbenchError(f"task {task.id!r}: no {split} split at {path}")
    raw: dict[str, Rows] = {}
    for split, path in files.items():
        try:
            loaded = datasets.load_dataset("json", data_files=str(path), split="train")
        except Exception as exc:
            raise SynthbenchError(
                f"task {task.id!r}: {path} is not readable as JSON lines ({type(exc).__name__})"
            ) from None
        raw[split] = (_rows(loaded, "text", "label", None), str(path))
    return raw, f"local:{folder}"


def _load_hub(task: Task) -> tuple[dict[str, Rows], str]:
    import datasets

    hub = task.hub
    if hub is None:
        raise SynthbenchError(
            f"task {task.id!r} has no Hugging Face hub copy; pass --data-dir (or set "
            f"{DATA_DIR_ENV}) to a folder holding {task.data_dir_name}/train.jsonl and test.jsonl"
        )
    raw: dict[str, Rows] = {}
    for split, hub_split in hub.splits.items():
        try:
            loaded = datasets.load_dataset(hub.id, hub.config, split=hub_split)
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise SynthbenchError(
                f"task {task.id!r}: cannot load {hub.id!r} (config {hub.config!r}, split "
                f"{hub_split!r}) from the Hugging Face hub: {type(exc).__name__}: {first}; "
                f"offline, pass --data-dir or set {DATA_DIR_ENV}"
            ) from None
        source = f"hub:{hub.id}/{hub.config or 'default'}/{hub_split}"
        try:
            if hub.prepare is not None:
                loaded = hub.prepare(loaded)
            raw[split] = (_rows(loaded, hub.text_field, hub.label_field, hub.label_names), source)
        except Exception as exc:
            raise SynthbenchError(f"task {task.id!r}: cannot read {source}: "
                                  f"{type(exc).__name__}: {exc}") from None
    if "test" not in raw:
        if "train" not in raw or hub.test_fraction is None:
            raise SynthbenchError(f"task {task.id!r}: hub source declares no test split and no "
                                  "test_fraction to carve one")
        rows, source = raw["train"]
        train_rows, test_rows = _carve(rows, hub.test_fraction)
        raw["train"] = (train_rows, f"{source} (train part, seed 0)")
        raw["test"] = (test_rows, f"{source} (test part {hub.test_fraction:g}, seed 0)")
    return raw, f"hub:{hub.id}"


def _rows(dataset: Any, text_field: str, label_field: str,
          label_names: Mapping[Any, str] | None) -> list[dict[str, Any]]:
    """Plain rows with ``text``/``label`` keys; ClassLabel ints become their names."""
    feature = dataset.features.get(label_field) if hasattr(dataset, "features") else None
    int2str = getattr(feature, "int2str", None)
    rows = []
    for row in dataset:
        value = row.get(label_field)
        if label_names is not None and value in label_names:
            label: Any = label_names[value]
        elif int2str is not None and isinstance(value, int) and value >= 0:
            label = int2str(value)
        else:
            label = value
        extra = {k: v for k, v in row.items() if k not in (text_field, label_field)}
        rows.append({"text": row.get(text_field), "label": label, "extra": extra})
    return rows


def _carve(rows: list[dict[str, Any]], fraction: float) -> tuple[list[dict[str, Any]], ...]:
    """A stratified, seeded train/test split of rows that came as one split."""
    by_label: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_label.setdefault(str(row["label"]), []).append(row)
    rng = random.Random(0)
    train: list[dict[str, Any]] = []
    test: list[dict[str, Any]] = []
    for label in sorted(by_label):
        group = by_label[label]
        rng.shuffle(group)
        cut = round(len(group) * fraction)
        test.extend(group[:cut])
        train.extend(group[cut:])
    return train, test


def _validate(task: Task, split: str, rows: list[dict[str, Any]],
              source: str) -> tuple[tuple[Example, ...], SplitReport]:
    names = {n: n for n in task.label_names}
    folded = {n.casefold(): n for n in task.label_names}
    kept: list[Example] = []
    missing = empty = unknown = 0
    unknown_values: Counter[str] = Counter()
    for row in rows:
        text, label = row.get("text"), row.get("label")
        if not isinstance(text, str):
            missing += 1
            continue
        if not text.strip():
            empty += 1
            continue
        name = names.get(str(label)) or folded.get(str(label).casefold())
        if label is None or name is None:
            unknown += 1
            unknown_values[str(label)] += 1
            continue
        extra = row.get("extra") or {}
        kept.append(Example(text.strip(), name, {k: v for k, v in extra.items() if v is not None}))
    report = SplitReport(
        source=source, rows=len(rows), kept=len(kept), missing_text=missing, empty_text=empty,
        unknown_label=unknown,
        unknown_label_values=tuple(v for v, _ in unknown_values.most_common(5)),
        label_counts=dict(sorted(Counter(e.label for e in kept).items())),
    )
    return tuple(kept), report


def balanced_quota(labels: Sequence[str], n: int) -> dict[str, int]:
    """``n`` split over labels as evenly as possible; the first labels get the remainder."""
    base, extra = divmod(n, len(labels))
    return {label: base + (1 if i < extra else 0) for i, label in enumerate(labels)}


def sample_per_label(examples: Iterable[Example], quota: Mapping[str, int],
                     rng: random.Random) -> list[Example]:
    """A seeded sample with ``quota[label]`` examples of each label (fewer if not available)."""
    by_label: dict[str, list[Example]] = {}
    for example in examples:
        by_label.setdefault(example.label, []).append(example)
    chosen: list[Example] = []
    for label in sorted(quota):
        pool = by_label.get(label, [])
        chosen.extend(rng.sample(pool, min(quota[label], len(pool))))
    rng.shuffle(chosen)
    return chosen
