"""Training (`get_preset`, `train`, `train_t2i`) on bad configs and bad run folders: one clear error, before anything
is written.

Every bad config fails in `check_config` / `check_t2i_config` at the top of `train` / `train_t2i`, so no model is
built and no data is loaded; the cases that pass `out=` also check that the folder was never created. The one case
that trains (a loss that turns NaN) runs two epochs of a width-8 UNet on 256 images.
"""
import dataclasses
import json
import uuid

from bad_inputs import Case, scratch

from diffusion_course.t2i_train import T2IConfig, check_t2i_config, train_t2i
from diffusion_course.learner import Callback, latest_checkpoint
from diffusion_course.trainer import PRESETS, get_preset, train

TINY = dict(n_train=256, n_test=64, num_hiddens=8, batch_size=32, n_samples_per_class=1, sample_steps=2, T=20)
T2I_TINY = dict(channels=(8, 16, 16), batch_size=8, limit=8, sample_steps=3, warmup_steps=2)


def fresh():
    "A folder path in the scratch folder that does not exist yet."
    return scratch() / f"run-{uuid.uuid4().hex[:8]}"


def writes_nothing(fn):
    "`fn(out)` with a fresh `out`; when it raises, `out` must not exist (the error came before any write)."
    def run():
        out = fresh()
        try: return fn(out)
        except Exception:
            if out.exists():
                raise AssertionError(f"{out} was written before the error: {sorted(p.name for p in out.rglob('*'))}")
            raise
    return run


def fake_run(t2i=False, **saved):
    "A run folder with one (empty) checkpoint and a train_config.json of the preset, with `saved` fields changed."
    out = fresh()
    (out / "checkpoints" / "epoch_0001").mkdir(parents=True)
    cfg = T2IConfig(**T2I_TINY) if t2i else get_preset("class-ddpm", **TINY)
    (out / "train_config.json").write_text(json.dumps(dataclasses.asdict(cfg) | saved))
    return out


class NanLossAt(Callback):
    "Turn the `n`-th training loss into NaN, as too large a learning rate would."
    def __init__(self, n): self.n, self.calls = n, 0
    def after_loss(self, learn):
        self.calls += 1
        if self.calls == self.n: learn.loss = learn.loss * float("nan")


def nan_loss_in_epoch_2():
    "Two tiny epochs whose 3rd step of epoch 2 gives a NaN loss; on the way out, epoch 1's checkpoint must be intact."
    out = fresh()
    try: train(get_preset("class-ddpm", epochs=2, **TINY), out=out, progress=False, callbacks=[NanLossAt(8 + 3)])
    except FloatingPointError:
        assert latest_checkpoint(out).name == "epoch_0001", "the NaN epoch must not be saved"
        assert len(json.loads((out / "history.json").read_text())["train_loss"]) == 1
        raise


ddpm = lambda **kw: get_preset("class-ddpm", **kw)
raw = lambda **kw: dataclasses.replace(PRESETS["class-ddpm"], **TINY | kw)     # skips get_preset's check (train checks)

CASES = [
    # ---- configs -----------------------------------------------------------------------------------------------------
    Case("training", "get_preset with n_train=-5 (would train on 59,995 images)",
         lambda: ddpm(n_train=-5), ValueError, r"n_train=-5: expected n_train >= 0\. 0 = the whole split"),
    Case("training", "get_preset with epochs=0", lambda: ddpm(epochs=0), ValueError, r"epochs=0: expected epochs >= 1"),
    Case("training", "get_preset with batch_size=0",
         lambda: ddpm(batch_size=0), ValueError, r"batch_size=0: expected batch_size >= 1"),
    Case("training", "get_preset with epochs=2.5",
         lambda: ddpm(epochs=2.5), ValueError, r"epochs=2\.5: expected an integer"),
    Case("training", "get_preset with lr=nan",
         lambda: ddpm(lr=float("nan")), ValueError, r"lr=nan: expected a finite number.*1e-4 to 1e-2"),
    Case("training", "get_preset with lr=0", lambda: ddpm(lr=0), ValueError, r"lr=0: expected 0 < lr <= 1"),
    Case("training", "get_preset with lr=-1e-3",
         lambda: ddpm(lr=-1e-3), ValueError, r"lr=-0\.001: expected 0 < lr <= 1"),
    Case("training", "get_preset with ema_decay=1",
         lambda: ddpm(ema_decay=1.0), ValueError, r"ema_decay=1 would never move the EMA copy"),
    Case("training", "get_preset with ema_decay=-0.1",
         lambda: ddpm(ema_decay=-0.1), ValueError, r"ema_decay=-0\.1: expected 0 <= ema_decay <= 1"),
    Case("training", "get_preset with p_uncond=1.5",
         lambda: ddpm(p_uncond=1.5), ValueError, r"p_uncond=1\.5: expected 0 <= p_uncond <= 1"),
    Case("training", "get_preset with T=1", lambda: ddpm(T=1), ValueError, r"T=1: expected T >= 2"),
    Case("training", "get_preset with beta_start > beta_end",
         lambda: ddpm(beta_start=0.1, beta_end=0.01), ValueError, r"beta_start=0\.1 > beta_end=0\.01.*swap them"),
    Case("training", "get_preset with guidance=nan",
         lambda: ddpm(guidance=float("nan")), ValueError, r"guidance=nan: expected a finite number"),
    Case("training", "get_preset with dataset='cifar10'",
         lambda: ddpm(dataset="cifar10"), ValueError, r"dataset='cifar10': choose one of 'mnist', 'fashion'"),
    Case("training", "get_preset with class_cond='yes'",
         lambda: ddpm(class_cond="yes"), ValueError, r"class_cond='yes': expected True or False"),
    Case("training", "get_preset with a misspelt field",
         lambda: ddpm(epoch=3), ValueError, r"Unknown TrainConfig field\(s\) \['epoch'\]"),
    Case("training", "get_preset of the fashion class-fm recipe works",
         lambda: get_preset("class-fm", dataset="fashion", epochs=1),
         check=lambda c: (c.objective, c.dataset, c.batch_size) == ("flow", "fashion", 64)),
    # ---- train: checked before anything is written -------------------------------------------------------------------
    Case("training", "train a config with epochs=-1 (would save an untrained model)",
         writes_nothing(lambda out: train(raw(epochs=-1), out=out, progress=False)), ValueError,
         r"epochs=-1: expected epochs >= 1"),
    Case("training", "train a config with batch_size=0 (would divide by zero)",
         writes_nothing(lambda out: train(raw(batch_size=0), out=out, progress=False)), ValueError,
         r"batch_size=0: expected batch_size >= 1"),
    Case("training", "train with n_train smaller than one batch",
         writes_nothing(lambda out: train(raw(n_train=10), out=out, progress=False)), ValueError,
         r"10 training images make no full batch of 32.*smaller batch_size or a larger n_train"),
    Case("training", "train with n_train beyond the split",
         writes_nothing(lambda out: train(raw(n_train=100_000), out=out, progress=False)), ValueError,
         r"n_train=100000, but mnist has only 60000 images.*0 for all"),
    Case("training", "train --resume into a folder with no run",
         writes_nothing(lambda out: train(raw(), out=out, resume=True, progress=False)), FileNotFoundError,
         r"No checkpoint in .* to resume: drop --resume to start a new run"),
    Case("training", "train resume=True without out",
         lambda: train(raw(), resume=True, progress=False), ValueError, r"resume=True needs out="),
    Case("training", "train into a run folder without resume",
         lambda: train(raw(), out=fake_run(), progress=False), FileExistsError,
         r"already holds checkpoints \(latest epoch_0001\): pass resume=True \(--resume\)"),
    Case("training", "train --resume with a different recipe",
         lambda: train(raw(), out=fake_run(lr=0.5), resume=True, progress=False), ValueError,
         r"Cannot resume .*the recipe differs from the saved one in \{'lr': \(0\.5, 0\.001\)\}"),
    Case("training", "train in bf16 after an fp32 run in the same process",
         lambda: [train(raw(n_train=64, epochs=1, mixed_precision=mp), progress=False)[1]["train_loss"][0]
                  for mp in ("no", "bf16")],
         check=lambda losses: all(0 < l < 10 for l in losses)),
    Case("training", "the loss turns NaN in epoch 2",
         nan_loss_in_epoch_2, FloatingPointError,
         r"diverged at epoch 2, step 3: loss = nan; the last good checkpoint, epoch_0001, is kept.*Lower the learning "
         r"rate"),
    # ---- train_t2i ---------------------------------------------------------------------------------------------------
    Case("training", "train_t2i with batch_size=0",
         writes_nothing(lambda out: train_t2i(T2IConfig(batch_size=0), out, progress=False)), ValueError,
         r"batch_size=0: expected batch_size >= 1"),
    Case("training", "train_t2i with epochs=0",
         writes_nothing(lambda out: train_t2i(T2IConfig(epochs=0), out, progress=False)), ValueError,
         r"epochs=0: expected epochs >= 1"),
    Case("training", "train_t2i with lr=inf",
         writes_nothing(lambda out: train_t2i(T2IConfig(lr=float("inf")), out, progress=False)), ValueError,
         r"lr=inf: expected a finite number"),
    Case("training", "train_t2i with ema_decay=1",
         writes_nothing(lambda out: train_t2i(T2IConfig(ema_decay=1.0), out, progress=False)), ValueError,
         r"ema_decay=1 would never move the EMA copy"),
    Case("training", "train_t2i with size=48",
         writes_nothing(lambda out: train_t2i(T2IConfig(size=48), out, progress=False)), ValueError,
         r"size=48: the emoji arrays exist at 32 and 64 pixels"),
    Case("training", "train_t2i with heads=5 (does not divide the widths)",
         lambda: check_t2i_config(T2IConfig(heads=5)), ValueError, r"heads=5 must divide the widths"),
    Case("training", "train_t2i with 2 widths but 3 attention flags",
         lambda: check_t2i_config(T2IConfig(channels=(32, 64))), ValueError,
         r"expected one width and one True/False per resolution"),
    Case("training", "train_t2i resume into a folder with no run",
         writes_nothing(lambda out: train_t2i(T2IConfig(**T2I_TINY), out, resume=True, progress=False)),
         FileNotFoundError, r"No checkpoint in .* to resume: drop --resume"),
    Case("training", "train_t2i into a run folder without resume",
         lambda: train_t2i(T2IConfig(**T2I_TINY), fake_run(t2i=True), progress=False), FileExistsError,
         r"already holds checkpoints \(latest epoch_0001\): pass resume=True"),
    Case("training", "train_t2i with captions='keywords' (not a caption set)",
         lambda: check_t2i_config(T2IConfig(captions="keywords")), ValueError, r"expected 'names' \(the recipe\)"),
    Case("training", "train_t2i with captions='collisions' on data where no keyword names another emoji",
         lambda: train_t2i(T2IConfig(**T2I_TINY, captions="collisions"), fresh(), progress=False), ValueError,
         r"An epoch of 0 images makes no full batch of 8: use a smaller batch_size or a larger limit"),
    Case("training", "the emoji-t2i recipe itself passes the checks",
         lambda: check_t2i_config(T2IConfig()), check=lambda c: c == T2IConfig()),
]
