"""deploy/systemd: the unit passes ``systemd-analyze verify`` and stops gracefully."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from producer import defaults
from tests.deploy.conftest import DEPLOY, tool

UNIT = DEPLOY / "systemd" / "rerankq-worker@.service"
ENV_EXAMPLE = DEPLOY / "systemd" / "worker.env.example"


def unit_settings(text: str) -> dict[str, list[str]]:
    """Key -> values of a unit file (keys may repeat)."""
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            key, value = line.split("=", 1)
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def verify(unit_text: str, directory: Path) -> str:
    """Output of ``systemd-analyze verify`` on ``unit_text``, with ExecStart made runnable here.

    verify insists that the ExecStart binary exists, so the deploy path
    (/opt/rerankq/venv/bin/rerankq) is replaced by the installed console script.
    """
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze is missing: apt-get install systemd")
    path = directory / UNIT.name
    path.write_text(unit_text.replace("/opt/rerankq/venv/bin/rerankq", tool("rerankq")))
    done = subprocess.run(
        [analyze, "verify", "--man=no", "--generators=no", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return f"rc={done.returncode}\n{done.stdout}{done.stderr}".strip()


def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    assert verify(UNIT.read_text(), tmp_path) == "rc=0", "systemd-analyze verify reported problems"


def test_verify_does_report_mistakes(tmp_path: Path) -> None:
    # verify exits 0 on unknown keys and bad values, only printing warnings; the
    # test above relies on seeing those, so check that they do appear.
    broken = UNIT.read_text().replace("KillSignal=SIGTERM", "KillSignal=SIGNOPE\nRestartEvery=2")
    output = verify(broken, tmp_path)
    assert "SIGNOPE" in output and "RestartEvery" in output


def test_unit_drains_restarts_and_drops_privileges() -> None:
    unit = unit_settings(UNIT.read_text())
    assert unit["KillSignal"] == ["SIGTERM"]
    assert int(unit["TimeoutStopSec"][0]) > defaults.JOB_TIMEOUT, "SIGKILL must not cut off a job within its timeout"
    assert unit["Restart"] == ["always"]
    assert unit["User"][0] not in ("root", "0")
    assert unit["EnvironmentFile"][0] == "/etc/rerankq/worker.env"
    for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp"):
        assert unit[key] == ["yes"], key
    assert unit["ProtectSystem"] == ["strict"]
    assert "%i" in unit["SyslogIdentifier"][0], "each instance's log lines must say which instance"


def test_env_example_sets_only_known_settings() -> None:
    from dataclasses import fields

    from producer.settings import ENV_PREFIX, Settings

    known = {ENV_PREFIX + f.name.upper() for f in fields(Settings)}
    names = set()
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip().lstrip("#")
        if line.startswith(ENV_PREFIX) and "=" in line:
            names.add(line.split("=", 1)[0])
    assert names, "the example documents the settings"
    assert names <= known, f"not settings fields: {sorted(names - known)}"
    # The supervisord program sources the same file with sh: it must parse there too.
    done = subprocess.run(
        ["sh", "-c", 'set -a; . "$1"; echo "$RERANKQ_QUEUE"', "sh", str(ENV_EXAMPLE)],
        capture_output=True,
        text=True,
        timeout=10,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == defaults.QUEUE
