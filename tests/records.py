"""Building cell records for leaderboard tests: a whole, valid record with the few fields a
test cares about set, so tests exercise the same ``CellRecord`` the runner writes."""

from __future__ import annotations

from typing import Any

from synthbench.record import CellRecord


def cell_record(task: str, seed: int, *, model: str = "m", generator: str = "zero_shot",
                params: dict[str, Any] | None = None, n: int = 100,
                interventions: list[Any] | None = None, f1: float = 0.5, real_f1: float = 1.0,
                classifier: str = "tfidf_lr", baselines: dict[str, Any] | None = None,
                declared: float = 0.1, cell: str | None = None, usd: float = 0.0
                ) -> CellRecord:
    config: dict[str, Any] = {"model": model, "task": task, "generator": generator,
                              "generator_params": params or {"temperature": 1.0}, "n": n,
                              "seed": seed, "classifiers": [classifier], "oracle_size": 100}
    if interventions:
        config["interventions"] = interventions
    diversity = {"remote_clique": 0.5, "chamfer": 0.3, "distinct_1": 0.5, "distinct_2": 0.8,
                 "distinct_3": 0.9, "compression_ratio": 2.0}
    return CellRecord.from_json({
        "schema_version": 1, "cell": cell or f"{task}-{seed}-{interventions}",
        "generation_key": "g", "config_hash": "h", "config": config, "task": {"id": task},
        "subjectivity": {"declared": declared, "source": "test", "provisional": True},
        "generation": {"generation_key": "g", "generator": {"id": generator, "params": {}},
                       "provider": {}, "served_models": [model], "quota": {},
                       "counts": {"requested": n, "kept": n}, "usage": {}},
        "classifiers": {classifier: {"synthetic": {"macro_f1": f1, "accuracy": f1,
                                                   "n_train": n},
                                     "real": {"macro_f1": real_f1, "accuracy": real_f1,
                                              "n_train": n},
                                     "utility": f1 / real_f1}},
        "metrics": {"diversity": {"synthetic": diversity, "real": diversity},
                    "label_accuracy": {"value": 0.9, "oracle": "o",
                                       "oracle_test_macro_f1": 0.8},
                    "similarity_to_real": {}, "leakage": {}, "embedder": {}},
        "n_synthetic": n, "n_real": n, "n_test": 10,
        "cost": {"input_tokens": 0, "output_tokens": 10, "usd": usd,
                 "price_per_million_tokens": None},
        "data": {}, "provenance": {"packages": {}, "plugins": [], "plugin_problems": [],
                                   "python": "3", "platform": "p", "created": "now"},
        "timings": {}, "baselines": baselines or {}})
