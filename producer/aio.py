"""The asyncio producer client: the same methods as ``RerankClient``, awaitable.

RQ's ``Queue`` only speaks synchronous redis-py, so this client lets RQ build
the job in memory (``submission.build_queued_job``, no I/O) and writes it with
redis.asyncio in exactly the commands ``Queue.enqueue_job`` sends: one MULTI
with SADD rq:queues, HSET of the job hash, EXPIRE and RPUSH onto the queue, or
RQ's own Lua script when a request id must stay unique. Nothing here blocks the
event loop, and one client is safe to share between tasks of one event loop:
all their waits share one blocking read (``producer.completion_async``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import redis.asyncio
from rq import Queue
from rq.job import Job
from rq.results import Result
from rq.scripts import UNIQUE_ENQUEUE_SCRIPT

from producer import defaults, registry, submission
from producer.completion import Completed, pair_states, queue_state_reads
from producer.completion_async import WaitMultiplexer, as_completed_async
from producer.connection import connect_async, redis_errors, unavailable
from producer.contract import Limits, RerankResult
from producer.errors import JobTimeoutError
from producer.jobs import failure_reason, needs_reason, settle
from producer.settings import Settings


class AsyncRerankJob:
    """A submitted job. ``await poll()`` never blocks; ``await wait()`` blocks up to its timeout."""

    def __init__(self, client: AsyncRerankClient, job_id: str) -> None:
        self._client = client
        self.id = job_id

    def __repr__(self) -> str:
        return f"AsyncRerankJob(id={self.id!r})"

    async def poll(self) -> RerankResult | None:
        """The result if the job finished, ``None`` while it is queued or running.

        Raises ``JobFailedError`` if it failed and ``JobNotFoundError`` if no job
        or result exists under this id.
        """
        conn = self._client.connection
        with redis_errors(conn):
            pipe = conn.pipeline(transaction=False)
            queue_state_reads(pipe, [self.id])
            stored, status = pair_states([self.id], await pipe.execute())[self.id]
            reason = None
            if needs_reason(stored, status):
                reason = failure_reason(await conn.xrevrange(Result.get_key(self.id), "+", "-", count=1))
        return settle(self.id, stored, status, reason)

    async def status(self) -> str:
        """RQ's status of the job (queued, started, finished, failed, ...) or 'unknown'."""
        with redis_errors(self._client.connection):
            raw = await self._client.connection.hget(Job.key_for(self.id), "status")
        return raw.decode() if raw else "unknown"

    async def wait(self, timeout: float | None = None) -> RerankResult:
        """Wait for the result without blocking the loop; raise on failure or after ``timeout`` seconds."""
        timeout = defaults.WAIT_TIMEOUT if timeout is None else timeout
        waits = self._client._waits
        done = await waits.wait(self, timeout)
        if done is not None:
            return done.unwrap()
        conn = self._client.connection
        if waits.outage is not None:
            raise JobTimeoutError(
                f"rerank job {self.id}: no result within {timeout:g}s; "
                f"Redis is unreachable: {unavailable(conn, waits.outage)}"
            )
        raise JobTimeoutError(
            f"rerank job {self.id}: no result within {timeout:g}s (status: {await self.status()}); "
            "start a worker or raise the timeout"
        )


class AsyncRerankClient:
    """Submits rerank jobs and awaits their results from asyncio code.

    Creating a client does no network I/O; the first awaited call connects.
    Close it with ``await client.aclose()`` or use ``async with``.
    """

    def __init__(
        self,
        redis_url: str | None = None,
        *,
        connection: redis.asyncio.Redis | None = None,
        queue: str | None = None,
        settings: Settings | None = None,
    ) -> None:
        base = settings or Settings.from_env()
        self.settings = base.with_overrides(redis_url=redis_url, queue=queue)
        self._owns_connection = connection is None
        self.connection = connection if connection is not None else connect_async(self.settings.redis_url)
        self.limits = Limits(
            max_pairs=self.settings.max_pairs,
            max_text_chars=self.settings.max_text_chars,
            max_total_chars=self.settings.max_total_chars,
        )
        self._served: dict[str, float] = {}  # queue -> when a live worker was last seen on it
        self._unique_enqueue = self.connection.register_script(UNIQUE_ENQUEUE_SCRIPT)
        self._waits = WaitMultiplexer(self.connection)

    async def __aenter__(self) -> AsyncRerankClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop waiting for results and close the connection pool if this client opened it."""
        await self._waits.aclose()
        if self._owns_connection:
            await self.connection.aclose()

    async def submit(
        self,
        query: str,
        passages: Sequence[str],
        *,
        normalize: bool = True,
        top_k: int | None = None,
        return_text: bool = False,
        request_id: str | None = None,
        model: str | None = None,
        priority: str = "normal",
        require_worker: bool = True,
    ) -> AsyncRerankJob:
        """Validate and enqueue one query with its passages (see ``RerankClient.submit``)."""
        payload = submission.rerank_payload(
            query, passages, normalize=normalize, top_k=top_k, return_text=return_text,
            request_id=request_id, model=model,
        )
        return await self._submit(payload, priority=priority, require_worker=require_worker)

    async def submit_pairs(
        self,
        pairs: Sequence[Sequence[str]],
        *,
        normalize: bool = True,
        request_id: str | None = None,
        model: str | None = None,
        priority: str = "normal",
        require_worker: bool = True,
    ) -> AsyncRerankJob:
        """Validate and enqueue explicit (query, passage) pairs."""
        payload = submission.pairs_payload(pairs, normalize=normalize, request_id=request_id, model=model)
        return await self._submit(payload, priority=priority, require_worker=require_worker)

    async def rerank(
        self, query: str, passages: Sequence[str], *, timeout: float | None = None, **options: Any
    ) -> RerankResult:
        """Submit and wait: the scored, ranked result."""
        job = await self.submit(query, passages, **options)
        return await job.wait(timeout)

    async def compute_scores(
        self, pairs: Sequence[Sequence[str]], normalize: bool = True, *, timeout: float | None = None, **options: Any
    ) -> list[float]:
        """Scores of ``[[query, passage], ...]`` in input order (sigmoid when ``normalize``)."""
        job = await self.submit_pairs(pairs, normalize=normalize, **options)
        return (await job.wait(timeout)).scores

    def job(self, job_id: str) -> AsyncRerankJob:
        """A handle on an already submitted job."""
        return AsyncRerankJob(self, job_id)

    async def models(self) -> list[registry.ModelInfo]:
        """Models that live workers serve right now, with their queues and worker counts."""
        with redis_errors(self.connection):
            return registry.summarize(await registry.live_workers_async(self.connection))

    def as_completed(
        self, jobs: Iterable[AsyncRerankJob | str], timeout: float | None = None
    ) -> AsyncIterator[Completed]:
        """``async for done in client.as_completed(jobs)``: each job as it finishes (see ``completion``)."""
        handles = [self.job(j) if isinstance(j, str) else j for j in jobs]
        return as_completed_async(self.connection, handles, defaults.WAIT_TIMEOUT if timeout is None else timeout)

    async def _submit(self, payload: dict, *, priority: str, require_worker: bool) -> AsyncRerankJob:
        request = submission.prepare(payload, self.limits)
        queue_name = submission.target_queue(self.settings.queue, request.model, priority)
        if request.model and require_worker:
            await self._check_worker(request.model, queue_name)
        job_id = submission.new_job_id(request)
        job = submission.build_queued_job(queue_name, submission.enqueue_options(request, self.settings, job_id))
        with redis_errors(self.connection):
            # A repeated request id finds the earlier job: that job is the answer.
            await self._enqueue(job, queue_name, unique=request.request_id is not None)
        return AsyncRerankJob(self, job_id)

    async def _enqueue(self, job: Job, queue_name: str, *, unique: bool) -> bool:
        """Write ``job`` as ``Queue.enqueue_job`` does; False if ``unique`` and the id already exists."""
        queue_key = Queue.redis_queue_namespace_prefix + queue_name
        if unique:
            await self.connection.sadd(Queue.redis_queues_keys, queue_key)
            ttl = job.ttl if job.ttl is not None else -1
            return bool(await self._unique_enqueue(keys=[job.key, queue_key], args=[job.id, "R", ttl, *_hset_args(job)]))
        async with self.connection.pipeline(transaction=True) as pipe:
            pipe.sadd(Queue.redis_queues_keys, queue_key)
            pipe.hset(job.key, "status", job.get_status(refresh=False))
            pipe.hset(job.key, mapping=job.to_dict())
            if job.ttl:
                for key in (job.key, job.dependents_key, job.dependencies_key):
                    pipe.expire(key, job.ttl)
            pipe.rpush(queue_key, job.id)
            await pipe.execute()
        return True

    async def _check_worker(self, model: str, queue: str) -> None:
        """Raise ``NoWorkerError`` unless a live worker serves ``queue`` (positive answers are cached briefly)."""
        seen = self._served.get(queue)
        if seen is not None and time.monotonic() - seen < defaults.WORKER_CHECK_SECONDS:
            return
        with redis_errors(self.connection):
            workers = await registry.live_workers_async(self.connection)
        error = submission.missing_worker(model, queue, workers)
        if error is not None:
            raise error
        self._served[queue] = time.monotonic()


def _hset_args(job: Job) -> list[Any]:
    """The job hash as the flat field/value list RQ's unique-enqueue script takes."""
    args: list[Any] = []
    for field, value in job.to_dict().items():
        if value is not None:
            args += [field, value if isinstance(value, (bytes, str)) else str(value)]
    return args
