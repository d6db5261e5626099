"""Poison input: jobs that must fail once, never be retried, and never take the worker down."""

from __future__ import annotations

import json
import shutil
import uuid
import zlib
from pathlib import Path

import pytest
import redis
from rq import Queue
from rq.job import Job
from rq.serializers import JSONSerializer
from rq.utils import now, utcformat

from producer import JobFailedError, RerankClient
from producer.submission import JOB_FUNCTION
from tests.reliability.helpers import attempts, rq_results, status
from worker.model_dir import BUNDLED_MODEL_DIR

VOCAB_KEPT = 1030
"""Token ids the broken model can embed: specials and punctuation; every real word is out of range."""


def write_raw_job(conn: redis.Redis, queue: str, data: bytes, **fields: str) -> str:
    """A job hash written by "another client", pushed onto the queue as RQ would."""
    job_id = uuid.uuid4().hex
    stamp = utcformat(now())
    mapping = {"data": data, "status": "queued", "origin": queue, "created_at": stamp, "enqueued_at": stamp,
               "description": "written by hand", "timeout": "60", **fields}
    conn.hset(Job.key_for(job_id), mapping=mapping)
    conn.rpush(f"rq:queue:{queue}", job_id)
    return job_id


def test_malformed_jobs_fail_once_and_the_worker_goes_on(
    client: RerankClient, start_worker, redis_url: str, tmp_path: Path
) -> None:
    conn = redis.Redis.from_url(redis_url)
    queue = client.settings.queue
    marker = tmp_path / "pwned"
    start_worker()
    not_json = write_raw_job(conn, queue, b"{this is not json")
    foreign = write_raw_job(conn, queue, zlib.compress(json.dumps(["os.system", None, [f"touch {marker}"], {}]).encode()))
    hooked = write_raw_job(
        conn, queue, zlib.compress(json.dumps([JOB_FUNCTION, None, [{"query": "q", "passages": ["p"]}], {}]).encode()),
        failure_callback_name="os.abort", retries_left="3",
    )
    bad_status = write_raw_job(conn, queue, b"[]", status="no-such-status")
    # Valid RQ job, invalid request (over the pair limit): only the worker's own validation stops it.
    too_big = Queue(queue, connection=conn, serializer=JSONSerializer).enqueue_call(
        JOB_FUNCTION, args=({"query": "q", "passages": ["p"] * (client.limits.max_pairs + 1)},)
    ).id

    expected = {
        not_json: ("MalformedJob", "not a JSON job"),
        foreign: ("MalformedJob", "calls 'os.system'"),
        hooked: ("MalformedJob", "callbacks or webhooks"),
        bad_status: ("MalformedJob", "cannot be read"),
        too_big: ("RequestValidationError", "over the limit"),
    }
    for job_id, (error_type, text) in expected.items():
        with pytest.raises(JobFailedError) as failed:
            client.job(job_id).wait(timeout=60)
        assert failed.value.error_type == error_type, failed.value
        assert text in failed.value.reason
    good = client.rerank("is the worker still alive?", ["yes, it is alive"], timeout=60)
    assert len(good.scores) == 1

    for job_id in expected:
        assert status(conn, job_id) == "failed"
        assert attempts(conn, job_id) == 1, job_id  # taken once, never again
        assert rq_results(conn, job_id) == ["failed"]
    assert conn.llen(f"rq:queue:{queue}") == 0
    assert not marker.exists()  # the foreign function never ran


def broken_model_dir(directory: Path) -> Path:
    """A real ONNX graph that fails at run time (Gather out of bounds) for any token id >= VOCAB_KEPT."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper, save

    directory.mkdir(parents=True, exist_ok=True)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        if (BUNDLED_MODEL_DIR / name).exists():
            shutil.copy(BUNDLED_MODEL_DIR / name, directory / name)
    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "length"])
              for n in ("input_ids", "attention_mask", "token_type_ids")]
    output = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 1])
    table = numpy_helper.from_array(np.linspace(-1, 1, VOCAB_KEPT, dtype=np.float32).reshape(-1, 1), "table")
    axes_length = numpy_helper.from_array(np.array([1], dtype=np.int64), "axis_length")
    axes_last = numpy_helper.from_array(np.array([2], dtype=np.int64), "axis_last")
    nodes = [
        helper.make_node("Gather", ["table", "input_ids"], ["embedded"], axis=0),
        helper.make_node("Cast", ["attention_mask"], ["mask"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mask", "axis_last"], ["mask3"]),
        helper.make_node("Mul", ["embedded", "mask3"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "axis_length"], ["logits"], keepdims=0),
    ]
    graph = helper.make_graph(nodes, "gather_bomb", inputs, [output], [table, axes_length, axes_last])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    save(model, str(directory / "model.onnx"))
    (directory / "rerankq.json").write_text(json.dumps({"name": "gather-bomb", "max_length": 128}))
    return directory


def test_scoring_error_fails_the_job_with_its_message(client: RerankClient, start_worker, tmp_path: Path) -> None:
    model_dir = broken_model_dir(tmp_path / "model")
    worker = start_worker("--model-dir", str(model_dir))
    with pytest.raises(JobFailedError) as failed:
        client.rerank("plain words", ["every word here is out of range"], timeout=60)
    assert failed.value.error_type == "ScoringError"
    assert "gather-bomb failed on a batch" in failed.value.reason
    assert "out of" in failed.value.reason  # ONNX Runtime's own words: indices out of bounds
    fine = client.rerank("!", ["? , ."], timeout=60)  # only in-range tokens: the same model scores it
    assert len(fine.scores) == 1
    assert worker.process.poll() is None
