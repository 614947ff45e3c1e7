"""The notebooks' online branch runs to the end: stand-in ImageNet weights in a temporary torch cache.

A randomly initialised model of the right architecture, saved under the file name torchvision
expects, takes ``load_pretrained``'s real loading path offline. The notebooks then follow the
branch a learner with internet access (Colab) takes; they say in one line that the weights are
stand-ins and skip the claims only genuine ImageNet weights support (``weights_verified``).
"""
import shutil
from pathlib import Path

import nbformat
import pytest
import torch
import torchvision
from nbclient import NotebookClient

from helpers.pretrained import weights_file

pytestmark = pytest.mark.notebook

ROOT = Path(__file__).resolve().parents[1]
ONLINE = ["00_setup.ipynb"]  # 03, 04, 06-08 use EfficientNet-Lite0, which is always there
STAND_IN_LINE = "stand-in weights"


@pytest.fixture
def stand_in_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # the kernels inherit it
    torch.manual_seed(0)
    path = weights_file("squeezenet1_1")
    path.parent.mkdir(parents=True)
    torch.save(torchvision.models.get_model("squeezenet1_1", weights=None).state_dict(), path)
    return path


@pytest.mark.parametrize("name", ONLINE)
def test_online_branch_runs_on_stand_in_weights(name, stand_in_cache, tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    shutil.copy(ROOT / "notebooks" / name, folder)
    notebook = nbformat.read(folder / name, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    printed = "\n".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs)
    assert "unavailable" not in printed.lower(), "the notebook took the offline branch"
    assert printed.count(STAND_IN_LINE) == 1, "the notebook must say once that it runs on stand-ins"
