"""Opening Redis connections with errors that name the URL and say what to do."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import redis
import redis.asyncio

from producer import defaults
from producer.errors import RedisUnavailableError

CONNECT_TIMEOUT = 5.0
"""Seconds to wait for a TCP connect before calling Redis unreachable."""

SOCKET_TIMEOUT = 15.0
"""Seconds a reply may take; blocking reads use shorter blocks than this."""


def connect(url: str, *, timeout: float | None = None) -> redis.Redis:
    """A client for ``url`` (bytes replies, as RQ needs). Connects lazily.

    ``timeout`` replaces both connect and reply timeouts (health probes want short ones).
    """
    try:
        return redis.Redis.from_url(
            url,
            socket_connect_timeout=timeout or CONNECT_TIMEOUT,
            socket_timeout=timeout or SOCKET_TIMEOUT,
            health_check_interval=30,
        )
    except ValueError as exc:
        raise RedisUnavailableError(
            f"cannot use Redis URL {url!r}: {exc}; use redis://host:port/db or unix:///path"
        ) from None


def connect_async(url: str, max_connections: int = defaults.ASYNC_MAX_CONNECTIONS) -> redis.asyncio.Redis:
    """``connect`` for asyncio code: same timeouts, same errors. Connects lazily.

    The pool makes commands wait for a free connection rather than fail, so a
    burst of concurrent submits shares ``max_connections`` sockets.
    """
    try:
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            url,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=SOCKET_TIMEOUT,
            health_check_interval=30,
            max_connections=max_connections,
            timeout=SOCKET_TIMEOUT,
        )
    except ValueError as exc:
        raise RedisUnavailableError(
            f"cannot use Redis URL {url!r}: {exc}; use redis://host:port/db or unix:///path"
        ) from None
    return redis.asyncio.Redis.from_pool(pool)


def describe(connection: redis.Redis) -> str:
    """Where a client points, for error messages (never includes a password)."""
    kw = connection.connection_pool.connection_kwargs
    if "path" in kw:
        return f"unix://{kw['path']}"
    return f"redis://{kw.get('host', '?')}:{kw.get('port', '?')}/{kw.get('db', 0)}"


def unavailable(connection: redis.Redis, exc: BaseException) -> RedisUnavailableError:
    """The error to raise when ``connection`` failed with ``exc``."""
    return RedisUnavailableError(
        f"Redis at {describe(connection)} is unreachable ({exc}); start it or set RERANKQ_REDIS_URL / --redis-url"
    )


@contextlib.contextmanager
def redis_errors(connection: redis.Redis) -> Iterator[None]:
    """Turn redis-py connection failures into ``RedisUnavailableError``."""
    try:
        yield
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
        raise unavailable(connection, exc) from exc
