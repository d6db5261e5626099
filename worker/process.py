"""The long-lived worker process: load the model once, then serve RQ jobs."""

from __future__ import annotations

import logging
import os
import socket

import redis
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from producer import keys, registry
from producer.connection import connect, unavailable
from producer.settings import Settings
from worker import runtime
from worker.loading import SessionConfig, load_model
from worker.model_dir import resolve_model_dir
from worker.scorer import PairScorer

log = logging.getLogger(__name__)


REGISTRATION_TTL = 60
"""Seconds a worker's registration outlives its last refresh."""


class RerankWorker(SimpleWorker):
    """An RQ worker that runs jobs in its own process, next to its loaded model.

    ``SimpleWorker`` never forks, so the ONNX session created at start-up is the
    one every job uses (sessions do not survive a fork).
    """

    model_name: str = "?"
    jobs_done: int = 0

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

    def register_birth(self) -> None:
        super().register_birth()
        registry.register(self.connection, self.name, self.registration("idle"), REGISTRATION_TTL)

    def register_death(self) -> None:
        registry.unregister(self.connection, self.name)
        super().register_death()

    def execute_job(self, job, queue) -> None:
        registry.register(self.connection, self.name, self.registration("busy"), REGISTRATION_TTL)
        try:
            super().execute_job(job, queue)
        finally:
            self.jobs_done += 1
            registry.register(self.connection, self.name, self.registration("idle"), REGISTRATION_TTL)


def build_scorer(settings: Settings) -> PairScorer:
    """Resolve, load and wrap the configured model (raises ``ModelDirError``)."""
    spec = resolve_model_dir(settings.model_dir)
    model = load_model(spec, SessionConfig(intra_op_threads=settings.intra_op_threads()))
    return PairScorer(model, settings.batch_tokens)


def worker_queues(settings: Settings) -> list[str]:
    """Queues in the order served: high priority first."""
    base = keys.model_queue(settings.queue, settings.model_name)
    return [keys.queue_name(base, high_priority=True), base]


def default_worker_name() -> str:
    return f"{socket.gethostname()}.{os.getpid()}"


def run_worker(settings: Settings, *, burst: bool = False) -> bool:
    """Load the model, connect, and work until stopped; True if any job ran."""
    scorer = build_scorer(settings)
    connection = connect(settings.redis_url)
    try:
        connection.ping()
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
        raise unavailable(connection, exc) from exc
    worker = RerankWorker(
        worker_queues(settings),
        connection=connection,
        name=default_worker_name(),
        serializer=JSONSerializer,
        default_result_ttl=settings.result_ttl,
    )
    worker.model_name = scorer.name
    runtime.install(runtime.WorkerContext(scorer=scorer, settings=settings, worker_name=worker.name))
    log.info("worker %s serving %s on queues %s", worker.name, scorer.name, ", ".join(worker.queue_names()))
    return worker.work(burst=burst, max_jobs=settings.max_jobs, logging_level=settings.log_level)
