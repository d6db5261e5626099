"""``rerankq model quantize IN_DIR OUT_DIR``: dynamic int8 weights, with an accuracy report.

Weights of the linear layers become int8 (per output channel by default);
activations are quantized on the fly per batch, so no calibration data is
needed. The report scores the bench workload with both models and compares:
the largest |score difference|, Spearman rank correlation per query and top-5
agreement, plus the speed of each.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from producer.errors import ModelDirError
from worker.model_dir import ModelSpec, resolve_model_dir
from worker.scorer import PairScorer

if TYPE_CHECKING:
    from producer.settings import Settings

WEIGHT_TYPES = ("qint8", "quint8")

DEFAULT_OP_TYPES = ("MatMul", "Attention")
"""Linear layers only: quantizing the embedding Gather shrinks the file but costs accuracy and no time."""

FLOAT32 = 1
"""onnx.TensorProto.FLOAT, without importing onnx just for the constant."""

TARGET_SPEARMAN = 0.98
TARGET_TOP5 = 0.9


@dataclass(frozen=True)
class QuantizeOptions:
    """How weights are quantized (the defaults are what measured best on the bundled model)."""

    per_channel: bool = True
    weight_type: str = "qint8"
    reduce_range: bool = False
    op_types: tuple[str, ...] = DEFAULT_OP_TYPES
    keep_first_down_fp32: bool = True
    """Leave the first feed-forward down-projection in fp32: its input (the first GELU's output) has
    the widest activation range, and quantizing it cost the most rank agreement (docs/performance.md)."""


def quantize_model_dir(in_dir: str | Path | None, out_dir: str | Path, options: QuantizeOptions,
                       *, force: bool = False) -> ModelSpec:
    """Write an int8 copy of a model directory to ``out_dir`` and return its spec."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    if options.weight_type not in WEIGHT_TYPES:
        raise ModelDirError(f"weight type {options.weight_type!r} is not one of {', '.join(WEIGHT_TYPES)}")
    spec = resolve_model_dir(in_dir)
    out = Path(out_dir).expanduser()
    if out.resolve() == spec.directory.resolve():
        raise ModelDirError(f"output directory {out} is the input directory; choose a new directory")
    if (out / "model.onnx").exists() and not force:
        raise ModelDirError(f"{out / 'model.onnx'} exists; choose an empty directory or pass --force")
    out.mkdir(parents=True, exist_ok=True)
    weight_type = QuantType.QInt8 if options.weight_type == "qint8" else QuantType.QUInt8
    # Write next to the target and rename, so a failed run leaves no half-written model.onnx.
    with tempfile.TemporaryDirectory(dir=out, prefix=".quantize-") as tmp:
        staged = Path(tmp) / "model.onnx"
        excluded = first_down_projection(spec.onnx_path) if options.keep_first_down_fp32 else []
        try:
            quantize_dynamic(
                spec.onnx_path, staged, op_types_to_quantize=list(options.op_types), nodes_to_exclude=excluded,
                per_channel=options.per_channel, reduce_range=options.reduce_range, weight_type=weight_type,
                # Fused contrib ops (SkipLayerNormalization, BiasGelu) defeat ONNX shape inference;
                # every tensor they produce is float32.
                extra_options={"DefaultTensorType": FLOAT32},
            )
        except Exception as exc:
            raise ModelDirError(f"{spec.onnx_path} could not be quantized ({type(exc).__name__}: {exc})") from None
        staged.replace(out / "model.onnx")
    _copy_companions(spec, out, options)
    return resolve_model_dir(out)


def first_down_projection(onnx_path: Path) -> list[str]:
    """Name of the first MatMul whose weight narrows (e.g. 1536 -> 384), as a one-item list; [] if none."""
    import onnx

    model = onnx.load(str(onnx_path), load_external_data=False)
    shapes = {t.name: tuple(t.dims) for t in model.graph.initializer if len(t.dims) == 2}
    for node in model.graph.node:  # ONNX graphs list nodes in topological order
        weight = shapes.get(node.input[1]) if node.op_type == "MatMul" and len(node.input) > 1 else None
        if weight is not None and weight[0] > weight[1] and node.name:
            return [node.name]
    return []


def _copy_companions(spec: ModelSpec, out: Path, options: QuantizeOptions) -> None:
    """Tokenizer and config files travel unchanged; rerankq.json names the int8 model."""
    skip = {spec.onnx_path.name, "rerankq.json"}
    for item in spec.directory.iterdir():
        if item.is_file() and item.name not in skip and item.suffix not in (".onnx", ".onnx_data", ".data"):
            shutil.copyfile(item, out / item.name)
    meta_path = spec.directory / "rerankq.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
    meta.update(
        name=f"{spec.name}-int8",
        max_length=spec.max_length,
        activation=spec.activation,
        quantized={"method": "dynamic", "from": spec.name, **asdict(options), "op_types": list(options.op_types)},
    )
    (out / "rerankq.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


@dataclass(frozen=True)
class AccuracyReport:
    """int8 against fp32 on the same pairs."""

    queries: int
    pairs: int
    max_abs_delta: float
    mean_abs_delta: float
    spearman_min: float
    spearman_mean: float
    top5_agreement: float
    fp32_pairs_per_s: float
    int8_pairs_per_s: float

    @property
    def speedup(self) -> float:
        return self.int8_pairs_per_s / self.fp32_pairs_per_s if self.fp32_pairs_per_s else 0.0

    @property
    def meets_targets(self) -> bool:
        return self.spearman_min >= TARGET_SPEARMAN and self.top5_agreement >= TARGET_TOP5

    def lines(self) -> list[str]:
        return [
            f"pairs compared:      {self.pairs} ({self.queries} queries)",
            f"max |score delta|:   {self.max_abs_delta:.4f} (mean {self.mean_abs_delta:.4f}, raw logits)",
            f"Spearman per query:  min {self.spearman_min:.4f}, mean {self.spearman_mean:.4f} "
            f"(target >= {TARGET_SPEARMAN})",
            f"top-5 agreement:     {self.top5_agreement:.3f} (target >= {TARGET_TOP5})",
            f"speed:               fp32 {self.fp32_pairs_per_s:.1f} pairs/s, int8 {self.int8_pairs_per_s:.1f} pairs/s "
            f"({self.speedup:.2f}x)",
        ]

    def to_dict(self) -> dict:
        return {**asdict(self), "speedup": self.speedup, "meets_targets": self.meets_targets}


def compare_scores(fp32: Sequence[np.ndarray], int8: Sequence[np.ndarray], fp32_rate: float = 0.0,
                   int8_rate: float = 0.0) -> AccuracyReport:
    """Accuracy figures from per-query logits of both models (same pairs, same order)."""
    deltas = np.concatenate([np.abs(a - b) for a, b in zip(fp32, int8, strict=True)])
    rhos = [spearman(a, b) for a, b in zip(fp32, int8, strict=True)]
    top5 = [top_k_agreement(a, b, 5) for a, b in zip(fp32, int8, strict=True)]
    return AccuracyReport(
        queries=len(fp32), pairs=int(deltas.size), max_abs_delta=float(deltas.max()),
        mean_abs_delta=float(deltas.mean()), spearman_min=float(min(rhos)), spearman_mean=float(np.mean(rhos)),
        top5_agreement=float(np.mean(top5)), fp32_pairs_per_s=fp32_rate, int8_pairs_per_s=int8_rate,
    )


def accuracy_report(fp32: PairScorer, int8: PairScorer, jobs: Sequence[Sequence[tuple[str, str]]]) -> AccuracyReport:
    """Score every job with both scorers (alternating, so load on the machine hits both alike)."""
    fp32_logits, int8_logits = [], []
    seconds = {"fp32": 0.0, "int8": 0.0}
    for pairs in jobs:
        for label, scorer, sink in (("fp32", fp32, fp32_logits), ("int8", int8, int8_logits)):
            started = time.perf_counter()
            logits, _, _ = scorer.logits(scorer.encode(pairs))
            seconds[label] += time.perf_counter() - started
            sink.append(logits)
    total = sum(len(p) for p in jobs)
    return compare_scores(fp32_logits, int8_logits, total / seconds["fp32"], total / seconds["int8"])


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation (ties get their average rank)."""
    ra, rb = _ranks(np.asarray(a, dtype=np.float64)), _ranks(np.asarray(b, dtype=np.float64))
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = float(np.sqrt((ra * ra).sum() * (rb * rb).sum()))
    return float((ra * rb).sum() / denom) if denom else 1.0


def _ranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="stable")
    # Runs of equal values in sorted order share the mean of their positions.
    _, first, counts = np.unique(x[order], return_index=True, return_counts=True)
    ranks = np.empty(len(x), dtype=np.float64)
    ranks[order] = np.repeat(first + (counts - 1) / 2.0, counts)
    return ranks


def top_k_agreement(a: np.ndarray, b: np.ndarray, k: int) -> float:
    """Share of the top ``k`` by ``a`` that are also in the top ``k`` by ``b``."""
    k = min(k, len(a))
    top_a = set(np.argsort(-np.asarray(a), kind="stable")[:k].tolist())
    top_b = set(np.argsort(-np.asarray(b), kind="stable")[:k].tolist())
    return len(top_a & top_b) / k


def quiet_quantizer_hint() -> None:
    """For entry points: drop the quantizer's "consider pre-processing" line, printed on every run
    to the root logger; that pass (symbolic shape inference) does not apply to graphs with fused ops."""
    logging.getLogger().addFilter(lambda record: "pre-processing before quantization" not in record.getMessage())


def run_command(args: argparse.Namespace, settings: Settings) -> int:
    """``rerankq model quantize``: quantize, then print the accuracy report on the bench workload."""
    from worker.bench.workload import rag_jobs
    from worker.loading import SessionConfig, load_model

    quiet_quantizer_hint()
    in_dir = None if args.in_dir == "default" else args.in_dir
    options = QuantizeOptions(per_channel=not args.per_tensor, weight_type=args.weight_type,
                              keep_first_down_fp32=not args.all_layers)
    started = time.perf_counter()
    spec = quantize_model_dir(in_dir, args.out_dir, options, force=args.force)
    size = spec.onnx_path.stat().st_size / 2**20
    print(f"wrote {spec.onnx_path} ({size:.1f} MiB, model {spec.name}) in {time.perf_counter() - started:.1f}s")
    if args.report_queries <= 0:
        return 0
    config = SessionConfig.from_settings(settings)
    fp32 = PairScorer(load_model(resolve_model_dir(in_dir), config), settings.batch_tokens)
    int8 = PairScorer(load_model(spec, config), settings.batch_tokens)
    jobs = [job.pairs for job in rag_jobs(args.report_queries, 100)]
    print(f"accuracy against fp32 on the bench workload ({len(jobs)} queries x 100 passages):")
    report = accuracy_report(fp32, int8, jobs)
    for line in report.lines():
        print(f"  {line}")
    print("  targets met" if report.meets_targets else "  targets NOT met: keep the fp32 model for ranking quality")
    return 0
