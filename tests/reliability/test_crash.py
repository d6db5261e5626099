"""Workers that die or freeze mid-job: the job is retried within the bound, or fails visibly; one result."""

from __future__ import annotations

import signal
import time

import pytest
import redis

from producer import JobFailedError, RerankClient
from tests.reliability.helpers import (
    ABANDONED_AFTER,
    FAST,
    attempts,
    holder,
    long_request,
    rq_results,
    status,
    stored,
    wait_running,
    wait_until,
    waiting_producer,
    worker_name,
)

DETECTION_SLACK = 6.0
"""Seconds allowed on top of the configured bound: a loaded 2-core machine delays threads and polls."""


def start_pair(start_worker, env: dict[str, str]) -> list:
    workers = [start_worker(env=env, wait_ready=False) for _ in range(2)]
    for worker in workers:
        worker.wait_ready()
    return workers


@pytest.mark.slow
def test_killed_worker_job_completes_on_the_other(client: RerankClient, start_worker, redis_url: str) -> None:
    conn = redis.Redis.from_url(redis_url)
    workers = start_pair(start_worker, FAST)
    job = client.submit(*long_request())
    victim = wait_running(conn, job.id, workers)
    survivor = next(w for w in workers if w is not victim)
    waiter, outcome = waiting_producer(client, job.id, timeout=120)

    victim.signal(signal.SIGKILL)
    killed_at = time.monotonic()
    assert victim.wait(10) == -signal.SIGKILL
    wait_until(lambda: holder(conn, job.id) == worker_name(survivor), ABANDONED_AFTER + DETECTION_SLACK,
               "the surviving worker to take the abandoned job")
    detected = time.monotonic() - killed_at
    print(f"\nabandoned job retried {detected:.2f}s after SIGKILL (bound {ABANDONED_AFTER:g}s)")

    waiter.join(120)
    result = outcome["result"]
    assert result.worker == worker_name(survivor)
    assert len(result.scores) == len(long_request()[1])
    assert attempts(conn, job.id) == 2
    assert status(conn, job.id) == "finished"
    assert rq_results(conn, job.id) == ["successful"]
    assert stored(conn, job.id)["worker"] == worker_name(survivor)
    assert survivor.process.poll() is None


@pytest.mark.slow
def test_job_fails_as_abandoned_when_retries_run_out(client: RerankClient, start_worker, redis_url: str) -> None:
    conn = redis.Redis.from_url(redis_url)
    workers = start_pair(start_worker, {**FAST, "RERANKQ_MAX_RETRIES": "0"})
    job = client.submit(*long_request())
    victim = wait_running(conn, job.id, workers)
    survivor = next(w for w in workers if w is not victim)
    waiter, outcome = waiting_producer(client, job.id, timeout=60)

    victim.signal(signal.SIGKILL)
    waiter.join(60)
    error = outcome["error"]
    assert isinstance(error, JobFailedError)
    assert error.error_type == "AbandonedJob"
    assert "abandoned" in error.reason and "after 1 attempt " in error.reason
    assert status(conn, job.id) == "failed"
    assert stored(conn, job.id)["error"]["type"] == "AbandonedJob"
    assert rq_results(conn, job.id) == ["failed"]
    assert attempts(conn, job.id) == 1  # never started again
    assert f"job {job.id}: taken" not in survivor.log_text()
    assert survivor.process.poll() is None


@pytest.mark.slow
def test_job_run_twice_keeps_the_first_result(client: RerankClient, start_worker, redis_url: str) -> None:
    """A frozen worker is presumed dead; its job reruns elsewhere; then it wakes and finishes too."""
    conn = redis.Redis.from_url(redis_url)
    workers = start_pair(start_worker, FAST)
    job = client.submit(*long_request())
    sleeper = wait_running(conn, job.id, workers)
    other = next(w for w in workers if w is not sleeper)

    sleeper.signal(signal.SIGSTOP)
    try:
        first = job.wait(timeout=120)
        raw_first = conn.get(f"rerankq:result:{job.id}")
        assert first.worker == worker_name(other)
    finally:
        sleeper.signal(signal.SIGCONT)
    wait_until(lambda: "an earlier result exists and stands" in sleeper.log_text(), 120,
               "the woken worker to finish its own run of the job")

    assert conn.get(f"rerankq:result:{job.id}") == raw_first
    assert client.job(job.id).poll() == first
    assert status(conn, job.id) == "finished"
    assert attempts(conn, job.id) == 2
    assert rq_results(conn, job.id) == ["successful", "successful"]
    assert sleeper.process.poll() is None and other.process.poll() is None
