"""Run the course's benchmarks and print one table per module, with the machine they ran on.

    python scripts/benchmark.py                       # every module in benchmarks/
    python scripts/benchmark.py --only attribution    # just benchmarks/attribution.py
    python scripts/benchmark.py --cpu-only            # skip the GPU even if there is one
    python scripts/benchmark.py --quick               # fewer steps and rounds: a smoke test of the benchmarks

A benchmark is a module in ``benchmarks/`` with ``run(device="cpu", quick=False) -> list[dict]``,
timed with ``benchmarks/timing.py`` (``compare`` for the ratios, ``row`` for each row): each dict is
one row of the table (the columns are the union of the rows' keys, in order). ``run`` is called on
the CPU and, when CUDA is available, again on the GPU (a ``run()`` without a ``device`` argument
is called once). Ratios are measured within one run, so they hold even on a busy machine; the
absolute milliseconds do not.
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import os
import pkgutil
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

import benchmarks  # noqa: E402


def machine_info() -> list[str]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    lines = [f"python {platform.python_version()}, torch {torch.__version__}, {platform.system()} {platform.release()}",
             f"CPU: {cpu}; {os.cpu_count()} logical cores; torch threads {torch.get_num_threads()}"]
    if hasattr(os, "getloadavg"):
        load = os.getloadavg()
        lines.append(f"load average at start: {load[0]:.1f} (1 min), {load[1]:.1f} (5 min) "
                     f"— above the core count means other work shares the CPU")
    if torch.cuda.is_available():
        lines.append(f"GPU: {torch.cuda.get_device_name(0)}")
    else:
        lines.append("GPU: none (CPU rows only)")
    return lines


def format_table(rows: list[dict]) -> str:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    cells = [[str(row.get(col, "")) for col in columns] for row in rows]
    widths = [max(len(col), *(len(r[i]) for r in cells)) for i, col in enumerate(columns)]
    line = lambda values: "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths)) + " |"  # noqa: E731
    return "\n".join([line(columns), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, cells)])


def modules(only: list[str] | None):
    for info in sorted(pkgutil.iter_modules(benchmarks.__path__), key=lambda m: m.name):
        if only and info.name not in only:
            continue
        module = importlib.import_module(f"benchmarks.{info.name}")
        if callable(getattr(module, "run", None)):
            yield info.name, module


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="module names in benchmarks/ (default: all)")
    parser.add_argument("--cpu-only", action="store_true", help="do not run on the GPU")
    parser.add_argument("--quick", action="store_true", help="fewer steps and rounds (a smoke test; noisier ratios)")
    args = parser.parse_args(argv)
    print("\n".join(machine_info()))
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() and not args.cpu_only else [])
    for name, module in modules(args.only):
        parameters = inspect.signature(module.run).parameters
        options = {"quick": True} if args.quick and "quick" in parameters else {}
        rows: list[dict] = []
        start = time.perf_counter()
        for device in devices if "device" in parameters else [None]:
            rows += module.run(**options, **({} if device is None else {"device": device}))
        print(f"\n## {name} ({time.perf_counter() - start:.0f} s)\n")
        print(format_table(rows))


if __name__ == "__main__":
    main()
