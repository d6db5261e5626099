"""Fixtures for the speed machinery's tests: the bundled model in process and its int8 copy."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import REPO
from worker.loading import SessionConfig, load_model
from worker.model_dir import resolve_model_dir
from worker.scorer import PairScorer


@pytest.fixture(scope="session")
def fp32_scorer() -> PairScorer:
    return PairScorer(load_model(resolve_model_dir(None), SessionConfig(intra_op_threads=2)), 1024)


@pytest.fixture(scope="session")
def int8_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The bundled model quantized by the real command (no accuracy report: tests measure it themselves)."""
    out = tmp_path_factory.mktemp("int8") / "minilm-int8"
    done = subprocess.run(
        [sys.executable, "-m", "worker", "model", "quantize", "default", str(out), "--report-queries", "0"],
        cwd=REPO, capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout
    yield out


@pytest.fixture(scope="session")
def int8_scorer(int8_dir: Path) -> PairScorer:
    return PairScorer(load_model(resolve_model_dir(int8_dir), SessionConfig(intra_op_threads=2)), 1024)
