"""synthbench: how useful is LLM-written training data for text classification, and why."""

from __future__ import annotations

import pluggy

from synthbench.plugins import Plugins, load_plugins
from synthbench.types import (
    Capability,
    CellConfig,
    ClassifierSpec,
    Completion,
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
    SynthbenchError,
    Task,
    Usage,
)

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("synthbench")

__all__ = [
    "Capability",
    "CellConfig",
    "ClassifierSpec",
    "Completion",
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
    "Message",
    "Plugins",
    "Provider",
    "ProviderSpec",
    "Subjectivity",
    "SynthbenchError",
    "Task",
    "Usage",
    "hookimpl",
    "load_plugins",
]
