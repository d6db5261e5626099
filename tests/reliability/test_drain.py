"""Stopping a worker: one SIGTERM drains (job finishes, exit 0); a second stops at once and the job is retried."""

from __future__ import annotations

import signal
import time

import pytest
import redis

from producer import RerankClient
from tests.reliability.helpers import (
    FAST,
    LONG_PAIRS,
    attempts,
    long_request,
    rq_results,
    status,
    wait_running,
    wait_until,
    waiting_producer,
    worker_name,
)


@pytest.mark.slow
def test_sigterm_drains_and_a_second_sigterm_hands_the_job_back(
    client: RerankClient, start_worker, redis_url: str
) -> None:
    conn = redis.Redis.from_url(redis_url)
    first, second = start_worker(env=FAST, wait_ready=False), start_worker(env=FAST, wait_ready=False)
    first.wait_ready()
    second.wait_ready()

    # One SIGTERM mid-job: the job finishes on the same worker, which then exits 0.
    job = client.submit(*long_request())
    drained = wait_running(conn, job.id, [first, second])
    waiter, outcome = waiting_producer(client, job.id, timeout=120)
    drained.signal(signal.SIGTERM)
    assert drained.wait(120) == 0
    waiter.join(10)
    assert outcome["result"].worker == worker_name(drained)
    assert attempts(conn, job.id) == 1 and status(conn, job.id) == "finished"
    assert rq_results(conn, job.id) == ["successful"]

    # Two SIGTERMs mid-job: the worker stops at once; the job goes back to the front of its queue.
    remaining = second if drained is first else first
    job = client.submit(*long_request(6 * LONG_PAIRS))  # still running when the second signal comes
    wait_running(conn, job.id, [remaining])
    remaining.signal(signal.SIGTERM)
    # Handlers run between the model's batches, and two signals handled within a second count
    # as one stop delivered twice (a supervisor and a terminal): space them from the handling.
    wait_until(lambda: "signal again to stop at once" in remaining.log_text(), 30, "the first SIGTERM to be handled")
    time.sleep(1.5)
    assert status(conn, job.id) == "started"
    remaining.signal(signal.SIGTERM)
    stopped_at = time.monotonic()
    assert remaining.wait(30) == 128 + signal.SIGTERM
    print(f"\nsecond SIGTERM: worker exited {time.monotonic() - stopped_at:.2f}s later")
    assert f"job {job.id}: scored" not in remaining.log_text()
    assert status(conn, job.id) == "queued"
    assert conn.lindex(f"rq:queue:{client.settings.queue}", 0).decode() == job.id

    fresh = start_worker(env=FAST)
    result = job.wait(timeout=120)
    assert result.worker == worker_name(fresh)
    assert attempts(conn, job.id) == 2
    assert rq_results(conn, job.id) == ["successful"]
