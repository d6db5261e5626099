"""Taking jobs in: waiting for work without taking it, and vetting what was taken.

RQ's own dequeue pops a job id with BLPOP and records it as started a moment
later; a worker killed in between loses the job without a trace. Ours claims
with one atomic script (``recovery.claim_next``), which cannot block, so an
idle worker waits with a command that blocks but takes nothing: ``BLMOVE q q
RIGHT RIGHT`` pops a queue's last id and pushes it straight back, a no-op
rotation that returns as soon as the queue is non-empty. One such wait per
served queue runs at once (asyncio, a connection each); the first to return
wakes the worker, which then claims atomically.

A claimed job is vetted before RQ sees it: Redis is writable by other clients,
and RQ would import and call whatever function a job hash names.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

import redis
import redis.asyncio
from rq.exceptions import DeserializationError, NoSuchJobError
from rq.job import Job
from rq.queue import Queue
from rq.worker import WorkerStatus

from producer.submission import JOB_FUNCTION
from worker import recovery, resilience
from worker.heartbeat import REGISTRATION_TTL, HeartbeatThread, RunningJob

log = logging.getLogger(__name__)

WAIT_GRACE = 5.0
"""Seconds a waiting connection's socket outlives its blocking command."""

IDLE_WAIT = 5.0
"""Seconds one idle wait for a job lasts before the loop looks at maintenance and heartbeats again."""


class QueueWatcher:
    """Blocks until any of some queues holds a job, without taking one.

    Each queue has one outstanding rotation at a time; one that is still
    blocked when a wait ends is kept for the next wait, never cancelled (a
    cancelled blocking read would hold its connection until the server
    answers).
    """

    def __init__(self, redis_url: str, queues: Sequence[str], connect_timeout: float = 5.0) -> None:
        self._url = redis_url
        self._keys = [Queue.redis_queue_namespace_prefix + q for q in queues]
        self._connect_timeout = connect_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clients: list[redis.asyncio.Redis] = []
        self._watches: list[asyncio.Task | None] = []
        self._seconds = 0.0
        self._task: asyncio.Task | None = None

    def wait(self, seconds: float, should_stop: Callable[[], bool] = lambda: False) -> bool:
        """Up to ``seconds`` until a queue is non-empty; True if one is, False if not or cut short.

        Raises on Redis errors. ``interrupt`` (from a signal handler) ends it early.
        """
        if self._loop is None or seconds != self._seconds:
            self._open(seconds)
        try:
            return self._run(seconds, should_stop)
        except recovery.REDIS_DOWN:
            # Connections idle since before a Redis restart are dead: one more try on new ones.
            self._open(seconds)
            return self._run(seconds, should_stop)

    def interrupt(self) -> None:
        """End a wait in progress; safe in a signal handler (asyncio's own pattern for SIGINT)."""
        task, loop = self._task, self._loop
        if task is not None and loop is not None:
            task.cancel()
            loop.call_soon_threadsafe(_nothing)

    def _run(self, seconds: float, should_stop: Callable[[], bool]) -> bool:
        assert self._loop is not None
        self._task = self._loop.create_task(self._wait_any(seconds))
        try:
            if should_stop():  # a stop that came before the task existed
                self._task.cancel()
            return self._loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            return False
        finally:
            self._task = None

    def _open(self, seconds: float) -> None:
        self.close()
        self._loop = asyncio.new_event_loop()
        self._seconds = seconds
        self._clients = [
            redis.asyncio.Redis.from_url(
                self._url, socket_connect_timeout=self._connect_timeout, socket_timeout=seconds + WAIT_GRACE
            )
            for _ in self._keys
        ]
        self._watches = [None] * len(self._keys)

    async def _wait_any(self, seconds: float) -> bool:
        for i, (client, key) in enumerate(zip(self._clients, self._keys, strict=True)):
            if self._watches[i] is None:
                self._watches[i] = asyncio.ensure_future(client.blmove(key, key, seconds, "RIGHT", "RIGHT"))
        live = [w for w in self._watches if w is not None]
        done, _ = await asyncio.wait(live, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        woke, error = False, None
        for i, watch in enumerate(self._watches):
            if watch is None or watch not in done:
                continue
            self._watches[i] = None  # answered: the next wait asks again
            if watch.exception() is not None:
                error = error or watch.exception()
            else:
                woke = woke or watch.result() is not None
        if error is not None:
            raise error
        return woke

    def close(self) -> None:
        if self._loop is None:
            return
        loop, self._loop = self._loop, None
        try:
            loop.run_until_complete(self._shut())
        except (RuntimeError, ValueError, redis.exceptions.RedisError, OSError):
            pass  # closing a dead connection
        finally:
            self._clients, self._watches = [], []
            loop.close()

    async def _shut(self) -> None:
        watches = [w for w in self._watches if w is not None]
        for watch in watches:
            watch.cancel()
        for client in self._clients:
            await client.connection_pool.disconnect()  # ends blocked reads now, not at their timeout
        if watches:
            await asyncio.wait(watches, timeout=1.0)
        for client in self._clients:
            await client.aclose()


def _nothing() -> None:
    """Scheduled only to wake the event loop."""


def inspect_job(connection: redis.Redis, job_id: str, serializer: object) -> tuple[Job | None, str | None]:
    """The claimed job ready to run, or why it must not run.

    ``(job, None)``: a rerank job; ``(None, problem)``: refuse it, failing it
    once; ``(None, None)``: its hash is gone (expired or deleted), drop it.
    """
    try:
        job = Job.fetch(job_id, connection=connection, serializer=serializer)
    except NoSuchJobError:
        if connection.exists(Job.key_for(job_id)):
            return None, "the job hash has no 'data' field"
        return None, None
    except Exception as exc:  # RQ parses dates, statuses and JSON fields of the hash
        return None, f"the job hash cannot be read ({type(exc).__name__}: {exc})"
    try:
        func_name, instance, args, kwargs = job.func_name, job.instance, job.args, job.kwargs
    except DeserializationError as exc:
        cause = exc.__cause__
        detail = f"{type(cause).__name__}: {cause}" if cause else "unreadable"
        return None, f"the job data is not a JSON job ({detail}); enqueue with rq's JSONSerializer"
    if func_name != JOB_FUNCTION or instance is not None:
        return None, f"the job calls {func_name!r}; rerankq workers run only {JOB_FUNCTION}"
    if not isinstance(args, (list, tuple)) or len(args) != 1 or kwargs:
        return None, f"{JOB_FUNCTION} takes exactly one argument, the request; the job gives other arguments"
    hooks = [n for n in ("_success_callback_name", "_failure_callback_name", "_stopped_callback_name")
             if getattr(job, n, None)]
    if hooks or getattr(job, "webhooks", None):
        return None, "the job carries callbacks or webhooks; rerankq jobs have none and they are not run"
    # Retries are decided by rerankq (abandoned jobs only), never by fields in the hash.
    job.retries_left = None
    return job, None


class IntakeMixin:
    """Claiming, vetting and recovering jobs for ``RerankWorker`` (mixed in before RQ's worker)."""

    _beats: HeartbeatThread | None = None
    _watcher: QueueWatcher | None = None

    def run_maintenance_tasks(self) -> None:
        # Ours first: RQ's cleanup fails expired started jobs that we would retry.
        self.recover_abandoned()
        super().run_maintenance_tasks()

    def recover_abandoned(self) -> None:
        """Settle abandoned jobs of every served queue now (no lock: settling is atomic per job)."""
        for queue in self.queue_names():
            for job_id, outcome in recovery.recover(self.connection, queue, self.policy, self.name).items():
                log.info("job %s: found abandoned on %s: %s", job_id, queue, outcome, extra={"job_id": job_id})

    def dequeue_job_and_maintain_ttl(self, timeout: int | None, max_idle_time: int | None = None):
        """The next vetted job and its queue; ``None`` in burst mode when the queues are empty.

        Replaces RQ's BLPOP: the job is claimed atomically (never lost to a crash
        in between), and an idle worker waits without taking anything.
        """
        if self.get_state() != WorkerStatus.IDLE:
            self.set_state(WorkerStatus.IDLE)
        self.procline(f"Listening on {','.join(self.queue_names())}")
        pause = 0.5
        beaten = time.monotonic()
        while not self._stop_requested:
            try:
                if time.monotonic() - beaten >= self.worker_ttl / 3:
                    self.heartbeat()
                    beaten = time.monotonic()
                if self.should_run_maintenance_tasks:
                    self.run_maintenance_tasks()
                taken = self._take_next()
                if taken is not None:
                    return taken
                if timeout is None:
                    return None
                self._wait_for_work()
                pause = 0.5
            except recovery.REDIS_DOWN as exc:
                log.error("worker %s: Redis unreachable while idle (%s); retrying in %.1fs", self.name, exc, pause)
                time.sleep(pause)
                pause = min(pause * 2, resilience.WAIT_CAP)
        return None

    def _wait_for_work(self) -> None:
        if self._watcher is None:
            self._watcher = QueueWatcher(self.settings.redis_url, self.queue_names())
        # A stop signal interrupts this wait (StoppingMixin._shutdown); it has claimed nothing.
        log.debug("worker %s: waiting for jobs", self.name)
        woke = self._watcher.wait(IDLE_WAIT, lambda: self._stop_requested)
        log.debug("worker %s: %s", self.name, "a queue has jobs" if woke else "wait over")

    def _take_next(self):
        """Claim and vet jobs until one may run; ``None`` when the queues are empty."""
        queues = {q.name: q for q in self.queues}
        while True:
            claimed = recovery.claim_next(self.connection, list(queues))
            if claimed is None:
                return None
            queue_name, job_id = claimed
            attempt, has_result = recovery.start_attempt(self.connection, job_id, self.name, self.policy)
            if has_result:
                # A retry of a job whose earlier attempt finished after all: that result stands.
                log.info("job %s: already has a result; not run again", job_id, extra={"job_id": job_id})
                recovery.finish(self.connection, job_id, queue_name, self.name, self.policy)
                continue
            job, problem = inspect_job(self.connection, job_id, self.serializer)
            if job is not None:
                log.info("job %s: taken from %s (attempt %d)", job_id, queue_name, attempt, extra={"job_id": job_id})
                return job, queues[queue_name]
            if problem is not None:
                log.warning("job %s: refused, it fails without running: %s", job_id, problem, extra={"job_id": job_id})
                recovery.fail_job(self.connection, job_id, queue_name, "MalformedJob", f"malformed job: {problem}",
                                  self.name, self.settings.result_ttl)
            recovery.finish(self.connection, job_id, queue_name, self.name, self.policy)

    def prepare_execution(self, job):
        execution = super().prepare_execution(job)
        if self._beats is not None:
            self._beats.job_started(RunningJob(
                job_id=job.id,
                started_registry=job.started_job_registry.key,
                execution_key=execution.key,
                execution_member=execution.composite_key,
                rq_ttl=self.get_heartbeat_ttl(job),
            ))
        return execution

    def _start_beats(self) -> None:
        self._stop_beats()
        self._quietly(self.recover_abandoned)
        self._beats = HeartbeatThread(
            resilience.side_connection(self.settings.redis_url, timeout=max(1.0, self.settings.heartbeat_interval)),
            self.name, self.queue_names(), self.policy, self.settings.heartbeat_interval,
            self.registration, REGISTRATION_TTL,
        )
        self._beats.start()

    def _stop_beats(self) -> None:
        beats, self._beats = self._beats, None
        if beats is not None:
            beats.stop()
