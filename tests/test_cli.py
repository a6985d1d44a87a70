"The command line: sample, eval and bench on a tiny saved model, `--help` for every command, and their errors."
import json
import os
import resource
import subprocess
import sys

import numpy as np
import pytest
import torch

import forked   # tests/forked.py: commands in processes of their own, started warm

COMMANDS = ["tour", "sample", "train", "eval", "bench"]


def _cli(*args, cwd=None):
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", MPLBACKEND="Agg")
    return forked.run(["-m", "diffusion_course", *args], env=env, cwd=cwd)   # a process of its own, started warm


def _sample(model, out, *args):
    return _cli("sample", "--model", model, "--sampler", "ddim", "--steps", 5, "--out", out, *args)


def test_sample_writes_a_deterministic_labelled_grid(tiny_model, tmp_path):
    outs = []
    for i in range(2):
        r = _sample(tiny_model, tmp_path / f"s{i}.png", "--prompts", "7", "3", "")
        assert r.returncode == 0, r.stderr
        outs.append((tmp_path / f"s{i}.png").read_bytes())
    assert outs[0] == outs[1], "the same seed must give the same image file"
    r = _sample(tiny_model, tmp_path / "s2.png", "--prompts", "7", "3", "", "--seed", 1)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "s2.png").read_bytes() != outs[0], "another seed must give other images"


def test_sample_writes_tensors_with_n_per_prompt(tiny_model, tmp_path):
    for suffix in (".npy", ".pt"):
        r = _sample(tiny_model, tmp_path / f"x{suffix}", "--prompts", "7", "3", "--n", 3)
        assert r.returncode == 0, r.stderr
    x, t = np.load(tmp_path / "x.npy"), torch.load(tmp_path / "x.pt")
    assert x.shape == (6, 1, 28, 28) and 0 <= x.min() and x.max() <= 1
    assert np.array_equal(x, t.numpy()), ".npy and .pt hold the same samples"
    one = _sample(tiny_model, tmp_path / "one.npy", "--prompts", "7")
    assert one.returncode == 0 and np.allclose(np.load(tmp_path / "one.npy")[0], x[0], atol=1e-4), (
        "image 0 depends only on the seed, not on how many images are asked for (up to float rounding)")


def test_sample_bundled_text_model(tmp_path):
    r = _cli("sample", "--model", "emoji-t2i", "--prompt", "a red apple", "--steps", 2, "--out", tmp_path / "a.png")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "a.png").stat().st_size > 0


def test_eval_reports_quality_table_and_json(tiny_model, tmp_path):
    out = tmp_path / "eval.json"
    r = _cli("eval", "--model", tiny_model, "--n-per-class", 2, "--sampler", "ddim", "--steps", 3, "--json", out)
    assert r.returncode == 0, r.stderr
    assert "| guidance | accuracy | fid | fid_floor | fid_ratio |" in r.stdout and "per class" in r.stdout
    assert "(shuffled halves of the test split)" in r.stdout                              # the default floor split
    assert "on every step" in r.stdout and "guidance_interval" not in r.stdout             # a model without an interval
    report = json.loads(out.read_text())
    (row,) = report["rows"]
    assert report["settings"]["n_per_class"] == 2 and row["n"] == 20 and row["network_calls"] == 3
    assert row["fid"] > 0 and row["fid_floor"] > 0 and row["fid_ratio"] == pytest.approx(row["fid"] / row["fid_floor"])
    assert len(row["per_class_accuracy"]) == 10 and 0 <= row["accuracy"] <= 1
    assert report["settings"]["floor_split"] == row["split"] == "random"                  # the default


def test_eval_guidance_sweep_gives_a_row_per_gamma(tiny_model, tmp_path):
    out = tmp_path / "sweep.json"
    r = _cli("eval", "--model", tiny_model, "--n-per-class", 2, "--sampler", "ddim", "--steps", 2,
             "--guidance-sweep", 0, 3, "--floor-split", "halves", "--json", out)
    assert r.returncode == 0, r.stderr
    report = json.loads(out.read_text())
    assert [row["guidance"] for row in report["rows"]] == [0, 3]
    assert "(halves in file order of the test split)" in r.stdout
    assert report["settings"]["floor_split"] == "halves" and {row["split"] for row in report["rows"]} == {"halves"}


def test_eval_steps_table_gives_a_row_per_sampler_and_step_count(tiny_model, tmp_path):
    out = tmp_path / "steps.json"
    r = _cli("eval", "--model", tiny_model, "--n-per-class", 2, "--steps-table", "--json", out)
    assert r.returncode == 0, r.stderr
    rows = json.loads(out.read_text())["rows"]
    families = ("DDPM strided", "DDIM", "DPM-Solver++ 2M", "UniPC")
    assert [row["setting"] for row in rows][:5] == [f"{tiny_model}, DDPM strided {k}" for k in (1, 2, 4, 8, 34)]
    assert len(rows) == 5 + 3 * 4 and {row["setting"].split(", ")[1].rsplit(" ", 1)[0] for row in rows} == set(families)
    assert [row["network_calls"] for row in rows[5:9]] == [1, 2, 4, 8]       # DDIM: one call per step at its γ


def test_guidance_interval_reaches_the_sampler(tiny_model, tmp_path):
    bundled = "mnist-class-ddpm"                                            # trained: guidance changes its samples
    r = _sample(bundled, tmp_path / "plain.npy", "--prompts", "7", "3", "--guidance", 1)
    assert r.returncode == 0, r.stderr
    r = _sample(bundled, tmp_path / "every.npy", "--prompts", "7", "3", "--guidance", 3)
    assert r.returncode == 0, r.stderr
    r = _sample(bundled, tmp_path / "none.npy", "--prompts", "7", "3", "--guidance", 3,
                "--guidance-interval", 1e6, 1e7)                            # no step is that noisy: never guided
    assert r.returncode == 0, r.stderr
    plain, every, none = (np.load(tmp_path / f"{k}.npy") for k in ("plain", "every", "none"))
    assert np.allclose(none, plain, atol=1e-5) and not np.allclose(every, plain, atol=1e-3)
    out = tmp_path / "eval.json"
    r = _cli("eval", "--model", tiny_model, "--n-per-class", 2, "--sampler", "ddim", "--steps", 2, "--guidance", 3,
             "--guidance-interval", 0, 2.5, "--json", out)
    assert r.returncode == 0, r.stderr
    report = json.loads(out.read_text())
    assert report["settings"]["guidance_interval"] == report["rows"][0]["guidance_interval"] == [0, 2.5]
    assert "on σ in (0, 2.5]" in r.stdout


def test_variance_reaches_the_sampler(tiny_model, tmp_path):
    def run(name, *args):
        r = _cli("sample", "--model", "mnist-class-ddpm", "--sampler", "ddpm", "--steps", 5, "--prompts", "7", "3",
                 "--guidance", 3, "--out", tmp_path / f"{name}.npy", *args)
        assert r.returncode == 0, r.stderr
        return np.load(tmp_path / f"{name}.npy")
    default, small, large = run("default"), run("small", "--variance", "small"), run("large", "--variance", "large")
    assert np.array_equal(default, small), "with an explicit γ the step's variance is the course's, small"
    assert not np.allclose(large, small, atol=1e-3), "β_t adds more noise than β̃_t: other samples"
    out = tmp_path / "eval.json"
    r = _cli("eval", "--model", tiny_model, "--n-per-class", 2, "--steps", 2, "--guidance", 3, "--variance", "large",
             "--json", out)
    assert r.returncode == 0, r.stderr
    report = json.loads(out.read_text())
    assert report["settings"]["variance"] == report["rows"][0]["variance"] == "large" and "variance large" in r.stdout
    r = _cli("sample", "--sampler", "ddim", "--variance", "large", "--out", tmp_path / "x.png")
    assert r.returncode != 0 and "Traceback" not in r.stderr and not (tmp_path / "x.png").exists()
    assert "variance='large' sets the noise of the 'ddpm' step" in r.stderr


def test_bad_guidance_interval_is_one_readable_line(tmp_path):
    r = _cli("sample", "--guidance-interval", 2, 1, "--out", tmp_path / "x.png")
    assert r.returncode != 0 and "Traceback" not in r.stderr and not (tmp_path / "x.png").exists()
    assert "guidance_interval=[2.0, 1.0]: pass two noise levels (σ_lo, σ_hi) with 0 <= σ_lo < σ_hi" in r.stderr


def test_bench_sample_prints_ratios(tiny_model):
    r = _cli("bench", "sample", "--quick", "--model", tiny_model)
    assert r.returncode == 0, r.stderr
    assert "×1.00" in r.stdout and "ddim, 10 steps" in r.stdout and "peak MiB" in r.stdout


def test_bench_cfg_compares_batched_and_two_forwards(tiny_model):
    r = _cli("bench", "cfg", "--quick", "--model", tiny_model)
    assert r.returncode == 0, r.stderr
    assert "two forwards of N" in r.stdout and "one forward of 2N" in r.stdout and "max |Δ|" in r.stdout


def test_bench_train_prints_peak_and_variants(monkeypatch, capsys):
    from functools import partial
    from diffusion_course import bench, cli
    monkeypatch.setattr(bench, "bench_train", partial(bench.bench_train, num_hiddens=8, batch_size=16))   # tiny
    cli.main(["bench", "train", "--quick"])
    out = capsys.readouterr().out
    assert "GFLOP/s fp32" in out and all(v in out for v in bench.QUICK_TRAIN) and "% of peak" in out


@pytest.mark.parametrize("cmd", [None, *COMMANDS])
def test_help_is_clear(cmd):
    r = _cli(*([cmd] if cmd else []), "--help")
    assert r.returncode == 0 and r.stdout.startswith("usage: diffusion-course"), r.stderr
    if cmd is None: assert all(c in r.stdout for c in COMMANDS) and "Start with `diffusion-course tour`" in r.stdout
    if cmd == "tour": assert all(f in r.stdout for f in ("--out", "--fast", "--seed", "--device", "--open"))
    if cmd == "sample": assert all(f in r.stdout for f in ("--model", "--prompt", "--n ", "--guidance", ".npy"))


def test_help_starts_fast_without_torch():
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "diffusion_course", "--help"], capture_output=True,
                       text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert r.returncode == 0, r.stderr
    heavy = [m for m in ("torch", "diffusers", "matplotlib", "transformers") if f" {m}\n" in r.stderr]
    assert not heavy, f"`diffusion-course --help` imports {heavy}: import them inside the commands"
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    assert cpu < 1.5, f"`diffusion-course --help` took {cpu:.2f} s of CPU time (at most 1.5 s)"


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
    assert r.returncode != 0 and "Traceback (most recent call last)" in r.stderr
    assert "ValueError: guidance=nan" in r.stderr


def test_sample_defaults_to_the_tours_model(tmp_path):
    "`diffusion-course sample` with no --model and no --prompts: the tour's Part A model on its example prompts."
    from diffusion_course.denoisers import DEFAULT_MODEL, EXAMPLE_PROMPTS
    from diffusion_course.tour_base import PART_A_MODEL
    r = _cli("sample", "--steps", 2, "--out", tmp_path / "x.npy")
    assert r.returncode == 0, r.stderr
    assert np.load(tmp_path / "x.npy").shape == (len(EXAMPLE_PROMPTS), 3, 32, 32)
    assert PART_A_MODEL == DEFAULT_MODEL and DEFAULT_MODEL in _cli("sample", "--help").stdout


def test_sample_snap_says_each_match(tmp_path):
    "`--snap` draws each prompt as the nearest concept prompt and says which; a class model refuses it clearly."
    r = _cli("sample", "--prompt", "a puppy", "a red apple", "--snap", "--steps", 2, "--out", tmp_path / "x.npy")
    assert r.returncode == 0, r.stderr
    assert "'a puppy' -> 'a dog'" in r.stdout and "'a red apple' -> 'a red apple' (cosine 1.00)" in r.stdout
    r = _cli("sample", "--model", "mnist-class-ddpm", "--prompts", "7", "--snap", "--out", tmp_path / "y.png")
    assert r.returncode != 0 and "has no concept table" in r.stderr and "Traceback" not in r.stderr
