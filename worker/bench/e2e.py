"""End to end through Redis: real ``rerankq worker`` processes and producer threads.

Each scenario starts its own worker process(es) on a queue of its own, drives
them with closed-loop producers (submit, wait for the result, submit the next)
and stops them with SIGTERM afterwards. Latency is submit-to-result as the
producer sees it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import redis

from producer import registry
from producer.client import RerankClient
from producer.connection import connect
from producer.settings import Settings
from worker.bench.measure import Measurement, process_rss_mb
from worker.bench.workload import Job
from worker.demo import stop_worker_process

READY_TIMEOUT = 120.0
JOB_TIMEOUT = 600.0


@dataclass
class WorkerSpec:
    """How the scenario's worker processes are started."""

    count: int = 1
    threads: int = 1
    model_dir: str | None = None
    batch_tokens: int | None = None
    batch_jobs: int | None = None
    log_level: str = "WARNING"


@dataclass
class RunningWorkers:
    """Worker processes serving one bench queue."""

    redis_url: str
    queue: str
    processes: list[subprocess.Popen] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def peak_rss_mb(self) -> float | None:
        """Peak resident memory of the largest worker (MiB)."""
        peaks = [process_rss_mb(p.pid)[1] or process_rss_mb(p.pid)[0] for p in self.processes]
        known = [p for p in peaks if p is not None]
        return max(known) if known else None

    def client(self) -> RerankClient:
        return RerankClient(settings=Settings(redis_url=self.redis_url, queue=self.queue))


@contextlib.contextmanager
def bench_redis(url: str) -> Iterator[str]:
    """The configured Redis if it answers, else an embedded one (as ``rerankq demo`` does)."""
    from worker.demo import redis_for_demo

    with redis_for_demo(url) as found:
        yield found


@contextlib.contextmanager
def running_workers(redis_url: str, spec: WorkerSpec, log_dir: Path, wait: bool = True) -> Iterator[RunningWorkers]:
    """Start ``spec.count`` workers on a fresh queue, wait until all registered (unless told not to), stop after."""
    queue = f"rerankq-bench-{uuid.uuid4().hex[:8]}"
    workers = RunningWorkers(redis_url=redis_url, queue=queue)
    command = [sys.executable, "-m", "worker", "worker", "--redis-url", redis_url, "--queue", queue,
               "--threads", str(spec.threads), "--log-level", spec.log_level]
    for flag, value in (("--model-dir", spec.model_dir), ("--batch-tokens", spec.batch_tokens),
                        ("--batch-jobs", spec.batch_jobs)):
        if value is not None:
            command += [flag, str(value)]
    try:
        for i in range(spec.count):
            log_path = log_dir / f"{queue}-{i}.log"
            with open(log_path, "wb") as log:
                workers.processes.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT))
            workers.logs.append(log_path)
        if wait:
            wait_registered(workers)
        yield workers
    finally:
        for process in workers.processes:
            stop_worker_process(process, timeout=60)
        _forget_queue(redis_url, queue)


def wait_registered(workers: RunningWorkers) -> None:
    conn = connect(workers.redis_url)
    pids = {p.pid for p in workers.processes}
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        for process, log in zip(workers.processes, workers.logs, strict=True):
            if process.poll() is not None:
                raise RuntimeError(f"bench worker exited with {process.returncode}:\n{log.read_text()[-2000:]}")
        ready = {w.pid for w in registry.serving(registry.live_workers(conn), workers.queue)}
        if pids <= ready:
            return
        time.sleep(0.1)
    raise RuntimeError(f"bench workers did not register within {READY_TIMEOUT:.0f}s")


def _forget_queue(url: str, queue: str) -> None:
    """Delete every key named after the bench's queue (its name is unique); results expire on their own."""
    from rq import Queue

    with contextlib.suppress(redis.exceptions.RedisError):
        conn = connect(url)
        for key in conn.scan_iter(match=f"*{queue}*", count=500):
            conn.delete(key)
        for member in conn.smembers(Queue.redis_queues_keys):
            if queue in member.decode(errors="replace"):
                conn.srem(Queue.redis_queues_keys, member)


@dataclass
class Outcome:
    """What producers saw: per-job latency and the workers' token counts."""

    seconds: float
    latencies_ms: list[float]
    pairs: int
    tokens: int
    computed_tokens: int
    worker_ms: list[float] = field(default_factory=list)
    """Each job's time inside the worker (validate, score, build the result), in submit order per producer."""


def drive(workers: RunningWorkers, per_producer: Sequence[Sequence[Job]],
          before_each: Callable[[Job], None] | None = None) -> Outcome:
    """One closed-loop producer thread per list of jobs; wall time from first submit to last result."""
    latencies: list[float] = []
    worker_ms: list[float] = []
    totals = [0, 0, 0]
    lock = threading.Lock()
    errors: list[BaseException] = []
    start = threading.Barrier(len(per_producer) + 1)

    def produce(jobs: Sequence[Job]) -> None:
        client = workers.client()
        try:
            client.connection.ping()  # connect before the clock starts
            start.wait()
            for job in jobs:
                if before_each is not None:
                    before_each(job)
                submitted = time.perf_counter()
                result = client.submit(job.query, list(job.passages), normalize=False).wait(JOB_TIMEOUT)
                elapsed = (time.perf_counter() - submitted) * 1000
                with lock:
                    latencies.append(elapsed)
                    worker_ms.append(result.timings.total_ms)
                    totals[0] += result.pairs
                    totals[1] += result.tokens
                    totals[2] += result.padded_tokens
        except BaseException as exc:  # reported by the caller
            errors.append(exc)
            start.abort()  # a producer that never reached the barrier must not hang the others
        finally:
            client.connection.close()

    threads = [threading.Thread(target=produce, args=(jobs,), daemon=True) for jobs in per_producer]
    for thread in threads:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    if errors:
        raise RuntimeError(f"a bench producer failed: {errors[0]!r}") from errors[0]
    return Outcome(seconds, latencies, *totals, worker_ms=worker_ms)


def to_measurement(name: str, outcome: Outcome, workers: RunningWorkers, note: str = "",
                   flops: float = 0.0) -> Measurement:
    return Measurement(
        name=name, section="end-to-end", pairs=outcome.pairs, seconds=outcome.seconds, tokens=outcome.tokens,
        computed_tokens=outcome.computed_tokens, latencies_ms=outcome.latencies_ms, rss_mb=workers.peak_rss_mb(),
        flops=flops, note=note,
    )


def split(jobs: Sequence[Job], producers: int) -> list[list[Job]]:
    """Round-robin ``jobs`` over ``producers`` lists."""
    return [list(jobs[i::producers]) for i in range(producers)]


def log_dir() -> Path:
    path = Path(tempfile.gettempdir()) / f"rerankq-bench-{os.getpid()}"
    path.mkdir(exist_ok=True)
    return path
