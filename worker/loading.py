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
import hashlib
import logging
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import onnxruntime as ort
from tokenizers import Tokenizer

from producer.errors import ModelDirError
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

_CACHE_MAX_BYTES = 1_800_000_000  # an optimized graph is one protobuf, which cannot pass 2 GB
_HASH_CHUNK = 1 << 22


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
    session = cached.load(providers) if cached is not None else None
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


@dataclass(frozen=True)
class GraphCache:
    """One optimized graph on disk, named by everything that shapes it.

    The name hashes the model file's content, the ONNX Runtime version, the
    optimization level, threads, providers and the CPU, so a cached graph is
    only reused where ONNX Runtime would have produced the same one. Files are
    written under a temporary name and renamed, so concurrent workers never
    read a half-written graph; the directory may be deleted at any time.
    """

    path: Path
    config: SessionConfig

    @classmethod
    def for_model(cls, spec: ModelSpec, config: SessionConfig, providers: list[str]) -> GraphCache | None:
        if not config.graph_cache_dir or config.optimization == "none":
            return None
        try:
            if spec.onnx_path.stat().st_size > _CACHE_MAX_BYTES:
                return None
            directory = Path(config.graph_cache_dir).expanduser()
            parts = (
                content_digest(spec.onnx_path, directory), ort.__version__, config.optimization,
                str(config.intra_op_threads), ",".join(providers), cpu_fingerprint(),
            )
        except OSError as exc:
            log.warning("optimized-graph cache off for %s: %s", spec.onnx_path, exc)
            return None
        key = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]
        safe_name = "".join(c if c.isalnum() or c in "-_." else "_" for c in spec.name)
        return cls(directory / f"{safe_name}-{key}.onnx", config)

    def load(self, providers: list[str]) -> ort.InferenceSession | None:
        """A session from the cached graph, or ``None`` when there is none or it is unusable."""
        if not self.path.is_file():
            return None
        try:
            # Already optimized: running the optimizers again would only cost time.
            session = ort.InferenceSession(str(self.path), sess_options=session_options(self.config, "none"),
                                           providers=providers)
        except Exception as exc:
            log.warning("cached graph %s is unusable (%s); optimizing the model again", self.path, exc)
            with contextlib.suppress(OSError):
                self.path.unlink()
            return None
        log.info("optimized graph loaded from cache %s", self.path)
        return session

    def staging_path(self) -> Path | None:
        """Where ONNX Runtime writes the optimized graph, or ``None`` if the directory is unusable."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            log.warning("optimized-graph cache %s unusable (%s); going on without it", self.path.parent, exc)
            return None
        return self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")

    def publish(self, staging: Path) -> None:
        try:
            os.replace(staging, self.path)
        except OSError as exc:
            log.warning("optimized graph not cached at %s: %s", self.path, exc)
            with contextlib.suppress(OSError):
                staging.unlink()
            return
        log.info("optimized graph cached at %s", self.path)


def content_digest(path: Path, cache_dir: Path) -> str:
    """SHA-256 of a file's bytes, remembered per (path, size, mtime) so a restart does not re-read it."""
    stat = path.stat()
    stamp = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    memo = cache_dir / "digests" / hashlib.sha256(stamp.encode()).hexdigest()[:32]
    with contextlib.suppress(OSError):
        known = memo.read_text().strip()
        if len(known) == 64:
            return known
    hasher = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            hasher.update(chunk)
    digest = hasher.hexdigest()
    with contextlib.suppress(OSError):
        memo.parent.mkdir(parents=True, exist_ok=True)
        staging = memo.with_name(f".{memo.name}.{os.getpid()}.tmp")
        staging.write_text(digest)
        os.replace(staging, memo)
    return digest


def cpu_fingerprint() -> str:
    """What distinguishes CPUs for ONNX Runtime's kernel and layout choices."""
    flags = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                flags = line
                break
    return f"{platform.machine()}|{platform.processor()}|{hashlib.sha256(flags.encode()).hexdigest()[:16]}"
