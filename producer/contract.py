"""The job contract: what a rerank request and its result look like on the wire.

Pydantic lives here, at the boundary, and nowhere in the scorer. A request is
validated in the producer before anything is enqueued, and again by the worker,
because Redis is writable by other clients too.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, model_validator
from typing_extensions import TypedDict

from producer import defaults
from producer.errors import JobFailedError, RequestValidationError

REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


@dataclass(frozen=True)
class Limits:
    """Size limits that protect workers; producers and workers share one set."""

    max_pairs: int = defaults.MAX_PAIRS
    max_text_chars: int = defaults.MAX_TEXT_CHARS
    max_total_chars: int = defaults.MAX_TOTAL_CHARS


class RerankRequest(BaseModel):
    """One job: a query with passages, or explicit (query, passage) pairs.

    Exactly one of ``passages`` (with ``query``) or ``pairs`` is given. Results
    refer to inputs by index; nothing here is ever reordered or changed.
    """

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    query: str | None = None
    passages: list[str] | None = None
    pairs: list[list[str]] | None = None
    normalize: bool = True
    top_k: int | None = None
    return_text: bool = False
    model: str | None = None
    request_id: str | None = None
    submitted_at: float | None = None

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> RerankRequest:
        limits = (info.context or {}).get("limits") or Limits()
        if self.pairs is None:
            if self.passages is None:
                raise ValueError("give either 'query' and 'passages', or 'pairs'")
            _check_text("query", self.query, limits)
            if not self.passages:
                raise ValueError("passages: the list is empty; give at least one passage")
            for i, passage in enumerate(self.passages):
                _check_text(f"passages[{i}]", passage, limits)
        else:
            if self.query is not None or self.passages is not None:
                raise ValueError("give either 'query' and 'passages', or 'pairs', not both")
            if not self.pairs:
                raise ValueError("pairs: the list is empty; give at least one [query, passage] pair")
            for i, pair in enumerate(self.pairs):
                if len(pair) != 2:
                    raise ValueError(f"pairs[{i}]: must be exactly two strings [query, passage], got {len(pair)} items")
                _check_text(f"pairs[{i}][0]", pair[0], limits)
                _check_text(f"pairs[{i}][1]", pair[1], limits)
        count = self.pair_count
        if count > limits.max_pairs:
            raise ValueError(f"{count} pairs is over the limit of {limits.max_pairs} per job; split the request")
        total = self.total_chars
        if total > limits.max_total_chars:
            raise ValueError(
                f"{total} characters in all texts is over the limit of {limits.max_total_chars} per job; split the request"
            )
        if self.top_k is not None and self.top_k < 1:
            raise ValueError(f"top_k: must be at least 1, got {self.top_k}")
        if self.request_id is not None and not REQUEST_ID_PATTERN.match(self.request_id):
            raise ValueError("request_id: use 1-128 characters from A-Z a-z 0-9 _ -")
        return self

    @property
    def pair_count(self) -> int:
        return len(self.pairs) if self.pairs is not None else len(self.passages or [])

    @property
    def total_chars(self) -> int:
        if self.pairs is not None:
            return sum(len(q) + len(p) for q, p in self.pairs)
        return len(self.query or "") * len(self.passages or []) + sum(len(p) for p in self.passages or [])

    def iter_pairs(self) -> list[tuple[str, str]]:
        """The (query, passage) pairs in input order."""
        if self.pairs is not None:
            return [(q, p) for q, p in self.pairs]
        query = self.query or ""
        return [(query, p) for p in self.passages or []]

    def texts(self) -> list[str]:
        """The passage of each pair, by index (what ``return_text`` echoes back)."""
        return [p for _, p in self.iter_pairs()]


def _check_text(name: str, value: object, limits: Limits) -> None:
    if not isinstance(value, str):
        raise ValueError(f"{name}: must be a string, got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{name}: must not be empty or only whitespace")
    if len(value) > limits.max_text_chars:
        raise ValueError(
            f"{name}: {len(value)} characters is over the limit of {limits.max_text_chars}; shorten or split it"
        )


def validate_request(payload: Any, limits: Limits | None = None) -> RerankRequest:
    """A validated request, or ``RequestValidationError`` naming each bad field."""
    if isinstance(payload, RerankRequest):
        payload = payload.model_dump()
    if not isinstance(payload, dict):
        raise RequestValidationError(f"a rerank request must be a JSON object, got {type(payload).__name__}")
    try:
        return RerankRequest.model_validate(payload, context={"limits": limits or Limits()})
    except ValidationError as exc:
        raise RequestValidationError(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError) -> str:
    """One readable line per problem: ``field: what is wrong``."""
    lines = []
    for err in exc.errors(include_url=False):
        # A field name comes from the caller: quote any odd one, so an error stays one line.
        where = ".".join(p if isinstance(p, str) and p.isidentifier() else repr(p) for p in err.get("loc", ()))
        msg = err.get("msg", "invalid").removeprefix("Value error, ")
        lines.append(f"{where}: {msg}" if where else msg)
    return "invalid rerank request: " + "; ".join(lines)


class RankedPassage(TypedDict, total=False):
    """One entry of a ranking: the input index, its score, and optionally its text."""

    index: int
    score: float
    text: str


class Timings(BaseModel):
    """Where a job's time went, in milliseconds."""

    queued_ms: float = 0.0
    tokenize_ms: float = 0.0
    inference_ms: float = 0.0
    total_ms: float = 0.0


class RerankResult(BaseModel):
    """A finished job's result, stored as plain JSON under ``keys.result_key(job_id)``."""

    model_config = ConfigDict(extra="ignore")

    status: Literal["finished"] = "finished"
    job_id: str
    model: str
    normalized: bool
    scores: list[float]
    ranking: list[RankedPassage]
    worker: str
    timings: Timings = Field(default_factory=Timings)
    pairs: int = 0
    tokens: int = 0
    padded_tokens: int = 0
    finished_at: float = 0.0

    def to_json(self) -> str:
        return self.model_dump_json()


def build_ranking(scores: list[float], texts: list[str] | None, top_k: int | None) -> list[RankedPassage]:
    """Indices sorted by score (highest first, ties by input order), cut to ``top_k``."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    if top_k is not None:
        order = order[:top_k]
    ranking: list[RankedPassage] = []
    for i in order:
        entry: RankedPassage = {"index": i, "score": scores[i]}
        if texts is not None:
            entry["text"] = texts[i]
        ranking.append(entry)
    return ranking


def failure_document(job_id: str, error_type: str, message: str, worker: str, finished_at: float) -> str:
    """The JSON stored under the result key when a job fails for good."""
    return json.dumps(
        {
            "status": "failed",
            "job_id": job_id,
            "error": {"type": error_type, "message": message},
            "worker": worker,
            "finished_at": finished_at,
        }
    )


def decode_stored_result(job_id: str, raw: bytes | str) -> RerankResult:
    """Parse what a worker stored under the result key; a failure raises ``JobFailedError``."""
    data = json.loads(raw)
    if data.get("status") == "failed":
        error = data.get("error") or {}
        raise JobFailedError(job_id, error.get("message", "unknown error"), error.get("type", "JobFailed"))
    return RerankResult.model_validate(data)
