"""Progress of a long batch run: a tqdm bar on a terminal, plain lines otherwise.

tqdm is imported only when a bar is drawn, so it stays an optional extra
(``rerankq[batch]``); without it, or when stderr is not a terminal (CI logs,
cron), a short line is printed every ``defaults.PROGRESS_SECONDS``.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any

from producer import defaults


class Progress:
    """Counts records and pairs; shows records/s and pairs/s."""

    def __init__(self, stream: IO[str] | None = None, *, bar: bool | None = None,
                 interval: float = defaults.PROGRESS_SECONDS) -> None:
        self.stream = stream or sys.stderr
        self.want_bar = self.stream.isatty() if bar is None else bar
        self.interval = interval
        self.total = self.done = self.pairs = self.failed = self.new = 0
        self._bar: Any = None
        self._started = self._last_line = time.monotonic()

    def start(self, total: int, initial: int) -> None:
        self.total, self.done = total, initial
        self._started = self._last_line = time.monotonic()
        if self.want_bar:
            try:
                from tqdm import tqdm
            except ImportError:
                return
            self._bar = tqdm(total=total, initial=initial, unit="rec", file=self.stream, dynamic_ncols=True)

    def advance(self, records: int, pairs: int, failed: int) -> None:
        self.done += records
        self.new += records
        self.pairs += pairs
        self.failed = failed
        if self._bar is not None:
            self._bar.set_postfix(pairs_s=f"{self.pairs / self._elapsed():.0f}", failed=failed, refresh=False)
            self._bar.update(records)
            return
        now = time.monotonic()
        if now - self._last_line >= self.interval:
            self._last_line = now
            print(self.line(), file=self.stream, flush=True)

    def line(self) -> str:
        elapsed = self._elapsed()
        return (f"score-file: {self.done}/{self.total} records, {self.new / elapsed:.1f} records/s, "
                f"{self.pairs / elapsed:.0f} pairs/s, {self.failed} failed")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def _elapsed(self) -> float:
        return max(time.monotonic() - self._started, 1e-6)
