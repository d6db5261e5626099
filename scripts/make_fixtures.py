"""Generate the test fixtures in tests/fixtures/ (build time only; needs torch, deterministic, offline).

- texts.json: the hand-written queries and passages (scripts/fixture_texts.py).
- minilm_reference.json: PyTorch logits of the bundled demo scorer (the same torch module that
  scripts/build_default_model.py exports) for real pairs, some truncated at 512 tokens, plus
  ranking cases on which the model must put the relevant passage first.
- tiny-xlmr/ + tiny_xlmr_reference.json: a tiny random XLM-R sequence classifier with its own small
  Unigram tokenizer, covering the BGE input format (<s> q </s></s> p </s>, no token_type_ids).

    HF_HUB_OFFLINE=1 python scripts/make_fixtures.py
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fixture_texts import LONG_QUERIES, TOPICS, ranking_cases
from pair_scorer_torch import load_scorer

REPO = Path(__file__).resolve().parents[1]
DEFAULT_FIXTURES = REPO / "tests" / "fixtures"
MINILM_DIR = REPO / "worker" / "models" / "minilm-pair"
SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # XLM-R ids 0..4; the tokenizer class hardcodes unk=3
TINY_META = {"name": "tiny-xlmr-test", "max_length": 128, "activation": "sigmoid"}

Pair = tuple[str, str]


def all_texts() -> dict[str, list[str]]:
    queries = [q for t in TOPICS.values() for q in t["queries"]] + [q for _, q in LONG_QUERIES]
    passages = [p for t in TOPICS.values() for p in t["short"] + t["paragraphs"]]
    passages += [" ".join(t["paragraphs"]) for t in TOPICS.values()]
    return {"queries": queries, "passages": passages}


def reference_pairs() -> list[Pair]:
    """Relevant and off-topic pairs of mixed length; every topic's joined paragraphs exceed 512 tokens."""
    names = list(TOPICS)
    pairs: list[Pair] = []
    for t, name in enumerate(names):
        topic, other = TOPICS[name], TOPICS[names[(t + 3) % len(names)]]
        for i, q in enumerate(topic["queries"]):
            pairs += [(q, topic["short"][i]), (q, topic["paragraphs"][i]), (q, other["paragraphs"][i + 1])]
        pairs.append((topic["queries"][0], " ".join(topic["paragraphs"])))
    for name, q in LONG_QUERIES:
        pairs += [(q, " ".join(TOPICS[name]["paragraphs"])), (q, TOPICS[name]["short"][1])]
    return pairs


def write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def minilm_fixture(out: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(MINILM_DIR))
    model = load_scorer()

    def logits(q: str, passages: list[str]) -> tuple[list[float], list[int]]:
        scores, counts = [], []
        for p in passages:  # one pair at a time, unpadded: the reference is free of batching effects
            enc = tokenizer(q, p, truncation="only_second", max_length=512, return_tensors="pt")
            with torch.no_grad():
                scores.append(float(model(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])[0, 0]))
            counts.append(int(enc["input_ids"].shape[1]))
        return scores, counts

    pairs = []
    for q, p in reference_pairs():
        (score,), (count,) = logits(q, [p])
        full = len(tokenizer(q, p)["input_ids"])
        pairs.append({"query": q, "passage": p, "logit": score, "num_tokens": count, "truncated": full > count})
    n_trunc = sum(p["truncated"] for p in pairs)
    n_long_q = sum(len(q.split()) >= 30 for q in {p["query"] for p in pairs})
    assert len(pairs) >= 60 and n_trunc >= 8 and n_long_q >= 2, (len(pairs), n_trunc, n_long_q)

    cases = ranking_cases()
    for case in cases:
        scores, _ = logits(case["query"], case["passages"])
        top = int(np.argmax(scores))
        print(f"  ranking: top={top} relevant={case['relevant_index']} margin="
              f"{scores[case['relevant_index']] - sorted(scores)[-2]:.2f}  {case['query'][:60]!r}")
        assert top == case["relevant_index"], f"model ranks a distractor first for {case['query']!r}"

    write_json(out / "minilm_reference.json", {
        "model_dir": "worker/models/minilm-pair",
        "max_length": 512,
        "encoding": 'tokenizer(query, passage, truncation="only_second", max_length=512), one pair, no padding',
        "pairs": pairs,
        "ranking_cases": cases,
    })
    print(f"minilm_reference.json: {len(pairs)} pairs ({n_trunc} truncated), {len(cases)} ranking cases all ok")

    onnx_path = MINILM_DIR / "model.onnx"
    if onnx_path.exists():  # cross-check the bundled export against the reference just written
        ort_model = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
        diffs = []
        for pair in pairs:
            enc = tokenizer(pair["query"], pair["passage"], truncation="only_second", max_length=512, return_tensors="np")
            feed = {k: enc[k].astype(np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")}
            diffs.append(abs(float(ort_model.run(["logits"], feed)[0][0, 0]) - pair["logit"]))
        print(f"  bundled model.onnx vs PyTorch reference: max |diff| = {max(diffs):.2e}")


def train_tiny_tokenizer(texts: list[str], out: Path):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import XLMRobertaTokenizerFast

    # Same pre-tokenization as XLMRobertaTokenizerFast builds, so trained pieces carry the "▁" marker.
    raw = Tokenizer(models.Unigram())
    raw.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")]
    )
    raw.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(vocab_size=1000, special_tokens=SPECIALS, unk_token="<unk>",
                                      show_progress=False)
    raw.train_from_iterator(texts, trainer=trainer)
    trained = json.loads(raw.to_str())["model"]["vocab"]
    assert [v[0] for v in trained[:5]] == SPECIALS, trained[:5]
    # Two run-to-run variations in the trainer output: scores wobble in the last bits (unordered
    # float sums), and the characters it appends at the end, each 1e-4 below the previous one,
    # come in hash order. Rounding, then handing the tail's scores out in character order, makes
    # the tokenizer (and so every tiny-xlmr fixture) byte-for-byte reproducible.
    scored = [(p, round(s, 6)) for p, s in trained]
    tail = len(scored) - 1
    while tail > 5 and abs(scored[tail - 1][1] - scored[tail][1] - 1e-4) < 1e-7:
        tail -= 1
    tail_scores = sorted((s for _, s in scored[tail:]), reverse=True)
    tail_pieces = sorted(p for p, _ in scored[tail:])
    head = sorted(scored[5:tail], key=lambda ps: (-ps[1], ps[0]))
    vocab = scored[:5] + head + list(zip(tail_pieces, tail_scores, strict=True))
    tokenizer = XLMRobertaTokenizerFast(vocab=vocab, model_max_length=TINY_META["max_length"])
    tokenizer.save_pretrained(str(out))
    tok_json = json.loads((out / "tokenizer.json").read_text(encoding="utf-8"))
    assert tok_json["padding"] is None and tok_json["truncation"] is None
    return XLMRobertaTokenizerFast.from_pretrained(str(out))


def export_tiny(model: torch.nn.Module, sample: dict[str, torch.Tensor], path: Path) -> str:
    names = ["input_ids", "attention_mask"]
    args = (sample["input_ids"], sample["attention_mask"])
    try:
        torch.onnx.export(model, args, str(path), dynamo=False, opset_version=17, input_names=names,
                          output_names=["logits"], dynamic_axes={k: {0: "batch", 1: "sequence"} for k in names}
                          | {"logits": {0: "batch"}})
        return "torchscript opset 17"
    except Exception as exc:
        print(f"  TorchScript export failed ({exc!r}); using dynamo opset 18")
    dim = torch.export.Dim
    shapes = {k: {0: dim("batch"), 1: dim("sequence", max=128)} for k in names}
    prog = torch.onnx.export(model, args, dynamo=True, opset_version=18, input_names=names,
                             output_names=["logits"], dynamic_shapes=shapes)
    prog.save(str(path), external_data=False)
    return "dynamo opset 18"


class _LogitsOnly(torch.nn.Module):
    """Expose a plain tensor output named `logits` instead of the HF output dataclass."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits


def tiny_xlmr_fixture(out: Path) -> None:
    from transformers import XLMRobertaConfig, XLMRobertaForSequenceClassification

    texts = all_texts()
    model_dir = out / "tiny-xlmr"
    model_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = train_tiny_tokenizer(texts["queries"] + texts["passages"], model_dir)

    torch.manual_seed(1234)
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer), hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=128, max_position_embeddings=130, type_vocab_size=1, num_labels=1,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, initializer_range=0.5,
    )
    config._attn_implementation = "eager"  # plain matmul attention exports cleanly
    model = XLMRobertaForSequenceClassification(config).eval()
    wrapped = _LogitsOnly(model).eval()

    pairs = reference_pairs()[::2][:40]
    rows, encs = [], []
    for q, p in pairs:
        enc = tokenizer(q, p, truncation="only_second", max_length=128, return_tensors="pt")
        with torch.no_grad():
            logit = float(wrapped(enc["input_ids"], enc["attention_mask"])[0, 0])
        full = len(tokenizer(q, p)["input_ids"])
        n = int(enc["input_ids"].shape[1])
        rows.append({"query": q, "passage": p, "logit": logit, "num_tokens": n, "truncated": full > n})
        encs.append(enc["input_ids"][0].numpy())
    spread = float(np.std([r["logit"] for r in rows]))
    n_trunc = sum(r["truncated"] for r in rows)
    print(f"tiny-xlmr: {len(rows)} pairs ({n_trunc} truncated), logit std {spread:.2f}")
    assert spread > 1.0 and n_trunc >= 4, (spread, n_trunc)

    width = max(len(e) for e in encs)
    ids = np.full((len(encs), width), tokenizer.pad_token_id, dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, e in enumerate(encs):
        ids[row, : len(e)] = e
        mask[row, : len(e)] = 1
    onnx_path = model_dir / "model.onnx"
    # Trace on a short padded batch so the checks below run at other widths than the trace saw.
    short = int(mask[:2].sum(axis=1).max())
    sample = {"input_ids": torch.from_numpy(ids[:2, :short]), "attention_mask": torch.from_numpy(mask[:2, :short])}
    print("  exported with", export_tiny(wrapped, sample, onnx_path))
    ort_model = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    assert [i.name for i in ort_model.get_inputs()] == ["input_ids", "attention_mask"]
    want = np.array([r["logit"] for r in rows])
    batched = ort_model.run(["logits"], {"input_ids": ids, "attention_mask": mask})[0][:, 0]
    singles = [{"input_ids": e[None].astype(np.int64), "attention_mask": np.ones((1, len(e)), np.int64)} for e in encs]
    alone = [ort_model.run(["logits"], feed)[0][0, 0] for feed in singles]
    diff = float(max(np.abs(batched - want).max(), np.abs(np.array(alone) - want).max()))
    print(f"  onnxruntime (right-padded mixed batch, and each pair alone) vs PyTorch: max |diff| = {diff:.2e}; "
          f"model.onnx {onnx_path.stat().st_size / 1e6:.2f} MB")
    assert diff < 1e-3 and onnx_path.stat().st_size < 2_000_000

    write_json(model_dir / "rerankq.json", TINY_META)
    write_json(out / "tiny_xlmr_reference.json", {
        "model_dir": "tests/fixtures/tiny-xlmr",
        "max_length": 128,
        "encoding": 'tokenizer(query, passage, truncation="only_second", max_length=128), one pair, no padding',
        "pairs": rows,
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_FIXTURES, help="fixtures directory")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "texts.json", all_texts())
    minilm_fixture(out)
    tiny_xlmr_fixture(out)
    print(f"fixtures written to {out}")


if __name__ == "__main__":
    main()
