"""Scores from the real models through the worker's scorer, against PyTorch references.

The reference logits were computed by scripts/make_fixtures.py with PyTorch on
each pair alone (no padding), so any tokenization, truncation, padding or
batching bug shows up here as a difference far above the tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.scoring.conftest import make_scorer
from worker.scorer import PairScorer, plan_batches


def test_default_model_matches_pytorch_within_1e4(default_scorer: PairScorer, minilm_reference: dict) -> None:
    cases = minilm_reference["pairs"]
    assert len(cases) >= 50
    assert sum(c["truncated"] for c in cases) >= 5, "the fixture must include pairs longer than the max length"
    pairs = [(c["query"], c["passage"]) for c in cases]
    report = default_scorer.score(pairs, normalize=False)
    got = np.array(report.scores)
    want = np.array([c["logit"] for c in cases])
    assert np.max(np.abs(got - want)) < 1e-4
    assert report.tokens == sum(c["num_tokens"] for c in cases)


def test_tiny_xlmr_bge_format_matches_pytorch_within_1e3(xlmr_scorer: PairScorer, xlmr_reference: dict) -> None:
    cases = xlmr_reference["pairs"]
    pairs = [(c["query"], c["passage"]) for c in cases]
    got = np.array(xlmr_scorer.score(pairs, normalize=False).scores)
    want = np.array([c["logit"] for c in cases])
    assert np.std(want) > 1.0, "reference logits must spread, or the comparison proves nothing"
    assert any(c["truncated"] for c in cases)
    assert np.max(np.abs(got - want)) < 1e-3


def test_bge_format_feeds_no_token_type_ids(xlmr_scorer: PairScorer) -> None:
    names = {i.name for i in xlmr_scorer.model.session.get_inputs()}
    assert names == {"input_ids", "attention_mask"}
    tok = xlmr_scorer.model.tokenizer
    bos, eos = tok.token_to_id("<s>"), tok.token_to_id("</s>")
    enc = xlmr_scorer.encode([("a query", "a passage")])[0]
    assert enc.ids[0] == bos and enc.ids[-1] == eos
    assert enc.ids.count(eos) == 3  # <s> q </s></s> p </s>


def test_default_model_ranks_the_relevant_passage_first(default_scorer: PairScorer, minilm_reference: dict) -> None:
    cases = minilm_reference["ranking_cases"]
    assert len(cases) >= 6
    for case in cases:
        scores = default_scorer.score([(case["query"], p) for p in case["passages"]], normalize=True).scores
        assert int(np.argmax(scores)) == case["relevant_index"], case["query"]


@pytest.mark.parametrize("budget", [64, 512, 1024, 8192])
def test_scores_do_not_depend_on_batch_company(default_scorer: PairScorer, minilm_reference: dict, budget: int) -> None:
    cases = minilm_reference["pairs"]
    pairs = [(c["query"], c["passage"]) for c in cases]
    pairs = (pairs * 2)[:100]
    alone = [default_scorer.score([p], normalize=True).scores[0] for p in pairs[:12]]
    scorer = make_scorer(None, batch_tokens=budget)
    batched = scorer.score(pairs, normalize=True).scores
    assert np.max(np.abs(np.array(alone) - np.array(batched[:12]))) < 1e-4
    assert len(batched) == 100


def test_long_passage_is_cut_and_query_kept(default_scorer: PairScorer) -> None:
    query = "which ocean is the deepest"
    passage = "The Pacific Ocean holds the deepest trench on Earth. " * 200
    tok = default_scorer.model.tokenizer
    query_ids = tok.encode(query, add_special_tokens=False).ids
    enc = default_scorer.encode([(query, passage)])[0]
    assert len(enc.ids) == default_scorer.max_length
    assert enc.ids[: 2 + len(query_ids)] == [tok.token_to_id("[CLS]"), *query_ids, tok.token_to_id("[SEP]")]
    assert enc.ids[-1] == tok.token_to_id("[SEP]")


def test_overlong_query_is_scored_not_crashed(default_scorer: PairScorer) -> None:
    query = "why " * 600
    report = default_scorer.score([(query, "short passage"), ("short query", "short passage")], normalize=True)
    assert len(report.scores) == 2 and all(0 < s < 1 for s in report.scores)


def test_scores_are_plain_floats_in_input_order(default_scorer: PairScorer) -> None:
    pairs = [("q", "a much longer passage " * 20), ("q", "short"), ("q", "medium length passage " * 5)]
    forward = default_scorer.score(pairs, normalize=True).scores
    backward = default_scorer.score(pairs[::-1], normalize=True).scores
    assert all(type(s) is float for s in forward)
    assert forward == pytest.approx(backward[::-1], abs=1e-6)


def test_inputs_are_not_mutated(default_scorer: PairScorer) -> None:
    pairs = [("q", "b"), ("q", "a")]
    snapshot = list(pairs)
    default_scorer.score(pairs, normalize=True)
    assert pairs == snapshot


def test_micro_batches_respect_the_token_budget() -> None:
    lengths = np.array([30, 500, 12, 40, 40, 900, 7, 128])
    batches = list(plan_batches(lengths, 256))
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for rows in batches:
        widths = [int(lengths[i]) for i in rows]
        assert widths == sorted(widths)
        assert len(rows) == 1 or len(rows) * max(widths) <= 256
