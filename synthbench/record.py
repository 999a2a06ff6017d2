"""The stored cell record: one frozen value per cell, read and written as ``result.json``.

``to_json`` / ``from_json`` round-trip every committed record exactly; fields a newer
synthbench added and this one does not know travel in ``extra``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from synthbench.calls.backend import Price
from synthbench.types import Usage, jsonable

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class CellConfig:
    """Everything that decides a cell's result; nothing that only changes speed.

    ``interventions`` and ``baselines`` are ``(id, full params)`` pairs in the order they
    apply; ``oracle`` is the classifier behind label accuracy and label replacement (``None``:
    the built-in default). ``keep_test_overlap``: score on the whole test split, rows that also
    occur in train included (default: left out). Empty or default ones are left out of the
    record, so cells without them keep their hash.
    """

    model: str
    task: str
    generator: str
    generator_params: Mapping[str, Any]
    n: int
    seed: int
    classifiers: tuple[str, ...]
    oracle_size: int = 4000
    interventions: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    baselines: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    oracle: str | None = None
    keep_test_overlap: bool = False

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = jsonable(self)
        for name in ("interventions", "baselines", "oracle", "keep_test_overlap"):
            if not record[name]:
                del record[name]
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> CellConfig:
        """The config ``to_record`` wrote."""
        return cls(
            model=record["model"], task=record["task"], generator=record["generator"],
            generator_params=dict(record["generator_params"]), n=int(record["n"]),
            seed=int(record["seed"]), classifiers=tuple(record["classifiers"]),
            oracle_size=int(record["oracle_size"]),
            interventions=tuple((s, dict(p)) for s, p in record.get("interventions", ())),
            baselines=tuple((b, dict(p)) for b, p in record.get("baselines", ())),
            oracle=record.get("oracle"),
            keep_test_overlap=bool(record.get("keep_test_overlap", False)))


def _split(data: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """The keys of ``data`` that are not ``names``: kept as ``extra`` so a record written by a
    newer minor version reads back and writes out unchanged."""
    return {k: v for k, v in data.items() if k not in names}


def _present(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


@dataclass(frozen=True)
class FitScores:
    """One classifier fitted on one training set and scored on the real test split; a
    degenerate training set (fewer than two labels) gives ``error`` instead of scores."""

    n_train: int
    macro_f1: float | None = None
    accuracy: float | None = None
    error: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    FIELDS = ("n_train", "macro_f1", "accuracy", "error")

    def to_json(self) -> dict[str, Any]:
        return {**self.extra, **_present(macro_f1=self.macro_f1, accuracy=self.accuracy,
                                         error=self.error), "n_train": self.n_train}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FitScores:
        return cls(int(data["n_train"]), data.get("macro_f1"), data.get("accuracy"),
                   data.get("error"), _split(data, cls.FIELDS))


@dataclass(frozen=True)
class ClassifierResult:
    """One classifier on the cell: fitted on the synthetic texts and, alike, on the same
    number of real ones; ``utility`` is the ratio of their macro-F1."""

    synthetic: FitScores
    real: FitScores
    utility: float | None
    n_eq: Mapping[str, Any] | None = None  # real-data-equivalent size, where it was measured
    mixed: Mapping[str, Mapping[str, Any]] | None = None  # K -> synthetic + K real vs K real
    agreement: Mapping[str, Any] | None = None  # accuracy against annotator agreement (γ)
    extra: Mapping[str, Any] = field(default_factory=dict)
    chance_macro_f1: float | None = None  # expected macro-F1 of a text-blind prior draw
    ceiling: Mapping[str, Any] | None = None  # {macro_f1, n_train, ...} on the whole train split
    gap_closed: float | None = None  # (synthetic F1 - chance) / (ceiling F1 - chance)

    FIELDS = ("synthetic", "real", "utility", "n_eq", "mixed", "agreement", "chance_macro_f1",
              "ceiling", "gap_closed")

    def to_json(self) -> dict[str, Any]:
        headroom = ({} if self.ceiling is None else
                    {"chance_macro_f1": self.chance_macro_f1, "ceiling": dict(self.ceiling),
                     "gap_closed": self.gap_closed})
        return {**self.extra, "synthetic": self.synthetic.to_json(),
                "real": self.real.to_json(), "utility": self.utility,
                **({} if self.n_eq is None else {"n_eq": dict(self.n_eq)}),
                **({} if self.mixed is None else {"mixed": {k: dict(v) for k, v in
                                                            sorted(self.mixed.items())}}),
                **({} if self.agreement is None else {"agreement": dict(self.agreement)}),
                **headroom}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ClassifierResult:
        return cls(FitScores.from_json(data["synthetic"]), FitScores.from_json(data["real"]),
                   data.get("utility"), data.get("n_eq"), data.get("mixed"),
                   data.get("agreement"), _split(data, cls.FIELDS),
                   data.get("chance_macro_f1"), data.get("ceiling"), data.get("gap_closed"))


@dataclass(frozen=True)
class Diversity:
    """Diversity of one set of texts (METHOD.md §6); ``None`` where a set is too small."""

    remote_clique: float | None
    chamfer: float | None
    distinct_1: float | None
    distinct_2: float | None
    distinct_3: float | None
    compression_ratio: float | None

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Diversity:
        return cls(**{f.name: data.get(f.name) for f in dataclasses.fields(cls)})


@dataclass(frozen=True)
class LabelAccuracy:
    """Share of synthetic texts whose intended label the oracle predicts, and the oracle."""

    value: float | None
    oracle: str
    oracle_test_macro_f1: float

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LabelAccuracy:
        return cls(data.get("value"), str(data["oracle"]), float(data["oracle_test_macro_f1"]))


@dataclass(frozen=True)
class DataMetrics:
    """What the synthetic texts are like, next to the real sample of the same size."""

    synthetic_diversity: Diversity
    real_diversity: Diversity
    label_accuracy: LabelAccuracy
    similarity_to_real: Mapping[str, Any]
    leakage: Mapping[str, Any]
    embedder: Mapping[str, Any]
    naturalness: Mapping[str, Any] | None = None  # two-sample AUC; records before it lack it
    train_copies: Mapping[str, Any] | None = None  # copies of train / prompt texts; likewise
    extra: Mapping[str, Any] = field(default_factory=dict)

    FIELDS = ("diversity", "label_accuracy", "similarity_to_real", "leakage", "embedder",
              "naturalness", "train_copies")

    def to_json(self) -> dict[str, Any]:
        return {**self.extra,
                "diversity": {"synthetic": self.synthetic_diversity.to_json(),
                              "real": self.real_diversity.to_json()},
                "label_accuracy": self.label_accuracy.to_json(),
                "similarity_to_real": dict(self.similarity_to_real),
                "leakage": dict(self.leakage), "embedder": dict(self.embedder),
                **({} if self.naturalness is None else {"naturalness": dict(self.naturalness)}),
                **({} if self.train_copies is None
                   else {"train_copies": dict(self.train_copies)})}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DataMetrics:
        return cls(Diversity.from_json(data["diversity"]["synthetic"]),
                   Diversity.from_json(data["diversity"]["real"]),
                   LabelAccuracy.from_json(data["label_accuracy"]),
                   data["similarity_to_real"], data["leakage"], data["embedder"],
                   data.get("naturalness"), data.get("train_copies"),
                   _split(data, cls.FIELDS))


@dataclass(frozen=True)
class Cost:
    """Tokens of a cell's generation and their price (``usd`` is None when unpriced). The
    oldest records lack ``cached_input_tokens`` and ``batch_discount`` (``None`` here)."""

    input_tokens: int
    cached_input_tokens: int | None
    output_tokens: int
    usd: float | None
    price_per_million_tokens: Mapping[str, Any] | None
    batch_discount: bool | None

    @classmethod
    def of(cls, usage: Usage, price: Price | None, batch: bool = False) -> Cost:
        return cls(usage.input_tokens, usage.cached_input_tokens, usage.output_tokens,
                   None if price is None else round(price.cost(usage, batch), 6),
                   None if price is None else price.as_dict(), batch)

    def to_json(self) -> dict[str, Any]:
        return {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                "usd": self.usd, "price_per_million_tokens": self.price_per_million_tokens,
                **_present(cached_input_tokens=self.cached_input_tokens,
                           batch_discount=self.batch_discount)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Cost:
        return cls(int(data.get("input_tokens") or 0), data.get("cached_input_tokens"),
                   int(data.get("output_tokens") or 0), data.get("usd"),
                   data.get("price_per_million_tokens"), data.get("batch_discount"))


@dataclass(frozen=True)
class GenerationRecord:
    """How a cell's texts were made: generator, provider, counts, usage, request counters.
    Stored on its own as ``generation.json`` the moment the texts exist."""

    generation_key: str
    generator: Mapping[str, Any]  # {"id", "params"}
    provider: Mapping[str, Any]  # the provider's describe()
    served_models: tuple[str, ...]
    quota: Mapping[str, int]
    counts: Mapping[str, int]  # GenerationCounts.as_dict() (older records lack newer keys)
    usage: Mapping[str, int]  # input_tokens, cached_input_tokens, output_tokens
    requests: Mapping[str, Any] | None = None
    generator_meta: Mapping[str, Any] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    FIELDS = ("generation_key", "generator", "provider", "served_models", "quota", "counts",
              "usage", "requests", "generator_meta")

    def to_json(self) -> dict[str, Any]:
        return {**self.extra, "generation_key": self.generation_key,
                "generator": dict(self.generator), "provider": dict(self.provider),
                "served_models": list(self.served_models), "quota": dict(self.quota),
                "counts": dict(self.counts), "usage": dict(self.usage),
                **_present(requests=self.requests, generator_meta=self.generator_meta)}

    @property
    def tokens(self) -> Usage:
        return Usage(int(self.usage.get("input_tokens", 0)),
                     int(self.usage.get("output_tokens", 0)),
                     int(self.usage.get("cached_input_tokens", 0)))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GenerationRecord:
        return cls(str(data["generation_key"]), data["generator"], data["provider"],
                   tuple(data.get("served_models", ())), data.get("quota", {}),
                   data["counts"], data.get("usage", {}), data.get("requests"),
                   data.get("generator_meta"), _split(data, cls.FIELDS))


@dataclass(frozen=True)
class CurationRecord:
    """What a cell's interventions did, step by step (``steps``: id, params, n_in, n_out,
    usage, seconds, report). Stored on its own as ``curation.json``."""

    curation_key: str
    n_raw: int
    n_curated: int
    steps: tuple[Mapping[str, Any], ...]

    def to_json(self) -> dict[str, Any]:
        return {"curation_key": self.curation_key, "n_raw": self.n_raw,
                "n_curated": self.n_curated, "steps": [dict(s) for s in self.steps]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CurationRecord:
        return cls(str(data["curation_key"]), int(data["n_raw"]), int(data["n_curated"]),
                   tuple(data["steps"]))


@dataclass(frozen=True)
class BaselineResult:
    """A baseline's scores on the real test split, with its full parameters."""

    id: str
    params: Mapping[str, Any]
    macro_f1: float
    accuracy: float
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {**self.extra, "id": self.id, "params": dict(self.params),
                "macro_f1": self.macro_f1, "accuracy": self.accuracy}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BaselineResult:
        return cls(str(data["id"]), dict(data["params"]), float(data["macro_f1"]),
                   float(data["accuracy"]),
                   _split(data, ("id", "params", "macro_f1", "accuracy")))


@dataclass(frozen=True)
class DeclaredSubjectivity:
    """The task's subjectivity as its plugin declares it, copied into every record."""

    declared: float
    source: str
    provisional: bool

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DeclaredSubjectivity:
        return cls(float(data["declared"]), str(data["source"]), bool(data["provisional"]))


@dataclass(frozen=True)
class Provenance:
    """What ran the cell: package and plugin versions, problems loading plugins, platform."""

    packages: Mapping[str, str]
    plugins: tuple[Mapping[str, Any], ...]
    plugin_problems: tuple[str, ...]
    python: str
    platform: str
    created: str

    def to_json(self) -> dict[str, Any]:
        return {"packages": dict(self.packages), "plugins": [dict(p) for p in self.plugins],
                "plugin_problems": list(self.plugin_problems), "python": self.python,
                "platform": self.platform, "created": self.created}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Provenance:
        return cls(data["packages"], tuple(data["plugins"]), tuple(data["plugin_problems"]),
                   str(data["python"]), str(data["platform"]), str(data["created"]))


@dataclass(frozen=True)
class CellRecord:
    """One finished cell (``result.json``): its config, how its texts were made and curated,
    every classifier's scores, the data's metrics, cost, baselines and provenance.

    ``to_json``/``from_json`` round-trip the stored JSON exactly; keys this version does not
    know are kept in ``extra``. ``schema_version`` above ``SCHEMA_VERSION`` is refused.
    """

    cell: str
    generation_key: str
    config_hash: str
    config: CellConfig
    task: Mapping[str, Any]
    subjectivity: DeclaredSubjectivity
    generation: GenerationRecord
    classifiers: Mapping[str, ClassifierResult]
    metrics: DataMetrics
    n_synthetic: int
    n_real: int
    n_test: int
    cost: Cost
    data: Mapping[str, Any]
    provenance: Provenance
    timings: Mapping[str, float]
    curation: CurationRecord | None = None
    baselines: Mapping[str, BaselineResult] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION
    extra: Mapping[str, Any] = field(default_factory=dict)

    FIELDS = ("cell", "generation_key", "config_hash", "config", "task", "subjectivity",
              "generation", "classifiers", "metrics", "n_synthetic", "n_real", "n_test", "cost",
              "data", "provenance", "timings", "interventions", "n_raw_synthetic", "baselines",
              "schema_version")

    def to_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            **self.extra, "schema_version": self.schema_version, "cell": self.cell,
            "generation_key": self.generation_key, "config_hash": self.config_hash,
            "config": self.config.to_record(), "task": dict(self.task),
            "subjectivity": self.subjectivity.to_json(), "generation": self.generation.to_json(),
            "classifiers": {c: r.to_json() for c, r in sorted(self.classifiers.items())},
            "metrics": self.metrics.to_json(), "n_synthetic": self.n_synthetic,
            "n_real": self.n_real, "n_test": self.n_test, "cost": self.cost.to_json(),
            "data": dict(self.data), "provenance": self.provenance.to_json(),
            "timings": dict(self.timings)}
        if self.curation is not None:
            record["interventions"] = self.curation.to_json()
            record["n_raw_synthetic"] = self.curation.n_raw
        if self.baselines:
            record["baselines"] = {b: r.to_json() for b, r in sorted(self.baselines.items())}
        return record

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CellRecord:
        """The record ``to_json`` wrote; ``KeyError``/``TypeError``/``ValueError`` when it is
        not one (the store turns that into a one-line error naming the file)."""
        curation = data.get("interventions")
        return cls(
            cell=str(data["cell"]), generation_key=str(data["generation_key"]),
            config_hash=str(data["config_hash"]), config=CellConfig.from_record(data["config"]),
            task=data["task"], subjectivity=DeclaredSubjectivity.from_json(data["subjectivity"]),
            generation=GenerationRecord.from_json(data["generation"]),
            classifiers={c: ClassifierResult.from_json(r)
                         for c, r in data["classifiers"].items()},
            metrics=DataMetrics.from_json(data["metrics"]), n_synthetic=int(data["n_synthetic"]),
            n_real=int(data["n_real"]), n_test=int(data["n_test"]),
            cost=Cost.from_json(data["cost"]), data=data["data"],
            provenance=Provenance.from_json(data["provenance"]), timings=data["timings"],
            curation=None if curation is None else CurationRecord.from_json(curation),
            baselines={b: BaselineResult.from_json(r)
                       for b, r in (data.get("baselines") or {}).items()},
            schema_version=int(data["schema_version"]), extra=_split(data, cls.FIELDS))
