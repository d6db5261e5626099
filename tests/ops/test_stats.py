"""`rerankq stats` from Redis alone: RQ's queue and registry counts next to the workers' counters."""

from __future__ import annotations

import json
import subprocess
import sys

import redis
from rq import Queue
from rq.serializers import JSONSerializer

from producer import defaults, keys, registry, stats
from tests.support import REPO

JOB = "worker.job.rerank_job"


def test_counters_and_recent_throughput(redis_url: str, queue_name: str) -> None:
    conn = redis.Redis.from_url(redis_url)
    now = 1_000_000.0
    old = now - defaults.STATS_WINDOW_SECONDS - 2 * defaults.STATS_BUCKET_SECONDS
    stats.record(conn, queue_name, outcome="finished", pairs=30, now=old)  # outside the window
    for _ in range(3):
        stats.record(conn, queue_name, outcome="finished", now=now - 5)
        stats.record(conn, queue_name, pairs=20, now=now - 5)
    stats.record(conn, queue_name, outcome="failed", now=now)
    snapshot = stats.collect(conn, queue_name, now=now)
    row = next(q for q in snapshot.queues if q.name == queue_name)
    assert (row.finished_total, row.failed_total, row.pairs_total) == (4, 1, 90)
    window = snapshot.window_seconds
    assert defaults.STATS_WINDOW_SECONDS - defaults.STATS_BUCKET_SECONDS <= window <= defaults.STATS_WINDOW_SECONDS
    assert row.jobs_per_second == round(4 / window, 3)
    assert row.pairs_per_second == round(60 / window, 3)
    assert conn.ttl(keys.throughput_key(queue_name, int(now // defaults.STATS_BUCKET_SECONDS))) > 0


def test_queues_found_with_depth_high_priority_first(redis_url: str, queue_name: str) -> None:
    conn = redis.Redis.from_url(redis_url)
    model_queue = keys.model_queue(queue_name, "bge-base")
    for name, count in ((queue_name, 3), (keys.queue_name(queue_name, high_priority=True), 1), (model_queue, 2)):
        queue = Queue(name, connection=conn, serializer=JSONSerializer)
        for _ in range(count):
            queue.enqueue_call(JOB, args=({"query": "q", "passages": ["p"]},), ttl=120)
    snapshot = stats.collect(conn, queue_name)
    depth = {q.name: q.queued for q in snapshot.queues}
    assert depth == {queue_name: 3, f"{queue_name}.high": 1, model_queue: 2}
    assert [q.name for q in snapshot.queues][:2] == [f"{queue_name}.high", queue_name]
    assert snapshot.workers == []
    text = stats.render(snapshot)
    assert model_queue in text and "no live workers" in text


def test_workers_from_the_registry_with_model_and_state(redis_url: str, queue_name: str) -> None:
    conn = redis.Redis.from_url(redis_url)
    name = f"{queue_name}-worker"
    fields = {"model": "demo-model", "queues": f"{queue_name}.high,{queue_name}", "state": "busy", "host": "h",
              "pid": 7, "jobs": 12, "started_at": 1.0}
    registry.register(conn, name, fields, ttl=30)
    try:
        snapshot = stats.collect(conn, queue_name)
        [worker] = snapshot.workers
        assert (worker.name, worker.model, worker.state, worker.jobs) == (name, "demo-model", "busy", 12)
        assert all(q.workers == 1 for q in snapshot.queues)
        data = snapshot.to_dict()
        assert data["workers"][0]["queues"] == [f"{queue_name}.high", queue_name]
        json.dumps(data)
        assert "1 workers, 1 busy" in stats.render(snapshot)
    finally:
        registry.unregister(conn, name)


def test_cli_prints_json_and_names_an_unreachable_redis(redis_url: str, queue_name: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "worker", "stats", "--json", "--redis-url", redis_url,
                           "--queue", queue_name], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["base"] == queue_name and [q["name"] for q in data["queues"]] == [f"{queue_name}.high", queue_name]
    proc = subprocess.run([sys.executable, "-m", "worker", "stats", "--redis-url", "redis://127.0.0.1:1/0"],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 3 and "redis://127.0.0.1:1/0" in proc.stderr
