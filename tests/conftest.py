"""Fixtures shared by the test files; `tools/` on the import path (the browser check uses tools/browser_utils.py)."""
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

from diffusion_course.deepfloyd import tiny_if_denoiser  # noqa: E402
from diffusion_course.denoisers import CourseDenoiser  # noqa: E402
from diffusion_course.unet import CourseUNet  # noqa: E402


def tiny_unet(seed=0) -> CourseUNet:
    "An untrained class-conditioned DDPM `CourseUNet` of width 8: every code path, none of the cost."
    torch.manual_seed(seed)
    return CourseUNet(num_hiddens=8, time_cond=True, num_classes=10, objective="ddpm")


@pytest.fixture(scope="module")
def course():
    "The tiny course UNet as a `Denoiser`."
    return CourseDenoiser(tiny_unet())


@pytest.fixture(scope="module")
def tif():
    "A randomly initialised IF-shaped diffusers UNet (learned variance, 64 px, T5-sized prompts) as a `Denoiser`."
    return tiny_if_denoiser(seed=0)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    "The tiny course UNet saved as a model folder, as `diffusion-course train` writes one."
    d = tmp_path_factory.mktemp("tiny") / "model"
    tiny_unet().save_pretrained(d)
    return d
