"""The bench's part (d): CrossEncoder.predict against rerankq on the same weights, same pairs, same threads."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

from worker.bench import inprocess
from worker.bench.measure import Measurement, time_interleaved
from worker.bench.options import Plan
from worker.bench.report import BenchResult
from worker.bench.torch_baseline import CrossEncoderBaseline, build_standard_models, missing_requirements
from worker.loading import SessionConfig, load_model
from worker.model_dir import resolve_model_dir
from worker.scorer import PairScorer

STD_RERANKQ = "rerankq fp32, standard MiniLM-L6 cross-encoder (fused ONNX)"
BUNDLED_SAME_PAIRS = "rerankq fp32, bundled model, same pairs as CrossEncoder"


def crossencoder_name(batch_size: int, default: int) -> str:
    return f"(d) CrossEncoder.predict, torch, batch {batch_size}" + (" (default)" if batch_size == default else "")


def run_torch(result: BenchResult, bundled: PairScorer, pairs: list, work_dir: Path, plan: Plan, threads: int,
              batch_tokens: int, progress: Callable[[str], None]) -> None:
    reason = missing_requirements()
    if reason:
        progress(reason)
        result.notes.append(reason)
        return
    progress("baseline (d): building the standard cross-encoder from the same weights (torch + ONNX export)")
    try:
        with _quiet():
            models = build_standard_models(work_dir)
            crossencoder = CrossEncoderBaseline(models.torch_dir, threads)
    except Exception as exc:  # an optional part: a broken torch install must not sink the whole bench
        note = f"baseline (d) skipped: building the standard cross-encoder failed ({type(exc).__name__}: {exc})"
        progress(note)
        result.notes.append(note)
        return
    standard = PairScorer(load_model(resolve_model_dir(models.onnx_dir), SessionConfig(intra_op_threads=threads)),
                          batch_tokens)
    sizes = sorted(set(plan.torch_batch_sizes) | {crossencoder.default_batch_size}, reverse=True)
    default = crossencoder.default_batch_size
    runners = {STD_RERANKQ: inprocess.rerankq_runner(standard), BUNDLED_SAME_PAIRS: inprocess.rerankq_runner(bundled)}
    runners.update({crossencoder_name(size, default): crossencoder.runner(size) for size in sizes})
    progress(f"baseline (d): {len(pairs)} pairs, CrossEncoder batch sizes {sizes}, {plan.rounds} rounds")
    with _quiet():
        timed = time_interleaved(runners, [pairs], plan.rounds, progress)
    for name, t in timed.items():
        section = "torch" if name.startswith("(d)") else "in-process"
        result.measurements.append(Measurement(name, section, len(pairs), t.seconds, t.tokens, t.computed_tokens,
                                               t.latencies_ms, note="standard cross-encoder graph"
                                               if name != BUNDLED_SAME_PAIRS else "bundled graph"))
    rate = {name: len(pairs) / t.seconds for name, t in timed.items()}
    ce_rates = {size: rate[crossencoder_name(size, default)] for size in sizes}
    best_size = max(ce_rates, key=ce_rates.get)
    result.ratios["std_over_crossencoder_default"] = rate[STD_RERANKQ] / ce_rates[default]
    result.ratios["std_over_crossencoder_best"] = rate[STD_RERANKQ] / ce_rates[best_size]
    result.ratios["bundled_over_crossencoder_default"] = rate[BUNDLED_SAME_PAIRS] / ce_rates[default]
    result.ratios["bundled_over_crossencoder_best"] = rate[BUNDLED_SAME_PAIRS] / ce_rates[best_size]
    agreement = inprocess.max_abs_difference(timed[STD_RERANKQ].logits, timed[crossencoder_name(default, default)].logits)
    fused = ", ".join(f"{k} {v}" for k, v in models.fusions.items())
    result.notes.append(f"CrossEncoder best batch size {best_size}; rerankq and CrossEncoder logits agree within "
                        f"{agreement:.1e} on the standard graph (ORT fusions: {fused})")


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the export's tracer warnings and transformers' progress bars; they are not bench output."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:
        hf_logging = None
    previous = hf_logging.get_verbosity() if hf_logging else None
    if hf_logging:
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        if hf_logging:
            hf_logging.set_verbosity(previous)
            hf_logging.enable_progress_bar()
