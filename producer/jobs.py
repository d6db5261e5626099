"""A handle on one submitted rerank job: poll it, or block until it finishes."""

from __future__ import annotations

import base64
import time
import zlib
from typing import TYPE_CHECKING

import redis
from rq.job import Job, JobStatus
from rq.results import Result

from producer import keys
from producer.connection import unavailable
from producer.contract import RerankResult, decode_stored_result
from producer.errors import JobFailedError, JobNotFoundError, JobTimeoutError

if TYPE_CHECKING:
    from producer.client import RerankClient

BLOCK_SECONDS = 5.0
"""Longest single blocking read; a wait is a few of these, never a busy loop."""

_FAILED_STATES = {JobStatus.FAILED.value, JobStatus.STOPPED.value, JobStatus.CANCELED.value}


class RerankJob:
    """A submitted job. ``poll`` never blocks; ``wait`` blocks up to its timeout."""

    def __init__(self, client: RerankClient, job_id: str) -> None:
        self._client = client
        self.id = job_id

    def __repr__(self) -> str:
        return f"RerankJob(id={self.id!r})"

    def poll(self) -> RerankResult | None:
        """The result if the job finished, ``None`` while it is queued or running.

        Raises ``JobFailedError`` if it failed and ``JobNotFoundError`` if no job
        or result exists under this id (never submitted, or expired).
        """
        conn = self._client.connection
        try:
            return _check(conn, self.id)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            raise unavailable(conn, exc) from exc

    def status(self) -> str:
        """RQ's status of the job (queued, started, finished, failed, ...) or 'unknown'."""
        raw = self._client.connection.hget(Job.key_for(self.id), "status")
        return raw.decode() if raw else "unknown"

    def wait(self, timeout: float | None = None) -> RerankResult:
        """Block until the result arrives; raise on failure or after ``timeout`` seconds.

        Blocks on the job's RQ result stream (XREAD), so it wakes as soon as the
        worker finishes. A Redis outage is retried with backoff until the deadline.
        """
        timeout = self._client.settings_wait_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        stream = Result.get_key(self.id)
        last_seen = "0-0"
        outage: BaseException | None = None
        backoff = 0.1
        conn = self._client.connection
        while True:
            remaining = deadline - time.monotonic()
            try:
                result = _check(conn, self.id)
                if result is not None:
                    return result
                outage, backoff = None, 0.1
                if remaining <= 0:
                    break
                block_ms = max(1, int(min(remaining, BLOCK_SECONDS) * 1000))
                reply = conn.xread({stream: last_seen}, block=block_ms)
                if reply:
                    last_seen = reply[0][1][-1][0].decode()
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
                outage = exc
                if remaining <= 0:
                    break
                time.sleep(min(backoff, remaining))
                backoff = min(backoff * 2, 2.0)
        if outage is not None:
            raise JobTimeoutError(
                f"rerank job {self.id}: no result within {timeout:g}s; Redis is unreachable: {unavailable(conn, outage)}"
            )
        raise JobTimeoutError(
            f"rerank job {self.id}: no result within {timeout:g}s (status: {self.status()}); "
            "start a worker or raise the timeout"
        )


def _read_state(conn: redis.Redis, job_id: str) -> tuple[bytes | None, bytes | None]:
    """Our stored result and RQ's job status, in one round trip."""
    pipe = conn.pipeline(transaction=False)
    pipe.get(keys.result_key(job_id))
    pipe.hget(Job.key_for(job_id), "status")
    stored, status = pipe.execute()
    return stored, status


def _check(conn: redis.Redis, job_id: str) -> RerankResult | None:
    """The result, ``None`` while pending, or the job's failure raised."""
    stored, status = _read_state(conn, job_id)
    reason = fetch_failure_reason(conn, job_id) if needs_reason(stored, status) else None
    return settle(job_id, stored, status, reason)


def needs_reason(stored: bytes | None, status: bytes | None) -> bool:
    """True when the job failed without a stored result, so RQ's exception is worth reading."""
    return stored is None and status is not None and status.decode() in _FAILED_STATES


def settle(job_id: str, stored: bytes | None, status: bytes | None, reason: str | None = None) -> RerankResult | None:
    """What a job's stored result and RQ status mean: the result, ``None`` while pending, or an error raised.

    Pure, so the sync client, the asyncio client and ``as_completed`` decide alike.
    """
    if stored is not None:
        return decode_stored_result(job_id, stored)
    if status is None:
        raise JobNotFoundError(
            f"no rerank job or result under id {job_id!r}: it was never submitted here, or its result expired"
        )
    state = status.decode()
    if state in _FAILED_STATES:
        raise JobFailedError(job_id, reason or f"job ended {state} without a result (see the worker's log)", state)
    return None


def fetch_failure_reason(conn: redis.Redis, job_id: str) -> str | None:
    """Last line of RQ's stored exception for a failed job, if any."""
    return failure_reason(conn.xrevrange(Result.get_key(job_id), "+", "-", count=1))


def failure_reason(entries: list) -> str | None:
    """Last line of the exception in the newest entry of a job's RQ result stream (an XREVRANGE reply)."""
    if not entries:
        return None
    exc = entries[0][1].get(b"exc_string")
    if not exc:
        return None
    lines = [line for line in _exception_text(exc).strip().splitlines() if line.strip()]
    return lines[-1] if lines else None


def _exception_text(raw: bytes) -> str:
    """RQ stores the traceback zlib-compressed and base64-encoded; older entries are plain text."""
    try:
        return zlib.decompress(base64.b64decode(raw, validate=True)).decode(errors="replace")
    except (ValueError, zlib.error):
        return raw.decode(errors="replace")
