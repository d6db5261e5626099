"""Producer commands of the ``rerankq`` CLI (need only Redis, rq and pydantic)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from producer import defaults
from producer.client import RerankClient
from producer.errors import RequestValidationError
from producer.settings import Settings

EXIT_RECORDS_FAILED = 1
"""score-file finished, but some records failed (their output lines hold the error)."""


def add_commands(commands: argparse._SubParsersAction) -> None:
    rerank = commands.add_parser("rerank", help="rerank passages for one query and print the ranking")
    rerank.add_argument("--query", "-q", required=True, help="the query")
    rerank.add_argument("--passages", "-p", required=True, help="file with one passage per line, or a JSON list")
    rerank.add_argument("--top-k", type=int, help="print only the best K")
    rerank.add_argument("--raw", action="store_true", help="raw logits instead of sigmoid scores")
    rerank.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the result")
    rerank.add_argument("--json", action="store_true", help="print the whole result as JSON")
    rerank.add_argument("--redis-url", help="Redis URL (default: RERANKQ_REDIS_URL)")
    rerank.add_argument("--queue", help="base queue name")
    rerank.add_argument("--model", help="route to the workers serving this model")
    rerank.add_argument("--priority", choices=("normal", "high"), default="normal", help="high is served first")
    rerank.set_defaults(handler=cmd_rerank)

    score = commands.add_parser(
        "score-file", help="score a JSONL file of {query, passages} records; resumable, output in input order"
    )
    score.add_argument("input", help="JSONL input: one {\"id\"?, \"query\", \"passages\", \"top_k\"?} per line")
    score.add_argument("output", help="JSONL output; rerun with the same file to resume")
    score.add_argument("--window", type=int, default=defaults.SCORE_FILE_WINDOW,
                       help=f"records in flight at once (default {defaults.SCORE_FILE_WINDOW})")
    score.add_argument("--timeout", type=float, default=defaults.SCORE_FILE_TIMEOUT,
                       help=f"seconds per record before it is written as failed (default {defaults.SCORE_FILE_TIMEOUT:g})")
    score.add_argument("--model", help="model for records that name none")
    score.add_argument("--priority", choices=("normal", "high"), default="normal")
    score.add_argument("--no-progress", action="store_true", help="no progress bar or lines, only the summary")
    score.add_argument("--redis-url", help="Redis URL (default: RERANKQ_REDIS_URL)")
    score.add_argument("--queue", help="base queue name")
    score.set_defaults(handler=cmd_score_file)

    models = commands.add_parser("models", help="models that live workers serve, with their queues")
    models.add_argument("--json", action="store_true", help="print JSON")
    models.add_argument("--redis-url", help="Redis URL (default: RERANKQ_REDIS_URL)")
    models.set_defaults(handler=cmd_models)

    stats = commands.add_parser("stats", help="queue depth, workers, finished/failed jobs and recent throughput")
    stats.add_argument("--json", action="store_true", help="one JSON object for machines")
    stats.add_argument("--redis-url", help="Redis URL (default: RERANKQ_REDIS_URL)")
    stats.add_argument("--queue", help="base queue name; its .high and per-model queues are included")
    stats.set_defaults(handler=cmd_stats)


def read_passages(path: str) -> list[str]:
    """Passages from a JSON list of strings, or one per non-empty line."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise RequestValidationError(f"cannot read passages from {path}: {exc.strerror}") from None
    if text.lstrip().startswith("["):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise RequestValidationError(f"{path} looks like JSON but does not parse: {exc}") from None
        if not isinstance(data, list):
            raise RequestValidationError(f"{path}: expected a JSON list of passages")
        return data
    return [line for line in text.splitlines() if line.strip()]


def cmd_rerank(args: argparse.Namespace, settings: Settings) -> int:
    client = RerankClient(settings=settings.with_overrides(redis_url=args.redis_url, queue=args.queue))
    passages = read_passages(args.passages)
    result = client.rerank(
        args.query, passages, top_k=args.top_k, normalize=not args.raw, model=args.model, timeout=args.timeout,
        priority=args.priority,
    )
    if args.json:
        print(result.to_json())
        return 0
    for rank, entry in enumerate(result.ranking, start=1):
        text = passages[entry["index"]]
        print(f"{rank:3d}. {entry['score']:.4f}  [{entry['index']}] {text[:100]}")
    t = result.timings
    print(f"model {result.model} on {result.worker}: queued {t.queued_ms:.1f} ms, "
          f"inference {t.inference_ms:.1f} ms, total {t.total_ms:.1f} ms")
    return 0


def cmd_stats(args: argparse.Namespace, settings: Settings) -> int:
    from producer import stats
    from producer.connection import connect, redis_errors

    settings = settings.with_overrides(redis_url=args.redis_url, queue=args.queue)
    connection = connect(settings.redis_url)
    with redis_errors(connection):
        snapshot = stats.collect(connection, settings.queue)
    print(json.dumps(snapshot.to_dict(), indent=2) if args.json else stats.render(snapshot))
    return 0


def cmd_score_file(args: argparse.Namespace, settings: Settings) -> int:
    from producer.batchfile import ScoreFile
    from producer.progress import Progress

    client = RerankClient(settings=settings.with_overrides(redis_url=args.redis_url, queue=args.queue))
    progress = None if args.no_progress else Progress()
    run = ScoreFile(
        client, Path(args.input), Path(args.output), window=args.window, timeout=args.timeout,
        model=args.model, priority=args.priority, progress=progress,
    )
    try:
        summary = run.run()
    finally:
        if progress is not None:
            progress.close()
    seconds = max(summary.seconds, 1e-6)
    print(
        f"score-file: wrote {summary.written} records to {args.output} in {summary.seconds:.1f}s "
        f"({summary.written / seconds:.1f} records/s, {summary.pairs / seconds:.0f} pairs/s); "
        f"{summary.skipped} were already there; {summary.failed + summary.failed_before} failed",
        file=sys.stderr,
    )
    for line, message in summary.failures[:10]:
        print(f"  input line {line}: {message}", file=sys.stderr)
    if len(summary.failures) > 10:
        print(f"  ... and {len(summary.failures) - 10} more (lines with an \"error\" field)", file=sys.stderr)
    return EXIT_RECORDS_FAILED if summary.any_failed else 0


def cmd_models(args: argparse.Namespace, settings: Settings) -> int:
    client = RerankClient(settings=settings.with_overrides(redis_url=args.redis_url))
    found = client.models()
    if args.json:
        print(json.dumps([dataclasses.asdict(m) for m in found], indent=2))
        return 0
    if not found:
        print("no live workers")
        return 0
    width = max(len(m.name) for m in found)
    print(f"{'MODEL':<{width}}  WORKERS  BUSY  QUEUES")
    for m in found:
        print(f"{m.name:<{width}}  {m.workers:>7}  {m.busy:>4}  {', '.join(m.queues)}")
    return 0
