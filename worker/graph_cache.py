"""The optimized-graph cache: ONNX Runtime's optimized graph saved once, loaded on every restart.

A worker that starts again with the same model, ONNX Runtime, settings and
CPU loads the graph ONNX Runtime produced last time instead of optimizing the
model again. See docs/performance.md (Graph cache).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import onnxruntime as ort

if TYPE_CHECKING:
    from worker.loading import SessionConfig
    from worker.model_dir import ModelSpec

log = logging.getLogger(__name__)

_CACHE_MAX_BYTES = 1_800_000_000  # an optimized graph is one protobuf, which cannot pass 2 GB
_HASH_CHUNK = 1 << 22


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
        return cls(directory / f"{safe_name}-{key}.onnx")

    def load(self, options: ort.SessionOptions, providers: list[str]) -> ort.InferenceSession | None:
        """A session from the cached graph, or ``None`` when there is none or it is unusable.

        ``options`` should turn graph optimizations off: the graph is already optimized.
        """
        if not self.path.is_file():
            return None
        try:
            session = ort.InferenceSession(str(self.path), sess_options=options, providers=providers)
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
