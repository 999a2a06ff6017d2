"""Which engine serves a local model, on which device, and what decides its samples.

The default engine is CTranslate2 (int8 on CPU, int8_float16 on a CUDA GPU); the provider
option ``-P engine=transformers`` selects the transformers path (the samples of stored cells
made before the fast engine) and ``-P device=cpu|cuda`` the device (default: CUDA when
CTranslate2 sees a GPU). The run passes these options as values; nothing here reads the
environment. Everything here is cheap: no weights are loaded, so the runner can key a cell
by ``sample_identity`` before building a provider.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from synthbench import SynthbenchError

ENGINE = "engine"
DEVICE = "device"
ENGINES = ("ctranslate2", "transformers")
DEVICES = ("auto", "cpu", "cuda")
OPTIONS = {
    ENGINE: "local models' engine: ctranslate2 (default; int8 on CPU) or transformers (fp32; "
            "the samples of cells stored before the fast engine)",
    DEVICE: "local models' device: auto (default: CUDA when CTranslate2 sees one), cpu or cuda",
}
# Part of every fast-engine identity: bump when batching or seeding changes what a request
# answers. 2: batches are length-sorted runs cut by an estimated step cost (fast.plan_batches)
# and the key/value cache is counted as CTranslate2 stores it (grouped heads replicated).
SCHEME = 2
# Requests per call (the runner's chunk) and per batch. A batch never holds more than one
# call, so this bounds it; fast.plan_batches cuts a call into batches whose key/value cache
# stays under KV_BUDGET. Both are per device kind, not measured, because CTranslate2 draws
# one random stream per batch: a batch's composition must not depend on the machine's load.
REQUESTS_PER_CALL = {"cpu": 64, "cuda": 256}
KV_BUDGET = {"cpu": 2 << 30, "cuda": 8 << 30}
CUDA_COMPUTE_TYPES = ("int8_float16", "float16", "int8_float32", "float32")


def engine_name(options: Mapping[str, str]) -> str:
    """``ctranslate2`` (default) or ``transformers``, from the ``engine`` option."""
    value = options.get(ENGINE, "").strip().lower() or "ctranslate2"
    if value not in ENGINES:
        raise SynthbenchError(f"-P {ENGINE}={value!r}: write one of {', '.join(ENGINES)}")
    return value


def cuda_devices() -> int:
    """CUDA devices CTranslate2 can use (0 without a GPU or a CUDA-enabled build)."""
    import ctranslate2

    try:
        return int(ctranslate2.get_cuda_device_count())
    except Exception:  # a build or driver without CUDA
        return 0


def device(options: Mapping[str, str]) -> str:
    """``cuda`` or ``cpu``: the ``device`` option, else CUDA whenever one is visible."""
    value = options.get(DEVICE, "").strip().lower() or "auto"
    if value not in DEVICES:
        raise SynthbenchError(f"-P {DEVICE}={value!r}: write one of {', '.join(DEVICES)}")
    if value == "cpu":
        return "cpu"
    if cuda_devices() > 0:
        return "cuda"
    if value == "cuda":
        raise SynthbenchError(f"-P {DEVICE}=cuda but CTranslate2 sees no CUDA device; "
                              "leave it out to run on the CPU")
    return "cpu"


def compute_type(on: str) -> str:
    """int8 weights on CPU; on CUDA the first of int8_float16, float16, ... it supports."""
    if on == "cpu":
        return "int8"
    import ctranslate2

    supported = set(ctranslate2.get_supported_compute_types("cuda"))
    return next((t for t in CUDA_COMPUTE_TYPES if t in supported), "float32")


@functools.lru_cache(maxsize=4)
def _engine_identity(on: str) -> tuple[tuple[str, Any], ...]:
    import ctranslate2

    return (("engine", "ctranslate2"), ("version", ctranslate2.__version__),
            ("compute_type", compute_type(on)), ("device", on),
            ("requests_per_call", REQUESTS_PER_CALL[on]), ("scheme", SCHEME))


def engine_identity(on: str) -> dict[str, Any]:
    """What decides the fast engine's samples on device ``on`` besides the request and the
    weights."""
    return dict(_engine_identity(on))


def sample_identity(model_name: str, options: Mapping[str, str]) -> dict[str, Any]:
    """For ``ProviderSpec.identity`` of ``local``: what decides samples of ``local/<name>``
    besides the request: ``{}`` on the transformers path (so cells stored before the fast
    engine keep their keys), else the engine, its version, compute type and device."""
    from synthbench_local.models import offline_model

    offline_model(model_name)  # an unknown name fails here, in one line
    if engine_name(options) == "transformers":
        return {}
    return engine_identity(device(options))


def hf_sample_identity(name: str, options: Mapping[str, str]) -> dict[str, Any]:
    """``sample_identity`` for ``hf/<name>``: ``{}`` where transformers serves it (the
    engine is off, or CTranslate2 cannot convert its architecture)."""
    if engine_name(options) == "transformers" or not converts(name.strip()):
        return {}
    return engine_identity(device(options))


@functools.lru_cache(maxsize=64)
def converts(name: str) -> bool:
    """Whether CTranslate2 can convert the model ``name`` (hub id or folder), by the
    architecture in its config.json; ``False`` when no config is found offline."""
    config = _config_path(name)
    if config is None:
        return False
    try:
        architectures = json.loads(config.read_text(encoding="utf-8")).get("architectures")
    except (OSError, ValueError):
        return False
    return bool(architectures) and architectures[0] in supported_architectures()


@functools.lru_cache(maxsize=1)
def supported_architectures() -> frozenset[str]:
    """The transformers architectures CTranslate2's converter handles."""
    from ctranslate2.converters import transformers as converter

    loaders: dict[str, Any] = converter._MODEL_LOADERS
    names = set()
    for loader in loaders.values():
        try:
            names.add(str(loader.architecture_name))
        except Exception:  # a loader without a fixed architecture
            continue
    return frozenset(names)


def _config_path(name: str) -> Path | None:
    folder = Path(name).expanduser()
    if folder.is_dir():
        path = folder / "config.json"
        return path if path.is_file() else None
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(name, "config.json")
    except Exception:  # not a valid repository id
        return None
    return Path(found) if isinstance(found, str) else None
