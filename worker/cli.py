"""The ``rerankq`` command line: worker, model tools, demo, and producer commands.

Heavy modules (onnxruntime, tokenizers) are imported inside the commands that
need them, so producer-only installs can still run the producer commands.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from producer import cli as producer_cli
from producer import defaults
from producer.errors import RerankqError
from producer.settings import Settings
from worker import logs

EXIT_USAGE = 2
"""Bad input from the user: flags, model directory, request."""

EXIT_UNAVAILABLE = 3
"""A service (Redis) could not be reached."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace, Settings], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        settings = Settings.from_env()
        return handler(args, settings)
    except RerankqError as exc:
        from producer.errors import RedisUnavailableError

        print(f"rerankq: error: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE if isinstance(exc, RedisUnavailableError) else EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rerankq", description="Queue-based cross-encoder reranking on Redis.")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    worker = commands.add_parser("worker", help="serve rerank jobs from Redis with one loaded model")
    add_worker_flags(worker)
    worker.add_argument("--burst", action="store_true", help="exit once the queues are empty")
    worker.add_argument("--check", action="store_true", help="run `rerankq health` with these flags and exit")
    worker.set_defaults(handler=cmd_worker)

    health = commands.add_parser("health", help="exit 0 if Redis answers and the model loads and scores (for probes)")
    health.add_argument("--model-dir", help="model directory (default: RERANKQ_MODEL_DIR or the bundled model)")
    health.add_argument("--redis-url", help="Redis URL (default: RERANKQ_REDIS_URL)")
    health.add_argument("--redis-only", action="store_true", help="only PING Redis (a cheap liveness probe)")
    health.add_argument("--timeout", type=float, default=defaults.HEALTH_TIMEOUT, help="seconds to wait for Redis")
    health.set_defaults(handler=cmd_health)

    model = commands.add_parser("model", help="inspect and convert model directories")
    model_commands = model.add_subparsers(title="model commands", metavar="COMMAND")
    check = model_commands.add_parser("check", help="load a model directory and score one sample pair")
    check.add_argument("model_dir", nargs="?", help="model directory (default: the bundled model)")
    check.add_argument("--threads", type=int, help="intra-op threads")
    check.set_defaults(handler=cmd_model_check)
    quantize = model_commands.add_parser("quantize", help="write an int8 copy of a model and report its accuracy")
    quantize.add_argument("in_dir", help="model directory to quantize ('default' for the bundled model)")
    quantize.add_argument("out_dir", help="new directory for the int8 model")
    quantize.add_argument("--per-tensor", action="store_true", help="one scale per weight matrix (default: per channel)")
    quantize.add_argument("--weight-type", choices=("qint8", "quint8"), default="qint8", help="int8 weight type")
    quantize.add_argument("--report-queries", type=int, default=12, help="bench queries in the accuracy report (0: none)")
    quantize.add_argument("--all-layers", action="store_true", help="also quantize the first feed-forward output layer")
    quantize.add_argument("--force", action="store_true", help="overwrite a model.onnx already in OUT_DIR")
    quantize.set_defaults(handler=cmd_model_quantize)

    bench = commands.add_parser("bench", help="measure the scorer, the queue and the alternatives on this machine")
    from worker.bench.options import add_arguments as add_bench_arguments

    add_bench_arguments(bench)
    bench.set_defaults(handler=cmd_bench)

    demo = commands.add_parser("demo", help="run the whole system on this machine and print a ranking")
    demo.add_argument("--redis-url", help="Redis to use (default RERANKQ_REDIS_URL; embedded if none answers)")
    demo.set_defaults(handler=cmd_demo)

    producer_cli.add_commands(commands)
    return parser


def add_worker_flags(parser: argparse.ArgumentParser) -> None:
    """Flags that mirror ``Settings`` fields (unset flags leave the environment's value)."""
    parser.add_argument("--model-dir", help="model directory (default: RERANKQ_MODEL_DIR or the bundled model)")
    parser.add_argument("--redis-url", help="Redis URL (default: RERANKQ_REDIS_URL)")
    parser.add_argument("--queue", help="base queue name (default: RERANKQ_QUEUE or 'rerankq')")
    parser.add_argument("--batch-tokens", type=int, help="token budget of one micro-batch")
    parser.add_argument("--threads", type=int, help="ONNX intra-op threads (default: cores / workers per host)")
    parser.add_argument("--batch-jobs", type=int, help="score up to this many waiting small jobs together (default 1)")
    parser.add_argument("--graph-cache-dir", help="cache of optimized ONNX graphs ('off' disables; default ~/.cache)")
    parser.add_argument("--max-jobs", type=int, help="exit cleanly after this many jobs")
    parser.add_argument("--max-rss-mb", type=int, help="exit cleanly between jobs once resident memory is above this")
    parser.add_argument("--heartbeat-interval", type=float, help="seconds between a worker's heartbeats (default 5)")
    parser.add_argument("--abandoned-after", type=float, help="seconds of silence before a job is retried (default 30)")
    parser.add_argument("--max-retries", type=int, help="retries of an abandoned job before it fails (default 2)")
    parser.add_argument("--log-level", help="DEBUG, INFO, WARNING, ...")
    parser.add_argument("--log-format", choices=("text", "json"), help="text (default) or json: one object per line")
    parser.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on this port (needs prometheus-client)")
    parser.add_argument("--metrics-address", help="interface for the metrics endpoint (default: all)")
    parser.add_argument("--no-default-queue", dest="serve_default_queue", action="store_const", const=False,
                        help="serve only this model's own queues, not the base (default-model) queue")


def settings_from_args(args: argparse.Namespace, settings: Settings) -> Settings:
    names = ("model_dir", "redis_url", "queue", "batch_tokens", "threads", "max_jobs", "log_level", "log_format",
             "metrics_port", "metrics_address", "serve_default_queue", "max_rss_mb", "heartbeat_interval",
             "abandoned_after", "max_retries", "batch_jobs", "graph_cache_dir")
    return settings.with_overrides(**{n: getattr(args, n, None) for n in names})


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    settings = settings_from_args(args, settings)
    if args.check:
        return run_health(settings, redis_only=False, timeout=defaults.HEALTH_TIMEOUT)
    logs.configure(settings.log_level, settings.log_format)
    from worker.process import run_worker

    run_worker(settings, burst=args.burst)
    return 0


def cmd_health(args: argparse.Namespace, settings: Settings) -> int:
    settings = settings.with_overrides(model_dir=args.model_dir, redis_url=args.redis_url)
    return run_health(settings, redis_only=args.redis_only, timeout=args.timeout)


def run_health(settings: Settings, *, redis_only: bool, timeout: float) -> int:
    from worker.health import check

    result = check(settings, redis_only=redis_only, timeout=timeout)
    print(result.line, file=sys.stdout if result.healthy else sys.stderr)
    return result.code


def cmd_model_check(args: argparse.Namespace, settings: Settings) -> int:
    from worker.loading import SessionConfig, load_model
    from worker.model_dir import resolve_model_dir
    from worker.scorer import PairScorer

    spec = resolve_model_dir(args.model_dir or settings.model_dir)
    threads = args.threads or settings.intra_op_threads()
    model = load_model(spec, SessionConfig(intra_op_threads=threads))
    scorer = PairScorer(model, settings.batch_tokens)
    query, passage = "what is the capital of france?", "Paris is the capital and largest city of France."
    report = scorer.score([(query, passage)], normalize=False)
    logit = report.scores[0]
    session = model.session
    print(f"name:        {spec.name}")
    print(f"directory:   {spec.directory}")
    print(f"onnx:        {spec.onnx_path}")
    print(f"inputs:      {', '.join(f'{i.name} {i.type} {i.shape}' for i in session.get_inputs())}")
    print(f"outputs:     {', '.join(f'{o.name} {o.type} {o.shape}' for o in session.get_outputs())}")
    print(f"max length:  {spec.max_length}")
    print(f"activation:  {spec.activation}")
    print(f"load time:   {model.load_seconds:.2f}s ({threads} threads)")
    print(f"sample:      {query!r} / {passage!r}")
    print(f"             logit {logit:.4f}, sigmoid {1 / (1 + __import__('math').exp(-logit)):.4f}")
    return 0


def cmd_model_quantize(args: argparse.Namespace, settings: Settings) -> int:
    from worker.quantize import run_command

    return run_command(args, settings)


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from worker.bench.run import run_command

    return run_command(args, settings)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from worker.demo import run_demo

    return run_demo(settings.with_overrides(redis_url=args.redis_url))


if __name__ == "__main__":
    sys.exit(main())
