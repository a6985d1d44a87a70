"Interrupted training loses nothing: a real SIGKILL, Ctrl-C, a callback, a full disk, a loss gone NaN (tiny sizes)."
import errno
import json
import os
import signal
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from diffusion_course.learner import Callback, latest_checkpoint
from diffusion_course.trainer import get_preset, train
from diffusion_course.unet import CourseUNet

from cases_training import NanLossAt   # the same NaN injector the bad-input cases use
import forked   # tests/forked.py: commands in processes of their own, started warm

TINY = dict(n_train=512, n_test=64, num_hiddens=8, batch_size=64, n_samples_per_class=1, sample_steps=2, T=20)
EXACT = ("step_loss", "train_loss", "test_loss", "lr")       # everything in history.json but the wall-clock seconds

# A training run in its own process, of any recipe. With a delay, a callback sleeps after every optimiser step, so an
# epoch lasts long enough for the kill to land inside it; sleeping changes no number.
SCRIPT = """
import sys, time
from diffusion_course.learner import Callback, fit
out, resume, delay, which = sys.argv[1], sys.argv[2] == "resume", float(sys.argv[3]), sys.argv[4]
class Slow(Callback):
    def after_step(self, learn): time.sleep(delay)
def recipe():
    if which == "class-ddpm":
        from diffusion_course.trainer import UNetRecipe, get_preset
        return UNetRecipe(get_preset("class-ddpm", epochs=3, **{tiny}))
    if which == "emoji-t2i":
        from diffusion_course.t2i_train import T2IConfig, T2IRecipe
        return T2IRecipe(T2IConfig(channels=(8, 16, 16), epochs=3, batch_size=8, limit=8, sample_steps=2,
                                   warmup_steps=2), cache=out)
    if which == "emoji-t2i-sr":
        from diffusion_course.t2i_train import SRConfig, SRRecipe
        return SRRecipe(SRConfig(channels=(8, 16, 16, 16), epochs=3, batch_size=8, limit=8, sample_steps=2,
                                 warmup_steps=2), cache=out)
    if which == "classifier":
        from diffusion_course.release import ClassifierConfig, ClassifierRecipe
        return ClassifierRecipe(ClassifierConfig(epochs=3, n_train=512, n_test=256, batch_size=64))
    if which == "judge":
        from diffusion_course.emoji import load_emoji
        from diffusion_course.t2i_eval import JudgeConfig, JudgeRecipe
        concepts = tuple(sorted(set(load_emoji(32, limit=40).names))[:10])
        return JudgeRecipe(JudgeConfig(concepts, epochs=3, batch_size=8, width=8, limit=40))
    if which == "reflow":
        from pathlib import Path
        from diffusion_course.reflow import ReflowConfig, ReflowRecipe
        here = Path(out).parent                                     # tiny teacher and pairs: see `_reflow_inputs`
        return ReflowRecipe(ReflowConfig(init=str(here / "init"), pairs=str(here / "pairs"), epochs=3, batch_size=16,
                                         n_test=16, sample_steps=1))
fit(recipe(), out=out, resume=resume, progress=False, callbacks=[Slow()] if delay else [])
""".replace("{tiny}", repr(TINY))
RECIPES = ("class-ddpm", "emoji-t2i", "emoji-t2i-sr", "classifier", "judge", "reflow")   # every model it trains


def _reflow_inputs(folder):
    "A tiny class-conditioned flow UNet in `folder`/init and 96 of its one-step pairs in `folder`/pairs."
    from diffusion_course.denoisers import CourseDenoiser
    from diffusion_course.reflow import write_pairs
    torch.manual_seed(0)
    unet = CourseUNet(num_hiddens=8, time_cond=True, num_classes=10, objective="flow")
    unet.save_pretrained(Path(folder) / "init")
    write_pairs(CourseDenoiser(unet), Path(folder) / "pairs", n=96, chunk=48, steps=1, sampler="euler", guidance=1.0,
                progress=False)


def _env():
    return dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", HF_HUB_OFFLINE="1")


def _train(out, resume=False, delay=0.0, which="class-ddpm"):
    "Run SCRIPT to the end; returns the finished process."
    r = forked.run(["-c", SCRIPT, out, "resume" if resume else "new", delay, which], env=_env(), timeout=600)
    assert r.returncode == 0, r.stderr
    return r


def _wait_for(pred, proc, timeout=300):
    t0 = time.time()
    while not pred():
        err = proc.output()[1] if proc.poll() is not None else ""
        assert proc.poll() is None, f"the run ended early (exit {proc.returncode}): {err}"
        assert time.time() - t0 < timeout, "timed out waiting for the first checkpoint"
        time.sleep(0.01)


def _weights(run):
    return load_file(str(Path(run) / "model" / "diffusion_pytorch_model.safetensors"))


def _history(run):
    h = json.loads((Path(run) / "history.json").read_text())
    return {k: h[k] for k in EXACT}


def _assert_same_run(a, b):
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    for k in wa: assert torch.equal(wa[k], wb[k]), f"weight {k} differs from the uninterrupted run"
    assert _history(a) == _history(b), "the loss history differs from the uninterrupted run"


@pytest.mark.parametrize("which", RECIPES)
def test_sigkill_mid_epoch_then_resume_is_exact(tmp_path, which):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    if which == "reflow": _reflow_inputs(tmp_path)
    _train(straight, which=which)
    delay = 0.15                                                         # 5 to 8 steps per epoch: about 1 s each
    p = forked.start(["-c", SCRIPT, killed, "new", delay, which], env=_env())
    try:
        _wait_for(lambda: latest_checkpoint(killed) is not None, p)     # epoch 1 is saved ...
        time.sleep(3 * delay)                                            # ... and epoch 2 is a few steps in
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=60)
    finally:
        if p.poll() is None: p.kill()
    assert p.returncode == -signal.SIGKILL
    assert latest_checkpoint(killed).name == "epoch_0001", "the kill must land inside epoch 2"
    assert len(json.loads((killed / "history.json").read_text())["train_loss"]) == 1
    assert not (killed / "model").exists(), "a killed run has no final model"
    r = _train(killed, resume=True, which=which)
    assert "Resuming" in r.stdout and "from epoch_0001" in r.stdout
    left = sorted(p.name for p in (killed / "checkpoints").iterdir())
    assert left[-1] == "epoch_0003" and all(n.startswith("epoch_") for n in left), f"temporaries left: {left}"
    _assert_same_run(straight, killed)


def test_ctrl_c_is_one_line_and_resumable(tmp_path):
    out = tmp_path / "run"
    cmd = ["-m", "diffusion_course", "train", "--preset", "single-step",     # cheap per-epoch grids
           "--epochs", "3", "--n-train", "512", "--n-test", "64", "--num-hiddens", "8", "--batch-size", "64", "--quiet",
           "--out", str(out)]
    p = forked.start(cmd, env=_env())
    try:
        _wait_for(lambda: latest_checkpoint(out) is not None, p)
        p.send_signal(signal.SIGINT)
        p.wait(timeout=120)
        err = p.output()[1]
    finally:
        if p.poll() is None: p.kill()
    if p.returncode == 0: pytest.skip("the run finished before Ctrl-C arrived")
    assert p.returncode == 130, err
    expected = "diffusion-course train: error: interrupted (finished epochs are saved: add --resume to continue)"
    assert err.strip() == expected, err
    r = forked.run(cmd + ["--resume"], env=_env(), timeout=600)
    assert r.returncode == 0, r.stderr
    assert latest_checkpoint(out).name == "epoch_0003" and (out / "model" / "config.json").exists()


def _full_disk_on_call(n):
    "A `torch.save` that, on its `n`-th call, writes half a file and then fails as a full disk does."
    real, calls = torch.save, [0]
    def save(obj, f, *a, **kw):
        calls[0] += 1
        if calls[0] == n:
            Path(f).write_bytes(b"PK\x03\x04 half a checkpoint")
            raise OSError(errno.ENOSPC, "No space left on device", str(f))
        return real(obj, f, *a, **kw)
    return save


def test_full_disk_during_a_checkpoint_keeps_the_previous_one(tmp_path, monkeypatch):
    cfg = get_preset("class-ddpm", epochs=2, **TINY)
    train(cfg, out=tmp_path / "straight", progress=False)
    run = tmp_path / "run"
    monkeypatch.setattr(torch, "save", _full_disk_on_call(2))           # epoch 1's state.pt is written, epoch 2's fails
    with pytest.raises(OSError, match="No space left on device"):
        train(cfg, out=run, progress=False)
    monkeypatch.undo()
    left = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert left == ["epoch_0001"], "no half-written checkpoint may remain"
    ck = latest_checkpoint(run)
    CourseUNet.from_pretrained(ck / "model")                             # the previous checkpoint loads
    assert torch.load(ck / "state.pt", weights_only=False)["epoch"] == 1
    assert len(json.loads((run / "history.json").read_text())["train_loss"]) == 1
    train(cfg, out=run, resume=True, progress=False)                     # and resumes to the same end
    _assert_same_run(tmp_path / "straight", run)


def test_full_disk_in_the_cli_is_one_line(tmp_path, monkeypatch):
    from bad_inputs import run_cli
    monkeypatch.setattr(torch, "save", _full_disk_on_call(1))
    code, _, err = run_cli("train", "--preset", "single-step", "--epochs", 1, "--n-train", 128, "--n-test", 32,
                           "--num-hiddens", 8, "--batch-size", 64, "--quiet", "--out", tmp_path / "run")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "No space left on device" in err and "Traceback" not in err, err
    assert latest_checkpoint(tmp_path / "run") is None




class StopAfter(Callback):
    "Raise KeyboardInterrupt (a Ctrl-C) after `n` optimiser steps."
    def __init__(self, n): self.n, self.steps = n, 0
    def after_step(self, learn):
        self.steps += 1
        if self.steps == self.n: raise KeyboardInterrupt


def test_a_callback_interrupts_mid_epoch_and_the_resume_is_exact(tmp_path):
    cfg = get_preset("class-ddpm", epochs=3, **TINY)
    straight, run = tmp_path / "straight", tmp_path / "run"
    train(cfg, out=straight, progress=False)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, out=run, progress=False, callbacks=[StopAfter(8 + 3)])    # 8 steps per epoch: epoch 2, step 3
    assert latest_checkpoint(run).name == "epoch_0001" and not (run / "model").exists()
    assert len(json.loads((run / "history.json").read_text())["train_loss"]) == 1
    train(cfg, out=run, resume=True, progress=False)
    _assert_same_run(straight, run)


def test_nan_loss_stops_with_the_last_good_checkpoint(tmp_path):
    cfg = get_preset("class-ddpm", epochs=3, **TINY)
    msg = r"epoch 2, step 3: loss = nan; the last good checkpoint, epoch_0001, is kept"
    with pytest.raises(FloatingPointError, match=msg):
        train(cfg, out=tmp_path, progress=False, callbacks=[NanLossAt(8 + 3)])   # 8 steps per epoch: epoch 2, step 3
    assert latest_checkpoint(tmp_path).name == "epoch_0001"
    state = torch.load(latest_checkpoint(tmp_path) / "state.pt", weights_only=False)
    assert state["epoch"] == 1
    w = CourseUNet.from_pretrained(latest_checkpoint(tmp_path) / "model").state_dict()
    assert all(v.isfinite().all() for v in w.values() if v.is_floating_point())
    assert not (tmp_path / "model").exists()


def test_nan_weights_are_never_checkpointed(tmp_path, monkeypatch):
    "Weights that turn NaN in the last step of an epoch (with a finite loss) are caught before the checkpoint."
    real_step = torch.optim.Adam.step
    calls = [0]
    def poisoned_step(self, *a, **kw):
        out = real_step(self, *a, **kw)
        calls[0] += 1
        if calls[0] == 16:                                               # the last step of epoch 2
            with torch.no_grad(): next(p for g in self.param_groups for p in g["params"]).fill_(float("nan"))
        return out
    monkeypatch.setattr(torch.optim.Adam, "step", poisoned_step)
    msg = r"epoch 2, step 8: weights or test loss \(nan\) not finite; the last good checkpoint, epoch_0001"
    with pytest.raises(FloatingPointError, match=msg):
        train(get_preset("class-ddpm", epochs=3, **TINY), out=tmp_path, progress=False)
    assert latest_checkpoint(tmp_path).name == "epoch_0001"


def test_t2i_nan_loss_stops_with_the_last_good_checkpoint(tmp_path, monkeypatch):
    import diffusion_course.t2i_train as TT
    from diffusion_course.t2i_train import T2IConfig, train_t2i
    real, calls = TT.t2i_loss, [0]
    def loss(*a):
        calls[0] += 1
        return real(*a) * (float("nan") if calls[0] == 5 + 2 else 1.0)   # 40 images / 8 = 5 steps/epoch, 1 fixed_loss
    monkeypatch.setattr(TT, "t2i_loss", loss)
    cfg = T2IConfig(channels=(8, 16, 16), epochs=2, batch_size=8, limit=8, sample_steps=3, warmup_steps=2)
    with pytest.raises(FloatingPointError, match=r"epoch 2, step 1: loss = nan; the last good checkpoint, epoch_0001"):
        train_t2i(cfg, tmp_path, progress=False)
    assert latest_checkpoint(tmp_path).name == "epoch_0001"
    assert not (tmp_path / "model").exists()
