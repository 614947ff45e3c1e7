"""Wall-clock timing shared by the benchmark modules."""
from __future__ import annotations

import time

import torch


def seconds(fn, device: torch.device) -> float:
    """Seconds one call of ``fn()`` takes; on CUDA the device is synchronized before and after."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start
