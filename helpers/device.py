"""Pick the compute device."""
from __future__ import annotations

import os

import torch

ENV_VAR = "COURSE_DEVICE"


def get_device() -> torch.device:
    """CUDA if available, else Apple's MPS, else the CPU.

    Set the environment variable ``COURSE_DEVICE`` (e.g. ``cpu`` or ``cuda:1``) to override.
    """
    override = os.environ.get(ENV_VAR, "").strip()
    if override:
        try:
            device = torch.device(override)
        except RuntimeError:
            raise ValueError(f"{ENV_VAR}: expected a torch device such as 'cpu' or 'cuda', got {override!r}") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"{ENV_VAR}={override!r} but CUDA is not available on this machine")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
