"""One real worker with JSON logs and a metrics port: what it did shows up in metrics, logs, stats and `rq info`."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families
from rq import Queue
from rq.serializers import JSONSerializer

from producer import JobFailedError, RerankClient, RerankResult, Settings, stats
from producer.client import JOB_FUNCTION
from tests.conftest import drop_queue_keys
from tests.support import REPO, WorkerProcess, free_port
from worker.model_dir import resolve_model_dir

PASSAGES = [
    "Green tea is brewed with water at about 80 degrees for two to three minutes.",
    "The bridge was closed for repairs after the storm damaged its supports.",
    "Black tea tolerates boiling water and a longer steeping time than green tea.",
    "A sourdough starter needs regular feeding with flour and water.",
]
LONG_PASSAGE = " ".join(["The committee reviewed the annual budget, the staffing plan and the building repairs."] * 8)


@dataclass
class Observed:
    worker: WorkerProcess
    queue: str
    port: int
    results: list[RerankResult]
    failed_id: str
    busy_seen: set[str] = field(default_factory=set)
    max_depth: int = 0


def eventually(check: Callable[[], object], timeout: float = 20.0) -> object:
    """The first truthy value of ``check()``; the worker counts an outcome just after the result is visible."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def watch_stats(redis_url: str, queue: str, observed: Observed, stop: threading.Event) -> None:
    conn = redis.Redis.from_url(redis_url)
    while not stop.is_set():
        snapshot = stats.collect(conn, queue)
        observed.busy_seen.update(w.state for w in snapshot.workers)
        observed.max_depth = max(observed.max_depth, sum(q.queued for q in snapshot.queues))
        time.sleep(0.02)


@pytest.fixture(scope="module")
def observed(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Observed]:
    queue = f"test-{uuid.uuid4().hex[:10]}"
    port = free_port()
    worker = WorkerProcess.start(
        redis_url, queue, tmp_path_factory.mktemp("observed") / "worker.log",
        extra=["--log-format", "json", "--metrics-port", str(port), "--metrics-address", "127.0.0.1"],
    )
    try:
        worker.wait_ready()
        client = RerankClient(settings=Settings(redis_url=redis_url, queue=queue))
        jobs = [client.submit(f"how do I brew tea? ({i})", PASSAGES[: i + 1]) for i in range(4)]
        results = [job.wait(timeout=60) for job in jobs]
        bad = Queue(queue, connection=client.connection, serializer=JSONSerializer).enqueue_call(
            JOB_FUNCTION, args=({"query": "", "passages": "not a list"},), result_ttl=600, failure_ttl=600)
        with pytest.raises(JobFailedError):
            client.job(bad.id).wait(timeout=60)
        observed = Observed(worker, queue, port, results, bad.id)
        # Two long jobs back to back: while the first runs the second waits, and the worker is busy.
        stop = threading.Event()
        watcher = threading.Thread(target=watch_stats, args=(redis_url, queue, observed, stop))
        watcher.start()
        long_jobs = [client.submit(f"budget review {i}", [LONG_PASSAGE] * 15) for i in range(2)]
        observed.results += [job.wait(timeout=120) for job in long_jobs]
        eventually(lambda: "idle" in observed.busy_seen and observed.max_depth >= 1, timeout=5)
        stop.set()
        watcher.join()
        yield observed
    finally:
        worker.stop()
        drop_queue_keys(redis_url, queue)


def scrape(port: int) -> dict[tuple[str, tuple], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_endpoint_counts_jobs_pairs_tokens_and_times(observed: Observed) -> None:
    def all_counted() -> dict | None:
        samples = scrape(observed.port)
        return samples if samples[("rerankq_jobs_total", (("outcome", "finished"),))] == 6 else None

    samples = eventually(all_counted)
    assert samples, scrape(observed.port)
    assert samples[("rerankq_jobs_total", (("outcome", "failed"),))] == 1
    results = observed.results
    assert samples[("rerankq_pairs_scored_total", ())] == sum(r.pairs for r in results) == 1 + 2 + 3 + 4 + 30
    assert samples[("rerankq_batch_tokens_count", ())] == 6
    assert samples[("rerankq_batch_tokens_sum", ())] == sum(r.padded_tokens for r in results)
    assert samples[("rerankq_inference_seconds_count", ())] == 6
    inference = sum(r.timings.inference_ms for r in results) / 1000
    assert samples[("rerankq_inference_seconds_sum", ())] == pytest.approx(inference, rel=1e-3)
    assert samples[("rerankq_queue_wait_seconds_count", ())] == 6
    assert samples[("rerankq_queue_wait_seconds_bucket", (("le", "+Inf"),))] == 6
    assert samples[("rerankq_model_load_seconds", ())] > 0
    assert samples[("process_resident_memory_bytes", ())] > 0


def test_json_logs_parse_and_job_lines_carry_fields(observed: Observed) -> None:
    lines = [json.loads(line) for line in observed.worker.log_text().splitlines() if line.strip()]
    assert all({"time", "level", "logger", "message"} <= set(entry) for entry in lines)
    scored = {e["job_id"]: e for e in lines if e["logger"] == "worker.job" and "pairs" in e}
    for result in observed.results:
        entry = scored[result.job_id]
        assert result.job_id in entry["message"]
        assert (entry["pairs"], entry["tokens"], entry["computed_tokens"]) == (
            result.pairs, result.tokens, result.padded_tokens)
        assert entry["timings"] == result.timings.model_dump()
    failed = [e for e in lines if e.get("job_id") == observed.failed_id and e["level"] == "WARNING"]
    assert failed and failed[0]["error"] == "RequestValidationError"


def test_stats_command_shows_counters_worker_model_and_state(observed: Observed, redis_url: str) -> None:
    def row() -> dict | None:
        proc = subprocess.run([sys.executable, "-m", "worker", "stats", "--json", "--redis-url", redis_url,
                               "--queue", observed.queue], capture_output=True, text=True, cwd=REPO, timeout=60)
        assert proc.returncode == 0, proc.stderr
        data = json.loads(proc.stdout)
        found = next(q for q in data["queues"] if q["name"] == observed.queue)
        return data if found["finished_total"] == 6 and found["failed_total"] == 1 else None

    data = eventually(row)
    assert data, "counters never reached 6 finished / 1 failed"
    model = resolve_model_dir(Settings.from_env().model_dir).name
    queues = {q["name"]: q for q in data["queues"]}
    base, model_queue = observed.queue, f"{observed.queue}.{model}"
    assert set(queues) == {base, f"{base}.high", model_queue, f"{model_queue}.high"}
    assert all(q["finished_total"] == 0 and q["workers"] == 1 for n, q in queues.items() if n != base)
    normal = queues[base]
    assert (normal["queued"], normal["started"], normal["finished"], normal["failed"]) == (0, 0, 6, 1)
    assert normal["pairs_total"] == 40
    assert normal["jobs_per_second"] > 0 and normal["pairs_per_second"] > normal["jobs_per_second"]
    [worker] = data["workers"]
    assert worker["pid"] == observed.worker.pid
    assert worker["model"] == model
    assert worker["state"] == "idle" and worker["jobs"] == 7
    assert sorted(worker["queues"]) == sorted(queues)


def test_stats_saw_queue_depth_and_a_busy_worker(observed: Observed) -> None:
    assert observed.busy_seen == {"busy", "idle"}
    assert observed.max_depth >= 1


def test_rq_info_lists_our_queue_and_worker(observed: Observed, redis_url: str) -> None:
    rq = shutil.which("rq")
    assert rq, "the rq command comes with the rq package"
    proc = subprocess.run([rq, "info", "--url", redis_url, observed.queue], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    queue_line = next(line for line in proc.stdout.splitlines() if line.startswith(observed.queue))
    assert "0 executing, 6 finished, 1 failed" in queue_line
    worker_line = next(line for line in proc.stdout.splitlines() if f" {observed.worker.pid})" in line)
    assert "idle" in worker_line and observed.queue in worker_line
    assert "jobs: 6 finished, 1 failed" in worker_line


def test_taken_metrics_port_stops_the_worker_with_one_line(redis_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "worker", "worker", "--redis-url", redis_url, "--queue", f"test-{uuid.uuid4().hex}",
             "--metrics-port", str(port), "--metrics-address", "127.0.0.1"],
            capture_output=True, text=True, cwd=REPO, timeout=60,
        )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0] and "--metrics-port" in lines[0]
