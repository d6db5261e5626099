"""`rerankq model quantize`: the int8 model it writes, and how closely it ranks like fp32."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from producer.errors import ModelDirError
from worker.bench.workload import rag_jobs
from worker.model_dir import resolve_model_dir
from worker.quantize import (
    QuantizeOptions,
    accuracy_report,
    first_down_projection,
    quantize_model_dir,
    spearman,
    top_k_agreement,
)
from worker.scorer import PairScorer


def test_int8_directory_is_a_loadable_model_with_int8_weights(int8_dir: Path) -> None:
    spec = resolve_model_dir(int8_dir)
    fp32 = resolve_model_dir(None)
    meta = json.loads((int8_dir / "rerankq.json").read_text())
    assert spec.name == "minilm-pair-demo-int8"
    assert meta["quantized"]["from"] == "minilm-pair-demo"
    assert meta["quantized"]["per_channel"] is True and meta["quantized"]["weight_type"] == "qint8"
    assert spec.max_length == fp32.max_length and spec.activation == fp32.activation
    assert (int8_dir / "tokenizer.json").read_bytes() == (fp32.directory / "tokenizer.json").read_bytes()
    ops = {node.op_type for node in onnx.load(str(spec.onnx_path), load_external_data=False).graph.node}
    assert "DynamicQuantizeLinear" in ops or "MatMulInteger" in ops
    # Linear weights shrink 4x; the (unquantized) embedding table keeps the file above a quarter.
    assert spec.onnx_path.stat().st_size < 0.75 * fp32.onnx_path.stat().st_size
    # The first down-projection stays fp32: it is still a plain MatMul on a float weight.
    kept = first_down_projection(fp32.onnx_path)
    assert kept
    graph = onnx.load(str(spec.onnx_path), load_external_data=False).graph
    assert any(n.name == kept[0] and n.op_type == "MatMul" for n in graph.node)


def test_int8_ranks_like_fp32_on_bench_passages(fp32_scorer: PairScorer, int8_scorer: PairScorer) -> None:
    jobs = [job.pairs[:30] for job in rag_jobs(2, 100)]
    report = accuracy_report(fp32_scorer, int8_scorer, jobs)
    assert report.pairs == 60 and report.queries == 2
    assert 0.0 < report.max_abs_delta < 2.0  # really a different model, but close (logits span ~20)
    assert report.spearman_min >= 0.97
    assert report.top5_agreement >= 0.8


def test_quantize_refuses_to_overwrite_or_write_into_its_input(int8_dir: Path) -> None:
    with pytest.raises(ModelDirError, match="exists"):
        quantize_model_dir(None, int8_dir, QuantizeOptions())
    with pytest.raises(ModelDirError, match="input directory"):
        quantize_model_dir(int8_dir, int8_dir, QuantizeOptions(), force=True)
    with pytest.raises(ModelDirError, match="weight type"):
        quantize_model_dir(None, int8_dir / "other", QuantizeOptions(weight_type="int4"))


def test_rank_agreement_measures() -> None:
    a = np.array([0.1, 0.5, 0.3, 0.9, 0.7, 0.2])
    assert spearman(a, a * 3 + 1) == pytest.approx(1.0)
    assert spearman(a, -a) == pytest.approx(-1.0)
    assert spearman(np.array([1.0, 1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0, 4.0])) == pytest.approx(0.9486833)
    assert top_k_agreement(a, a, 5) == 1.0
    swapped = a.copy()
    swapped[[3, 5]] = swapped[[5, 3]]  # the best and the second worst change places
    assert top_k_agreement(a, swapped, 3) == pytest.approx(2 / 3)
