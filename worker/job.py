"""The RQ job function: validate, score, store the result once, return."""

from __future__ import annotations

import logging
import time

import redis
from redis import Redis
from rq import get_current_job

from producer import keys, stats
from producer.contract import (
    RerankRequest,
    RerankResult,
    Timings,
    build_ranking,
    decode_stored_result,
    failure_document,
    validate_request,
)
from producer.errors import JobFailedError, RequestValidationError
from worker import metrics, runtime
from worker.scorer import ScoringError

log = logging.getLogger(__name__)


def rerank_job(payload: object) -> dict:
    """Score one rerank request; the result is stored as JSON under ``keys.result_key``.

    Bad payloads and model errors are stored as a failed result and re-raised,
    so RQ records the job as failed exactly once; the worker goes on.
    """
    started = time.time()
    ctx = runtime.current()
    job = get_current_job()
    job_id = job.id if job is not None else "inline"
    connection: Redis = job.connection if job is not None else None
    try:
        request = validate_request(payload, ctx.limits)
        result = score_request(request, job_id, started)
    except (RequestValidationError, ScoringError) as exc:
        log.warning("job %s: failed: %s", job_id, exc, extra={"job_id": job_id, "error": type(exc).__name__})
        if connection is not None:
            doc = failure_document(job_id, type(exc).__name__, str(exc), ctx.worker_name, time.time())
            connection.set(keys.result_key(job_id), doc, nx=True, ex=ctx.settings.result_ttl)
        raise
    stored = store_result(connection, result, ctx.settings.result_ttl) if connection is not None else True
    if not stored:
        earlier_failure(connection, job_id)
    log.info(
        "job %s: scored %d pairs (%d tokens, %d computed) in %.1f ms%s",
        job_id, result.pairs, result.tokens, result.padded_tokens, result.timings.total_ms,
        "" if stored else "; an earlier result exists and stands",
        extra={"job_id": job_id, "pairs": result.pairs, "tokens": result.tokens,
               "computed_tokens": result.padded_tokens, "timings": result.timings.model_dump()},
    )
    observe(connection, job.origin if job is not None else None, result, job_id)
    return {"result_key": keys.result_key(job_id), "pairs": result.pairs}


def observe(connection: Redis | None, queue: str | None, result: RerankResult, job_id: str) -> None:
    """Feed the metrics endpoint and the queue's counters; a counter lost to Redis is only logged."""
    t = result.timings
    metrics.current().job_scored(result.pairs, result.padded_tokens, t.inference_ms / 1000, t.queued_ms / 1000)
    if connection is None or queue is None:
        return
    try:
        stats.record(connection, queue, pairs=result.pairs)
    except redis.exceptions.RedisError as exc:
        log.warning("job %s: pairs not counted: %s", job_id, exc, extra={"job_id": job_id})


def score_request(request: RerankRequest, job_id: str, started: float) -> RerankResult:
    """Score a validated request with this process's model."""
    ctx = runtime.current()
    report = ctx.scorer.score(request.iter_pairs(), request.normalize)
    texts = request.texts() if request.return_text else None
    finished = time.time()
    queued_ms = max(0.0, (started - request.submitted_at) * 1000) if request.submitted_at else 0.0
    return RerankResult(
        job_id=job_id,
        model=ctx.scorer.name,
        normalized=request.normalize,
        scores=report.scores,
        ranking=build_ranking(report.scores, texts, request.top_k),
        worker=ctx.worker_name,
        timings=Timings(
            queued_ms=round(queued_ms, 3),
            tokenize_ms=round(report.tokenize_ms, 3),
            inference_ms=round(report.inference_ms, 3),
            total_ms=round((finished - started) * 1000, 3),
        ),
        pairs=len(report.scores),
        tokens=report.tokens,
        padded_tokens=report.padded_tokens,
        finished_at=finished,
    )


def earlier_failure(connection: Redis, job_id: str) -> None:
    """Raise if the result that stands is a failure, so RQ's status agrees with it."""
    try:
        decode_stored_result(job_id, connection.get(keys.result_key(job_id)) or b"{}")
    except JobFailedError as exc:
        raise JobFailedError(job_id, f"an earlier attempt's failure stands: {exc.reason}", exc.error_type) from None
    except ValueError:
        pass


def store_result(connection: Redis, result: RerankResult, ttl: int) -> bool:
    """Store the result unless one already exists: the first completed result stands."""
    return bool(connection.set(keys.result_key(result.job_id), result.to_json(), nx=True, ex=ttl))
