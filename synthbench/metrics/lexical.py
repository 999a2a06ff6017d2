"""Surface diversity of a set of texts: distinct-n and gzip compression ratio.

Tokenisation (for distinct-n): each text is lower-cased with ``str.lower`` and split into the
runs matched by the regex ``\\w+`` (Unicode letters, digits and underscore), so punctuation and
whitespace only separate tokens and never count as tokens. n-grams never cross text boundaries.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable

_TOKEN = re.compile(r"\w+")


def _texts(texts: Iterable[str]) -> list[str]:
    """Materialise ``texts``, refusing a bare string (which would be read as single characters)."""
    if isinstance(texts, str):
        raise TypeError("texts must be an iterable of strings, not a single string")
    return list(texts)


def tokenize(text: str) -> list[str]:
    """Lower-cased ``\\w+`` word tokens of one text: the tokenisation distinct-n counts over."""
    return _TOKEN.findall(text.lower())


def distinct_n(texts: Iterable[str], n: int) -> float:
    """Distinct n-grams / total n-grams over all texts: higher means less repeated wording.

    n-grams are taken within each text and pooled over texts; NaN when there are none.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    seen: set[tuple[str, ...]] = set()
    total = 0
    for text in _texts(texts):
        tokens = tokenize(text)
        grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
        total += len(grams)
        seen.update(grams)
    if total == 0:
        return float("nan")
    return len(seen) / total


def compression_ratio(texts: Iterable[str]) -> float:
    """UTF-8 bytes of the texts joined by newlines / bytes after gzip: higher = more repetitive.

    Uses stdlib gzip at level 9 with mtime 0, so the figure is deterministic. The fixed gzip
    framing (about 20 bytes) keeps very short inputs below 1. NaN when there are no bytes.
    """
    data = "\n".join(_texts(texts)).encode("utf-8")
    if not data:
        return float("nan")
    return len(data) / len(gzip.compress(data, compresslevel=9, mtime=0))
