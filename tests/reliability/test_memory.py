"""A worker's memory stays flat over many jobs, and its job and memory ceilings end it cleanly (exit 0)."""

from __future__ import annotations

import time

import psutil
import pytest
import redis

from producer import RerankClient, keys
from tests.reliability.helpers import status, wait_until, worker_name

JOBS = 1000
WARM_UP = 100
"""Jobs before the baseline sample: the first ones grow ONNX Runtime's arena and Python's caches."""

MAX_GROWTH_MB = 40.0
"""RSS growth allowed from job 100 to job 1,000; a leak of even 40 KB per job would show."""


@pytest.mark.slow
def test_rss_stays_bounded_and_ceilings_exit_cleanly(client: RerankClient, start_worker, redis_url: str) -> None:
    conn = redis.Redis.from_url(redis_url)
    worker = start_worker("--max-jobs", str(JOBS))
    name = worker_name(worker)
    process = psutil.Process(worker.pid)
    started = time.monotonic()
    jobs = [client.submit(f"query {i} about memory", [f"passage {i} number one", f"passage {i} two"]).id
            for i in range(JOBS)]

    samples: list[tuple[int, float]] = []  # (jobs done, RSS MiB)
    while worker.process.poll() is None:
        done = int(conn.hget(keys.worker_key(name), "jobs") or 0)
        try:
            samples.append((done, process.memory_info().rss / 2**20))
        except psutil.NoSuchProcess:
            break
        time.sleep(0.2)
    assert worker.wait(5) == 0  # --max-jobs: a clean exit for the supervisor to restart
    elapsed = time.monotonic() - started

    warm = [rss for done, rss in samples if done >= WARM_UP]
    late = [rss for done, rss in samples if done >= JOBS - 100]
    assert warm and late, samples[-5:]
    growth = late[-1] - warm[0]
    print(f"\n{JOBS} jobs in {elapsed:.1f}s: RSS {warm[0]:.1f} MiB after {WARM_UP} jobs, {late[-1]:.1f} MiB "
          f"near {JOBS}, growth {growth:+.1f} MiB, peak {max(r for _, r in samples):.1f} MiB")
    assert growth < MAX_GROWTH_MB
    pipe = conn.pipeline(transaction=False)
    for job_id in jobs:
        pipe.exists(keys.result_key(job_id))
    assert sum(pipe.execute()) == JOBS
    assert "ran 1000 jobs (--max-jobs 1000)" in worker.log_text()

    # A memory ceiling below what any worker needs: it finishes the job in hand, exits 0, takes no more.
    capped = start_worker("--max-rss-mb", "1")
    waiting = [client.submit(f"capped {i}", ["one passage"]).id for i in range(3)]
    assert capped.wait(60) == 0
    assert "over --max-rss-mb 1" in capped.log_text()
    states = [status(conn, job_id) for job_id in waiting]
    assert states.count("finished") == 1 and states.count("queued") == 2
    wait_until(lambda: conn.llen(f"rq:queue:{client.settings.queue}") == 2, 5, "the other two jobs to stay queued")
