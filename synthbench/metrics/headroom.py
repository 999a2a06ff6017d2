"""Where a macro-F1 sits between chance and the real ceiling (METHOD.md §6, "gap closed").

``chance_macro_f1`` is the expected macro-F1 on a test split of a predictor that ignores the
text and draws each label independently from a prior (the training split's label shares). It
is computed exactly, not simulated: by linearity of expectation the macro-F1's expectation is
the mean of the per-label F1 expectations, and each label's F1 = 2·TP / (n_c + TP + FP) depends
only on two independent binomials, TP ~ B(n_c, q_c) over the label's n_c test rows and
FP ~ B(N − n_c, q_c) over the others, whose joint distribution is summed in full.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from synthbench.errors import SynthbenchError


def label_prior(labels: Sequence[str], names: Sequence[str]) -> dict[str, float]:
    """The share of each of ``names`` among ``labels`` (labels outside ``names`` are ignored)."""
    counts = {name: 0 for name in names}
    for label in labels:
        if label in counts:
            counts[label] += 1
    total = sum(counts.values())
    if total == 0:
        raise SynthbenchError("a label prior needs at least one labelled example")
    return {name: count / total for name, count in counts.items()}


def _expected_label_f1(positives: int, negatives: int, share: float) -> float:
    """E[2·TP / (positives + TP + FP)] with TP ~ B(positives, share), FP ~ B(negatives, share);
    a label with no test rows scores 0, as scikit-learn's ``zero_division=0`` gives it."""
    if positives == 0 or share <= 0.0:
        return 0.0
    from scipy import stats  # when measured: importing synthbench (and --help) stays light

    tp = np.arange(positives + 1)
    fp = np.arange(negatives + 1)
    p_tp = stats.binom.pmf(tp, positives, share)
    p_fp = stats.binom.pmf(fp, negatives, share)
    f1 = 2.0 * tp[:, None] / (positives + tp[:, None] + fp[None, :])
    return float(p_tp @ f1 @ p_fp)


def chance_macro_f1(prior: Mapping[str, float], test_labels: Sequence[str],
                    names: Sequence[str]) -> float:
    """Exact expected macro-F1 over ``names`` on ``test_labels`` of a predictor drawing every
    label independently from ``prior`` (shares summing to 1; a label missing from it gets 0)."""
    total = sum(prior.get(name, 0.0) for name in names)
    if not names or not math.isclose(total, 1.0, abs_tol=1e-9) or any(
            prior.get(name, 0.0) < 0 for name in names):
        raise SynthbenchError(f"a label prior must give shares >= 0 summing to 1 over "
                              f"{list(names)}; got {dict(prior)}")
    n = len(test_labels)
    positives = {name: sum(1 for label in test_labels if label == name) for name in names}
    return sum(_expected_label_f1(positives[name], n - positives[name], prior.get(name, 0.0))
               for name in names) / len(names)


def gap_closed(f1: float | None, chance: float | None, ceiling: float | None) -> float | None:
    """(F1 − chance) / (ceiling − chance): 0 at chance, 1 at the real ceiling, negative below
    chance; ``None`` when a figure is missing or the ceiling is not above chance."""
    if f1 is None or chance is None or ceiling is None or not ceiling > chance:
        return None
    if not all(math.isfinite(x) for x in (f1, chance, ceiling)):
        return None
    return (f1 - chance) / (ceiling - chance)
