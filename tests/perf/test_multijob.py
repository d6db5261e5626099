"""Cross-job batching: jobs scored together still get their own correct results and failures."""

from __future__ import annotations

import types

import numpy as np
import pytest
import redis
from rq import Queue
from rq.serializers import JSONSerializer

from producer import JobFailedError, RerankClient
from producer.contract import Limits
from producer.submission import JOB_FUNCTION
from worker import multijob
from worker.bench.workload import rag_jobs
from worker.multijob import CrossJobScorer
from worker.scorer import PairScorer, ScoringError

BAD_WORD = "explode"
"""A word in the model's vocabulary that the test scorer refuses to score (a stand-in for a model fault)."""


class ExplodingScorer(PairScorer):
    """The real model, except that any run containing ``BAD_WORD`` fails like a broken batch would."""

    def run(self, encodings):
        bad_id = self.model.tokenizer.token_to_id(BAD_WORD)
        if any(bad_id in e.ids for e in encodings):
            raise ScoringError(f"model {self.name} failed on a batch (test fault)")
        return super().run(encodings)


def small_jobs(count: int, passages: int) -> list[list[tuple[str, str]]]:
    return [job.pairs[:passages] for job in rag_jobs(count, 20, seed=5)]


def alone(scorer: PairScorer, pairs) -> np.ndarray:
    return np.asarray(scorer.score(pairs, normalize=False).scores)


@pytest.fixture
def as_current_job(monkeypatch: pytest.MonkeyPatch, redis_url: str):
    """Make ``rq.get_current_job`` (as multijob sees it) return a job with this id on the test Redis."""
    conn = redis.Redis.from_url(redis_url)

    def become(job_id: str) -> None:
        current = types.SimpleNamespace(id=job_id, connection=conn)
        monkeypatch.setattr(multijob, "get_current_job", lambda: current)

    yield become
    conn.close()


def test_waiting_jobs_are_scored_ahead_and_match_scoring_alone(
    fp32_scorer: PairScorer, client: RerankClient, queue_name: str, as_current_job
) -> None:
    first, second, third = small_jobs(3, 4)
    waiting = [client.submit_pairs(p, normalize=False, require_worker=False).id for p in (second, third)]
    batcher = CrossJobScorer(fp32_scorer, [queue_name], Limits(), max_jobs=4, max_pairs=64)
    as_current_job("current")
    report = batcher.score(first, normalize=False)
    np.testing.assert_allclose(report.scores, alone(fp32_scorer, first), atol=1e-4)
    # Each waiting job finds its own scores, computed in the same micro-batches as the first.
    for job_id, pairs in zip(waiting, (second, third), strict=True):
        as_current_job(job_id)
        ahead = batcher.score(pairs, normalize=True)
        expected = 1 / (1 + np.exp(-alone(fp32_scorer, pairs)))
        np.testing.assert_allclose(ahead.scores, expected, atol=1e-5)
        assert ahead.tokens == sum(len(e) for e in fp32_scorer.encode(pairs))
    assert not batcher._kept


def test_one_bad_job_does_not_fail_its_neighbours(
    fp32_scorer: PairScorer, client: RerankClient, queue_name: str, as_current_job
) -> None:
    exploding = ExplodingScorer(fp32_scorer.model, fp32_scorer.batch_tokens)
    good1, good2, good3 = small_jobs(3, 3)
    bad = [(good1[0][0], f"This passage will {BAD_WORD} any batch it is part of."), *good2[:1]]
    queue = Queue(queue_name, connection=client.connection, serializer=JSONSerializer)
    ids = {}
    for name, pairs in (("good2", good2), ("bad", bad), ("good3", good3)):
        ids[name] = client.submit_pairs(pairs, normalize=False, require_worker=False).id
    # Invalid payloads waiting in the queue are left out (they fail on their own turn).
    queue.enqueue_call(JOB_FUNCTION, args=({"query": "   ", "passages": ["no query"]},))
    batcher = CrossJobScorer(exploding, [queue_name], Limits(), max_jobs=5, max_pairs=64)

    as_current_job("good1")
    np.testing.assert_allclose(batcher.score(good1, False).scores, alone(fp32_scorer, good1), atol=1e-5)
    assert not batcher._kept  # the shared run failed, so nothing was kept for anyone
    client.connection.lrem(queue.key, 1, ids["good2"])  # good2's turn: the worker claims it
    as_current_job(ids["good2"])
    np.testing.assert_allclose(batcher.score(good2, False).scores, alone(fp32_scorer, good2), atol=1e-5)
    client.connection.lrem(queue.key, 1, ids["bad"])
    as_current_job(ids["bad"])
    with pytest.raises(ScoringError):
        batcher.score(bad, False)
    client.connection.lrem(queue.key, 1, ids["good3"])
    as_current_job(ids["good3"])
    np.testing.assert_allclose(batcher.score(good3, False).scores, alone(fp32_scorer, good3), atol=1e-5)


def test_worker_batches_waiting_jobs_and_keeps_failures_apart(
    fp32_scorer: PairScorer, client: RerankClient, queue_name: str, start_worker
) -> None:
    jobs = small_jobs(5, 4)
    queue = Queue(queue_name, connection=client.connection, serializer=JSONSerializer)
    submitted = [client.submit_pairs(p, normalize=True, require_worker=False) for p in jobs[:2]]
    # Passes the queue's checks but not the worker's validation: fails alone, in the middle of the batch.
    bad = queue.enqueue_call(JOB_FUNCTION, args=({"query": "   ", "passages": ["a passage"]},)).id
    submitted += [client.submit_pairs(p, normalize=True, require_worker=False) for p in jobs[2:]]
    worker = start_worker("--batch-jobs", "4", "--log-level", "INFO")
    for job, pairs in zip(submitted, jobs, strict=True):
        result = job.wait(timeout=60)
        expected = 1 / (1 + np.exp(-alone(fp32_scorer, pairs)))
        np.testing.assert_allclose(result.scores, expected, atol=1e-5)
        assert result.tokens == sum(len(e) for e in fp32_scorer.encode(pairs))
    with pytest.raises(JobFailedError) as failed:
        client.job(bad).wait(timeout=60)
    assert failed.value.error_type == "RequestValidationError"
    log = worker.log_text()
    assert "scored together with" in log
    assert "scores computed ahead" in log
