"""Model routing, the worker registry and priorities, with real workers."""

from __future__ import annotations

import asyncio

import pytest
import redis

from producer import NoWorkerError, RerankClient, Settings
from producer.aio import AsyncRerankClient
from producer.registry import WorkerInfo, parse_workers, summarize
from tests.producer.conftest import DEFAULT_MODEL, SECOND_MODEL, SECOND_MODEL_DIR, TOPICS
from worker.process import worker_queues


def test_worker_queues_put_every_high_priority_queue_first() -> None:
    assert worker_queues(Settings(queue="b"), "m") == ["b.m.high", "b.high", "b.m", "b"]
    assert worker_queues(Settings(queue="b", serve_default_queue=False), "m") == ["b.m.high", "b.m"]
    assert worker_queues(Settings(queue="b")) == ["b.high", "b"]
    assert Settings.from_env({"RERANKQ_SERVE_DEFAULT_QUEUE": "no"}).serve_default_queue is False


def test_registry_parsing_prunes_expired_workers_and_counts_busy_ones() -> None:
    raw = {b"model": b"m", b"queues": b"b.m.high,b.m", b"state": b"busy", b"host": b"h", b"pid": b"7",
           b"jobs": b"3", b"started_at": b"1.5"}
    found, dead = parse_workers(["w1", "w2", "w3"], [raw, {}, {**raw, b"state": b"idle"}])
    assert dead == ["w2"]
    assert found[0] == WorkerInfo("w1", "m", ("b.m.high", "b.m"), "busy", "h", 7, 3, 1.5)
    [info] = summarize(found)
    assert (info.name, info.queues, info.workers, info.busy) == ("m", ("b.m", "b.m.high"), 2, 1)


def test_jobs_route_to_the_workers_of_their_model(
    shared_client: RerankClient, shared_settings: Settings, shared_queue: str, spawn_worker, redis_url: str
) -> None:
    query, passage = TOPICS[0]
    # Opting into waiting: queued before any worker of that model exists, served once one starts.
    early = shared_client.submit(query, [passage, "unrelated"], model=SECOND_MODEL, require_worker=False)
    with pytest.raises(NoWorkerError, match=f"no live worker serves model '{SECOND_MODEL}'.*{DEFAULT_MODEL}"):
        shared_client.submit(query, [passage], model=SECOND_MODEL)

    second = spawn_worker(shared_queue, "--model-dir", str(SECOND_MODEL_DIR), "--no-default-queue")
    assert early.wait(60).model == SECOND_MODEL

    models = {m.name: m for m in shared_client.models()}
    assert {f"{shared_queue}.{SECOND_MODEL}", f"{shared_queue}.{SECOND_MODEL}.high"} <= set(models[SECOND_MODEL].queues)
    assert shared_queue not in models[SECOND_MODEL].queues  # --no-default-queue
    assert {shared_queue, f"{shared_queue}.high", f"{shared_queue}.{DEFAULT_MODEL}"} <= set(models[DEFAULT_MODEL].queues)

    assert shared_client.rerank(query, [passage], timeout=60).model == DEFAULT_MODEL
    assert shared_client.rerank(query, [passage], model=DEFAULT_MODEL, timeout=60).model == DEFAULT_MODEL
    assert shared_client.rerank(query, [passage], model=SECOND_MODEL, priority="high", timeout=60).model == SECOND_MODEL

    with pytest.raises(NoWorkerError, match="'no-such-model'"):
        shared_client.submit(query, [passage], model="no-such-model")
    conn = redis.Redis.from_url(redis_url)
    assert conn.llen(f"rq:queue:{shared_queue}.no-such-model") == 0  # nothing was enqueued

    async def via_async() -> list[str]:
        async with AsyncRerankClient(settings=shared_settings) as client:
            with pytest.raises(NoWorkerError):
                await client.submit(query, [passage], model="no-such-model")
            result = await client.rerank(query, [passage], model=SECOND_MODEL, timeout=60)
            assert result.model == SECOND_MODEL
            return [m.name for m in await client.models()]

    assert {DEFAULT_MODEL, SECOND_MODEL} <= set(asyncio.run(via_async()))

    second.stop()  # a stopped worker unregisters: its model is no longer served
    with pytest.raises(NoWorkerError):
        RerankClient(settings=shared_settings).submit(query, [passage], model=SECOND_MODEL)


def test_high_priority_job_overtakes_a_backlog(shared_client: RerankClient) -> None:
    query = "What causes the seasons on Earth?"
    passages = [f"{TOPICS[k % 3][1]} Paragraph {k} repeats it: {TOPICS[k % 3][1]}" for k in range(8)]
    backlog = [shared_client.submit(query, passages) for _ in range(20)]
    high = shared_client.submit(query, passages, priority="high")
    urgent = high.wait(120)
    normal = [job.wait(120) for job in backlog]
    before = sum(r.finished_at < urgent.finished_at for r in normal)
    print(f"\nhigh-priority job finished after {before} of {len(normal)} earlier normal jobs")
    # One worker: it finishes the job in hand (and any it took while the backlog was being
    # submitted), then takes the high-priority job ahead of the rest.
    assert before <= 7
