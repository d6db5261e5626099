"""Redis goes away mid-job (the test's own redis-server, stopped and started again): nothing is lost."""

from __future__ import annotations

import time
import uuid

import pytest
import redis

from producer import JobTimeoutError, RedisUnavailableError, RerankClient, Settings
from tests.reliability.helpers import attempts, long_request, status, wait_running, worker_name
from tests.support import WorkerProcess, private_redis_server

OUTAGE = 4.0
"""Seconds the server stays down: longer than the job has left, so the result waits for Redis."""


@pytest.mark.slow
def test_worker_rides_out_a_redis_restart_mid_job(tmp_path) -> None:
    queue = f"outage-{uuid.uuid4().hex[:8]}"
    with private_redis_server() as server:
        admin = redis.Redis(port=server.port)
        admin.config_set("maxmemory-policy", "allkeys-lru")  # the worker must complain about this
        env = {"RERANKQ_HEARTBEAT_INTERVAL": "0.5", "RERANKQ_ABANDONED_AFTER": "20"}
        worker = WorkerProcess.start(server.url, queue, tmp_path / "worker.log", env=env)
        try:
            worker.wait_ready()
            client = RerankClient(settings=Settings(redis_url=server.url, queue=queue))
            job = client.submit(*long_request())
            wait_running(admin, job.id, [worker])

            admin.shutdown(save=True)  # a real stop; the snapshot makes it a restart, not a wipe
            server.process.wait(10)
            down_at = time.monotonic()

            started = time.monotonic()
            with pytest.raises(RedisUnavailableError, match="unreachable"):
                client.submit("is anyone there?", ["hello"])
            refused_in = time.monotonic() - started
            assert refused_in < 2.0

            started = time.monotonic()
            with pytest.raises(JobTimeoutError, match="Redis is unreachable"):
                job.wait(timeout=1.0)
            waited = time.monotonic() - started
            assert waited < 3.0

            time.sleep(max(0.0, OUTAGE - (time.monotonic() - down_at)))
            server.start()
            back_at = time.monotonic()
            result = job.wait(timeout=120)
            print(f"\noutage: submit refused in {refused_in * 1000:.1f} ms, wait(timeout=1) raised after {waited:.2f}s, "
                  f"Redis down {back_at - down_at:.1f}s, result {time.monotonic() - back_at:.2f}s after restart")
            assert result.worker == worker_name(worker)
            assert len(result.scores) == len(long_request()[1])
            assert attempts(admin, job.id) == 1 and status(admin, job.id) == "finished"
            assert worker.process.poll() is None
            assert client.rerank("still serving?", ["yes, after the restart"], timeout=60).scores
            log = worker.log_text()
            assert "WARNING" in log and "maxmemory-policy=allkeys-lru" in log
        finally:
            worker.stop()
