"""The one settings object, read from ``RERANKQ_*`` environment variables.

This is the only module that reads ``os.environ``. Entry points build a
``Settings`` once (``Settings.from_env()``), apply CLI flags with
``dataclasses.replace`` and pass it down as an argument.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

from producer import defaults
from producer.errors import ConfigError

ENV_PREFIX = "RERANKQ_"


@dataclass(frozen=True)
class Settings:
    """Everything a producer or worker can be configured with (field = env var suffix)."""

    redis_url: str = defaults.REDIS_URL
    queue: str = defaults.QUEUE
    model_dir: str | None = None
    model_name: str | None = None
    batch_tokens: int = defaults.BATCH_TOKENS
    threads: int | None = None
    workers_per_host: int = 1
    job_timeout: int = defaults.JOB_TIMEOUT
    result_ttl: int = defaults.RESULT_TTL
    job_ttl: int = defaults.JOB_TTL
    max_pairs: int = defaults.MAX_PAIRS
    max_text_chars: int = defaults.MAX_TEXT_CHARS
    max_total_chars: int = defaults.MAX_TOTAL_CHARS
    heartbeat_interval: float = defaults.HEARTBEAT_INTERVAL
    abandoned_after: float = defaults.ABANDONED_AFTER
    max_retries: int = defaults.MAX_RETRIES
    max_jobs: int | None = None
    max_rss_mb: int | None = None
    metrics_port: int | None = None
    metrics_address: str = defaults.METRICS_ADDRESS
    log_format: str = defaults.LOG_FORMAT
    log_level: str = defaults.LOG_LEVEL
    serve_default_queue: bool = defaults.SERVE_DEFAULT_QUEUE
    graph_cache_dir: str | None = defaults.GRAPH_CACHE_DIR
    batch_jobs: int = defaults.BATCH_JOBS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings with every ``RERANKQ_<FIELD>`` variable applied over the defaults."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for field in fields(cls):
            raw = env.get(ENV_PREFIX + field.name.upper())
            if raw is None or raw == "":
                continue
            values[field.name] = _convert(field, raw)
        return cls(**values)

    def with_overrides(self, **overrides: object) -> Settings:
        """A copy with the given fields replaced; ``None`` values (flags not given) are ignored."""
        given = {k: v for k, v in overrides.items() if v is not None}
        return dataclasses.replace(self, **given)

    def intra_op_threads(self, cpu_count: int | None = None) -> int:
        """Threads for one worker's ONNX session: an explicit setting, else cores / workers."""
        if self.threads:
            return self.threads
        cores = cpu_count or _usable_cores()
        return max(1, cores // max(1, self.workers_per_host))


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _convert(field: dataclasses.Field, raw: str) -> object:
    kind = str(field.type)
    name = ENV_PREFIX + field.name.upper()
    if kind == "bool":
        return _convert_bool(name, raw)
    try:
        if "int" in kind:
            return int(raw)
        if "float" in kind:
            return float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number; set it to a number or unset it") from None
    return raw


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _convert_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE or value in _FALSE:
        return value in _TRUE
    raise ConfigError(f"{name}={raw!r} is not a yes/no value; use one of {', '.join(_TRUE + _FALSE)}")
