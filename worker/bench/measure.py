"""What one bench configuration measured, and the interleaved timing loop behind it.

On a shared machine a slow moment hits whichever configuration happens to run;
running every configuration once per round, for several rounds, and keeping
each one's fastest round compares them under the same conditions.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

Pair = tuple[str, str]


@dataclass
class RunStats:
    """One job scored by one configuration."""

    logits: np.ndarray
    tokens: int
    computed_tokens: int
    tokenize_s: float = 0.0


Runner = Callable[[Sequence[Pair]], RunStats]
"""Scores one job's pairs and says what it computed."""


@dataclass
class Measurement:
    """One configuration's figures (rates from its fastest round)."""

    name: str
    section: str
    pairs: int
    seconds: float
    tokens: int = 0
    computed_tokens: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    rss_mb: float | None = None
    flops: float = 0.0
    note: str = ""
    tokenize_seconds: float = 0.0

    @property
    def pairs_per_s(self) -> float:
        return self.pairs / self.seconds if self.seconds > 0 else 0.0

    @property
    def padding_efficiency(self) -> float | None:
        return self.tokens / self.computed_tokens if self.computed_tokens else None

    @property
    def p50_ms(self) -> float | None:
        return percentile(self.latencies_ms, 50)

    @property
    def p95_ms(self) -> float | None:
        return percentile(self.latencies_ms, 95)

    @property
    def gflops(self) -> float | None:
        return self.flops / self.seconds / 1e9 if self.flops and self.seconds > 0 else None

    def to_dict(self) -> dict:
        return {
            "name": self.name, "section": self.section, "pairs": self.pairs, "seconds": round(self.seconds, 4),
            "pairs_per_s": round(self.pairs_per_s, 3), "tokens": self.tokens, "computed_tokens": self.computed_tokens,
            "padding_efficiency": _round(self.padding_efficiency, 4), "p50_ms": _round(self.p50_ms, 2),
            "p95_ms": _round(self.p95_ms, 2), "jobs": len(self.latencies_ms), "rss_mb": _round(self.rss_mb, 1),
            "useful_gflops": _round(self.gflops, 2), "tokenize_seconds": round(self.tokenize_seconds, 4),
            "note": self.note,
        }


@dataclass
class Timed:
    """The fastest round of one runner over a list of jobs."""

    seconds: float
    latencies_ms: list[float]
    logits: list[np.ndarray]
    tokens: int
    computed_tokens: int
    tokenize_s: float = 0.0


def time_interleaved(runners: dict[str, Runner], jobs: Sequence[Sequence[Pair]], rounds: int,
                     progress: Callable[[str], None] | None = None) -> dict[str, Timed]:
    """Every runner over every job, once per round, rounds interleaved; each runner's fastest round."""
    warm = [list(jobs[0][: min(4, len(jobs[0]))])]
    for runner in runners.values():
        runner(warm[0])  # first runs allocate buffers and spin up the thread pool
    best: dict[str, Timed] = {}
    for round_no in range(rounds):
        for name, runner in runners.items():
            timed = _one_round(runner, jobs)
            if name not in best or timed.seconds < best[name].seconds:
                best[name] = timed
            if progress is not None:
                rate = sum(len(j) for j in jobs) / timed.seconds
                progress(f"  round {round_no + 1}/{rounds} {name}: {rate:.1f} pairs/s")
    return best


def _one_round(runner: Runner, jobs: Sequence[Sequence[Pair]]) -> Timed:
    latencies, logits = [], []
    tokens = computed = 0
    tokenizing = 0.0
    for pairs in jobs:
        started = time.perf_counter()
        stats = runner(pairs)
        latencies.append((time.perf_counter() - started) * 1000)
        logits.append(stats.logits)
        tokens += stats.tokens
        computed += stats.computed_tokens
        tokenizing += stats.tokenize_s
    return Timed(sum(latencies) / 1000, latencies, logits, tokens, computed, tokenizing)


def percentile(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if len(values) else None


def best_rate(action: Callable[[], object], work: float, repeats: int, min_seconds: float = 0.0) -> float:
    """Highest ``work / seconds`` over ``repeats`` calls (after one warm-up call)."""
    action()
    best = 0.0
    spent = 0.0
    done = 0
    while done < repeats or spent < min_seconds:
        started = time.perf_counter()
        action()
        elapsed = time.perf_counter() - started
        spent += elapsed
        done += 1
        best = max(best, work / elapsed)
    return best


def process_rss_mb(pid: int) -> tuple[float | None, float | None]:
    """Current and peak resident memory of a process in MiB (Linux ``/proc``; else psutil, current only)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            fields = dict(line.split(":", 1) for line in status if ":" in line)
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024
    except (OSError, KeyError, ValueError):
        pass
    try:
        import psutil

        return psutil.Process(pid).memory_info().rss / 2**20, None
    except Exception:
        return None, None


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)
