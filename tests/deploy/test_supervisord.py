"""deploy/supervisord/rerankq.conf under a real, private supervisord.

The test's supervisord.conf supplies only what a host's main config would (socket,
log directory) and includes the deploy file unchanged, plus one override: ``user=``
is the test's own user, since the ``rerankq`` account does not exist here.
"""

from __future__ import annotations

import configparser
import contextlib
import getpass
import os
import re
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from producer import defaults
from tests.deploy.conftest import (
    DEPLOY,
    PASSAGES,
    descendants,
    live_workers,
    run_jobs,
    stop_tree,
    tool,
    wait_for,
)

CONF = DEPLOY / "supervisord" / "rerankq.conf"
PROGRAM = "program:rerankq-worker"
STATUS_LINE = re.compile(r"^(?P<name>\S+)\s+(?P<state>[A-Z]+)\s+(?:pid (?P<pid>\d+))?")


def read_program() -> configparser.SectionProxy:
    parser = configparser.RawConfigParser(inline_comment_prefixes=(";", "#"))
    parser.read(CONF)
    return parser[PROGRAM]


def test_program_stops_gracefully_and_restarts() -> None:
    program = read_program()
    assert program["stopsignal"] == "TERM"
    assert int(program["stopwaitsecs"]) > defaults.JOB_TIMEOUT, "SIGKILL must not cut off a job within its timeout"
    assert program["autorestart"] == "true"
    assert "%(process_num)" in program["process_name"], "numprocs > 1 needs a per-process name"
    assert int(program["numprocs"]) >= 2
    assert program["user"] not in ("root", "0"), "workers must not run as root"
    assert f'RERANKQ_WORKERS_PER_HOST="{program["numprocs"]}"' in program["environment"], (
        "threads per worker are cores / RERANKQ_WORKERS_PER_HOST: keep it equal to numprocs"
    )


@dataclass
class Supervisor:
    process: subprocess.Popen
    config: Path
    directory: Path
    env: dict[str, str]

    def ctl(self, *args: str, check: bool = False) -> str:
        done = subprocess.run(
            [tool("supervisorctl"), "-c", str(self.config), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=200,
        )
        if check:
            assert done.returncode == 0, f"supervisorctl {' '.join(args)}: {done.stdout}{done.stderr}"
        return done.stdout

    def status(self) -> dict[str, tuple[str, int | None]]:
        """Process name -> (state, pid)."""
        out = {}
        for line in self.ctl("status").splitlines():
            match = STATUS_LINE.match(line)
            if match:
                pid = match["pid"]
                out[match["name"]] = (match["state"], int(pid) if pid else None)
        return out

    def running_pids(self) -> dict[str, int]:
        status = self.status()
        if len(status) == 2 and all(state == "RUNNING" for state, _ in status.values()):
            return {name: pid for name, (_, pid) in status.items() if pid}
        return {}

    def log(self) -> str:
        return (self.directory / "supervisord.log").read_text()


@pytest.fixture
def supervisor(worker_env: dict[str, str]) -> Iterator[Supervisor]:
    # A short directory: the control socket's path must fit in 108 bytes.
    with tempfile.TemporaryDirectory(prefix="rqsv-") as tmp:
        directory = Path(tmp)
        env_file = directory / "worker.env"
        # Settings reach the workers only through the env file, as on a real host.
        env_file.write_text(
            "".join(f"{key}={worker_env[key]}\n" for key in sorted(worker_env) if key.startswith("RERANKQ_"))
        )
        env = {k: v for k, v in worker_env.items() if not k.startswith("RERANKQ_")}
        env["RERANKQ_ENV_FILE"] = str(env_file)
        override = directory / "override.conf"
        override.write_text(f"[{PROGRAM}]\nuser={getpass.getuser()}\n")
        config = directory / "supervisord.conf"
        config.write_text(
            f"""[supervisord]
nodaemon=true
logfile={directory}/supervisord.log
pidfile={directory}/supervisord.pid
childlogdir={directory}
[unix_http_server]
file={directory}/supervisor.sock
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[supervisorctl]
serverurl=unix://{directory}/supervisor.sock
[include]
files = {CONF} {override}
"""
        )
        process = subprocess.Popen(
            [tool("supervisord"), "-c", str(config), "-n"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        sv = Supervisor(process, config, directory, env)
        children: list[psutil.Process] = []
        try:
            yield sv
        finally:
            children = descendants(process.pid)
            if process.poll() is None:
                sv.ctl("shutdown")
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(200)
            stop_tree(process, children)


@pytest.mark.slow
def test_supervisord_restarts_killed_worker_and_drains_on_stop(supervisor, client, deploy_queue) -> None:
    pids = wait_for(supervisor.running_pids, 60, "two RUNNING workers")
    assert set(pids) == {"rerankq-worker:rerankq-worker-00", "rerankq-worker:rerankq-worker-01"}
    wait_for(lambda: len(live_workers(client, deploy_queue)) == 2, 30, "both workers registered in Redis")

    # A worker killed outright comes back as a new process.
    victim = "rerankq-worker:rerankq-worker-00"
    os.kill(pids[victim], signal.SIGKILL)
    restarted = wait_for(
        lambda: (p := supervisor.running_pids()) and p[victim] != pids[victim] and p,
        60,
        "the killed worker to be RUNNING again",
    )
    new_pid = restarted[victim]
    command = psutil.Process(new_pid).cmdline()
    assert Path(command[-2]).name == "rerankq" and command[-1] == "worker", (
        f"sh -c must exec the worker so supervisord's signals reach it, got {command}"
    )
    wait_for(
        lambda: any(name.endswith(f".{new_pid}") for name in live_workers(client, deploy_queue)),
        30,
        "the restarted worker to register",
    )
    time.sleep(0.5)  # both workers are blocked on the queue before jobs arrive

    results = run_jobs(client, 12)
    served = {int(r.worker.rsplit(".", 1)[1]) for r in results}
    assert served <= set(restarted.values()), "only the current processes serve jobs"
    assert new_pid in served, "the restarted worker takes jobs"

    # Stop while a job is running: it must finish, and the workers exit 0 (no SIGKILL).
    big = client.submit("what is the capital of france?", PASSAGES * 100)
    wait_for(lambda: big.status() == "started", 30, "the large job to start", interval=0.02)
    supervisor.ctl("stop", "all", check=True)
    result = big.wait(timeout=10)
    assert len(result.scores) == len(PASSAGES) * 100
    assert all(state == "STOPPED" for state, _ in supervisor.status().values())
    log = supervisor.log()
    for name in pids:
        assert f"stopped: {name.split(':')[1]} (exit status 0)" in log, log
    assert log.count("terminated by SIGKILL") == 1, "only the test's own kill, none from a stop timeout"
    assert not psutil.pid_exists(new_pid)

    children = descendants(supervisor.process.pid)
    supervisor.ctl("shutdown", check=True)
    assert supervisor.process.wait(30) == 0
    _, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, f"processes left behind: {alive}"
