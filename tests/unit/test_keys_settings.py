"""Key names and the settings object."""

from __future__ import annotations

import pytest

from producer import defaults, keys
from producer.errors import ConfigError
from producer.settings import Settings


def test_key_names_are_stable() -> None:
    assert keys.result_key("abc") == "rerankq:result:abc"
    assert keys.queue_name("rerankq") == "rerankq"
    assert keys.queue_name("rerankq", high_priority=True) == "rerankq.high"
    assert keys.model_queue("rerankq", None) == "rerankq"
    assert keys.model_queue("rerankq", "bge-base") == "rerankq.bge-base"


def test_settings_from_env_and_overrides() -> None:
    env = {"RERANKQ_REDIS_URL": "redis://h:1/2", "RERANKQ_BATCH_TOKENS": "2048", "RERANKQ_MAX_PAIRS": "10",
           "RERANKQ_HEARTBEAT_INTERVAL": "0.5", "UNRELATED": "x"}
    s = Settings.from_env(env)
    assert s.redis_url == "redis://h:1/2"
    assert s.batch_tokens == 2048
    assert s.max_pairs == 10
    assert s.heartbeat_interval == 0.5
    assert s.queue == defaults.QUEUE
    t = s.with_overrides(queue="other", batch_tokens=None)
    assert t.queue == "other" and t.batch_tokens == 2048


def test_bad_number_in_env_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="RERANKQ_BATCH_TOKENS='lots' is not a number"):
        Settings.from_env({"RERANKQ_BATCH_TOKENS": "lots"})


def test_threads_default_to_cores_per_worker() -> None:
    assert Settings(workers_per_host=2).intra_op_threads(cpu_count=8) == 4
    assert Settings(workers_per_host=4).intra_op_threads(cpu_count=2) == 1
    assert Settings(threads=3).intra_op_threads(cpu_count=8) == 3
