"""Shared test fixtures: a real Redis, unique queues, and real worker processes."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from producer import RerankClient, Settings, keys
from tests.support import WorkerProcess, private_redis_server

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
SHARED_REDIS_URL = os.environ.get("RERANKQ_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The machine's Redis if it answers, else a private redis-server for this run."""
    try:
        redis.Redis.from_url(SHARED_REDIS_URL, socket_connect_timeout=1).ping()
        yield SHARED_REDIS_URL
        return
    except redis.exceptions.ConnectionError:
        pass
    with private_redis_server() as server:
        yield server.url


@pytest.fixture
def queue_name(redis_url: str) -> Iterator[str]:
    """A queue only this test uses; its RQ and rerankq keys are removed afterwards."""
    name = f"test-{uuid.uuid4().hex[:10]}"
    yield name
    drop_queue_keys(redis_url, name)


def drop_queue_keys(redis_url: str, name: str) -> None:
    """Remove the RQ keys and rerankq counters of a test's queue and its sibling queues."""
    conn = redis.Redis.from_url(redis_url)
    for pattern in (f"rq:*{name}*", f"{keys.PREFIX}:*:{name}*"):
        for key in conn.scan_iter(pattern, count=5000):  # few round trips on a busy shared Redis
            conn.delete(key)
    for queue in conn.smembers("rq:queues"):
        if name in queue.decode():
            conn.srem("rq:queues", queue)


@pytest.fixture
def settings(redis_url: str, queue_name: str) -> Settings:
    return Settings(redis_url=redis_url, queue=queue_name)


@pytest.fixture
def client(settings: Settings) -> RerankClient:
    return RerankClient(settings=settings)


@pytest.fixture
def start_worker(redis_url: str, queue_name: str, tmp_path: Path) -> Iterator:
    """Factory that starts real ``rerankq worker`` processes on this test's queue."""
    started: list[WorkerProcess] = []

    def start(*extra: str, env: dict[str, str] | None = None, wait_ready: bool = True) -> WorkerProcess:
        proc = WorkerProcess.start(
            redis_url, queue_name, tmp_path / f"worker-{len(started)}.log", extra=list(extra), env=env
        )
        started.append(proc)
        if wait_ready:
            proc.wait_ready()
        return proc

    yield start
    for proc in started:
        proc.stop()
