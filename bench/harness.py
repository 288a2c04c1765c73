"""What every benchmark reports, and how it is printed and saved."""

from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

RESULTS_DIR = Path(__file__).with_name("results")


@dataclass(frozen=True)
class Measurement:
    """One figure: measured against its target and a baseline measured in the same run."""

    name: str
    unit: str
    measured: float
    target: float | None
    baseline: float | None = None
    baseline_label: str = ""
    higher_is_better: bool = True
    details: dict[str, float | int | str] = field(default_factory=dict)

    @property
    def meets_target(self) -> bool | None:
        if self.target is None:
            return None
        return self.measured >= self.target if self.higher_is_better else self.measured <= self.target

    @property
    def ratio(self) -> float | None:
        """How many times better than the baseline (>1 is better, whatever the direction)."""
        if not self.baseline or not self.measured:
            return None
        return self.measured / self.baseline if self.higher_is_better else self.baseline / self.measured


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.3g}"


def print_table(rows: list[Measurement]) -> None:
    header = f"{'name':<34} {'measured':>12} {'target':>12} {'baseline':>12} {'ratio':>7}  ok  unit"
    print(header)
    print("-" * len(header))
    for m in rows:
        cmp = "<=" if not m.higher_is_better else ">="
        ok = {True: "yes", False: "NO", None: "-"}[m.meets_target]
        target = f"{cmp}{_fmt(m.target)}" if m.target is not None else "-"
        ratio = f"{m.ratio:.2f}x" if m.ratio else "-"
        print(f"{m.name:<34} {_fmt(m.measured):>12} {target:>12} {_fmt(m.baseline):>12} {ratio:>7}  {ok:<3} {m.unit}"
              + (f"  (baseline: {m.baseline_label})" if m.baseline_label else ""))


def save(bench_name: str, rows: list[Measurement], *, quick: bool) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{bench_name}.json"
    doc = {
        "benchmark": bench_name,
        "quick": quick,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": __import__("os").cpu_count()},
        "results": [asdict(m) | {"meets_target": m.meets_target, "ratio": m.ratio} for m in rows],
    }
    path.write_text(json.dumps(doc, indent=2))
    return path
