"""The bench's command-line flags and the two sizes of run (full and ``--quick``).

Kept free of heavy imports: the CLI builds its parser from here on every call.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass

PARTS = ("sweep", "baselines", "int8", "torch", "e2e", "profile")
"""Parts of the bench that ``--skip`` can leave out."""


@dataclass(frozen=True)
class Plan:
    """How much work each part of the bench does."""

    main_queries: int = 1
    passages: int = 100
    rounds: int = 2
    main_rounds: int = 3
    accuracy_queries: int = 6
    sweep_budgets: tuple[int, ...] = (256, 384, 512, 768, 1024, 2048)
    sweep_passages: int = 100
    torch_pairs: int = 100
    torch_batch_sizes: tuple[int, ...] = (32, 8, 4, 2)
    e2e_big_jobs: int = 4
    producers: int = 4
    small_jobs: int = 32
    small_passages: int = 10
    overhead_jobs: int = 10
    overhead_passages: int = 20
    batch_jobs: int = 4
    reference_seconds: float = 1.0
    profile_runs: int = 20


FULL = Plan()

QUICK = Plan(
    main_queries=1, passages=12, rounds=1, main_rounds=1, accuracy_queries=2, sweep_budgets=(256, 512), sweep_passages=12,
    torch_pairs=8, torch_batch_sizes=(32, 4), e2e_big_jobs=2, producers=2, small_jobs=6, small_passages=4,
    overhead_jobs=3, overhead_passages=6, batch_jobs=3, reference_seconds=0.2, profile_runs=3,
)


def plan_for(args: argparse.Namespace) -> Plan:
    plan = QUICK if args.quick else FULL
    if args.rounds:
        plan = dataclasses.replace(plan, rounds=args.rounds, main_rounds=args.rounds)
    if args.queries:
        plan = dataclasses.replace(plan, main_queries=args.queries)
    return plan


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model-dir", help="fp32 model directory (default: RERANKQ_MODEL_DIR or the bundled model)")
    parser.add_argument("--int8-dir", help="int8 model directory (default: quantize --model-dir into a temp dir)")
    parser.add_argument("--threads", type=int, help="threads per configuration (default: this worker's share of cores)")
    parser.add_argument("--batch-tokens", type=int, help="rerankq's token budget (default: RERANKQ_BATCH_TOKENS)")
    parser.add_argument("--redis-url", help="Redis for the end-to-end part (embedded if none answers)")
    parser.add_argument("--quick", action="store_true", help="tiny workload: checks the machinery in under a minute")
    parser.add_argument("--rounds", type=int, help="timed rounds per in-process configuration (fastest is kept)")
    parser.add_argument("--queries", type=int, help="100-passage jobs timed in process")
    parser.add_argument("--skip", action="append", choices=PARTS, default=[], help="leave a part out (repeatable)")
    parser.add_argument("--json", dest="json_path", help="write every figure as JSON here")
    parser.add_argument("--png", dest="png_path", help="draw throughput per configuration here (needs matplotlib)")
