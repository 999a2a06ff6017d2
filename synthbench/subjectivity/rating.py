"""A judge format a small model may answer: one task card at a time, rated on a 1–5 scale.

The pairwise protocol (``protocol.py``) shows two full cards and reads P("A") against P("B");
small offline judges answer it by position (bias 1.00, order consistency 0.00). This format
asks about one card, shorter (one example per label), and reads the rating as the expected
value over the log-probabilities of the five digits, with contextual calibration (Zhao et
al. 2021): the digits' distribution on a content-free card is divided out, so a judge's
liking for "3" or "4" whatever it reads does not pass for a task's rating. Each card is
rated with the scale in both directions (1 = objective, and 1 = subjective), so a preference
for a digit shows as disagreement between the directions.

The diagnostics, and the thresholds a run must pass before its order may stand in for the
declared one, are fixed here before any run (``CRITERIA``); a record says which passed.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from statistics import fmean, pvariance
from typing import Any, Protocol

import numpy as np

from synthbench.errors import SynthbenchError
from synthbench.subjectivity.protocol import OBJECTIVITY, ProtocolSettings, task_card
from synthbench.types import Example, Message, Task

RATING_VERSION = 1
SCALE = ("1", "2", "3", "4", "5")
DIRECTIONS = ("objective_low", "subjective_low")
SYSTEM = (f"Definition: {OBJECTIVITY}\n\nYou rate one text classification task at a time "
          "on a scale from 1 to 5 and answer with a single digit.")
QUESTION = {
    "objective_low": "Rate this task from 1 to 5, where 1 = completely objective and "
                     "5 = completely subjective. Answer with one digit.",
    "subjective_low": "Rate this task from 1 to 5, where 1 = completely subjective and "
                      "5 = completely objective. Answer with one digit.",
}
CONTENT_FREE = "Name: N/A\nTexts: N/A\nLabels:\n- N/A: N/A"
CRITERIA: dict[str, float] = {
    "direction_spearman_min": 0.5,
    "split_half_spearman_min": 0.5,
    "signal_to_noise_min": 2.0,
}
"""Pass marks, stated before the first run: the task order from the two scale directions
agrees (Spearman ≥ 0.5 over tasks), so does the order from two draws of examples (split
half), and tasks differ by at least twice the spread of one task's own readings."""
BOOTSTRAP = 2000


class Scorer(Protocol):
    """Summed log-probabilities of given replies (``CachedScorer`` in a real run)."""

    def score(self, messages: Sequence[Message], continuations: Sequence[str]) -> list[float]:
        ...


@dataclass(frozen=True)
class RatingSettings:
    """``samples`` draws of examples per card (two give the split-half check)."""

    samples: int = 2
    examples_per_label: int = 1
    example_words: int = 30
    seed: int = 0

    def __post_init__(self) -> None:
        if self.samples < 2:
            raise SynthbenchError("the rating format needs samples >= 2 (split-half check)")

    def card_settings(self) -> ProtocolSettings:
        return ProtocolSettings(examples_per_label=self.examples_per_label,
                                example_words=self.example_words, seed=self.seed)


def messages(card: str, direction: str) -> tuple[Message, ...]:
    """The question about one card; the system message is shared, so a judge that keeps the
    key/value cache of the prefix pays only for the card."""
    return (Message("system", SYSTEM), Message("user", f"Task\n{card}\n\n{QUESTION[direction]}"))


def distribution(logprobs: Sequence[float]) -> list[float]:
    """The five digits' probabilities, renormalised over the scale."""
    top = max(logprobs)
    weights = [math.exp(v - top) for v in logprobs]
    return [w / sum(weights) for w in weights]


def expected_rating(logprobs: Sequence[float], prior: Sequence[float] | None = None) -> float:
    """Expected digit under the judge's distribution, divided by ``prior`` (the content-free
    card's distribution) first when given: contextual calibration."""
    probs = distribution(logprobs)
    if prior is not None:
        probs = [p / max(q, 1e-12) for p, q in zip(probs, prior, strict=True)]
        probs = [p / sum(probs) for p in probs]
    return sum((i + 1) * p for i, p in enumerate(probs))


def toward_subjective(rating: float, direction: str) -> float:
    """A rating on the 1 = objective … 5 = subjective scale, whichever way it was asked."""
    return rating if direction == "objective_low" else 6.0 - rating


def _spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    from scipy import stats

    if len(x) < 3 or len(set(x)) < 2 or len(set(y)) < 2:
        return None
    value = float(stats.spearmanr(x, y).statistic)
    return None if math.isnan(value) else value


def _kendall(x: Sequence[float], y: Sequence[float]) -> float | None:
    from scipy import stats

    if len(x) < 3 or len(set(x)) < 2 or len(set(y)) < 2:
        return None
    value = float(stats.kendalltau(x, y).statistic)
    return None if math.isnan(value) else value


def agreement_with_declared(scores: Mapping[str, float], declared: Mapping[str, float],
                            rounds: int = BOOTSTRAP, seed: int = 0) -> dict[str, Any]:
    """Kendall τ and Spearman ρ of the rated order against the declared one, each with a 95 %
    percentile interval from resampling tasks."""
    tasks = sorted(t for t in scores if t in declared)
    x, y = [declared[t] for t in tasks], [scores[t] for t in tasks]
    out: dict[str, Any] = {"n_tasks": len(tasks)}
    rng = random.Random(seed)
    for name, stat in (("kendall_tau", _kendall), ("spearman_rho", _spearman)):
        value = stat(x, y)
        draws = []
        for _ in range(rounds if value is not None else 0):
            pick = [rng.randrange(len(tasks)) for _ in tasks]
            drawn = stat([x[i] for i in pick], [y[i] for i in pick])
            if drawn is not None:
                draws.append(drawn)
        out[name] = value
        out[f"{name}_ci"] = ([float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5))]
                             if draws else None)
    return out


def diagnostics(readings: Mapping[str, Mapping[tuple[str, int], float]]) -> dict[str, Any]:
    """From each task's calibrated readings keyed by (direction, sample), on the 1 = objective
    scale: agreement between the directions and between the samples over tasks, and the
    between-task spread over the within-task spread of readings."""
    tasks = sorted(readings)
    keys = sorted({k for r in readings.values() for k in r})
    samples = sorted({s for _, s in keys})

    def mean_over(task: str, keep: Callable[[tuple[str, int]], bool]) -> float:
        return fmean(v for k, v in readings[task].items() if keep(k))

    forward = [mean_over(t, lambda k: k[0] == DIRECTIONS[0]) for t in tasks]
    backward = [mean_over(t, lambda k: k[0] == DIRECTIONS[1]) for t in tasks]
    first = [mean_over(t, lambda k: k[1] == samples[0]) for t in tasks]
    second = [mean_over(t, lambda k: k[1] != samples[0]) for t in tasks]
    means = [fmean(readings[t].values()) for t in tasks]
    within = fmean(pvariance(list(readings[t].values())) for t in tasks)
    between = pvariance(means)
    snr = math.sqrt(between / within) if within > 0 else math.inf if between > 0 else 0.0
    found = {"direction_spearman": _spearman(forward, backward),
             "split_half_spearman": _spearman(first, second),
             "signal_to_noise": snr,
             "direction_gap": fmean(f - b for f, b in zip(forward, backward, strict=True)),
             "range": max(means) - min(means)}
    checks = {"direction_spearman": found["direction_spearman"] is not None
              and found["direction_spearman"] >= CRITERIA["direction_spearman_min"],
              "split_half_spearman": found["split_half_spearman"] is not None
              and found["split_half_spearman"] >= CRITERIA["split_half_spearman_min"],
              "signal_to_noise": snr >= CRITERIA["signal_to_noise_min"]}
    return {**found, "checks": checks, "passed": all(checks.values())}


def rate(scorer: Scorer, judge: str, tasks: Sequence[Task],
         train: Mapping[str, Sequence[Example]], settings: RatingSettings | None = None,
         log: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Rate every task (each sample's card, both directions), calibrate against the
    content-free card, and return the record: raw and calibrated readings, per-task scores
    on 0..1 (objective → subjective), diagnostics with their pass marks, and agreement with
    the declared order."""
    settings = settings or RatingSettings()
    started = time.perf_counter()
    cards = settings.card_settings()
    priors = {d: distribution(scorer.score(messages(CONTENT_FREE, d), SCALE))
              for d in DIRECTIONS}
    raw: dict[str, dict[tuple[str, int], float]] = {}
    calibrated: dict[str, dict[tuple[str, int], float]] = {}
    answers = []
    for number, task in enumerate(tasks, 1):
        for sample in range(settings.samples):
            card = task_card(task, train[task.id], cards, sample)
            for direction in DIRECTIONS:
                logprobs = scorer.score(messages(card, direction), SCALE)
                key = (direction, sample)
                raw.setdefault(task.id, {})[key] = toward_subjective(
                    expected_rating(logprobs), direction)
                calibrated.setdefault(task.id, {})[key] = toward_subjective(
                    expected_rating(logprobs, priors[direction]), direction)
                answers.append({"task": task.id, "sample": sample, "direction": direction,
                                "logprobs": [round(v, 5) for v in logprobs]})
        log(f"rating: {number}/{len(tasks)} tasks ({time.perf_counter() - started:.0f} s)")
    scores = {t: (fmean(r.values()) - 1.0) / 4.0 for t, r in calibrated.items()}
    declared = {t.id: float(t.subjectivity.score) for t in tasks}
    found = diagnostics(calibrated)
    return {
        "kind": "synthbench.judge-rating", "version": RATING_VERSION, "judge": judge,
        "settings": asdict(settings), "criteria": CRITERIA,
        "content_free_prior": {d: [round(p, 5) for p in priors[d]] for d in DIRECTIONS},
        "scores": scores,
        "readings": {t: {f"{d}/{s}": round(v, 5) for (d, s), v in r.items()}
                     for t, r in calibrated.items()},
        "raw_readings": {t: {f"{d}/{s}": round(v, 5) for (d, s), v in r.items()}
                         for t, r in raw.items()},
        "raw_diagnostics": {k: v for k, v in diagnostics(raw).items()
                            if k not in ("checks", "passed")},
        "diagnostics": found,
        "declared": agreement_with_declared(scores, declared),
        "answers": answers,
        "seconds": round(time.perf_counter() - started, 1),
    }
