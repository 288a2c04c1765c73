"""Categorical consensus: our Dawid-Skene against crowd-kit's on the same simulated crowds.

Budget (issue 6): accuracy >= crowd-kit's DawidSkene on every scenario, and <= 0.2x its time
on 100,000 items x 5 labels x 20 classes.

Crowds come from `coordinator.consensus.simulate` (seeded; research/03's worker mix: good,
mediocre, uniform and constant spammers, systematic confusers; lognormal activity; each item
to 5 distinct workers). Scenarios:

  dense          100k items, 500 workers (~1,000 answers each)        the timing target
  spammer-heavy  50k items, 45 % spammers
  cold-start     10k items, 500 workers (~100 answers each)
  sparse         10k items, 4,000 workers (~12 answers each)
  gold 1 %       100k items, 1 % of items passed as known truth to both

Both sides get the same answers already in memory (our index arrays; crowd-kit's pandas
DataFrame of task/worker/label, built before its clock starts). crowd-kit runs with its
defaults (n_iter=100, tol=1e-5), once per scenario (it takes ~10 s at 100k); ours is the
median of 3 runs. Accuracy is over non-gold items. Majority vote and the Bayes oracle (true
worker parameters) are reported beside them for scale. --quick shrinks every crowd ~20x.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench.harness import Measurement
from coordinator.consensus import SPAMMER_HEAVY, dawid_skene, majority_vote, simulate_crowd
from coordinator.consensus.simulate import Crowd

TIME_BUDGET = 0.2  # our time / crowd-kit's on the dense 100k scenario


@dataclass(frozen=True)
class Scenario:
    name: str
    n_items: int
    n_workers: int
    seed: int
    timed: bool = False  # carries the time budget
    options: dict[str, Any] = field(default_factory=dict)

    def crowd(self) -> Crowd:
        return simulate_crowd(self.n_items, n_workers=self.n_workers, n_classes=20, overlap=5,
                              seed=self.seed, **self.options)


def scenarios(quick: bool) -> list[Scenario]:
    s = 20 if quick else 1
    return [
        Scenario("dense", 100_000 // s, 500 // s, 0, timed=True),
        Scenario("spammer-heavy", 50_000 // s, 500 // s, 1, options={"mix": SPAMMER_HEAVY}),
        Scenario("cold-start", 10_000 // s, 500 // s, 2),
        Scenario("sparse", 10_000 // s, 4_000 // s, 3, options={"activity_sigma": 0.5}),
        Scenario("gold 1%", 100_000 // s, 500 // s, 4, options={"gold_share": 0.01}),
    ]


def _timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def _ours(crowd: Crowd) -> dict[str, Any]:
    def call() -> Any:
        return dawid_skene(crowd.items, crowd.workers, crowd.labels, gold_items=crowd.gold_items,
                           gold_labels=crowd.gold_labels, **crowd.sizes)
    runs = [_timed(call) for _ in range(3)]
    result = runs[0][0]
    return {"accuracy": crowd.accuracy(result.labels), "seconds": statistics.median(r[1] for r in runs),
            "cpu": statistics.median(r[2] for r in runs), "iterations": result.iterations}


def _crowdkit(crowd: Crowd) -> dict[str, Any]:
    import pandas as pd
    from crowdkit.aggregation import DawidSkene

    frame = pd.DataFrame({"task": crowd.items, "worker": crowd.workers, "label": crowd.labels})
    gold = pd.Series(crowd.gold_labels, index=crowd.gold_items) if len(crowd.gold_items) else None
    model = DawidSkene(n_iter=100, tol=1e-5)
    predicted, seconds, cpu = _timed(lambda: model.fit_predict(frame, true_labels=gold))
    labels = np.full(len(crowd.truth), -1)
    labels[predicted.index.to_numpy(dtype=np.int64)] = predicted.to_numpy(dtype=np.int64)
    iterations = len(getattr(model, "loss_history_", []))
    return {"accuracy": crowd.accuracy(labels), "seconds": seconds, "cpu": cpu, "iterations": iterations}


def _rows(sc: Scenario, crowd: Crowd, ours: dict[str, Any], theirs: dict[str, Any]) -> list[Measurement]:
    mv = majority_vote(crowd.items, crowd.workers, crowd.labels, **crowd.sizes)
    per_worker = np.bincount(crowd.workers, minlength=sc.n_workers)
    details: dict[str, float | int | str] = {
        "items": sc.n_items, "answers": len(crowd.items), "workers": sc.n_workers, "classes": 20,
        "median_answers_per_worker": int(np.median(per_worker)), "gold_items": len(crowd.gold_items),
        "seed": sc.seed, "ours_iterations": ours["iterations"], "crowdkit_iterations": theirs["iterations"],
        "ours_cpu_s": round(ours["cpu"], 3), "crowdkit_cpu_s": round(theirs["cpu"], 3),
        "majority_vote_accuracy": round(crowd.accuracy(mv.labels), 4),
        "oracle_accuracy": round(crowd.accuracy(crowd.oracle_labels()), 4)}
    tag = f"{sc.name} {sc.n_items / 1000:g}k"
    label = "crowd-kit DawidSkene, same crowd"
    return [
        Measurement(f"{tag}: acc, ours DS", "acc", ours["accuracy"], theirs["accuracy"],
                    theirs["accuracy"], label, details=details),
        Measurement(f"{tag}: acc, majority", "acc", crowd.accuracy(mv.labels), None,
                    theirs["accuracy"], label),
        Measurement(f"{tag}: time, ours DS", "s", ours["seconds"],
                    TIME_BUDGET * theirs["seconds"] if sc.timed else None, theirs["seconds"], label,
                    higher_is_better=False),
    ]


def run(quick: bool = False) -> list[Measurement]:
    import crowdkit.aggregation  # noqa: F401  (its heavy imports stay outside every clock)

    rows: list[Measurement] = []
    for sc in scenarios(quick):
        crowd = sc.crowd()
        rows += _rows(sc, crowd, _ours(crowd), _crowdkit(crowd))
    return rows
