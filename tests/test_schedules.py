"""`NoiseSchedule` and `forward` cross-checked against diffusers' `DDPMScheduler`, their failure modes, `load_image`."""
import numpy as np
import pytest
import torch
from diffusers import DDPMScheduler
from PIL import Image

import diffusion_course as dc

TOL = 1e-6

# (our schedule, the diffusers scheduler it must reproduce): Part B's linear T=300 and DeepFloyd IF's cosine T=1000
CASES = {
    "linear300": (lambda: dc.NoiseSchedule.linear(T=300, beta_start=1e-4, beta_end=0.02),
                  lambda: DDPMScheduler(num_train_timesteps=300, beta_start=1e-4, beta_end=0.02,
                                        beta_schedule="linear")),
    "cosine1000": (lambda: dc.NoiseSchedule.cosine(T=1000),
                   lambda: DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2")),
}


@pytest.fixture(params=sorted(CASES))
def pair(request):
    ours, theirs = CASES[request.param]
    return ours(), theirs()


def maxdiff(a, b): return (a.double() - b.double()).abs().max().item()


def test_arrays_match_diffusers(pair):
    s, d = pair
    assert len(s) == s.T == len(d.betas)
    for name in ("betas", "alphas", "alphas_cumprod"):
        ours = getattr(s, name)
        assert ours.dtype == torch.float32 and ours.shape == (s.T,), name
        assert maxdiff(ours, getattr(d, name)) <= TOL, name


def test_forward_matches_add_noise_per_sample_t(pair):
    s, d = pair
    g = torch.Generator().manual_seed(0)
    x0 = torch.rand(6, 3, 16, 16, generator=g) * 2 - 1
    eps = torch.randn(x0.shape, generator=g)
    t = torch.tensor([0, 1, s.T // 4, s.T // 2, 3 * s.T // 4, s.T - 1])  # one step per image, both ends included
    x_t = dc.forward(x0, t, s, noise=eps)
    assert x_t.shape == x0.shape
    assert maxdiff(x_t, d.add_noise(x0, eps, t)) <= TOL
    # each image really got its own step: image i equals a single-t call at t[i]
    for i in (0, 3, 5):
        assert maxdiff(x_t[i:i + 1], dc.forward(x0[i:i + 1], int(t[i]), s, noise=eps[i:i + 1])) <= TOL
    # an int t applies to the whole batch
    assert maxdiff(dc.forward(x0, s.T // 2, s, noise=eps), d.add_noise(x0, eps, torch.full((6,), s.T // 2))) <= TOL


def test_course_values():
    lin, cos = dc.NoiseSchedule.linear(T=300), dc.NoiseSchedule.cosine(T=1000)
    assert abs(lin.alphas_cumprod[-1].item() - 0.048) < 1e-3          # the SNR mismatch: x_T is not pure noise
    assert abs(dc.NoiseSchedule.linear(T=1000).alphas_cumprod[-1].item() - 4.04e-5) < 1e-6
    expected = torch.tensor([0.846, 0.492, 0.215, 0.143])              # IF's ᾱ at t = 250, 500, 690, 750
    assert maxdiff(cos.alphas_cumprod[[250, 500, 690, 750]], expected) < 1e-3
    assert (cos.alphas_cumprod.diff() < 0).all() and (lin.alphas_cumprod.diff() < 0).all()
    snr = cos.snr(torch.tensor([250, 750]))
    ab = cos.alphas_cumprod[[250, 750]]
    assert maxdiff(snr, ab / (1 - ab)) <= TOL and snr[0] > snr[1]


def test_forward_statistics():
    """x_t has mean sqrt(ᾱ_t)·x0 and std sqrt(1-ᾱ_t) (not, e.g., variance 1-ᾱ_t used as std)."""
    s = dc.NoiseSchedule.cosine()
    t = torch.tensor([100, 500, 900])
    x_t = dc.forward(torch.full((3, 1, 128, 128), 0.6), t, s, generator=torch.Generator().manual_seed(0))
    ab = s.alphas_cumprod[t]
    assert maxdiff(x_t.mean(dim=(1, 2, 3)), 0.6 * ab.sqrt()) < 0.02
    assert maxdiff(x_t.std(dim=(1, 2, 3)), (1 - ab).sqrt()) < 0.02


def test_forward_deterministic_with_generator():
    s = dc.NoiseSchedule.linear()
    x0 = torch.zeros(2, 1, 8, 8)
    a = dc.forward(x0, 150, s, generator=torch.Generator().manual_seed(42))
    b = dc.forward(x0, 150, s, generator=torch.Generator().manual_seed(42))
    c = dc.forward(x0, 150, s, generator=torch.Generator().manual_seed(43))
    assert torch.equal(a, b) and not torch.equal(a, c)
    g = dc.seed_everything(7)
    a = dc.forward(x0, 150, s, generator=g)
    assert torch.equal(a, dc.forward(x0, 150, s, generator=dc.seed_everything(7)))


@pytest.mark.parametrize("t, match", [
    (300, "out of range"), (-1, "out of range"), (torch.tensor([0, 300]), "out of range"),
    (1.5, "integer"), (torch.tensor([1.0, 2.0]), "integer"),
    (torch.tensor([1, 2, 3]), "one timestep per image"),
                                      (torch.zeros(2, 2, dtype=torch.long), "one timestep per image"),
])
def test_bad_t_raises_clear_error(t, match):
    s = dc.NoiseSchedule.linear(T=300)
    with pytest.raises(ValueError, match=match) as e:
        dc.forward(torch.zeros(2, 1, 4, 4), t, s)
    if match == "out of range": assert "0 <= t <= 299" in str(e.value)


def test_bad_schedule_and_noise():
    with pytest.raises(ValueError, match=r"\(0, 1\]"): dc.NoiseSchedule([0.1, 0.0])
    with pytest.raises(ValueError, match="must match"):
        dc.forward(torch.zeros(2, 1, 4, 4), 3, dc.NoiseSchedule.linear(), noise=torch.zeros(2, 1, 4, 5))


def test_to_device_copy():
    s = dc.NoiseSchedule.cosine(T=50)
    s2 = s.to("cpu")
    assert s2 is not s and torch.equal(s2.alphas_cumprod, s.alphas_cumprod) and s2.T == 50


# ---- load_image --------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def photo():
    return Image.open(dc.sample_photo())


def _check(x, c, size):
    assert x.shape == (1, c, size, size) and x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1 and x.max() - x.min() > 1, "a real photo spans most of [-1, 1]"


def test_load_image_inputs_agree(photo, tmp_path):
    ref = dc.load_image(dc.sample_photo())
    _check(ref, 3, 64)
    arr = np.asarray(photo)
    assert torch.equal(dc.load_image(str(dc.sample_photo())), ref)
    assert torch.equal(dc.load_image(photo), ref)
    assert torch.equal(dc.load_image(arr), ref)
    assert maxdiff(dc.load_image(arr.astype(np.float32) / 255), ref) <= TOL
    assert torch.equal(dc.load_image(torch.tensor(arr).permute(2, 0, 1)), ref)
    png = tmp_path / "p.png"; photo.convert("RGBA").save(png)               # alpha is dropped
    assert torch.equal(dc.load_image(png), ref)


def test_load_image_grey_and_sizes(photo):
    grey = dc.load_image(photo, size=32, channels=1)
    _check(grey, 1, 32)
    _check(dc.load_image(photo.convert("L")), 3, 64)                        # grey input, RGB output: 3 equal channels
    g3 = dc.load_image(photo.convert("L"))
    assert torch.equal(g3[:, 0], g3[:, 1]) and torch.equal(g3[:, 1], g3[:, 2])
    _check(dc.load_image(np.asarray(photo.convert("L"))), 3, 64)          # (H, W) array
    # already 20 high: only the center crop (cols 40..59) acts
    wide = np.zeros((20, 100), dtype=np.uint8); wide[:, 45:55] = 255
    x = dc.load_image(wide, size=20, channels=1)
    assert x.shape == (1, 1, 20, 20) and x.min() == -1 and x.max() == 1 and x[0, 0, :, 0].max() < -0.9
    assert dc.load_image(photo, size=None).shape == (1, 3, 600, 512)


def test_load_image_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="No image file"): dc.load_image(tmp_path / "missing.png")
    (tmp_path / "bad.png").write_text("not an image")
    with pytest.raises(ValueError, match="Could not read"): dc.load_image(tmp_path / "bad.png")
    with pytest.raises(ValueError, match="channels-last"): dc.load_image(np.zeros((3, 16, 16)))
    with pytest.raises(ValueError, match="value_range"): dc.load_image(np.full((8, 8), 2.0))
    with pytest.raises(ValueError, match="expected 3 \\(RGB\\) or 1"): dc.load_image(np.zeros((8, 8)), channels=2)
    with pytest.raises(TypeError, match="expected a path"): dc.load_image(12)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_forward_on_cuda_with_cpu_generator():
    s = dc.NoiseSchedule.cosine()
    x0 = torch.rand(3, 3, 8, 8, device="cuda") * 2 - 1
    t = torch.tensor([10, 500, 990], device="cuda")
    a = dc.forward(x0, t, s, generator=torch.Generator().manual_seed(0))      # CPU generator, CUDA images
    b = dc.forward(x0.cpu(), t.cpu(), s, generator=torch.Generator().manual_seed(0))
    assert a.device.type == "cuda" and maxdiff(a.cpu(), b) <= 1e-5
    assert s.to("cuda").snr(t).device.type == "cuda"
    assert maxdiff(s.snr(t).cpu(), s.snr(t.cpu())) == 0
