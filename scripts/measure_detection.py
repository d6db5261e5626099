"""Measure how long after a SIGKILL an abandoned job is taken up by another worker.

Starts two real `rerankq worker` processes, submits a long job, SIGKILLs whichever
worker runs it, and times until the other one holds it. Defaults are the
shipped settings (abandoned after 30 s, heartbeat every 5 s):

    python scripts/measure_detection.py --trials 2
    python scripts/measure_detection.py --abandoned-after 3 --heartbeat-interval 0.5
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from producer import RerankClient, Settings, defaults
from tests.reliability.helpers import holder, long_request, wait_running, worker_name
from tests.support import WorkerProcess


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redis-url", default=defaults.REDIS_URL)
    parser.add_argument("--abandoned-after", type=float, default=defaults.ABANDONED_AFTER)
    parser.add_argument("--heartbeat-interval", type=float, default=defaults.HEARTBEAT_INTERVAL)
    parser.add_argument("--trials", type=int, default=1)
    args = parser.parse_args()

    queue = f"detect-{uuid.uuid4().hex[:8]}"
    conn = redis.Redis.from_url(args.redis_url)
    env = {"RERANKQ_ABANDONED_AFTER": str(args.abandoned_after),
           "RERANKQ_HEARTBEAT_INTERVAL": str(args.heartbeat_interval)}
    logs = Path(tempfile.mkdtemp(prefix="rerankq-detect-"))
    workers = [WorkerProcess.start(args.redis_url, queue, logs / f"w{i}.log", env=env) for i in range(2)]
    client = RerankClient(settings=Settings(redis_url=args.redis_url, queue=queue))
    try:
        for worker in workers:
            worker.wait_ready()
        for trial in range(args.trials):
            # Let the heartbeat phase drift from the workers' start, as in real life.
            time.sleep((trial + 1) * args.heartbeat_interval / (args.trials + 1))
            job = client.submit(*long_request(48))
            victim = wait_running(conn, job.id, workers)
            other = next(w for w in workers if w is not victim)
            victim.signal(signal.SIGKILL)
            killed = time.monotonic()
            victim.wait(10)
            while holder(conn, job.id) != worker_name(other):
                time.sleep(0.02)
            print(f"trial {trial + 1}: retried on the other worker {time.monotonic() - killed:.2f}s after SIGKILL "
                  f"(abandoned_after {args.abandoned_after:g}s, heartbeat {args.heartbeat_interval:g}s)", flush=True)
            job.wait(timeout=300)
            workers[workers.index(victim)] = replacement = WorkerProcess.start(
                args.redis_url, queue, logs / f"r{trial}.log", env=env)
            replacement.wait_ready()
    finally:
        for worker in workers:
            worker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
