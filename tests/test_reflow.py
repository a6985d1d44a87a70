"""Reflow and distillation (nbs/25a_reflow.ipynb) at tiny size: pairs, the recipe, few-step defaults, publishing."""
import io
import json
import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from diffusion_course.denoisers import CourseDenoiser, load_pretrained  # noqa: E402
from diffusion_course.metrics import count_calls  # noqa: E402
from diffusion_course.reflow import (ReflowConfig, euler_frames, flow_unet, pair_noise, publish_few_step,  # noqa: E402
                                     read_pairs, reflow, write_pairs)
from diffusion_course.sampling import sample  # noqa: E402
from diffusion_course.unet import CourseUNet  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    "A tiny class-conditioned flow model saved to a folder, as a `CourseDenoiser`."
    torch.manual_seed(0)
    unet = CourseUNet(num_hiddens=8, time_cond=True, num_classes=10, objective="flow")
    folder = tmp_path_factory.mktemp("teacher")
    unet.save_pretrained(folder)
    return CourseDenoiser(unet, name=str(folder))


def test_pairs_are_the_samples_of_their_seeds_and_resume(teacher, tmp_path):
    out = write_pairs(teacher, tmp_path / "p", n=30, chunk=12, seed=5, steps=2, sampler="euler", progress=False)
    z, x1, y = read_pairs(out)
    assert z.shape == x1.shape == (30, 1, 28, 28) and y.tolist() == [i % 10 for i in range(30)]
    torch.testing.assert_close(z, pair_noise(5, 30))
    x = sample(teacher, [str(i % 10) for i in range(12, 24)], steps=2, sampler="euler", seed=5 + 12) * 2 - 1
    assert (x - x1[12:24]).abs().max() <= 1 / 255 + 1e-6           # 8-bit storage of the same samples
    before = (out / "chunk_0001.pt").read_bytes()
    (out / "chunk_0001.pt").unlink()
    with pytest.raises(FileNotFoundError, match="lacks 1 of its 3 chunks"): read_pairs(out)
    write_pairs(teacher, out, n=30, chunk=12, seed=5, steps=2, sampler="euler", progress=False)   # goes on
    assert torch.equal(torch.load(out / "chunk_0001.pt")["x1"], torch.load(io.BytesIO(before))["x1"])
    with pytest.raises(ValueError, match="other settings"):
        write_pairs(teacher, out, n=30, chunk=12, seed=6, steps=2, sampler="euler", progress=False)


def test_distilled_run_samples_in_its_own_steps(teacher, tmp_path):
    pairs = write_pairs(teacher, tmp_path / "p", n=48, chunk=48, steps=1, sampler="euler", guidance=1.0,
                        progress=False)
    cfg = ReflowConfig(init=teacher.name, pairs=str(pairs), times=(0,), epochs=1, batch_size=16, n_test=16,
                       sample_steps=1)
    model, hist = reflow(cfg, out=tmp_path / "run", progress=False)
    assert len(hist["test_loss"]) == 1 and (tmp_path / "run" / "samples" / "epoch_0001.png").is_file()
    den = load_pretrained(str(tmp_path / "run" / "model"))
    assert den.steps == 1 and den.guidance == 1.0
    with count_calls(den) as calls: x = sample(den, ["3", "7"], seed=0)
    assert calls[0] == 1 and x.shape == (2, 1, 28, 28)                # one network call for the whole batch
    rows = [dict(setting="tiny, Euler 1", accuracy=0.5, fid_ratio=3.0, network_calls=1, seconds=0.1)]
    dest = publish_few_step(tmp_path / "run", "tiny-1step", "a command", [("stage", 60.0)], rows, dest=tmp_path)
    card = (dest / "README.md").read_text()
    assert "| tiny, Euler 1 | 50.0 | 3.00 | 1 | 0.1 |" in card and "stage: 1.0 min" in card
    assert json.loads((dest / "sampling.json").read_text())["steps"] == 1 and (dest / "samples.png").is_file()
    torch.testing.assert_close(sample(str(dest), ["3", "7"], seed=0), x)


def test_euler_frames_end_where_sample_ends(teacher):
    frames = euler_frames(teacher, [3, 7], seed=2, steps=4, guidance=1.0)
    assert frames.shape == (5, 2, 1, 28, 28)
    torch.testing.assert_close(frames[0], pair_noise(2, 2))
    x = sample(teacher, ["3", "7"], guidance=1.0, steps=4, sampler="euler", seed=2)
    torch.testing.assert_close(((frames[-1] + 1) / 2).clamp(0, 1), x)


def test_bad_configs_and_models_are_refused(tmp_path):
    with pytest.raises(ValueError, match="each time must be a number in"):
        reflow(ReflowConfig(pairs="x", times=(1.5,)))
    with pytest.raises(ValueError, match="name the folder of pairs"): reflow(ReflowConfig())
    with pytest.raises(ValueError, match="not a class-conditioned flow-matching model"): flow_unet("mnist-class-ddpm")
    with pytest.raises(FileNotFoundError, match="neither a bundled model"): flow_unet(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="holds no pairs.json"):
        reflow(ReflowConfig(pairs=str(tmp_path)), out=tmp_path / "run")
