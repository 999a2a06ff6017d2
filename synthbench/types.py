"""The contract: plain data types that travel between stages, the protocols plugins
implement, and the typed cell record.

Everything here is a frozen value, so a later stage can never change what an earlier one
produced; the runner is the only place that knows the order in which they are made. Optional
protocols (``Tokenizer``, ``Closeable``, ``ContinuationScorer``, ``CallSizeHint``,
``RequestCounter``, ``Priced``, ``BatchBackend``) name everything a caller may ask of an object
beyond its main protocol: callers check them with ``isinstance``, never by probing attributes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from synthbench.calls.context import CallContext

SCHEMA_VERSION = 1
BATCH_DISCOUNT = 0.5  # both OpenAI's Batch API and Anthropic's Message Batches halve the price


class Capability:
    """Names a provider lists in ``Provider.capabilities``; a generator that needs one the
    provider lacks refuses with one line instead of silently ignoring it."""

    SEED = "seed"
    MULTI_TURN = "multi_turn"
    BATCH = "batch"
    LOGIT_BIAS = "logit_bias"
    LOGPROBS = "logprobs"
    BATCH_API = "batch_api"
    TOKENIZE = "tokenize"


class SynthbenchError(Exception):
    """An error the user can fix; the CLI prints its message as one line and exits non-zero."""


@dataclass(frozen=True)
class Label:
    """One class of a task; ``description`` is the phrase a prompt uses for it."""

    name: str
    description: str


@dataclass(frozen=True)
class Subjectivity:
    """How subjective a task is: 0 = most objective, 1 = most subjective, with its source."""

    score: float
    source: str
    provisional: bool = True


@dataclass(frozen=True)
class HubSource:
    """Where a user with internet loads a task's real data through ``datasets.load_dataset``.

    ``splits`` maps synthbench's split names ("train", "test") to the hub's. When the hub has
    no test split, ``test_fraction`` carves one from train with a fixed seed. ``label_names``
    maps hub label values to synthbench label names (default: the ClassLabel names, or the
    values themselves). ``prepare`` may reshape a loaded split before the fields are read.
    """

    id: str
    config: str | None = None
    splits: Mapping[str, str] = field(default_factory=lambda: {"train": "train", "test": "test"})
    text_field: str = "text"
    label_field: str = "label"
    label_names: Mapping[Any, str] | None = None
    test_fraction: float | None = None
    prepare: Callable[[Any], Any] | None = None


@dataclass(frozen=True)
class Task:
    """A text-classification task: what to generate, and where its real data lies.

    ``attributes`` are optional prompt dimensions (AttrPrompt: subtopic, style, ...) and their
    values, for the ``attributed`` generator; left out of the record when empty.
    ``agreement_field`` names the field of the real data rows (kept in ``Example.meta``) that
    holds per-instance annotator agreement (Li's a_i), for instance-level subjectivity.
    """

    id: str
    name: str
    labels: tuple[Label, ...]
    text_type: str
    context: str
    word_limit: int
    subjectivity: Subjectivity
    hub: HubSource | None = None
    local_dir: str = ""
    citation: str = ""
    description: str = ""
    attributes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    agreement_field: str | None = None

    @property
    def label_names(self) -> tuple[str, ...]:
        return tuple(label.name for label in self.labels)

    @property
    def data_dir_name(self) -> str:
        """Folder under the offline data directory that holds ``{train,test}.jsonl``."""
        return self.local_dir or self.id

    def label(self, name: str) -> Label:
        for label in self.labels:
            if label.name == name:
                return label
        raise SynthbenchError(f"task {self.id!r} has no label {name!r}")

    def to_record(self) -> dict[str, Any]:
        """The constructor arguments as JSON-ready data (callables by qualified name); empty
        ``attributes`` are left out, so tasks without them keep their generation keys, and so
        is ``agreement_field``: it does not decide any text, so declaring it keeps every key."""
        record: dict[str, Any] = _jsonable(self)
        if not record["attributes"]:
            del record["attributes"]
        del record["agreement_field"]
        return record


@dataclass(frozen=True)
class Example:
    """One labelled text, real or generated; ``meta`` carries provenance such as the request."""

    text: str
    label: str
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Message:
    role: str
    content: str


@dataclass(frozen=True)
class GenerationRequest:
    """One call to a provider. ``sample_index`` tells apart repeated identical prompts.

    ``logit_bias`` pairs the provider's own token ids with an additive bias on their logits
    (needs ``Capability.LOGIT_BIAS``).
    """

    messages: tuple[Message, ...]
    max_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int = 0
    sample_index: int = 0
    logit_bias: tuple[tuple[int, float], ...] = ()


@dataclass(frozen=True)
class Usage:
    """Tokens of one or more calls; ``cached_input_tokens`` is the part of the input the
    provider served from its prompt cache (billed differently)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cached_input_tokens + other.cached_input_tokens,
        )


@dataclass(frozen=True)
class Completion:
    """What a provider returned for one request, and which model actually served it.

    A request that failed every attempt comes back empty with ``finish_reason``
    ``"error: <kind>: <reason>"`` (``failed`` says so), and is counted, never kept."""

    text: str
    model: str
    usage: Usage = Usage()
    finish_reason: str = "stop"

    @property
    def failed(self) -> bool:
        return self.finish_reason.startswith("error: ")


@runtime_checkable
class Provider(Protocol):
    """An LLM behind one model id. ``complete`` answers requests in order, one each."""

    @property
    def model_id(self) -> str: ...

    @property
    def capabilities(self) -> frozenset[str]: ...

    def complete(self, requests: Sequence[GenerationRequest]) -> list[Completion]: ...

    def describe(self) -> dict[str, Any]:
        """Provenance: served model, weights checksum, library versions, and the price as
        ``price_per_million_tokens`` (``Price.as_dict()``) where one is known."""
        ...


@runtime_checkable
class Tokenizer(Protocol):
    """A provider that gives its own token ids (``Capability.TOKENIZE``), e.g. for logit bias."""

    def tokenize(self, text: str) -> list[int]: ...


@runtime_checkable
class Closeable(Protocol):
    """Anything holding a resource (a model, a connection, a cache file); the workspace that
    built it calls ``close`` once when the run ends."""

    def close(self) -> None: ...


@runtime_checkable
class ContinuationScorer(Protocol):
    """A provider that can score given assistant replies (``Capability.LOGPROBS``)."""

    def score_continuations(self, messages: Sequence[Message], continuations: Sequence[str]
                            ) -> list[float]:
        """The summed log-probability of each continuation as the assistant's reply."""
        ...


@runtime_checkable
class CallSizeHint(Protocol):
    """A provider that wants many requests per ``complete`` call (an API behind the request
    layer, which bounds what is in flight itself). A constant: it never changes which
    requests a cell sends, only how they are grouped."""

    @property
    def requests_per_call(self) -> int: ...


@runtime_checkable
class RequestCounter(Protocol):
    """A provider that counts its calls: ``calls`` (requests, cache hits, provider calls,
    retries, failures by kind) and ``served`` (served model -> responses)."""

    def request_stats(self) -> dict[str, dict[str, int]]: ...


@runtime_checkable
class Priced(Protocol):
    """A provider that knows what a call costs (``None``: unknown) and whether it is sent at
    the batch discount."""

    @property
    def price(self) -> Price | None: ...

    @property
    def batch(self) -> bool: ...


@dataclass(frozen=True)
class Price:
    """Dollars per million tokens: fresh input, input served from the prompt cache, output."""

    input: float
    output: float
    cached_input: float | None = None
    source: str = ""

    def cost(self, usage: Usage, batch: bool = False) -> float:
        """Dollars for ``usage``; cached input at its own rate (the input rate if none)."""
        cached = self.input if self.cached_input is None else self.cached_input
        fresh = max(0, usage.input_tokens - usage.cached_input_tokens)
        usd = (fresh * self.input + usage.cached_input_tokens * cached
               + usage.output_tokens * self.output) / 1e6
        return usd * (BATCH_DISCOUNT if batch else 1.0)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, stated: Any) -> Price | None:
        """A price as ``as_dict`` wrote it (e.g. in a stored ``describe()``), else ``None``."""
        if not isinstance(stated, Mapping) or "input" not in stated or "output" not in stated:
            return None
        cached = stated.get("cached_input")
        return cls(float(stated["input"]), float(stated["output"]),
                   None if cached is None else float(cached), str(stated.get("source", "")))


@dataclass(frozen=True)
class Reply:
    """One successful API call: the completion, and the response headers (rate limits)."""

    completion: Completion
    headers: Mapping[str, str] = field(default_factory=dict)
    fingerprint: str = ""

    @property
    def served(self) -> str:
        """The served model, with the system fingerprint where the provider gave one."""
        model = self.completion.model
        return f"{model} {self.fingerprint}" if self.fingerprint else model


@dataclass(frozen=True)
class BatchState:
    """Where a provider's batch job is: finished or not, and its own words for it."""

    done: bool
    state: str


class Backend(Protocol):
    """One SDK behind one API model: ``call`` sends one request with the SDK's retries off and
    raises ``synthbench.CallError`` on failure; the request layer does everything else."""

    async def call(self, request: GenerationRequest, timeout: float) -> Reply: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class BatchBackend(Protocol):
    """A backend with a batch API (OpenAI Batch, Anthropic Message Batches). Items are
    ``(custom id, request)``; results map custom ids to a reply or a ``CallError``."""

    async def submit_batch(self, items: Sequence[tuple[str, GenerationRequest]]) -> str: ...

    async def poll_batch(self, job_id: str) -> BatchState: ...

    async def collect_batch(self, job_id: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class ProviderSpec:
    """A provider plugin: ``factory(model_name, calls)`` builds a provider for
    ``id/model_name`` with the run's ``CallContext`` (cache, send settings, shared limits).

    ``identity(model_name)``, when given, names what decides a model's samples besides the
    request (an engine, its version, a compute type), cheaply and without loading weights;
    a non-empty identity becomes part of every cell's generation key. ``paid``: its calls
    cost money, so unattended runs (the pytest gates) use it only on explicit opt-in.
    ``models``, when given, lists the models it serves offline for ``synthbench list models``
    (rows with ``id``, ``size``, ``engine``, ``installed``, ``note``; cheap: no weights).
    """

    id: str
    factory: Callable[[str, CallContext], Provider]
    description: str = ""
    identity: Callable[[str], Mapping[str, Any]] | None = None
    paid: bool = False
    models: Callable[[], Sequence[Mapping[str, str]]] | None = None


@dataclass
class GenerationCounts:
    """Per-cell bookkeeping: every request ends as kept, or counted under a reason."""

    requested: int = 0
    requests_sent: int = 0
    kept: int = 0
    parse_failures: int = 0
    refusals: int = 0
    empty: int = 0
    truncated: int = 0
    shortfall: int = 0
    failed: int = 0  # requests the provider never answered (every retry failed)

    def reject(self, reason: str) -> None:
        """Count one completion that gave no text under its reason: ``refusal``, ``empty``,
        ``parse_failure`` or ``failed``."""
        name = {"refusal": "refusals", "empty": "empty", "parse_failure": "parse_failures",
                "failed": "failed"}[reason]
        setattr(self, name, getattr(self, name) + 1)

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class GenerationContext:
    """What a generator may use: the task, a provider, real training data, and the quota."""

    task: Task
    provider: Provider
    train: Sequence[Example]
    per_label: Mapping[str, int]
    seed: int
    progress: Callable[[int], None] = lambda n: None


@dataclass(frozen=True)
class GenerationOutcome:
    """A generator's texts and counts; ``meta`` is JSON data the runner stores with them
    (e.g. the attribute values an LLM proposed, the final logit bias)."""

    examples: tuple[Example, ...]
    counts: GenerationCounts
    usage: Usage
    meta: Mapping[str, Any] = field(default_factory=dict)


class Generator(Protocol):
    """A prompting/decoding strategy that turns a provider into labelled texts."""

    def get_params(self) -> dict[str, Any]: ...

    def generate(self, ctx: GenerationContext) -> GenerationOutcome: ...


@dataclass(frozen=True)
class GeneratorSpec:
    """A generator plugin: ``factory(**params)`` builds a configured generator.

    ``requires`` names the provider capabilities it cannot work without; a cell whose
    provider lacks one is refused before any cell starts. ``real_data``: whether its prompts
    quote real training texts (``None``: not declared), for dataset cards.
    """

    id: str
    factory: Callable[..., Generator]
    description: str = ""
    requires: frozenset[str] = frozenset()
    real_data: bool | None = None


@dataclass(frozen=True)
class ClassifierSpec:
    """A downstream classifier: ``factory(random_state)`` returns an unfitted sklearn estimator.

    The estimator follows scikit-learn conventions (``fit(texts, labels)``, ``predict``,
    ``classes_``, ``get_params``) so the runner can ``clone`` a fresh one per fit.
    """

    id: str
    factory: Callable[[int], Any]
    description: str = ""


@dataclass(frozen=True)
class InterventionContext:
    """What an intervention may use besides the texts: the task, real training data, a
    seed, and lazy factories for the oracle (a classifier fitted on real training data), the
    sentence embedder and the cell's provider (e.g. for an LLM judge)."""

    task: Task
    train: Sequence[Example]
    seed: int
    oracle: Callable[[], Any]
    embedder: Callable[[], Any]
    provider: Callable[[], Provider]
    log: Callable[[str], None] = lambda line: None


@dataclass(frozen=True)
class InterventionOutcome:
    """The texts an intervention kept (in input order) and a JSON report of what it changed."""

    examples: tuple[Example, ...]
    report: Mapping[str, Any]
    usage: Usage = Usage()


class Intervention(Protocol):
    """A curation step between generation and training: texts in, texts out, a report."""

    def get_params(self) -> dict[str, Any]: ...

    def apply(self, examples: Sequence[Example], ctx: InterventionContext
              ) -> InterventionOutcome: ...


@dataclass(frozen=True)
class InterventionSpec:
    """An intervention plugin: ``factory(**params)`` builds a configured intervention.

    ``calls_provider``: it sends requests to the cell's provider (an LLM judge), so a dry run
    rehearses it to count them. ``inspection_param``: the parameter that counts the items a
    person inspects (Chung's k), which makes the step a candidate for the break-even analysis
    against a baseline that declares ``break_even_reference``.
    """

    id: str
    factory: Callable[..., Intervention]
    description: str = ""
    calls_provider: bool = False
    inspection_param: str | None = None


class Baseline(Protocol):
    """A reference that uses no synthetic data: the provider itself classifies the real test
    split. ``run`` returns JSON data with at least ``macro_f1`` and ``accuracy``."""

    def get_params(self) -> dict[str, Any]: ...

    def run(self, provider: Provider, task: Task, train: Sequence[Example],
            test: Sequence[Example], seed: int) -> dict[str, Any]: ...


@dataclass(frozen=True)
class BaselineSpec:
    """A baseline plugin: ``factory(**params)`` builds a configured baseline.

    ``break_even_reference``: the leaderboard reports the smallest number of inspected items
    at which curated synthetic data beats this baseline (Chung et al.'s break-even).
    """

    id: str
    factory: Callable[..., Baseline]
    description: str = ""
    break_even_reference: bool = False


@dataclass(frozen=True)
class CellConfig:
    """Everything that decides a cell's result; nothing that only changes speed.

    ``interventions`` and ``baselines`` are ``(id, full params)`` pairs in the order they
    apply; empty ones are left out of the record, so cells without them keep their hash.
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

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = _jsonable(self)
        for name in ("interventions", "baselines"):
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
            baselines=tuple((b, dict(p)) for b, p in record.get("baselines", ())))


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

    def to_json(self) -> dict[str, Any]:
        return {**self.extra, "synthetic": self.synthetic.to_json(),
                "real": self.real.to_json(), "utility": self.utility,
                **({} if self.n_eq is None else {"n_eq": dict(self.n_eq)}),
                **({} if self.mixed is None else {"mixed": {k: dict(v) for k, v in
                                                            sorted(self.mixed.items())}}),
                **({} if self.agreement is None else {"agreement": dict(self.agreement)})}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ClassifierResult:
        return cls(FitScores.from_json(data["synthetic"]), FitScores.from_json(data["real"]),
                   data.get("utility"), data.get("n_eq"), data.get("mixed"),
                   data.get("agreement"),
                   _split(data, ("synthetic", "real", "utility", "n_eq", "mixed", "agreement")))


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
    extra: Mapping[str, Any] = field(default_factory=dict)

    FIELDS = ("diversity", "label_accuracy", "similarity_to_real", "leakage", "embedder",
              "naturalness")

    def to_json(self) -> dict[str, Any]:
        return {**self.extra,
                "diversity": {"synthetic": self.synthetic_diversity.to_json(),
                              "real": self.real_diversity.to_json()},
                "label_accuracy": self.label_accuracy.to_json(),
                "similarity_to_real": dict(self.similarity_to_real),
                "leakage": dict(self.leakage), "embedder": dict(self.embedder),
                **({} if self.naturalness is None else {"naturalness": dict(self.naturalness)})}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DataMetrics:
        return cls(Diversity.from_json(data["diversity"]["synthetic"]),
                   Diversity.from_json(data["diversity"]["real"]),
                   LabelAccuracy.from_json(data["label_accuracy"]),
                   data["similarity_to_real"], data["leakage"], data["embedder"],
                   data.get("naturalness"), _split(data, cls.FIELDS))


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


def _jsonable(value: Any) -> Any:
    """Dataclasses, mappings and sequences as JSON data; callables by qualified name."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if callable(value):
        return f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', repr(value))}"
    return value
