"""Make the full-recipe Part B runs that the Part B notebooks (23, 24, 25) show, and the flow-matching model
shipped as `mnist-class-fm`.

    python nbs/runs/full_runs.py WORK DEST [--minutes 7] [--only NAME ...] [-- extra train flags]

Every run is `diffusion-course train --preset ... --mixed-precision bf16 --channels-last --quiet` on the whole
MNIST training split, all started at once (one GPU holds them all: the UNets are small). A run still going after
`--minutes` is stopped; its finished epochs stay (the trainer writes history and samples atomically per epoch).
Then the light artifacts of every run (train_config.json, history.json, samples/epoch_*.png) go to DEST/<name>/
with a provenance.json (command, machine, epochs done, training seconds); the single-step and pure-noise models are
measured on the test set (ood.json, pure_noise.json, ood.png), a Fashion-MNIST classifier is trained for the sample
accuracy of the Fashion model, and the runs in `PUBLISH` are published with `publish_run` to DEST/pretrained/<model>.

Extra flags after `--` go to every `train` command (the tests use `-- --n-train 256 --n-test 100 --epochs 1`).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

COMMON = ["--mixed-precision", "bf16", "--channels-last", "--quiet"]
RUNS = {                                   # name: flags (the course's recipes; EMA only on the shipped model)
    "single-step": ["--preset", "single-step"],
    "pure-noise": ["--preset", "pure-noise"],
    "time-ddpm": ["--preset", "time-ddpm"],
    "time-fm": ["--preset", "time-fm"],
    "time-fm-constant-lr": ["--preset", "time-fm", "--no-lr-decay"],
    "time-fm-constant-lr-1e-3": ["--preset", "time-fm", "--no-lr-decay", "--lr", "1e-3"],
    "class-fm": ["--preset", "class-fm", "--ema-decay", "0.999"],
    "fashion-class-ddpm": ["--preset", "class-ddpm", "--dataset", "fashion", "--ema-decay", "0.999"],
}
PUBLISH = {"class-fm": "mnist-class-fm", "fashion-class-ddpm": "fashion-class-ddpm"}
SIGMAS = [0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 1.0]


def launch(work, names, extra):
    "Start one `train` process per run; returns {name: (Popen, argv, t0)}."
    procs = {}
    for name in names:
        argv = ["train", *RUNS[name], "--out", str(work / name), *COMMON, *extra]
        log = open(work / f"{name}.log", "w")
        env = dict(os.environ, OMP_NUM_THREADS="2")
        procs[name] = (subprocess.Popen([sys.executable, "-m", "diffusion_course", *argv], stdout=log, stderr=subprocess.STDOUT, env=env), argv, time.time())
    return procs


def epochs_done(run):
    h = run / "history.json"
    return len(json.loads(h.read_text())["test_loss"]) if h.exists() else 0


def wait(procs, work, deadline):
    "Poll until every run ends or the deadline passes (then stop the rest); returns {name: (returncode, seconds)}."
    ended = {}
    while len(ended) < len(procs):
        for name, (p, _, t0) in procs.items():
            if name not in ended and p.poll() is not None: ended[name] = (p.returncode, time.time() - t0)
        if time.time() > deadline:
            for name, (p, _, t0) in procs.items():
                if name not in ended: p.terminate(); p.wait(); ended[name] = ("stopped at the deadline", time.time() - t0)
        print(time.strftime("%H:%M:%S"), {n: epochs_done(work / n) for n in procs}, flush=True)
        time.sleep(20 if len(ended) < len(procs) else 0)
    return ended


def measure_single_step(run, dest, n=None):
    "Test-set MSE of the final single-step denoiser at each σ (it was trained at 0.5), and one digit's sweep as a figure."
    import torch
    from torchvision.utils import save_image
    from diffusion_course.data import load_tensors, to_unit
    from diffusion_course.unet import CourseUNet
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    m = CourseUNet.from_pretrained(run / "model").to(dev).eval()
    x = to_unit(load_tensors("mnist", train=False)[0][:n]).to(dev)
    g = torch.Generator(device=dev).manual_seed(2)
    res = {"sigma": SIGMAS, "mse_noisy": [], "mse_denoised": []}
    with torch.no_grad():
        for s in SIGMAS:
            z = x + s * torch.randn(x.shape, generator=g, device=dev)
            out = torch.cat([m(z[i:i + 1000]) for i in range(0, len(z), 1000)]).clamp(0, 1)
            res["mse_noisy"].append(torch.mean((z.clamp(0, 1) - x) ** 2).item()); res["mse_denoised"].append(torch.mean((out - x) ** 2).item())
        d = x[:1].expand(len(SIGMAS), -1, -1, -1)
        z = d + torch.tensor(SIGMAS, device=dev)[:, None, None, None] * torch.randn(d.shape, generator=g, device=dev)
        save_image(torch.cat([z.clamp(0, 1), m(z).clamp(0, 1)]).cpu(), dest / "ood.png", nrow=len(SIGMAS), padding=1, pad_value=1.0)
    (dest / "ood.json").write_text(json.dumps(res, indent=1))


def measure_pure_noise(run, dest):
    "How far the pure-noise model's outputs sit from the mean training digit, against the data's own spread."
    import torch
    from diffusion_course.data import load_tensors, to_unit
    from diffusion_course.unet import CourseUNet
    m = CourseUNet.from_pretrained(run / "model").eval()
    x = to_unit(load_tensors("mnist", train=True)[0])
    mean_digit = x.mean(0)
    with torch.no_grad(): out = m(torch.randn(256, 1, 28, 28, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    res = {"mse_output_to_mean_digit": torch.mean((out - mean_digit) ** 2).item(), "output_spread": out.std(0).mean().item(),
           "data_variance_per_pixel": x.var(0).mean().item()}
    (dest / "pure_noise.json").write_text(json.dumps(res, indent=1))


def fashion_classifier(dest, epochs=5):
    "Train and save the classifier that reads Fashion-MNIST samples (the model card's sample accuracy uses it)."
    from diffusion_course.release import train_classifier
    t0 = time.time()
    clf, acc = train_classifier("fashion", epochs=epochs)
    folder = dest / "pretrained" / "fashion-classifier"
    clf.save_pretrained(folder)
    (folder / "README.md").write_text(f"# fashion-classifier\n\nThe small CNN `DigitClassifier` trained on the Fashion-MNIST training split with "
        f"`train_classifier('fashion', epochs={epochs})` (seed 0) in {time.time() - t0:.0f} s by nbs/runs/full_runs.py. Test accuracy: "
        f"{acc:.2%}. It measures the sample accuracy of `fashion-class-ddpm`.\n")
    print(f"fashion classifier: test accuracy {acc:.4f}", flush=True)
    return clf


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("work", type=Path); ap.add_argument("dest", type=Path)
    ap.add_argument("--minutes", type=float, default=7.0); ap.add_argument("--only", nargs="+", choices=list(RUNS))
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    a = ap.parse_args(argv[:cut]); a.extra = argv[cut + 1:]           # flags after `--` go to every train command
    from diffusion_course.release import _machine, publish_run
    names = a.only or list(RUNS)
    a.work.mkdir(parents=True, exist_ok=True); a.dest.mkdir(parents=True, exist_ok=True)
    deadline = time.time() + 60 * a.minutes
    procs = launch(a.work, names, a.extra)
    clf = fashion_classifier(a.dest, epochs=1 if a.extra else 5) if "fashion-class-ddpm" in names else None
    ended = wait(procs, a.work, deadline)
    for name in names:
        run, dest = a.work / name, a.dest / name
        print(f"--- {name}: {ended[name]}; log tail:\n" + (a.work / f"{name}.log").read_text()[-600:], flush=True)
        if not (run / "history.json").exists(): continue
        dest.mkdir(parents=True, exist_ok=True)
        for f in ("train_config.json", "history.json"): shutil.copy(run / f, dest / f)
        shutil.copytree(run / "samples", dest / "samples", dirs_exist_ok=True)
        cfg, hist = (json.loads((run / f).read_text()) for f in ("train_config.json", "history.json"))
        (dest / "provenance.json").write_text(json.dumps({
            "command": "diffusion-course " + " ".join(procs[name][1][:-len(a.extra) or None]).replace(str(a.work) + "/", "runs/"),
            "extra_flags": a.extra, "machine": _machine(), "epochs_done": epochs_done(run), "epochs": cfg["epochs"],
            "train_seconds": round(sum(hist["epoch_seconds"]), 1),
            "exit": ended[name][0], "date": time.strftime("%Y-%m-%d")}, indent=1))
        try:
            if name == "single-step" and (run / "model").exists(): measure_single_step(run, dest, n=100 if a.extra else None)
            if name == "pure-noise" and (run / "model").exists(): measure_pure_noise(run, dest)
            if name in PUBLISH:
                cmd = "diffusion-course " + " ".join(procs[name][1]).replace(str(a.work) + "/", "runs/")
                publish_run(run, PUBLISH[name], cmd, dest=a.dest / "pretrained", classifier=clf if "fashion" in name else None)
        except Exception as e:                                # keep the other artifacts even if one measurement fails
            import traceback; traceback.print_exc(); print(f"!!! {name}: {e!r}", flush=True)


if __name__ == "__main__": main()
