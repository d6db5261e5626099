"""Optional Prometheus metrics of one worker process, served over HTTP (``--metrics-port``).

prometheus-client is imported only when a port is configured, so workers
without it installed run as before. Until ``serve`` installs real metrics,
every observation goes to a no-op stand-in, so job code never checks.
"""

from __future__ import annotations

import logging

from producer.errors import ConfigError

log = logging.getLogger(__name__)

# Powers of two from 64 to 256k tokens: one short pair up to a full 1,000-pair job.
TOKEN_BUCKETS = tuple(float(2**n) for n in range(6, 19))
SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
WAIT_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)


class NoMetrics:
    """What jobs observe when no metrics endpoint is configured."""

    def job_outcome(self, outcome: str) -> None:
        pass

    def job_scored(self, pairs: int, computed_tokens: int, inference_seconds: float, queue_wait_seconds: float) -> None:
        pass

    def model_loaded(self, seconds: float) -> None:
        pass


class PrometheusMetrics(NoMetrics):
    """The worker's metrics in a registry of their own (plus process and platform metrics)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, PlatformCollector, ProcessCollector

        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        r = self.registry
        self.jobs = Counter("rerankq_jobs", "Rerank jobs this worker ran, by outcome.", ["outcome"], registry=r)
        for outcome in ("finished", "failed"):
            self.jobs.labels(outcome=outcome)  # export zeros before the first job
        self.pairs = Counter("rerankq_pairs_scored", "Query-passage pairs scored.", registry=r)
        self.batch_tokens = Histogram(
            "rerankq_batch_tokens",
            "Tokens computed per job: rows x padded length, summed over its micro-batches.",
            buckets=TOKEN_BUCKETS, registry=r,
        )
        self.inference = Histogram(
            "rerankq_inference_seconds", "Time per job spent in ONNX Runtime.", buckets=SECONDS_BUCKETS, registry=r
        )
        self.queue_wait = Histogram(
            "rerankq_queue_wait_seconds", "Time from submission until a worker started the job.",
            buckets=WAIT_BUCKETS, registry=r,
        )
        self.model_load = Gauge("rerankq_model_load_seconds", "Time this worker took to load its model.", registry=r)

    def job_outcome(self, outcome: str) -> None:
        self.jobs.labels(outcome=outcome).inc()

    def job_scored(self, pairs: int, computed_tokens: int, inference_seconds: float, queue_wait_seconds: float) -> None:
        self.pairs.inc(pairs)
        self.batch_tokens.observe(computed_tokens)
        self.inference.observe(inference_seconds)
        self.queue_wait.observe(queue_wait_seconds)

    def model_loaded(self, seconds: float) -> None:
        self.model_load.set(seconds)


_current: NoMetrics = NoMetrics()


def current() -> NoMetrics:
    """The metrics this process reports to (a no-op unless ``serve`` ran)."""
    return _current


def serve(port: int, address: str) -> PrometheusMetrics:
    """Start the HTTP endpoint in a daemon thread and make its metrics current.

    Raises ``ConfigError`` when prometheus-client is missing or the port is taken,
    so a misconfigured worker stops at start instead of running unobserved.
    """
    global _current
    if not 0 < port < 65536:
        raise ConfigError(f"metrics port {port} is not a TCP port; use 1-65535")
    try:
        from prometheus_client import disable_created_metrics, start_http_server
    except ImportError:
        raise ConfigError(
            "--metrics-port needs prometheus-client; install rerankq[metrics] or drop the flag"
        ) from None
    # The extra *_created series only double what a scraper sees; the process start time is exported anyway.
    disable_created_metrics()
    metrics = PrometheusMetrics()
    try:
        # A daemon thread serves it for as long as the process lives.
        start_http_server(port, addr=address, registry=metrics.registry)
    except OSError as exc:
        raise ConfigError(
            f"cannot serve metrics on {address}:{port} ({exc.strerror}); give each worker on a host its own --metrics-port"
        ) from None
    _current = metrics
    log.info("metrics on http://%s:%d/metrics", address, port, extra={"metrics_port": port})
    return metrics
