"""``rerankq score-file``: score a JSONL file of rerank records through the queue.

Input: one JSON object per line, ``{"id"?, "query", "passages", "top_k"?,
"normalize"?, "return_text"?, "model"?}`` (or ``"pairs"`` instead of query and
passages); blank lines are skipped. Output: one line per input record, in input
order, ``{"line", "id"?, "job_id", "model", "scores", "ranking"}`` or, for a
record that failed, ``{"line", "id"?, "error": {"type", "message"}}``.

A bounded window of records is in flight at once. Every output line is flushed
as soon as it and all records before it are done, so a rerun with the same
output file skips what is already there and goes on; a torn last line is cut.
Each record's request id is derived from its content, so records that were in
flight when a run stopped find their earlier jobs (and results) on the rerun.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from producer import defaults
from producer.client import RerankClient
from producer.completion import Completed, ResultWatcher
from producer.errors import ConfigError, NoWorkerError, RequestValidationError
from producer.jobs import BLOCK_SECONDS

RECORD_FIELDS = ("id", "query", "passages", "pairs", "top_k", "normalize", "return_text", "model")


@dataclass
class Slot:
    """One input record on its way to the output file."""

    line: int
    record_id: Any = None
    payload: dict | None = None
    job_id: str | None = None
    deadline: float = 0.0
    pairs: int = 0
    output: dict | None = None  # set once the record is done, then written in order


@dataclass
class Summary:
    """What one run did, and what the whole output file holds."""

    records: int = 0
    skipped: int = 0
    written: int = 0
    failed: int = 0
    failed_before: int = 0
    pairs: int = 0
    seconds: float = 0.0
    failures: list[tuple[int, str]] = field(default_factory=list)

    @property
    def any_failed(self) -> bool:
        return bool(self.failed or self.failed_before)


def read_records(path: Path) -> Iterator[Slot]:
    """Slots for the non-blank lines of ``path``; unusable lines come out already failed."""
    try:
        file = path.open(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    with file:
        for number, text in enumerate(file, start=1):
            if text.strip():
                yield parse_record(number, text)


def parse_record(line: int, text: str) -> Slot:
    try:
        data = json.loads(text)
    except ValueError as exc:
        return _failed(Slot(line), "InvalidRecord", f"line {line} is not JSON: {exc}")
    if not isinstance(data, dict):
        return _failed(Slot(line), "InvalidRecord", f"line {line}: a record must be a JSON object")
    slot = Slot(line, record_id=data.pop("id", None))
    unknown = sorted(set(data) - set(RECORD_FIELDS))
    if unknown:
        return _failed(slot, "InvalidRecord", f"unknown fields {', '.join(unknown)}; use {', '.join(RECORD_FIELDS)}")
    slot.payload = data
    return slot


def count_records(path: Path) -> int:
    with path.open("rb") as file:
        return sum(1 for text in file if text.strip())


def resume_point(out_path: Path) -> tuple[int, int, int | None, list[tuple[int, str]]]:
    """Records already in ``out_path``: count, failed count, last input line, failures.

    A torn last line (a run killed mid-write) is cut off so the file ends cleanly.
    """
    if not out_path.exists():
        return 0, 0, None, []
    done = failed = 0
    last_line: int | None = None
    failures: list[tuple[int, str]] = []
    good_end = 0
    with out_path.open("rb") as file:
        for raw in file:
            if not raw.endswith(b"\n"):
                break
            try:
                entry = json.loads(raw)
                last_line = int(entry["line"])
            except (ValueError, KeyError, TypeError):
                raise ConfigError(
                    f"{out_path} line {done + 1} is not a score-file output record; pass a new output file"
                ) from None
            done += 1
            if "error" in entry:
                failed += 1
                failures.append((last_line, str(entry["error"].get("message", ""))))
            good_end += len(raw)
    if good_end < out_path.stat().st_size:
        with out_path.open("rb+") as file:
            file.truncate(good_end)
    return done, failed, last_line, failures


def request_id_for(slot: Slot, model: str | None, priority: str) -> str:
    """A content-derived request id: a rerun of the same record finds the earlier job."""
    canonical = json.dumps([slot.payload, model, priority], sort_keys=True, ensure_ascii=False)
    return "score-file-" + hashlib.sha256(canonical.encode()).hexdigest()[:40]


class ScoreFile:
    """One ``score-file`` run; ``run()`` returns its ``Summary``."""

    def __init__(
        self,
        client: RerankClient,
        in_path: Path,
        out_path: Path,
        *,
        window: int = defaults.SCORE_FILE_WINDOW,
        timeout: float = defaults.SCORE_FILE_TIMEOUT,
        model: str | None = None,
        priority: str = "normal",
        progress: Any = None,
    ) -> None:
        if window < 1:
            raise ConfigError(f"--window must be at least 1, got {window}")
        self.client = client
        self.in_path, self.out_path = in_path, out_path
        self.window, self.timeout = window, timeout
        self.model, self.priority = model, priority
        self.progress = progress
        self.watcher = ResultWatcher(client.connection)
        self.slots: deque[Slot] = deque()
        self.by_job: dict[str, list[Slot]] = {}
        self.summary = Summary()

    def run(self) -> Summary:
        started = time.monotonic()
        skip, failed_before, last_line, failures = resume_point(self.out_path)
        self.summary.skipped, self.summary.failed_before = skip, failed_before
        self.summary.failures = failures
        self.summary.records = count_records(self.in_path)
        records = read_records(self.in_path)
        self._skip(records, skip, last_line)
        if self.progress is not None:
            self.progress.start(self.summary.records, skip)
        with self.out_path.open("a", encoding="utf-8") as out:
            exhausted = False
            while not exhausted or self.slots:
                while not exhausted and len(self.slots) < self.window:
                    slot = next(records, None)
                    if slot is None:
                        exhausted = True
                    else:
                        self._submit(slot)
                self._flush(out)
                if self.slots:
                    self._collect()
                    self._flush(out)
        self.summary.seconds = time.monotonic() - started
        return self.summary

    def _skip(self, records: Iterator[Slot], count: int, last_line: int | None) -> None:
        slot = None
        for _ in range(count):
            slot = next(records, None)
            if slot is None:
                break
        if count and (slot is None or slot.line != last_line):
            raise ConfigError(
                f"{self.out_path} holds {count} records ending at input line {last_line}, which does not match "
                f"{self.in_path}; pass a new output file"
            )

    def _submit(self, slot: Slot) -> None:
        self.slots.append(slot)
        if slot.output is not None:
            return
        assert slot.payload is not None
        payload = dict(slot.payload)
        model = payload.pop("model", None) or self.model
        try:
            job = _submit_record(self.client, payload, model, self.priority, request_id_for(slot, model, self.priority))
        except (RequestValidationError, NoWorkerError) as exc:
            _failed(slot, type(exc).__name__, str(exc))
            return
        slot.job_id, slot.deadline = job.id, time.monotonic() + self.timeout
        slot.pairs = len(payload.get("pairs") or payload.get("passages") or [])
        self.by_job.setdefault(job.id, []).append(slot)
        self.watcher.add(job)

    def _collect(self) -> None:
        """Wait a little for results; fail records whose time ran out."""
        pending = [s for s in self.slots if s.output is None and s.job_id is not None]
        if not pending:
            return
        now = time.monotonic()
        wait = min(BLOCK_SECONDS, max(0.0, min(s.deadline for s in pending) - now))
        for done in self.watcher.wait_some(wait):
            self._finish(done)
        now = time.monotonic()
        for slot in pending:
            if slot.output is None and slot.deadline <= now:
                _failed(slot, "JobTimeoutError", f"no result within {self.timeout:g}s; start workers or raise --timeout")
                self._forget(slot)

    def _finish(self, done: Completed) -> None:
        for slot in self.by_job.pop(done.id, []):
            if done.ok:
                assert done.result is not None
                slot.output = {
                    "job_id": done.result.job_id,
                    "model": done.result.model,
                    "scores": done.result.scores,
                    "ranking": done.result.ranking,
                }
            else:
                _failed(slot, getattr(done.error, "error_type", type(done.error).__name__), str(done.error))

    def _forget(self, slot: Slot) -> None:
        waiting = self.by_job.get(slot.job_id or "", [])
        if slot in waiting:
            waiting.remove(slot)
        if not waiting and slot.job_id:
            self.by_job.pop(slot.job_id, None)
            self.watcher.discard(slot.job_id)

    def _flush(self, out: IO[str]) -> None:
        """Write every finished record at the head of the window, in input order."""
        wrote = pairs = failed = 0
        while self.slots and self.slots[0].output is not None:
            slot = self.slots.popleft()
            assert slot.output is not None
            head: dict[str, Any] = {"line": slot.line}
            if slot.record_id is not None:
                head["id"] = slot.record_id
            out.write(json.dumps({**head, **slot.output}, ensure_ascii=False) + "\n")
            wrote += 1
            pairs += slot.pairs
            if "error" in slot.output:
                failed += 1
                self.summary.failures.append((slot.line, slot.output["error"]["message"]))
        if wrote:
            out.flush()
            self.summary.written += wrote
            self.summary.failed += failed
            self.summary.pairs += pairs
            if self.progress is not None:
                self.progress.advance(wrote, pairs, self.summary.failed + self.summary.failed_before)


def _submit_record(client: RerankClient, payload: dict, model: str | None, priority: str, request_id: str) -> Any:
    options = {k: payload.pop(k) for k in ("top_k", "normalize", "return_text") if k in payload}
    if "pairs" in payload and not {"query", "passages"} & set(payload):
        if set(options) - {"normalize"}:
            raise RequestValidationError("top_k and return_text need 'query' and 'passages', not 'pairs'")
        return client.submit_pairs(
            payload["pairs"], normalize=options.get("normalize", True), model=model, priority=priority,
            request_id=request_id,
        )
    if "pairs" in payload or "query" not in payload or "passages" not in payload:
        raise RequestValidationError("a record needs 'query' and 'passages', or 'pairs' alone")
    return client.submit(
        payload["query"], payload["passages"], model=model, priority=priority, request_id=request_id, **options
    )


def _failed(slot: Slot, error_type: str, message: str) -> Slot:
    slot.output = {"error": {"type": error_type, "message": message}}
    return slot
