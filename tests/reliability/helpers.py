"""Shared pieces of the fault-injection tests: long jobs, polling, and reading job state."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from rq.job import Job
from rq.results import Result

from producer import RerankClient, keys
from tests.support import WorkerProcess

FAST = {"RERANKQ_HEARTBEAT_INTERVAL": "0.5", "RERANKQ_ABANDONED_AFTER": "3"}
"""Detection in seconds instead of half a minute: heartbeat every 0.5 s, silent for 3 s = abandoned."""

ABANDONED_AFTER = float(FAST["RERANKQ_ABANDONED_AFTER"])

LONG_PAIRS = 32
"""Pairs in a "long" job: a few seconds of scoring on one thread, long enough to hit mid-job."""

_WORDS = ("river", "granite", "lantern", "orchard", "velvet", "harbor", "meadow", "copper", "thunder", "willow",
          "saffron", "glacier", "ember", "quartz", "tundra", "falcon")


def long_passage(seed: int, words: int = 160) -> str:
    """A passage of about ``words`` tokens, different per seed so nothing is cached anywhere."""
    return " ".join(_WORDS[(seed * 7 + i * 3) % len(_WORDS)] for i in range(words))


def long_request(pairs: int = LONG_PAIRS) -> tuple[str, list[str]]:
    return "which passage talks about a harbor at dawn?", [long_passage(i) for i in range(pairs)]


def worker_name(worker: WorkerProcess) -> str:
    """The name ``rerankq worker`` gives itself (host.pid)."""
    return f"{socket.gethostname()}.{worker.pid}"


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll until ``predicate()`` is truthy and return it; fail the test with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")


def status(conn: redis.Redis, job_id: str) -> str | None:
    raw = conn.hget(Job.key_for(job_id), "status")
    return raw.decode() if raw is not None else None


def holder(conn: redis.Redis, job_id: str) -> str | None:
    """The worker whose heartbeat currently covers the job, if any."""
    raw = conn.get(keys.heartbeat_key(job_id))
    return raw.decode() if raw is not None else None


def attempts(conn: redis.Redis, job_id: str) -> int:
    return int(conn.get(keys.attempts_key(job_id)) or 0)


def stored(conn: redis.Redis, job_id: str) -> dict | None:
    raw = conn.get(keys.result_key(job_id))
    return json.loads(raw) if raw is not None else None


def rq_results(conn: redis.Redis, job_id: str) -> list[str]:
    """Types of the entries in RQ's result stream of the job ("successful", "failed", ...)."""
    return [Result.Type(int(fields[b"type"])).name.lower() for _, fields in conn.xrange(Result.get_key(job_id))]


def wait_running(conn: redis.Redis, job_id: str, workers: list[WorkerProcess], timeout: float = 60) -> WorkerProcess:
    """Until one of ``workers`` is running the job (RQ says started, its heartbeat is on); that worker."""
    by_name = {worker_name(w): w for w in workers}

    def running() -> WorkerProcess | None:
        owner = holder(conn, job_id)
        return by_name.get(owner) if owner and status(conn, job_id) == "started" else None

    return wait_until(running, timeout, f"job {job_id} to run on one of {sorted(by_name)}")


def waiting_producer(client: RerankClient, job_id: str, timeout: float) -> tuple[threading.Thread, dict]:
    """A producer blocked in ``wait`` on another thread; the dict gets 'result' or 'error'."""
    outcome: dict = {}

    def wait() -> None:
        try:
            outcome["result"] = client.job(job_id).wait(timeout=timeout)
        except Exception as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=wait, daemon=True)
    thread.start()
    return thread, outcome
