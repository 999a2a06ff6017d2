"""synthbench: how useful is LLM-written training data for text classification, and why.

This module is the whole public surface: plugins, built-in and third-party, import only what
it exports (a test checks the built-in ones).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

from synthbench.calls import (
    CachedProvider,
    CacheSettings,
    CallContext,
    CallError,
    LayeredProvider,
    RequestLayer,
    classify_status,
    redact,
)
from synthbench.calls.backend import Backend, BatchBackend, BatchState, Price, Reply
from synthbench.data import TaskData, balanced_quota, sample_per_label
from synthbench.embeddings import DEFAULT_EMBEDDER, default_embedder, default_model_path
from synthbench.errors import SynthbenchError
from synthbench.generation import (
    REFUSAL,
    PromptGenerator,
    ShowsExamples,
    examples_of,
    parse_label,
    parse_text,
    request_labels,
    request_seed,
    word_cap,
)
from synthbench.metrics.copies import copies_of_train
from synthbench.overlap import normalise_text
from synthbench.paths import cache_dir
from synthbench.plugins import Plugins, load_plugins
from synthbench.record import CellConfig, CellRecord
from synthbench.types import (
    Baseline,
    BaselineSpec,
    Capability,
    ClassifierSpec,
    Closeable,
    Completion,
    ContinuationScorer,
    Example,
    GenerationContext,
    GenerationCounts,
    GenerationOutcome,
    GenerationRequest,
    Generator,
    GeneratorSpec,
    HubSource,
    Intervention,
    InterventionContext,
    InterventionOutcome,
    InterventionSpec,
    Label,
    Message,
    Provider,
    ProviderSpec,
    Subjectivity,
    Task,
    Tokenizer,
    Usage,
)

if TYPE_CHECKING:
    from synthbench.testing import MockProvider

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``MockProvider`` on first use: the testing module imports scikit-learn, which a bare
    ``synthbench --help`` should not pay for."""
    if name == "MockProvider":
        from synthbench.testing import MockProvider

        return MockProvider
    raise AttributeError(f"module 'synthbench' has no attribute {name!r}")


hookimpl = pluggy.HookimplMarker("synthbench")

__all__ = [
    "DEFAULT_EMBEDDER",
    "REFUSAL",
    "Backend",
    "Baseline",
    "BaselineSpec",
    "BatchBackend",
    "BatchState",
    "CacheSettings",
    "CachedProvider",
    "CallContext",
    "CallError",
    "Capability",
    "CellConfig",
    "CellRecord",
    "ClassifierSpec",
    "Closeable",
    "Completion",
    "ContinuationScorer",
    "Example",
    "GenerationContext",
    "GenerationCounts",
    "GenerationOutcome",
    "GenerationRequest",
    "Generator",
    "GeneratorSpec",
    "HubSource",
    "Intervention",
    "InterventionContext",
    "InterventionOutcome",
    "InterventionSpec",
    "Label",
    "LayeredProvider",
    "Message",
    "MockProvider",
    "Plugins",
    "Price",
    "PromptGenerator",
    "Provider",
    "ProviderSpec",
    "Reply",
    "RequestLayer",
    "ShowsExamples",
    "Subjectivity",
    "SynthbenchError",
    "Task",
    "TaskData",
    "Tokenizer",
    "Usage",
    "balanced_quota",
    "cache_dir",
    "classify_status",
    "copies_of_train",
    "default_embedder",
    "default_model_path",
    "examples_of",
    "hookimpl",
    "load_plugins",
    "normalise_text",
    "parse_label",
    "parse_text",
    "redact",
    "request_labels",
    "request_seed",
    "sample_per_label",
    "word_cap",
]
