"""Li et al.'s pairwise subjectivity protocol, answered by an LLM judge (METHOD.md §2).

For every pair of tasks the judge sees both task cards — name, text type, the labels with
their descriptions and a few real training examples per label — under Li's definition of
objectivity, and answers which task is more objective. Choices made here:

- every pair in both orders (A/B swapped), ``samples`` times per order; sample k shows each
  task with its own seeded draw of examples (the same card in both orders and in every pair),
  so repeated judgments differ by what the judge is shown, also for a deterministic judge;
- the answer is read from the log-probabilities of the replies "A" and "B" where the provider
  can score replies (``Capability.LOGPROBS`` and ``ContinuationScorer``), else from the text of
  a greedy reply: "A"/"B" at the start, else the only one of "A"/"B" named as a standalone
  letter; anything else is counted as unparsable, never guessed;
- every judgment has a content key (judge, weights identity, method, prompt, sample): scored
  judgments are cached under it in the request cache, generated ones go through the
  provider's own cache, and a stored record's judgments are reused by it, so a re-run calls
  nothing and a task added later only costs its new pairs.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

from synthbench.data import sample_per_label
from synthbench.errors import SynthbenchError
from synthbench.subjectivity import bradley_terry as bt
from synthbench.subjectivity import store
from synthbench.subjectivity.scoring import CachedScorer, can_score, weights_identity
from synthbench.types import Example, GenerationRequest, Message, Provider, Task

PROTOCOL_VERSION = 1
OBJECTIVITY = (
    "A text classification task is objective when the class of a text rests on clear, "
    "identifiable features of the text itself, such as keywords or phrases, and not on "
    "personal interpretation, biases, emotions or beliefs. It is subjective when people "
    "could reasonably disagree about the class because deciding it takes interpretation."
)
SYSTEM = "You compare text classification tasks and answer with a single letter."
QUESTION = ("Which of the two tasks is more objective, A or B? Answer with one letter: "
            "A or B.")
CHUNK = 32  # generated judgments per provider call: a killed run loses at most this many


@dataclass(frozen=True)
class ProtocolSettings:
    """How judgments are made. ``samples`` = judgments per pair and order (default 3: with
    both orders that is 6 per pair, 630 for the 15 built-in tasks, as many as Li et al.'s
    540 crowd judgments of 10 tasks); ``rounds`` only changes the intervals' precision."""

    samples: int = 3
    examples_per_label: int = 2
    example_words: int = 30
    temperature: float = 0.0
    max_tokens: int = 8
    seed: int = 0
    method: str = "auto"  # auto | logprobs | text
    rounds: int = bt.BOOTSTRAP

    def __post_init__(self) -> None:
        if self.samples < 1 or self.examples_per_label < 0 or self.example_words < 1:
            raise SynthbenchError("subjectivity: samples >= 1, examples_per_label >= 0 and "
                                  "example_words >= 1 are required")
        if self.method not in ("auto", "logprobs", "text"):
            raise SynthbenchError(f"subjectivity method must be auto, logprobs or text, not "
                                  f"{self.method!r}")
        if self.rounds < 0 or self.max_tokens < 1:
            raise SynthbenchError("subjectivity: rounds >= 0 and max_tokens >= 1 are required")

    def judging(self) -> dict[str, Any]:
        """What decides a judgment (everything but ``rounds``): part of the record key."""
        params = asdict(self)
        del params["rounds"]
        return {"version": PROTOCOL_VERSION, **params}


def _cap(text: str, words: int) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" …" if len(parts) > words else "")


def task_card(task: Task, train: Sequence[Example], settings: ProtocolSettings,
              sample: int) -> str:
    """What the judge reads about one task; sample k draws its own seeded examples."""
    rng = random.Random(f"synthbench-subjectivity:{settings.seed}:{task.id}:{sample}")
    quota = {label: settings.examples_per_label for label in task.label_names}
    chosen = sample_per_label(train, quota, rng) if settings.examples_per_label else []
    lines = [f"Name: {task.name}", f"Texts: {task.text_type}"]
    if task.description:
        lines.append(f"Description: {task.description}")
    lines.append("Labels:")
    lines += [f"- {label.name}: {label.description}" for label in task.labels]
    if chosen:
        lines.append("Examples:")
        order = {name: i for i, name in enumerate(task.label_names)}
        for example in sorted(chosen, key=lambda e: order[e.label]):
            lines.append(f'- [{example.label}] "{_cap(example.text, settings.example_words)}"')
    return "\n".join(lines)


def pair_messages(card_a: str, card_b: str) -> tuple[Message, ...]:
    """The question for one ordered pair: card A is shown first."""
    user = (f"Definition: {OBJECTIVITY}\n\nTask A\n{card_a}\n\nTask B\n{card_b}\n\n{QUESTION}")
    return (Message("system", SYSTEM), Message("user", user))


_LEAD = re.compile(r"^\W*(?:(?i:answer|task|option)\W*)?([AB])(?![A-Za-z0-9])")
_LETTER = re.compile(r"(?<![A-Za-z0-9])([AB])(?![A-Za-z0-9])")
_BOTH = re.compile(r"(?<![A-Za-z0-9])([AB])\s*(?:or|and|/|,|vs\.?)\s*([AB])(?![A-Za-z0-9])")


def parse_choice(text: str) -> str | None:
    """``"A"`` or ``"B"`` from a reply, else ``None`` (unparsable): a bare letter (either
    case), a reply that starts with the capital letter (optionally after "Answer:", "Task"),
    else one that names exactly one of the two letters as a standalone capital; "A or B" and
    the like are unparsable."""
    bare = text.strip(" \t\n.:*\"'()")
    if bare in ("a", "b"):
        return bare.upper()
    if _BOTH.search(text):
        return None
    lead = _LEAD.match(text.strip())
    if lead is not None:
        return lead.group(1).upper()
    found = set(_LETTER.findall(text))
    return found.pop() if len(found) == 1 else None


@dataclass(frozen=True)
class Slot:
    """One judgment to make: ``first`` is shown as A."""

    first: str
    second: str
    sample: int


def design(task_ids: Sequence[str], samples: int) -> list[Slot]:
    """Every pair, both orders, ``samples`` each, in a fixed order."""
    slots = []
    for a, b in combinations(sorted(task_ids), 2):
        for sample in range(samples):
            slots += [Slot(a, b, sample), Slot(b, a, sample)]
    return slots


def method_for(provider: Provider, requested: str) -> str:
    """``logprobs`` where the provider can score replies (``auto``), else ``text``."""
    if requested == "logprobs" and not can_score(provider):
        raise SynthbenchError(f"judge {provider.model_id} cannot score replies; use "
                              "--method text")
    if requested == "auto":
        return "logprobs" if can_score(provider) else "text"
    return requested


@dataclass
class Tally:
    """Where the judgments came from in this run."""

    reused: int = 0
    cached: int = 0
    called: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class Judge:
    """The judge and what decides its answers; answers slots through cache and provider."""

    provider: Provider
    settings: ProtocolSettings
    method: str = ""
    identity: Any = None
    tally: Tally = field(default_factory=Tally)
    scorer: CachedScorer | None = None

    def __post_init__(self) -> None:
        self.method = method_for(self.provider, self.settings.method)
        self.identity = weights_identity(self.provider)
        if self.method == "logprobs":
            self.scorer = CachedScorer(self.provider)

    def request(self, messages: tuple[Message, ...], sample: int) -> GenerationRequest:
        return GenerationRequest(messages, max_tokens=self.settings.max_tokens,
                                 temperature=self.settings.temperature, seed=self.settings.seed,
                                 sample_index=sample)

    def key(self, messages: tuple[Message, ...], sample: int) -> str:
        """The judgment's content address, by which stored records are reused."""
        payload = {"kind": "synthbench-subjectivity-judgment", "judge": self.provider.model_id,
                   "identity": self.identity, "method": self.method,
                   "messages": [[m.role, m.content] for m in messages], "sample": sample,
                   **({} if self.method == "logprobs" else
                      {"max_tokens": self.settings.max_tokens,
                       "temperature": self.settings.temperature, "seed": self.settings.seed})}
        text = json.dumps(payload, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()

    def answer(self, items: Sequence[tuple[str, tuple[Message, ...], int]],
               progress: Callable[[int], None]) -> dict[str, dict[str, Any]]:
        """Judgments by key for ``(key, messages, sample)`` items not answered yet."""
        if self.scorer is not None:
            out = {}
            for key, messages, _ in items:
                out[key] = _from_scores(self.scorer.score(messages, ["A", "B"]))
                progress(1)
            self.tally.cached += self.scorer.hits
            self.tally.called += self.scorer.calls
            return out
        return self._generate(items, progress)

    def _generate(self, items: Sequence[tuple[str, tuple[Message, ...], int]],
                  progress: Callable[[int], None]) -> dict[str, dict[str, Any]]:
        out = {}
        for start in range(0, len(items), CHUNK):
            chunk = items[start:start + CHUNK]
            completions = self.provider.complete([self.request(m, s) for _, m, s in chunk])
            if len(completions) != len(chunk):
                raise SynthbenchError(f"judge {self.provider.model_id} answered "
                                      f"{len(completions)} of {len(chunk)} requests")
            for (key, _, _), completion in zip(chunk, completions, strict=True):
                self.tally.called += 1
                if completion.failed:
                    self.tally.failed += 1
                    out[key] = {"answer": None, "reason": "failed",
                                "reply": completion.finish_reason[:120]}
                    continue
                choice = parse_choice(completion.text)
                out[key] = {"answer": choice, "reply": completion.text[:120],
                            **({} if choice else {"reason": "unparsable"})}
            progress(len(chunk))
        return out

    def close(self) -> None:
        if self.scorer is not None:
            self.scorer.close()


def _from_scores(scores: Sequence[float]) -> dict[str, Any]:
    """A verdict from the summed log-probabilities of "A" and "B"; an exact tie is unparsable."""
    a, b = float(scores[0]), float(scores[1])
    top = max(a, b)
    p_first = math.exp(a - top) / (math.exp(a - top) + math.exp(b - top))
    answer = "A" if a > b else "B" if b > a else None
    return {"answer": answer, "p_first": round(p_first, 6), "logprobs": [a, b],
            **({} if answer else {"reason": "tie"})}


def measure(provider: Provider, tasks: Sequence[Task], train: Mapping[str, Sequence[Example]],
            settings: ProtocolSettings | None = None, out: Path | None = None,
            log: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Judge every pair of ``tasks``, fit Bradley–Terry, and return (and, with ``out``, store
    under ``out/subjectivity/``) the versioned record. Judgments found in earlier records of
    the same judge and protocol under ``out`` are reused, not asked again."""
    settings = settings or ProtocolSettings()
    if len({t.id for t in tasks}) != len(tasks) or len(tasks) < 2:
        raise SynthbenchError("subjectivity needs at least two distinct tasks")
    started = time.perf_counter()
    by_id = {t.id: t for t in tasks}
    judge = Judge(provider, settings)
    try:
        cards = {(t.id, k): task_card(t, train[t.id], settings, k)
                 for t in tasks for k in range(settings.samples)}
        slots = design(list(by_id), settings.samples)
        keyed = []
        for slot in slots:
            messages = pair_messages(cards[(slot.first, slot.sample)],
                                     cards[(slot.second, slot.sample)])
            keyed.append((slot, judge.key(messages, slot.sample), messages))
        prior = store.prior_judgments(out, provider.model_id, settings.judging()) \
            if out is not None else {}
        answers: dict[str, dict[str, Any]] = {}
        todo = []
        queued: set[str] = set()
        for slot, key, messages in keyed:
            old = prior.get(key)
            if old is not None and old.get("reason") != "failed":
                answers[key] = {k: v for k, v in old.items()
                                if k not in ("first", "second", "sample", "key")}
                judge.tally.reused += 1
            elif key not in answers and key not in queued:
                queued.add(key)
                todo.append((key, messages, slot.sample))
        log(f"subjectivity: {len(tasks)} tasks, {len(slots)} judgments "
            f"({judge.tally.reused} from stored records, {len(todo)} to answer) by "
            f"{provider.model_id} ({judge.method})")
        done = [0]
        step = max(1, len(todo) // 20)

        def progress(n: int) -> None:
            before, done[0] = done[0], done[0] + n
            if done[0] // step != before // step or done[0] == len(todo):
                log(f"subjectivity: {done[0]}/{len(todo)} judgments "
                    f"({time.perf_counter() - started:.0f} s)")

        answers.update(judge.answer(todo, progress))
    finally:
        judge.close()
    judgments = [{"first": slot.first, "second": slot.second, "sample": slot.sample,
                  "key": key, **answers[key]} for slot, key, _ in keyed]
    record = build_record(provider, judge.method, tasks, settings, judgments)
    record["run"] = {**judge.tally.as_dict(), "seconds": round(time.perf_counter() - started, 1)}
    if out is not None:
        record["path"] = str(store.write_record(out, record))
    return record


def verdicts_of(judgments: Sequence[Mapping[str, Any]]) -> list[bt.Verdict]:
    """The parsed judgments as verdicts (unparsable and failed ones left out)."""
    return [bt.Verdict(j["first"], j["second"],
                       j["first"] if j["answer"] == "A" else j["second"], j["sample"])
            for j in judgments if j.get("answer") in ("A", "B")]


def build_record(provider: Provider, method: str, tasks: Sequence[Task],
                 settings: ProtocolSettings, judgments: Sequence[Mapping[str, Any]]
                 ) -> dict[str, Any]:
    """The versioned record: scores with intervals, judge diagnostics, every judgment."""
    verdicts = verdicts_of(judgments)
    ids = sorted(t.id for t in tasks)
    fitted = bt.fit(ids, verdicts, rounds=settings.rounds, seed=settings.seed)
    declared = {t.id: t.subjectivity.score for t in tasks}
    wins = {t: sum(v.winner == t for v in verdicts) for t in ids}
    seen = {t: sum(t in (v.first, v.second) for v in verdicts) for t in ids}
    reasons = [j.get("reason") for j in judgments if j.get("answer") not in ("A", "B")]
    return {
        "schema": store.RECORD_SCHEMA,
        "protocol": settings.judging(),
        "bootstrap_rounds": settings.rounds,
        "judge": {"id": provider.model_id, "method": method,
                  "identity": weights_identity(provider)},
        "tasks": ids,
        "task_set": store.task_set_key(ids),
        "scores": {t: {"score": fitted.scores[t], "ci": list(fitted.intervals[t]),
                       "strength": fitted.strengths[t], "wins": wins[t], "judged": seen[t],
                       "declared": declared[t]} for t in ids},
        "order": sorted(ids, key=lambda t: (fitted.scores[t], t)),
        "position_bias": bt.position_bias(verdicts),
        "order_consistency": bt.order_consistency(verdicts),
        "kendall_tau_vs_declared": bt.kendall_with_ci(fitted, declared),
        "counts": {"judgments": len(judgments), "parsed": len(verdicts),
                   "unparsable": sum(r in ("unparsable", "tie") for r in reasons),
                   "failed": sum(r == "failed" for r in reasons)},
        "scale": f"Bradley–Terry strengths (choix.ilsr_pairwise, alpha={bt.ALPHA:g}) min-max "
                 "scaled: 0 = most objective, 1 = most subjective; 95% intervals: percentile "
                 "bootstrap over judgments, resampled within each pair (pooled when a pair has "
                 "only one)",
        "judgments": list(judgments),
        **_couple_debiased(ids, judgments, settings, declared),
    }


def _couple_debiased(ids: Sequence[str], judgments: Sequence[Mapping[str, Any]],
                     settings: ProtocolSettings, declared: Mapping[str, float]
                     ) -> dict[str, Any]:
    """A second fit for scored judges (``bt.couple_verdicts``: one verdict per couple of
    orders, the position bias cancelled); reported beside the primary fit, and the one the
    leaderboard uses for such judges (``store.chosen_fit``)."""
    verdicts = bt.couple_verdicts(judgments)
    if not verdicts:
        return {}
    fitted = bt.fit(ids, verdicts, rounds=settings.rounds, seed=settings.seed)
    return {"couple_debiased": {
        "scores": {t: {"score": fitted.scores[t], "ci": list(fitted.intervals[t])} for t in ids},
        "order": sorted(ids, key=lambda t: (fitted.scores[t], t)),
        "couples": len(verdicts),
        "kendall_tau_vs_declared": bt.kendall_with_ci(fitted, declared),
        "definition": "per (pair, sample), the task whose logit P(first) was larger "
                      "when shown first wins; a constant position bias cancels",
    }}


def summary(record: Mapping[str, Any]) -> str:
    """The record as a few lines: the order with intervals, then the judge diagnostics."""
    from tabulate import tabulate

    rows = [[t, f"{record['scores'][t]['score']:.2f}",
             "[{:.2f}, {:.2f}]".format(*record["scores"][t]["ci"]),
             f"{record['scores'][t]['declared']:.2f}",
             f"{record['scores'][t]['wins']}/{record['scores'][t]['judged']}"]
            for t in record["order"]]
    lines = [tabulate(rows, headers=["task", "measured", "95% CI", "declared", "wins"],
                      tablefmt="simple", disable_numparse=True), ""]
    bias, cons = record["position_bias"], record["order_consistency"]
    tau, counts = record["kendall_tau_vs_declared"], record["counts"]

    def share(value: Any, ci: Any) -> str:
        if value is None:
            return "–"
        return f"{value:.2f}" + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "")

    lines += [
        f"judge {record['judge']['id']} ({record['judge']['method']}), protocol "
        f"v{record['protocol']['version']}, {record['protocol']['samples']} sample(s) per order",
        f"judgments: {counts['judgments']} ({counts['parsed']} parsed, {counts['unparsable']} "
        f"unparsable, {counts['failed']} failed)",
        f"position bias (share of 'A' = first shown): {share(bias['first_share'], bias['ci'])}",
        f"order consistency (same winner in both orders): "
        f"{share(cons['share'], cons['ci'])} of {cons['n']} couples",
        f"Kendall tau vs declared: {share(tau['tau'], tau['ci'])}",
    ]
    if "couple_debiased" in record:
        debiased = record["couple_debiased"]
        dtau = debiased["kendall_tau_vs_declared"]
        lines.append(f"position bias cancelled per couple ({debiased['couples']} couples; the "
                     f"fit the leaderboard uses): order {', '.join(debiased['order'])}; Kendall "
                     f"tau vs declared {share(dtau['tau'], dtau['ci'])}")
    lines += [f"warning: this judge failed its diagnostics: {w}" for w in
              store.judge_warnings(record)]
    return "\n".join(lines)

