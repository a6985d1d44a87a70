"""Make the few-step models of `nbs/25a_reflow.ipynb`: pairs of `mnist-class-fm`, its reflow (2-rectified flow), the
reflowed model's pairs, and their distillation onto one and two Euler steps.

    python nbs/runs/reflow_run.py WORK [--n 40000] [--reflow-epochs 4] [--distill-epochs 6]

Every stage is resumable: run the same command again after an interruption and it goes on where it stopped (pairs
are written chunk by chunk, the two fine-tunes keep per-epoch checkpoints). WORK holds the pairs (about 0.8 KB per
pair) and the runs; the light records (config, history, samples) are copied to nbs/runs/<name>/ with a provenance.json.
"""
import argparse
import json
import platform
import shutil
import sys
import time
from pathlib import Path

import torch

from diffusion_course.denoisers import CourseDenoiser, load_pretrained
from diffusion_course.learner import latest_checkpoint
from diffusion_course.reflow import ReflowConfig, flow_unet, reflow, write_pairs

RECORDS = Path(__file__).parent


def fine_tune(cfg, out, name, command):
    "Run (or resume, or skip when finished) one fine-tune, then copy its record to nbs/runs/<name>."
    t0 = time.time()
    if not (out / "model").is_dir():
        reflow(cfg, out=out, resume=latest_checkpoint(out) is not None, progress=False)
    dest = RECORDS / name
    (dest / "samples").mkdir(parents=True, exist_ok=True)
    for f in ("train_config.json", "history.json"): shutil.copy(out / f, dest / f)
    for png in (out / "samples").glob("*.png"): shutil.copy(png, dest / "samples" / png.name)
    hist = json.loads((out / "history.json").read_text())
    prov = dict(command=command, machine=f"{platform.machine()} CPU, {torch.get_num_threads()} threads, "
                f"{platform.system()}, Python {platform.python_version()}, torch {torch.__version__}",
                epochs_done=len(hist["test_loss"]), epochs=cfg.epochs, train_seconds=round(sum(hist["epoch_seconds"]), 1),
                date=time.strftime("%Y-%m-%d"), wall_seconds_this_call=round(time.time() - t0, 1))
    (dest / "provenance.json").write_text(json.dumps(prov, indent=1))
    return out / "model"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("work", type=Path)
    p.add_argument("--n", type=int, default=40_000, help="pairs per stage (the last 1000 are held out)")
    p.add_argument("--reflow-epochs", type=int, default=4)
    p.add_argument("--distill-epochs", type=int, default=6)
    a = p.parse_args(argv)
    command = "python nbs/runs/reflow_run.py " + " ".join(sys.argv[1:] if argv is None else argv)
    teacher = load_pretrained("mnist-class-fm")
    t0 = time.time()
    write_pairs(teacher, a.work / "pairs-fm", a.n, steps=5, sampler="heun")          # the teacher at its default γ
    print(f"teacher pairs: {time.time() - t0:.0f} s", flush=True)
    rf = fine_tune(ReflowConfig(pairs=str(a.work / "pairs-fm"), epochs=a.reflow_epochs, sample_steps=2),
                   a.work / "reflow", "mnist-class-fm-reflow", command)
    t0 = time.time()
    write_pairs(CourseDenoiser(flow_unet(str(rf)), name="mnist-class-fm-reflow"), a.work / "pairs-reflow", a.n,
                steps=5, sampler="heun", guidance=1.0)                                   # guidance is in the weights now
    print(f"reflowed pairs: {time.time() - t0:.0f} s", flush=True)
    fine_tune(ReflowConfig(init=str(rf), pairs=str(a.work / "pairs-reflow"), times=(0, 0.5), epochs=a.distill_epochs,
                           sample_steps=1), a.work / "distill", "mnist-class-fm-distill", command)
    print("done", flush=True)


if __name__ == "__main__":
    main()
