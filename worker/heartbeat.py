"""The worker's heartbeat thread: proof of life for its job, and maintenance.

RQ's ``SimpleWorker`` sends no heartbeat while a job runs, so a long job looks
exactly like a dead worker. This thread, with a Redis connection of its own,
wakes every ``heartbeat_interval`` seconds and, while a job runs, refreshes the
job's heartbeat key and its entry in RQ's started registry; it always refreshes
the worker's registration (so idle and long-busy workers stay listed); and, at
most once per interval across all workers (a short Redis lock per queue), it
looks for abandoned jobs of the queues this worker serves.

It never raises: a beat that fails (Redis down) is logged once per outage and
the next one tries again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis

from producer import keys, registry
from worker import recovery

log = logging.getLogger(__name__)

REGISTRATION_TTL = 60
"""Seconds a worker's registration (``producer.registry``) outlives its last refresh."""


@dataclass(frozen=True)
class RunningJob:
    """What the heartbeat refreshes for the job in progress."""

    job_id: str
    started_registry: str | None = None
    execution_key: str | None = None
    execution_member: str | None = None
    rq_ttl: int = 0


class HeartbeatThread(threading.Thread):
    """Beats for one worker until ``stop``; create a new one per work loop."""

    def __init__(
        self,
        connection: redis.Redis,
        worker_name: str,
        queues: list[str],
        policy: recovery.RetryPolicy,
        interval: float,
        registration: Callable[[str], dict[str, str | int | float]],
        registration_ttl: int,
    ) -> None:
        super().__init__(name=f"heartbeat-{worker_name}", daemon=True)
        self._connection = connection
        self._worker = worker_name
        self._queues = queues
        self._policy = policy
        self._interval = interval
        self._registration = registration
        self._registration_ttl = registration_ttl
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._job: RunningJob | None = None
        self._down_since: float | None = None

    def job_started(self, job: RunningJob) -> None:
        with self._lock:
            self._job = job

    def job_ended(self) -> None:
        with self._lock:
            self._job = None

    def run(self) -> None:
        while not self._stopped.wait(self._interval):
            self.beat()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopped.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)

    def beat(self) -> None:
        """One round: heartbeat, registration, maintenance; logs instead of raising."""
        with self._lock:
            job = self._job
        try:
            self._refresh(job)
            self._maintain()
        except recovery.REDIS_DOWN as exc:
            if self._down_since is None:
                self._down_since = time.monotonic()
                log.warning("worker %s: heartbeat cannot reach Redis (%s); retrying every %gs",
                            self._worker, exc, self._interval)
            return
        except Exception:
            log.exception("worker %s: heartbeat failed; it goes on", self._worker)
            return
        if self._down_since is not None:
            log.info("worker %s: heartbeat reaches Redis again after %.1fs",
                     self._worker, time.monotonic() - self._down_since)
            self._down_since = None

    def _refresh(self, job: RunningJob | None) -> None:
        if job is not None:
            pipe = self._connection.pipeline(transaction=False)
            pipe.set(keys.heartbeat_key(job.job_id), self._worker, px=int(self._policy.heartbeat_ttl * 1000))
            if job.started_registry and job.execution_member and job.execution_key:
                # Keep RQ's own view fresh too, so RQ tools do not see a stale started job.
                pipe.zadd(job.started_registry, {job.execution_member: time.time() + job.rq_ttl}, xx=True)
                pipe.expire(job.execution_key, job.rq_ttl)
            pipe.execute()
        state = "busy" if job is not None else "idle"
        registry.register(self._connection, self._worker, self._registration(state), self._registration_ttl)

    def _maintain(self) -> None:
        # A little under one interval, so the worker that ran maintenance last can run it again next tick.
        lock_ms = max(1, int(self._interval * 800))
        for queue in self._queues:
            if not self._connection.set(keys.maintenance_lock_key(queue), self._worker, nx=True, px=lock_ms):
                continue
            for job_id, outcome in recovery.recover(self._connection, queue, self._policy, self._worker).items():
                log.info("job %s: found abandoned on %s by %s: %s", job_id, queue, self._worker, outcome)
