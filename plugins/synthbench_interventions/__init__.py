"""Curation interventions run between generation and training (METHOD.md §4): ``dedup``,
``label_replacement``, ``oos_filter``, and the filters ``copy_filter``, ``language_check``,
``prompt_echo`` and ``refusal_filter``; each reports what it changed."""

from __future__ import annotations

from collections.abc import Callable

from synthbench import InterventionSpec, hookimpl
from synthbench_interventions.copy_filter import CopyFilter
from synthbench_interventions.dedup import Dedup
from synthbench_interventions.label_replacement import LabelReplacement
from synthbench_interventions.language_check import LanguageCheck
from synthbench_interventions.oos_filter import OosFilter
from synthbench_interventions.prompt_echo import PromptEcho
from synthbench_interventions.refusal_filter import RefusalFilter

__all__ = ["CopyFilter", "Dedup", "LabelReplacement", "LanguageCheck", "OosFilter",
           "PromptEcho", "RefusalFilter"]


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
    register(InterventionSpec(
        "copy_filter", CopyFilter,
        "drop texts that copy a real training text: exact (normalised) or near (MiniLM "
        "cosine >= tau); keeps the matched train texts"))
    register(InterventionSpec(
        "language_check", LanguageCheck,
        "drop texts with letters outside the task's script(s) (Unicode names; e.g. CJK in "
        "an English task)"))
    register(InterventionSpec(
        "prompt_echo", PromptEcho,
        "drop texts that repeat the instruction: instruction phrases or a long n-gram of "
        "the task's prompt wording"))
    register(InterventionSpec(
        "refusal_filter", RefusalFilter,
        "drop refusals, with the detector parse_text uses at generation"))
