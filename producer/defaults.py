"""Every default rerankq uses, each with a name and a one-line reason.

The settings object (``producer.settings``) reads overrides from ``RERANKQ_*``
environment variables; CLI flags override those. Nothing else hard-codes a value.
"""

REDIS_URL = "redis://127.0.0.1:6379/0"
"""Where producers and workers meet when nothing else is configured."""

QUEUE = "rerankq"
"""The queue served by workers of the default model."""

JOB_TIMEOUT = 120
"""Seconds a single job may run before RQ kills it (1,000 long pairs fit with room)."""

RESULT_TTL = 3600
"""Seconds a finished or failed result stays readable under its key."""

JOB_TTL = 3600
"""Seconds a queued job may wait before it expires unscored."""

MAX_PAIRS = 1000
"""Most (query, passage) pairs one job may carry: bounds worker memory per job."""

MAX_TEXT_CHARS = 20_000
"""Most characters in one query or passage; longer texts are refused, not silently cut."""

MAX_TOTAL_CHARS = 2_000_000
"""Most characters across all texts of one job (about 8 MB of JSON)."""

MAX_LENGTH = 512
"""Token length of one pair encoding when the model directory does not say otherwise."""

BATCH_TOKENS = 1024
"""Token budget of one micro-batch (rows x padded length); small batches stay in CPU cache."""

WAIT_TIMEOUT = 30.0
"""Seconds a blocking wait gives a job before raising a timeout."""

HEARTBEAT_INTERVAL = 5.0
"""Seconds between a busy worker's heartbeats that keep its started job alive."""

ABANDONED_AFTER = 30.0
"""Seconds without a heartbeat after which a started job counts as abandoned."""

MAX_RETRIES = 2
"""How often an abandoned job is retried on another worker before it fails."""

LOG_FORMAT = "text"
"""Worker log lines: 'text' for people, 'json' for log collectors."""

LOG_LEVEL = "INFO"
"""Level of the worker's own log lines."""
