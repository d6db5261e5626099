"""Log formats: readable text by default, one JSON object per line with structured fields on request."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import fakeredis
import pytest
from rq.job import Job

from producer.errors import ConfigError
from worker import logs


@pytest.fixture
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def configured(log_format: str, level: str = "INFO") -> io.StringIO:
    stream = io.StringIO()
    logs.configure(level, log_format, stream)
    return stream


def test_text_format_is_one_readable_line(restore_root) -> None:
    stream = configured("text")
    logging.getLogger("worker.job").info("job %s: scored %d pairs", "j1", 3, extra={"job_id": "j1", "pairs": 3})
    line = stream.getvalue().strip()
    assert "INFO worker.job: job j1: scored 3 pairs" in line
    assert not line.startswith("{")


def test_json_lines_carry_level_logger_message_and_extra_fields(restore_root) -> None:
    stream = configured("json", "DEBUG")
    log = logging.getLogger("worker.job")
    timings = {"queued_ms": 1.5, "inference_ms": 20.0}
    log.info("job %s: scored %d pairs", "j1", 3,
             extra={"job_id": "j1", "pairs": 3, "tokens": 42, "timings": timings})
    log.debug("multi\nline \"quoted\" message")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("job %s: failed", "j2", extra={"job_id": "j2"})
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    first, second, third = (json.loads(line) for line in lines)
    assert first["level"] == "INFO" and first["logger"] == "worker.job"
    assert first["message"] == "job j1: scored 3 pairs"
    assert (first["job_id"], first["pairs"], first["tokens"], first["timings"]) == ("j1", 3, 42, timings)
    assert first["time"].endswith("Z") and first["time"][10] == "T"
    assert second["message"] == "multi\nline \"quoted\" message"
    assert third["job_id"] == "j2" and "ValueError: boom" in third["exception"]


def log_inside_a_job() -> None:
    logging.getLogger("some.library").warning("inside the job")


def test_lines_logged_inside_a_running_job_get_its_id(restore_root) -> None:
    stream = configured("json")
    job = Job.create(log_inside_a_job, connection=fakeredis.FakeRedis(), id="job-in-context")
    job.perform()
    logging.getLogger("some.library").warning("outside any job")
    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert inside["job_id"] == "job-in-context"
    assert "job_id" not in outside


def test_unknown_format_or_level_is_refused() -> None:
    with pytest.raises(ConfigError, match="'xml' is not one of text, json"):
        logs.make_handler("xml")
    with pytest.raises(ConfigError, match="log level 'LOUD' is unknown"):
        logs.configure("LOUD", "text", io.StringIO())
