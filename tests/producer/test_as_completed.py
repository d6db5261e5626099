"""Subscribing to many results: sync and async ``as_completed`` with real workers."""

from __future__ import annotations

import asyncio
import time

import pytest
from rq import Queue
from rq.serializers import JSONSerializer

from producer import JobFailedError, JobTimeoutError, RerankClient, Settings
from producer.aio import AsyncRerankClient
from producer.client import JOB_FUNCTION
from producer.completion import Completed
from tests.producer.conftest import rotated_request


def enqueue_malformed(client: RerankClient) -> str:
    """A job that reaches the worker with a bad payload (as another Redis client could write it)."""
    queue = Queue(client.settings.queue, connection=client.connection, serializer=JSONSerializer)
    return queue.enqueue_call(JOB_FUNCTION, args=({"query": "q", "passages": "not a list"},)).id


def check_outcomes(outcomes: list[Completed], good_ids: list[str], bad_id: str) -> None:
    assert sorted(o.id for o in outcomes) == sorted([*good_ids, bad_id])
    by_id = {o.id: o for o in outcomes}
    failed = by_id.pop(bad_id)
    assert not failed.ok and isinstance(failed.error, JobFailedError)
    assert failed.error.error_type == "RequestValidationError"
    with pytest.raises(JobFailedError, match="passages"):
        failed.unwrap()
    for i, job_id in enumerate(good_ids):
        done = by_id[job_id]
        assert done.ok and done.unwrap() is done.result
        assert done.result.job_id == job_id
        assert done.result.ranking[0]["index"] == rotated_request(i)[2]


def test_sync_as_completed_yields_every_result_once_including_earlier_ones(shared_client: RerankClient) -> None:
    early = [shared_client.submit(*rotated_request(i)[:2]) for i in range(3)]
    for job in early:
        job.wait(60)  # these results land before the subscription starts
    bad_id = enqueue_malformed(shared_client)
    late = [shared_client.submit(*rotated_request(i)[:2]) for i in range(3, 12)]
    jobs = [*early, shared_client.job(bad_id), *late]
    outcomes = list(shared_client.as_completed(jobs, timeout=120))
    check_outcomes(outcomes, [j.id for j in early + late], bad_id)
    # The earlier results come first: they are found by the first direct check.
    assert {o.id for o in outcomes[:3]} == {j.id for j in early}


def test_async_as_completed_yields_every_result_once_including_earlier_ones(
    shared_client: RerankClient, shared_settings: Settings
) -> None:
    bad_id = enqueue_malformed(shared_client)

    async def main() -> tuple[list[Completed], list[str]]:
        async with AsyncRerankClient(settings=shared_settings) as client:
            early = [await client.submit(*rotated_request(i)[:2]) for i in range(3)]
            await asyncio.gather(*(job.wait(60) for job in early))
            late = [await client.submit(*rotated_request(i)[:2]) for i in range(3, 12)]
            outcomes = [done async for done in client.as_completed([*early, bad_id, *late], timeout=120)]
            return outcomes, [j.id for j in early + late]

    outcomes, good_ids = asyncio.run(main())
    check_outcomes(outcomes, good_ids, bad_id)


def test_as_completed_times_out_on_jobs_that_never_run_without_busy_polling(shared_client: RerankClient) -> None:
    done_job = shared_client.submit("tea?", ["green tea is brewed cool"])
    done_job.wait(60)
    stuck = shared_client.submit("q", ["p"], model="nobody-serves-this", require_worker=False)
    reads = 0
    real_xread = shared_client.connection.xread

    def counting_xread(*args, **kwargs):
        nonlocal reads
        reads += 1
        return real_xread(*args, **kwargs)

    shared_client.connection.xread = counting_xread
    seen: list[str] = []
    started = time.monotonic()
    with pytest.raises(JobTimeoutError, match=r"1 of 2 rerank jobs had no result within 1\.5s"):
        for done in shared_client.as_completed([done_job, stuck], timeout=1.5):
            seen.append(done.id)
    elapsed = time.monotonic() - started
    assert seen == [done_job.id]
    assert 1.4 < elapsed < 10
    assert reads <= 2  # one blocking read for the whole wait, not a polling loop


def test_tracker_reads_xread_replies_in_both_protocol_shapes() -> None:
    from types import SimpleNamespace

    from producer.completion import Tracker

    tracker = Tracker([SimpleNamespace(id="a"), SimpleNamespace(id="b")])
    tracker.watch_extra("wake")
    assert tracker.take_due() == ["a", "b"]  # checked first, in the order given
    assert tracker.streams() == {"rq:results:a": "0-0", "rq:results:b": "0-0", "wake": "0-0"}
    tracker.absorb_xread([[b"rq:results:b", [(b"5-0", {b"status": b"1"})]]])  # RESP2
    assert tracker.take_due() == ["b"] and tracker.streams()["rq:results:b"] == "5-0"
    tracker.absorb_xread({b"rq:results:a": [[(b"7-1", {})]], b"wake": [[(b"9-0", {})]]})  # RESP3
    assert tracker.take_due() == ["a"] and tracker.streams()["wake"] == "9-0"
    tracker.absorb_xread({b"wake": [[(b"9-1", {})]]})  # only a wake-up: nothing to re-check
    assert tracker.take_due() == []
    tracker.absorb_xread([])  # a block that ended quietly: re-check everything
    assert tracker.take_due() == ["a", "b"]
    done = tracker.settle({"a": (None, b"queued"), "b": (None, None)}, {})
    assert [d.id for d in done] == ["b"] and type(done[0].error).__name__ == "JobNotFoundError"
    assert tracker.pending_ids() == ["a"] and "rq:results:b" not in tracker.streams()
