"""rerankq producer side: submit rerank jobs to Redis and read their results.

Importing this package pulls in redis, rq and pydantic only: no model runtime.
"""

from producer.client import RerankClient
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
from producer.settings import Settings

__all__ = [
    "ConfigError",
    "JobFailedError",
    "JobNotFoundError",
    "JobTimeoutError",
    "Limits",
    "ModelDirError",
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
