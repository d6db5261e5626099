"""Property-based fuzzing of request validation: any JSON-ish payload validates or is refused clearly."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from producer.contract import Limits, RerankRequest, validate_request
from producer.errors import RequestValidationError
from producer.submission import request_payload

LIMITS = Limits(max_pairs=4, max_text_chars=12, max_total_chars=40)
"""Tiny limits, so random payloads cross every one of them often."""

EXAMPLES = 1000
FIELDS = ("query", "passages", "pairs", "normalize", "top_k", "return_text", "model", "request_id", "submitted_at")

scalars = st.none() | st.booleans() | st.integers(-3, 10**12) | st.floats(allow_nan=True) | st.text(max_size=16)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=8,
)
texts = st.text(max_size=14) | st.sampled_from(["", "   ", "\n", "ok", "x" * 13])
near_valid = st.fixed_dictionaries(
    {},
    optional={
        "query": texts | json_values,
        "passages": st.lists(texts, max_size=6) | json_values,
        "pairs": st.lists(st.lists(texts, min_size=1, max_size=3), max_size=6) | json_values,
        "normalize": st.booleans() | json_values,
        "top_k": st.integers(-2, 8) | json_values,
        "return_text": st.booleans(),
        "model": st.text(max_size=8) | st.none(),
        "request_id": st.text(max_size=10) | st.none(),
        "submitted_at": st.floats(allow_nan=False, allow_infinity=False) | st.none(),
        "surprise": json_values,
    },
)
words = st.text(alphabet="abc xyz-", min_size=1, max_size=14)
options = {"normalize": st.booleans(), "top_k": st.integers(-1, 6), "return_text": st.booleans(),
           "request_id": st.text(alphabet="ab1_.:-/", max_size=8), "model": st.sampled_from(["m1", "bge"])}
plausible = st.fixed_dictionaries(
    {"query": words, "passages": st.lists(words, min_size=1, max_size=5)}, optional=options
) | st.fixed_dictionaries({"pairs": st.lists(st.lists(words, min_size=2, max_size=2), min_size=1, max_size=5)},
                          optional=options)
payloads = json_values | near_valid | plausible | st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=5)

seen = {"examples": 0, "valid": 0, "refused": 0}


@settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(payloads)
def check(payload: object) -> None:
    seen["examples"] += 1
    try:
        request = validate_request(payload, LIMITS)
    except RequestValidationError as exc:
        seen["refused"] += 1
        message = str(exc)
        assert message.startswith(("invalid rerank request: ", "a rerank request must be a JSON object"))
        assert "\n" not in message and len(message) < 10_000
        return
    seen["valid"] += 1
    assert isinstance(request, RerankRequest)
    pairs = request.iter_pairs()
    assert 1 <= len(pairs) <= LIMITS.max_pairs
    assert all(isinstance(t, str) and t.strip() and len(t) <= LIMITS.max_text_chars for pair in pairs for t in pair)
    assert request.total_chars <= LIMITS.max_total_chars
    # What a producer enqueues is plain JSON that the worker validates to the same request.
    wire = json.loads(json.dumps(request_payload(request)))
    assert validate_request(wire, LIMITS) == request


def test_request_validation_never_crashes_on_arbitrary_payloads() -> None:
    check()
    print(f"\nfuzz: {seen['examples']} payloads, {seen['valid']} valid, {seen['refused']} refused with a clear error")
    assert seen["examples"] >= EXAMPLES * 0.9
    assert seen["valid"] > 0 and seen["refused"] > 0
