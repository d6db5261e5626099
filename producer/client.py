"""The synchronous producer client a RAG pipeline imports."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Sequence

import redis
from rq import Queue
from rq.exceptions import DuplicateJobError
from rq.serializers import JSONSerializer

from producer import defaults, keys
from producer.connection import connect, redis_errors
from producer.contract import Limits, RerankRequest, RerankResult, validate_request
from producer.errors import RequestValidationError
from producer.jobs import RerankJob
from producer.settings import Settings

JOB_FUNCTION = "worker.job.rerank_job"
"""Dotted path of the worker's job function; referenced by name so producers never import it."""


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

    @property
    def settings_wait_timeout(self) -> float:
        return defaults.WAIT_TIMEOUT

    def queue_for(self, model: str | None = None, priority: str = "normal") -> Queue:
        """The RQ queue a job for ``model`` at ``priority`` goes to."""
        if priority not in ("normal", "high"):
            raise RequestValidationError(f"priority: must be 'normal' or 'high', got {priority!r}")
        name = keys.queue_name(keys.model_queue(self.settings.queue, model), high_priority=priority == "high")
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
    ) -> RerankJob:
        """Validate and enqueue one query with its passages; returns at once."""
        payload = {
            "query": query,
            "passages": list(passages) if isinstance(passages, (list, tuple)) else passages,
            "normalize": normalize,
            "top_k": top_k,
            "return_text": return_text,
            "model": model,
            "request_id": request_id,
        }
        return self._submit(payload, priority=priority)

    def submit_pairs(
        self,
        pairs: Sequence[Sequence[str]],
        *,
        normalize: bool = True,
        request_id: str | None = None,
        model: str | None = None,
        priority: str = "normal",
    ) -> RerankJob:
        """Validate and enqueue explicit (query, passage) pairs; returns at once."""
        if not isinstance(pairs, (list, tuple)):
            raise RequestValidationError(f"pairs: must be a list of [query, passage] pairs, got {type(pairs).__name__}")
        payload = {
            "pairs": [list(p) if isinstance(p, (list, tuple)) else p for p in pairs],
            "normalize": normalize,
            "model": model,
            "request_id": request_id,
        }
        return self._submit(payload, priority=priority)

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

    def _submit(self, payload: dict, *, priority: str) -> RerankJob:
        payload = {k: v for k, v in payload.items() if v is not None}
        payload["submitted_at"] = time.time()
        request = validate_request(payload, self.limits)
        queue = self.queue_for(request.model, priority)
        job_id = request.request_id or uuid.uuid4().hex
        # A repeated request id finds the earlier job: that job is the answer.
        with redis_errors(self.connection), contextlib.suppress(DuplicateJobError):
            queue.enqueue_call(
                JOB_FUNCTION,
                args=(request_payload(request),),
                timeout=self.settings.job_timeout,
                result_ttl=self.settings.result_ttl,
                failure_ttl=self.settings.result_ttl,
                ttl=self.settings.job_ttl,
                job_id=job_id,
                description=_describe(request),
                unique=request.request_id is not None,
            )
        return RerankJob(self, job_id)


def request_payload(request: RerankRequest) -> dict:
    """The JSON-safe dict that travels as the job's only argument."""
    return request.model_dump(exclude_none=True)


def _describe(request: RerankRequest) -> str:
    return f"rerank {request.pair_count} pairs" + (f" for {request.model}" if request.model else "")
