"""Train and evaluate a classifier on image tensors, with a progress bar and a seed."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ._checks import check_images, check_model, check_nonnegative, check_positive_int
from .batching import batches
from .model_state import checked_scores, frozen_eval, like_input, model_device, model_input


def _check_data(images, labels, name: str) -> None:
    check_images(images, f"{name} images")
    if not isinstance(labels, torch.Tensor) or labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(f"{name} labels: expected a 1-D tensor with one label per image ({len(images)})")


def l2_pgd(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, eps: float, steps: int = 2) -> torch.Tensor:
    """(N, C, H, W) adversarial images: ``images`` moved within an L2 ball of radius ``eps`` to raise the loss.

    Projected gradient ascent on the cross-entropy (Madry et al. 2018): ``steps`` steps of L2 length
    2.5·eps/steps along the normalized gradient, each projected back onto the ball and into [0, 1].
    Used in training (the model's mode is the caller's); gradients are taken for the images only.
    """
    delta = torch.zeros_like(images)
    alpha = 2.5 * eps / steps
    for _ in range(steps):
        delta.requires_grad_(True)
        loss = F.cross_entropy(model(images + delta), labels)
        (grad,) = torch.autograd.grad(loss, delta)
        with torch.no_grad():
            delta = delta + alpha * grad / grad.flatten(1).norm(dim=1).clamp_min(1e-12)[:, None, None, None]
            delta = delta * (eps / delta.flatten(1).norm(dim=1).clamp_min(1e-12)).clamp(max=1.0)[:, None, None, None]
            delta = (images + delta).clamp(0, 1) - images
    return (images + delta).detach()


def train_classifier(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, epochs: int = 5,
                     lr: float = 3e-3, weight_decay: float = 0.0, batch_size: int = 128, seed: int = 0,
                     adversarial_eps: float = 0.0, test: tuple[torch.Tensor, torch.Tensor] | None = None,
                     progress: bool = True) -> dict:
    """Train ``model`` in place with Adam and cross-entropy; returns the history.

    images: (N, C, H, W) float; labels: (N,) int64. Batches move to the model's device.
    adversarial_eps: if > 0, robust training: each batch's loss is ½ CE(clean) + ½ CE(``l2_pgd``
        images within L2 distance ``adversarial_eps``), which makes the input gradients, and so the
        class models, follow the shapes in the data (notebook 06).
    test: optional (images, labels) evaluated after every epoch. Deterministic for a given
    ``seed`` on a given machine. Returns {"loss": per-epoch mean loss, "train_accuracy": per
    epoch, "test_accuracy": per epoch (if ``test``)}. The model is left in eval mode.
    """
    check_model(model)
    _check_data(images, labels, "train")
    check_positive_int(epochs, "epochs")
    check_positive_int(batch_size, "batch_size")
    adversarial_eps = check_nonnegative(adversarial_eps, "adversarial_eps")
    device = model_device(model)
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps = epochs * ((len(images) + batch_size - 1) // batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps)
    history: dict[str, list[float]] = {"loss": [], "train_accuracy": []}
    if test is not None:
        history["test_accuracy"] = []
    bar = tqdm(total=steps, desc="training", disable=not progress, leave=False)
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(images), generator=generator)
        total_loss, correct = 0.0, 0
        for start in range(0, len(images), batch_size):
            idx = order[start:start + batch_size]
            x, y = images[idx].to(device), labels[idx].to(device)
            scores = model(x)
            loss = F.cross_entropy(scores, y)
            if adversarial_eps > 0:
                loss = 0.5 * loss + 0.5 * F.cross_entropy(model(l2_pgd(model, x, y, adversarial_eps)), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total_loss += loss.item() * len(idx)
            correct += (scores.argmax(1) == y).sum().item()
            bar.update()
        history["loss"].append(total_loss / len(images))
        history["train_accuracy"].append(correct / len(images))
        if test is not None:
            history["test_accuracy"].append(accuracy(model, *test))
        bar.set_postfix(loss=f"{history['loss'][-1]:.3f}")
    bar.close()
    model.eval()
    return history


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """(N, K) scores of ``model`` in eval mode, on ``images``' device and in their dtype; the model is left as it was.

    Batches of ``batch_size`` images run on the model's device and in its dtype.
    """
    check_model(model)
    check_images(images)
    check_positive_int(batch_size, "batch_size")
    with frozen_eval(model):
        return torch.cat([like_input(checked_scores(model, model_input(model, images[i])), images)
                          for i in batches(len(images), batch_size, desc="predict", progress=False)])


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Top-1 accuracy of ``model`` on (images, labels), a float in [0, 1]."""
    _check_data(images, labels, "test")
    return (predict(model, images).argmax(1) == labels.cpu()).float().mean().item()
