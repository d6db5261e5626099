"""Request validation, ranking and result (de)serialization: no Redis needed."""

from __future__ import annotations

import json

import pytest

from producer.contract import (
    Limits,
    RerankResult,
    build_ranking,
    decode_stored_result,
    failure_document,
    validate_request,
)
from producer.errors import JobFailedError, RequestValidationError


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"query": "", "passages": ["a"]}, "query: must not be empty"),
        ({"query": "   ", "passages": ["a"]}, "query: must not be empty"),
        ({"query": 7, "passages": ["a"]}, "query"),
        ({"query": "q", "passages": []}, "passages: the list is empty"),
        ({"query": "q", "passages": ["ok", ""]}, "passages[1]: must not be empty"),
        ({"query": "q", "passages": ["ok", 3]}, "passages.1"),
        ({"query": "q"}, "give either 'query' and 'passages', or 'pairs'"),
        ({"pairs": [["q", "p"]], "query": "q"}, "not both"),
        ({"pairs": []}, "pairs: the list is empty"),
        ({"pairs": [["only one"]]}, "pairs[0]: must be exactly two strings"),
        ({"pairs": [["a", "b", "c"]]}, "pairs[0]: must be exactly two strings"),
        ({"pairs": [["a", ""]]}, "pairs[0][1]: must not be empty"),
        ({"query": "q", "passages": ["p"], "top_k": 0}, "top_k: must be at least 1"),
        ({"query": "q", "passages": ["p"], "colour": "red"}, "colour"),
        ({"query": "q", "passages": ["p"], "request_id": "has spaces"}, "request_id"),
    ],
)
def test_bad_requests_name_the_field(payload: dict, fragment: str) -> None:
    with pytest.raises(RequestValidationError) as err:
        validate_request(payload)
    assert fragment in str(err.value)


def test_non_object_payload_is_refused() -> None:
    with pytest.raises(RequestValidationError, match="must be a JSON object"):
        validate_request(["query", "passage"])


def test_limits_are_enforced_and_configurable() -> None:
    limits = Limits(max_pairs=3, max_text_chars=10, max_total_chars=25)
    with pytest.raises(RequestValidationError, match="4 pairs is over the limit of 3"):
        validate_request({"query": "q", "passages": ["a"] * 4}, limits)
    with pytest.raises(RequestValidationError, match=r"passages\[0\]: 11 characters is over the limit of 10"):
        validate_request({"query": "q", "passages": ["x" * 11]}, limits)
    with pytest.raises(RequestValidationError, match="characters in all texts is over the limit of 25"):
        validate_request({"query": "qqqqq", "passages": ["x" * 10, "y" * 10]}, limits)
    ok = validate_request({"query": "q", "passages": ["a", "b", "c"]}, limits)
    assert ok.pair_count == 3


def test_default_limits() -> None:
    with pytest.raises(RequestValidationError, match="1001 pairs is over the limit of 1000"):
        validate_request({"query": "q", "passages": ["p"] * 1001})
    with pytest.raises(RequestValidationError, match="20001 characters is over the limit of 20000"):
        validate_request({"query": "q", "passages": ["p" * 20_001]})


def test_pairs_and_query_forms_give_pairs_in_input_order() -> None:
    request = validate_request({"query": "q", "passages": ["a", "b"]})
    assert request.iter_pairs() == [("q", "a"), ("q", "b")]
    request = validate_request({"pairs": [["q1", "a"], ["q2", "b"]]})
    assert request.iter_pairs() == [("q1", "a"), ("q2", "b")]
    assert request.texts() == ["a", "b"]


def test_validation_does_not_mutate_input() -> None:
    payload = {"query": "q", "passages": ["b", "a"], "top_k": 1}
    snapshot = json.dumps(payload)
    validate_request(payload)
    assert json.dumps(payload) == snapshot


def test_ranking_sorted_by_score_with_ties_in_input_order_and_top_k() -> None:
    scores = [0.1, 0.9, 0.5, 0.9]
    ranking = build_ranking(scores, ["a", "b", "c", "d"], top_k=3)
    assert [r["index"] for r in ranking] == [1, 3, 2]
    assert [r["text"] for r in ranking] == ["b", "d", "c"]
    assert "text" not in build_ranking(scores, None, None)[0]
    assert len(build_ranking(scores, None, None)) == 4


def test_result_json_round_trip_has_plain_floats() -> None:
    result = RerankResult(
        job_id="j1", model="m", normalized=True, scores=[0.25, 0.75],
        ranking=build_ranking([0.25, 0.75], None, None), worker="w",
    )
    data = json.loads(result.to_json())
    assert data["status"] == "finished"
    assert data["scores"] == [0.25, 0.75]
    assert data["ranking"] == [{"index": 1, "score": 0.75}, {"index": 0, "score": 0.25}]
    assert set(data["timings"]) == {"queued_ms", "tokenize_ms", "inference_ms", "total_ms"}
    assert decode_stored_result("j1", result.to_json()) == result


def test_stored_failure_raises_with_reason() -> None:
    doc = failure_document("j2", "RequestValidationError", "query: must not be empty", "w", 0.0)
    with pytest.raises(JobFailedError, match="query: must not be empty") as err:
        decode_stored_result("j2", doc)
    assert err.value.error_type == "RequestValidationError"
