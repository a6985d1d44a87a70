"""The command line on bad and edge inputs: each mistake ends in one readable line and a non-zero exit, before any work.

`run_cli` runs `diffusion-course ARGV` in this process; a `cli=True` case passes when the exit status is non-zero,
stderr is exactly one line without a traceback, and that line matches `match`. Sampling cases use `--steps 2`;
training cases fail in the checks, before a model is built or anything is written.
"""
import json
import uuid
from pathlib import Path

from bad_inputs import Case, run_cli, scratch


def out(name="x.png"):
    "A path in this run's scratch folder."
    return scratch() / name


def a_file():
    "A plain file, for paths that try to go 'under' it."
    p = scratch() / "a-file"
    p.write_text("not a folder")
    return p


def corrupt_model():
    "A model folder whose config.json has a string where a width belongs."
    from diffusion_course.unet import CourseUNet
    d = scratch() / "corrupt-model"
    if not d.exists():
        CourseUNet(num_hiddens=8, time_cond=True, num_classes=10).save_pretrained(d)
        cfg = json.loads((d / "config.json").read_text())
        (d / "config.json").write_text(json.dumps(cfg | {"num_hiddens": "eight"}))
    return d


def wrote(path):
    "A working call: exit 0, and `path` written."
    return lambda r: r[0] == 0 and Path(path).stat().st_size > 0


def sample_cli(*argv):
    return run_cli("sample", "--model", "mnist-class-ddpm", "--steps", 2, "--sampler", "ddim", *argv)


TRAIN = ("train", "--preset", "class-ddpm", "--quiet")
GUIDANCE_HINT = r"1 = no guidance"
NO_OUT = lambda: out(f"never-written-{uuid.uuid4().hex[:8]}")

CASES = [
    # ---- sample ------------------------------------------------------------------------------------------------------
    Case("CLI", "sample --guidance nan", lambda: sample_cli("--guidance", "nan", "--out", out()),
         match=r"guidance=nan: expected a finite number.*" + GUIDANCE_HINT, cli=True),
    Case("CLI", "sample --guidance inf", lambda: sample_cli("--guidance", "inf", "--out", out()),
         match=r"guidance=inf: expected a finite number", cli=True),
    Case("CLI", "sample --guidance -1", lambda: sample_cli("--guidance", "-1", "--out", out()),
         match=r"guidance=-1\.0: expected 0 <= guidance <= 100", cli=True),
    Case("CLI", "sample --steps 0", lambda: run_cli("sample", "--steps", 0, "--out", out()),
         match=r"--steps=0: expected --steps >= 1.*model's default", cli=True),
    Case("CLI", "sample --steps -1", lambda: run_cli("sample", "--steps", -1, "--out", out()),
         match=r"--steps=-1: expected --steps >= 1", cli=True),
    Case("CLI", "sample --upsample with a model that has no upsampler",
         lambda: sample_cli("--model", "mnist-class-ddpm", "--upsample", "--out", out()),
         match=r"No upsampler 'mnist-class-ddpm-sr'.*--preset emoji-t2i-sr", cli=True),
    Case("CLI", "eval --showpieces on a class model",
         lambda: run_cli("eval", "--model", "mnist-class-ddpm", "--showpieces"),
         match=r"--showpieces/--upsample: only for text-to-image models", cli=True),
    Case("CLI", "sample --n 0", lambda: sample_cli("--n", 0, "--out", out()),
         match=r"--n=0: expected 1 <= --n", cli=True),
    Case("CLI", "sample --out an existing folder", lambda: sample_cli("--out", scratch()),
         match=r"is a folder: pass a file name such as '.*out\.png'", cli=True),
    Case("CLI", "sample --out a name without suffix", lambda: sample_cli("--out", out("grid")),
         match=r"has no suffix: the format comes from it.*\.png.*\.npy", cli=True),
    Case("CLI", "sample --out /proc/x.png (not writable)", lambda: sample_cli("--out", "/proc/x.png"),
         match=r"Cannot write into '/proc'.*Choose another output path", cli=True),
    Case("CLI", "sample --out a path under a file", lambda: sample_cli("--out", a_file() / "x.png"),
         match=r"'.*a-file' is a file, not a folder", cli=True),
    Case("CLI", "sample with 100,000 prompts", lambda: sample_cli("--out", out(), "--prompts", *["7"] * 100_000),
         match=r"number of prompts=100000: expected 1 <= .* <= 20000.*loop over calls", cli=True),
    Case("CLI", "sample 2 prompts x --n 20000 images",
         lambda: sample_cli("--out", out(), "--prompts", "7", "3", "--n", 20_000),
         match=r"number of images \(prompts x --n\)=40000: expected", cli=True),
    Case("CLI", "sample --model that does not exist", lambda: sample_cli("--model", "no-such-model", "--out", out()),
         match=r"no pretrained model or model folder 'no-such-model'.*Bundled here", cli=True),
    Case("CLI", "sample --model a corrupt model folder (an unforeseen error)",
         lambda: sample_cli("--model", corrupt_model(), "--out", out()),
         match=r"^diffusion-course sample: error: TypeError: .*\(run with --debug for the traceback\)$", cli=True),
    # ---- eval --------------------------------------------------------------------------------------------------------
    Case("CLI", "eval --n-per-class 100000", lambda: run_cli("eval", "--n-per-class", 100_000),
         match=r"--n-per-class=100000: expected 2 <= --n-per-class <= 2000", cli=True),
    Case("CLI", "eval --n-per-class 1", lambda: run_cli("eval", "--n-per-class", 1),
         match=r"--n-per-class=1: expected 2 <=.*diversity compares pairs", cli=True),
    Case("CLI", "eval --json to a .txt file", lambda: run_cli("eval", "--json", out("numbers.txt")),
         match=r"numbers.txt' has the suffix '.txt'.*use one of .json", cli=True),
    Case("CLI", "eval --steps-table with --steps", lambda: run_cli("eval", "--steps-table", "--steps", 3),
         match=r"--steps-table measures every sampler.*drop --steps", cli=True),
    Case("CLI", "eval --steps-table on the text-to-image model",
         lambda: run_cli("eval", "--model", "emoji-t2i", "--steps-table"),
         match=r"--steps-table: only for the class models", cli=True),
    Case("CLI", "eval --guidance-sweep with an infinite γ", lambda: run_cli("eval", "--guidance-sweep", 1, "inf"),
         match=r"guidance=inf: expected a finite number", cli=True),
    Case("CLI", "eval --guidance-sweep on the text-to-image model",
         lambda: run_cli("eval", "--model", "emoji-t2i", "--guidance-sweep", 1, 3),
         match=r"--guidance-sweep: only for the class models", cli=True),
    Case("CLI", "eval --floor-split on the text-to-image model",
         lambda: run_cli("eval", "--model", "emoji-t2i", "--floor-split", "random"),
         match=r"--floor-split: only for the class models", cli=True),
    Case("CLI", "eval --guidance nan", lambda: run_cli("eval", "--guidance", "nan"),
         match=r"guidance=nan: expected a finite number", cli=True),
    # ---- train -------------------------------------------------------------------------------------------------------
    Case("CLI", "train --n-train -5", lambda: run_cli(*TRAIN, "--n-train", -5, "--out", NO_OUT()),
         match=r"n_train=-5: expected n_train >= 0.*0 = the whole split", cli=True),
    Case("CLI", "train --epochs 0", lambda: run_cli(*TRAIN, "--epochs", 0, "--out", NO_OUT()),
         match=r"epochs=0: expected epochs >= 1", cli=True),
    Case("CLI", "train --epochs -1", lambda: run_cli(*TRAIN, "--epochs", -1, "--out", NO_OUT()),
         match=r"epochs=-1: expected epochs >= 1", cli=True),
    Case("CLI", "train --batch-size 0", lambda: run_cli(*TRAIN, "--batch-size", 0, "--out", NO_OUT()),
         match=r"batch_size=0: expected batch_size >= 1", cli=True),
    Case("CLI", "train --lr -0.001", lambda: run_cli(*TRAIN, "--lr", -0.001, "--out", NO_OUT()),
         match=r"lr=-0\.001: expected 0 < lr <= 1", cli=True),
    Case("CLI", "train --lr nan", lambda: run_cli(*TRAIN, "--lr", "nan", "--out", NO_OUT()),
         match=r"lr=nan: expected a finite number", cli=True),
    Case("CLI", "train --ema-decay 1", lambda: run_cli(*TRAIN, "--ema-decay", 1, "--out", NO_OUT()),
         match=r"ema_decay=1 would never move the EMA copy.*0 <= ema_decay < 1", cli=True),
    Case("CLI", "train --ema-decay -0.5", lambda: run_cli(*TRAIN, "--ema-decay", -0.5, "--out", NO_OUT()),
         match=r"ema_decay=-0\.5: expected 0 <= ema_decay <= 1", cli=True),
    Case("CLI", "train --resume into a folder with no run", lambda: run_cli(*TRAIN, "--resume", "--out", NO_OUT()),
         match=r"No checkpoint in .* to resume: drop --resume to start a new run", cli=True),
    Case("CLI", "train --preset emoji-t2i --resume into a folder with no run",
         lambda: run_cli("train", "--preset", "emoji-t2i", "--quiet", "--resume", "--out", NO_OUT()),
         match=r"No checkpoint in .* to resume: drop --resume", cli=True),
    Case("CLI", "train --preset emoji-t2i --lr 5",
         lambda: run_cli("train", "--preset", "emoji-t2i", "--lr", 5, "--out", NO_OUT()),
         match=r"lr=5\.0: expected 0 < lr <= 1", cli=True),
    Case("CLI", "train --preset emoji-t2i --dataset fashion (a class-model flag)",
         lambda: run_cli("train", "--preset", "emoji-t2i", "--dataset", "fashion", "--out", NO_OUT()),
         match=r"--dataset: not a setting of --preset emoji-t2i.*drop it", cli=True),
    Case("CLI", "train --preset emoji-t2i-compounds without --init (a fine-tune needs a checkpoint)",
         lambda: run_cli("train", "--preset", "emoji-t2i-compounds", "--out", NO_OUT()),
         match=r"fine-tunes a trained model: pass --init", cli=True),
    Case("CLI", "train --preset emoji-t2i-collisions without --init (a fine-tune needs a checkpoint)",
         lambda: run_cli("train", "--preset", "emoji-t2i-collisions", "--out", NO_OUT()),
         match=r"emoji-t2i-collisions fine-tunes a trained model: pass --init", cli=True),
    Case("CLI", "train --preset emoji-judge-all --init (not a judge setting)",
         lambda: run_cli("train", "--preset", "emoji-judge-all", "--init", "x", "--out", NO_OUT()),
         match=r"--init: not a setting of --preset emoji-judge-all", cli=True),
    Case("CLI", "train --preset emoji-judge-big (no such judge)",
         lambda: run_cli("train", "--preset", "emoji-judge-big", "--out", NO_OUT()),
         match=r"Unknown preset 'emoji-judge-big': the judge ones are emoji-judge, emoji-judge-all", cli=True),
    Case("CLI", "train --preset emoji-t2i-compounds --init a folder that is no checkpoint",
         lambda: run_cli("train", "--preset", "emoji-t2i-compounds", "--init", NO_OUT(), "--out", NO_OUT()),
         match=r"is not a checkpoint \(ema/ and state\.pt; model/ where kept\)", cli=True),
    Case("CLI", "train --preset class-ddpm --init a folder that holds no model",
         lambda: run_cli(*TRAIN, "--init", NO_OUT(), "--out", NO_OUT()),
         match=r"is neither a bundled model \(.*mnist-class-ddpm.*\) nor a folder holding a CourseUNet", cli=True),
    Case("CLI", "train --preset class-ddpm --init emoji-t2i (the text model)",
         lambda: run_cli(*TRAIN, "--init", "emoji-t2i", "--out", NO_OUT()),
         match=r"is the config of a TextUNet, not of a CourseUNet", cli=True),
    Case("CLI", "train --preset class-fm --init mnist-class-ddpm (another objective)",
         lambda: run_cli("train", "--preset", "class-fm", "--quiet", "--init", "mnist-class-ddpm", "--out", NO_OUT()),
         match=r"holds another model than the recipe's: \{'objective': \('ddpm', 'flow'\)\}", cli=True),
    Case("CLI", "train --preset that does not exist", lambda: run_cli("train", "--preset", "nope"),
         match=r"Unknown preset 'nope': choose one of", cli=True),
    Case("CLI", "train --out a path under a file", lambda: run_cli(*TRAIN, "--out", a_file() / "run"),
         match=r"is a file, not a folder", cli=True),
    # ---- tour --------------------------------------------------------------------------------------------------------
    Case("CLI", "tour --seed -1", lambda: run_cli("tour", "--fast", "--seed", -1, "--out", NO_OUT()),
         match=r"seed=-1: expected 0 <= seed", cli=True),
    Case("CLI", "tour --part-a an unknown model",
         lambda: run_cli("tour", "--fast", "--part-a", "nope", "--out", NO_OUT()),
         match=r"Unknown Part A model 'nope': choose one of \[.*'emoji-t2i'.*\]", cli=True),
    Case("CLI", "tour --out a path under a file", lambda: run_cli("tour", "--fast", "--out", a_file() / "tour"),
         match=r"is a file, not a folder", cli=True),
    # ---- calls that must work ----------------------------------------------------------------------------------------
    Case("CLI", "sample 2 prompts with 2 steps", lambda: sample_cli("--prompts", "7", "3", "--out", out("ok.png")),
         check=wrote(out("ok.png"))),
    Case("CLI", "sample with --debug before the command",
         lambda: run_cli("--debug", "sample", "--model", "mnist-class-ddpm", "--steps", 2, "--prompts", "1",
                         "--out", out("debug.png")),
         check=wrote(out("debug.png"))),
    Case("CLI", "sample into a folder that does not exist yet",
         lambda: sample_cli("--prompts", "5", "--out", out("new/sub/ok.png")), check=wrote(out("new/sub/ok.png"))),
    Case("CLI", "sample to .npy: the tensor, 2 per prompt",
         lambda: sample_cli("--prompts", "5", "--n", 2, "--out", out("ok.npy")), check=wrote(out("ok.npy"))),
    Case("CLI", "eval fashion-class-ddpm is judged by the Fashion classifier",
         lambda: run_cli("eval", "--model", "fashion-class-ddpm", "--n-per-class", 2, "--sampler", "ddim",
                         "--steps", 4, "--guidance", 5),
         check=lambda r: r[0] == 0 and "per class: T-shirt/top: " in r[1]
         and float(r[1].split("\n| 5.00 | ")[1].split(" |")[0]) >= 50),   # the accuracy column, in %
]
