"""What one submit turns into, shared by the sync and asyncio clients.

Everything here is pure (no Redis I/O), so both clients validate, route and
describe a job identically; each only does its own reads and writes.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

from rq import Queue
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from rq.utils import now

from producer import keys
from producer.contract import Limits, RerankRequest, validate_request
from producer.errors import NoWorkerError, RequestValidationError
from producer.registry import WorkerInfo, serving, summarize
from producer.settings import Settings

JOB_FUNCTION = "worker.job.rerank_job"
"""Dotted path of the worker's job function; referenced by name so producers never import it."""

PRIORITIES = ("normal", "high")


def rerank_payload(
    query: str,
    passages: Sequence[str],
    *,
    normalize: bool = True,
    top_k: int | None = None,
    return_text: bool = False,
    request_id: str | None = None,
    model: str | None = None,
) -> dict[str, Any]:
    """The request dict of a query with its passages (validated later, in ``prepare``)."""
    return {
        "query": query,
        "passages": list(passages) if isinstance(passages, (list, tuple)) else passages,
        "normalize": normalize,
        "top_k": top_k,
        "return_text": return_text,
        "model": model,
        "request_id": request_id,
    }


def pairs_payload(
    pairs: Sequence[Sequence[str]],
    *,
    normalize: bool = True,
    request_id: str | None = None,
    model: str | None = None,
) -> dict[str, Any]:
    """The request dict of explicit (query, passage) pairs."""
    if not isinstance(pairs, (list, tuple)):
        raise RequestValidationError(f"pairs: must be a list of [query, passage] pairs, got {type(pairs).__name__}")
    return {
        "pairs": [list(p) if isinstance(p, (list, tuple)) else p for p in pairs],
        "normalize": normalize,
        "model": model,
        "request_id": request_id,
    }


def prepare(payload: dict[str, Any], limits: Limits) -> RerankRequest:
    """Drop unset options, stamp the submit time and validate (raises ``RequestValidationError``)."""
    payload = {k: v for k, v in payload.items() if v is not None}
    payload["submitted_at"] = time.time()
    return validate_request(payload, limits)


def target_queue(base: str, model: str | None, priority: str) -> str:
    """The RQ queue a job for ``model`` at ``priority`` goes to."""
    if priority not in PRIORITIES:
        raise RequestValidationError(f"priority: must be 'normal' or 'high', got {priority!r}")
    return keys.queue_name(keys.model_queue(base, model), high_priority=priority == "high")


def new_job_id(request: RerankRequest) -> str:
    """The caller's request id (a repeat finds the earlier job), else a fresh random one."""
    return request.request_id or uuid.uuid4().hex


def enqueue_options(request: RerankRequest, settings: Settings, job_id: str) -> dict[str, Any]:
    """Keyword arguments of RQ's ``enqueue_call`` / ``create_job`` for this request."""
    return {
        "args": (request_payload(request),),
        "timeout": settings.job_timeout,
        "result_ttl": settings.result_ttl,
        "failure_ttl": settings.result_ttl,
        "ttl": settings.job_ttl,
        "job_id": job_id,
        "description": describe(request),
    }


def request_payload(request: RerankRequest) -> dict:
    """The JSON-safe dict that travels as the job's only argument."""
    return request.model_dump(exclude_none=True)


def describe(request: RerankRequest) -> str:
    return f"rerank {request.pair_count} pairs" + (f" for {request.model}" if request.model else "")


class _NoRedis:
    """Stands in for a connection while RQ only builds a job in memory; any use is a bug."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"building an RQ job must not touch Redis (it tried .{name})")


def build_queued_job(queue_name: str, options: dict[str, Any]) -> Job:
    """The RQ job ``Queue.enqueue_call`` would save, built without any I/O.

    RQ's own ``create_job`` makes it; the fields RQ sets just before saving
    (origin, enqueue time, queued status) are set here the same way.
    """
    queue = Queue(queue_name, connection=_NoRedis(), serializer=JSONSerializer)  # type: ignore[arg-type]
    job = queue.create_job(JOB_FUNCTION, status=JobStatus.QUEUED, **options)
    job.origin = queue_name
    job.enqueued_at = now()
    return job


def missing_worker(model: str, queue: str, workers: Sequence[WorkerInfo]) -> NoWorkerError | None:
    """The error to raise when no live worker listens on ``queue``, else ``None``."""
    if serving(workers, queue):
        return None
    live = ", ".join(m.name for m in summarize(workers)) or "none"
    return NoWorkerError(
        f"no live worker serves model {model!r} (queue {queue!r}); models with live workers: {live}. "
        f"Start one with `rerankq worker --model-dir DIR` whose rerankq.json names {model!r}, "
        "or pass require_worker=False to queue the job until one starts"
    )
