"""Thousands of jobs through two workers while one of them is SIGKILLed and restarted again and again."""

from __future__ import annotations

import json
import signal
import time

import pytest
import redis

from producer import RerankClient, keys
from tests.reliability.helpers import FAST, rq_results

JOBS = 2000
KILL_AT = (0.1, 0.3, 0.5, 0.7)
"""Fractions of results after which the victim is SIGKILLed: kills follow progress, not the clock,
so every kill lands while jobs are still queued however fast or loaded the machine is."""
KILLS = len(KILL_AT)


def count_results(conn: redis.Redis, job_ids: list[str]) -> int:
    pipe = conn.pipeline(transaction=False)
    for job_id in job_ids:
        pipe.exists(keys.result_key(job_id))
    return sum(pipe.execute())


@pytest.mark.slow
def test_no_job_lost_while_a_worker_is_killed_repeatedly(
    client: RerankClient, start_worker, redis_url: str
) -> None:
    conn = redis.Redis.from_url(redis_url)
    steady = start_worker(env=FAST, wait_ready=False)
    victim = start_worker(env=FAST, wait_ready=False)
    steady.wait_ready()
    victim.wait_ready()
    started = time.monotonic()
    job_ids = [client.submit(f"chaos query {i}", [f"first passage {i}", f"second passage {i % 97}"]).id
               for i in range(JOBS)]

    kills = 0
    everyone = [steady, victim]
    deadline = time.monotonic() + 300
    while (done := count_results(conn, job_ids)) < JOBS and time.monotonic() < deadline:
        if kills < KILLS and done >= KILL_AT[kills] * JOBS:
            victim.signal(signal.SIGKILL)
            victim.wait(10)
            kills += 1
            victim = start_worker(env=FAST)
            everyone.append(victim)
        else:
            time.sleep(0.05)
    elapsed = time.monotonic() - started
    recovered = sum(w.log_text().count("found abandoned on") for w in everyone)

    pipe = conn.pipeline(transaction=False)
    for job_id in job_ids:
        pipe.get(keys.result_key(job_id))
        pipe.get(keys.attempts_key(job_id))
    replies = pipe.execute()
    docs = [json.loads(raw) if raw else None for raw in replies[0::2]]
    tries = [int(raw or 0) for raw in replies[1::2]]
    lost = [job_id for job_id, doc in zip(job_ids, docs, strict=True) if doc is None]
    failed = [doc for doc in docs if doc is not None and doc["status"] != "finished"]
    retried = [job_id for job_id, n in zip(job_ids, tries, strict=True) if n > 1]
    ran_twice = [job_id for job_id in retried if rq_results(conn, job_id).count("successful") > 1]
    print(f"\nchaos: {JOBS} submitted, {JOBS - len(lost)} results, {len(lost)} lost, {len(failed)} failed, "
          f"{kills} SIGKILLs, {recovered} claims of killed workers recovered, {len(retried)} jobs run again, "
          f"{len(ran_twice)} completed twice (first result kept), {elapsed:.1f}s")
    assert kills == KILLS
    assert lost == [] and failed == []
    assert all(doc["job_id"] == job_id for job_id, doc in zip(job_ids, docs, strict=True))
    assert recovered >= 1, "no SIGKILL hit a job in flight"
    assert steady.process.poll() is None
