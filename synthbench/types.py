"""The plugin contract: the plain values that travel between stages and the protocols plugins
implement; with ``hookspecs.py`` it is all a plugin author needs to read.

Everything here is a frozen value, so a later stage can never change what an earlier one
produced. Optional protocols (``Tokenizer``, ``Closeable``, ``ContinuationScorer``,
``CallSizeHint``, ``RequestCounter``) name what a caller may ask beyond the main protocol (an
``isinstance`` check). The stored record is ``record.py``; API backends ``calls/backend.py``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from synthbench.errors import SynthbenchError


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
        record: dict[str, Any] = jsonable(self)
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


class ProviderFactory(Protocol):
    """Builds the provider of one model name with the run's ``synthbench.CallContext``, which
    the contract passes through unread, so it does not depend on the request layer."""

    def __call__(self, model_name: str, calls: Any, /) -> Provider: ...


@dataclass(frozen=True)
class ProviderSpec:
    """A provider plugin: ``factory(model_name, calls)`` builds a provider for
    ``id/model_name`` with the run's ``CallContext`` (cache, send settings, shared limits).

    ``identity(model_name, options)`` names what decides a model's samples besides the
    request (engine, version, compute type), cheaply; a non-empty identity joins every cell's
    generation key. ``options``: the ``-P KEY=VALUE`` settings it takes (key -> help), passed
    to ``identity`` and, as ``calls.provider_options``, to the factory. ``paid``: unattended
    runs (pytest gates) use it only on opt-in. ``models`` lists offline models for ``synthbench
    list models`` (``id``, ``size``, ``engine``, ``installed``, ``note``; no weights loaded);
    ``install(model_name, force)`` installs a model's weights, returning a one-line summary.
    """

    id: str
    factory: ProviderFactory
    description: str = ""
    identity: Callable[[str, Mapping[str, str]], Mapping[str, Any]] | None = None
    paid: bool = False
    models: Callable[[], Sequence[Mapping[str, str]]] | None = None
    options: Mapping[str, str] = field(default_factory=dict)
    install: Callable[[str, bool], str] | None = None


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


class Configurable(Protocol):
    """A component built from keyword parameters that reports all of them, defaults included
    (scikit-learn's ``get_params``), so a cell records exactly what ran."""

    def get_params(self) -> dict[str, Any]: ...


class Generator(Configurable, Protocol):
    """A prompting/decoding strategy that turns a provider into labelled texts."""

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
    """A downstream classifier: ``factory(random_state)`` returns an unfitted scikit-learn
    style estimator (``fit``, ``predict``, ``classes_``, ``get_params``), cloned per fit.
    ``recomputable``: refitting it on the same texts gives the same scores on a CPU in seconds,
    so ``synthbench validate`` re-checks it (stochastic, GPU or paid ones say ``False``).
    ``ceiling_cap``: the most real examples its ceiling fit takes (a slow fit states less)."""

    id: str
    factory: Callable[[int], Any]
    description: str = ""
    recomputable: bool = True
    ceiling_cap: int = 10_000


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


class Intervention(Configurable, Protocol):
    """A curation step between generation and training: texts in, texts out, a report."""

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


class Baseline(Configurable, Protocol):
    """A reference that uses no synthetic data: the provider itself classifies the real test
    split. ``run`` returns JSON data with at least ``macro_f1`` and ``accuracy``."""

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



def jsonable(value: Any) -> Any:
    """Dataclasses, mappings and sequences as JSON data; callables by qualified name."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if callable(value):
        return f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', repr(value))}"
    return value
