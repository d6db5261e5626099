"""The whole path for real: producer API -> Redis -> `rerankq worker` process -> result."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
import redis

from producer import JobFailedError, RerankClient, keys
from producer.client import JOB_FUNCTION
from tests.support import REPO

RELEVANT_FIRST = [
    ("How do I bake sourdough bread?", [
        "The central bank raised interest rates by a quarter point to slow inflation.",
        "Sourdough bread is baked from a fermented starter of flour and water; shape the dough, proof it "
        "overnight and bake it in a very hot covered pot.",
        "The marathon course runs along the river before finishing in the city park.",
    ], 1),
    ("What causes the seasons on Earth?", [
        "The tilt of Earth's axis makes each hemisphere lean toward the Sun for part of the year, which "
        "causes summer and winter seasons.",
        "A good password manager generates and stores long random passwords for every site.",
        "Tomatoes grow best in full sun with regular watering and well-drained soil.",
    ], 0),
]


def test_rerank_jobs_return_sensible_rankings(client: RerankClient, start_worker) -> None:
    start_worker()
    jobs = [(client.submit(q, ps), q, ps, rel) for q, ps, rel in RELEVANT_FIRST]
    for job, _q, passages, relevant in jobs:
        result = job.wait(timeout=60)
        assert result.job_id == job.id
        assert len(result.scores) == len(passages)
        assert all(0.0 < s < 1.0 for s in result.scores)
        assert result.ranking[0]["index"] == relevant
        assert [r["index"] for r in result.ranking] == sorted(
            range(len(passages)), key=lambda i: -result.scores[i])
        assert result.model == "minilm-pair-demo"
        assert result.normalized is True
        assert result.tokens > 0 and result.padded_tokens >= result.tokens
        t = result.timings
        assert t.total_ms >= t.inference_ms > 0 and t.tokenize_ms > 0 and t.queued_ms >= 0


def test_raw_scores_top_k_and_return_text(client: RerankClient, start_worker) -> None:
    start_worker()
    query, passages, relevant = RELEVANT_FIRST[0]
    normalized = client.rerank(query, passages, timeout=60)
    raw = client.rerank(query, passages, normalize=False, top_k=2, return_text=True, timeout=60)
    assert raw.normalized is False
    assert len(raw.scores) == 3 and len(raw.ranking) == 2
    assert raw.ranking[0] == {"index": relevant, "score": raw.scores[relevant], "text": passages[relevant]}
    for s_raw, s_norm in zip(raw.scores, normalized.scores, strict=True):
        assert s_norm == pytest.approx(1 / (1 + math.exp(-s_raw)), abs=1e-6)


def test_compute_scores_keeps_input_order(client: RerankClient, start_worker) -> None:
    start_worker()
    pairs = [[q, p] for q, ps, _ in RELEVANT_FIRST for p in ps]
    scores = client.compute_scores(pairs, timeout=60)
    reversed_scores = client.compute_scores(pairs[::-1], timeout=60)
    assert scores == pytest.approx(reversed_scores[::-1], abs=1e-5)
    raw = client.compute_scores(pairs, normalize=False, timeout=60)
    assert any(r < 0 for r in raw) or any(r > 1 for r in raw)


def test_result_is_plain_json_with_ttl(client: RerankClient, start_worker, redis_url: str) -> None:
    start_worker()
    job = client.submit("q about tea", ["green tea is brewed at 80 degrees", "cars need oil"])
    job.wait(timeout=60)
    conn = redis.Redis.from_url(redis_url)
    key = keys.result_key(job.id)
    data = json.loads(conn.get(key))
    assert data["status"] == "finished" and len(data["scores"]) == 2
    assert 0 < conn.ttl(key) <= client.settings.result_ttl
    cli = subprocess.run(["redis-cli", "-u", redis_url, "GET", key], capture_output=True, text=True, check=True)
    assert json.loads(cli.stdout)["job_id"] == job.id


def test_model_loaded_once_across_many_jobs(client: RerankClient, start_worker) -> None:
    worker = start_worker()
    jobs = [client.submit(f"query {i}", [f"passage {i}", "another passage"]) for i in range(25)]
    results = [job.wait(timeout=60) for job in jobs]
    assert len({r.worker for r in results}) == 1
    assert worker.log_text().count("loaded model") == 1


def test_malformed_job_fails_once_and_worker_goes_on(client: RerankClient, start_worker) -> None:
    from rq import Queue
    from rq.serializers import JSONSerializer

    start_worker()
    queue = Queue(client.settings.queue, connection=client.connection, serializer=JSONSerializer)
    bad = queue.enqueue_call(JOB_FUNCTION, args=({"query": "", "passages": "not a list"},))
    with pytest.raises(JobFailedError, match="invalid rerank request") as err:
        client.job(bad.id).wait(timeout=60)
    assert err.value.error_type == "RequestValidationError"
    assert client.job(bad.id).status() == "failed"
    good = client.rerank("is the worker alive?", ["yes it is alive"], timeout=60)
    assert len(good.scores) == 1


def test_worker_refuses_a_missing_model_dir(tmp_path) -> None:
    missing = tmp_path / "no-such-model"
    proc = subprocess.run([sys.executable, "-m", "worker", "worker", "--model-dir", str(missing)],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(missing) in lines[0] and "does not exist" in lines[0]


def test_worker_refuses_a_directory_without_onnx(tmp_path) -> None:
    (tmp_path / "tokenizer.json").write_text("{}")
    proc = subprocess.run([sys.executable, "-m", "worker", "worker", "--model-dir", str(tmp_path)],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode != 0
    assert "no model.onnx" in proc.stderr and str(tmp_path) in proc.stderr


def test_worker_refuses_an_invalid_onnx_file(tmp_path) -> None:
    (tmp_path / "model.onnx").write_bytes(b"this is not a protobuf")
    (tmp_path / "tokenizer.json").write_text("{}")
    proc = subprocess.run([sys.executable, "-m", "worker", "worker", "--model-dir", str(tmp_path)],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode != 0
    assert "rerankq: error:" in proc.stderr


def test_worker_names_an_unreachable_redis() -> None:
    proc = subprocess.run([sys.executable, "-m", "worker", "worker", "--redis-url", "redis://127.0.0.1:1/0"],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 3
    assert "redis://127.0.0.1:1/0" in proc.stderr and "unreachable" in proc.stderr


def test_producer_import_pulls_in_no_model_runtime() -> None:
    code = ("import sys, producer; heavy = [m for m in ('onnxruntime', 'transformers', 'numpy', 'tokenizers', "
            "'torch') if m in sys.modules]; print(heavy); sys.exit(1 if heavy else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
