"""Which workers are alive and which models they serve, as workers registered them.

Each worker keeps a hash under ``keys.worker_key(name)`` whose TTL it refreshes
while alive; a worker that died simply expires. Producers read it to list
models and to refuse jobs that no live worker would ever take. Reading is
split into a pure part (``parse_workers``) and thin sync / asyncio wrappers,
so both clients see the registry the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import redis
import redis.asyncio

from producer import keys


@dataclass(frozen=True)
class WorkerInfo:
    """One live worker as it described itself."""

    name: str
    model: str
    queues: tuple[str, ...]
    state: str
    host: str
    pid: int
    jobs: int
    started_at: float


@dataclass(frozen=True)
class ModelInfo:
    """A model with at least one live worker, and where those workers listen."""

    name: str
    queues: tuple[str, ...]
    workers: int
    busy: int


def parse_workers(names: Sequence[str], raws: Sequence[dict]) -> tuple[list[WorkerInfo], list[str]]:
    """Live workers from their registration hashes, and the names whose hash expired."""
    found: list[WorkerInfo] = []
    dead: list[str] = []
    for name, raw in zip(names, raws, strict=True):
        if not raw:
            dead.append(name)
            continue
        data = {_text(k): _text(v) for k, v in raw.items()}
        found.append(
            WorkerInfo(
                name=name,
                model=data.get("model", "?"),
                queues=tuple(q for q in data.get("queues", "").split(",") if q),
                state=data.get("state", "?"),
                host=data.get("host", "?"),
                pid=int(data.get("pid", 0)),
                jobs=int(data.get("jobs", 0)),
                started_at=float(data.get("started_at", 0)),
            )
        )
    return found, dead


def summarize(workers: Sequence[WorkerInfo]) -> list[ModelInfo]:
    """One entry per served model, sorted by name."""
    queues: dict[str, set[str]] = {}
    counts: dict[str, list[int]] = {}
    for worker in workers:
        queues.setdefault(worker.model, set()).update(worker.queues)
        count = counts.setdefault(worker.model, [0, 0])
        count[0] += 1
        count[1] += worker.state == "busy"
    return [
        ModelInfo(name=name, queues=tuple(sorted(queues[name])), workers=counts[name][0], busy=counts[name][1])
        for name in sorted(queues)
    ]


def serving(workers: Sequence[WorkerInfo], queue: str) -> list[WorkerInfo]:
    """The live workers that take jobs from ``queue``."""
    return [w for w in workers if queue in w.queues]


def live_workers(connection: redis.Redis) -> list[WorkerInfo]:
    """Workers whose registration has not expired (dead members are pruned)."""
    names = sorted(_text(n) for n in connection.smembers(keys.workers_key()))
    if not names:
        return []
    pipe = connection.pipeline(transaction=False)
    for name in names:
        pipe.hgetall(keys.worker_key(name))
    found, dead = parse_workers(names, pipe.execute())
    if dead:
        connection.srem(keys.workers_key(), *dead)
    return found


async def live_workers_async(connection: redis.asyncio.Redis) -> list[WorkerInfo]:
    """``live_workers`` for asyncio code."""
    names = sorted(_text(n) for n in await connection.smembers(keys.workers_key()))
    if not names:
        return []
    pipe = connection.pipeline(transaction=False)
    for name in names:
        pipe.hgetall(keys.worker_key(name))
    found, dead = parse_workers(names, await pipe.execute())
    if dead:
        await connection.srem(keys.workers_key(), *dead)
    return found


def models(connection: redis.Redis) -> list[ModelInfo]:
    """Models with live workers, and the queues those workers serve."""
    return summarize(live_workers(connection))


def register(
    connection: redis.Redis, name: str, fields: dict[str, str | int | float], ttl: int
) -> None:
    """Create or refresh a worker's registration (called by the worker itself)."""
    pipe = connection.pipeline(transaction=True)
    pipe.hset(keys.worker_key(name), mapping=fields)
    pipe.expire(keys.worker_key(name), ttl)
    pipe.sadd(keys.workers_key(), name)
    pipe.execute()


def unregister(connection: redis.Redis, name: str) -> None:
    pipe = connection.pipeline(transaction=True)
    pipe.delete(keys.worker_key(name))
    pipe.srem(keys.workers_key(), name)
    pipe.execute()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
