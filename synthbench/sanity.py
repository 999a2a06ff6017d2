"""What a submitted results file must be before anything reads it: a regular file (no symlink,
device or FIFO) under a size bound, UTF-8 JSON with finite numbers and bounded nesting, whose
scores, shares and counts lie in their ranges and whose plugin ids are plain. Each failure is
one ``Refused`` line naming the field, for ``synthbench validate``."""

from __future__ import annotations

import json
import math
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

MAX_FILE_BYTES = 8 * 1024 * 1024  # the largest committed results file is ~0.2 MB
MAX_DEPTH = 64
SAFE_ID = re.compile(r"[A-Za-z0-9_.:/-]{1,200}")
UNIT = frozenset({"macro_f1", "accuracy", "share", "auc", "f1", "chance_macro_f1", "ceiling",
                  "oracle_test_macro_f1", "distinct_1", "distinct_2", "distinct_3"})
NON_NEGATIVE = frozenset({"n", "seed", "oracle_size", "usd", "utility", "compression_ratio",
                          "remote_clique", "chamfer", "mean_cross_distance", "threshold",
                          "seconds", "judgments", "parsed", "unparsable", "failed", "requests"})
COUNTS = frozenset({"counts", "label_counts", "quota", "usage", "calls"})
FINITE = frozenset({"gap_closed", "tau", "top5_cosine", "score", "auc_std"})


class Refused(Exception):
    """One line saying why a submitted file or value is refused."""


def read_bytes(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of ``path`` if it is a regular file (not a symlink) of at most ``limit``."""
    try:
        info = os.lstat(path)
    except OSError as exc:
        raise Refused(f"{path.name} cannot be read ({exc.strerror or type(exc).__name__})"
                      ) from None
    if stat.S_ISLNK(info.st_mode):
        raise Refused(f"{path.name} is a symlink (a submission holds regular files only)")
    if not stat.S_ISREG(info.st_mode):
        raise Refused(f"{path.name} is not a regular file")
    if info.st_size > limit:
        raise Refused(f"{path.name} is {info.st_size} bytes, over the {limit}-byte bound")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise Refused(f"{path.name} cannot be read ({exc.strerror or type(exc).__name__})"
                      ) from None
    if len(data) > limit:
        raise Refused(f"{path.name} grew over the {limit}-byte bound while read")
    return data


def _constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name}")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"non-finite number {text}")
    return value


def parse_json(data: bytes, name: str) -> Any:
    """JSON with finite numbers only and at most ``MAX_DEPTH`` levels of nesting."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(f"{name} is not UTF-8") from None
    depth = level = 0
    for char in text:  # bounds nesting before the recursive parser sees it
        if char in "[{":
            level += 1
            depth = max(depth, level)
        elif char in "]}":
            level -= 1
    if depth > MAX_DEPTH:
        raise Refused(f"{name} nests {depth} levels deep (at most {MAX_DEPTH})")
    try:
        return json.loads(text, parse_constant=_constant, parse_float=_float)
    except (ValueError, RecursionError) as exc:
        raise Refused(f"{name} is not valid JSON ({exc})") from None


def read_json_file(path: Path) -> Any:
    return parse_json(read_bytes(path), path.name)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def range_problems(value: Any) -> list[str]:
    """One line per number out of its range (F1s, accuracies, shares in [0, 1]; sizes, counts,
    tokens, cost and utility >= 0; everything finite) or field that should be a number."""
    problems = []
    for path, (leaf, parent), item in _leaves(value):
        expects = (leaf in UNIT or leaf in NON_NEGATIVE or leaf in FINITE or parent in COUNTS
                   or leaf.startswith("n_") or leaf.endswith("_tokens"))
        if not expects or item is None:
            continue
        if not _is_number(item):
            problems.append(f"{path} {_short(item)} is not a number")
        elif not math.isfinite(item):
            problems.append(f"{path} {item} is not finite")
        elif leaf in UNIT and not 0 <= item <= 1:
            problems.append(f"{path} {item} is outside [0, 1]")
        elif leaf not in UNIT and leaf not in FINITE and item < 0:
            problems.append(f"{path} {item} is negative")
    return problems


def _leaves(value: Any, path: str = "", keys: tuple[str, str] = ("", "")
            ) -> Iterator[tuple[str, tuple[str, str], Any]]:
    """(path, (key, parent key), value) for every leaf; list items keep their list's key."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else str(key), (str(key), keys[0]))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _leaves(item, f"{path}[{i}]", keys)
    else:
        yield path, keys, value


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 40 else text[:37] + "..."


def plain_id(value: Any) -> bool:
    """Whether ``value`` is an id a page, a file name and a shell can carry as it is."""
    return isinstance(value, str) and SAFE_ID.fullmatch(value) is not None


def plain_folder_name(value: Any) -> bool:
    """Whether ``value`` names one folder inside another (no separator, not . or ..)."""
    return (isinstance(value, str) and value not in ("", ".", "..")
            and re.fullmatch(r"[A-Za-z0-9_.-]{1,200}", value) is not None)
