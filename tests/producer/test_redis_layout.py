"""What a non-Python consumer sees: plain Redis commands through ``redis-cli``.

A Go or Node service reads results the same way: XREAD BLOCK on RQ's result
stream ``rq:results:<job_id>`` until an entry arrives, then GET
``rerankq:result:<job_id>`` (a plain JSON string with a TTL).
"""

from __future__ import annotations

import json
import subprocess

from producer import RerankClient, keys
from tests.producer.conftest import DEFAULT_MODEL, rotated_request
from tests.producer.test_as_completed import enqueue_malformed


def redis_cli(url: str, *command: str) -> str:
    proc = subprocess.run(["redis-cli", "-u", url, *command], capture_output=True, text=True, check=True, timeout=90)
    return proc.stdout.strip()


def block_then_get(url: str, job_id: str) -> dict:
    """The two commands a consumer in any language runs."""
    entry = redis_cli(url, "XREAD", "COUNT", "1", "BLOCK", "60000", "STREAMS", f"rq:results:{job_id}", "0")
    assert entry, "no entry on the result stream within 60s"
    return json.loads(redis_cli(url, "GET", f"rerankq:result:{job_id}"))


def test_finished_result_is_plain_json_readable_with_redis_cli(shared_client: RerankClient, redis_url: str) -> None:
    query, passages, relevant = rotated_request(4)
    job = shared_client.submit(query, passages, top_k=2, return_text=True)
    data = block_then_get(redis_url, job.id)  # no Python client involved: blocks until the worker is done
    assert keys.result_key(job.id) == f"rerankq:result:{job.id}"
    assert data["status"] == "finished" and data["job_id"] == job.id and data["model"] == DEFAULT_MODEL
    assert data["normalized"] is True and len(data["scores"]) == 3
    assert data["ranking"][0] == {"index": relevant, "score": data["scores"][relevant], "text": passages[relevant]}
    assert len(data["ranking"]) == 2
    assert set(data["timings"]) == {"queued_ms", "tokenize_ms", "inference_ms", "total_ms"}
    assert {"worker", "pairs", "tokens", "padded_tokens", "finished_at"} <= set(data)
    ttl = int(redis_cli(redis_url, "TTL", f"rerankq:result:{job.id}"))
    assert 0 < ttl <= shared_client.settings.result_ttl
    assert data == json.loads(shared_client.job(job.id).wait(5).to_json())


def test_failed_result_document_readable_with_redis_cli(shared_client: RerankClient, redis_url: str) -> None:
    job_id = enqueue_malformed(shared_client)
    data = block_then_get(redis_url, job_id)
    assert data["status"] == "failed" and data["job_id"] == job_id
    assert data["error"]["type"] == "RequestValidationError" and "passages" in data["error"]["message"]
    assert {"worker", "finished_at"} <= set(data)
    assert int(redis_cli(redis_url, "TTL", f"rerankq:result:{job_id}")) > 0
