"""The state one worker process keeps between jobs: its scorer and settings.

RQ calls job functions by name, so the loaded model cannot be passed as an
argument; it is installed here once, after the process started, and read by
every job. A process that never installed one refuses jobs with a clear error.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from producer.contract import Limits
from producer.settings import Settings
from worker.scorer import PairScorer


@dataclass
class WorkerContext:
    """What jobs in this process share."""

    scorer: PairScorer
    settings: Settings
    worker_name: str
    loaded_at: float = field(default_factory=time.time)
    pid: int = field(default_factory=os.getpid)

    @property
    def limits(self) -> Limits:
        s = self.settings
        return Limits(max_pairs=s.max_pairs, max_text_chars=s.max_text_chars, max_total_chars=s.max_total_chars)


_context: WorkerContext | None = None


def install(context: WorkerContext) -> None:
    """Make ``context`` the one every job in this process uses."""
    global _context
    _context = context


def current() -> WorkerContext:
    """The installed context; jobs run outside a rerankq worker fail with a clear message."""
    if _context is None or _context.pid != os.getpid():
        raise RuntimeError(
            "no rerank model is loaded in this process; run jobs with `rerankq worker`, not a plain `rq worker`"
        )
    return _context
