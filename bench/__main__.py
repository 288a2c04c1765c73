"""`python -m bench [NAME ...] [--quick]`: run benchmarks, print the table, save JSON."""

from __future__ import annotations

import argparse
import importlib
import sys

from bench.harness import print_table, save

# name -> module in bench/ exposing `run(quick: bool) -> list[Measurement]` (or "module:function")
BENCHMARKS = {
    "import": "bench.bench_import",
    "annotation_save": "bench.bench_annotation_save",
    "canvas_annotations": "bench.bench_canvas_annotations",
    "canvas_image": "bench.bench_canvas_image",
    "grabcut": "bench.bench_grabcut",
    "sam": "bench.bench_sam",
    "formats": "bench.bench_formats",
    "coordinator": "bench.bench_coordinator",
    "coordinator_lease": "bench.bench_coordinator:run_lease",  # only the lease part of the above
    "consensus": "bench.bench_consensus",
    "sync": "bench.bench_sync",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default all): {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="smaller inputs, for a smoke run")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    failed = False
    for name in args.names or list(BENCHMARKS):
        print(f"\n== {name}{' (quick)' if args.quick else ''}")
        module, _, function = BENCHMARKS[name].partition(":")
        rows = getattr(importlib.import_module(module), function or "run")(quick=args.quick)
        print_table(rows)
        print(f"saved {save(name, rows, quick=args.quick)}")
        failed |= any(m.meets_target is False for m in rows)
    return 1 if failed and not args.quick else 0


if __name__ == "__main__":
    sys.exit(main())
