"""The synchronous producer client a RAG pipeline imports."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator, Sequence

import redis
from rq import Queue
from rq.exceptions import DuplicateJobError
from rq.serializers import JSONSerializer

from producer import completion, defaults, registry, submission
from producer.connection import connect, redis_errors
from producer.contract import Limits, RerankResult
from producer.jobs import RerankJob
from producer.settings import Settings
from producer.submission import JOB_FUNCTION, request_payload

__all__ = ["JOB_FUNCTION", "RerankClient", "request_payload"]


class RerankClient:
    """Submits rerank jobs to Redis and reads their results.

    Creating a client does no network I/O; the first command connects.
    """

    def __init__(
        self,
        redis_url: str | None = None,
        *,
        connection: redis.Redis | None = None,
        queue: str | None = None,
        settings: Settings | None = None,
    ) -> None:
        base = settings or Settings.from_env()
        self.settings = base.with_overrides(redis_url=redis_url, queue=queue)
        self.connection = connection if connection is not None else connect(self.settings.redis_url)
        self.limits = Limits(
            max_pairs=self.settings.max_pairs,
            max_text_chars=self.settings.max_text_chars,
            max_total_chars=self.settings.max_total_chars,
        )
        self._served: dict[str, float] = {}  # queue -> when a live worker was last seen on it

    @property
    def settings_wait_timeout(self) -> float:
        return defaults.WAIT_TIMEOUT

    def queue_for(self, model: str | None = None, priority: str = "normal") -> Queue:
        """The RQ queue a job for ``model`` at ``priority`` goes to."""
        name = submission.target_queue(self.settings.queue, model, priority)
        return Queue(name, connection=self.connection, serializer=JSONSerializer)

    def submit(
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
    ) -> RerankJob:
        """Validate and enqueue one query with its passages; returns at once.

        ``model`` routes to the workers serving that model; with no live one,
        ``NoWorkerError`` is raised unless ``require_worker=False`` (queue and wait).
        ``priority="high"`` is served before normal jobs by the same workers.
        """
        payload = submission.rerank_payload(
            query, passages, normalize=normalize, top_k=top_k, return_text=return_text,
            request_id=request_id, model=model,
        )
        return self._submit(payload, priority=priority, require_worker=require_worker)

    def submit_pairs(
        self,
        pairs: Sequence[Sequence[str]],
        *,
        normalize: bool = True,
        request_id: str | None = None,
        model: str | None = None,
        priority: str = "normal",
        require_worker: bool = True,
    ) -> RerankJob:
        """Validate and enqueue explicit (query, passage) pairs; returns at once."""
        payload = submission.pairs_payload(pairs, normalize=normalize, request_id=request_id, model=model)
        return self._submit(payload, priority=priority, require_worker=require_worker)

    def rerank(self, query: str, passages: Sequence[str], *, timeout: float | None = None, **options) -> RerankResult:
        """Submit and wait: the scored, ranked result."""
        return self.submit(query, passages, **options).wait(timeout)

    def compute_scores(
        self, pairs: Sequence[Sequence[str]], normalize: bool = True, *, timeout: float | None = None, **options
    ) -> list[float]:
        """Scores of ``[[query, passage], ...]`` in input order (sigmoid when ``normalize``)."""
        return self.submit_pairs(pairs, normalize=normalize, **options).wait(timeout).scores

    def job(self, job_id: str) -> RerankJob:
        """A handle on an already submitted job."""
        return RerankJob(self, job_id)

    def models(self) -> list[registry.ModelInfo]:
        """Models that live workers serve right now, with their queues and worker counts."""
        with redis_errors(self.connection):
            return registry.models(self.connection)

    def as_completed(
        self, jobs: Iterable[RerankJob | str], timeout: float | None = None
    ) -> Iterator[completion.Completed]:
        """Yield a ``Completed`` for each job as it finishes or fails, in finishing order.

        Results that landed before the call are yielded first. Raises
        ``JobTimeoutError`` if jobs are still pending after ``timeout`` seconds.
        """
        handles = [self.job(j) if isinstance(j, str) else j for j in jobs]
        return completion.as_completed(self.connection, handles, self.settings_wait_timeout if timeout is None else timeout)

    def _submit(self, payload: dict, *, priority: str, require_worker: bool = True) -> RerankJob:
        request = submission.prepare(payload, self.limits)
        queue = self.queue_for(request.model, priority)
        if request.model and require_worker:
            self._check_worker(request.model, queue.name)
        job_id = submission.new_job_id(request)
        # A repeated request id finds the earlier job: that job is the answer.
        with redis_errors(self.connection), contextlib.suppress(DuplicateJobError):
            queue.enqueue_call(
                JOB_FUNCTION,
                **submission.enqueue_options(request, self.settings, job_id),
                unique=request.request_id is not None,
            )
        return RerankJob(self, job_id)

    def _check_worker(self, model: str, queue: str) -> None:
        """Raise ``NoWorkerError`` unless a live worker serves ``queue`` (positive answers are cached briefly)."""
        seen = self._served.get(queue)
        if seen is not None and time.monotonic() - seen < defaults.WORKER_CHECK_SECONDS:
            return
        with redis_errors(self.connection):
            workers = registry.live_workers(self.connection)
        error = submission.missing_worker(model, queue, workers)
        if error is not None:
            raise error
        self._served[queue] = time.monotonic()
