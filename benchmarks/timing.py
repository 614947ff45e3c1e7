"""The one timing harness of the benchmark modules: wall-clock seconds, paired comparisons, table rows.

A benchmark module (see ``scripts/benchmark.py``) times a helper of the course ("ours") against a
reference doing the same work (Captum, or a bare ``torch.autograd.grad`` loop written in the
benchmark), with ``compare``, and reports each pair as one ``row``.
"""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch


def seconds(fn: Callable[[], object], device: torch.device) -> float:
    """Seconds one call of ``fn()`` takes; on CUDA the device is synchronized before and after."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def compare(fns: list[Callable[[], object]], device: torch.device, rounds: int,
            warmup: int = 1) -> tuple[list[float], list[float]]:
    """Time ``fns`` in ``rounds`` rounds; each round runs every function once, in a rotating order.

    Returns (median seconds of each function, median over rounds of fns[0]'s time / fns[j]'s time
    for each j ≥ 1). Ratios are taken within a round, so a load that changes during the run (other
    processes on a shared machine) affects both sides of each ratio alike.
    """
    for _ in range(warmup):
        for fn in fns:
            seconds(fn, device)
    times = []
    for r in range(rounds):
        order = [(r + j) % len(fns) for j in range(len(fns))]
        taken = {j: seconds(fns[j], device) for j in order}
        times.append([taken[j] for j in range(len(fns))])
    medians = [statistics.median(column) for column in zip(*times)]
    ratios = [statistics.median(row[0] / row[j] for row in times) for j in range(1, len(fns))]
    return medians, ratios


def row(benchmark: str, device: torch.device, ours: float, reference: float, ratio: float, ref_name: str,
        limit: float | None = None, strict: bool = False, note: str = "—") -> dict:
    """One table row: ours and the reference in ms (``ours``, ``reference`` in seconds) and ours/ref.

    The budget is ours/ref ≤ ``limit`` (< with ``strict``); without a limit it shows ``note``.
    """
    if limit is None:
        budget, ok = note, "—"
    else:
        budget = f"{'<' if strict else '≤'} {limit:.2f}"
        ok = "yes" if (ratio < limit if strict else ratio <= limit) else "NO"
    return {"benchmark": benchmark, "device": device.type, "ours [ms]": f"{1e3 * ours:.2f}", "reference": ref_name,
            "ref [ms]": f"{1e3 * reference:.2f}", "ours/ref": f"{ratio:.2f}", "budget": budget, "ok": ok}
