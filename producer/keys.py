"""Every Redis key and queue name rerankq uses; nothing else formats key strings.

RQ owns its own keys (``rq:job:<id>``, ``rq:queue:<name>``, registries); the keys
below are ours and all start with ``PREFIX`` so they are easy to find and expire.
"""

from __future__ import annotations

PREFIX = "rerankq"


def queue_name(base: str, *, high_priority: bool = False) -> str:
    """RQ queue for a base queue; high-priority jobs sit on a sibling queue served first."""
    return f"{base}.high" if high_priority else base


def model_queue(base: str, model: str | None) -> str:
    """Queue served by workers of ``model``; ``None`` is the default model's queue."""
    return base if not model else f"{base}.{model}"


def result_key(job_id: str) -> str:
    """Plain JSON result of a job (a Redis string with a TTL)."""
    return f"{PREFIX}:result:{job_id}"


def request_key(request_id: str) -> str:
    """Claim on a caller-supplied request id, so a repeated submit maps to one job."""
    return f"{PREFIX}:request:{request_id}"


def heartbeat_key(job_id: str) -> str:
    """Expiring mark a busy worker refreshes while it runs ``job_id``."""
    return f"{PREFIX}:heartbeat:{job_id}"


def attempts_key(job_id: str) -> str:
    """Counter of how often ``job_id`` was started (for bounded retries)."""
    return f"{PREFIX}:attempts:{job_id}"


def inflight_key(queue: str) -> str:
    """Sorted set of job ids taken from ``queue`` and not yet settled (score: when taken)."""
    return f"{PREFIX}:inflight:{queue}"


def maintenance_lock_key(queue: str) -> str:
    """Short lock so one worker at a time looks for abandoned jobs of ``queue``."""
    return f"{PREFIX}:maintenance:{queue}"


def worker_key(worker_name: str) -> str:
    """Expiring hash describing one live worker (model, queues, state)."""
    return f"{PREFIX}:worker:{worker_name}"


def workers_key() -> str:
    """Set of worker names that registered; members whose worker key expired are dead."""
    return f"{PREFIX}:workers"


def stats_key(queue: str) -> str:
    """Hash of counters (jobs finished, failed, pairs scored) for one queue."""
    return f"{PREFIX}:stats:{queue}"


def throughput_key(queue: str, bucket: int) -> str:
    """Hash of jobs and pairs completed on one queue in one time bucket (expires soon after)."""
    return f"{PREFIX}:throughput:{queue}:{bucket}"


def done_stream_key(queue: str) -> str:
    """Stream of finished job ids for one queue, for subscribers of many results."""
    return f"{PREFIX}:done:{queue}"


def wake_key(client_token: str) -> str:
    """Private stream an asyncio client writes to cut its own blocking result read short."""
    return f"{PREFIX}:wake:{client_token}"
