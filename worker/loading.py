"""Loading a model directory into an ONNX Runtime session and a fast tokenizer.

Called once per worker process, after any fork: ONNX Runtime sessions hold
thread pools that do not survive ``fork``. Nothing here downloads anything.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import onnxruntime as ort
from tokenizers import Tokenizer

from producer.errors import ModelDirError
from worker.model_dir import ModelSpec

log = logging.getLogger(__name__)

SUPPORTED_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


@dataclass(frozen=True)
class SessionConfig:
    """How to build the ONNX Runtime session."""

    intra_op_threads: int = 1
    providers: tuple[str, ...] = ("CPUExecutionProvider",)
    optimized_cache_path: str | None = None


def create_session(spec: ModelSpec, config: SessionConfig) -> ort.InferenceSession:
    """An inference session tuned for one worker: fixed threads, sequential graph, spinning on."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = config.intra_op_threads
    options.inter_op_num_threads = 1
    # Spinning keeps threads hot between the back-to-back runs of one job.
    options.add_session_config_entry("session.intra_op.allow_spinning", "1")
    if config.optimized_cache_path:
        options.optimized_model_filepath = config.optimized_cache_path
    available = set(ort.get_available_providers())
    providers = [p for p in config.providers if p in available] or ["CPUExecutionProvider"]
    try:
        session = ort.InferenceSession(str(spec.onnx_path), sess_options=options, providers=providers)
    except Exception as exc:  # ORT raises its own Fail/InvalidGraph/... types
        raise ModelDirError(
            f"{spec.onnx_path} could not be loaded by ONNX Runtime ({type(exc).__name__}: {exc}); "
            "re-export the model to ONNX (opset 14 or newer)"
        ) from None
    check_signature(spec, session)
    return session


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
