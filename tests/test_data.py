"""Real task data: offline folders and hub-style datasets, malformed rows counted, not hidden."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synthbench import HubSource, Label, Subjectivity, SynthbenchError, Task
from synthbench.data import balanced_quota, load_task_data, resolve_data_dir, sample_per_label
from synthbench.plugins import load_plugins


def make_task(**overrides: object) -> Task:
    fields: dict[str, object] = dict(
        id="toy", name="toy", labels=(Label("pos", "positive"), Label("neg", "negative")),
        text_type="note", context="Imagine you write notes.", word_limit=10,
        subjectivity=Subjectivity(0.5, "test"))
    fields.update(overrides)
    return Task(**fields)  # type: ignore[arg-type]


def write_jsonl(path: Path, rows: list[object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_every_builtin_task_loads_from_shared_data(shared_data: Path) -> None:
    plugins = load_plugins()
    for task_id in plugins.tasks.ids():
        data = load_task_data(plugins.tasks.get(task_id), shared_data)
        meta = json.loads((shared_data / task_id / "meta.json").read_text())
        assert len(data.train) == meta["output"]["train"], task_id
        assert set(data.reports["test"].label_counts) <= set(plugins.tasks.get(task_id)
                                                                .label_names)
    fpb = load_task_data(plugins.tasks.get("financial_phrasebank"), shared_data)
    assert "agreement" in fpb.train[0].meta


def test_malformed_rows_are_counted(tmp_path: Path) -> None:
    good = [{"text": "fine day", "label": "pos"}, {"text": "bad day", "label": "neg"}]
    write_jsonl(tmp_path / "toy" / "train.jsonl", [
        *good, {"text": "", "label": "pos"}, {"label": "neg"}, {"text": "odd", "label": "meh"},
        {"text": "  ok  ", "label": "POS"}])
    write_jsonl(tmp_path / "toy" / "test.jsonl", good)
    data = load_task_data(make_task(), tmp_path)
    report = data.reports["train"]
    assert (report.rows, report.kept) == (6, 3)
    assert (report.empty_text, report.missing_text, report.unknown_label) == (1, 1, 1)
    assert report.unknown_label_values == ("meh",)
    assert data.train[-1].text == "ok" and data.train[-1].label == "pos"


def test_unusable_split_is_one_line(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "toy" / "train.jsonl", [{"text": "x", "label": "pos"},
                                                  {"text": "y", "label": "neg"}])
    write_jsonl(tmp_path / "toy" / "test.jsonl", [{"text": "z", "label": "nope"}])
    with pytest.raises(SynthbenchError, match=r"split 'test' .* no usable rows") as info:
        load_task_data(make_task(), tmp_path)
    assert "\n" not in str(info.value)


def test_missing_and_non_json_files(tmp_path: Path) -> None:
    with pytest.raises(SynthbenchError, match="no train split at"):
        load_task_data(make_task(), tmp_path)
    write_jsonl(tmp_path / "toy" / "train.jsonl", [{"text": "x", "label": "pos"}])
    (tmp_path / "toy" / "test.jsonl").write_text("this is not json\n")
    with pytest.raises(SynthbenchError, match="not readable as JSON lines"):
        load_task_data(make_task(), tmp_path)


def test_label_missing_from_train_is_an_error(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "toy" / "train.jsonl", [{"text": "x y", "label": "pos"}])
    write_jsonl(tmp_path / "toy" / "test.jsonl", [{"text": "x y", "label": "pos"}])
    with pytest.raises(SynthbenchError, match=r"no example of label\(s\) \['neg'\]"):
        load_task_data(make_task(), tmp_path)


def test_hub_path_goes_through_datasets(tmp_path: Path) -> None:
    """A hub-style dataset (here a local folder that datasets.load_dataset reads the same way
    as a hub id): integer labels mapped to names, the test split carved with a fixed seed."""
    folder = tmp_path / "hub_copy"
    folder.mkdir()
    lines = ["message,is_pos"] + [f"text number {i},{i % 2}" for i in range(40)]
    (folder / "train.csv").write_text("\n".join(lines) + "\n")
    hub = HubSource(str(folder), None, {"train": "train"}, text_field="message",
                    label_field="is_pos", label_names={1: "pos", 0: "neg"}, test_fraction=0.25)
    data = load_task_data(make_task(hub=hub), None)
    assert (len(data.train), len(data.test)) == (30, 10)
    assert dict(data.reports["test"].label_counts) == {"neg": 5, "pos": 5}
    assert {e.text for e in data.train}.isdisjoint({e.text for e in data.test})
    again = load_task_data(make_task(hub=hub), None)
    assert again.test == data.test


def test_hub_failure_and_missing_hub_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(SynthbenchError, match="no Hugging Face hub copy; pass --data-dir"):
        load_task_data(make_task(), None)
    missing = HubSource(str(tmp_path / "does-not-exist"))
    with pytest.raises(SynthbenchError, match="cannot load") as info:
        load_task_data(make_task(hub=missing), None)
    assert "\n" not in str(info.value)


def test_data_dir_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_data_dir(None, {}) is None
    assert resolve_data_dir(None, {"SYNTHBENCH_DATA_DIR": str(tmp_path)}) == tmp_path
    with pytest.raises(SynthbenchError, match="does not exist"):
        resolve_data_dir(str(tmp_path / "nope"), {})


def test_balanced_sampling() -> None:
    import random

    assert balanced_quota(["a", "b", "c"], 10) == {"a": 4, "b": 3, "c": 3}
    from synthbench import Example

    pool = [Example(str(i), "a" if i % 3 else "b") for i in range(30)]
    chosen = sample_per_label(pool, {"a": 5, "b": 5}, random.Random(1))
    assert sorted(e.label for e in chosen) == ["a"] * 5 + ["b"] * 5
    assert chosen == sample_per_label(pool, {"a": 5, "b": 5}, random.Random(1))
