"""rerankq producer side: submit rerank jobs to Redis and read their results.

Importing this package pulls in redis, rq and pydantic only: no model runtime.
"""

from producer.aio import AsyncRerankClient, AsyncRerankJob
from producer.client import RerankClient
from producer.completion import Completed
from producer.contract import Limits, RankedPassage, RerankRequest, RerankResult, Timings
from producer.errors import (
    ConfigError,
    JobFailedError,
    JobNotFoundError,
    JobTimeoutError,
    ModelDirError,
    NoWorkerError,
    RedisUnavailableError,
    RequestValidationError,
    RerankqError,
)
from producer.jobs import RerankJob
from producer.registry import ModelInfo
from producer.settings import Settings

__all__ = [
    "AsyncRerankClient",
    "AsyncRerankJob",
    "Completed",
    "ConfigError",
    "JobFailedError",
    "JobNotFoundError",
    "JobTimeoutError",
    "Limits",
    "ModelDirError",
    "ModelInfo",
    "NoWorkerError",
    "RankedPassage",
    "RedisUnavailableError",
    "RequestValidationError",
    "RerankClient",
    "RerankJob",
    "RerankRequest",
    "RerankResult",
    "RerankqError",
    "Settings",
    "Timings",
]
