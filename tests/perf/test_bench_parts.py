"""The pieces the bench is built from: workload, FLOP accounting, batching and its baselines."""

from __future__ import annotations

import numpy as np
import pytest

from worker.bench import inprocess
from worker.bench.hardware import ModelShape, infer_shape, matmul_reference
from worker.bench.workload import MAX_CHARS, MIN_CHARS, build_passages, rag_jobs
from worker.model_dir import resolve_model_dir
from worker.scorer import PairScorer, plan_batches


@pytest.fixture(scope="module")
def pool() -> list[str]:
    return build_passages()


def test_workload_is_real_deterministic_text_of_the_right_size(pool: list[str]) -> None:
    assert len(pool) >= 300 and len(set(pool)) == len(pool)
    assert all(MIN_CHARS <= len(p) <= MAX_CHARS for p in pool)
    assert all(p.count(" ") >= 30 for p in pool)  # sentences, not identifiers
    jobs = rag_jobs(3, 100, pool=pool)
    assert [j.query for j in jobs] == [j.query for j in rag_jobs(3, 100, pool=pool)]
    assert [j.passages for j in jobs] == [j.passages for j in rag_jobs(3, 100, pool=pool)]
    assert all(len(set(j.passages)) == 100 for j in jobs)
    assert build_passages() == pool


def test_flop_accounting_and_the_matmul_ceiling() -> None:
    shape = infer_shape(resolve_model_dir(None).onnx_path)
    assert shape == ModelShape(layers=6, hidden=384, ffn=1536)
    # 100 tokens: 6 layers x 2 x (4*384^2 + 2*384*1536) per token, plus 6 x 4 x 100^2 x 384 for attention.
    assert shape.pair_flops(100) == pytest.approx(100 * 6 * 2 * (4 * 384**2 + 2 * 384 * 1536) + 6 * 4 * 100**2 * 384)
    assert shape.flops([100, 50]) == pytest.approx(shape.pair_flops(100) + shape.pair_flops(50))
    assert matmul_reference(shape, tokens=64, threads=1, repeats=2) > 1.0


def test_micro_batches_stay_in_budget_and_report_each_rows_cost(fp32_scorer: PairScorer, pool: list[str]) -> None:
    pairs = rag_jobs(1, 24, pool=pool)[0].pairs
    encodings = fp32_scorer.encode(pairs)
    lengths = np.array([len(e) for e in encodings])
    for rows in plan_batches(lengths, 1024):
        assert len(rows) == 1 or len(rows) * lengths[rows].max() <= 1024
        assert list(lengths[rows]) == sorted(lengths[rows])
    logits, widths, batches = fp32_scorer.run(encodings)
    assert batches >= len(pairs) * lengths.mean() / 1024
    assert (widths >= lengths).all() and widths.sum() >= lengths.sum()
    total, padded, _ = fp32_scorer.logits(encodings)
    assert padded == widths.sum()
    np.testing.assert_array_equal(total, logits)


def test_baselines_score_the_same_pairs_at_a_higher_cost(fp32_scorer: PairScorer, pool: list[str]) -> None:
    pairs = rag_jobs(1, 40, pool=pool)[0].pairs[:16]
    ours = inprocess.rerankq_runner(fp32_scorer)(pairs)
    fixed = inprocess.fixed_batch_runner(fp32_scorer)(pairs)
    whole = inprocess.whole_job_runner(fp32_scorer)(pairs)
    joined = inprocess.joined_string_runner(fp32_scorer)(pairs[:2])
    # Same pair encodings, other batching: the same scores (padding is masked out).
    np.testing.assert_allclose(fixed.logits, ours.logits, atol=1e-4)
    np.testing.assert_allclose(whole.logits, ours.logits, atol=1e-4)
    assert ours.tokens == fixed.tokens == whole.tokens
    assert ours.computed_tokens < fixed.computed_tokens <= whole.computed_tokens
    assert ours.tokens / ours.computed_tokens >= 0.9
    assert joined.computed_tokens == 2 * 512 and len(joined.logits) == 2

