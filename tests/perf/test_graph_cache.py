"""The optimized-graph cache: written once, reused on restart, never trusted when broken."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from producer.settings import Settings
from worker.loading import SessionConfig, load_model
from worker.model_dir import resolve_model_dir
from worker.scorer import PairScorer

PAIRS = [
    ("how do I compress a file", "The gzip module provides a simple interface to compress and decompress files."),
    ("how do I compress a file", "A calendar prints the days of a month in a grid, one week per line."),
]


def scores(model) -> np.ndarray:
    return np.asarray(PairScorer(model, 1024).score(PAIRS, normalize=False).scores)


def test_restart_loads_the_cached_graph_with_identical_scores(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spec = resolve_model_dir(None)
    config = SessionConfig(intra_op_threads=1, graph_cache_dir=str(tmp_path))
    caplog.set_level(logging.INFO, logger="worker.graph_cache")
    first = load_model(spec, config)
    cached = list(tmp_path.glob("*.onnx"))
    assert len(cached) == 1 and cached[0].name.startswith("minilm-pair-demo-")
    assert "optimized graph cached at" in caplog.text
    caplog.clear()
    again = load_model(spec, config)
    assert "optimized graph loaded from cache" in caplog.text
    np.testing.assert_allclose(scores(again), scores(first), atol=1e-6)
    # Another thread count is another key: graphs are never shared across settings that shape them.
    load_model(spec, SessionConfig(intra_op_threads=2, graph_cache_dir=str(tmp_path)))
    assert len(list(tmp_path.glob("*.onnx"))) == 2


def test_a_broken_cached_graph_is_replaced(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spec = resolve_model_dir(None)
    config = SessionConfig(intra_op_threads=1, graph_cache_dir=str(tmp_path))
    reference = scores(load_model(spec, SessionConfig(intra_op_threads=1)))
    load_model(spec, config)
    [cached] = tmp_path.glob("*.onnx")
    cached.write_bytes(b"not an onnx graph")
    model = load_model(spec, config)
    assert "unusable" in caplog.text
    np.testing.assert_allclose(scores(model), reference, atol=1e-6)
    assert cached.stat().st_size > 1_000_000  # written again, whole


def test_an_unusable_cache_directory_does_not_stop_the_worker(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    model = load_model(resolve_model_dir(None), SessionConfig(intra_op_threads=1, graph_cache_dir=str(blocker / "x")))
    assert len(scores(model)) == 2


def test_settings_place_or_disable_the_cache() -> None:
    assert SessionConfig.from_settings(Settings(graph_cache_dir="off")).graph_cache_dir is None
    assert SessionConfig.from_settings(Settings(graph_cache_dir="/srv/cache")).graph_cache_dir == "/srv/cache"
    assert Settings.from_env({"RERANKQ_GRAPH_CACHE_DIR": "/tmp/g"}).graph_cache_dir == "/tmp/g"
    assert SessionConfig.from_settings(Settings(threads=3)).intra_op_threads == 3
