"""Cross-job batching: score a small job together with the small jobs waiting behind it.

When the job being run is small and more small jobs wait in the queues this
worker serves, their pairs are scored in the same set of micro-batches; the
waiting jobs' logits are kept in memory, and when each of those jobs is
claimed and run in turn, its scores are already there. Nothing is taken off a
queue early: jobs are only looked at (LRANGE), so every job keeps its own
claim, heartbeat, result and failure, exactly as without batching. A waiting
job that fails validation is left out (it fails on its own turn); if the
shared run fails, the current job is scored alone, so one bad job never fails
its neighbours. Off unless ``batch_jobs`` > 1 (see docs/performance.md).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import redis
from rq import Queue, get_current_job
from rq.job import Job
from rq.serializers import JSONSerializer

from producer import defaults
from producer.contract import Limits, validate_request
from producer.errors import RequestValidationError
from producer.settings import Settings
from producer.submission import JOB_FUNCTION
from worker.scorer import PairScorer, ScoreReport, ScoringError, sigmoid

log = logging.getLogger(__name__)

Pairs = tuple[tuple[str, str], ...]

KEEP_SECONDS = 300.0
"""How long scores kept for a waiting job stay usable (another worker may have taken it)."""


@dataclass
class _Kept:
    logits: np.ndarray
    tokens: int
    padded_tokens: int
    batches: int
    tokenize_ms: float
    inference_ms: float
    scored_with: str
    at: float


class CrossJobScorer:
    """A ``PairScorer`` stand-in for the job function that batches across waiting jobs."""

    def __init__(self, scorer: PairScorer, queues: Sequence[str], limits: Limits, max_jobs: int,
                 max_pairs: int) -> None:
        self.inner = scorer
        self.queues = list(queues)
        self.limits = limits
        self.max_jobs = max_jobs
        self.max_pairs = max_pairs
        self._kept: OrderedDict[Pairs, _Kept] = OrderedDict()

    def __getattr__(self, name: str):  # name, model, batch_tokens, ... come from the real scorer
        return getattr(self.inner, name)

    def score(self, pairs: Sequence[tuple[str, str]], normalize: bool) -> ScoreReport:
        key = tuple((q, p) for q, p in pairs)
        job = get_current_job()
        job_id = job.id if job is not None else "inline"
        kept = self._take(key)
        if kept is not None:
            log.info("job %s: scores computed ahead, together with job %s", job_id, kept.scored_with,
                     extra={"job_id": job_id})
            return _report(kept, normalize)
        if len(key) > self.max_pairs or job is None:
            return self.inner.score(pairs, normalize)
        waiting = self._waiting(job.connection, job.id, self.max_pairs - len(key))
        if not waiting:
            return self.inner.score(pairs, normalize)
        try:
            own = self._score_together(job_id, key, waiting)
        except ScoringError as exc:
            log.warning("job %s: scoring with %d waiting jobs failed (%s); scoring it alone", job_id, len(waiting),
                        exc, extra={"job_id": job_id})
            return self.inner.score(pairs, normalize)
        return _report(own, normalize)

    def _score_together(self, job_id: str, key: Pairs, waiting: list[tuple[str, Pairs]]) -> _Kept:
        groups = [key] + [pairs for _, pairs in waiting]
        flat = [pair for group in groups for pair in group]
        started = time.perf_counter()
        encodings = self.inner.encode(flat)
        tokenized = time.perf_counter()
        logits, widths, batches = self.inner.run(encodings)
        finished = time.perf_counter()
        lengths = np.fromiter((len(e) for e in encodings), dtype=np.int64, count=len(encodings))
        total_tokens = max(1, int(lengths.sum()))
        now = time.monotonic()
        results: list[_Kept] = []
        offset = 0
        for group in groups:
            rows = slice(offset, offset + len(group))
            offset += len(group)
            tokens = int(lengths[rows].sum())
            share = tokens / total_tokens  # each job carries its share of the shared run's time
            results.append(_Kept(
                logits=logits[rows].copy(), tokens=tokens, padded_tokens=int(widths[rows].sum()), batches=batches,
                tokenize_ms=(tokenized - started) * 1000 * share, inference_ms=(finished - tokenized) * 1000 * share,
                scored_with=job_id, at=now,
            ))
        for (_, pairs), kept in zip(waiting, results[1:], strict=True):
            self._keep(pairs, kept)
        log.info("job %s: scored together with %d waiting jobs (%d pairs, %d micro-batches)", job_id, len(waiting),
                 len(flat), batches, extra={"job_id": job_id, "jobs": 1 + len(waiting), "pairs": len(flat)})
        return results[0]

    def _waiting(self, connection: redis.Redis, current: str, room: int) -> list[tuple[str, Pairs]]:
        """Valid small jobs next in line on the served queues (looked at, not taken)."""
        if self.max_jobs <= 1 or room <= 0:
            return []
        try:
            ids = self._next_ids(connection, current)
            jobs = Job.fetch_many(ids, connection=connection, serializer=JSONSerializer) if ids else []
        except redis.exceptions.RedisError as exc:
            log.debug("job %s: waiting jobs not read (%s)", current, exc)
            return []
        found: list[tuple[str, Pairs]] = []
        for job in jobs:
            pairs = self._pairs_of(job)
            if pairs is None or not pairs or len(pairs) > room or pairs in self._kept:
                continue
            found.append((job.id, pairs))
            room -= len(pairs)
        return found

    def _next_ids(self, connection: redis.Redis, current: str) -> list[str]:
        wanted = self.max_jobs - 1
        pipe = connection.pipeline(transaction=False)
        for name in self.queues:
            pipe.lrange(Queue.redis_queue_namespace_prefix + name, 0, wanted - 1)
        ids: list[str] = []
        for listed in pipe.execute():
            ids += [i.decode() for i in listed if i.decode() != current]
        return ids[:wanted]

    def _pairs_of(self, job: Job | None) -> Pairs | None:
        """The job's pairs if it is a valid rerank job, else ``None`` (it fails on its own turn)."""
        if job is None:
            return None
        try:
            if job.func_name != JOB_FUNCTION or len(job.args) != 1 or job.kwargs:
                return None
            request = validate_request(job.args[0], self.limits)
        except RequestValidationError:
            return None
        except Exception:  # unreadable job data (bad JSON, missing fields) is left to its own turn too
            return None
        return tuple(request.iter_pairs())

    def _keep(self, pairs: Pairs, kept: _Kept) -> None:
        self._kept[pairs] = kept
        self._kept.move_to_end(pairs)
        horizon = time.monotonic() - KEEP_SECONDS
        while self._kept and (len(self._kept) > 4 * self.max_jobs or next(iter(self._kept.values())).at < horizon):
            self._kept.popitem(last=False)

    def _take(self, key: Pairs) -> _Kept | None:
        kept = self._kept.pop(key, None)
        if kept is not None and kept.at < time.monotonic() - KEEP_SECONDS:
            return None
        return kept


def _report(kept: _Kept, normalize: bool) -> ScoreReport:
    values = sigmoid(kept.logits) if normalize else kept.logits
    return ScoreReport(scores=values.tolist(), tokens=kept.tokens, padded_tokens=kept.padded_tokens,
                       batches=kept.batches, tokenize_ms=kept.tokenize_ms, inference_ms=kept.inference_ms)


def wrap(scorer: PairScorer, settings: Settings, queues: Sequence[str]) -> PairScorer | CrossJobScorer:
    """The scorer jobs should use: batching across jobs only when ``settings.batch_jobs`` > 1."""
    if settings.batch_jobs <= 1:
        return scorer
    limits = Limits(max_pairs=settings.max_pairs, max_text_chars=settings.max_text_chars,
                    max_total_chars=settings.max_total_chars)
    return CrossJobScorer(scorer, queues, limits, settings.batch_jobs, defaults.BATCH_JOBS_MAX_PAIRS)
