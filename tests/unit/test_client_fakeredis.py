"""The producer client against fakeredis: what lands in Redis and how results are read."""

from __future__ import annotations

import json
import time
import zlib

import fakeredis
import pytest
from rq import Queue
from rq.job import Job

from producer import RerankClient, Settings, keys
from producer.contract import RerankResult, build_ranking, failure_document
from producer.errors import (
    JobFailedError,
    JobNotFoundError,
    JobTimeoutError,
    NoWorkerError,
    RedisUnavailableError,
    RequestValidationError,
)


@pytest.fixture
def fake() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis()


@pytest.fixture
def client(fake: fakeredis.FakeRedis) -> RerankClient:
    return RerankClient(connection=fake, settings=Settings(queue="unit"))


def test_submit_enqueues_a_json_job_calling_the_worker_by_name(client: RerankClient, fake) -> None:
    job = client.submit("what is rq?", ["a queue", "a fish"], top_k=1, return_text=True)
    assert Queue("unit", connection=fake).job_ids == [job.id]
    raw = fake.hget(Job.key_for(job.id), "data")
    func, _instance, args, kwargs = json.loads(zlib.decompress(raw))  # JSON, never pickle
    assert func == "worker.job.rerank_job"
    assert args[0]["query"] == "what is rq?"
    assert args[0]["passages"] == ["a queue", "a fish"]
    assert args[0]["top_k"] == 1 and args[0]["return_text"] is True
    assert kwargs == {}


def test_high_priority_and_model_route_to_their_queues(client: RerankClient, fake) -> None:
    client.submit("q", ["p"], priority="high")
    with pytest.raises(NoWorkerError, match="bge-base"):
        client.submit("q", ["p"], model="bge-base")  # no live worker serves it
    client.submit("q", ["p"], model="bge-base", require_worker=False)
    assert Queue("unit.high", connection=fake).count == 1
    assert Queue("unit.bge-base", connection=fake).count == 1
    with pytest.raises(RequestValidationError, match="priority"):
        client.submit("q", ["p"], priority="urgent")


def test_bad_input_enqueues_nothing(client: RerankClient, fake) -> None:
    for bad in (lambda: client.submit("", ["p"]), lambda: client.submit("q", []),
                lambda: client.compute_scores([["q"]]), lambda: client.compute_scores("not pairs"),
                lambda: client.submit("q", ["p"], top_k=0)):
        with pytest.raises(RequestValidationError):
            bad()
    assert Queue("unit", connection=fake).count == 0


def test_limits_come_from_settings(fake) -> None:
    client = RerankClient(connection=fake, settings=Settings(queue="unit", max_pairs=2, max_text_chars=5))
    with pytest.raises(RequestValidationError, match="3 pairs is over the limit of 2"):
        client.submit("q", ["a", "b", "c"])
    with pytest.raises(RequestValidationError, match="over the limit of 5"):
        client.submit("q", ["toolong"])


def test_same_request_id_gives_one_job(client: RerankClient, fake) -> None:
    first = client.submit("q", ["p"], request_id="order-42")
    second = client.submit("q", ["p"], request_id="order-42")
    assert first.id == second.id == "order-42"
    assert Queue("unit", connection=fake).count == 1


def test_poll_reads_the_stored_result(client: RerankClient, fake) -> None:
    job = client.submit("q", ["a", "b"])
    assert job.poll() is None
    result = RerankResult(job_id=job.id, model="m", normalized=True, scores=[0.2, 0.8],
                          ranking=build_ranking([0.2, 0.8], None, None), worker="w")
    fake.set(keys.result_key(job.id), result.to_json())
    assert job.poll() == result
    assert job.wait(timeout=1).scores == [0.2, 0.8]


def test_poll_raises_for_a_failed_job(client: RerankClient, fake) -> None:
    job = client.submit("q", ["a"])
    fake.set(keys.result_key(job.id), failure_document(job.id, "ScoringError", "boom", "w", 0.0))
    with pytest.raises(JobFailedError, match="boom"):
        job.poll()


def test_unknown_job_says_so(client: RerankClient) -> None:
    with pytest.raises(JobNotFoundError, match="never submitted here, or its result expired"):
        client.job("nope").poll()
    with pytest.raises(JobNotFoundError):
        client.job("nope").wait(timeout=1)


def test_wait_honours_its_timeout(client: RerankClient) -> None:
    job = client.submit("q", ["a"])
    started = time.monotonic()
    with pytest.raises(JobTimeoutError, match=r"no result within 0\.3s"):
        job.wait(timeout=0.3)
    assert time.monotonic() - started < 3


def test_unreachable_redis_raises_at_once_naming_the_url() -> None:
    client = RerankClient(redis_url="redis://127.0.0.1:1/0")
    started = time.monotonic()
    with pytest.raises(RedisUnavailableError, match=r"redis://127.0.0.1:1/0"):
        client.submit("q", ["p"])
    assert time.monotonic() - started < 6
