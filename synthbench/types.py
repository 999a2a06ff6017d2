"""Plain data types that travel between stages: tasks, requests, completions, specs, cells.

Everything here is a frozen value, so a later stage can never change what an earlier one
produced; the runner is the only place that knows the order in which they are made.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

SCHEMA_VERSION = 1


class Capability:
    """Names a provider lists in ``Provider.capabilities``; a generator that needs one the
    provider lacks refuses with one line instead of silently ignoring it."""

    SEED = "seed"
    MULTI_TURN = "multi_turn"
    BATCH = "batch"
    LOGIT_BIAS = "logit_bias"
    LOGPROBS = "logprobs"
    N = "n"
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
        """Provenance: served model, weights checksum, library versions."""
        ...


@dataclass(frozen=True)
class ProviderSpec:
    """A provider plugin: ``factory(model_name)`` builds a provider for ``id/model_name``."""

    id: str
    factory: Callable[[str], Provider]
    description: str = ""
    requires_key: str | None = None


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
    """A generator plugin: ``factory(**params)`` builds a configured generator."""

    id: str
    factory: Callable[..., Generator]
    description: str = ""


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
    """An intervention plugin: ``factory(**params)`` builds a configured intervention."""

    id: str
    factory: Callable[..., Intervention]
    description: str = ""


@runtime_checkable
class ContinuationScorer(Protocol):
    """A provider that can score given assistant replies (``Capability.LOGPROBS``)."""

    def score_continuations(self, messages: Sequence[Message], continuations: Sequence[str]
                            ) -> list[float]:
        """The summed log-probability of each continuation as the assistant's reply."""
        ...


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
