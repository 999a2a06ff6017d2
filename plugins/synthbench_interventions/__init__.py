"""Curation interventions run between generation and training (METHOD.md §4): ``dedup``,
``label_replacement`` and ``oos_filter``, each reporting what it changed."""

from __future__ import annotations

from collections.abc import Callable

from synthbench import InterventionSpec, hookimpl
from synthbench_interventions.dedup import Dedup
from synthbench_interventions.label_replacement import LabelReplacement
from synthbench_interventions.oos_filter import OosFilter

__all__ = ["Dedup", "LabelReplacement", "OosFilter"]


@hookimpl
def synthbench_register_interventions(register: Callable[[InterventionSpec], None]) -> None:
    register(InterventionSpec(
        "dedup", Dedup,
        "drop exact (normalised text) and near duplicates (MiniLM cosine >= tau); keeps pairs"))
    register(InterventionSpec(
        "label_replacement", LabelReplacement,
        "relabel with the oracle (k=all) or per-class linear SVC proxies trained on k items "
        "inspected by the oracle (Chung et al. 2023)", inspection_param="k"))
    register(InterventionSpec(
        "oos_filter", OosFilter,
        "remove out-of-scope texts: classifier trained on a sample marked by the provider "
        "as LLM judge (Chung et al. 2023)", calls_provider=True))
