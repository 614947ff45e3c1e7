"""Attribution maps: which input pixels a classifier's score for one class depends on.

Every function takes ``images`` (N, C, H, W), a float tensor in the model's input space, and
``target``, an int or a length-N sequence/tensor of class indices, and

* runs the model in eval mode with its parameters frozen (``frozen_eval``): gradients are
  taken for the input only (``torch.autograd.grad``), no parameter ``.grad`` is ever made,
  and the model's train/eval flags and ``requires_grad`` are restored afterwards, also after
  an error;
* computes on the model's device and returns a detached result on the device of ``images``;
* rejects bad input with a ``TypeError``/``ValueError`` that names the argument.

S_c denotes the unnormalized score (logit) of class c, P_c = softmax(S)_c its probability.

``METHODS`` (``registry.py``) lists the methods with their cost settings and whether their maps are
signed; ``attribute(name, model, images, target)`` computes any of them as an (N, H, W) map.
"""
from .averaging import integrated_gradients, smoothgrad
from .gradients import (contrastive_saliency, grad_cam, gradient_x_input, guided_backprop, input_gradient,
                        saliency_map)
from .occlusion import occlusion_map
from .registry import METHODS, Method, attribute, get_method

__all__ = ["contrastive_saliency", "grad_cam", "gradient_x_input", "guided_backprop", "input_gradient",
           "integrated_gradients", "occlusion_map", "saliency_map", "smoothgrad", "METHODS", "Method", "attribute",
           "get_method"]
