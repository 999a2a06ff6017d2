"""Test rows that also occur in train: counted when a task's data loads, and by default left out
of evaluation, since a classifier that memorised its training texts scores them for free.

Two texts are the same when their normalised forms are equal: Unicode NFKC, ``str.casefold``,
every run of characters that are not letters or digits (spaces, punctuation, symbols, emoji,
underscores) made one space, and the ends stripped. So "Ok.." and "ok..." are one text, while
any difference of a word or a digit keeps two texts apart. ``dedup`` and the train-copy metric
use the same rule.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from synthbench.data import TaskData, fingerprint

NORMALISATION = ("NFKC, casefold, runs of non-alphanumeric characters (punctuation, symbols, "
                 "whitespace, underscores) made one space, stripped")
SHOWN = 20  # overlapping test texts listed in an audit's record (all are counted)
_NOT_WORD = re.compile(r"[\W_]+")


def normalise_text(text: str) -> str:
    """The form two texts are compared in (see the module docstring)."""
    return _NOT_WORD.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def match_key(text: str) -> str:
    """What two texts must share to be one text: the normalised form, or for a text that
    normalises to nothing (only punctuation, symbols or emoji) the text itself, stripped and
    case folded, so ":)" matches ":)" and not "😊"."""
    return normalise_text(text) or text.strip().casefold()


@dataclass(frozen=True)
class OverlapAudit:
    """Which test rows (by position) have a normalised text that also occurs in train."""

    n_train: int
    n_test: int
    test_rows: tuple[int, ...]
    texts: tuple[str, ...]  # the first ``SHOWN`` overlapping test texts, for inspection

    @property
    def duplicates(self) -> int:
        return len(self.test_rows)

    def to_json(self, excluded: bool) -> dict[str, Any]:
        """The audit as a cell's ``data["test_overlap"]``; ``excluded``: whether those test rows
        were left out of its evaluation."""
        return {"normalisation": NORMALISATION, "duplicates": self.duplicates,
                "excluded": excluded, "n_train": self.n_train, "n_test_before": self.n_test,
                "n_test_after": self.n_test - self.duplicates if excluded else self.n_test,
                "examples": list(self.texts)}


def test_overlap(train_texts: Iterable[str], test_texts: Sequence[str]) -> OverlapAudit:
    """The test rows whose ``match_key`` is also a train text's."""
    seen = {match_key(t) for t in train_texts} - {""}
    rows = tuple(i for i, t in enumerate(test_texts) if match_key(t) in seen)
    return OverlapAudit(len(seen), len(test_texts), rows,
                        tuple(test_texts[i] for i in rows[:SHOWN]))


def audit(data: TaskData) -> OverlapAudit:
    """The overlap audit of a task's loaded splits (``n_train``: its train rows)."""
    found = test_overlap([e.text for e in data.train], [e.text for e in data.test])
    return dataclasses.replace(found, n_train=len(data.train))


def without_test_overlap(data: TaskData) -> TaskData:
    """``data`` with the test rows that also occur in train left out; its ``fingerprint`` is
    that of the splits evaluated on, so results on the cleaned split never pass for results on
    the whole one. ``data`` itself when nothing overlaps."""
    rows = set(audit(data).test_rows)
    if not rows:
        return data
    test = tuple(e for i, e in enumerate(data.test) if i not in rows)
    return dataclasses.replace(data, test=test, fingerprint=fingerprint(data.train, test))


def evaluation_data(data: TaskData, keep_test_overlap: bool) -> TaskData:
    """The splits a cell is scored on: the whole test split with ``keep_test_overlap``, else
    the test split without the rows that also occur in train."""
    return data if keep_test_overlap else without_test_overlap(data)


test_overlap.__test__ = False  # type: ignore[attr-defined]  # not a pytest test when imported
