"""The metrics module stays optional: without a port nothing is imported or served, and misuse is a clear error."""

from __future__ import annotations

import subprocess
import sys

import pytest

from producer.errors import ConfigError
from tests.support import REPO
from worker import metrics


def test_no_port_means_no_op_metrics_and_no_prometheus_import() -> None:
    code = ("import sys; from worker import job, metrics; m = metrics.current(); "
            "m.job_outcome('finished'); m.job_scored(3, 64, 0.01, 0.002); "
            "print(type(m).__name__, 'prometheus_client' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["NoMetrics", "False"]


def test_missing_client_library_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # import now raises ImportError
    with pytest.raises(ConfigError, match=r"install rerankq\[metrics\]"):
        metrics.serve(9100, "127.0.0.1")
    assert isinstance(metrics.current(), metrics.NoMetrics)


def test_port_out_of_range_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="metrics port 70000 is not a TCP port"):
        metrics.serve(70000, "127.0.0.1")
