"""The bench's output: a table on stdout, every figure as JSON, and a PNG chart."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from worker.bench.measure import Measurement


@dataclass
class Target:
    """One of the issue's targets, with the figure measured against it."""

    name: str
    measured: float | None
    goal: float
    higher_is_better: bool = True
    detail: str = ""

    @property
    def met(self) -> bool | None:
        if self.measured is None:
            return None
        return self.measured >= self.goal if self.higher_is_better else self.measured <= self.goal

    def to_dict(self) -> dict:
        return {"name": self.name, "measured": None if self.measured is None else round(self.measured, 4),
                "goal": self.goal, "higher_is_better": self.higher_is_better, "met": self.met, "detail": self.detail}


@dataclass
class BenchResult:
    """Everything one bench run found."""

    meta: dict
    measurements: list[Measurement] = field(default_factory=list)
    sweep: list[dict] = field(default_factory=list)
    ratios: dict[str, float] = field(default_factory=dict)
    hardware: dict = field(default_factory=dict)
    accuracy: dict | None = None
    loads: dict = field(default_factory=dict)
    overhead: dict = field(default_factory=dict)
    profiles: dict[str, dict[str, float]] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    agreement: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def find(self, name: str) -> Measurement | None:
        return next((m for m in self.measurements if m.name == name), None)

    def to_dict(self) -> dict:
        return {
            "meta": self.meta, "measurements": [m.to_dict() for m in self.measurements], "sweep": self.sweep,
            "ratios": {k: round(v, 4) for k, v in self.ratios.items()}, "hardware": self.hardware,
            "accuracy": self.accuracy, "model_load": self.loads, "queue_overhead": self.overhead,
            "op_profiles": self.profiles, "targets": [t.to_dict() for t in self.targets],
            "max_logit_difference_vs_rerankq": self.agreement, "notes": self.notes,
        }


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def table(result: BenchResult) -> str:
    """The human-readable summary printed at the end of a run."""
    m = result.meta
    lines = [
        f"rerankq bench  {m.get('date', '')}  {m.get('cpu', '')}, {m.get('cores', '?')} cores, "
        f"{m.get('threads', '?')} threads  load {m.get('load_before', '?')} -> {m.get('load_after', '?')}",
        f"model {m.get('model', '?')}  token budget {m.get('batch_tokens', '?')}  "
        f"workload: {m.get('workload', '')}",
        "",
        f"{'configuration':64s} {'pairs/s':>8s} {'p50 ms':>9s} {'p95 ms':>9s} {'pad eff':>7s} {'GFLOP/s':>8s} "
        f"{'RSS MiB':>8s}",
    ]
    for meas in result.measurements:
        lines.append(
            f"{meas.name[:64]:64s} {meas.pairs_per_s:8.1f} {_fmt(meas.p50_ms, '9.1f')} {_fmt(meas.p95_ms, '9.1f')} "
            f"{_fmt(meas.padding_efficiency, '7.3f')} {_fmt(meas.gflops, '8.1f')} {_fmt(meas.rss_mb, '8.0f')}"
        )
    if result.sweep:
        lines += ["", "token budget sweep (in process, pairs/s):"]
        models = sorted({row["model"] for row in result.sweep})
        budgets = sorted({row["budget"] for row in result.sweep})
        lines.append(f"  {'budget':>8s} " + " ".join(f"{name:>12s}" for name in models))
        for budget in budgets:
            cells = []
            for name in models:
                row = next((r for r in result.sweep if r["model"] == name and r["budget"] == budget), None)
                cells.append(f"{row['pairs_per_s']:12.1f}" if row else f"{'-':>12s}")
            lines.append(f"  {budget:8d} " + " ".join(cells))
    if result.hardware:
        hw = result.hardware
        lines += ["", f"hardware: plain MatMul of the model's shapes {_fmt(hw.get('matmul_gflops'), '.1f')} GFLOP/s; "
                      f"scorer {_fmt(hw.get('scorer_gflops'), '.1f')} useful GFLOP/s "
                      f"(efficiency {_fmt(hw.get('efficiency'), '.3f')}; inference only "
                      f"{_fmt(hw.get('efficiency_inference_only'), '.3f')})"]
        if hw.get("ceiling_pairs_per_s"):
            lines.append(f"ceiling: {hw['ceiling_pairs_per_s']:.1f} pairs/s if every useful FLOP ran at the MatMul rate"
                         + (f"; int8 Amdahl bound {hw['int8_speedup_bound']:.2f}x" if hw.get("int8_speedup_bound") else ""))
    if result.loads:
        lines.append("model load: " + ", ".join(f"{k} {v:.2f}s" for k, v in result.loads.items()))
    if result.accuracy:
        a = result.accuracy
        lines.append(f"int8 vs fp32: max |delta| {a['max_abs_delta']:.3f}, Spearman min {a['spearman_min']:.4f} "
                     f"mean {a['spearman_mean']:.4f}, top-5 agreement {a['top5_agreement']:.3f} "
                     f"({a['queries']} queries)")
    if result.overhead:
        o = result.overhead
        lines.append(f"queue overhead, {o['passages']}-passage job: median {o['median_overhead_ms']:.2f} ms over "
                     f"in-process (e2e p50 {o['e2e_p50_ms']:.1f} ms, in-process p50 {o['inprocess_p50_ms']:.1f} ms); "
                     f"outside the worker's own time: median {o['median_outside_worker_ms']:.2f} ms")
    if result.ratios:
        lines += ["", "ratios:"] + [f"  {k:40s} {v:8.3f}" for k, v in result.ratios.items()]
    if result.targets:
        lines += ["", "targets:"]
        for t in result.targets:
            mark = {True: "met", False: "NOT met", None: "not measured"}[t.met]
            sign = ">=" if t.higher_is_better else "<="
            lines.append(f"  {t.name:52s} {_fmt(t.measured, '8.3f')} {sign} {t.goal:<6g} {mark:12s} {t.detail}")
    if result.notes:
        lines += ["", "notes:"] + [f"  - {n}" for n in result.notes]
    return "\n".join(lines)


def write_json(result: BenchResult, path: str | Path) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
    return out


def write_png(result: BenchResult, path: str | Path) -> Path | None:
    """Horizontal bars of pairs/s per configuration (plus the budget sweep); ``None`` without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    colors = {"in-process": "#2b6cb0", "baseline": "#a0aec0", "torch": "#dd6b20", "end-to-end": "#38a169"}
    rows = list(reversed(result.measurements))
    sweep_models = sorted({row["model"] for row in result.sweep})
    fig, axes = plt.subplots(1, 2 if result.sweep else 1, figsize=(15 if result.sweep else 10, 0.38 * len(rows) + 2),
                             gridspec_kw={"width_ratios": [3, 1]} if result.sweep else None, squeeze=False)
    ax = axes[0][0]
    ax.barh([m.name for m in rows], [m.pairs_per_s for m in rows], color=[colors.get(m.section, "#718096") for m in rows])
    for i, meas in enumerate(rows):
        ax.text(meas.pairs_per_s, i, f" {meas.pairs_per_s:.1f}", va="center", fontsize=8)
    ax.set_xlabel("pairs per second (higher is better)")
    meta = result.meta
    ax.set_title(f"rerankq bench: {meta.get('model', '')}, {meta.get('threads', '?')} threads, {meta.get('cpu', '')}",
                 fontsize=10)
    ax.tick_params(axis="y", labelsize=8)
    if result.sweep:
        sweep_ax = axes[0][1]
        for name in sweep_models:
            points = sorted((r["budget"], r["pairs_per_s"]) for r in result.sweep if r["model"] == name)
            sweep_ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=name)
        sweep_ax.set_xscale("log", base=2)
        sweep_ax.set_xlabel("token budget per micro-batch")
        sweep_ax.set_ylabel("pairs per second")
        sweep_ax.set_title("token budget sweep (in process)", fontsize=10)
        sweep_ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
