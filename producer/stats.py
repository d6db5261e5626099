"""Queue depth, workers and throughput, read from Redis alone (what `rerankq stats` prints).

Two sources, shown side by side: RQ's own queues and job registries (the same
numbers `rq info` shows), and counters the workers keep under our keys: a
lifetime hash per queue (``keys.stats_key``) and short-lived per-bucket hashes
(``keys.throughput_key``) from which the recent rate is computed.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import redis
from rq import Queue
from rq.registry import FailedJobRegistry, FinishedJobRegistry, StartedJobRegistry

from producer import defaults, keys, registry
from producer.connection import describe
from producer.registry import WorkerInfo

OUTCOMES = ("finished", "failed")
"""Job outcomes the workers count."""


def _bucket(at: float) -> int:
    return int(at // defaults.STATS_BUCKET_SECONDS)


def record(
    connection: redis.Redis, queue: str, *, outcome: str | None = None, pairs: int = 0, now: float | None = None
) -> None:
    """Count one job outcome and/or scored pairs on ``queue`` (called by workers).

    One pipelined round trip: the lifetime hash, plus the current time bucket,
    which expires once it has left the reporting window.
    """
    if outcome is not None and outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
    bucket = keys.throughput_key(queue, _bucket(time.time() if now is None else now))
    pipe = connection.pipeline(transaction=False)
    if outcome is not None:
        pipe.hincrby(keys.stats_key(queue), outcome, 1)
        pipe.hincrby(bucket, "jobs", 1)
    if pairs:
        pipe.hincrby(keys.stats_key(queue), "pairs", pairs)
        pipe.hincrby(bucket, "pairs", pairs)
    pipe.expire(bucket, defaults.STATS_WINDOW_SECONDS + 2 * defaults.STATS_BUCKET_SECONDS)
    pipe.execute()


@dataclass(frozen=True)
class QueueStats:
    """One RQ queue: RQ's own counts next to the workers' counters."""

    name: str
    queued: int
    started: int
    finished: int
    failed: int
    finished_total: int
    failed_total: int
    pairs_total: int
    jobs_per_second: float
    pairs_per_second: float
    workers: int


@dataclass(frozen=True)
class Snapshot:
    """Everything `rerankq stats` reports for one base queue."""

    base: str
    redis: str
    at: float
    window_seconds: float
    queues: list[QueueStats]
    workers: list[WorkerInfo]

    def to_dict(self) -> dict:
        data = asdict(self)
        for worker in data["workers"]:
            worker["queues"] = list(worker["queues"])
        return data


def queue_names(connection: redis.Redis, base: str, workers: list[WorkerInfo]) -> list[str]:
    """The base queue, its high-priority sibling and every per-model queue derived from it.

    Found in RQ's set of known queues and in what live workers say they serve;
    listed high priority first, as workers serve them.
    """
    names = {base, keys.queue_name(base, high_priority=True)}
    known = [q.name for q in Queue.all(connection=connection)]
    served = [q for w in workers for q in w.queues]
    names.update(n for n in known + served if n.startswith(base + "."))
    return sorted(names, key=lambda n: (n.removesuffix(".high"), not n.endswith(".high")))


def collect(connection: redis.Redis, base: str = defaults.QUEUE, now: float | None = None) -> Snapshot:
    """A snapshot of ``base`` and its sibling queues."""
    now = time.time() if now is None else now
    workers = [w for w in registry.live_workers(connection) if any(_belongs(q, base) for q in w.queues)]
    names = queue_names(connection, base, workers)
    first = _bucket(now) - defaults.STATS_WINDOW_SECONDS // defaults.STATS_BUCKET_SECONDS + 1
    # The window runs from the start of its oldest bucket to now (a partial current bucket).
    window = now - first * defaults.STATS_BUCKET_SECONDS
    pipe = connection.pipeline(transaction=False)
    for name in names:
        pipe.hgetall(keys.stats_key(name))
        for b in range(first, _bucket(now) + 1):
            pipe.hgetall(keys.throughput_key(name, b))
    replies = iter(pipe.execute())
    queues = []
    for name in names:
        lifetime = _ints(next(replies))
        recent = [_ints(next(replies)) for _ in range(first, _bucket(now) + 1)]
        queues.append(_queue_stats(connection, name, lifetime, recent, window, workers))
    return Snapshot(base=base, redis=describe(connection), at=now, window_seconds=round(window, 1),
                    queues=queues, workers=workers)


def _belongs(queue: str, base: str) -> bool:
    return queue == base or queue.startswith(base + ".")


def _ints(raw: dict) -> dict[str, int]:
    return {k.decode(): int(v) for k, v in raw.items()}


def _queue_stats(
    connection: redis.Redis, name: str, lifetime: dict[str, int], recent: list[dict[str, int]], window: float,
    workers: list[WorkerInfo],
) -> QueueStats:
    queue = Queue(name, connection=connection)
    jobs = sum(b.get("jobs", 0) for b in recent)
    pairs = sum(b.get("pairs", 0) for b in recent)
    return QueueStats(
        name=name,
        queued=queue.count,
        # No cleanup here: moving expired started jobs is the workers' and the recovery's business.
        started=StartedJobRegistry(name, connection=connection).get_job_count(cleanup=False),
        finished=FinishedJobRegistry(name, connection=connection).count,
        failed=FailedJobRegistry(name, connection=connection).count,
        finished_total=lifetime.get("finished", 0),
        failed_total=lifetime.get("failed", 0),
        pairs_total=lifetime.get("pairs", 0),
        jobs_per_second=round(jobs / window, 3),
        pairs_per_second=round(pairs / window, 3),
        workers=sum(1 for w in workers if name in w.queues),
    )


def render(snapshot: Snapshot) -> str:
    """The human-readable table `rerankq stats` prints."""
    window = f"last {snapshot.window_seconds:.0f}s"
    width = max([5, *(len(q.name) for q in snapshot.queues)])
    lines = [
        f"rerankq stats for queue {snapshot.base!r} on {snapshot.redis} "
        f"at {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(snapshot.at))}",
        "",
        f"{'QUEUE':<{width}} {'QUEUED':>7} {'RUNNING':>7} {'FINISHED':>9} {'FAILED':>7} "
        f"{'TOTAL OK':>9} {'TOTAL FAIL':>10} {'PAIRS':>10} {'JOBS/S':>7} {'PAIRS/S':>8} {'WORKERS':>7}",
    ]
    for q in snapshot.queues:
        lines.append(
            f"{q.name:<{width}} {q.queued:>7} {q.started:>7} {q.finished:>9} {q.failed:>7} "
            f"{q.finished_total:>9} {q.failed_total:>10} {q.pairs_total:>10} "
            f"{q.jobs_per_second:>7.2f} {q.pairs_per_second:>8.1f} {q.workers:>7}"
        )
    lines.append(f"(FINISHED/FAILED: jobs in RQ's registries, kept for the result TTL; TOTAL: since counters began; "
                 f"rates: {window})")
    lines.append("")
    if not snapshot.workers:
        lines.append("no live workers serve these queues")
        return "\n".join(lines)
    names = max([6, *(len(w.name) for w in snapshot.workers)])
    models = max([5, *(len(w.model) for w in snapshot.workers)])
    lines.append(f"{'WORKER':<{names}} {'MODEL':<{models}} {'STATE':<6} {'JOBS':>6} {'UP':>8}  QUEUES")
    for w in snapshot.workers:
        up = _duration(snapshot.at - w.started_at) if w.started_at else "?"
        lines.append(f"{w.name:<{names}} {w.model:<{models}} {w.state:<6} {w.jobs:>6} {up:>8}  {','.join(w.queues)}")
    busy = sum(1 for w in snapshot.workers if w.state == "busy")
    lines.append(f"{len(snapshot.workers)} workers, {busy} busy")
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
