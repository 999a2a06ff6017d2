"""Recomputing a stored cell's numbers from its stored texts and the real data its seed draws,
for ``synthbench validate``: each recomputable classifier is refitted with the run's own
``fit_and_score`` on the synthetic texts and on the cell's real sample, and the data metrics
that need no model (or only the embedder) are measured again. A number that differs from the
recomputed one by more than its tolerance is a problem line naming the field. The utility must
be its stored F1s' ratio exactly, so with both F1s recomputed it is recomputed too."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthbench import metrics
from synthbench.data import TaskData, load_task_data
from synthbench.errors import SynthbenchError
from synthbench.metrics.equivalence import LearningCurve, curve_key, real_equivalent_n
from synthbench.metrics.headroom import gap_closed
from synthbench.overlap import evaluation_data
from synthbench.plugins import Plugins
from synthbench.record import CellConfig
from synthbench.run.fitting import fit_and_score, real_sample
from synthbench.run.headroom import CEILINGS, ceiling_name, fit_ceiling, task_chance
from synthbench.run.mixing import mix_real, score_mixed
from synthbench.run.stages import real_sample as cell_real_sample
from synthbench.types import Example, Task

SCORE_TOLERANCE = 2e-3  # macro-F1 / accuracy: a few test predictions flipped by another BLAS
UTILITY_TOLERANCE = 5e-3  # the gain of a mix: a difference of two F1s
EMBEDDING_TOLERANCE = 1e-3  # float32 embeddings on another CPU or library build
EXACT = 1e-9  # a number that follows from other stored numbers by arithmetic
LEXICAL = {"distinct_1": lambda t: metrics.distinct_n(t, 1),
           "distinct_2": lambda t: metrics.distinct_n(t, 2),
           "distinct_3": lambda t: metrics.distinct_n(t, 3),
           "compression_ratio": metrics.compression_ratio}
EMBEDDED = {"remote_clique": metrics.remote_clique, "chamfer": metrics.chamfer}


@dataclass
class Outcome:
    """What recomputing one cell found: problems, and what it could not recompute and why."""

    problems: list[str] = field(default_factory=list)
    not_recomputed: list[str] = field(default_factory=list)
    recomputed: list[str] = field(default_factory=list)


def _close(stored: Any, value: float | None, tolerance: float) -> bool:
    if value is None or stored is None:
        return value is None and stored is None
    return math.isclose(float(stored), value, abs_tol=tolerance)


def _fmt(value: Any) -> str:
    return "none" if value is None else f"{float(value):.6f}"


def _mismatch(where: str, stored: Any, value: float | None, source: str) -> str:
    return f"{where} {_fmt(stored)} does not match {_fmt(value)} recomputed from {source}"


def _numbers(prefix: str, stored: Any, fresh: Any) -> Iterator[tuple[str, Any, Any]]:
    """(path, stored, recomputed) for every number of ``fresh`` in both trees."""
    if isinstance(fresh, Mapping):
        for key, value in fresh.items():
            yield from _numbers(f"{prefix}.{key}", stored.get(key)
                                if isinstance(stored, Mapping) else None, value)
    elif isinstance(fresh, (int, float)) and not isinstance(fresh, bool):
        yield prefix, stored, fresh


class Recomputer:
    """Refits and remeasures cells of one results folder; task data is loaded once per task."""

    def __init__(self, plugins: Plugins, data_dir: Path | None, results: Path) -> None:
        self.plugins = plugins
        self.data_dir = data_dir
        self.results = results
        self._data: dict[str, TaskData | str] = {}

    def task_data(self, task: Task) -> TaskData | str:
        """The task's real data, or why it cannot be loaded."""
        if task.id not in self._data:
            try:
                self._data[task.id] = load_task_data(task, self.data_dir)
            except SynthbenchError as exc:
                self._data[task.id] = str(exc)
        return self._data[task.id]

    def cell(self, record: Mapping[str, Any], config: CellConfig,
             examples: Sequence[Example], texts_file: str) -> Outcome:
        """Recompute what the stored texts and the real data give for this cell."""
        out = Outcome()
        self._lexical(record, [e.text for e in examples], texts_file, out)
        if config.task not in self.plugins.tasks.ids():
            out.not_recomputed.append(f"classifier scores and data metrics (task {config.task} "
                                      "is not registered by an installed plugin)")
            return out
        task = self.plugins.tasks.get(config.task)
        data = self.task_data(task)
        if isinstance(data, str):
            out.problems.append(f"cannot recompute its scores: {data}")
            return out
        stored_print = (record.get("data") or {}).get("fingerprint")
        if stored_print != data.fingerprint:
            out.problems.append(f"data.fingerprint {str(stored_print)[:12]}… is not that of the "
                                f"real data here ({data.fingerprint[:12]}…): its scores cannot "
                                "be recomputed")
            return out
        # A record from before the overlap audit (no data.test_overlap) was scored on the
        # whole test split: it is recomputed as what it is until it is re-scored.
        whole = config.keep_test_overlap or "test_overlap" not in (record.get("data") or {})
        data = evaluation_data(data, whole)
        try:
            real = cell_real_sample(task, data, config)
        except (ValueError, SynthbenchError) as exc:
            out.problems.append(f"config.n {config.n} cannot be drawn from the real data ({exc})")
            return out
        for key, value in (("n_real", len(real)), ("n_test", len(data.test))):
            if record.get(key) != value:
                out.problems.append(f"{key} {record.get(key)!r} is not the {value} its config "
                                    "and the real data give")
        for classifier, stored in sorted(record["classifiers"].items()):
            self._classifier(classifier, stored, config, task, data, examples, real, out)
        self._embedded(record, examples, real, data, out)
        return out

    def _lexical(self, record: Mapping[str, Any], texts: list[str], texts_file: str,
                 out: Outcome) -> None:
        stored = record["metrics"]["diversity"]["synthetic"]
        for key, fn in LEXICAL.items():
            if stored.get(key) is not None:
                value = float(fn(texts))
                if not _close(stored[key], value, EXACT):
                    out.problems.append(_mismatch(f"metrics.diversity.synthetic.{key}",
                                                  stored[key], value, texts_file))
        out.recomputed.append("text metrics")

    def _classifier(self, classifier: str, stored: Mapping[str, Any], config: CellConfig,
                    task: Task, data: TaskData, examples: Sequence[Example],
                    real: Sequence[Example], out: Outcome) -> None:
        where = f"classifiers.{classifier}"
        self._arithmetic(where, stored, task, data, out)
        if classifier not in self.plugins.classifiers.ids():
            out.not_recomputed.append(f"{classifier} (no installed plugin registers it)")
            return
        spec = self.plugins.classifiers.get(classifier)
        if not spec.recomputable:
            out.not_recomputed.append(f"{classifier} (its plugin declares it not recomputable: "
                                      "stochastic, GPU or paid)")
            return
        labels = task.label_names
        fresh = {"synthetic": fit_and_score(spec.factory(config.seed), examples, data.test,
                                            labels),
                 "real": fit_and_score(spec.factory(config.seed), real, data.test, labels)}
        for side, scores in fresh.items():
            kept = stored[side]
            if kept.get("n_train") != scores.n_train:
                out.problems.append(f"{where}.{side}.n_train {kept.get('n_train')!r} is not the "
                                    f"{scores.n_train} texts it is fitted on")
            for name in ("macro_f1", "accuracy"):
                value = getattr(scores, name)
                if not _close(kept.get(name), value, SCORE_TOLERANCE):
                    out.problems.append(_mismatch(f"{where}.{side}.{name}", kept.get(name), value,
                                                  "the stored texts" if side == "synthetic"
                                                  else "the cell's real sample"))
        for k, mixed in sorted((stored.get("mixed") or {}).items()):
            again = score_mixed(spec.factory, config.seed,
                                mix_real(examples, data.train, labels, int(k), config.seed),
                                data.test, labels).to_json()
            for path, kept_value, value in _numbers(f"{where}.mixed.{k}", mixed, again):
                if not _close(kept_value, float(value), UTILITY_TOLERANCE):
                    out.problems.append(_mismatch(path, kept_value, float(value),
                                                  "the refitted mix"))
        if stored.get("agreement") is not None:
            out.not_recomputed.append(f"{classifier} agreement curve")
        out.recomputed.append(classifier)

    def _arithmetic(self, where: str, stored: Mapping[str, Any], task: Task, data: TaskData,
                    out: Outcome) -> None:
        """Fields that follow from other stored numbers and the real data: utility, N_eq on
        its curve, and chance, ceiling and gap closed where a record has them."""
        syn, real = stored["synthetic"].get("macro_f1"), stored["real"].get("macro_f1")
        ratio = syn / real if syn is not None and real else None
        if not _close(stored.get("utility"), ratio, EXACT):
            out.problems.append(f"{where}.utility {_fmt(stored.get('utility'))} is not its stored "
                                f"synthetic / real macro-F1 ({_fmt(ratio)})")
        if stored.get("ceiling") is not None or stored.get("chance_macro_f1") is not None:
            self._headroom(where, stored, task, data, syn, out)
        n_eq = stored.get("n_eq")
        if isinstance(n_eq, Mapping) and syn is not None:
            self._n_eq(where, n_eq, float(syn), out)

    def _headroom(self, where: str, stored: Mapping[str, Any], task: Task, data: TaskData,
                  syn: float | None, out: Outcome) -> None:
        """Chance recomputed exactly, the ceiling read from its stored fit under
        ``ceilings/``, and gap closed as their arithmetic."""
        chance, ceiling = stored.get("chance_macro_f1"), stored.get("ceiling")
        exact = task_chance(task, data)
        if not _close(chance, exact, EXACT):
            out.problems.append(_mismatch(f"{where}.chance_macro_f1", chance, exact,
                                          "the real data's label prior and test labels"))
        if not isinstance(ceiling, Mapping):
            out.problems.append(f"{where}.ceiling is not a stored ceiling fit")
            return
        if ceiling.get("not_fitted") is not None:
            if stored.get("gap_closed") is not None or ceiling.get("macro_f1") is not None:
                out.problems.append(f"{where}.ceiling is marked not fitted but has a figure")
            return
        name = str(ceiling.get("file", ""))
        path = self.results / CEILINGS / name
        if "/" in name or name.startswith(".") or not path.is_file() or path.is_symlink():
            out.problems.append(f"{where}.ceiling.file {name!r} is not a file under ceilings/")
            return
        from synthbench.store import read_json

        fitted = read_json(path)
        for key in ("macro_f1", "n_train"):
            if not isinstance(fitted, Mapping) or fitted.get(key) != ceiling.get(key):
                out.problems.append(f"{where}.ceiling.{key} {ceiling.get(key)!r} is not the "
                                    f"one in ceilings/{name}")
                return
        gap = gap_closed(syn, exact, ceiling.get("macro_f1"))
        if not _close(stored.get("gap_closed"), gap, EXACT):
            out.problems.append(_mismatch(f"{where}.gap_closed", stored.get("gap_closed"), gap,
                                          "its macro-F1, chance and ceiling"))

    def _n_eq(self, where: str, n_eq: Mapping[str, Any], syn: float, out: Outcome) -> None:
        name = str(n_eq.get("curve", ""))
        path = self.results / "curves" / name
        if "/" in name or name.startswith(".") or not path.is_file() or path.is_symlink():
            out.problems.append(f"{where}.n_eq.curve {name!r} is not a file under curves/")
            return
        from synthbench.store import read_json

        try:
            curve = LearningCurve.from_json(read_json(path))
        except (SynthbenchError, KeyError, TypeError, ValueError):
            out.problems.append(f"{where}.n_eq.curve {name} is not a learning curve")
            return
        fresh = {**real_equivalent_n(curve, syn).to_json(), "curve": name}
        for path_, kept, value in _numbers(f"{where}.n_eq", n_eq, fresh):
            if not _close(kept, float(value), EXACT):
                out.problems.append(_mismatch(path_, kept, float(value), f"curves/{name}"))

    def _embedded(self, record: Mapping[str, Any], examples: Sequence[Example],
                  real: Sequence[Example], data: TaskData, out: Outcome) -> None:
        """Diversity, similarity and leakage with the default embedder, where it is installed."""
        from synthbench.embeddings import default_embedder

        try:
            embedder = default_embedder()
            syn_vecs = embedder.encode([e.text for e in examples])
            real_vecs = embedder.encode([e.text for e in real])
        except SynthbenchError as exc:
            out.not_recomputed.append(f"embedding metrics ({exc})")
            return
        found = record["metrics"]
        sides = {"synthetic": ([e.text for e in examples], syn_vecs),
                 "real": ([e.text for e in real], real_vecs)}
        for side, (texts, vecs) in sides.items():
            stored = found["diversity"][side]
            for key, fn in EMBEDDED.items():
                raw = fn(vecs)
                value = None if raw is None or math.isnan(raw) else float(raw)
                if stored.get(key) is not None and not _close(stored[key], value,
                                                              EMBEDDING_TOLERANCE):
                    out.problems.append(_mismatch(f"metrics.diversity.{side}.{key}",
                                                  stored[key], value, "the embedded texts"))
            if side == "real":
                for key, fn_ in LEXICAL.items():
                    value = float(fn_(texts))
                    if stored.get(key) is not None and not _close(stored[key], value, EXACT):
                        out.problems.append(_mismatch(f"metrics.diversity.real.{key}",
                                                      stored[key], value, "the real sample"))
        similarity = found.get("similarity_to_real") or {}
        for key, value in (("top5_cosine", metrics.top_k_similarity(real_vecs, syn_vecs, k=5)),
                           ("mean_cross_distance",
                            metrics.mean_cross_distance(real_vecs, syn_vecs))):
            if similarity.get(key) is not None and not _close(similarity[key], float(value),
                                                              EMBEDDING_TOLERANCE):
                out.problems.append(_mismatch(f"metrics.similarity_to_real.{key}",
                                              similarity[key], float(value), "the embedded texts"))
        leakage = found.get("leakage") or {}
        if isinstance(leakage.get("threshold"), (int, float)) and leakage.get("share") is not None:
            test_vecs = embedder.encode([e.text for e in data.test])
            share, _ = metrics.leakage(syn_vecs, test_vecs, float(leakage["threshold"]))
            if not _close(leakage["share"], float(share), EMBEDDING_TOLERANCE):
                out.problems.append(_mismatch("metrics.leakage.share", leakage["share"],
                                              float(share), "the embedded texts"))
        out.recomputed.append("embedding metrics")
        out.not_recomputed.append("label accuracy and naturalness (an oracle and a "
                                  "cross-validated probe; not refitted)")


def check_curve(name: str, curve: LearningCurve, plugins: Plugins, data: TaskData,
                task: Task) -> list[str]:
    """Problems of a stored real learning curve: its file name's key and its smallest point,
    refitted (the cheapest), must follow from the real data, scored on the test split the key
    names (the whole one, or the one without rows that also occur in train)."""
    problems = []
    names = {}
    for keep in (True, False):
        scored = evaluation_data(data, keep)
        key = curve_key(scored.fingerprint, curve.classifier, curve.seed, curve.n)
        names[f"{task.id}__{curve.classifier}__s{curve.seed}__{key}.json"] = scored
    data = names.get(name, data)
    if name not in names:
        problems.append(f"file name does not follow from its task, classifier, seed, sizes and "
                        f"the real data (expected {' or '.join(names)})")
    if curve.classifier not in plugins.classifiers.ids() or not curve.n:
        return problems
    spec = plugins.classifiers.get(curve.classifier)
    if not spec.recomputable:
        return problems
    n, stored = curve.n[0], curve.f1[0]
    try:
        sample = real_sample(data.train, task.label_names, n, curve.seed)
    except SynthbenchError as exc:
        return [*problems, f"point n={n} cannot be drawn ({exc})"]
    value = fit_and_score(spec.factory(curve.seed), sample, data.test, task.label_names).macro_f1
    if not _close(stored, value, SCORE_TOLERANCE):
        problems.append(_mismatch(f"points[n={n}].macro_f1", stored, value, "the real data"))
    return problems


def check_ceiling(name: str, stored: Mapping[str, Any], plugins: Plugins, data: TaskData,
                  task: Task) -> list[str]:
    """Problems of a stored ceiling fit: its file name's key must follow from its task,
    classifier, seed, size and the real data, and a recomputable classifier refitted on the
    same texts must give its macro-F1."""
    classifier, seed, n = stored.get("classifier"), stored.get("seed"), stored.get("n_train")
    if not isinstance(classifier, str) or not isinstance(seed, int) or not isinstance(n, int):
        return ["not a ceiling fit (classifier, seed and n_train are needed)"]
    names = {ceiling_name(task, classifier, seed, scored, n): scored
             for scored in (evaluation_data(data, keep) for keep in (False, True))}
    if name not in names:
        return [f"file name does not follow from its task, classifier, seed, size and the "
                f"real data (expected {' or '.join(names)})"]
    data = names[name]
    if classifier not in plugins.classifiers.ids() or \
            not plugins.classifiers.get(classifier).recomputable:
        return []
    value = fit_ceiling(plugins.classifiers.get(classifier).factory(seed), task, data, seed,
                        n).macro_f1
    if not _close(stored.get("macro_f1"), value, SCORE_TOLERANCE):
        return [_mismatch("macro_f1", stored.get("macro_f1"), value, "the real data")]
    return []
