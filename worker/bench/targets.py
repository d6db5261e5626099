"""The speed targets rerankq holds itself to, checked against one bench run's figures."""

from __future__ import annotations

from worker.bench.report import BenchResult, Target

FP32 = "rerankq fp32, in process"
INT8 = "rerankq int8, in process"
BASELINE_A = "(a) one pair per run, joined string, padded to 512"
BASELINE_B = "(b) unsorted batches of 32, padded to longest"
BASELINE_C = "(c) whole job in one run"


GEMM_OPS = ("MatMul", "FusedMatMul", "Gemm", "FusedGemm", "MatMulInteger", "DynamicQuantizeMatMul")
INT8_PEAK_GAIN = 4.0
"""AVX-512 VNNI: one vpdpbusd does 64 int8 multiply-adds where one vfmadd does 16 fp32 ones."""


def physical_limits(result: BenchResult) -> dict[str, float]:
    """What the machine allows at best, so an unmet ratio can be told from a missed opportunity.

    * ceiling: pairs/s if every useful FLOP ran at the plain-MatMul rate (nothing else costs time);
    * int8 bound: Amdahl with the fp32 op profile, if the linear layers' share of time ran
      ``INT8_PEAK_GAIN`` times faster and everything else (attention, norms, GELU) stayed as it is.
    """
    limits: dict[str, float] = {}
    fp32 = result.find(FP32)
    reference = result.hardware.get("matmul_gflops")
    if fp32 is not None and fp32.flops and reference:
        limits["ceiling_pairs_per_s"] = reference * 1e9 / (fp32.flops / fp32.pairs)
    profile = result.profiles.get("fp32")
    shape = result.hardware.get("shape")
    if profile and shape and fp32 is not None and fp32.flops:
        linear = fp32.tokens * 2.0 * shape["layers"] * (4 * shape["hidden"] ** 2 + 2 * shape["hidden"] * shape["ffn"])
        quantizable = sum(profile.get(op, 0.0) for op in GEMM_OPS) * min(1.0, linear / fp32.flops)
        limits["int8_speedup_bound"] = 1.0 / ((1.0 - quantizable) + quantizable / INT8_PEAK_GAIN)
        limits["fp32_linear_time_share"] = quantizable
    return limits


def evaluate(result: BenchResult) -> list[Target]:
    r = result.ratios
    fp32 = result.find(FP32)
    acc = result.accuracy or {}
    over = result.overhead.get("median_overhead_ms") if result.overhead else None
    limits = physical_limits(result)
    result.hardware.update({k: round(v, 4) for k, v in limits.items()})
    ceiling = limits.get("ceiling_pairs_per_s")

    def at_most(name: str | None, rate: float | None = None) -> str:
        rate = rate if rate is not None else (result.find(name).pairs_per_s if name and result.find(name) else None)
        if not ceiling or not rate:
            return ""
        return f"at most {ceiling / rate:.2f}x even at 100% of the MatMul rate"

    ce_default, ce_best = _crossencoder_rates(result)
    outside = result.overhead.get("median_outside_worker_ms") if result.overhead else None
    bound = limits.get("int8_speedup_bound")
    return [
        Target("hardware efficiency (useful FLOP/s / plain MatMul)", result.hardware.get("efficiency"), 0.8,
               detail="stretch 0.9; whole scorer call incl. tokenization"),
        Target("end to end / in process, 100-passage jobs", r.get("e2e_over_inprocess_big"), 0.95),
        Target("queue overhead, 20-passage job, median ms", over, 5.0, higher_is_better=False,
               detail=f"submit-to-result minus the worker's own time: {outside:.1f} ms" if outside is not None else ""),
        Target("fp32 / (a) one pair padded to 512", r.get("fp32_over_a"), 4.0, detail=at_most(BASELINE_A)),
        Target("fp32 / (b) unsorted batch of 32", r.get("fp32_over_b"), 4.0, detail=at_most(BASELINE_B)),
        Target("fp32 / CrossEncoder default batch (same weights)", r.get("std_over_crossencoder_default"), 3.0,
               detail=at_most(None, ce_default)),
        Target("fp32 / CrossEncoder best batch (same weights)", r.get("std_over_crossencoder_best"), 2.0,
               detail=at_most(None, ce_best)),
        Target("int8 / fp32 throughput", r.get("int8_over_fp32"), 2.5,
               detail=f"Amdahl bound {bound:.2f}x (linear layers {limits['fp32_linear_time_share']:.0%} of fp32 time)"
               if bound else ""),
        Target("int8 Spearman per query (worst query)", acc.get("spearman_min"), 0.98),
        Target("int8 top-5 agreement", acc.get("top5_agreement"), 0.9),
        Target("padding efficiency, 100-passage jobs", fp32.padding_efficiency if fp32 else None, 0.95),
    ]


def _crossencoder_rates(result: BenchResult) -> tuple[float | None, float | None]:
    rates = {m.name: m.pairs_per_s for m in result.measurements if m.section == "torch"}
    if not rates:
        return None, None
    default = next((rate for name, rate in rates.items() if name.endswith("(default)")), None)
    return default, max(rates.values())
