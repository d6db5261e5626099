"""The end-to-end scenarios: one worker, one worker batching across jobs, two workers splitting cores."""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from worker.bench.e2e import (
    Outcome,
    RunningWorkers,
    WorkerSpec,
    drive,
    log_dir,
    running_workers,
    split,
    to_measurement,
    wait_registered,
)
from worker.bench.measure import Measurement
from worker.bench.options import Plan
from worker.bench.workload import Job
from worker.scorer import PairScorer


@dataclass
class E2EFigures:
    """What the end-to-end part found."""

    measurements: list[Measurement] = field(default_factory=list)
    ratios: dict[str, float] = field(default_factory=dict)
    overhead: dict[str, float] = field(default_factory=dict)


@dataclass
class Workloads:
    big: list[Job]
    small: list[Job]
    overhead: list[Job]


def run_e2e(redis_url: str, scorer: PairScorer, model_dir: str | None, threads: int, plan: Plan,
            loads: Workloads, flops: Callable[[Sequence[Job]], float],
            progress: Callable[[str], None]) -> E2EFigures:
    figures = E2EFigures()
    logs = log_dir()
    base = WorkerSpec(count=1, threads=threads, model_dir=model_dir, batch_tokens=scorer.batch_tokens)
    big_split = split(loads.big, plan.producers)
    small_split = split(loads.small, plan.producers)

    batching = WorkerSpec(**{**base.__dict__, "batch_jobs": plan.batch_jobs})
    split_threads = max(1, threads // 2)
    two = WorkerSpec(**{**base.__dict__, "count": 2, "threads": split_threads})
    progress("end to end: starting 4 workers (idle ones wait on their own queues)")
    with contextlib.ExitStack() as stack:
        one_w, batching_w, two_w = (stack.enter_context(running_workers(redis_url, spec, logs, wait=False))
                                    for spec in (base, batching, two))
        for workers in (one_w, batching_w, two_w):
            wait_registered(workers)
            _warm(workers, loads.small[0])
        progress(f"end to end: 1 worker x {threads} threads")
        big, small = _one_worker(figures, one_w, scorer, plan, loads, big_split, small_split, flops)
        progress(f"end to end: 1 worker batching up to {plan.batch_jobs} waiting jobs")
        batched = drive(batching_w, small_split)
        figures.measurements.append(to_measurement(
            f"e2e 1 worker --batch-jobs {plan.batch_jobs}, {plan.small_passages}-passage jobs", batched,
            batching_w, f"{plan.producers} producers", flops(loads.small)))
        progress(f"end to end: 2 workers x {split_threads} threads")
        big2 = drive(two_w, big_split)
        figures.measurements.append(to_measurement(
            f"e2e 2 workers x {split_threads} threads, {plan.producers} producers, {plan.passages}-passage jobs",
            big2, two_w, "RSS is per worker", flops(loads.big)))
        small2 = drive(two_w, small_split)
        figures.measurements.append(to_measurement(
            f"e2e 2 workers x {split_threads} threads, {plan.producers} producers, {plan.small_passages}-passage jobs",
            small2, two_w, "RSS is per worker", flops(loads.small)))
    figures.ratios["cross_job_batching_speedup"] = small.seconds / batched.seconds if batched.seconds else 0.0
    figures.ratios["two_workers_over_one_big"] = big.seconds / big2.seconds if big2.seconds else 0.0
    figures.ratios["two_workers_over_one_small"] = small.seconds / small2.seconds if small2.seconds else 0.0
    return figures


def _one_worker(figures: E2EFigures, workers: RunningWorkers, scorer: PairScorer, plan: Plan, loads: Workloads,
                big_split: list[list[Job]], small_split: list[list[Job]],
                flops: Callable[[Sequence[Job]], float]) -> tuple[Outcome, Outcome]:
    seq, inproc_ms = _alternating(workers, scorer, loads.big)
    figures.measurements.append(to_measurement(
        f"e2e 1 worker, sequential {plan.passages}-passage jobs", seq, workers, "1 producer", flops(loads.big)))
    figures.ratios["e2e_over_inprocess_big"] = sum(inproc_ms) / 1000 / seq.seconds if seq.seconds else 0.0
    over, inproc_over = _alternating(workers, scorer, loads.overhead)
    diffs = [e - i for e, i in zip(over.latencies_ms, inproc_over, strict=True)]
    outside = [e - w for e, w in zip(over.latencies_ms, over.worker_ms, strict=True)]
    figures.overhead = {
        "passages": len(loads.overhead[0].passages), "jobs": len(diffs),
        "median_overhead_ms": statistics.median(diffs),
        "e2e_p50_ms": statistics.median(over.latencies_ms), "inprocess_p50_ms": statistics.median(inproc_over),
        # Submit-to-result time the worker did not spend on the job itself: Redis, RQ, JSON, wake-ups.
        "median_outside_worker_ms": statistics.median(outside),
    }
    big = drive(workers, big_split)
    figures.measurements.append(to_measurement(
        f"e2e 1 worker, {plan.producers} producers, {plan.passages}-passage jobs", big, workers,
        f"{plan.producers} producers", flops(loads.big)))
    small = drive(workers, small_split)
    figures.measurements.append(to_measurement(
        f"e2e 1 worker, {plan.producers} producers, {plan.small_passages}-passage jobs", small, workers,
        f"{plan.producers} producers", flops(loads.small)))
    return big, small


def _warm(workers: RunningWorkers, job: Job) -> None:
    """One unmeasured job per worker, so first-run allocations are not timed."""
    drive(workers, [[job] for _ in workers.processes])


def _alternating(workers: RunningWorkers, scorer: PairScorer, jobs: Sequence[Job]) -> tuple[Outcome, list[float]]:
    """Each job scored in process, then through the queue, back to back: both see the same machine."""
    inprocess_ms: list[float] = []
    merged = Outcome(0.0, [], 0, 0, 0, [])
    for job in jobs:
        started = time.perf_counter()
        scorer.score(job.pairs, normalize=False)
        inprocess_ms.append((time.perf_counter() - started) * 1000)
        one = drive(workers, [[job]])
        merged.seconds += one.seconds
        merged.latencies_ms += one.latencies_ms
        merged.pairs += one.pairs
        merged.tokens += one.tokens
        merged.computed_tokens += one.computed_tokens
        merged.worker_ms += one.worker_ms
    return merged, inprocess_ms
