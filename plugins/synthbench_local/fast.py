"""The fast local engine: CTranslate2 int8 generation over a model converted once.

A request with a ``logit_bias``, and label scoring (``score_continuations``), go to the
transformers path of the same weights (loaded on first use), since CTranslate2 has neither.

Batches. CTranslate2 prefills a batch only up to its shortest prompt; every further prompt
token is fed one decoding step at a time, for the whole batch, and each step copies the whole
key/value cache (rows x context). Prompts of unequal length in one batch (few-shot prompts
differ by hundreds of tokens) therefore cost as many extra steps as their spread, each at the
price of a step over the longest context. So a call's requests with equal decoding settings
are sorted by prompt length (ties by a hash of each request) and cut into consecutive
batches that minimise an estimate of that cost (``plan_batches``), each under a key/value
budget. The plan is a function of the call's prompts alone, never of the machine's load.

Seeds: CTranslate2 samples a whole batch from one random stream, seeded once per engine
instance (a thread-local generator seeded when its worker thread first samples). So each
batch runs on an instance that has not sampled yet, seeded from a hash of its requests. The
same call gives the same texts; a request's text depends on its seed and on the requests it
shares a batch with (the runner's calls are deterministic).
"""

from __future__ import annotations

import gc
import hashlib
import json
import math
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import ctranslate2
import transformers
from transformers import AutoConfig, AutoTokenizer

from synthbench import Completion, GenerationRequest, Message, SynthbenchError, Usage, cache_dir
from synthbench_local import embedded, engine
from synthbench_local.base import LocalProvider, available_cores, check_request, count_generated
from synthbench_local.embedded import one_line, quiet_progress
from synthbench_local.models import OfflineModel, transformers_folder
from synthbench_local.provider import TransformersProvider

CT2_MARKER = "synthbench-ct2.json"
QUANTIZATION = "int8"  # stored weights; the compute type is chosen per device at load
SAMPLING = ("ctranslate2 sampling (temperature, top_p, no top-k); one random stream per "
            "batch seeded from sha256 of its requests; a batch is a run of the call's "
            "requests with equal decoding settings sorted by prompt length then hash, cut "
            "where the estimated step cost is least under the KV budget; temperature 0 is "
            "greedy")
# The fixed cost of one decoding step of a batch (weights read, logits, sampling), in units
# of one row's step over one token of context: an estimate that weighs fewer, longer batches
# against more, tighter ones. Part of the scheme: changing it changes the batches.
STEP_COST_TOKENS = 2048


def ct2_dir(label: str, source_identity: str) -> Path:
    """Where the int8 CTranslate2 copy of a model lives (keyed by its source's identity)."""
    digest = hashlib.sha256(source_identity.encode()).hexdigest()[:12]
    return (cache_dir() / "models"
            / f"{label}-ct2-{ctranslate2.__version__}-{QUANTIZATION}-{digest}")


def _marker(source_identity: str) -> dict[str, str]:
    return {"source": source_identity, "ctranslate2": ctranslate2.__version__,
            "quantization": QUANTIZATION}


def is_converted(folder: Path, source_identity: str) -> bool:
    """True when ``folder`` holds a finished conversion of that source by this version."""
    try:
        written = json.loads((folder / CT2_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return written == _marker(source_identity) and all(
        (folder / name).is_file() for name in ("model.bin", "config.json"))


def ensure_ct2(source: str, source_identity: str, label: str, *, rebuild: bool = False
               ) -> Path:
    """The CTranslate2 int8 copy of ``source`` (a transformers folder or hub id), converted
    into a temporary folder and renamed into place when missing, incomplete or ``rebuild``."""
    final = ct2_dir(label, source_identity)
    if not rebuild and is_converted(final, source_identity):
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    staging.chmod(0o755)
    out = staging / "model"
    try:
        try:
            with quiet_progress():
                converter = ctranslate2.converters.TransformersConverter(
                    source, low_cpu_mem_usage=True)
                converter.convert(str(out), quantization=QUANTIZATION)
        except Exception as exc:
            raise SynthbenchError(
                f"converting {source} to CTranslate2 failed: {one_line(exc)}; pass "
                f"-P {engine.ENGINE}=transformers to use the transformers path") from exc
        (out / CT2_MARKER).write_text(json.dumps(_marker(source_identity)) + "\n",
                                      encoding="utf-8")
        for _ in range(5):
            if rebuild:
                embedded._discard(final)
                rebuild = False
            try:
                os.replace(out, final)
                return final
            except OSError:
                if not final.exists():
                    continue
                if is_converted(final, source_identity):
                    return final  # a concurrent process converted it; its copy is as good
                embedded._discard(final)
        raise SynthbenchError(f"could not install the converted model into {final}")
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def request_digest(request: GenerationRequest) -> str:
    """A hash of everything in a request that decides its text (its canonical batch order)."""
    fields = [request.seed, request.sample_index, request.max_tokens, request.temperature,
              request.top_p, [[m.role, m.content] for m in request.messages]]
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode()).hexdigest()


def batch_seed(batch: Sequence[GenerationRequest]) -> int:
    """The 32-bit seed of one batch's random stream, from its requests in batch order."""
    digest = hashlib.sha256("|".join(request_digest(r) for r in batch).encode()).digest()
    return int.from_bytes(digest[:4], "big")


def plan_batches(lengths: Sequence[int], keys: Sequence[str], max_tokens: int,
                 max_rows: int, max_row_tokens: int) -> list[list[int]]:
    """Positions ``0..n-1`` (prompts of ``lengths`` tokens, told apart by ``keys``) cut into
    batches: sorted by (length, key), split into consecutive runs of at most ``max_rows``
    rows and at most ``max_row_tokens`` rows x (longest prompt + ``max_tokens``) tokens of
    key/value cache, choosing the cuts that minimise the estimated decoding cost: a batch
    takes (spread of its prompt lengths + ``max_tokens``) steps, each costing
    ``STEP_COST_TOKENS`` plus its rows x its mean context."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], keys[i]))
    sizes = [lengths[i] for i in order]
    best: list[float] = [0.0] + [math.inf] * len(order)
    cut = [0] * (len(order) + 1)
    for end in range(1, len(order) + 1):
        longest, total = sizes[end - 1], 0
        for start in range(end - 1, -1, -1):
            rows = end - start
            if rows > max(1, max_rows) or (
                    rows > 1 and rows * (longest + max_tokens) > max_row_tokens):
                break
            total += sizes[start]
            steps = longest - sizes[start] + max_tokens
            context = total / rows + steps / 2
            cost = best[start] + steps * (STEP_COST_TOKENS + rows * context)
            if cost < best[end]:
                best[end], cut[end] = cost, start
    batches: list[list[int]] = []
    end = len(order)
    while end > 0:
        batches.append(order[cut[end]:end])
        end = cut[end]
    return batches[::-1]


class CTranslate2Provider(LocalProvider):
    """Serves a CTranslate2 model as a synthbench ``Provider`` (see the module docstring for
    how batches and seeds work); ``fallback`` builds the transformers provider of the same
    weights for what CTranslate2 cannot do."""

    def __init__(self, model_id: str, model_dir: Path, source: str, tokenizer: Any,
                 fallback: Callable[[], TransformersProvider], *, device: str,
                 provenance: Mapping[str, Any] | None = None) -> None:
        self._model_id = model_id
        self._model_dir = model_dir
        self._tokenizer: Any = tokenizer
        self._fallback_factory = fallback
        self._fallback: TransformersProvider | None = None
        self._provenance = dict(provenance or {})
        self._device = device
        self._compute_type = engine.compute_type(self._device)
        omp = os.environ.get("OMP_NUM_THREADS", "")
        self._threads = int(omp) if omp.isdigit() and int(omp) > 0 else available_cores()
        config: Any = AutoConfig.from_pretrained(source)
        self._eos_ids = _eos_ids(source, config, tokenizer)
        self._kv_per_token = kv_bytes_per_token(config, 4 if self._device == "cpu" else 2)
        self._lock = threading.RLock()
        self._generator: Any = None
        self._sampled = False
        self._generator = self._load()  # a missing or broken model fails before a run starts

    @classmethod
    def offline(cls, model: OfflineModel, device: str = "cpu") -> CTranslate2Provider:
        """``local/<name>``: the catalog model's converted folder, converted again to int8."""
        folder = transformers_folder(model)
        identity = f"gguf-sha256:{model.sha256}"
        target = ensure_ct2(str(folder), identity, model.name)
        provenance = {"served_model": model.served_model, "gguf_sha256": model.sha256,
                      "converted_dir": str(folder), "ct2_dir": str(target)}
        return cls._build(model.model_id, target, str(folder), identity, model.name,
                          lambda: TransformersProvider.offline(model), provenance, device)

    @classmethod
    def from_pretrained(cls, name: str, weights: str, device: str = "cpu"
                        ) -> CTranslate2Provider:
        """``hf/<name>`` for an architecture CTranslate2 converts; ``weights`` identifies them
        (folder fingerprint or hub revision) and keys the converted copy."""
        label = "hf-" + "".join(c if c.isalnum() or c in "-._" else "-" for c in name)[-60:]
        target = ensure_ct2(name, weights, label)
        provenance = {"served_model": name, "weights": weights, "ct2_dir": str(target)}
        return cls._build(f"hf/{name}", target, name, weights, label,
                          lambda: TransformersProvider.from_pretrained(name), provenance, device)

    @classmethod
    def _build(cls, model_id: str, target: Path, source: str, identity: str, label: str,
               fallback: Callable[[], TransformersProvider], provenance: dict[str, Any],
               device: str) -> CTranslate2Provider:
        try:
            with quiet_progress():
                tokenizer = AutoTokenizer.from_pretrained(source)
        except Exception as exc:
            raise SynthbenchError(f"cannot load the tokenizer of {model_id}: "
                                  f"{one_line(exc)}") from exc
        if not getattr(tokenizer, "chat_template", None):
            raise SynthbenchError(f"model {model_id} has no chat template; "
                                  "use a chat/instruct model")
        try:
            return cls(model_id, target, source, tokenizer, fallback, device=device,
                       provenance=provenance)
        except SynthbenchError:
            raise
        except Exception:  # present but unreadable (e.g. truncated): convert it again
            target = ensure_ct2(source, identity, label, rebuild=True)
            provenance["ct2_dir"] = str(target)
            try:
                return cls(model_id, target, source, tokenizer, fallback, device=device,
                       provenance=provenance)
            except Exception as exc:
                raise SynthbenchError(f"cannot load {model_id} into CTranslate2: "
                                      f"{one_line(exc)}") from exc

    @property
    def device(self) -> str:
        """``cpu`` or ``cuda``: where this engine generates (part of its sample identity)."""
        return self._device

    @property
    def model_dir(self) -> Path:
        """The converted CTranslate2 folder (shared, e.g. by the benchmark's bare engine)."""
        return self._model_dir

    @property
    def requests_per_call(self) -> int:
        """How many requests the runner should send per call: one full batch."""
        return engine.REQUESTS_PER_CALL[self._device]

    @property
    def fallback(self) -> TransformersProvider:
        """The transformers provider of the same weights (built on first use)."""
        with self._lock:
            if self._fallback is None:
                self._fallback = self._fallback_factory()
            return self._fallback

    def engine_options(self) -> dict[str, Any]:
        """How the engine is loaded: device, compute type, threads."""
        return {"device": self._device, "compute_type": self._compute_type,
                "intra_threads": self._threads if self._device == "cpu" else 0,
                "inter_threads": 1}

    def _load(self) -> Any:
        return ctranslate2.Generator(str(self._model_dir), **self.engine_options())

    def score_continuations(self, messages: Sequence[Message], continuations: Sequence[str]
                            ) -> list[float]:
        """Label log-probabilities, from the transformers path of the same weights."""
        return self.fallback.score_continuations(messages, continuations)

    def score_continuations_uncached(self, messages: Sequence[Message],
                                     continuations: Sequence[str]) -> list[float]:
        return self.fallback.score_continuations_uncached(messages, continuations)

    def describe(self) -> dict[str, Any]:
        return {
            "model": self._model_id,
            **self._provenance,
            "engine": "ctranslate2",
            "ctranslate2": ctranslate2.__version__,
            "compute_type": self._compute_type,
            "device": self._device,
            "requests_per_call": self.requests_per_call,
            "engine_scheme": engine.SCHEME,
            "threads": self._threads,
            "kv_budget_bytes": engine.KV_BUDGET[self._device],
            "price_per_million_tokens": {"input": 0.0, "output": 0.0},  # runs on your machine
            "sampling": SAMPLING,
            "fallback": {"engine": "transformers", "transformers": transformers.__version__,
                         "dtype": "float32", "used_for": "logit_bias requests, label "
                         "log-probabilities"},
        }

    def close(self) -> None:
        """Free the engine (idempotent)."""
        with self._lock:
            self._generator = None
            self._fallback = None
            gc.collect()

    def complete(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        """Answer ``requests`` in order: those with a ``logit_bias`` on the transformers path,
        the rest in CTranslate2 batches."""
        for request in requests:
            check_request(request)
        results: list[Completion | None] = [None] * len(requests)
        biased = [i for i, r in enumerate(requests) if r.logit_bias]
        if biased:
            answers = self.fallback.complete([requests[i] for i in biased])
            for index, completion in zip(biased, answers, strict=True):
                results[index] = completion
        groups: dict[tuple[int, float, float], list[int]] = {}
        for index, request in enumerate(requests):
            if not request.logit_bias:
                key = (request.max_tokens, request.temperature, request.top_p)
                groups.setdefault(key, []).append(index)
        with self._lock:
            for indices in groups.values():
                for batch in self.plan([requests[i] for i in indices]):
                    chosen = [indices[i] for i, _ in batch]
                    answers = self._generate([requests[i] for i in chosen],
                                             [ids for _, ids in batch])
                    for index, completion in zip(chosen, answers, strict=True):
                        results[index] = completion
        return [c for c in results if c is not None]

    def plan(self, requests: Sequence[GenerationRequest]) -> list[list[tuple[int, list[int]]]]:
        """The batches ``requests`` (equal decoding settings) run in: each a list of
        (position in ``requests``, prompt token ids), as ``plan_batches`` cuts them under
        this device's requests-per-call and key/value budget."""
        prompts = [self.chat_ids(r.messages) for r in requests]
        budget = engine.KV_BUDGET[self._device] // self._kv_per_token
        batches = plan_batches([len(p) for p in prompts], [request_digest(r) for r in requests],
                               requests[0].max_tokens, self.requests_per_call, budget)
        return [[(i, prompts[i]) for i in batch] for batch in batches]

    def generate_options(self, request: GenerationRequest) -> dict[str, Any]:
        """``generate_batch`` options for a batch of requests with this request's settings."""
        options: dict[str, Any] = {
            "max_length": request.max_tokens, "include_prompt_in_result": False,
            "end_token": sorted(self._eos_ids), "return_end_token": True,
        }
        if request.temperature > 0:
            options.update(sampling_topk=0, sampling_topp=request.top_p,
                           sampling_temperature=request.temperature)
        else:
            options.update(sampling_topk=1)
        return options

    def _generate(self, batch: Sequence[GenerationRequest], prompts: Sequence[list[int]]
                  ) -> list[Completion]:
        first = batch[0]
        if first.temperature > 0:
            if self._sampled or self._generator is None:
                self._generator = None  # free it before loading the fresh instance
                gc.collect()
                self._generator = self._load()
            ctranslate2.set_random_seed(batch_seed(batch))  # read by its first sampling
            self._sampled = True
        elif self._generator is None:
            self._generator = self._load()
        tokens = [self._tokenizer.convert_ids_to_tokens(ids) for ids in prompts]
        results = self._generator.generate_batch(tokens, **self.generate_options(first))
        completions = []
        for result, ids in zip(results, prompts, strict=True):
            row = [int(t) for t in result.sequences_ids[0]]
            n_output = count_generated(row, self._eos_ids)
            hit_eos = n_output > 0 and row[n_output - 1] in self._eos_ids
            completions.append(Completion(
                text=self._tokenizer.decode(row[:n_output], skip_special_tokens=True),
                model=self._model_id,
                usage=Usage(input_tokens=len(ids), output_tokens=n_output),
                finish_reason="stop" if hit_eos else "length",
            ))
        return completions


def _eos_ids(source: str, config: Any, tokenizer: Any) -> frozenset[int]:
    """End-of-sequence ids from the generation config (int or list), the model config and
    the tokenizer, as the transformers path stops on."""
    ids: set[Any] = {tokenizer.eos_token_id}
    try:
        generation: Any = transformers.GenerationConfig.from_pretrained(source)
        configured = generation.eos_token_id
    except Exception:  # no generation_config.json
        configured = getattr(config, "eos_token_id", None)
    ids.update(configured if isinstance(configured, list) else [configured])
    return frozenset(int(i) for i in ids if i is not None)


def kv_bytes_per_token(config: Any, element_bytes: int) -> int:
    """Bytes of key/value cache one token of one sequence takes in CTranslate2, which stores
    grouped-query keys and values replicated to every query head (multi-query: one head)."""
    text: Any = getattr(config, "text_config", None) or config
    layers = int(getattr(text, "num_hidden_layers", 32))
    heads = int(getattr(text, "num_attention_heads", 32))
    kv_heads = int(getattr(text, "num_key_value_heads", None) or heads)
    head_dim = int(getattr(text, "head_dim", None)
                   or int(getattr(text, "hidden_size", 4096)) // heads)
    stored = 1 if kv_heads == 1 else heads
    return 2 * layers * stored * head_dim * element_bytes
