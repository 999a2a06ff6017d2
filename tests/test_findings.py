"""The findings block: sentences whose wording follows from their numbers (change a number and
the sentence changes), rows without enough evidence stay silent, and the order real >
few-shot > zero-shot is counted per task."""

from __future__ import annotations

from typing import Any

import pytest

from synthbench.leaderboard import build
from synthbench.leaderboard.findings import (
    correlation_sentence,
    findings,
    gap_sentence,
    order_sentence,
    slope_sentence,
)
from synthbench.record import CellRecord, ClassifierResult
from tests.records import cell_record

TASKS = [f"t{i:02d}" for i in range(12)]


def _with_gap(record: CellRecord, gap: float) -> CellRecord:
    """``record`` whose classifier has chance 0.25, ceiling 0.85 and this gap closed."""
    classifiers = {}
    for name, result in record.classifiers.items():
        classifiers[name] = ClassifierResult.from_json({
            **result.to_json(), "chance_macro_f1": 0.25,
            "ceiling": {"macro_f1": 0.85, "n_train": 1000, "file": "c.json"},
            "gap_closed": gap})
    return CellRecord.from_json({**record.to_json(),
                                 "classifiers": {k: v.to_json() for k, v in classifiers.items()}})


def _grid(slope: float, seeds: int = 2, generator: str = "zero_shot",
          lift: float = 0.0) -> list[CellRecord]:
    """Cells on 12 tasks whose gap closed falls (slope < 0) or rises with subjectivity."""
    records = []
    for index, task in enumerate(TASKS):
        declared = index / (len(TASKS) - 1)
        for seed in range(seeds):
            gap = 0.5 + slope * (declared - 0.5) + 0.01 * seed + lift
            f1 = 0.25 + gap * 0.6
            records.append(_with_gap(cell_record(task, seed, generator=generator, f1=f1,
                                                 real_f1=0.95, declared=declared,
                                                 cell=f"{task}-{generator}-{seed}"), gap))
    return records


def _board(records: list[CellRecord]) -> dict[str, Any]:
    board = build(records)
    return {**board, "findings": findings(board, records)}


def test_a_clear_negative_trend_is_said_to_exclude_zero_and_agree_with_li() -> None:
    board = _board(_grid(-0.8))
    [found] = [f for f in board["findings"] if f["kind"] == "subjectivity"]
    assert found["spearman_rho"] == pytest.approx(-1.0)
    assert found["spearman_ci"][1] < 0
    assert "excludes 0" in found["sentence"] and "falls as subjectivity rises" in found[
        "sentence"]
    assert f"{found['spearman_rho']:+.2f}" in found["sentence"]


def test_the_sentence_changes_with_its_numbers() -> None:
    """The same function says three different things for three intervals: a hard-coded
    sentence would fail here."""
    falling = correlation_sentence(-0.62, [-0.85, -0.2], 0.01, 0.68, 15, "declared")
    rising = correlation_sentence(0.62, [0.2, 0.85], 0.01, 0.68, 15, "declared")
    unclear = correlation_sentence(-0.25, [-0.68, 0.34], 0.37, 0.68, 15, "declared")
    assert len({falling, rising, unclear}) == 3
    assert "-0.62 [-0.85, -0.20]" in falling and "falls" in falling
    assert "against Li" in rising
    assert "contains 0" in unclear and "cannot tell" in unclear and "0.68" in unclear
    assert "p = 0.37" in unclear
    assert correlation_sentence(-0.25, [-0.68, 0.34], 0.37, 0.59, 20, "declared") != unclear


def test_a_flat_grid_says_it_cannot_tell_and_states_the_power() -> None:
    records = _grid(0.0)
    for index, record in enumerate(records):  # noise around one level: no trend
        gap = 0.5 + (0.05 if index % 3 == 0 else -0.03)
        records[index] = _with_gap(record, gap)
    board = _board(records)
    [found] = [f for f in board["findings"] if f["kind"] == "subjectivity"]
    assert "contains 0" in found["sentence"]
    assert found["detectable_rho"] is not None and found["detectable_rho"] > 0.5
    assert f"{found['detectable_rho']:.2f}" in found["sentence"]


def test_gap_sentence_follows_the_mean() -> None:
    assert "no better than labels drawn blind" in gap_sentence(200, 0.01, -0.1, 0.1, None)
    assert "as good as the whole real train split" in gap_sentence(200, 0.97, 0.9, 1.0, 50)
    middle = gap_sentence(200, 0.45, 0.1, 0.8, 84.6)
    assert "45 % of the way" in middle and "about 85 real ones" in middle
    board = _board(_grid(-0.8, lift=0.1))
    [gap] = [f for f in board["findings"] if f["kind"] == "gap_closed"]
    assert f"{round(100 * gap['mean_gap_closed'])} %" in gap["sentence"]


def test_rows_with_too_few_tasks_or_seeds_say_nothing() -> None:
    assert _board(_grid(-0.8, seeds=1))["findings"] == []
    few = [r for r in _grid(-0.8) if r.config.task in TASKS[:5]]
    assert _board(few)["findings"] == []


def test_the_order_real_few_zero_is_counted_per_task() -> None:
    zero = _grid(-0.8, generator="zero_shot")
    few = _grid(-0.8, generator="few_shot", lift=0.1)
    board = _board(zero + few)
    [order] = [f for f in board["findings"] if f["kind"] == "order"]
    # real F1 0.95 beats both; few-shot's gap is 0.1 higher on every task
    assert order["holds"] == order["tasks"] == len(TASKS) and order["exceptions"] == []
    assert "12 of 12 tasks: every task" in order["sentence"]
    swapped = _board(_grid(-0.8, generator="zero_shot", lift=0.1)
                     + _grid(-0.8, generator="few_shot"))
    [order] = [f for f in swapped["findings"] if f["kind"] == "order"]
    assert order["holds"] == 0 and "no task" in order["sentence"]
    assert order_sentence(7, 12, ("zero_shot", "few_shot")).endswith("most tasks.")


def test_the_slope_sentence_reads_its_interval() -> None:
    assert "contains 0" in slope_sentence("fp", "balanced_accuracy", -0.1, -0.3, 0.1, 3)
    assert "gains less" in slope_sentence("fp", "balanced_accuracy", -0.2, -0.3, -0.1, 3)
    assert "one seed" in slope_sentence("fp", "macro_f1", -0.2, float("nan"), float("nan"), 1)


def test_generator_size_is_read_from_the_served_name_and_the_trend_is_stated() -> None:
    from synthbench.leaderboard.findings import parameters, size_sentence

    assert parameters("HuggingFaceTB/SmolLM2-135M-Instruct (Q4_1 GGUF)") == 135e6
    assert parameters("Qwen/Qwen2.5-Coder-0.5B-Instruct") == 0.5e9
    assert parameters("Qwen/Qwen2.5-Coder-1.5B-Instruct") == 1.5e9
    assert parameters("gpt-4o-mini") is None
    steps = [{"parameters": 135e6, "mean_gap_closed": 0.3, "spearman_rho": -0.1,
              "spearman_ci": [-0.6, 0.4], "label_accuracy": 0.61},
             {"parameters": 0.5e9, "mean_gap_closed": 0.5, "spearman_rho": -0.7,
              "spearman_ci": [-0.9, -0.2], "label_accuracy": 0.74}]
    grows = size_sentence(steps, 12, [0, 1], 24)
    assert "(24 cells: 12 tasks, seeds 0, 1)" in grows
    assert "135M → 0.5B" in grows and "rises (0.30 → 0.50)" in grows
    assert "label fidelity 0.61 → 0.74" in grows
    assert "excludes 0 on the negative side only at 0.5B" in grows
    steps[1]["spearman_ci"] = [-0.9, 0.1]
    steps[1]["mean_gap_closed"] = 0.2
    steps[1]["label_accuracy"] = None
    flat = size_sentence(steps, 11, [0], 11)
    assert "seed 0 only, so the intervals leave out seed-to-seed spread" in flat
    # one task with a second seed: the cells, not the seeds listed, say how deep it goes
    assert "most tasks with fewer seeds" in size_sentence(steps, 11, [0, 1], 12)
    assert "not every task with every seed" in size_sentence(steps, 11, [0, 1], 20)
    assert "label fidelity" not in flat
    assert "falls" in flat and "no subjectivity gap is shown at any size" in flat


def _sized(model: str, tasks: list[str], seeds: int, lift: float) -> list[CellRecord]:
    """Cells of ``model`` on ``tasks`` whose gap closed is 0.3 + ``lift`` + 0.1 x seed."""
    records = []
    for task in tasks:
        declared = TASKS.index(task) / (len(TASKS) - 1)
        for seed in range(seeds):
            gap = 0.3 + lift + 0.1 * seed
            data = _with_gap(cell_record(
                task, seed, model=model, f1=0.25 + 0.6 * gap, real_f1=0.95, declared=declared,
                cell=f"{task}-{model}-{seed}"), gap).to_json()
            data["generation"]["provider"] = {"served_model": model}  # its size is read here
            records.append(CellRecord.from_json(data))
    return records


def test_sizes_are_compared_on_the_cells_every_size_has() -> None:
    small = _sized("x/Tiny-135M", TASKS, 3, 0.0)
    middle = _sized("x/Mid-0.5B", TASKS, 3, 0.1)
    large = _sized("x/Big-1.5B", TASKS[:11], 1, 0.2)
    trends = [f for f in _board(small + middle + large)["findings"] if f["kind"] == "size"]
    wide, deep = sorted(trends, key=lambda f: len(f["steps"]), reverse=True)
    # All three sizes on the 11 tasks x seed 0 the largest has: the others' seed-1 and
    # seed-2 cells (gap closed higher by 0.1 and 0.2) and the twelfth task are left out.
    assert (wide["tasks"], wide["seeds"], wide["cells"]) == (11, [0], 11)
    assert [s["parameters"] for s in wide["steps"]] == [135e6, 0.5e9, 1.5e9]
    assert [s["mean_gap_closed"] for s in wide["steps"]] == pytest.approx([0.3, 0.4, 0.5])
    assert "seed 0 only" in wide["sentence"] and "135M → 0.5B → 1.5B" in wide["sentence"]
    assert "rises (0.30 → 0.40 → 0.50)" in wide["sentence"]
    # The two sizes with three seeds keep their own, deeper comparison.
    assert (deep["tasks"], deep["seeds"], deep["cells"]) == (12, [0, 1, 2], 36)
    assert [s["mean_gap_closed"] for s in deep["steps"]] == pytest.approx([0.4, 0.5])
    assert "seeds 0, 1, 2" in deep["sentence"]


def test_a_size_on_too_few_tasks_joins_no_trend() -> None:
    small = _sized("x/Tiny-135M", TASKS, 2, 0.0)
    middle = _sized("x/Mid-0.5B", TASKS, 2, 0.1)
    large = _sized("x/Big-1.5B", TASKS[:5], 1, 0.2)
    [trend] = [f for f in _board(small + middle + large)["findings"] if f["kind"] == "size"]
    assert [s["parameters"] for s in trend["steps"]] == [135e6, 0.5e9]
    assert trend["cells"] == 24
