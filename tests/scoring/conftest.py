"""In-process scorers on the real bundled model and the tiny BGE-format test model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from worker.loading import SessionConfig, load_model
from worker.model_dir import resolve_model_dir
from worker.scorer import PairScorer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def make_scorer(model_dir: str | Path | None, batch_tokens: int = 1024) -> PairScorer:
    spec = resolve_model_dir(model_dir)
    return PairScorer(load_model(spec, SessionConfig(intra_op_threads=2)), batch_tokens)


@pytest.fixture(scope="session")
def default_scorer() -> PairScorer:
    return make_scorer(None)


@pytest.fixture(scope="session")
def xlmr_scorer() -> PairScorer:
    return make_scorer(FIXTURES / "tiny-xlmr")


@pytest.fixture(scope="session")
def minilm_reference() -> dict:
    return json.loads((FIXTURES / "minilm_reference.json").read_text())


@pytest.fixture(scope="session")
def xlmr_reference() -> dict:
    return json.loads((FIXTURES / "tiny_xlmr_reference.json").read_text())
