"""``rerankq bench``: every part of the benchmark in one run, on one machine, on the same pairs."""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from producer.settings import Settings
from worker.bench import inprocess, targets
from worker.bench.hardware import ModelShape, infer_shape, matmul_reference, op_profile
from worker.bench.measure import Measurement, Timed, time_interleaved
from worker.bench.options import Plan, plan_for
from worker.bench.report import BenchResult, table, write_json, write_png
from worker.bench.workload import Job, build_passages, rag_jobs
from worker.loading import SessionConfig, load_model
from worker.model_dir import ModelSpec, resolve_model_dir
from worker.quantize import QuantizeOptions, compare_scores, quantize_model_dir, quiet_quantizer_hint
from worker.scorer import PairScorer, plan_batches

Progress = Callable[[str], None]


@dataclass(frozen=True)
class BenchConfig:
    model_dir: str | None
    int8_dir: str | None
    threads: int
    batch_tokens: int
    redis_url: str
    skip: frozenset[str]


def run_command(args: argparse.Namespace, settings: Settings) -> int:
    settings = settings.with_overrides(model_dir=args.model_dir, redis_url=args.redis_url,
                                       batch_tokens=args.batch_tokens, threads=args.threads)
    config = BenchConfig(model_dir=settings.model_dir, int8_dir=args.int8_dir, threads=settings.intra_op_threads(),
                         batch_tokens=settings.batch_tokens, redis_url=settings.redis_url, skip=frozenset(args.skip))
    quiet_quantizer_hint()
    result = run_bench(config, plan_for(args), lambda line: print(line, flush=True))
    print()
    print(table(result))
    if args.json_path:
        print(f"\nwrote {write_json(result, args.json_path)}")
    if args.png_path:
        drawn = write_png(result, args.png_path)
        print(f"wrote {drawn}" if drawn else "no chart: matplotlib is not installed (pip install 'rerankq[bench]')")
    return 0


def run_bench(config: BenchConfig, plan: Plan, progress: Progress) -> BenchResult:
    began = time.monotonic()
    spec = resolve_model_dir(config.model_dir)
    pool = build_passages()
    main = rag_jobs(plan.main_queries, plan.passages, pool=pool)
    result = BenchResult(meta=_meta(config, plan, spec))
    progress(f"bench: {spec.name}, {config.threads} threads, budget {config.batch_tokens}; {len(pool)} passages built")
    session = SessionConfig(intra_op_threads=config.threads)
    with tempfile.TemporaryDirectory(prefix="rerankq-bench-") as tmp:
        result.loads = _loads(spec, config.threads, Path(tmp) / "graphs")
        fp32 = PairScorer(load_model(spec, session), config.batch_tokens)
        int8 = None if "int8" in config.skip else _int8(config, spec, Path(tmp) / "int8", session, result, progress)
        shape = infer_shape(spec.onnx_path)
        if shape is None:
            result.notes.append("hardware efficiency skipped: reading the model's shapes needs the onnx package "
                                "(pip install 'rerankq[quantize]') and a BERT-style encoder")
        lengths = _lengths(fp32)
        result.meta["workload"] += f", median {int(np.median(lengths(main)))} tokens per pair"
        reference = _reference(shape, config, plan) if shape else None
        if "sweep" not in config.skip:
            result.sweep = _sweep(fp32, int8, main[0].pairs[: plan.sweep_passages], plan, progress)
        timed = _in_process(result, fp32, int8, main, shape, lengths, plan, config, progress)
        if int8 is not None:
            # rag_jobs draws in order, so the first jobs of the longer list are the timed ones.
            _accuracy(result, fp32, int8, timed, rag_jobs(max(plan.accuracy_queries, len(main)), plan.passages,
                                                          pool=pool))
        if shape is not None and reference is not None:
            reference = max(reference, _reference(shape, config, plan))
            _hardware(result, shape, reference)
        if "torch" not in config.skip:
            from worker.bench.torch_run import run_torch

            run_torch(result, fp32, main[0].pairs[: plan.torch_pairs], Path(tmp) / "standard", plan, config.threads,
                      config.batch_tokens, progress)
        if "e2e" not in config.skip:
            _e2e(result, fp32, spec, config, plan, pool, shape, lengths, progress)
        if "profile" not in config.skip:
            result.profiles = _profiles(fp32, int8, main[0].pairs, session, plan.profile_runs)
    result.targets = targets.evaluate(result)
    result.meta["load_after"] = _load_average()
    result.meta["seconds"] = round(time.monotonic() - began, 1)
    return result


def _lengths(scorer: PairScorer) -> Callable[[Sequence[Job]], list[int]]:
    def lengths(jobs: Sequence[Job]) -> list[int]:
        return [len(e) for job in jobs for e in scorer.encode(job.pairs)]

    return lengths


def _in_process(result: BenchResult, fp32: PairScorer, int8: PairScorer | None, main: list[Job],
                shape: ModelShape | None, lengths, plan: Plan, config: BenchConfig, progress: Progress) -> dict[str, Timed]:
    progress(f"in process: {len(main)} jobs x {plan.passages} passages, {plan.main_rounds} rounds")
    runners = {targets.FP32: inprocess.rerankq_runner(fp32)}
    if int8 is not None:
        runners[targets.INT8] = inprocess.rerankq_runner(int8)
    if "baselines" not in config.skip:
        runners[targets.BASELINE_A] = inprocess.joined_string_runner(fp32)
        runners[targets.BASELINE_B] = inprocess.fixed_batch_runner(fp32)
        runners[targets.BASELINE_C] = inprocess.whole_job_runner(fp32)
    jobs = [job.pairs for job in main]
    timed = time_interleaved(runners, jobs, plan.main_rounds, progress)
    flops = shape.flops(lengths(main)) if shape else 0.0
    for name, t in timed.items():
        section = "baseline" if name.startswith("(") else "in-process"
        result.measurements.append(Measurement(name, section, sum(len(j) for j in jobs), t.seconds, t.tokens,
                                               t.computed_tokens, t.latencies_ms, flops=flops,
                                               tokenize_seconds=t.tokenize_s))
    rate = {name: result.find(name).pairs_per_s for name in timed}
    for key, name in (("fp32_over_a", targets.BASELINE_A), ("fp32_over_b", targets.BASELINE_B),
                      ("fp32_over_c", targets.BASELINE_C)):
        if name in rate:
            result.ratios[key] = rate[targets.FP32] / rate[name]
    if targets.INT8 in rate:
        result.ratios["int8_over_fp32"] = rate[targets.INT8] / rate[targets.FP32]
    for name in (targets.BASELINE_B, targets.BASELINE_C):
        if name in timed:  # same pair encodings, other batching: scores must agree
            diff = inprocess.max_abs_difference(timed[targets.FP32].logits, timed[name].logits)
            result.agreement[name] = diff
            result.notes.append(f"max |logit difference| {name.split(' ')[0]} vs rerankq: {diff:.2e}")
    return timed


def _accuracy(result: BenchResult, fp32: PairScorer, int8: PairScorer, timed: dict[str, Timed],
              jobs: list[Job]) -> None:
    """int8 against fp32 on the timed jobs (their first ``len(timed)`` queries) plus untimed further queries."""
    ref = list(timed[targets.FP32].logits)
    got = list(timed[targets.INT8].logits)
    for job in jobs[len(ref):]:
        ref.append(fp32.logits(fp32.encode(job.pairs))[0])
        got.append(int8.logits(int8.encode(job.pairs))[0])
    report = compare_scores(ref, got).to_dict()
    result.accuracy = {k: v for k, v in report.items() if k not in ("fp32_pairs_per_s", "int8_pairs_per_s", "speedup")}


def _hardware(result: BenchResult, shape: ModelShape, reference: float) -> None:
    whole = result.find(targets.FP32)
    inference = Measurement("inference only", "in-process", whole.pairs, whole.seconds - whole.tokenize_seconds,
                            flops=whole.flops) if whole else None
    result.hardware = {
        "shape": {"layers": shape.layers, "hidden": shape.hidden, "ffn": shape.ffn},
        "matmul_gflops": round(reference, 2),
        "scorer_gflops": round(whole.gflops or 0.0, 2) if whole else None,
        "efficiency": round((whole.gflops or 0.0) / reference, 4) if whole else None,
        "efficiency_inference_only": round((inference.gflops or 0.0) / reference, 4) if inference else None,
        "flop_accounting": "per token per layer 2*(4h^2 + 2hf) linear FLOPs, plus 4*n*h attention FLOPs "
                           "(n = real tokens of the pair); padding and non-matmul ops count as overhead",
    }


def _sweep(fp32: PairScorer, int8: PairScorer | None, pairs: list, plan: Plan, progress: Progress) -> list[dict]:
    progress(f"token budget sweep: {plan.sweep_budgets} on {len(pairs)} pairs")
    scorers = {"fp32": fp32} if int8 is None else {"fp32": fp32, "int8": int8}
    runners = {f"{label} {budget}": inprocess.budget_runner(s, budget)
               for label, s in scorers.items() for budget in plan.sweep_budgets}
    timed = time_interleaved(runners, [pairs], plan.rounds)
    rows = []
    for name, t in timed.items():
        label, budget = name.split(" ")
        rows.append({"model": label, "budget": int(budget), "pairs_per_s": round(len(pairs) / t.seconds, 2),
                     "padding_efficiency": round(t.tokens / t.computed_tokens, 4)})
    return rows


def _int8(config: BenchConfig, spec: ModelSpec, out: Path, session: SessionConfig, result: BenchResult,
          progress: Progress) -> PairScorer | None:
    if config.int8_dir:
        int8_spec = resolve_model_dir(config.int8_dir)
    elif importlib.util.find_spec("onnx") is None:
        note = "int8 skipped: quantizing needs the onnx package (pip install 'rerankq[quantize]') or --int8-dir"
        progress(note)
        result.notes.append(note)
        return None
    else:
        progress("quantizing the model to int8 (rerankq model quantize)")
        int8_spec = quantize_model_dir(spec.directory, out, QuantizeOptions())
    return PairScorer(load_model(int8_spec, session), config.batch_tokens)


def _loads(spec: ModelSpec, threads: int, cache_dir: Path) -> dict[str, float]:
    """Model load time without the optimized-graph cache, when filling it, and from it."""
    times = {}
    for label, cache in (("no cache", None), ("cache miss", str(cache_dir)), ("cache hit", str(cache_dir))):
        started = time.perf_counter()
        load_model(spec, SessionConfig(intra_op_threads=threads, graph_cache_dir=cache))
        times[label] = round(time.perf_counter() - started, 3)
    return times


def _e2e(result: BenchResult, fp32: PairScorer, spec: ModelSpec, config: BenchConfig, plan: Plan, pool: list[str],
         shape: ModelShape | None, lengths, progress: Progress) -> None:
    from worker.bench.e2e import bench_redis
    from worker.bench.scenarios import Workloads, run_e2e

    loads = Workloads(
        big=rag_jobs(plan.e2e_big_jobs, plan.passages, seed=11, pool=pool),
        small=rag_jobs(plan.small_jobs, plan.small_passages, seed=13, pool=pool),
        overhead=rag_jobs(plan.overhead_jobs, plan.overhead_passages, seed=17, pool=pool),
    )

    def flops(jobs: Sequence[Job]) -> float:
        return shape.flops(lengths(jobs)) if shape else 0.0

    with bench_redis(config.redis_url) as url:
        figures = run_e2e(url, fp32, str(spec.directory), config.threads, plan, loads, flops, progress)
    result.measurements += figures.measurements
    result.ratios.update(figures.ratios)
    result.overhead = figures.overhead


def _reference(shape: ModelShape, config: BenchConfig, plan: Plan) -> float:
    """The plain-MatMul ceiling (measured before and after the in-process part; the higher counts)."""
    repeats = max(3, int(plan.reference_seconds * 20))
    return matmul_reference(shape, config.batch_tokens, config.threads, repeats, plan.reference_seconds)


def _profiles(fp32: PairScorer, int8: PairScorer | None, pairs: list, session: SessionConfig, runs: int) -> dict:
    """Operator time shares on one typical micro-batch of each model."""
    profiles = {}
    for label, scorer in (("fp32", fp32), ("int8", int8)):
        if scorer is None:
            continue
        encodings = scorer.encode(pairs)
        batches = list(plan_batches(np.array([len(e) for e in encodings]), scorer.batch_tokens))
        feed = scorer.feed(encodings, batches[len(batches) // 2])
        profiles[label] = op_profile(scorer.model.spec.onnx_path, session, feed, runs)
    return profiles


def _meta(config: BenchConfig, plan: Plan, spec: ModelSpec) -> dict:
    import onnxruntime
    import tokenizers

    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_name(), "cores": os.cpu_count(), "threads": config.threads,
        "load_before": _load_average(), "model": spec.name, "model_dir": str(spec.directory),
        "batch_tokens": config.batch_tokens, "rounds": plan.rounds,
        "workload": f"{plan.main_queries} queries x {plan.passages} passages of 300-1,500 chars (stdlib docstrings)",
        "command": "rerankq " + " ".join(sys.argv[1:]) if sys.argv and "rerankq" in sys.argv[0] else "run_bench()",
        "python": platform.python_version(), "onnxruntime": onnxruntime.__version__,
        "tokenizers": tokenizers.__version__, "numpy": np.__version__,
    }


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"
