"""What a gradient or a gradient ascent climbs: an objective computed from a model's class scores.

S_c denotes the unnormalized score (logit) of class c, P_c = softmax(S)_c its probability.
The objectives on class scores are

- ``"score"``: S_c itself (Simonyan et al. 2013);
- ``"softmax"``: P_c;
- ``"log_softmax"``: log P_c = S_c − log Σ_k exp S_k.

``GREY`` is the mid-grey level of images in [0, 1]: the start and the L2 centre of class models,
and the default fill of deletion/insertion curves.
"""
from __future__ import annotations

import torch

OBJECTIVES = ("score", "softmax", "log_softmax")

#: mid-grey for images in [0, 1]
GREY = 0.5


def objective_value(scores: torch.Tensor, target: torch.Tensor, objective: str) -> torch.Tensor:
    """(N, K) scores -> (N,) the objective (one of ``OBJECTIVES``) of each row's (N,) ``target`` class.

    P_c is computed as exp(log P_c), from the numerically stable log-softmax.
    """
    index = target.to(scores.device)[:, None]
    if objective == "score":
        return scores.gather(1, index)[:, 0]
    log_p = scores.log_softmax(1).gather(1, index)[:, 0]
    return log_p if objective == "log_softmax" else log_p.exp()


# ---------------------------------------------------------------------------------------
# objectives on a unit inside the network (feature visualization)

#: how a channel's (h, w) activation map becomes one number: its mean, or its largest value
UNIT_OBJECTIVES = ("mean", "max")


def unit_value(activations: torch.Tensor, channels: torch.Tensor, neuron: tuple[int, int] | None = None,
               objective: str = "mean") -> torch.Tensor:
    """(N, C, h, w) activations -> (N,) the unit of each row: channel ``channels[i]`` (an (N,) tensor)
    reduced over (h, w) by ``objective`` (one of ``UNIT_OBJECTIVES``), or, with ``neuron=(y, x)``, its
    activation at that one position.
    """
    maps = activations[torch.arange(len(activations), device=activations.device), channels.to(activations.device)]
    if neuron is not None:
        return maps[:, neuron[0], neuron[1]]
    return maps.flatten(1).mean(1) if objective == "mean" else maps.flatten(1).amax(1)
