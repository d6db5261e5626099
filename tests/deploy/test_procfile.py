"""The Procfile under the real honcho: two workers share the queue and stop on a signal."""

from __future__ import annotations

import signal
import subprocess
import time
from typing import IO

import psutil
import pytest

from tests.deploy.conftest import REPO, descendants, live_workers, run_jobs, stop_tree, tool, wait_for


def output(log: IO[str]) -> str:
    log.flush()
    log.seek(0)
    return log.read()


def test_procfile_declares_only_a_worker() -> None:
    lines = [line for line in (REPO / "Procfile").read_text().splitlines() if line.strip()]
    entries = dict(line.split(":", 1) for line in lines)
    assert set(entries) == {"worker"}, "a Procfile for Heroku-style hosts runs workers only (Redis is a service)"
    # `exec`: honcho and Heroku run the line with `sh -c`, and dash would otherwise keep a shell in
    # between that dies of the stop signal itself, hiding the worker's own clean exit.
    assert entries["worker"].split() == ["exec", "rerankq", "worker"], "settings come from RERANKQ_* variables"


@pytest.mark.slow
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_honcho_runs_two_workers_and_stops_them(worker_env, deploy_queue, client, tmp_path, stop_signal) -> None:
    log = (tmp_path / "honcho.log").open("w+")
    honcho = subprocess.Popen(
        [tool("honcho"), "-f", str(REPO / "Procfile"), "-d", str(tmp_path), "start", "-c", "worker=2"],
        env=worker_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    children: list[psutil.Process] = []
    try:
        wait_for(lambda: len(live_workers(client, deploy_queue)) == 2, 60, "two registered workers")
        children = descendants(honcho.pid)
        time.sleep(0.5)  # both workers are blocked on the queue before jobs arrive

        results = run_jobs(client, 12)
        names = {r.worker for r in results}
        assert names == live_workers(client, deploy_queue), f"both workers take jobs:\n{output(log)}"
        worker_pids = {int(name.rsplit(".", 1)[1]) for name in names}
        assert worker_pids <= {c.pid for c in children}

        honcho.send_signal(stop_signal)
        # honcho SIGKILLs survivors 5 s after the first child exits; idle workers exit well before.
        expected_rc = 128 + stop_signal
        assert honcho.wait(30) == expected_rc, "honcho reports the signal it was stopped with"
        _, alive = psutil.wait_procs(children, timeout=10)
        assert not alive, f"processes left behind: {alive}"
        text = output(log)
        assert "sending SIGKILL" not in text, f"workers did not drain in time:\n{text}"
        assert text.count("stopped (rc=0)") == 2, f"both workers should exit 0 after draining:\n{text}"
        assert not live_workers(client, deploy_queue), "workers deregister from Redis on a clean stop"
    finally:
        stop_tree(honcho, children)
        log.close()
