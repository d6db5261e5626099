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

BATCH_TOKENS = 512
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

STATS_BUCKET_SECONDS = 10
"""Width of one throughput bucket in Redis: small enough for a live rate, few keys."""

STATS_WINDOW_SECONDS = 60
"""Span over which `rerankq stats` reports recent throughput."""

HEALTH_TIMEOUT = 3.0
"""Seconds `rerankq health` waits for Redis before calling it unreachable (probes time out too)."""

METRICS_ADDRESS = "0.0.0.0"
"""Interface the Prometheus endpoint listens on: all, so a scraper on another host reaches it."""

SERVE_DEFAULT_QUEUE = True
"""Workers serve the base (default-model) queue besides their own model's queue."""

WORKER_CHECK_SECONDS = 5.0
"""Seconds a producer trusts a found live worker for a model before asking the registry again."""

SCORE_FILE_WINDOW = 64
"""Records `score-file` keeps submitted but not yet written: bounds memory and its share of the queue."""

SCORE_FILE_TIMEOUT = 600.0
"""Seconds `score-file` gives one record's job before writing the record as failed."""

PROGRESS_SECONDS = 10.0
"""Seconds between plain progress lines when `score-file` is not writing to a terminal."""

ASYNC_MAX_CONNECTIONS = 32
"""Redis connections one asyncio client opens at most; more concurrent commands wait for a free one."""

GRAPH_CACHE_DIR = "~/.cache/rerankq/graphs"
"""Where workers keep optimized ONNX graphs so a restart skips graph optimization ('off' disables)."""

BATCH_JOBS = 1
"""Waiting small jobs a worker scores together in one set of micro-batches (1 = one job at a time)."""

BATCH_JOBS_MAX_PAIRS = 128
"""Most pairs scored together across jobs; larger jobs fill micro-batches on their own."""
