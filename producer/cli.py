"""Producer commands of the ``rerankq`` CLI (need only Redis, rq and pydantic)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from producer.client import RerankClient
from producer.errors import RequestValidationError
from producer.settings import Settings


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
    rerank.set_defaults(handler=cmd_rerank)


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
        args.query, passages, top_k=args.top_k, normalize=not args.raw, model=args.model, timeout=args.timeout
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
