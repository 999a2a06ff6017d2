"""Copies of training data among synthetic texts: exact (after ``normalise_text``) or near
(embedding cosine at or above the leakage threshold), compared as ``synthbench.overlap``
compares test with train texts.

Two references: the whole train split (what any generator could have seen, and what a
classifier trained on it memorises), and, for generators whose prompts quote real examples,
the examples quoted in the very prompt that produced each text. Test leakage is measured
elsewhere (``similarity.leakage``); this is its counterpart on the training side.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from synthbench.metrics.diversity import FloatArray, _unit_rows
from synthbench.metrics.similarity import near_duplicates
from synthbench.overlap import NORMALISATION, match_key

SHOWN = 20  # pairs kept per reference for inspection (all are counted)


def _share(count: int, n: int) -> float | None:
    return count / n if n else None


def _pair(i: int, text: str, match: str, kind: str, cosine: float,
          **where: int) -> dict[str, Any]:
    return {"synthetic": i, **where, "kind": kind, "cosine": round(float(cosine), 4),
            "synthetic_text": text, "train_text": match}


def copies_of_train(texts: Sequence[str], vectors: FloatArray, train_texts: Sequence[str],
                    train_vectors: FloatArray, threshold: float,
                    shown: int = SHOWN) -> dict[str, Any]:
    """Share of ``texts`` that copy a train text: exactly (same ``match_key``) or within
    ``threshold`` cosine of its most similar train text.
    The first ``shown`` pairs (synthetic row, train row, kind, cosine, both texts) are kept."""
    first: dict[str, int] = {}
    for j, text in enumerate(train_texts):
        first.setdefault(match_key(text), j)
    first.pop("", None)
    near = {i: (j, cos) for i, j, cos in near_duplicates(vectors, train_vectors, threshold)}
    rows = _unit_rows(vectors, "synthetic", np.float32)
    train_rows = _unit_rows(train_vectors, "train", np.float32)
    pairs: list[dict[str, Any]] = []
    exact = near_only = 0
    for i, text in enumerate(texts):
        same = first.get(match_key(text))
        if same is not None:
            exact += 1
            pairs.append(_pair(i, text, train_texts[same], "exact",
                               rows[i] @ train_rows[same], train=same))
        elif i in near:
            near_only += 1
            j, cos = near[i]
            pairs.append(_pair(i, text, train_texts[j], "near", cos, train=j))
    n = len(texts)
    return {"n": n, "exact": exact, "near": near_only, "copies": exact + near_only,
            "share": _share(exact + near_only, n), "exact_share": _share(exact, n),
            "pairs": pairs[:shown]}


def copies_of_prompt(texts: Sequence[str], vectors: FloatArray,
                     quoted: Sequence[Sequence[str]], quoted_vectors: Sequence[FloatArray],
                     threshold: float, shown: int = SHOWN) -> dict[str, Any]:
    """Share of ``texts`` that copy one of the real examples quoted in their own prompt
    (``quoted[i]``, embedded as ``quoted_vectors[i]``): exactly (normalised) or within
    ``threshold`` cosine. A text whose prompt quoted nothing copies nothing."""
    if len(quoted) != len(texts) or len(quoted_vectors) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(quoted)} prompts and "
                         f"{len(quoted_vectors)} embedded prompts")
    rows = _unit_rows(vectors, "synthetic", np.float32)
    pairs: list[dict[str, Any]] = []
    exact = near = 0
    for i, text in enumerate(texts):
        if not quoted[i]:
            continue
        sims = _unit_rows(quoted_vectors[i], "quoted", np.float32) @ rows[i]
        best = int(np.argmax(sims))
        form = match_key(text)
        same = [k for k, q in enumerate(quoted[i]) if form and match_key(q) == form]
        if same:
            exact += 1
            pairs.append(_pair(i, text, quoted[i][same[0]], "exact", sims[same[0]],
                               quoted=same[0]))
        elif sims[best] >= threshold:
            near += 1
            pairs.append(_pair(i, text, quoted[i][best], "near", sims[best], quoted=best))
    n = len(texts)
    return {"n": n, "exact": exact, "near": near, "copies": exact + near,
            "share": _share(exact + near, n), "exact_share": _share(exact, n),
            "pairs": pairs[:shown]}


def train_copies(train: dict[str, Any], prompt: dict[str, Any] | None, threshold: float,
                 prompt_note: str | None = None) -> dict[str, Any]:
    """The record's ``metrics.train_copies``: both references, the rule and the threshold."""
    return {"threshold": threshold, "normalisation": NORMALISATION, "train_split": train,
            "prompt_examples": prompt,
            **({"prompt_note": prompt_note} if prompt_note else {})}
