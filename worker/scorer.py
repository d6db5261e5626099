"""Scoring (query, passage) pairs with one loaded model.

Pairs are tokenized with the tokenizer's own pair encoding, sorted by length,
cut into micro-batches under a token budget (rows x padded length), each padded
only to its own longest row, and run through the session one micro-batch at a
time. Scores come back as plain floats in input order. The scorer never
mutates its inputs, never logs configuration and never touches the network.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from tokenizers import Encoding, Tokenizer

from producer.errors import ModelDirError
from worker.loading import LoadedModel, pad_token_id


@dataclass(frozen=True)
class ScoreReport:
    """Scores in input order plus what it cost to compute them."""

    scores: list[float]
    tokens: int
    padded_tokens: int
    batches: int
    tokenize_ms: float
    inference_ms: float


class ScoringError(RuntimeError):
    """The model failed at run time on a batch (the job fails, the worker goes on)."""


class PairScorer:
    """Scores pairs with one ONNX session; create once per process, reuse for every job."""

    def __init__(self, model: LoadedModel, batch_tokens: int) -> None:
        if batch_tokens < 1:
            raise ValueError("batch_tokens must be at least 1")
        self.model = model
        self.name = model.spec.name
        self.max_length = model.spec.max_length
        self.batch_tokens = batch_tokens
        self._session = model.session
        self._tokenizer = model.tokenizer
        # encode_batch_fast (tokenizers >= 0.20) skips character offsets, which scoring never reads.
        self._encode_batch = getattr(model.tokenizer, "encode_batch_fast", model.tokenizer.encode_batch)
        self._fallback = _longest_first_copy(model.tokenizer, model.spec.max_length)
        self._pad_id = pad_token_id(model.tokenizer)
        self._input_names = {i.name for i in model.session.get_inputs()}
        self._wants_types = "token_type_ids" in self._input_names
        self._wants_mask = "attention_mask" in self._input_names
        self._output_name = model.session.get_outputs()[0].name

    def encode(self, pairs: Sequence[tuple[str, str]]) -> list[Encoding]:
        """Pair encodings truncated to the model's max length, passage side first.

        A query so long that the passage cannot absorb the cut falls back to
        cutting both sides, pair by pair, instead of failing the whole job.
        """
        try:
            return self._encode_batch(list(pairs))
        except Exception:
            return [self._encode_one(pair) for pair in pairs]

    def _encode_one(self, pair: tuple[str, str]) -> Encoding:
        try:
            return self._tokenizer.encode(*pair)
        except Exception:
            return self._fallback.encode(*pair)

    def score(self, pairs: Sequence[tuple[str, str]], normalize: bool) -> ScoreReport:
        """Scores for ``pairs`` in their input order (sigmoid of the logit when ``normalize``)."""
        started = time.perf_counter()
        encodings = self.encode(pairs)
        tokenized = time.perf_counter()
        logits, widths, batches = self.run(encodings)
        finished = time.perf_counter()
        values = sigmoid(logits) if normalize else logits
        return ScoreReport(
            scores=values.tolist(),
            tokens=sum(len(e.ids) for e in encodings),
            padded_tokens=int(widths.sum()),
            batches=batches,
            tokenize_ms=(tokenized - started) * 1000,
            inference_ms=(finished - tokenized) * 1000,
        )

    def logits(self, encodings: Sequence[Encoding]) -> tuple[np.ndarray, int, int]:
        """Raw logits (float64, input order), tokens computed, and micro-batches run."""
        out, widths, batches = self.run(encodings)
        return out, int(widths.sum()), batches

    def run(self, encodings: Sequence[Encoding]) -> tuple[np.ndarray, np.ndarray, int]:
        """Raw logits (float64, input order), each row's padded width, and micro-batches run.

        A row's width is the length its micro-batch was padded to, so the
        widths of any subset of rows say what those rows cost (cross-job
        batching reports each job's share with it).
        """
        lengths = np.fromiter((len(e) for e in encodings), dtype=np.int64, count=len(encodings))
        out = np.empty(len(encodings), dtype=np.float64)
        widths = np.zeros(len(encodings), dtype=np.int64)
        batches = 0
        for rows in plan_batches(lengths, self.batch_tokens):
            width = int(lengths[rows[-1]])
            out[rows] = self.run_rows(encodings, rows, width)
            widths[rows] = width
            batches += 1
        return out, widths, batches

    def run_rows(self, encodings: Sequence[Encoding], rows: Sequence[int], width: int | None = None) -> np.ndarray:
        """Logits of ``encodings[rows]`` from one ``session.run``, padded to ``width`` (default: longest row)."""
        feed = self.feed(encodings, rows, width)
        try:
            raw = self._session.run([self._output_name], feed)[0]
        except Exception as exc:
            shape = "x".join(str(d) for d in feed["input_ids"].shape)
            raise ScoringError(f"model {self.name} failed on a batch of {shape} tokens: {exc}") from exc
        return positive_logit(np.asarray(raw), self.name)

    def feed(self, encodings: Sequence[Encoding], rows: Sequence[int], width: int | None = None) -> dict[str, np.ndarray]:
        """The session inputs for ``encodings[rows]``, padded to ``width`` (default: longest row)."""
        lengths = np.fromiter((len(encodings[i]) for i in rows), dtype=np.int64, count=len(rows))
        width = int(lengths.max()) if width is None else width
        ids = np.full((len(rows), width), self._pad_id, dtype=np.int64)
        feed = {"input_ids": ids}
        if self._wants_mask:
            feed["attention_mask"] = (np.arange(width) < lengths[:, None]).astype(np.int64)
        types = np.zeros((len(rows), width), dtype=np.int64) if self._wants_types else None
        for r, i in enumerate(rows):
            enc = encodings[i]
            n = int(lengths[r])
            ids[r, :n] = enc.ids
            if types is not None:
                types[r, :n] = enc.type_ids
        if types is not None:
            feed["token_type_ids"] = types
        return feed


def plan_batches(lengths: np.ndarray, batch_tokens: int) -> Iterator[list[int]]:
    """Row indices per micro-batch: shortest first, each batch within the token budget.

    Rows are taken in ascending length, so a batch's last row is its longest and
    ``rows x last length`` is what the batch costs. A row longer than the budget
    runs alone.
    """
    order = np.argsort(lengths, kind="stable").tolist()
    batch: list[int] = []
    for i in order:
        if batch and (len(batch) + 1) * int(lengths[i]) > batch_tokens:
            yield batch
            batch = []
        batch.append(i)
    if batch:
        yield batch


def positive_logit(raw: np.ndarray, model_name: str) -> np.ndarray:
    """One logit per row from outputs shaped [N], [N, 1] or [N, 2] (positive minus negative)."""
    if raw.ndim == 1:
        return raw.astype(np.float64)
    if raw.ndim == 2 and raw.shape[1] == 1:
        return raw[:, 0].astype(np.float64)
    if raw.ndim == 2 and raw.shape[1] == 2:
        # sigmoid(l1 - l0) equals softmax's probability of the positive class.
        return (raw[:, 1] - raw[:, 0]).astype(np.float64)
    raise ModelDirError(
        f"model {model_name} returned logits of shape {list(raw.shape)}; a reranker must return [N], [N, 1] or [N, 2]"
    )


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function, elementwise."""
    return 1.0 / (1.0 + np.exp(-x))


def _longest_first_copy(tokenizer: Tokenizer, max_length: int) -> Tokenizer:
    copy = Tokenizer.from_str(tokenizer.to_str())
    copy.no_padding()
    copy.enable_truncation(max_length, strategy="longest_first")
    return copy
