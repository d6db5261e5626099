"""`rerankq health`: is this host able to serve jobs? For humans and for exec probes.

Checks, cheapest first, and stops at the first failure:
  1. Redis at the configured URL answers PING within a short timeout;
  2. (unless ``redis_only``) the configured model directory loads and scores one pair
     to a finite number.
Prints one line either way; the exit code says which check failed.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import redis

from producer import defaults
from producer.connection import connect, describe, unavailable
from producer.errors import ModelDirError, RedisUnavailableError, RerankqError
from producer.settings import Settings

EXIT_HEALTHY = 0
EXIT_MODEL = 2
"""The model directory is missing, broken or scores nonsense."""
EXIT_REDIS = 3
"""Redis did not answer (same code as the other commands use for an unreachable Redis)."""

SAMPLE = ("what is the capital of france?", "Paris is the capital and largest city of France.")


@dataclass(frozen=True)
class HealthResult:
    """Outcome of a health check: exit code and the one line to print."""

    code: int
    line: str

    @property
    def healthy(self) -> bool:
        return self.code == EXIT_HEALTHY


def ping_redis(url: str, timeout: float) -> tuple[str, float]:
    """Where Redis is (without password) and seconds a PING took; raises ``RedisUnavailableError``."""
    connection = connect(url, timeout=timeout)
    started = time.perf_counter()
    try:
        connection.ping()
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
        raise unavailable(connection, exc) from None
    except redis.exceptions.ResponseError as exc:  # e.g. NOAUTH: reachable, but unusable
        raise RedisUnavailableError(
            f"Redis at {describe(connection)} refused PING ({exc}); check the password in the URL"
        ) from None
    except redis.exceptions.RedisError as exc:  # something answered, but not as Redis does
        raise RedisUnavailableError(
            f"no Redis answered at {describe(connection)} ({type(exc).__name__}: {exc}); check host and port"
        ) from None
    finally:
        connection.close()
    return describe(connection), time.perf_counter() - started


def score_sample(settings: Settings) -> tuple[str, float, float]:
    """Load the configured model on one thread and score one pair: name, load and score seconds."""
    from worker.loading import SessionConfig, load_model
    from worker.model_dir import resolve_model_dir
    from worker.scorer import PairScorer, ScoringError

    spec = resolve_model_dir(settings.model_dir)
    # One thread: a probe must not compete with the worker it is checking.
    model = load_model(spec, SessionConfig(intra_op_threads=1))
    started = time.perf_counter()
    try:
        score = PairScorer(model, settings.batch_tokens).score([SAMPLE], normalize=False).scores[0]
    except ScoringError as exc:
        raise ModelDirError(f"model in {spec.directory} failed on a sample pair: {exc}") from None
    if not math.isfinite(score):
        raise ModelDirError(f"model in {spec.directory} scored a sample pair as {score}; the export is broken")
    return spec.name, model.load_seconds, time.perf_counter() - started


def check(settings: Settings, *, redis_only: bool = False, timeout: float = defaults.HEALTH_TIMEOUT) -> HealthResult:
    """Run the checks; never raises for an unhealthy host, it reports it."""
    started = time.perf_counter()
    try:
        where, ping = ping_redis(settings.redis_url, timeout)
        parts = [f"Redis {where} answered PING in {ping * 1000:.1f} ms"]
        if not redis_only:
            name, load, score = score_sample(settings)
            parts.append(f"model {name} loaded in {load:.2f} s and scored a pair in {score * 1000:.1f} ms")
    except RedisUnavailableError as exc:
        return HealthResult(EXIT_REDIS, _one_line(f"unhealthy: {exc}"))
    except RerankqError as exc:
        return HealthResult(EXIT_MODEL, _one_line(f"unhealthy: {exc}"))
    except Exception as exc:  # a probe reports whatever broke instead of dying with a traceback
        return HealthResult(EXIT_MODEL, _one_line(f"unhealthy: model check failed ({type(exc).__name__}: {exc})"))
    total = time.perf_counter() - started
    return HealthResult(EXIT_HEALTHY, f"healthy: {'; '.join(parts)} (total {total:.2f} s)")


def _one_line(text: str) -> str:
    # ONNX Runtime and redis-py messages can span lines; probes and logs want one.
    return " ".join(text.split())
