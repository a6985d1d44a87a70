"The command line: sample, eval and bench on a tiny saved model, and their errors."
import os
import subprocess
import sys

import pytest
import torch

from diffusion_course.unet import CourseUNet


def _cli(*args, cwd=None):
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "diffusion_course", *args], capture_output=True, text=True, env=env, cwd=cwd)


def test_sample_writes_a_deterministic_grid(tiny_model, tmp_path):
    outs = []
    for i in range(2):
        out = tmp_path / f"s{i}.png"
        r = _cli("sample", "--model", str(tiny_model), "--prompts", "7", "3", "", "--sampler", "ddim", "--steps", "5", "--out", str(out))
        assert r.returncode == 0, r.stderr
        outs.append(out.read_bytes())
    assert outs[0] == outs[1], "the same seed must give the same image file"
    r = _cli("sample", "--model", str(tiny_model), "--prompts", "7", "--sampler", "ddim", "--steps", "5", "--seed", "1", "--out", str(tmp_path / "s2.png"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "s2.png").read_bytes() != outs[0], "another seed must give other images"


def test_eval_reports_accuracy(tiny_model):
    r = _cli("eval", "--model", str(tiny_model), "--n-per-class", "1", "--sampler", "ddim", "--steps", "3")
    assert r.returncode == 0, r.stderr
    assert "sample accuracy" in r.stdout and "per class" in r.stdout


def test_bench_sample_prints_ratios(tiny_model):
    r = _cli("bench", "sample", "--quick", "--model", str(tiny_model))
    assert r.returncode == 0, r.stderr
    assert "×1.00" in r.stdout and "ddim, 10 steps" in r.stdout


def test_bad_model_is_one_readable_line():
    r = _cli("sample", "--model", "no-such-model")
    assert r.returncode == 2 and "no pretrained model" in r.stderr.lower() and "Traceback" not in r.stderr


def test_nan_guidance_is_one_line_and_debug_shows_the_traceback(tmp_path):
    args = ["sample", "--guidance", "nan", "--steps", "2", "--out", str(tmp_path / "x.png")]
    r = _cli(*args)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == [r.stderr.strip()], f"expected one line, got: {r.stderr!r}"
    assert r.stderr.startswith("diffusion-course sample: error: guidance=nan: expected a finite number")
    assert not (tmp_path / "x.png").exists(), "no all-black picture may be written"
    r = _cli("--debug", *args)
    assert r.returncode != 0 and "Traceback (most recent call last)" in r.stderr and "ValueError: guidance=nan" in r.stderr
