"""How a worker stops, and how it gives up a job it cannot finish.

Graceful drain: the first SIGTERM/SIGINT lets the current job finish, then the
work loop ends and the process exits 0. A second signal (at least a second
later; RQ treats two within a second as one stop delivered twice) raises
``ColdShutdown`` inside the job; the job's claim is released, which puts it
back at the front of its queue (or fails it, if its retries are used up), and
the process exits with 128 + the signal number. The same release happens when
Redis fails under a job: an outage is not the job's fault, so it is never
failed for it. Job-count and memory ceilings end the loop between jobs.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from types import FrameType

from worker import recovery, resilience

log = logging.getLogger(__name__)


class ColdShutdown(BaseException):
    """Raised in the job by a second stop signal; a BaseException so no job code swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped at once by signal {signum}")
        self.signum = signum


class StoppingMixin:
    """Signal handling, ceilings and job release for ``RerankWorker`` (mixed in before RQ's worker)."""

    stop_reason: str | None = None
    _running: str | None = None
    _cold_signal: int | None = None

    def _shutdown(self) -> None:
        """First SIGTERM/SIGINT: finish the current job, then exit 0."""
        self.stop_reason = self.stop_reason or "stop signal"
        self._stop_requested = True
        if self._running is not None:
            log.info("worker %s: stopping after job %s; signal again to stop at once (the job is then retried)",
                     self.name, self._running)
        elif self._watcher is not None:
            self._watcher.interrupt()  # an idle worker stops at once

    def request_force_stop(self, signum: int, frame: FrameType | None) -> None:
        """Second signal: stop now; the job in progress goes back to its queue."""
        if self._shutdown_requested_date and (time.time() - self._shutdown_requested_date.timestamp()) < 1:
            return  # one stop delivered twice (supervisor and terminal), not a second stop
        if self._cold_signal is not None:
            os._exit(128 + signum)  # a third signal: the release itself is stuck
        self._cold_signal = signum
        log.warning("worker %s: cold shutdown on signal %s", self.name, signal.Signals(signum).name)
        if self._running is not None:
            raise ColdShutdown(signum)
        raise SystemExit(128 + signum)

    def _finalize_failure(self, job, queue, execution, exc_info) -> None:
        error = exc_info[1]
        if isinstance(error, ColdShutdown):
            raise error
        if isinstance(error, recovery.REDIS_DOWN):
            # Not the job's fault: hand it back instead of failing it for good.
            log.error("job %s: Redis failed under it (%s); it goes back to its queue", job.id, error,
                      extra={"job_id": job.id})
            self._release(job.id, queue.name, f"Redis failed under it ({error})")
            return
        super()._finalize_failure(job, queue, execution, exc_info)

    def _release(self, job_id: str, queue: str, reason: str) -> None:
        """Give the job back (requeued, or failed when out of retries); if Redis is down, maintenance will."""
        try:
            outcome = recovery.release(self.connection, job_id, queue, self.policy, reason, self.name)
        except recovery.REDIS_DOWN as exc:
            log.error("job %s: not released (%s); it is retried once its heartbeat expires", job_id, exc,
                      extra={"job_id": job_id})
            return
        log.warning("job %s: released: %s", job_id, outcome, extra={"job_id": job_id})

    def _check_limits(self) -> None:
        """Stop cleanly between jobs when a job count or memory ceiling is reached."""
        max_jobs, max_rss = self.settings.max_jobs, self.settings.max_rss_mb
        if max_jobs is not None and self.jobs_done >= max_jobs:
            self._stop_for(f"ran {self.jobs_done} jobs (--max-jobs {max_jobs})")
        elif max_rss is not None and (rss := resilience.rss_mb()) > max_rss:
            self._stop_for(f"resident memory {rss:.0f} MiB is over --max-rss-mb {max_rss}")

    def _stop_for(self, reason: str) -> None:
        log.info("worker %s: %s; exiting so the supervisor starts a fresh one", self.name, reason)
        self.stop_reason = reason
        self._stop_requested = True
