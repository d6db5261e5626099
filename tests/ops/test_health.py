"""`rerankq health` as a probe: exit 0 when Redis answers and the model scores, else one line why."""

from __future__ import annotations

import subprocess
import sys

from tests.support import REPO


def rerankq(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "worker", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=timeout)


def test_healthy_host_exits_zero_after_scoring_a_pair(redis_url: str) -> None:
    proc = rerankq("health", "--redis-url", redis_url)
    assert proc.returncode == 0, proc.stderr
    line = proc.stdout.strip()
    assert "\n" not in line and line.startswith("healthy:")
    assert "answered PING" in line and "scored a pair" in line


def test_unreachable_redis_names_the_url(redis_url: str) -> None:
    for extra in ((), ("--redis-only",)):
        proc = rerankq("health", "--redis-url", "redis://127.0.0.1:1/0", "--timeout", "2", *extra)
        assert proc.returncode == 3
        assert proc.stdout == ""
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("unhealthy:")
        assert "redis://127.0.0.1:1/0" in lines[0] and "unreachable" in lines[0]


def test_broken_model_dir_names_the_path(redis_url: str, tmp_path) -> None:
    (tmp_path / "model.onnx").write_bytes(b"not a protobuf\nat all")
    (tmp_path / "tokenizer.json").write_text("{}")
    proc = rerankq("health", "--redis-url", redis_url, "--model-dir", str(tmp_path))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("unhealthy:") and str(tmp_path) in lines[0]
    missing = tmp_path / "missing"
    proc = rerankq("worker", "--check", "--redis-url", redis_url, "--model-dir", str(missing))
    assert proc.returncode == 2
    assert str(missing) in proc.stderr and "does not exist" in proc.stderr


def test_redis_only_probe_skips_the_model(redis_url: str, tmp_path) -> None:
    proc = rerankq("health", "--redis-only", "--redis-url", redis_url, "--model-dir", str(tmp_path / "missing"))
    assert proc.returncode == 0, proc.stderr
    assert "answered PING" in proc.stdout and "model" not in proc.stdout


def test_worker_check_is_the_same_probe(redis_url: str) -> None:
    proc = rerankq("worker", "--check", "--redis-url", redis_url)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("healthy:") and "scored a pair" in proc.stdout
