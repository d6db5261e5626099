"""Watching results from asyncio: ``as_completed_async`` and the wait multiplexer.

``AsyncResultWatcher`` is ``completion.ResultWatcher`` with awaits: the same
pure ``Tracker`` decides what to check and when, so sync and asyncio code see
results alike.

A blocking XREAD holds a Redis connection for its whole block, so a thousand
concurrent ``await job.wait()`` calls each doing their own XREAD would need a
thousand connections (redis.asyncio's default pool stops at 100). Instead,
``WaitMultiplexer`` lets waits register a future; one background task watches
all their jobs with one ``AsyncResultWatcher`` and resolves the futures. A wait
that arrives while that task is blocked wakes it through the client's private
wake stream, so a new job is checked at once, not after the block.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from typing import Any

import redis
import redis.asyncio

from producer import keys
from producer.completion import (
    REDIS_DOWN,
    Completed,
    Tracker,
    block_ms,
    pair_states,
    queue_reason_reads,
    queue_state_reads,
)
from producer.jobs import BLOCK_SECONDS, failure_reason, needs_reason

WAKE_KEY_TTL = 300
"""Seconds a client's private wake-up stream outlives its last use."""


class AsyncResultWatcher:
    """``ResultWatcher`` for asyncio: one task awaits ``wait_some`` at a time.

    With a ``wake_key``, other tasks may ``add`` jobs while it blocks and then
    ``await wake()``: one entry on that private stream ends the block, so the
    new jobs are checked at once instead of after the block.
    """

    def __init__(self, connection: redis.asyncio.Redis, jobs: Iterable[Any] = (), wake_key: str | None = None) -> None:
        self.connection = connection
        self.tracker = Tracker(jobs)
        self.outage: BaseException | None = None
        self.wake_key = wake_key
        if wake_key is not None:
            self.tracker.watch_extra(wake_key)
        self._blocking = False
        self._woken = False

    async def wake(self) -> None:
        """Cut a blocking read short (once per block; a no-op while not blocked)."""
        if self.wake_key is None or not self._blocking or self._woken:
            return
        self._woken = True
        pipe = self.connection.pipeline(transaction=False)
        pipe.xadd(self.wake_key, {"wake": "1"}, maxlen=1)
        pipe.expire(self.wake_key, WAKE_KEY_TTL)
        await pipe.execute()

    def __len__(self) -> int:
        return len(self.tracker)

    def add(self, job: Any) -> None:
        self.tracker.add(job)

    def discard(self, job_id: str) -> None:
        self.tracker.discard(job_id)

    async def wait_some(self, timeout: float) -> list[Completed]:
        """Completions as soon as there are any; ``[]`` after ``timeout`` seconds or with nothing watched."""
        deadline = time.monotonic() + timeout
        backoff = 0.1
        while self.tracker:
            try:
                due = self.tracker.take_due()
                done = await self._check(due) if due else []
                self.outage = None
                if done:
                    return done
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self.tracker:
                    return []
                self._blocking, self._woken = True, False
                try:
                    reply = await self.connection.xread(self.tracker.streams(), block=block_ms(remaining))
                finally:
                    self._blocking = False
                self.tracker.absorb_xread(reply)
            except REDIS_DOWN as exc:
                self.outage = exc
                self.tracker.mark_all_due()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                await asyncio.sleep(min(backoff, remaining))
                backoff = min(backoff * 2, 2.0)
        return []

    async def _check(self, ids: list[str]) -> list[Completed]:
        pipe = self.connection.pipeline(transaction=False)
        queue_state_reads(pipe, ids)
        states = pair_states(ids, await pipe.execute())
        failed = [i for i, (stored, status) in states.items() if needs_reason(stored, status)]
        reasons: dict[str, str | None] = {}
        if failed:
            pipe = self.connection.pipeline(transaction=False)
            queue_reason_reads(pipe, failed)
            reasons = {i: failure_reason(r) for i, r in zip(failed, await pipe.execute(), strict=True)}
        return self.tracker.settle(states, reasons)


async def as_completed_async(
    connection: redis.asyncio.Redis, jobs: Iterable[Any], timeout: float
) -> AsyncIterator[Completed]:
    """``as_completed`` for asyncio: ``async for done in ...``."""
    watcher = AsyncResultWatcher(connection, jobs)
    total = len(watcher)
    deadline = time.monotonic() + timeout
    while watcher:
        done = await watcher.wait_some(max(0.0, deadline - time.monotonic()))
        for item in done:
            yield item
        if not done and watcher and time.monotonic() >= deadline:
            raise watcher.tracker.timeout_error(timeout, total, watcher.outage, connection)


log = logging.getLogger(__name__)


class WaitMultiplexer:
    """Futures for job results, fed by one watcher task per client (one event loop)."""

    def __init__(self, connection: redis.asyncio.Redis) -> None:
        self.watcher = AsyncResultWatcher(connection, wake_key=keys.wake_key(uuid.uuid4().hex))
        self._futures: dict[str, set[asyncio.Future[Completed]]] = {}
        self._task: asyncio.Task[None] | None = None

    @property
    def outage(self) -> BaseException | None:
        """The Redis error of the watcher's last round, if it failed."""
        return self.watcher.outage

    async def wait(self, job: Any, timeout: float) -> Completed | None:
        """The job's completion, or ``None`` after ``timeout`` seconds."""
        future: asyncio.Future[Completed] = asyncio.get_running_loop().create_future()
        self._futures.setdefault(job.id, set()).add(future)
        self.watcher.add(job)
        try:
            await self._nudge()
            return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            return None
        finally:
            waiting = self._futures.get(job.id)
            if waiting is not None:
                waiting.discard(future)
                if not waiting:
                    del self._futures[job.id]
                    self.watcher.discard(job.id)

    async def _nudge(self) -> None:
        """Start the watcher task, or wake it if it is blocked on streams that lack the new job."""
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._task = loop.create_task(self._run())
            return
        # A failed wake costs only latency: the watcher re-checks every job after each block.
        with contextlib.suppress(redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
            await self.watcher.wake()

    async def _run(self) -> None:
        # Exits once no job is left to watch (settled jobs leave the watcher before their
        # waiters wake up); the check and the exit have no await between them.
        while self._futures and len(self.watcher):
            try:
                done = await self.watcher.wait_some(BLOCK_SECONDS)
            except Exception as exc:  # a bug or an unexpected reply must not strand the waiters
                log.exception("result watcher failed; failing %d pending waits", len(self._futures))
                for futures in self._futures.values():
                    for future in futures:
                        if not future.done():
                            future.set_exception(exc)
                return
            for item in done:
                for future in self._futures.get(item.id, ()):
                    if not future.done():
                        future.set_result(item)

    async def aclose(self) -> None:
        """Stop the watcher task (pending waits then time out)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
