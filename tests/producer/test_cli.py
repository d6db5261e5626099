"""The producer commands: ``rerankq rerank``, ``score-file`` (with resume) and ``models``."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from producer import Settings
from producer.progress import Progress
from tests.producer.conftest import DEFAULT_MODEL, TOPICS, rotated_request
from tests.support import REPO


def rerankq(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "worker", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=timeout)


def test_rerank_command_prints_the_ranking(tmp_path: Path, shared_worker, shared_settings: Settings) -> None:
    query, relevant = TOPICS[1]
    lines = tmp_path / "passages.txt"
    lines.write_text(f"{TOPICS[0][1]}\n\n{relevant}\n{TOPICS[2][1]}\n")
    target = ["--redis-url", shared_settings.redis_url, "--queue", shared_settings.queue]
    proc = rerankq("rerank", "--query", query, "--passages", str(lines), "--top-k", "2", *target)
    assert proc.returncode == 0, proc.stderr
    ranked = [line for line in proc.stdout.splitlines() if line.strip()[:2].rstrip(".").isdigit()]
    assert len(ranked) == 2 and relevant[:60] in ranked[0] and "[1]" in ranked[0]
    as_json = tmp_path / "passages.json"
    as_json.write_text(json.dumps([TOPICS[0][1], relevant]))
    proc = rerankq("rerank", "-q", query, "-p", str(as_json), "--json", "--priority", "high", *target)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["model"] == DEFAULT_MODEL and result["ranking"][0]["index"] == 1
    proc = rerankq("models", "--json", "--redis-url", shared_settings.redis_url)
    served = {m["name"]: m for m in json.loads(proc.stdout)}
    assert shared_settings.queue in served[DEFAULT_MODEL]["queues"] and served[DEFAULT_MODEL]["workers"] >= 1


def write_input(path: Path) -> dict[int, tuple[str, int | None]]:
    """24 good records plus three bad ones; returns input line -> (id, relevant index or None if bad)."""
    expected: dict[int, tuple[str, int | None]] = {}
    lines: list[str] = []
    for i in range(24):
        query, passages, relevant = rotated_request(i)
        record = {"id": f"r{i}", "query": query, "passages": passages}
        if i % 4 == 0:
            record["top_k"] = 1
        lines.append(json.dumps(record))
        expected[len(lines)] = (f"r{i}", relevant)
        if i == 5:
            lines.append("{not json")
            expected[len(lines)] = ("", None)
        if i == 9:
            lines.append(json.dumps({"id": "empty", "query": " ", "passages": ["x"]}))
            expected[len(lines)] = ("empty", None)
        if i == 13:
            lines.append("")  # blank lines are skipped, not records
            lines.append(json.dumps({"id": "extra", "query": "q", "passages": ["p"], "colour": "red"}))
            expected[len(lines)] = ("extra", None)
    path.write_text("\n".join(lines) + "\n")
    return expected


def check_output(out: Path, expected: dict[int, tuple[str, int | None]]) -> list[dict]:
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["line"] for r in records] == sorted(expected)  # one line per record, input order
    for record in records:
        record_id, relevant = expected[record["line"]]
        if relevant is None:
            assert set(record["error"]) == {"type", "message"}
            continue
        assert record["id"] == record_id and record["model"] == DEFAULT_MODEL
        assert record["ranking"][0]["index"] == relevant
        assert len(record["ranking"]) == (1 if int(record_id[1:]) % 4 == 0 else 3)
    return records


def test_score_file_keeps_order_reports_failures_and_resumes(
    tmp_path: Path, shared_worker, shared_settings: Settings
) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    expected = write_input(source)
    target = ["--redis-url", shared_settings.redis_url, "--queue", shared_settings.queue, "--window", "4"]
    first = rerankq("score-file", str(source), str(out), *target)
    assert first.returncode == 1, first.stderr  # some records failed; the rest were scored
    assert "wrote 27 records" in first.stderr and "3 failed" in first.stderr
    assert "input line 7: line 7 is not JSON" in first.stderr
    assert "\r" not in first.stderr  # not a terminal: no progress bar
    records = check_output(out, expected)
    errors = {r["line"]: r["error"]["type"] for r in records if "error" in r}
    assert sorted(errors.values()) == ["InvalidRecord", "InvalidRecord", "RequestValidationError"]

    # Simulate a run stopped after 10 records, in the middle of writing the 11th.
    kept = out.read_text().splitlines()[:10]
    marked = json.loads(kept[1])
    marked["scores"] = ["written by the first run"]
    kept[1] = json.dumps(marked)
    out.write_text("\n".join(kept) + "\n" + '{"line": 12, "id": "r1')
    second = rerankq("score-file", str(source), str(out), *target)
    assert second.returncode == 1, second.stderr
    assert "wrote 17 records" in second.stderr and "10 were already there" in second.stderr
    resumed = check_output(out, expected)
    assert resumed[1]["scores"] == ["written by the first run"]  # skipped, not scored again
    # Records in flight or done before the stop find their earlier jobs: same job ids.
    assert [r.get("job_id") for r in resumed[10:]] == [r.get("job_id") for r in records[10:]]


def test_score_file_refuses_an_output_written_for_another_input(tmp_path: Path) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text(json.dumps({"query": "q", "passages": ["p"]}) + "\n")
    out.write_text(json.dumps({"line": 7, "scores": [0.5]}) + "\n")
    proc = rerankq("score-file", str(source), str(out), "--redis-url", "redis://127.0.0.1:1/0")
    assert proc.returncode == 2
    assert "does not match" in proc.stderr and "new output file" in proc.stderr


def test_progress_draws_a_bar_with_throughput_on_a_terminal() -> None:
    stream = io.StringIO()
    progress = Progress(stream, bar=True)
    progress.start(total=10, initial=2)
    progress.advance(3, pairs=30, failed=1)
    progress.close()
    assert "5/10" in stream.getvalue() and "pairs_s=" in stream.getvalue() and "failed=1" in stream.getvalue()
    plain = io.StringIO()
    quiet = Progress(plain, bar=False, interval=0)
    quiet.start(total=10, initial=0)
    quiet.advance(4, pairs=40, failed=0)
    assert plain.getvalue().startswith("score-file: 4/10 records,") and "pairs/s" in plain.getvalue()
