"""Real-data-equivalent size (METHOD.md §6): the real N whose learning curve reaches a macro-F1.

``n_grid`` spaces training sizes geometrically up to the train split; a ``LearningCurve`` holds
one classifier's test macro-F1 at each size (``synthbench.run.fitting.learning_curve`` fits it);
and ``real_equivalent_n`` reads the curve at a given F1, interpolating linearly in log N.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from synthbench.errors import SynthbenchError


def n_grid(n_max: int, start: int = 25, ratio: float = 2.0) -> tuple[int, ...]:
    """Sizes ``start, start*ratio, ...`` (rounded, increasing) below ``n_max``, then ``n_max``.

    ``n_max`` is normally the train split's size (or a cap the caller can afford).
    """
    if n_max < 1 or start < 1 or ratio <= 1.0:
        raise SynthbenchError(f"bad learning-curve grid: n_max={n_max}, start={start}, "
                              f"ratio={ratio} (need n_max, start >= 1 and ratio > 1)")
    sizes: list[int] = []
    value = float(start)
    while round(value) < n_max:
        if not sizes or round(value) > sizes[-1]:
            sizes.append(round(value))
        value *= ratio
    sizes.append(n_max)
    return tuple(sizes)


@dataclass(frozen=True)
class LearningCurve:
    """Test macro-F1 of one classifier trained on ``n`` real examples, per ``n`` (increasing).

    ``f1`` holds None where a size could not be fitted (e.g. fewer than two labels).
    """

    classifier: str
    seed: int
    n: tuple[int, ...]
    f1: tuple[float | None, ...]

    def to_json(self) -> dict[str, Any]:
        return {"classifier": self.classifier, "seed": self.seed,
                "points": [{"n": n, "macro_f1": f} for n, f in zip(self.n, self.f1, strict=True)]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LearningCurve:
        points = data["points"]
        return cls(str(data["classifier"]), int(data["seed"]),
                   tuple(int(p["n"]) for p in points),
                   tuple(None if p["macro_f1"] is None else float(p["macro_f1"])
                         for p in points))


def curve_key(data_fingerprint: str, classifier: str, seed: int, grid: Sequence[int]) -> str:
    """A cache key for ``learning_curve``: everything its result depends on besides code
    versions (the task data's fingerprint, the classifier id, the seed and the sizes)."""
    parts = [data_fingerprint, classifier, seed, sorted(set(int(n) for n in grid))]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:24]


Bound = Literal["within", ">max", "<min"]


@dataclass(frozen=True)
class RealEquivalent:
    """Where a macro-F1 falls on a real learning curve.

    ``bound`` is "within" with ``n`` the interpolated real size; ">max" when the curve never
    reaches ``f1`` (worth more than ``n_max`` real examples); "<min" when the smallest size
    already beats it (worth fewer than ``n_min``). ``n`` is None outside the curve.
    """

    f1: float
    bound: Bound
    n: float | None
    n_min: int
    n_max: int

    @property
    def label(self) -> str:
        """A short display form: "412", ">6000" or "<25"."""
        if self.bound == ">max":
            return f">{self.n_max}"
        if self.bound == "<min":
            return f"<{self.n_min}"
        return f"{self.n:.0f}"

    def to_json(self) -> dict[str, Any]:
        return {"n_eq": self.n, "bound": self.bound, "label": self.label, "f1": self.f1,
                "n_min": self.n_min, "n_max": self.n_max}


def real_equivalent_n(curve: LearningCurve, f1: float) -> RealEquivalent:
    """N_eq: the smallest real size at which the curve reaches ``f1``, interpolated in log N.

    Points without a score are skipped. The curve is read from the smallest size upwards and
    the first segment that climbs to ``f1`` decides, so a noisy, non-monotone curve gives the
    first size that reaches the synthetic model's F1 (later dips do not move it). ``f1`` at or
    below the first point is "<min" (equal: ``n_min`` exactly, "within"); above every point,
    ">max".
    """
    if f1 is None or math.isnan(f1):
        raise SynthbenchError("real-data-equivalent size needs a macro-F1, got none")
    points = [(n, f) for n, f in zip(curve.n, curve.f1, strict=True)
              if f is not None and not math.isnan(f)]
    if not points:
        raise SynthbenchError("the real learning curve has no scored point")
    n_min, n_max = points[0][0], points[-1][0]
    if f1 == points[0][1]:
        return RealEquivalent(f1, "within", float(n_min), n_min, n_max)
    if f1 < points[0][1]:
        return RealEquivalent(f1, "<min", None, n_min, n_max)
    for (n_lo, f_lo), (n_hi, f_hi) in itertools.pairwise(points):
        if f_lo < f1 <= f_hi:
            share = (f1 - f_lo) / (f_hi - f_lo)
            log_n = math.log(n_lo) + share * (math.log(n_hi) - math.log(n_lo))
            return RealEquivalent(f1, "within", math.exp(log_n), n_min, n_max)
    return RealEquivalent(f1, ">max", None, n_min, n_max)
