"""Claims on jobs, and what becomes of a claim whose worker went quiet.

A worker takes a job by moving its id from a queue into that queue's in-flight
set (``keys.inflight_key``) in one atomic script, so from the moment a job
leaves its queue some record of it exists in Redis. While it runs the job, the
worker keeps ``keys.heartbeat_key(job_id)`` alive. Maintenance looks for
in-flight jobs whose heartbeat expired: whoever removes such an entry (an
atomic check-and-remove) alone decides the job's fate: requeued at the front
of its queue while attempts remain, failed with an "abandoned" reason after.
Our result key is the truth about a job: a job that already has a result is
never run or failed again, whatever RQ's status says.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

import redis
from redis.commands.core import Script
from rq.executions import Execution, ExecutionRegistry
from rq.job import Job
from rq.queue import Queue
from rq.registry import FailedJobRegistry, StartedJobRegistry
from rq.results import Result
from rq.utils import now, utcformat

from producer import keys
from producer.contract import failure_document
from producer.settings import Settings

log = logging.getLogger(__name__)

REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
"""Errors that mean Redis is unreachable for now, not that a job is bad."""

FINAL_STATES = frozenset({"finished", "failed", "stopped", "canceled"})
"""RQ statuses after which a job never runs again."""

# Moves the first waiting id of the first non-empty queue into that queue's
# in-flight set, scored with Redis' own clock. KEYS: queue1, inflight1, queue2, ...
_CLAIM = Script(None, b"""
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
for i = 1, #KEYS, 2 do
  local id = redis.call('LPOP', KEYS[i])
  if id then
    redis.call('ZADD', KEYS[i + 1], now, id)
    return {i, id}
  end
end
return false
""")

# Removes an in-flight entry only if its heartbeat is gone and it was taken
# more than ARGV[2] seconds ago. KEYS: inflight, heartbeat. ARGV: job id, grace.
_RECLAIM = Script(None, b"""
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
if tonumber(score) > now - tonumber(ARGV[2]) then return 0 end
return redis.call('ZREM', KEYS[1], ARGV[1])
""")

# Puts a job back at the front of its queue unless it has a result by now.
# KEYS: result, job hash, queue. ARGV: job id. Returns 1 requeued, 0 has a result, -1 gone.
_REQUEUE = Script(None, b"""
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('EXISTS', KEYS[2]) == 0 then return -1 end
redis.call('HSET', KEYS[2], 'status', 'queued')
redis.call('LPUSH', KEYS[3], ARGV[1])
return 1
""")

# Fails a job for good unless it has a result by now.
# KEYS: result, job hash, failed registry. ARGV: job id, failure doc, ttl, ended_at.
_FAIL = Script(None, b"""
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
if redis.call('EXISTS', KEYS[2]) == 1 then
  local t = redis.call('TIME')
  redis.call('HSET', KEYS[2], 'status', 'failed', 'ended_at', ARGV[4])
  redis.call('EXPIRE', KEYS[2], ARGV[3])
  redis.call('ZADD', KEYS[3], tonumber(t[1]) + tonumber(ARGV[3]), ARGV[1])
end
return 1
""")

# After a job ran: drop its claim if the job is settled (a result, a final status,
# or no hash), and its heartbeat if still ours; the attempt count then expires with
# the result, so a request id reused later starts afresh. KEYS: result, job hash,
# inflight, heartbeat, attempts. ARGV: job id, worker, result ttl. Returns 0
# unsettled, 1 settled, 2 settled but RQ's status lags behind our result.
_FINISH = Script(None, b"""
local stored = redis.call('EXISTS', KEYS[1]) == 1
local st = redis.call('HGET', KEYS[2], 'status')
local final = st == 'finished' or st == 'failed' or st == 'stopped' or st == 'canceled'
local settled = stored or not st or final
if settled then
  redis.call('ZREM', KEYS[3], ARGV[1])
  redis.call('EXPIRE', KEYS[5], ARGV[3])
end
if redis.call('GET', KEYS[4]) == ARGV[2] then redis.call('DEL', KEYS[4]) end
if stored and st and not final then return 2 end
if settled then return 1 end
return 0
""")

# Deletes a heartbeat only if it is still the given worker's.
_DROP_HEARTBEAT = Script(None, b"""
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
""")


@dataclass(frozen=True)
class RetryPolicy:
    """How long a silent job is trusted, and how often it is retried."""

    heartbeat_ttl: float
    max_retries: int
    result_ttl: int
    attempts_ttl: int

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        # The heartbeat outlives its last refresh by abandoned_after - 2 intervals;
        # maintenance runs every interval; the spare interval absorbs scheduling
        # delays on a loaded host, so a silent job is acted on within abandoned_after.
        return cls(
            heartbeat_ttl=settings.abandoned_after - 2 * settings.heartbeat_interval,
            max_retries=settings.max_retries,
            result_ttl=settings.result_ttl,
            attempts_ttl=settings.job_ttl + settings.result_ttl,
        )


def claim_next(connection: redis.Redis, queues: list[str]) -> tuple[str, str] | None:
    """Take the first waiting job of the first non-empty queue: ``(queue, job_id)`` or ``None``."""
    script_keys: list[str] = []
    for name in queues:
        script_keys += [Queue.redis_queue_namespace_prefix + name, keys.inflight_key(name)]
    found = _CLAIM(keys=script_keys, client=connection)
    if not found:
        return None
    index, job_id = found
    return queues[(int(index) - 1) // 2], _text(job_id)


def start_attempt(connection: redis.Redis, job_id: str, worker: str, policy: RetryPolicy) -> tuple[int, bool]:
    """Start the job's heartbeat and count the attempt: ``(attempt number, has a result already)``."""
    pipe = connection.pipeline(transaction=True)
    pipe.set(keys.heartbeat_key(job_id), worker, px=int(policy.heartbeat_ttl * 1000))
    pipe.incr(keys.attempts_key(job_id))
    pipe.expire(keys.attempts_key(job_id), policy.attempts_ttl)
    pipe.exists(keys.result_key(job_id))
    _, attempt, _, has_result = pipe.execute()
    return int(attempt), bool(has_result)


def attempts(connection: redis.Redis, job_id: str) -> int:
    return int(connection.get(keys.attempts_key(job_id)) or 0)


def finish(connection: redis.Redis, job_id: str, queue: str, worker: str, policy: RetryPolicy) -> bool:
    """Drop the claim of a job this worker took, if the job is settled; True if dropped.

    An unsettled job (its bookkeeping failed, Redis went away) keeps its claim,
    so maintenance requeues it once the heartbeat is gone.
    """
    outcome = _FINISH(
        keys=[keys.result_key(job_id), Job.key_for(job_id), keys.inflight_key(queue), keys.heartbeat_key(job_id),
              keys.attempts_key(job_id)],
        args=[job_id, worker, policy.result_ttl],
        client=connection,
    )
    if outcome == 2:
        stored = connection.get(keys.result_key(job_id))
        if stored is not None:
            _repair_status(connection, job_id, queue, stored)
    return outcome != 0


def release(connection: redis.Redis, job_id: str, queue: str, policy: RetryPolicy, reason: str, worker: str) -> str:
    """Give up this worker's claim on a job it cannot finish; returns what became of the job."""
    if not connection.zrem(keys.inflight_key(queue), job_id):
        return "not held"
    outcome = settle(connection, job_id, queue, policy, reason, worker)
    _DROP_HEARTBEAT(keys=[keys.heartbeat_key(job_id)], args=[worker], client=connection)
    return outcome


def recover(connection: redis.Redis, queue: str, policy: RetryPolicy, worker: str) -> dict[str, str]:
    """Settle every in-flight job of ``queue`` whose heartbeat expired: job id -> outcome."""
    inflight = keys.inflight_key(queue)
    members = [_text(m) for m in connection.zrange(inflight, 0, -1)]
    if not members:
        return {}
    pipe = connection.pipeline(transaction=False)
    for job_id in members:
        pipe.exists(keys.heartbeat_key(job_id))
    silent = [job_id for job_id, alive in zip(members, pipe.execute(), strict=True) if not alive]
    outcomes: dict[str, str] = {}
    for job_id in silent:
        taken = _RECLAIM(keys=[inflight, keys.heartbeat_key(job_id)], args=[job_id, policy.heartbeat_ttl],
                         client=connection)
        if taken:
            reason = f"its worker stopped sending heartbeats for {policy.heartbeat_ttl:g}s"
            outcomes[job_id] = settle(connection, job_id, queue, policy, reason, worker)
    return outcomes


def settle(connection: redis.Redis, job_id: str, queue: str, policy: RetryPolicy, reason: str, worker: str) -> str:
    """Decide the fate of a job nobody holds any more: 'done', 'gone', 'retried' or 'failed'.

    Call only after removing the job's in-flight entry (that removal is the lock).
    """
    _drop_executions(connection, job_id, queue)
    pipe = connection.pipeline(transaction=False)
    pipe.get(keys.result_key(job_id))
    pipe.hget(Job.key_for(job_id), "status")
    stored, status = pipe.execute()
    if stored is not None:
        _repair_status(connection, job_id, queue, stored)
        return "done"
    if status is None:
        log.warning("job %s: abandoned (%s) and its job hash is gone (expired or deleted)", job_id, reason)
        return "gone"
    if _text(status) in FINAL_STATES:
        return "done"
    tries = attempts(connection, job_id)
    if tries <= policy.max_retries:
        queue_key = Queue.redis_queue_namespace_prefix + queue
        done = _REQUEUE(keys=[keys.result_key(job_id), Job.key_for(job_id), queue_key], args=[job_id],
                        client=connection)
        if done == 1:
            log.warning("job %s: abandoned after attempt %d (%s); requeued at the front of %s",
                        job_id, tries, reason, queue)
            return "retried"
        return "done" if done == 0 else "gone"
    plural = "s" if tries != 1 else ""
    message = f"abandoned: {reason}; gave up after {tries} attempt{plural} ({policy.max_retries} retries allowed)"
    log.error("job %s: %s", job_id, message)
    return "failed" if fail_job(connection, job_id, queue, "AbandonedJob", message, worker, policy.result_ttl) else "done"


def fail_job(connection: redis.Redis, job_id: str, queue: str, error_type: str, message: str, worker: str,
             ttl: int) -> bool:
    """Fail a job for good without running it (unless it has a result already); True if failed here.

    Stores the failed JSON doc under the result key, marks RQ's status failed and
    adds an RQ failure result, which wakes producers blocked on the job.
    """
    doc = failure_document(job_id, error_type, message, worker, time.time())
    failed = _FAIL(
        keys=[keys.result_key(job_id), Job.key_for(job_id), FailedJobRegistry(queue, connection=connection).key],
        args=[job_id, doc, ttl, utcformat(now())],
        client=connection,
    )
    if failed:
        Result.create_failure(Job(job_id, connection=connection), ttl, f"{error_type}: {message}", worker_name=worker)
    return bool(failed)


def _repair_status(connection: redis.Redis, job_id: str, queue: str, stored: bytes) -> None:
    """Make RQ's status agree with our stored result, so RQ's own cleanup never fails a finished job."""
    try:
        state = "failed" if json.loads(stored).get("status") == "failed" else "finished"
    except (ValueError, AttributeError):
        state = "finished"
    _drop_executions(connection, job_id, queue)
    current = connection.hget(Job.key_for(job_id), "status")
    if current is not None and _text(current) not in FINAL_STATES:
        connection.hset(Job.key_for(job_id), "status", state)


def _drop_executions(connection: redis.Redis, job_id: str, queue: str) -> None:
    """Remove a job's stale entries from RQ's started registry (RQ would otherwise fail it later)."""
    wip = StartedJobRegistry(queue, connection=connection).key
    prefix = f"{job_id}:"
    stale = [m for m in (_text(m) for m in connection.zrange(wip, 0, -1)) if m.startswith(prefix)]
    if not stale:
        return
    pipe = connection.pipeline(transaction=False)
    pipe.zrem(wip, *stale)
    for member in stale:
        execution = Execution.from_composite_key(member, connection=connection)
        pipe.delete(execution.key)
        pipe.zrem(ExecutionRegistry(job_id=job_id, connection=connection).key, execution.id)
    pipe.execute()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
