"""`rerankq bench` end to end on a tiny workload: every part runs and reports sane figures."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from worker.bench import targets, torch_run
from worker.bench.options import Plan
from worker.bench.report import table, write_json, write_png
from worker.bench.run import BenchConfig, run_bench

TINY = Plan(
    main_queries=1, passages=6, rounds=1, main_rounds=1, accuracy_queries=2, sweep_budgets=(256, 1024), sweep_passages=6,
    torch_pairs=4, e2e_big_jobs=1, producers=2, small_jobs=4, small_passages=3, overhead_jobs=2,
    overhead_passages=3, batch_jobs=2, reference_seconds=0.1, profile_runs=2,
)


@pytest.mark.slow
def test_tiny_bench_runs_every_part(redis_url: str, int8_dir: Path, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # As on CI, where torch is not installed: baseline (d) is skipped with a note, the rest runs.
    monkeypatch.setattr(torch_run, "missing_requirements", lambda: "baseline (d) skipped: torch not installed")
    lines: list[str] = []
    started = time.monotonic()
    config = BenchConfig(model_dir=None, int8_dir=str(int8_dir), threads=1, batch_tokens=1024, redis_url=redis_url,
                         skip=frozenset())
    result = run_bench(config, TINY, lambda line: lines.append(f"{time.monotonic() - started:6.1f}s {line}"))
    print(*lines, sep="\n")  # shown by pytest on failure: where the time went

    names = [m.name for m in result.measurements]
    for name in (targets.FP32, targets.INT8, targets.BASELINE_A, targets.BASELINE_B,
                 targets.BASELINE_C):
        assert name in names
    fp32, joined, whole = (result.find(n) for n in (targets.FP32, targets.BASELINE_A, targets.BASELINE_C))
    assert fp32.pairs == 6 and fp32.pairs_per_s > 0 and fp32.gflops > 0
    assert joined.computed_tokens == 6 * 512
    assert fp32.padding_efficiency >= whole.padding_efficiency > joined.padding_efficiency
    assert all(diff < 1e-3 for diff in result.agreement.values()) and len(result.agreement) == 2
    assert 0 < result.hardware["efficiency"] < result.hardware["efficiency_inference_only"] < 2
    # The ceiling: this workload's pairs/s at the MatMul rate (timing noise can put either side ahead).
    ceiling = result.hardware["matmul_gflops"] * 1e9 / (fp32.flops / fp32.pairs)
    assert result.hardware["ceiling_pairs_per_s"] == pytest.approx(ceiling, rel=1e-3)
    assert {(r["model"], r["budget"]) for r in result.sweep} == {(m, b) for m in ("fp32", "int8") for b in (256, 1024)}
    assert result.accuracy["queries"] == 2 and result.accuracy["spearman_min"] > 0.9
    assert set(result.loads) == {"no cache", "cache miss", "cache hit"}
    assert "MatMul" in result.profiles["fp32"] and result.profiles["int8"]
    assert any("baseline (d) skipped" in note for note in result.notes)

    e2e = [m for m in result.measurements if m.section == "end-to-end"]
    assert len(e2e) == 6
    assert all(m.rss_mb and m.rss_mb > 50 and m.pairs_per_s > 0 for m in e2e)
    small = [m for m in e2e if "3-passage" in m.name]
    assert all(m.pairs == 12 and len(m.latencies_ms) == 4 for m in small)
    assert result.overhead["jobs"] == 2 and result.overhead["e2e_p50_ms"] > 0
    assert {"e2e_over_inprocess_big", "cross_job_batching_speedup", "two_workers_over_one_big", "fp32_over_a",
            "int8_over_fp32"} <= set(result.ratios)

    assert len(result.targets) == 11
    measured = {t.name: t.measured for t in result.targets}
    assert measured["fp32 / CrossEncoder default batch (same weights)"] is None
    assert measured["padding efficiency, 100-passage jobs"] == pytest.approx(fp32.padding_efficiency)

    text = table(result)
    assert targets.FP32 in text and "targets:" in text and "int8 / fp32 throughput" in text
    saved = json.loads(write_json(result, tmp_path / "out" / "bench.json").read_text())
    assert saved["meta"]["model"] == "minilm-pair-demo" and len(saved["measurements"]) == len(names)
    png = write_png(result, tmp_path / "bench.png")
    assert png is not None and png.read_bytes()[:4] == b"\x89PNG"
