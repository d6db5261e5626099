"""Loading a model directory into an ONNX Runtime session and a fast tokenizer.

Called once per worker process, after any fork: ONNX Runtime sessions hold
thread pools that do not survive ``fork``. Nothing here downloads anything.

Session settings are the ones the bench justified (docs/performance.md): all
graph optimizations, intra-op threads = the cores this worker owns, one
inter-op thread, spinning threads, and an optimized-graph cache so a restart
does not pay for graph optimization again.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import onnxruntime as ort
from tokenizers import Tokenizer

from producer.errors import ModelDirError
from worker.graph_cache import GraphCache
from worker.model_dir import ModelSpec

if TYPE_CHECKING:
    from producer.settings import Settings

log = logging.getLogger(__name__)

SUPPORTED_INPUTS = ("input_ids", "attention_mask", "token_type_ids")

OPTIMIZATION_LEVELS = {
    "none": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}

CACHE_OFF = ("", "off", "none", "0")
"""Values of the graph cache setting that turn the cache off."""



@dataclass(frozen=True)
class SessionConfig:
    """How to build the ONNX Runtime session."""

    intra_op_threads: int = 1
    providers: tuple[str, ...] = ("CPUExecutionProvider",)
    optimization: str = "all"
    spinning: bool = True
    graph_cache_dir: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings, threads: int | None = None) -> SessionConfig:
        """The session a worker with ``settings`` should build (``threads`` overrides the setting)."""
        cache = settings.graph_cache_dir
        return cls(
            intra_op_threads=threads or settings.intra_op_threads(),
            graph_cache_dir=None if cache is None or cache.strip().lower() in CACHE_OFF else cache,
        )


def session_options(config: SessionConfig, level: str | None = None) -> ort.SessionOptions:
    """Options for one worker's session: fixed threads, sequential graph, spinning as configured."""
    options = ort.SessionOptions()
    options.graph_optimization_level = OPTIMIZATION_LEVELS[level or config.optimization]
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = config.intra_op_threads
    options.inter_op_num_threads = 1
    # Spinning keeps the pool hot across the back-to-back micro-batches of a job (a pool
    # thread parks itself shortly after the last run, so an idle worker does not burn a core).
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if config.spinning else "0")
    return options


def create_session(spec: ModelSpec, config: SessionConfig) -> ort.InferenceSession:
    """An inference session for ``spec``, from the optimized-graph cache when it holds one."""
    if config.optimization not in OPTIMIZATION_LEVELS:
        raise ModelDirError(
            f"graph optimization {config.optimization!r} is not one of {', '.join(OPTIMIZATION_LEVELS)}"
        )
    available = set(ort.get_available_providers())
    providers = [p for p in config.providers if p in available] or ["CPUExecutionProvider"]
    cached = GraphCache.for_model(spec, config, providers)
    session = cached.load(session_options(config, "none"), providers) if cached is not None else None
    if session is None:
        session = _build(spec, config, providers, cached)
    check_signature(spec, session)
    return session


def _build(
    spec: ModelSpec, config: SessionConfig, providers: list[str], cache: GraphCache | None
) -> ort.InferenceSession:
    staging = cache.staging_path() if cache is not None else None
    if cache is not None and staging is not None:
        try:
            session = _open(spec, session_options(config), providers, staging)
        except Exception as exc:
            with contextlib.suppress(OSError):
                staging.unlink()
            log.warning("optimized graph of %s not cached (%s); loading without the cache", spec.onnx_path, exc)
        else:
            cache.publish(staging)
            return session
    try:
        return _open(spec, session_options(config), providers, None)
    except Exception as exc:  # ORT raises its own Fail/InvalidGraph/... types
        raise ModelDirError(
            f"{spec.onnx_path} could not be loaded by ONNX Runtime ({type(exc).__name__}: {exc}); "
            "re-export the model to ONNX (opset 14 or newer)"
        ) from None


def _open(
    spec: ModelSpec, options: ort.SessionOptions, providers: list[str], save_to: Path | None
) -> ort.InferenceSession:
    if save_to is not None:
        options.optimized_model_filepath = str(save_to)
        # The cache key includes the CPU, so ORT's "hardware-specific graph" warning does not apply.
        options.log_severity_level = 3
    return ort.InferenceSession(str(spec.onnx_path), sess_options=options, providers=providers)


def check_signature(spec: ModelSpec, session: ort.InferenceSession) -> None:
    """Refuse graphs that are not sequence classifiers over token ids."""
    names = [i.name for i in session.get_inputs()]
    unknown = [n for n in names if n not in SUPPORTED_INPUTS]
    if "input_ids" not in names or unknown:
        raise ModelDirError(
            f"{spec.onnx_path}: inputs {names} are not a reranker's; expected input_ids, attention_mask "
            "and optionally token_type_ids (export a sequence-classification model)"
        )
    if not session.get_outputs():
        raise ModelDirError(f"{spec.onnx_path}: the graph has no outputs")


def load_tokenizer(spec: ModelSpec) -> Tokenizer:
    """The Rust tokenizer, with any baked-in padding removed and pair truncation set."""
    if spec.tokenizer_json is not None:
        try:
            tokenizer = Tokenizer.from_file(str(spec.tokenizer_json))
        except Exception as exc:
            raise ModelDirError(f"{spec.tokenizer_json} is not a valid tokenizer file ({exc})") from None
    else:
        tokenizer = _convert_with_transformers(spec)
    tokenizer.no_padding()
    tokenizer.enable_truncation(spec.max_length, strategy="only_second")
    return tokenizer


def _convert_with_transformers(spec: ModelSpec) -> Tokenizer:
    try:
        from transformers import AutoTokenizer
    except ImportError:
        raise ModelDirError(
            f"model directory {spec.directory} has no tokenizer.json; install rerankq[worker] "
            "(transformers) to convert its tokenizer, or save tokenizer.json there"
        ) from None
    try:
        fast = AutoTokenizer.from_pretrained(str(spec.directory), local_files_only=True, use_fast=True)
    except Exception as exc:
        raise ModelDirError(f"tokenizer in {spec.directory} could not be loaded ({exc})") from None
    backend = getattr(fast, "backend_tokenizer", None)
    if backend is None:
        raise ModelDirError(f"tokenizer in {spec.directory} has no fast version; save a tokenizer.json there")
    return backend


def pad_token_id(tokenizer: Tokenizer) -> int:
    """The id used to pad rows; the attention mask hides it, so any valid id is correct."""
    for token in ("<pad>", "[PAD]"):
        token_id = tokenizer.token_to_id(token)
        if token_id is not None:
            return token_id
    return 0


@dataclass
class LoadedModel:
    """A model ready to score: the spec, its session and its tokenizer."""

    spec: ModelSpec
    session: ort.InferenceSession
    tokenizer: Tokenizer
    load_seconds: float


def load_model(spec: ModelSpec, config: SessionConfig) -> LoadedModel:
    started = time.perf_counter()
    tokenizer = load_tokenizer(spec)
    session = create_session(spec, config)
    seconds = time.perf_counter() - started
    log.info(
        "loaded model %s from %s in %.2fs (%d threads, providers %s)",
        spec.name, spec.onnx_path, seconds, config.intra_op_threads, session.get_providers(),
    )
    return LoadedModel(spec=spec, session=session, tokenizer=tokenizer, load_seconds=seconds)
