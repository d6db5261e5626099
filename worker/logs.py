"""Logging setup for the entry points: readable text by default, or one JSON object per line.

Only entry points call ``configure``; library code just logs. Structured fields
travel with a record through ``extra=`` (``job_id``, ``pairs``, ``tokens``,
``timings``, ...): the text format shows them only through the message, the
JSON format adds each as its own key. Lines logged while an RQ job runs get
that job's id even when the caller did not pass one (RQ's own lines included).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import TextIO

from rq import get_current_job

from producer.errors import ConfigError

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Attributes every LogRecord has; anything else on a record came in through ``extra=``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


class JobIdFilter(logging.Filter):
    """Adds the running RQ job's id to records that carry none."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "job_id", None) is None:
            job = get_current_job()
            if job is not None:
                record.job_id = job.id
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, then the extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": _iso_time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # default=str: a stray object in ``extra`` must not cost the whole line.
        return json.dumps(entry, default=str, ensure_ascii=False)


def _iso_time(created: float) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{seconds}.{int(created % 1 * 1000):03d}Z"


def make_handler(log_format: str, stream: TextIO | None = None) -> logging.Handler:
    """A stream handler (stderr by default) with the formatter for ``log_format``."""
    if log_format not in FORMATS:
        raise ConfigError(f"log format {log_format!r} is not one of {', '.join(FORMATS)}; use --log-format text or json")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(JobIdFilter())
    return handler


def configure(level: str, log_format: str, stream: TextIO | None = None) -> None:
    """Route every logger (RQ's too) through one handler on the root logger."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ConfigError(f"log level {level!r} is unknown; use DEBUG, INFO, WARNING or ERROR")
    handler = make_handler(log_format, stream)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
