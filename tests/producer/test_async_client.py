"""AsyncRerankClient against a real Redis and a real worker process."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
import zlib

import pytest
import redis
from rq.job import Job

from producer import JobFailedError, JobNotFoundError, JobTimeoutError, RerankClient, Settings, defaults
from producer.aio import AsyncRerankClient
from producer.client import JOB_FUNCTION
from tests.producer.conftest import DEFAULT_MODEL, rotated_request

CONCURRENT = 200


def test_200_concurrent_async_reranks_are_all_correct(shared_client: RerankClient, shared_settings: Settings) -> None:
    # Reference scores for the 9 distinct inputs, from the sync client.
    reference = {i: shared_client.rerank(*rotated_request(i)[:2], timeout=60).scores for i in range(9)}

    async def main() -> tuple[list, float, int]:
        async with AsyncRerankClient(settings=shared_settings) as client:
            started = time.perf_counter()
            results = await asyncio.gather(
                *(client.rerank(*rotated_request(i)[:2], top_k=2, timeout=120) for i in range(CONCURRENT))
            )
            elapsed = time.perf_counter() - started
            pool = client.connection.connection_pool
            return results, elapsed, len(pool._available_connections) + len(pool._in_use_connections)

    results, elapsed, connections = asyncio.run(main())
    print(f"\n{CONCURRENT} concurrent async reranks: {elapsed:.2f}s wall, {connections} Redis connections")
    assert len({r.job_id for r in results}) == CONCURRENT
    for i, result in enumerate(results):
        _query, _passages, relevant = rotated_request(i)
        assert result.model == DEFAULT_MODEL
        assert result.scores == pytest.approx(reference[i % 9], abs=1e-5)
        assert [e["index"] for e in result.ranking] == sorted(range(3), key=lambda k: -result.scores[k])[:2]
        assert result.ranking[0]["index"] == relevant
    # Submits queue for the capped pool instead of failing; all waits share one blocking read.
    assert connections <= defaults.ASYNC_MAX_CONNECTIONS


def test_async_enqueue_writes_the_same_rq_job_as_the_sync_client(redis_url: str, queue_name: str) -> None:
    """No worker: both jobs stay queued, so their hashes can be compared field by field."""
    settings = Settings(redis_url=redis_url, queue=queue_name)
    sync_job = RerankClient(settings=settings).submit("tea?", ["green tea", "black tea"], top_k=1)

    request_id = f"request-{uuid.uuid4().hex}"

    async def submit() -> tuple[str, str, str]:
        async with AsyncRerankClient(settings=settings) as client:
            job = await client.submit("tea?", ["green tea", "black tea"], top_k=1)
            first = await client.submit("tea?", ["green"], request_id=request_id)
            again = await client.submit("tea?", ["green"], request_id=request_id)
            return job.id, first.id, again.id

    async_id, first_id, again_id = asyncio.run(submit())
    conn = redis.Redis.from_url(redis_url)
    ours, theirs = conn.hgetall(Job.key_for(async_id)), conn.hgetall(Job.key_for(sync_job.id))
    assert set(ours) == set(theirs)
    for field in set(ours) - {b"created_at", b"enqueued_at", b"data"}:
        assert ours[field] == theirs[field], field
    func, _instance, args, kwargs = json.loads(zlib.decompress(ours[b"data"]))
    sync_func, _, sync_args, sync_kwargs = json.loads(zlib.decompress(theirs[b"data"]))
    assert func == sync_func == JOB_FUNCTION and kwargs == sync_kwargs == {}
    assert abs(args[0].pop("submitted_at") - sync_args[0].pop("submitted_at")) < 60
    assert args == sync_args
    assert 0 < conn.ttl(Job.key_for(async_id)) <= settings.job_ttl
    queued = [sync_job.id, async_id, request_id]
    assert conn.lrange(f"rq:queue:{queue_name}", 0, -1) == [i.encode() for i in queued]
    assert conn.sismember("rq:queues", f"rq:queue:{queue_name}")
    assert first_id == again_id == request_id  # a repeated request id finds the earlier job


def test_async_job_poll_wait_failure_and_timeout(shared_client: RerankClient, shared_settings: Settings) -> None:
    from rq import Queue
    from rq.serializers import JSONSerializer

    queue = Queue(shared_settings.queue, connection=shared_client.connection, serializer=JSONSerializer)
    bad = queue.enqueue_call(JOB_FUNCTION, args=({"query": "q", "passages": []},))

    async def main() -> None:
        async with AsyncRerankClient(settings=shared_settings) as client:
            with pytest.raises(JobFailedError, match="passages") as failed:
                await client.job(bad.id).wait(60)
            assert failed.value.error_type == "RequestValidationError"
            with pytest.raises(JobNotFoundError):
                await client.job("no-such-job-here").poll()
            # A model nobody serves, queued anyway: still pending when the wait gives up.
            stuck = await client.submit("q", ["p"], model="nobody-serves-this", require_worker=False)
            assert await stuck.poll() is None
            assert await stuck.status() == "queued"
            started = time.monotonic()
            with pytest.raises(JobTimeoutError, match="status: queued"):
                await stuck.wait(0.5)
            assert time.monotonic() - started < 5
            job = await client.submit("is the worker alive?", ["yes, it is alive"])
            result = await job.wait(60)
            assert await job.poll() == result
            assert await client.compute_scores([["q", "a"], ["q", "b"]], timeout=60) == pytest.approx(
                shared_client.compute_scores([["q", "a"], ["q", "b"]], timeout=60), abs=1e-6
            )

    asyncio.run(main())


def test_concurrent_waits_share_one_blocking_read(redis_url: str, queue_name: str) -> None:
    """50 tasks wait at once on jobs no worker takes: a handful of XREADs, not one per task."""
    settings = Settings(redis_url=redis_url, queue=queue_name)

    async def main() -> tuple[int, int]:
        async with AsyncRerankClient(settings=settings) as client:
            reads = 0
            real_xread = client.connection.xread

            async def counting_xread(*args, **kwargs):
                nonlocal reads
                reads += 1
                return await real_xread(*args, **kwargs)

            client.connection.xread = counting_xread
            jobs = [await client.submit(f"q{i}", ["p"]) for i in range(50)]
            outcomes = await asyncio.gather(*(job.wait(1.0) for job in jobs), return_exceptions=True)
            return reads, sum(isinstance(o, JobTimeoutError) for o in outcomes)

    reads, timed_out = asyncio.run(main())
    assert timed_out == 50
    assert reads <= 10
