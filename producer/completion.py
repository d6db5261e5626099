"""Waiting on many jobs at once: yield each result as it lands (sync and asyncio).

No result is lost to a race: every job is first checked directly (one pipeline
for all of them), and only then does the watcher block, with one XREAD over the
RQ result streams (``rq:results:<id>``) of the jobs still pending, read from the
stream's start. A worker stores our result key before RQ appends to that stream,
so a stream entry means "check this job now". Unlike pub/sub, a stream keeps
entries written before anyone listened. A block that ends with no entry at all
re-checks every pending job once, which also catches jobs that ended without
writing to their stream (canceled, expired).

The bookkeeping is pure (``Tracker``); ``ResultWatcher`` here and
``completion_async.AsyncResultWatcher`` only add the Redis round trips.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import redis
from rq.job import Job
from rq.results import Result

from producer import keys
from producer.connection import unavailable
from producer.contract import RerankResult
from producer.errors import JobTimeoutError, RerankqError
from producer.jobs import BLOCK_SECONDS, failure_reason, needs_reason, settle

REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
_FIRST_ENTRY = "0-0"


@dataclass(frozen=True)
class Completed:
    """One finished job: its handle, and either its result or why it failed."""

    job: Any
    result: RerankResult | None = None
    error: RerankqError | None = None

    @property
    def id(self) -> str:
        return self.job.id

    @property
    def ok(self) -> bool:
        return self.error is None

    def unwrap(self) -> RerankResult:
        """The result, or the job's error raised (``JobFailedError``, ``JobNotFoundError``)."""
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


class Tracker:
    """Which jobs are pending, which must be checked next, and how far each stream was read."""

    def __init__(self, jobs: Iterable[Any] = ()) -> None:
        self._jobs: dict[str, Any] = {}
        self._last_seen: dict[str, str] = {}
        self._stream_job: dict[str, str] = {}
        self._extra: dict[str, str] = {}  # streams read along that belong to no job (a wake-up stream)
        self._due: dict[str, None] = {}  # ordered: results are reported in the order jobs were given
        for job in jobs:
            self.add(job)

    def __len__(self) -> int:
        return len(self._jobs)

    def pending_ids(self) -> list[str]:
        return list(self._jobs)

    def add(self, job: Any) -> None:
        """Watch ``job`` (a handle with an ``id``); it is checked on the next round."""
        if job.id in self._jobs:
            return
        self._jobs[job.id] = job
        stream = Result.get_key(job.id)
        self._last_seen[stream] = _FIRST_ENTRY
        self._stream_job[stream] = job.id
        self._due[job.id] = None

    def discard(self, job_id: str) -> None:
        """Stop watching ``job_id`` (e.g. the caller gave up on it)."""
        if self._jobs.pop(job_id, None) is not None:
            stream = Result.get_key(job_id)
            del self._last_seen[stream], self._stream_job[stream]
        self._due.pop(job_id, None)

    def take_due(self) -> list[str]:
        due = [i for i in self._due if i in self._jobs]
        self._due.clear()
        return due

    def mark_all_due(self) -> None:
        self._due.update(dict.fromkeys(self._jobs))

    def watch_extra(self, stream: str) -> None:
        """Also read ``stream``; an entry there only cuts the block short."""
        self._extra.setdefault(stream, _FIRST_ENTRY)

    def streams(self) -> dict[str, str]:
        """XREAD's ``{stream: last id read}`` for every pending job (and any extra stream)."""
        return {**self._last_seen, **self._extra}

    def absorb_xread(self, reply: Any) -> None:
        """Note what an XREAD returned; with nothing at all, re-check every job."""
        items = reply.items() if isinstance(reply, dict) else (reply or [])
        woke = False
        for name, entries in items:
            stream = name.decode() if isinstance(name, bytes) else name
            if not entries:
                continue
            if isinstance(entries[0], list):  # RESP3 wraps each stream's entries in one more list
                entries = entries[0]
            last = entries[-1][0]
            last = last.decode() if isinstance(last, bytes) else last
            if stream in self._extra:
                self._extra[stream] = last
            elif stream in self._stream_job:
                self._last_seen[stream] = last
                self._due[self._stream_job[stream]] = None
            else:
                continue
            woke = True
        if not woke:
            self.mark_all_due()

    def settle(self, states: dict[str, tuple], reasons: dict[str, str | None]) -> list[Completed]:
        """Turn checked states into completions; finished and failed jobs stop being watched."""
        done: list[Completed] = []
        for job_id, (stored, status) in states.items():
            job = self._jobs.get(job_id)
            if job is None:
                continue
            try:
                result = settle(job_id, stored, status, reasons.get(job_id))
            except RerankqError as exc:
                done.append(Completed(job, error=exc))
            else:
                if result is None:
                    continue
                done.append(Completed(job, result=result))
            self.discard(job_id)
        return done

    def timeout_error(self, timeout: float, total: int, outage: BaseException | None, conn: Any) -> JobTimeoutError:
        pending = self.pending_ids()
        shown = ", ".join(pending[:3]) + (", ..." if len(pending) > 3 else "")
        message = f"{len(pending)} of {total} rerank jobs had no result within {timeout:g}s ({shown})"
        if outage is not None:
            return JobTimeoutError(f"{message}; Redis is unreachable: {unavailable(conn, outage)}")
        return JobTimeoutError(f"{message}; start more workers or raise the timeout")


def queue_state_reads(pipe: Any, ids: list[str]) -> None:
    """Per job: our stored result and RQ's status (read back with ``pair_states``)."""
    for job_id in ids:
        pipe.get(keys.result_key(job_id))
        pipe.hget(Job.key_for(job_id), "status")


def pair_states(ids: list[str], replies: list) -> dict[str, tuple]:
    return {job_id: (replies[2 * i], replies[2 * i + 1]) for i, job_id in enumerate(ids)}


def queue_reason_reads(pipe: Any, ids: list[str]) -> None:
    for job_id in ids:
        pipe.xrevrange(Result.get_key(job_id), "+", "-", count=1)


def block_ms(remaining: float) -> int:
    return max(1, int(min(remaining, BLOCK_SECONDS) * 1000))


class ResultWatcher:
    """Watches a changing set of jobs on one Redis connection (not thread-safe)."""

    def __init__(self, connection: redis.Redis, jobs: Iterable[Any] = ()) -> None:
        self.connection = connection
        self.tracker = Tracker(jobs)
        self.outage: BaseException | None = None

    def __len__(self) -> int:
        return len(self.tracker)

    def add(self, job: Any) -> None:
        self.tracker.add(job)

    def discard(self, job_id: str) -> None:
        self.tracker.discard(job_id)

    def wait_some(self, timeout: float) -> list[Completed]:
        """Completions as soon as there are any; ``[]`` after ``timeout`` seconds or with nothing watched.

        Redis outages are retried with backoff until the timeout (see ``outage``).
        """
        deadline = time.monotonic() + timeout
        backoff = 0.1
        while self.tracker:
            try:
                due = self.tracker.take_due()
                done = self._check(due) if due else []
                self.outage = None
                if done:
                    return done
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self.tracker:
                    return []
                reply = self.connection.xread(self.tracker.streams(), block=block_ms(remaining))
                self.tracker.absorb_xread(reply)
            except REDIS_DOWN as exc:
                self.outage = exc
                self.tracker.mark_all_due()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                time.sleep(min(backoff, remaining))
                backoff = min(backoff * 2, 2.0)
        return []

    def _check(self, ids: list[str]) -> list[Completed]:
        pipe = self.connection.pipeline(transaction=False)
        queue_state_reads(pipe, ids)
        states = pair_states(ids, pipe.execute())
        failed = [i for i, (stored, status) in states.items() if needs_reason(stored, status)]
        reasons: dict[str, str | None] = {}
        if failed:
            pipe = self.connection.pipeline(transaction=False)
            queue_reason_reads(pipe, failed)
            reasons = {i: failure_reason(r) for i, r in zip(failed, pipe.execute(), strict=True)}
        return self.tracker.settle(states, reasons)


def as_completed(connection: redis.Redis, jobs: Iterable[Any], timeout: float) -> Iterator[Completed]:
    """Yield a ``Completed`` per job in the order they finish; ``JobTimeoutError`` after ``timeout``."""
    watcher = ResultWatcher(connection, jobs)
    total = len(watcher)
    deadline = time.monotonic() + timeout
    while watcher:
        done = watcher.wait_some(max(0.0, deadline - time.monotonic()))
        yield from done
        if not done and watcher and time.monotonic() >= deadline:
            raise watcher.tracker.timeout_error(timeout, total, watcher.outage, connection)
