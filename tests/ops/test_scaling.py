"""Scaling out: two worker processes on one queue share the work, and both show up in stats."""

from __future__ import annotations

import re
import threading

import redis

from producer import RerankClient, stats

# About 800 tokens a job: 20 jobs keep one worker busy for several seconds, so the second worker
# has time to take its share even when it wakes late.
PASSAGES = [f"passage {i} about trains, tea and the weather in several towns along the northern coast, "
            "where the ferries stop twice a day" for i in range(20)]


def test_two_workers_on_one_queue_both_take_jobs(client: RerankClient, start_worker, redis_url: str) -> None:
    workers = [start_worker(), start_worker()]
    jobs: list = []
    lock = threading.Lock()

    def submit(offset: int) -> None:
        for i in range(offset, 20, 4):
            job = client.submit(f"query {i}", PASSAGES)
            with lock:
                jobs.append(job)

    submitters = [threading.Thread(target=submit, args=(n,)) for n in range(4)]
    for thread in submitters:
        thread.start()
    for thread in submitters:
        thread.join()
    results = [job.wait(timeout=120) for job in jobs]
    assert len(results) == 20 and all(len(r.scores) == len(PASSAGES) for r in results)
    by_worker: dict[str, int] = {}
    for result in results:
        by_worker[result.worker] = by_worker.get(result.worker, 0) + 1
    assert len(by_worker) == 2, by_worker
    snapshot = stats.collect(redis.Redis.from_url(redis_url), client.settings.queue)
    assert {w.pid for w in snapshot.workers} == {w.pid for w in workers}
    assert {w.name for w in snapshot.workers} == set(by_worker)
    # The default log format stays human-readable text.
    assert re.search(r"INFO worker\.job: job \w+: scored 20 pairs", workers[0].log_text() + workers[1].log_text())
