"""The exceptions rerankq raises; each message says what was wrong and what to do."""

from __future__ import annotations


class RerankqError(Exception):
    """Base class of every rerankq error."""


class ConfigError(RerankqError):
    """A setting or CLI flag has a value rerankq cannot use."""


class RequestValidationError(RerankqError, ValueError):
    """A rerank request is malformed or over a limit; nothing was enqueued."""


class RedisUnavailableError(RerankqError, ConnectionError):
    """Redis could not be reached at the configured URL."""


class JobFailedError(RerankqError):
    """The job ran and failed (bad payload, scoring error, abandoned too often)."""

    def __init__(self, job_id: str, reason: str, error_type: str = "JobFailed") -> None:
        super().__init__(f"rerank job {job_id} failed: {reason}")
        self.job_id = job_id
        self.reason = reason
        self.error_type = error_type


class JobTimeoutError(RerankqError, TimeoutError):
    """A blocking wait ran out before the job's result arrived."""


class JobNotFoundError(RerankqError, LookupError):
    """No job and no result exist under this id (never submitted, or expired)."""


class NoWorkerError(RerankqError):
    """No live worker serves the requested model."""


class ModelDirError(RerankqError):
    """A model directory is missing, incomplete or in a format rerankq cannot load."""
