"""How close the scorer runs to the machine: useful FLOPs, a plain-MatMul ceiling, an op profile.

FLOP accounting (per pair of n real tokens, per encoder layer; 1 MAC = 2 FLOPs):

* linear layers: n * (4 h^2 + 2 h f) MACs (Q, K, V and output projections; the
  two feed-forward matrices), h = hidden size, f = feed-forward size;
* attention: 2 n^2 h MACs (scores Q K^T and the weighted sum of V).

Padding, embeddings, layer norms, softmax, GELU and the head are not counted:
they are overhead, not useful work. The ceiling is a graph of plain MatMuls
with one layer's linear shapes, run on ``tokens`` rows with the same threads.
"""

from __future__ import annotations

import collections
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from worker.bench.measure import best_rate
from worker.loading import SessionConfig, session_options


@dataclass(frozen=True)
class ModelShape:
    """The sizes that decide a BERT-style encoder's FLOPs."""

    layers: int
    hidden: int
    ffn: int

    def linear_flops_per_token(self) -> float:
        h, f = self.hidden, self.ffn
        return 2.0 * self.layers * (4 * h * h + 2 * h * f)

    def pair_flops(self, tokens: int) -> float:
        """Useful FLOPs of one pair of ``tokens`` real tokens."""
        return tokens * self.linear_flops_per_token() + 2.0 * self.layers * 2 * tokens * tokens * self.hidden

    def flops(self, lengths: Sequence[int]) -> float:
        n = np.asarray(lengths, dtype=np.float64)
        return float(n.sum() * self.linear_flops_per_token() + 4.0 * self.layers * self.hidden * (n * n).sum())


def infer_shape(onnx_path: Path) -> ModelShape | None:
    """Layers, hidden and feed-forward sizes read from the graph's weight shapes (``None`` if unclear).

    The hidden size is the width of the largest table (the word embeddings);
    the feed-forward size is the other side of the most frequent [h, f] or
    [f, h] weight with f > h; one such up-projection per layer.
    """
    try:
        import onnx
    except ImportError:
        return None
    model = onnx.load(str(onnx_path), load_external_data=False)
    dims = [tuple(int(d) for d in t.dims) for t in model.graph.initializer if len(t.dims) == 2]
    if not dims:
        return None
    hidden = max(dims, key=lambda d: d[0] * d[1])[1]
    others = collections.Counter(d[1] if d[0] == hidden else d[0] for d in dims
                                 if hidden in d and max(d) > hidden and max(d) != 3 * hidden)
    if not others:
        return None
    ffn, _ = others.most_common(1)[0]
    layers = sum(1 for d in dims if d == (hidden, ffn))
    return ModelShape(layers=layers, hidden=hidden, ffn=ffn) if layers else None


def matmul_reference(shape: ModelShape, tokens: int, threads: int, repeats: int = 20,
                     min_seconds: float = 0.5) -> float:
    """GFLOP/s of plain MatMuls with one layer's linear shapes on ``tokens`` rows."""
    from onnx import TensorProto, helper, numpy_helper

    h, f = shape.hidden, shape.ffn
    rng = np.random.default_rng(0)
    weights = {"wq": (h, h), "wk": (h, h), "wv": (h, h), "wo": (h, h), "wu": (h, f), "wd": (f, h)}
    inits = [numpy_helper.from_array((rng.standard_normal(s) * 0.05).astype(np.float32), n) for n, s in weights.items()]
    nodes = [helper.make_node("MatMul", ["x", w], [f"y{w}"]) for w in ("wq", "wk", "wv", "wo", "wu")]
    nodes.append(helper.make_node("MatMul", ["ywu", "wd"], ["ywd"]))
    outputs = [helper.make_tensor_value_info(f"y{w}", TensorProto.FLOAT, None) for w in ("wq", "wk", "wv", "wo", "wd")]
    graph = helper.make_graph(nodes, "linear_layer", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["m", h])],
                              outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    session = ort.InferenceSession(model.SerializeToString(), sess_options=session_options(SessionConfig(threads)),
                                   providers=["CPUExecutionProvider"])
    x = rng.standard_normal((tokens, h)).astype(np.float32)
    flops = 2.0 * tokens * (4 * h * h + 2 * h * f)
    return best_rate(lambda: session.run(None, {"x": x}), flops, repeats, min_seconds=min_seconds) / 1e9


def op_profile(model_path: Path, config: SessionConfig, feed: dict[str, np.ndarray], runs: int = 20) -> dict[str, float]:
    """Share of kernel time per operator type over ``runs`` runs of one batch (ONNX Runtime's profiler)."""
    with tempfile.TemporaryDirectory(prefix="rerankq-profile-") as tmp:
        options = session_options(config)
        options.enable_profiling = True
        options.profile_file_prefix = os.path.join(tmp, "profile")
        session = ort.InferenceSession(str(model_path), sess_options=options, providers=["CPUExecutionProvider"])
        names = {i.name for i in session.get_inputs()}
        feed = {k: v for k, v in feed.items() if k in names}
        for _ in range(runs):
            session.run(None, feed)
        events = json.loads(Path(session.end_profiling()).read_text())
    totals: collections.Counter[str] = collections.Counter()
    for event in events:
        if event.get("cat") == "Node" and event.get("name", "").endswith("_kernel_time"):
            totals[event.get("args", {}).get("op_name", "?")] += event.get("dur", 0)
    whole = sum(totals.values()) or 1
    return {op: round(t / whole, 4) for op, t in totals.most_common()}
