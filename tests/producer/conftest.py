"""Fixtures of the producer-side tests: one default-model worker shared by the whole package.

Starting a worker loads a model (seconds on a busy 2-core machine), so the tests
here share one worker on one package queue and clean that queue up at the end.
Tests that need other workers start them with ``spawn_worker``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from producer import RerankClient, Settings
from tests.conftest import FIXTURES, drop_queue_keys
from tests.support import WorkerProcess

SECOND_MODEL_DIR = FIXTURES / "tiny-xlmr"
"""A second model (random tiny XLM-R) to route to; its rerankq.json names it SECOND_MODEL."""

SECOND_MODEL = "tiny-xlmr-test"
DEFAULT_MODEL = "minilm-pair-demo"


@pytest.fixture(scope="package")
def shared_queue(redis_url: str) -> Iterator[str]:
    name = f"test-producer-{uuid.uuid4().hex[:8]}"
    yield name
    drop_queue_keys(redis_url, name)


@pytest.fixture(scope="package")
def spawn_worker(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """Start a real ``rerankq worker`` on a given queue; all are stopped at the end of the package."""
    started: list[WorkerProcess] = []
    logs = tmp_path_factory.mktemp("worker-logs")

    def spawn(queue: str, *extra: str) -> WorkerProcess:
        proc = WorkerProcess.start(redis_url, queue, logs / f"worker-{len(started)}.log", extra=list(extra))
        started.append(proc)
        proc.wait_ready()
        return proc

    yield spawn
    for proc in started:
        proc.stop()


@pytest.fixture(scope="package")
def shared_worker(spawn_worker, shared_queue: str) -> WorkerProcess:
    """The one default-model worker on ``shared_queue`` (serves its base and model queues)."""
    return spawn_worker(shared_queue)


@pytest.fixture
def shared_settings(redis_url: str, shared_queue: str) -> Settings:
    return Settings(redis_url=redis_url, queue=shared_queue)


@pytest.fixture
def shared_client(shared_settings: Settings, shared_worker: WorkerProcess) -> RerankClient:
    return RerankClient(settings=shared_settings)


TOPICS = [
    ("How do I bake sourdough bread?", "Sourdough bread is baked from a fermented starter of flour and water."),
    ("What causes the seasons on Earth?", "The tilt of Earth's axis toward the Sun causes summer and winter."),
    ("How do vaccines train the immune system?", "Vaccines teach immune cells to recognise a harmless piece of a virus."),
]
"""Three unrelated (query, relevant passage) pairs: each passage is relevant to its own query only."""


def rotated_request(i: int) -> tuple[str, list[str], int]:
    """Query ``i % 3`` with all three passages rotated by ``i // 3``; returns the relevant index too."""
    topic, shift = i % 3, (i // 3) % 3
    passages = [TOPICS[(k + shift) % 3][1] for k in range(3)]
    return TOPICS[topic][0], passages, (topic - shift) % 3
