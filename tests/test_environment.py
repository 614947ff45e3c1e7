"""Device selection, the offline guard, pretrained loading (offline, with a stand-in file), photos."""
import socket
import urllib.request

import pytest
import torch
import torchvision

from helpers import PHOTOS, PretrainedUnavailableError, get_device, load_photos, load_pretrained, weights_verified
from helpers.pretrained import SUPPORTED, weights_file


def test_get_device_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert get_device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert get_device().type == "mps"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert get_device().type == "cpu"


def test_get_device_environment_override(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    assert get_device() == torch.device("cpu")
    monkeypatch.setenv("COURSE_DEVICE", "cuda")
    with pytest.raises(ValueError, match="COURSE_DEVICE"):
        get_device()
    monkeypatch.setenv("COURSE_DEVICE", "banana")
    with pytest.raises(ValueError, match="COURSE_DEVICE"):
        get_device()


def test_network_is_blocked_but_loopback_is_not():
    with pytest.raises(OSError, match="network access is blocked"):
        urllib.request.urlopen("http://example.com", timeout=2)
    with pytest.raises(OSError, match="network access is blocked"):
        socket.create_connection(("93.184.216.34", 80), timeout=2)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    with socket.create_connection(server.getsockname(), timeout=2):
        pass
    server.close()


def test_pretrained_offline_raises_one_clear_error():
    with pytest.raises(PretrainedUnavailableError, match="not available.*torch cache.*internet"):
        load_pretrained("squeezenet1_1")


@pytest.mark.parametrize("name", ["squeezenet1_1", "resnet18"])
def test_pretrained_loads_from_the_torch_cache(name, tmp_path, monkeypatch):
    """A stand-in weights file in a temporary torch cache takes the real loading path, offline."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    stand_in = torchvision.models.get_model(name, weights=None)
    path = weights_file(name)
    assert str(path).startswith(str(tmp_path))
    path.parent.mkdir(parents=True)
    torch.save(stand_in.state_dict(), path)

    model, names = load_pretrained(name)
    assert not weights_verified(name)  # a stand-in: not torchvision's file
    assert len(names) == 1000 and names[99] == "goose" and names[0] == "tench"
    assert not model.training
    x = torch.rand(2, 3, 224, 224)
    weights = torchvision.models.get_model_weights(name).DEFAULT
    mean = torch.tensor(weights.transforms().mean).reshape(1, 3, 1, 1)
    std = torch.tensor(weights.transforms().std).reshape(1, 3, 1, 1)
    with torch.no_grad():
        expected = stand_in.eval()((x - mean) / std)  # normalization folded in: takes [0, 1] images
        assert torch.allclose(model(x), expected, atol=1e-5)


def test_weights_verified_checks_the_hash_in_the_file_name(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    path = weights_file("squeezenet1_1")
    assert not weights_verified("squeezenet1_1")  # missing
    path.parent.mkdir(parents=True)
    content = b"pretend weights"
    path.write_bytes(content)
    assert not weights_verified("squeezenet1_1")
    # a file whose hash does match its name's prefix counts as genuine
    import hashlib

    prefix = torch.hub.HASH_REGEX.search(path.name).group(1)
    renamed = path.with_name(path.name.replace(prefix, hashlib.sha256(content).hexdigest()[:len(prefix)]))
    monkeypatch.setattr("helpers.pretrained.weights_file", lambda name: renamed)
    path.rename(renamed)
    assert weights_verified("squeezenet1_1")


def test_pretrained_rejects_unknown_names():
    with pytest.raises(ValueError, match="name: expected one of"):
        load_pretrained("alexnet9000")
    assert "squeezenet1_1" in SUPPORTED and "resnet18" in SUPPORTED


def test_photos_ship_with_scikit_image():
    photos = load_photos(size=96)
    assert photos.shape == (len(PHOTOS), 3, 96, 96) and photos.dtype == torch.float32
    assert 0 <= photos.min() and photos.max() <= 1 and photos.std() > 0.1
    assert load_photos(["chelsea"], size=32).shape == (1, 3, 32, 32)
    with pytest.raises(ValueError, match="names"):
        load_photos(["mona_lisa"])
    with pytest.raises(ValueError, match="size"):
        load_photos(size=2)
