"""In-process runners: rerankq's scorer and the baselines it replaces, on one shared session.

Every runner feeds the same ONNX session the same pairs; they differ only in
how pairs become batches:

* rerankq: pair encoding, length-sorted micro-batches under a token budget;
* (a) one pair per ``session.run``, query and passage joined as one string, padded to 512;
* (b) batches of 32 in input order, each padded to its longest row;
* (c) a whole job in one ``session.run``, padded to its longest row.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from tokenizers import Tokenizer

from worker.bench.measure import Pair, Runner, RunStats
from worker.scorer import PairScorer

FIXED_BATCH = 32
JOINED_PAD = 512


def rerankq_runner(scorer: PairScorer) -> Runner:
    def run(pairs: Sequence[Pair]) -> RunStats:
        started = time.perf_counter()
        encodings = scorer.encode(pairs)
        tokenized = time.perf_counter() - started
        logits, widths, _ = scorer.run(encodings)
        return RunStats(logits, sum(len(e) for e in encodings), int(widths.sum()), tokenized)

    return run


def joined_string_runner(scorer: PairScorer, pad_to: int = JOINED_PAD) -> Runner:
    """Baseline (a): the replaced design, one ``query + " " + passage`` string per run, fixed length."""
    tokenizer = Tokenizer.from_str(scorer.model.tokenizer.to_str())
    tokenizer.no_padding()
    tokenizer.enable_truncation(min(pad_to, scorer.max_length))

    def run(pairs: Sequence[Pair]) -> RunStats:
        out = np.empty(len(pairs), dtype=np.float64)
        tokens = 0
        for i, (query, passage) in enumerate(pairs):
            encoding = tokenizer.encode(f"{query} {passage}")
            tokens += len(encoding)
            out[i] = scorer.run_rows([encoding], [0], width=pad_to)[0]
        return RunStats(out, tokens, pad_to * len(pairs))

    return run


def fixed_batch_runner(scorer: PairScorer, batch: int = FIXED_BATCH) -> Runner:
    """Baseline (b): input order, ``batch`` rows per run, each run padded to its longest row."""

    def run(pairs: Sequence[Pair]) -> RunStats:
        encodings = scorer.encode(pairs)
        out = np.empty(len(pairs), dtype=np.float64)
        computed = 0
        for start in range(0, len(pairs), batch):
            rows = list(range(start, min(start + batch, len(pairs))))
            width = max(len(encodings[i]) for i in rows)
            out[rows] = scorer.run_rows(encodings, rows, width=width)
            computed += width * len(rows)
        return RunStats(out, sum(len(e) for e in encodings), computed)

    return run


def whole_job_runner(scorer: PairScorer) -> Runner:
    """Baseline (c): every pair of the job in a single run, padded to the longest."""
    return fixed_batch_runner(scorer, batch=1 << 30)


def budget_runner(scorer: PairScorer, budget: int) -> Runner:
    """rerankq's scorer with another token budget (same session)."""
    return rerankq_runner(PairScorer(scorer.model, budget))


def max_abs_difference(reference: Sequence[np.ndarray], other: Sequence[np.ndarray]) -> float:
    """Largest |logit difference| between two runs over the same jobs."""
    return float(max(np.abs(a - b).max() for a, b in zip(reference, other, strict=True)))
