"""Bradley–Terry scores from pairwise "which is more objective?" verdicts, with bootstrap
intervals, and the judge diagnostics that go with them (position bias, order consistency).

The fit is ``choix.ilsr_pairwise`` (choix is maintained and typed; iterative Luce spectral
ranking, Maystre & Grossglauser 2015, converges to the maximum-likelihood estimate and is
~30x faster here than the gradient-based ``opt_pairwise``, which matters for 1,000 bootstrap
refits). A task that wins every comparison has no finite MLE, so ``ALPHA`` adds a small
symmetric pseudo-count between every pair of tasks, which keeps every score finite.
Strengths are turned into subjectivity on 0..1 by min–max scaling: 0 = the most objective
task (the strongest "more objective" winner), 1 = the most subjective.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import choix
import numpy as np
from scipy import stats

ALPHA = 0.1  # pseudo-count between every pair, against 2 x samples real judgments a pair
BOOTSTRAP = 1000
TIE = 1e-6  # log-strength differences below this are the fit's numerical noise


@dataclass(frozen=True)
class Verdict:
    """One parsed judgment: ``first`` was shown as A, ``second`` as B; ``winner`` is the task
    the judge called more objective; ``sample`` tells apart repeated judgments of one order."""

    first: str
    second: str
    winner: str
    sample: int = 0

    @property
    def loser(self) -> str:
        return self.second if self.winner == self.first else self.first


def fit_strengths(items: Sequence[str], verdicts: Sequence[Verdict],
                  alpha: float = ALPHA) -> dict[str, float]:
    """Regularised ML log-strength of each item (higher = more often called more objective)."""
    index = {item: i for i, item in enumerate(items)}
    data = [(index[v.winner], index[v.loser]) for v in verdicts]
    if not data:
        return {item: 0.0 for item in items}
    params = choix.ilsr_pairwise(len(items), data, alpha=alpha)
    return {item: float(params[index[item]]) for item in items}


def to_subjectivity(strengths: Mapping[str, float]) -> dict[str, float]:
    """Min–max scaled and flipped: 0 = strongest (most objective), 1 = weakest. Strengths
    that differ by less than ``TIE`` are equal (the fit's rounding noise must not be scaled
    up into a ranking), so a judge that gives no information scores every task 0.5."""
    top, bottom = max(strengths.values()), min(strengths.values())
    spread = top - bottom
    if spread < TIE:
        return {item: 0.5 for item in strengths}
    return {item: (top - value) / spread for item, value in strengths.items()}


def _resample(verdicts: Sequence[Verdict], rng: random.Random) -> list[Verdict]:
    """Resample with replacement within each unordered pair, so every pair keeps its count;
    when some pair has a single verdict (one sample, or one couple, per pair) resampling
    within it could only redraw that verdict and the interval would be zero wide, so then
    the verdicts are resampled as one pool."""
    by_pair: dict[tuple[str, str], list[Verdict]] = defaultdict(list)
    for verdict in verdicts:
        low, high = sorted((verdict.first, verdict.second))
        by_pair[(low, high)].append(verdict)
    if min(len(group) for group in by_pair.values()) < 2:
        return [rng.choice(verdicts) for _ in verdicts]
    drawn: list[Verdict] = []
    for pair in sorted(by_pair):
        group = by_pair[pair]
        drawn.extend(rng.choice(group) for _ in group)
    return drawn


@dataclass(frozen=True)
class Fit:
    """Scaled scores, their bootstrap 95 % intervals, the raw strengths and the bootstrap
    replicates of the scaled scores (one dict per round, kept for derived intervals)."""

    scores: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    strengths: dict[str, float]
    replicates: list[dict[str, float]]


def fit(items: Sequence[str], verdicts: Sequence[Verdict], rounds: int = BOOTSTRAP,
        seed: int = 0, alpha: float = ALPHA) -> Fit:
    """Scores on 0..1 with percentile intervals from ``rounds`` resamplings of the verdicts
    (within each pair of tasks where every pair has several; see ``_resample``)."""
    items = sorted(items)
    strengths = fit_strengths(items, verdicts, alpha)
    scores = to_subjectivity(strengths)
    rng = random.Random(seed)
    replicates = [to_subjectivity(fit_strengths(items, _resample(verdicts, rng), alpha))
                  for _ in range(rounds if verdicts else 0)]
    intervals: dict[str, tuple[float, float]] = {}
    for item in items:
        values = [r[item] for r in replicates] or [scores[item]]
        intervals[item] = (float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5)))
    return Fit(scores, intervals, strengths, replicates)


def kendall_with_ci(fitted: Fit, declared: Mapping[str, float]) -> dict[str, object]:
    """Kendall tau-b between measured and declared subjectivity (tasks in both), with a 95 %
    interval from the fit's bootstrap replicates (declared order held fixed)."""
    tasks = sorted(t for t in fitted.scores if t in declared)
    result: dict[str, object] = {"tau": None, "ci": None, "n_tasks": len(tasks)}
    if len(tasks) < 3 or len({declared[t] for t in tasks}) < 2:
        return result
    x = [declared[t] for t in tasks]
    tau = stats.kendalltau(x, [fitted.scores[t] for t in tasks]).statistic
    if math.isnan(tau):
        return result  # measured scores all tied: no order to compare, no interval either
    result["tau"] = float(tau)
    taus = [stats.kendalltau(x, [r[t] for t in tasks]).statistic for r in fitted.replicates]
    taus = [float(t) for t in taus if not math.isnan(t)]
    if taus:
        result["ci"] = [float(np.percentile(taus, 2.5)), float(np.percentile(taus, 97.5))]
    return result


def position_bias(verdicts: Sequence[Verdict]) -> dict[str, object]:
    """Share of verdicts for the task shown first, with a Wilson 95 % interval; an unbiased
    judge of a design with both orders sits near 0.5."""
    n = len(verdicts)
    first = sum(v.winner == v.first for v in verdicts)
    return {"first_share": first / n if n else None, "ci": wilson(first, n), "n": n}


def order_consistency(verdicts: Sequence[Verdict]) -> dict[str, object]:
    """Share of (pair, sample) couples whose winner is the same in both presentation orders.

    A judge that always answers by position scores 0, a consistent one 1; couples where one
    of the two orders went unanswered are left out (``n`` counts the couples used)."""
    seen: dict[tuple[str, str, int], str] = {}
    for v in verdicts:
        seen[(v.first, v.second, v.sample)] = v.winner
    couples = consistent = 0
    for (first, second, sample), winner in seen.items():
        if first < second and (second, first, sample) in seen:
            couples += 1
            consistent += seen[(second, first, sample)] == winner
    return {"share": consistent / couples if couples else None, "ci": wilson(consistent, couples),
            "n": couples}


def wilson(successes: int, n: int, z: float = 1.959964) -> list[float] | None:
    """Wilson score interval of a binomial share; ``None`` without trials."""
    if n == 0:
        return None
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [max(0.0, centre - half), min(1.0, centre + half)]


def couple_verdicts(judgments: Sequence[Mapping[str, object]]) -> list[Verdict]:
    """One position-free verdict per (pair, sample) couple of scored judgments.

    With log-probabilities, logit P(first) = b + (strength of first − strength of second)
    in a Bradley–Terry judge with a constant position bias b; the difference between the
    two orders of a couple cancels b, so the task whose own first showing had the larger
    logit wins the couple. Couples without both scores, and exact ties, are left out."""
    logit: dict[tuple[str, str, int], float] = {}
    for j in judgments:
        scores = j.get("logprobs")
        if isinstance(scores, (list, tuple)) and len(scores) == 2:
            a, b = (float(v) for v in scores)
            logit[(str(j["first"]), str(j["second"]), int(str(j["sample"])))] = a - b
    verdicts = []
    for (first, second, sample), value in sorted(logit.items()):
        other = logit.get((second, first, sample))
        if first < second and other is not None and value != other:
            verdicts.append(Verdict(first, second, first if value > other else second, sample))
    return verdicts
