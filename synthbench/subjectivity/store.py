"""Measured-subjectivity records on disk: ``<results>/subjectivity/<judge>__<protocol>__<task
set>.json``, one versioned JSON file per (judge, protocol, task set), written atomically.

The leaderboard and ``synthbench list tasks`` read them; a later measurement with the same
judge and protocol reuses their judgments (by content key), so it only asks the new pairs.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from synthbench.errors import SynthbenchError
from synthbench.store import atomic_write_text

RECORD_SCHEMA = "synthbench.subjectivity/1"
FOLDER = "subjectivity"


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def task_set_key(task_ids: Sequence[str]) -> str:
    return _digest(sorted(task_ids))[:12]


def record_path(out: Path, judge: str, protocol: Mapping[str, Any],
                task_ids: Sequence[str]) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", judge).strip("-") or "judge"
    return out / FOLDER / (f"{slug}__p{protocol['version']}-{_digest(protocol)[:8]}__"
                           f"{len(task_ids)}tasks-{task_set_key(task_ids)}.json")


def write_record(out: Path, record: Mapping[str, Any]) -> Path:
    path = record_path(out, record["judge"]["id"], record["protocol"], record["tasks"])
    body = {k: v for k, v in record.items() if k != "path"}
    atomic_write_text(path, json.dumps(body, indent=1, sort_keys=True, ensure_ascii=False)
                      + "\n")
    return path


def read_records(out: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Every record under ``out/subjectivity``, sorted by file name; a file that is not a
    record of this schema is a one-line error naming it."""
    folder = out / FOLDER
    if not folder.is_dir():
        return []
    records = []
    for path in sorted(folder.glob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise SynthbenchError(f"measured-subjectivity record {path} is unreadable: "
                                  f"{type(exc).__name__}") from None
        if not isinstance(record, dict) or record.get("schema") != RECORD_SCHEMA:
            raise SynthbenchError(f"{path} is not a measured-subjectivity record of schema "
                                  f"{RECORD_SCHEMA}")
        records.append((path, record))
    return records


def prior_judgments(out: Path, judge: str, protocol: Mapping[str, Any]
                    ) -> dict[str, dict[str, Any]]:
    """Judgments by content key from every record of this judge and protocol under ``out``."""
    found: dict[str, dict[str, Any]] = {}
    for _, record in read_records(out):
        if record["judge"]["id"] == judge and record["protocol"] == dict(protocol):
            for judgment in record["judgments"]:
                found.setdefault(judgment["key"], judgment)
    return found


def best_record(out: Path, task_ids: Sequence[str] | None = None
                ) -> tuple[Path, dict[str, Any]] | None:
    """The record to show next to declared subjectivity: the one covering most of
    ``task_ids`` (all tasks when ``None``), then the one with most parsed judgments, then
    the last by file name; ``None`` when there is none."""
    records = read_records(out)
    if not records:
        return None
    wanted = set(task_ids) if task_ids is not None else None

    def rank(item: tuple[Path, dict[str, Any]]) -> tuple[int, int, str]:
        path, record = item
        covered = len(set(record["tasks"]) & wanted) if wanted is not None \
            else len(record["tasks"])
        return covered, int(record["counts"]["parsed"]), path.name

    return max(records, key=rank)


def chosen_fit(record: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    """The fit the leaderboard uses: for a scored judge (log-probabilities of A/B) the
    position-debiased fit of couples, which uses both orders' margins and cancels a constant
    position bias; else the primary fit of the judge's answers."""
    if "couple_debiased" in record:
        return "position-debiased couples", record["couple_debiased"]
    return "answers", record


POSITION_BIAS_LIMIT = 0.8
"""A judge whose whole 95 % interval of first-shown answers lies above this share (or below
one minus it) answers by position more than by the task cards."""
CONSISTENCY_CHANCE = 0.5
"""The order consistency of a judge answering at random: below it, swapping the cards flips
the verdict more often than chance."""


def judge_warnings(record: Mapping[str, Any]) -> list[str]:
    """Why a record's order should not be read as the tasks' subjectivity: the judge answered
    by the position of the cards rather than by their content (empty when it passed)."""
    warnings = []
    bias = record["position_bias"]
    low, high = bias["ci"] or (0.0, 1.0)  # no parsed judgment: nothing to say
    if low > POSITION_BIAS_LIMIT or high < 1 - POSITION_BIAS_LIMIT:
        side, share = ("first", bias["first_share"]) if low > POSITION_BIAS_LIMIT \
            else ("second", 1 - bias["first_share"])
        warnings.append(f"it chose the task shown {side} in {share:.0%} of {bias['n']} "
                        "judgments")
    consistency = record["order_consistency"]
    if consistency["share"] is not None and consistency["share"] < CONSISTENCY_CHANCE:
        warnings.append(f"its verdict survived swapping the two cards in "
                        f"{consistency['share']:.0%} of {consistency['n']} pairs "
                        f"(chance: {CONSISTENCY_CHANCE:.0%})")
    return warnings


def measured_scores(record: Mapping[str, Any]) -> dict[str, float]:
    return {t: float(v["score"]) for t, v in chosen_fit(record)[1]["scores"].items()}


def measured_subjectivity(results: Path, task_ids: Sequence[str]) -> dict[str, Any] | None:
    """What the leaderboard shows of the best record under ``results`` for ``task_ids``
    (``best_record``), or ``None`` when there is none."""
    found = best_record(results, task_ids) if task_ids else None
    if found is None:
        return None
    path, record = found
    fit_name, fit = chosen_fit(record)
    return {
        "judge": record["judge"]["id"], "method": record["judge"]["method"],
        "protocol_version": record["protocol"]["version"], "record": path.name,
        "fit": fit_name, "scores": measured_scores(record),
        "ci": {t: v["ci"] for t, v in fit["scores"].items()},
        "position_bias": record["position_bias"]["first_share"],
        "order_consistency": record["order_consistency"]["share"],
        "kendall_tau": fit["kendall_tau_vs_declared"]["tau"],
        "kendall_ci": fit["kendall_tau_vs_declared"]["ci"],
        "warnings": judge_warnings(record),
    }
