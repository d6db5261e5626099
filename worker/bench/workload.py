"""The bench's workload: real English passages and RAG-shaped jobs, built deterministically.

Passages come from the prose in the Python standard library's own docstrings
(read with ``ast``; nothing is imported), so every machine with the same Python
version builds the same passages without a download. Paragraphs of one module
are joined in order until a seeded target length of 300-1,500 characters.
"""

from __future__ import annotations

import ast
import random
import re
import sysconfig
from dataclasses import dataclass
from pathlib import Path

MIN_CHARS = 300
MAX_CHARS = 1500

# Modules and packages whose docstrings hold plenty of prose (paths under the stdlib directory).
SOURCES = (
    "argparse.py", "asyncio", "base64.py", "bisect.py", "calendar.py", "codecs.py", "collections",
    "concurrent", "configparser.py", "contextlib.py", "csv.py", "dataclasses.py", "datetime.py",
    "decimal.py", "difflib.py", "email", "enum.py", "fractions.py", "ftplib.py", "functools.py",
    "gettext.py", "glob.py", "gzip.py", "hashlib.py", "heapq.py", "http", "imaplib.py", "importlib",
    "inspect.py", "ipaddress.py", "json", "locale.py", "logging", "lzma.py", "mailbox.py", "multiprocessing",
    "netrc.py", "optparse.py", "os.py", "pathlib.py", "pickle.py", "pickletools.py", "pdb.py", "platform.py",
    "plistlib.py", "queue.py", "random.py", "re", "sched.py", "secrets.py", "selectors.py", "shelve.py",
    "shlex.py", "shutil.py", "smtplib.py", "socket.py", "socketserver.py", "sqlite3", "ssl.py",
    "statistics.py", "string.py", "subprocess.py", "tarfile.py", "tempfile.py", "textwrap.py",
    "threading.py", "timeit.py", "tokenize.py", "traceback.py", "typing.py", "unittest", "urllib",
    "uuid.py", "warnings.py", "weakref.py", "xml", "zipfile", "zipfile.py", "zoneinfo",
)

QUERIES = (
    "how do I parse command line options and print a help message",
    "compress a file with gzip and read it back",
    "run a shell command and capture its output",
    "schedule coroutines concurrently with an event loop",
    "why can unpickling data from an untrusted source be dangerous",
    "send an email message through an SMTP server",
    "format dates and convert between time zones",
    "protect shared data between threads with a lock",
    "write rows to a CSV file with a header",
    "compute the mean and standard deviation of a list of numbers",
    "create a temporary directory that is removed afterwards",
    "match text against a regular expression and extract groups",
)


@dataclass(frozen=True)
class Job:
    """One rerank request: a query and its passages."""

    query: str
    passages: tuple[str, ...]

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return [(self.query, p) for p in self.passages]


def stdlib_dir() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def _source_files(root: Path) -> list[Path]:
    files: list[Path] = []
    for name in SOURCES:
        path = root / name
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(sorted(p for p in path.rglob("*.py") if "test" not in p.parts))
    return files


def _is_prose(text: str) -> bool:
    """Sentences, not signatures, tables or doctests."""
    if len(text) < 60 or ">>>" in text or "::" in text:
        return False
    wordish = sum(c.isalpha() or c in " ,.;'()-" for c in text)
    return wordish / len(text) >= 0.9 and text.count(" ") >= 8


def docstring_paragraphs(path: Path) -> list[str]:
    """Prose paragraphs of every docstring in one source file, in source order."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return []
    paragraphs: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        doc = ast.get_docstring(node)
        for block in re.split(r"\n\s*\n", doc or ""):
            text = " ".join(block.split())
            if _is_prose(text):
                paragraphs.append(text)
    return paragraphs


def _cut(text: str, limit: int) -> str:
    """At most ``limit`` characters, ending at a sentence or word boundary."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    end = head.rfind(". ")
    if end >= MIN_CHARS:
        return head[: end + 1]
    return head[: head.rfind(" ")].rstrip(",;:")


def build_passages(seed: int = 7, root: Path | None = None) -> list[str]:
    """Distinct passages of 300-1,500 characters from stdlib docstrings (same seed, same list)."""
    rng = random.Random(seed)
    passages: list[str] = []
    seen: set[str] = set()
    for path in _source_files(root or stdlib_dir()):
        current = ""
        target = rng.randint(MIN_CHARS, MAX_CHARS)
        for paragraph in docstring_paragraphs(path):
            current = f"{current} {paragraph}".strip()
            if len(current) < target:
                continue
            passage = _cut(current, MAX_CHARS)
            if len(passage) >= MIN_CHARS and passage not in seen:
                seen.add(passage)
                passages.append(passage)
            current, target = "", rng.randint(MIN_CHARS, MAX_CHARS)
    return passages


def rag_jobs(queries: int, passages_per_job: int, seed: int = 7, pool: list[str] | None = None) -> list[Job]:
    """``queries`` jobs of one query x ``passages_per_job`` passages drawn without repeats per job."""
    pool = pool if pool is not None else build_passages(seed)
    if len(pool) < passages_per_job:
        raise RuntimeError(f"only {len(pool)} passages could be built; the bench needs {passages_per_job}")
    rng = random.Random(seed * 1000 + passages_per_job)
    return [
        Job(query=QUERIES[i % len(QUERIES)], passages=tuple(rng.sample(pool, passages_per_job)))
        for i in range(queries)
    ]
