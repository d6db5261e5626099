"""The long-lived worker process: load the model once, then serve RQ jobs."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import time
from collections import deque

import redis
from rq import SimpleWorker
from rq.job import JobStatus
from rq.serializers import JSONSerializer

from producer import keys, registry, stats
from producer.connection import connect, unavailable
from producer.contract import failure_document
from producer.errors import RedisUnavailableError
from producer.settings import Settings
from worker import metrics, multijob, recovery, resilience, runtime
from worker.heartbeat import REGISTRATION_TTL, RunningJob
from worker.intake import IntakeMixin
from worker.loading import SessionConfig, load_model
from worker.model_dir import resolve_model_dir
from worker.scorer import PairScorer
from worker.stopping import ColdShutdown, StoppingMixin

log = logging.getLogger(__name__)


RQ_WORKER_TTL = 45
"""RQ's worker TTL; short, so an idle worker's heartbeats come well inside ``REGISTRATION_TTL``."""

OUTCOMES = {JobStatus.FINISHED: "finished", JobStatus.FAILED: "failed"}
"""Job statuses counted as outcomes in stats and metrics."""

RESTARTS_PER_MINUTE = 10
"""Work loops that may end abnormally (Redis lost) within a minute before the worker gives up."""


class RerankWorker(IntakeMixin, StoppingMixin, SimpleWorker):
    """An RQ worker that runs jobs in its own process, next to its loaded model.

    ``SimpleWorker`` never forks, so the ONNX session created at start-up is the
    one every job uses (sessions do not survive a fork). On top of RQ it claims
    jobs atomically, beats while it works, retries what dead workers left
    behind, drains on SIGTERM and never runs a job it did not vet (see
    docs/reliability.md).
    """

    model_name: str = "?"
    jobs_done: int = 0
    settings: Settings = Settings()

    def configure(self, settings: Settings, model_name: str) -> None:
        """Attach rerankq's settings (RQ builds the worker, so this is not ``__init__``)."""
        self.settings = settings
        self.model_name = model_name
        self.policy = recovery.RetryPolicy.from_settings(settings)

    def registration(self, state: str) -> dict[str, str | int | float]:
        """What this worker tells producers about itself (see ``producer.registry``)."""
        return {
            "model": self.model_name,
            "queues": ",".join(self.queue_names()),
            "state": state,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "jobs": self.jobs_done,
            "started_at": self.birth_date.timestamp() if self.birth_date else 0.0,
        }

    def _set_connection(self, connection: redis.Redis) -> redis.Redis:
        # RQ stretches the socket timeout to fit its long BLPOP; our waits are short
        # and run on their own connections, so keep the short one (a hung Redis is noticed).
        return connection

    def register_birth(self) -> None:
        super().register_birth()
        registry.register(self.connection, self.name, self.registration("idle"), REGISTRATION_TTL)
        self._start_beats()

    def register_death(self) -> None:
        self._stop_beats()
        registry.unregister(self.connection, self.name)
        super().register_death()

    def heartbeat(self, timeout=None, pipeline=None) -> None:
        if pipeline is not None:
            super().heartbeat(timeout, pipeline)
            return
        with self.connection.pipeline() as pipe:  # RQ sends its three commands one by one
            super().heartbeat(timeout, pipe)
            pipe.execute()
        # Idle workers heartbeat only between blocking dequeues; keep the registration alive with it.
        if self.get_state() != "busy":
            registry.register(self.connection, self.name, self.registration("idle"), REGISTRATION_TTL)

    def perform_job(self, job, queue, execution) -> bool:
        ok = super().perform_job(job, queue, execution)
        # Count by the status the attempt left: a released or retried job has no outcome yet.
        outcome = OUTCOMES.get(job.get_status(refresh=False))
        if outcome is not None:
            metrics.current().job_outcome(outcome)
            try:
                stats.record(self.connection, job.origin, outcome=outcome)
            except redis.exceptions.RedisError as exc:
                log.warning("job %s: outcome %s not counted: %s", job.id, outcome, exc, extra={"job_id": job.id})
        return ok

    def execute_job(self, job, queue) -> None:
        self._running = job.id
        if self._beats is not None:
            self._beats.job_started(RunningJob(job_id=job.id))
        try:
            registry.register(self.connection, self.name, self.registration("busy"), REGISTRATION_TTL)
            super().execute_job(job, queue)
        except ColdShutdown as stop:
            self._running = None
            self._release(job.id, queue.name, "its worker was stopped at once by a second stop signal")
            raise SystemExit(128 + stop.signum) from None
        finally:
            self._running = None
            if self._beats is not None:
                self._beats.job_ended()
            self.jobs_done += 1
            # RQ's heartbeat right after this registers the worker idle again.
            self._quietly(recovery.finish, self.connection, job.id, queue.name, self.name, self.policy)
        self._check_limits()

    def handle_job_failure(self, job, queue, started_job_registry=None, exc_string="", execution=None) -> None:
        """Store the failed JSON doc (unless a result exists), then RQ's bookkeeping; a finished job stays finished."""
        key = keys.result_key(job.id)
        try:
            stored = self.connection.get(key)
            if stored is not None and not _is_failure(stored):
                # An earlier attempt finished: its result stands, and so does "finished".
                log.warning("job %s: a later attempt failed, the earlier result stands", job.id,
                            extra={"job_id": job.id})
                with self.connection.pipeline() as pipe:
                    job.set_status(JobStatus.FINISHED, pipeline=pipe)
                    self.cleanup_execution(job, pipeline=pipe, execution=execution)
                    pipe.execute()
                return
            if stored is None:
                error_type, message = _last_error(exc_string)
                doc = failure_document(job.id, error_type, message, self.name, time.time())
                self.connection.set(key, doc, nx=True, ex=self.settings.result_ttl)
        except recovery.REDIS_DOWN as exc:
            log.error("job %s: failure not stored, Redis unreachable: %s", job.id, exc, extra={"job_id": job.id})
        super().handle_job_failure(job, queue, started_job_registry, exc_string, execution)

    def teardown(self) -> None:
        try:
            super().teardown()
        finally:
            self._stop_beats()
            watcher, self._watcher = self._watcher, None
            if watcher is not None:
                try:
                    watcher.close()
                except Exception:  # never let cleanup replace the reason the loop ended
                    log.debug("worker %s: closing the queue watcher failed", self.name, exc_info=True)

    def prepare_reentry(self) -> None:
        """Clear what a work loop that died with Redis left behind, before ``work()`` runs again."""
        self._stop_beats()
        with contextlib.suppress(Exception):
            self.unsubscribe()
        self.pubsub = self.pubsub_thread = None
        with contextlib.suppress(Exception):
            self.connection.delete(self.key)  # our own stale RQ worker hash

    def _quietly(self, action, *args) -> None:
        """Run a bookkeeping step whose failure (Redis down) must not end the worker."""
        try:
            action(*args)
        except recovery.REDIS_DOWN as exc:
            log.warning("worker %s: %s skipped, Redis unreachable: %s", self.name, action.__name__, exc)


def _is_failure(stored: bytes) -> bool:
    try:
        return json.loads(stored).get("status") == "failed"
    except (ValueError, AttributeError):
        return False


def _last_error(exc_string: str) -> tuple[str, str]:
    """``(type, message)`` from the last line of a formatted traceback."""
    lines = [line.strip() for line in exc_string.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else "JobFailed: the job failed without an error message"
    kind, sep, message = last.partition(": ")
    return (kind.rsplit(".", 1)[-1], message) if sep and " " not in kind else ("JobFailed", last)


def build_scorer(settings: Settings) -> PairScorer:
    """Resolve, load and wrap the configured model (raises ``ModelDirError``)."""
    spec = resolve_model_dir(settings.model_dir)
    model = load_model(spec, SessionConfig.from_settings(settings))
    return PairScorer(model, settings.batch_tokens)


def worker_queues(settings: Settings, model_name: str | None = None) -> list[str]:
    """Queues in the order served: every high-priority queue first, then the normal ones.

    A worker serves its model's own queue, plus the base queue (jobs that name
    no model) unless ``serve_default_queue`` is off.
    """
    model = model_name or settings.model_name
    served = [keys.model_queue(settings.queue, model)] if model else []
    if settings.serve_default_queue or not served:
        served.append(settings.queue)
    return [keys.queue_name(q, high_priority=True) for q in served] + served


def default_worker_name() -> str:
    return f"{socket.gethostname()}.{os.getpid()}"


def run_worker(settings: Settings, *, burst: bool = False) -> bool:
    """Load the model, connect, and work until stopped; True if any job ran."""
    resilience.check_settings(settings)
    # Bind the metrics port first: a taken port stops the worker before a slow model load.
    observed = metrics.serve(settings.metrics_port, settings.metrics_address) if settings.metrics_port else None
    scorer = build_scorer(settings)
    if observed is not None:
        observed.model_loaded(scorer.model.load_seconds)
    probe = connect(settings.redis_url)
    try:
        probe.ping()
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
        raise unavailable(probe, exc) from exc
    finally:
        probe.close()
    connection = resilience.worker_connection(settings.redis_url)
    resilience.warn_if_evicting(connection)
    worker = RerankWorker(
        worker_queues(settings, scorer.name),
        connection=connection,
        name=default_worker_name(),
        serializer=JSONSerializer,
        default_result_ttl=settings.result_ttl,
        worker_ttl=RQ_WORKER_TTL,
    )
    worker.configure(settings, scorer.name)
    # Cross-job batching (off unless --batch-jobs > 1) wraps the scorer the job function sees.
    job_scorer = multijob.wrap(scorer, settings, worker.queue_names())
    runtime.install(runtime.WorkerContext(scorer=job_scorer, settings=settings, worker_name=worker.name))
    log.info("worker %s serving %s on queues %s", worker.name, scorer.name, ", ".join(worker.queue_names()))
    return serve(worker, settings, burst=burst)


def serve(worker: RerankWorker, settings: Settings, *, burst: bool = False) -> bool:
    """Run RQ's work loop, and run it again after it ended for a lost Redis."""
    worked = False
    ended: deque[float] = deque()
    while True:
        try:
            worked = worker.work(burst=burst, logging_level=settings.log_level) or worked
        except Exception as exc:  # its teardown met the dead Redis
            log.error("worker %s: work loop ended: %s", worker.name, exc)
        if worker._cold_signal is not None:
            raise SystemExit(128 + worker._cold_signal)
        if worker._stop_requested or burst:
            return worked
        ended.append(time.monotonic())
        while ended and ended[0] < time.monotonic() - 60:
            ended.popleft()
        if len(ended) > RESTARTS_PER_MINUTE:
            raise RedisUnavailableError(
                f"worker {worker.name}: work loop ended {len(ended)} times in a minute; giving up so the "
                "supervisor starts a fresh worker (see the log above for why)"
            )
        log.warning("worker %s: work loop ended without a stop request; resuming once Redis answers", worker.name)
        worker.prepare_reentry()
        if not resilience.wait_for_redis(worker.connection, lambda: worker._stop_requested):
            return worked
