"""Which workers are alive and which models they serve, as workers registered them.

Each worker keeps a hash under ``keys.worker_key(name)`` whose TTL it refreshes
while alive; a worker that died simply expires. Producers read it to list
models and to refuse jobs that no live worker would ever take.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

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


def live_workers(connection: redis.Redis) -> list[WorkerInfo]:
    """Workers whose registration has not expired (dead members are pruned)."""
    names = sorted(n.decode() for n in connection.smembers(keys.workers_key()))
    if not names:
        return []
    pipe = connection.pipeline(transaction=False)
    for name in names:
        pipe.hgetall(keys.worker_key(name))
    found: list[WorkerInfo] = []
    dead: list[str] = []
    for name, raw in zip(names, pipe.execute(), strict=True):
        if not raw:
            dead.append(name)
            continue
        data = {k.decode(): v.decode() for k, v in raw.items()}
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
    if dead:
        connection.srem(keys.workers_key(), *dead)
    return found


def models(connection: redis.Redis) -> dict[str, list[str]]:
    """Model name -> the queues its live workers serve."""
    served: dict[str, set[str]] = {}
    for worker in live_workers(connection):
        served.setdefault(worker.model, set()).update(worker.queues)
    return {model: sorted(queues) for model, queues in sorted(served.items())}


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
