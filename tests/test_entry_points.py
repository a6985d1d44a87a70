"""Every public entry point refuses bad arguments by construction, not function by function.

The functions are found, not listed: each public function of the Part A modules and of Part B's measuring modules
(metrics, release, reflow, the text model's judge) that takes one of the arguments in
`BAD` is called with good values for everything else (`GOOD`) and one bad value at a time, and must raise a
`ValueError` or `TypeError` that names the argument. A new entry point is covered the day it is exported; one that
must not check (a per-step kernel whose callers check) is named in `INNER` with the reason.
"""
import importlib
import inspect
import math

import pytest
import torch

from conftest import tiny_unet
from diffusion_course import blur, edits, hybrids, sampling, schedules, views
from diffusion_course.denoisers import CourseDenoiser, TextDenoiser
from diffusion_course.edits import rect_mask
from diffusion_course.emoji import load_emoji
from diffusion_course.release import load_classifier
from diffusion_course.t2i_eval import ConceptJudge
from diffusion_course.model_files import PromptEmbeddings
from diffusion_course.textunet import TextUNet
from diffusion_course.unet import CourseUNet
from diffusion_course.upsampler import UpsamplerDenoiser

PART_B = [importlib.import_module(f"diffusion_course.{m}") for m in ("metrics", "release", "reflow", "t2i_eval")]
MODULES = (schedules, blur, sampling, views, hybrids, edits, *PART_B)

# Per-step kernels and helpers that callers have already checked: checking again on every step would cost speed.
INNER = {
    "predict_x0": "the step functions' algebra, called once per step",
    "ddpm_step": "one sampler step, called per step by denoise_loop",
    "ddim_step": "one sampler step, called per step by denoise_loop",
    "cfg_estimate": "called per step with the condition a checked entry point built",
    "guided_estimate": "builds the per-step estimate from checked arguments",
    "anagram_estimate": "called per step by visual_anagram, which checks",
    "hybrid_estimate": "called per step by hybrid_image, which checks",
    "denoise_loop": "the loop every checked entry point runs (its `estimate` is a closure)",
    "renoise": "RePaint's per-step re-noising, inside inpaint",
    "noised_known": "RePaint's per-step known pixels, inside inpaint",
    "threshold_x0": "inside the sampler steps",
    "step_log_variance": "inside ddpm_step",
    "randn": "draws noise for a shape the caller computed",
    "sweep": "calls the user's function with each value; the function checks",
    "resolve_interval": "a part of resolve_settings, which checks guidance first (and the only caller, tested)",
    "resolve_variance": "a part of resolve_settings, which checks guidance first (and the only caller, tested)",
    "one_cycle_lr": "the judge's learning rate per step, from a config `check_fields` has checked",
}

nan_like = lambda arg: lambda good: torch.full_like(good[arg], math.nan)     # the good image, all NaN
def out_of_range(good): return good["x0"] + 200.0                             # 0..255-like values, not [-1, 1]

# Functions for which any pixel scale is right (so `out_of_range` is not a bad value for them), and why.
ANY_RANGE = {"blur_scores": "a Gaussian blur and its PSNR work at any pixel scale (psnr takes data_range)",
             "best_blur": "a Gaussian blur and its PSNR work at any pixel scale (psnr takes data_range)"}
BAD = {  # argument -> bad values, or functions of the good values (each must be refused naming the argument)
    "guidance": [math.nan, -1.0, "5"],
    "seed": [-1, 1.5, "0"],
    "steps": [0, -3, 2.5],
    "i_start": [-1, 10**6],
    "sigma": [-1.0, math.nan],
    "x0": [nan_like("x0"), out_of_range],
    "x_t": [nan_like("x_t")],
    "image": [nan_like("image"), torch.zeros(3, 3)],
    "images": [nan_like("images")],
    "n": [0, -2, 1.5],
    "resample": [0, 2.5],
    "n_per_class": [0, -1, 1.5],
    "batch_size": [0, -8, 2.5],
    "epochs": [0, -1, 1.5],
    "lr": [0.0, -1e-3, math.nan],
    "sampler": ["no-such-sampler", 3],
}


@pytest.fixture(scope="module")
def good():
    "A good value for every argument an entry point may require."
    den = CourseDenoiser(tiny_unet())
    x = torch.zeros(1, 1, 28, 28)
    return dict(den=den, model=den, x0=x, x_t=torch.randn(1, 1, 28, 28), x=x, image=x, images=x, t=10,
                schedule=den.schedule, prompt="3", prompts=["3"], prompt_low="3", prompt_high="8",
                mask=rect_mask(28, 0, 0, 0.5, 1), timesteps=den.timesteps(3), steps=3, guidance=2.0, seed=0,
                i_start=1, sigma=1.0, n=1, resample=1, views=["identity", "flip"], size=28,
                classifier=load_classifier("mnist"), y=torch.tensor([3]), labels=torch.tensor([3]), dataset="mnist",
                n_per_class=1, settings=[("ddim, 2 steps", den, "ddim", 2)], scheduler=None, data=None,
                judge=ConceptJudge(("cat-face", "dog-face"), width=8), concepts=("cat-face", "dog-face"))


@pytest.fixture(scope="module")
def good_for(good, tmp_path_factory):
    "Per function, the good values that differ: a flow model, two prompts for two views, a tiny text cascade."
    torch.manual_seed(0)
    flow = CourseDenoiser(CourseUNet(num_hiddens=8, time_cond=True, num_classes=10, objective="flow"))
    embeds = {"": torch.zeros(16, 384), "a cat": torch.randn(16, 384)}
    one = TextDenoiser(TextUNet(sample_size=8, channels=(8, 16), attention=(False, True)),
                       PromptEmbeddings(embeds=embeds))
    two = UpsamplerDenoiser(TextUNet(sample_size=16, channels=(8, 16), attention=(False, True), low_res_channels=3),
                            PromptEmbeddings(embeds=embeds))
    one.steps = two.steps = 2
    cascade = dict(good, stage1=one, upsample=two, upsampler=two, images=torch.zeros(1, 3, 8, 8), prompts=["a cat"])
    judged = dict(good, model=one, prompts={"a cat": "cat-face"})
    reflowed = dict(good, den=flow, labels=[3], out=tmp_path_factory.mktemp("pairs") / "pairs")
    return {"flow_sample": dict(good, den=flow, x=torch.randn(1, 1, 28, 28)),
            "prompt_fidelity": judged, "fidelity_curve": judged, "style_diversity": judged,
            "flow_pairs": reflowed, "write_pairs": reflowed, "euler_frames": reflowed,
            "train_judge": dict(good, data=load_emoji(32, limit=8)),
            "publish_run": dict(good, run=tmp_path_factory.mktemp("run"), name="tiny", command="(test)"),
            "visual_anagram": dict(good, prompts=["3", "8"]),
            "stage_two": cascade, "upsample_with": cascade}


def entry_points():
    "(function, argument) for every public Part A function and each of its arguments in `BAD`."
    found = []
    for mod in MODULES:
        for name in mod.__all__:
            f = getattr(mod, name)
            if not inspect.isfunction(f) or f.__module__ != mod.__name__ or name in INNER: continue
            found += [(f, arg) for arg in inspect.signature(f).parameters if arg in BAD]
    return found


def call_with(f, good: dict, arg: str, bad):
    "`f` with good values for its required arguments (and `arg`, if it has a default), `arg` set to `bad`."
    bad, kwargs = bad(good) if callable(bad) else bad, {}
    for p, v in inspect.signature(f).parameters.items():
        if p == arg: kwargs[p] = bad
        elif v.default is inspect.Parameter.empty and v.kind in (v.POSITIONAL_OR_KEYWORD, v.KEYWORD_ONLY):
            if p not in good:
                pytest.fail(f"{f.__name__} requires {p!r}, which this test has no good value for: add one to `good`")
            kwargs[p] = good[p]
    return f(**kwargs)


CASES = entry_points()


def test_the_sweep_finds_the_entry_points():
    names = {f.__name__ for f, _ in CASES}
    assert {"sample", "sdedit", "inpaint", "visual_anagram", "hybrid_image", "iterative_denoise", "forward"} <= names


@pytest.mark.parametrize("f,arg", CASES, ids=[f"{f.__name__}-{a}" for f, a in CASES])
def test_a_bad_argument_is_refused_by_name(good, good_for, f, arg):
    for bad in BAD[arg]:
        if bad is out_of_range and f.__name__ in ANY_RANGE: continue
        with pytest.raises((ValueError, TypeError)) as e:
            call_with(f, good_for.get(f.__name__, good), arg, bad)
        assert arg in str(e.value) or arg.rstrip("s") in str(e.value), (
            f"{f.__name__}({arg}={bad!r}) raised an error that does not name {arg!r}: {e.value}")
