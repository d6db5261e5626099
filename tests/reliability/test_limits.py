"""Size limits are enforced before anything reaches Redis; over-limit requests leave no trace."""

from __future__ import annotations

import pytest
import redis

from producer import RequestValidationError, RerankClient
from producer.contract import Limits


def test_over_limit_requests_are_refused_at_submit(client: RerankClient, redis_url: str) -> None:
    conn = redis.Redis.from_url(redis_url)
    limits: Limits = client.limits
    queue = client.settings.queue
    before = set(conn.scan_iter("rq:job:*"))
    long_text = "x" * (limits.max_text_chars + 1)
    too_long = f"{len(long_text)} characters is over the limit"
    per_passage = limits.max_total_chars // limits.max_pairs + 1  # every text in range, the sum over it
    cases = [
        (lambda: client.submit("q", ["p"] * (limits.max_pairs + 1), request_id="too-many"), "pairs is over the limit"),
        (lambda: client.submit(long_text, ["p"]), f"query: {too_long}"),
        (lambda: client.submit("q", ["p", long_text]), f"passages[1]: {too_long}"),
        (lambda: client.submit_pairs([["q", "p"], ["q", long_text]]), f"pairs[1][1]: {too_long}"),
        (lambda: client.submit("q", ["y" * per_passage] * limits.max_pairs), "characters in all texts is over"),
        (lambda: client.submit_pairs([["q", "p"]] * (limits.max_pairs + 1)), "pairs is over the limit"),
    ]
    for submit, message in cases:
        with pytest.raises(RequestValidationError, match="invalid rerank request") as refused:
            submit()
        assert message in str(refused.value)
    for name in (queue, f"{queue}.high"):
        assert conn.llen(f"rq:queue:{name}") == 0
    new_jobs = set(conn.scan_iter("rq:job:*")) - before  # other tests share this Redis: look at origins
    assert not [k for k in new_jobs if (conn.hget(k, "origin") or b"").decode().startswith(queue)]
    assert not conn.exists("rq:job:too-many")
