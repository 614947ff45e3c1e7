"""Interactive explorers (ipywidgets 8): saliency maps and class model visualizations you can click through.

- ``saliency_explorer(model, class_names)`` (``saliency.py``): pick an image (Toy Zoo, a bundled
  photo, or an upload of your own, decoded by ``helpers.uploads``), a class and a method of
  ``helpers.attribution.METHODS``; the map is recomputed whenever a control changes, and a line
  lists the model's five most probable classes for the image. It works on the course's models and
  on ``load_pretrained()``'s ImageNet network alike (for that one the photos come first, and
  Grad-CAM's layer, ``features.head``, is found by itself); an upload is classified and shown with
  the class the model predicts for it.
- ``class_model_explorer(model, class_names)`` (``class_model.py``): pick a class, the objective, λ
  and the number of steps, press *Run* and watch the gradient ascent with a progress bar.

Both explorers are ``ipywidgets.VBox`` containers whose controls are attributes (``explorer.image``,
``explorer.target``, ``explorer.method``, ...), so code (and the tests) can set them exactly as a
learner clicks them. What they show is kept as attributes too: ``explorer.figure`` (the matplotlib
figure drawn last), ``explorer.message`` (the text of the status line) and the numbers behind them.
The figures are shown as PNG images (``explorer.view``), so nothing is printed or displayed while
they update: a callback never leaves output or a traceback in the notebook; errors become a message
in the status line.
"""
from .class_model import L2_CHOICES, ClassModelExplorer, class_model_explorer
from .gallery import default_gallery
from .saliency import SALIENCY_METHODS, SaliencyExplorer, saliency_explorer

__all__ = ["SALIENCY_METHODS", "SaliencyExplorer", "saliency_explorer", "L2_CHOICES", "ClassModelExplorer",
           "class_model_explorer", "default_gallery"]
