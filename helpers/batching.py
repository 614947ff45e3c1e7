"""The one way the helpers walk through many copies of a batch: index chunks with a progress bar."""
from __future__ import annotations

from collections.abc import Iterator

import torch
from tqdm.auto import tqdm


def batches(n: int, batch_size: int, *, desc: str, progress: bool = True) -> Iterator[torch.Tensor]:
    """Indices 0 … n − 1, ``batch_size`` at a time, as CPU int64 tensors, with a progress bar over the chunks."""
    for start in tqdm(range(0, n, batch_size), desc=desc, disable=not progress, leave=False):
        yield torch.arange(start, min(start + batch_size, n))
