"""Real + synthetic (METHOD.md §5 "mixed", ``--mix-real K``): the synthetic texts plus K real
training examples, scored as the gain over the same K real examples alone (Li et al.'s
discussion; the practical guide's main use of synthetic data).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from synthbench.errors import SynthbenchError
from synthbench.record import FitScores
from synthbench.run.fitting import ClassifierFactory, fit_and_score, real_sample
from synthbench.types import Example


@dataclass(frozen=True)
class MixedSets:
    """The two training sets of one K: ``mixed`` = synthetic + ``real``; ``real`` alone."""

    k: int
    real: tuple[Example, ...]
    mixed: tuple[Example, ...]
    n_synthetic: int


def mix_real(synthetic: Sequence[Example], train: Sequence[Example],
             label_names: Sequence[str], k: int, seed: int) -> MixedSets:
    """Exactly ``k`` seeded, label-balanced real training examples, alone and added to
    ``synthetic``. The draw depends on (seed, k) only, not on the synthetic texts, so every
    generator of a seed is compared on the same real examples."""
    if k < 0:
        raise SynthbenchError(f"--mix-real K must be >= 0, got {k}")
    real = tuple(real_sample(train, label_names, k, seed, purpose=f"mix-real:{k}"))
    return MixedSets(k, real, (*synthetic, *real), len(synthetic))


@dataclass(frozen=True)
class MixedScore:
    """Macro-F1 with and without the synthetic texts at one K; ``gain`` = mixed − real alone
    (None when either could not be fitted, e.g. K real examples of a single label)."""

    k: int
    n_synthetic: int
    mixed: FitScores
    real_alone: FitScores

    @property
    def gain(self) -> float | None:
        if self.mixed.macro_f1 is None or self.real_alone.macro_f1 is None:
            return None
        return self.mixed.macro_f1 - self.real_alone.macro_f1

    def to_json(self) -> dict[str, Any]:
        return {"k": self.k, "n_synthetic": self.n_synthetic, "mixed": self.mixed.to_json(),
                "real_alone": self.real_alone.to_json(), "gain": self.gain}


def score_mixed(factory: ClassifierFactory, seed: int, sets: MixedSets,
                test: Sequence[Example], label_names: Sequence[str]) -> MixedScore:
    """Fit ``factory(seed)`` on the mixed set and, alike, on the K real alone; score both."""
    return MixedScore(sets.k, sets.n_synthetic,
                      fit_and_score(factory(seed), sets.mixed, test, label_names),
                      fit_and_score(factory(seed), sets.real, test, label_names))
