"Trainer: multi-process sync, exact resume, atomic checkpoints, and the `train` CLI (all at tiny sizes)."
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from diffusion_course.learner import latest_checkpoint
from diffusion_course.trainer import get_preset, train
from diffusion_course.unet import CourseUNet

import forked   # tests/forked.py: commands in processes of their own, started warm

TINY = dict(n_train=256, n_test=64, num_hiddens=8, batch_size=32, n_samples_per_class=1, sample_steps=2, T=20)


def _train_and_dump(out_dir):
    "Run inside each launched process: train a tiny model and dump this rank's parameters."
    import torch.distributed as dist
    cfg = get_preset("class-fm", epochs=2, **TINY)
    model, hist = train(cfg, progress=False)
    rank = dist.get_rank() if dist.is_initialized() else 0
    torch.save({k: v.cpu() for k, v in model.state_dict().items()} | {"_loss": torch.tensor(hist["step_loss"])},
               Path(out_dir) / f"rank{rank}.pt")


def test_two_process_ranks_stay_in_sync(tmp_path):
    from accelerate import debug_launcher
    from accelerate.state import AcceleratorState
    AcceleratorState._reset_state(True)      # an in-process `train` of an earlier test left its 1-process state
    debug_launcher(_train_and_dump, args=(str(tmp_path),), num_processes=2)
    r0, r1 = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    assert set(r0) == set(r1)
    for k in r0:
        if k == "_loss": continue
        assert torch.equal(r0[k], r1[k]), f"parameter {k} differs between ranks"
    # each rank saw its own shard and its own noise: the per-step losses must differ
    assert not torch.allclose(r0["_loss"], r1["_loss"])
    # and the model actually moved away from its initialisation
    torch.manual_seed(0)
    init = CourseUNet(num_hiddens=8, time_cond=True, num_classes=10).state_dict()
    assert not torch.equal(init["out.weight"], r0["out.weight"])


def test_trainer_imports_no_ui_package():
    "Headless (multi-process) training loads no widget package, and `trainer` itself no plotting: see `records`."
    code = ("import sys, diffusion_course.trainer\n"
            "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] == 'ipywidgets' or "
            "m in ('diffusion_course.widgets', 'diffusion_course.records'))))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "", f"trainer pulled in {r.stdout.strip()}"
    src = (Path(__file__).parent.parent / "diffusion_course" / "trainer.py").read_text()
    assert "matplotlib" not in src and "ipywidgets" not in src and ".widgets" not in src


# Exact resume after a real SIGKILL mid-epoch, Ctrl-C, a full disk and NaN losses: tests/test_interrupt.py.


def test_checkpoints_pruned_and_self_describing(tmp_path):
    cfg = get_preset("time-ddpm", epochs=3, keep_checkpoints=2, ema_decay=0.9, **TINY)
    train(cfg, out=tmp_path, progress=False)
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["epoch_0002", "epoch_0003"]
    m = CourseUNet.from_pretrained(tmp_path / "model")
    assert m.config.objective == "ddpm" and m.config.num_train_timesteps == 20
    hist = json.loads((tmp_path / "history.json").read_text())
    assert len(hist["test_loss"]) == 3 and len(hist["step_loss"]) == 3 * 8
    assert (tmp_path / "samples" / "epoch_0003.png").stat().st_size > 0


def test_resume_refuses_a_different_recipe(tmp_path):
    cfg = get_preset("time-ddpm", epochs=1, **TINY)
    train(cfg, out=tmp_path, progress=False)
    with pytest.raises(ValueError, match="recipe differs"):
        train(dataclasses.replace(cfg, lr=0.5, epochs=2), out=tmp_path, resume=True, progress=False)
    with pytest.raises(FileExistsError, match="--resume"):
        train(cfg, out=tmp_path, progress=False)


def test_resume_a_run_saved_before_a_field_existed(tmp_path):
    "A run folder written before `init` existed resumes (the missing field reads as its default); so does a new keep."
    cfg = get_preset("time-ddpm", epochs=1, **TINY)
    train(cfg, out=tmp_path, progress=False)
    saved = json.loads((tmp_path / "train_config.json").read_text())
    del saved["init"]
    (tmp_path / "train_config.json").write_text(json.dumps(saved))
    _, hist = train(dataclasses.replace(cfg, epochs=2, keep_checkpoints=5), out=tmp_path, resume=True, progress=False)
    assert len(hist["train_loss"]) == 2
    differs = r"recipe differs from the saved one in \{'init': \('', 'mnist-class-ddpm'\)\}"
    with pytest.raises(ValueError, match=differs):
        train(dataclasses.replace(cfg, epochs=3, init="mnist-class-ddpm"), out=tmp_path, resume=True, progress=False)


def _cli(*args, cwd=None):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return forked.run(["-m", "diffusion_course", *args], env=env, cwd=cwd)


def test_cli_train_and_resume(tmp_path):
    base = ["train", "--preset", "time-fm", "--out", str(tmp_path / "run"), "--n-train", "128", "--n-test", "32",
            "--num-hiddens", "8", "--batch-size", "32", "--quiet"]
    r = _cli(*base, "--epochs", "1")
    assert r.returncode == 0, r.stderr
    assert "done in" in r.stdout and (tmp_path / "run" / "model" / "config.json").exists()
    r = _cli(*base, "--epochs", "2")                        # forgot --resume: refused, one readable line
    assert r.returncode == 2 and "--resume" in r.stderr and "Traceback" not in r.stderr
    r = _cli(*base, "--epochs", "2", "--resume")
    assert r.returncode == 0, r.stderr
    assert latest_checkpoint(tmp_path / "run").name == "epoch_0002"


def test_cli_resume_from_a_weights_only_checkpoint(tmp_path):
    "A run in progress commits one float16, weights-only checkpoint; a later session goes on from it."
    from diffusion_course.learner import slim_checkpoint
    run, kept = tmp_path / "run", tmp_path / "kept"
    base = ["train", "--preset", "time-fm", "--out", str(run), "--n-train", "128", "--n-test", "32",
            "--num-hiddens", "8", "--batch-size", "32", "--quiet"]
    assert _cli(*base, "--epochs", "1").returncode == 0
    slim_checkpoint(latest_checkpoint(run), kept)
    for ck in (run / "checkpoints").iterdir(): ck.rename(tmp_path / ck.name)      # as a fresh clone has it
    kept.rename(run / "checkpoints" / "epoch_0001")
    r = _cli(*base, "--epochs", "2", "--resume")                # refused, saying how to go on
    assert r.returncode == 2 and "--fresh-optimizer" in r.stderr and "Traceback" not in r.stderr
    r = _cli(*base, "--epochs", "2", "--resume", "--fresh-optimizer")
    assert r.returncode == 0, r.stderr
    hist = json.loads((run / "history.json").read_text())
    assert len(hist["test_loss"]) == 2 and latest_checkpoint(run).name == "epoch_0002"


@pytest.mark.parametrize("args,msg", [(["train", "--preset", "nope"], "choose one of"),
                                      (["train", "--preset", "class-ddpm", "--epochs", "0"], "epochs=0: expected")])
def test_cli_bad_input_is_one_readable_line(args, msg):
    r = _cli(*args)
    assert r.returncode == 2
    assert msg in r.stderr and "Traceback" not in r.stderr
