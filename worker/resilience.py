"""How a worker survives its surroundings: Redis outages, eviction, memory growth.

The worker's main connection retries every command with backoff for about
``RIDE_THROUGH`` seconds, so a Redis restart in the middle of a job is only a
pause: the job's result is written once Redis is back. Longer outages end
RQ's work loop; ``process.run_worker`` waits here for Redis and re-enters it.
"""

from __future__ import annotations

import logging
import os
import resource
import sys
import time
from collections.abc import Callable

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from producer.connection import connect, describe
from producer.errors import ConfigError
from producer.settings import Settings

log = logging.getLogger(__name__)

RETRY_BASE = 0.05
"""First pause (seconds) after a failed Redis command; doubled each time."""

RETRY_CAP = 1.0
"""Longest pause between two tries of one command."""

RETRY_COUNT = 35
"""Tries of one command: 0.05 + 0.1 + ... then 1 s each, about 30 s in all (``RIDE_THROUGH``)."""

RIDE_THROUGH = sum(min(RETRY_CAP, RETRY_BASE * 2**i) for i in range(1, RETRY_COUNT + 1))

WAIT_CAP = 5.0
"""Longest pause between two probes while waiting for Redis to come back."""


def worker_connection(url: str) -> redis.Redis:
    """The worker's main client: every command is retried through a short outage."""
    connection = connect(url)
    connection.set_retry(Retry(ExponentialBackoff(cap=RETRY_CAP, base=RETRY_BASE), RETRY_COUNT))
    return connection


def side_connection(url: str, timeout: float) -> redis.Redis:
    """A client for a helper thread: short timeouts and few retries, so it never hangs on a dead Redis."""
    connection = connect(url, timeout=timeout)
    connection.set_retry(Retry(ExponentialBackoff(cap=0.5, base=0.05), 2))
    return connection


def wait_for_redis(connection: redis.Redis, should_stop: Callable[[], bool]) -> bool:
    """Block until Redis answers PING (True) or ``should_stop()`` (False)."""
    pause = 0.5
    while not should_stop():
        try:
            connection.ping()
            return True
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            log.warning("Redis at %s is unreachable (%s); next try in %.1fs", describe(connection), exc, pause)
        time.sleep(pause)
        pause = min(pause * 2, WAIT_CAP)
    return False


def warn_if_evicting(connection: redis.Redis) -> str | None:
    """Warn loudly unless Redis is set never to evict keys; returns the policy if it could be read."""
    try:
        reply = connection.config_get("maxmemory-policy")
    except redis.exceptions.ResponseError as exc:  # managed Redis often disables CONFIG
        log.warning(
            "cannot read maxmemory-policy of Redis at %s (%s); make sure it is 'noeviction', "
            "or queued jobs and results can be evicted and lost", describe(connection), exc,
        )
        return None
    values = {_text(k): _text(v) for k, v in reply.items()}
    policy = values.get("maxmemory-policy", "")
    if policy != "noeviction":
        log.warning(
            "Redis at %s has maxmemory-policy=%s: under memory pressure it deletes keys, and a deleted job "
            "or result is lost for good. Set maxmemory-policy to noeviction (CONFIG SET maxmemory-policy "
            "noeviction, and in redis.conf)", describe(connection), policy or "unknown",
        )
    return policy


def check_settings(settings: Settings) -> None:
    """Refuse reliability settings that cannot work, naming the variable to fix."""
    if settings.heartbeat_interval <= 0:
        raise ConfigError(f"RERANKQ_HEARTBEAT_INTERVAL={settings.heartbeat_interval:g}: must be above 0 seconds")
    if settings.abandoned_after < 3 * settings.heartbeat_interval:
        raise ConfigError(
            f"RERANKQ_ABANDONED_AFTER={settings.abandoned_after:g} must be at least three times "
            f"RERANKQ_HEARTBEAT_INTERVAL={settings.heartbeat_interval:g}, or live jobs look abandoned"
        )
    if settings.max_retries < 0:
        raise ConfigError(f"RERANKQ_MAX_RETRIES={settings.max_retries}: must be 0 or more")
    if settings.max_jobs is not None and settings.max_jobs < 1:
        raise ConfigError(f"--max-jobs {settings.max_jobs}: must be 1 or more")
    if settings.max_rss_mb is not None and settings.max_rss_mb < 1:
        raise ConfigError(f"--max-rss-mb {settings.max_rss_mb}: must be 1 or more")


def rss_mb() -> float:
    """This process's resident memory in MiB (current on Linux, peak elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
