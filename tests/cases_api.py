"""Part A's public functions (sampling, SDEdit, inpainting, anagrams, hybrids, blur, schedules) on bad and edge inputs.

Every case is cheap: the bundled 28x28 models, 1-3 images, 2 strided steps or a short timestep list, and the bad ones
fail in the checks at the top of each function, before any model call.
"""
import numpy as np
import torch
from bad_inputs import Case, model

from diffusion_course.blur import best_blur, psnr
from diffusion_course.edits import inpaint, rect_mask, sdedit
from diffusion_course.hybrids import hybrid_image, lowpass
from diffusion_course.sampling import (
    flow_sample,
    iterative_denoise,
    one_step_denoise,
    sample,
)
from diffusion_course.schedules import NoiseSchedule, forward
from diffusion_course.views import Flip, Identity, PatchPermute, Rotate, visual_anagram

ddpm = lambda: model("mnist-class-ddpm")
fm = lambda: model("mnist-class-fm")
TS = [200, 100, 0]                                   # a short strided list for the T=300 MNIST models


def img(n=1, seed=0):
    "`n` MNIST-shaped images in [-1, 1]."
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def finite(shape):
    return lambda x: tuple(x.shape) == shape and bool(torch.isfinite(x).all())


def inpaint_hw_mask():
    "Inpaint 2 images with a (H, W) mask: True when the unmasked pixels are kept exactly."
    x, m = img(2), rect_mask(28, 0, 0, 0.5, 1)[0, 0]
    return bool(torch.equal(inpaint(ddpm(), x, m, "3", timesteps=TS) * (1 - m), x * (1 - m)))


def chunked_equals_unchunked():
    a = sample(ddpm(), ["1", "2", "3"], steps=2, seed=4, batch_size=2)  # two batches: images 0-1, then 2 from seed 6
    b = sample(ddpm(), ["1", "2", "3"], steps=2, seed=4)
    return (a - b).abs().max().item()


FIX_IMAGES = r"load_image|float\(\) / 127\.5 - 1"
FLOW_HINT = r"flow-matching model.*sample\(\.\.\.\).*mnist-class-ddpm"

CASES = [
    # ---- images ------------------------------------------------------------------------------------------------------
    Case("images", "sdedit on a uint8 image (0..255)",
         lambda: sdedit(ddpm(), (img() * 127.5 + 127.5).byte(), "3", timesteps=TS, i_start=1),
         ValueError, r"dtype torch\.uint8.*" + FIX_IMAGES),
    Case("images", "sdedit on an int64 image",
         lambda: sdedit(ddpm(), torch.zeros(1, 1, 28, 28, dtype=torch.long), "3", timesteps=TS, i_start=1),
         ValueError, r"dtype torch\.int64: expected floats in \[-1, 1\]"),
    Case("images", "sdedit on float pixels 0..255",
         lambda: sdedit(ddpm(), img() * 127.5 + 127.5, "3", timesteps=TS, i_start=1),
         ValueError, r"must lie in \[-1, 1\].*load_image"),
    Case("images", "sdedit on one image without the batch axis",
         lambda: sdedit(ddpm(), img()[0], "3", timesteps=TS, i_start=1),
         ValueError, r"without the batch axis: pass `image\[None\]`"),
    Case("images", "sdedit on a 3x64x64 photo with the 1x28x28 MNIST model",
         lambda: sdedit(ddpm(), torch.zeros(1, 3, 64, 64), "3", timesteps=TS),
         ValueError, r"works on \(1, 28, 28\).*load_image\(src, size=28, channels=1\)"),
    Case("images", "sdedit on an image with NaN pixels",
         lambda: sdedit(ddpm(), img().fill_(float("nan")), "3", timesteps=TS, i_start=1),
         ValueError, r"NaN or infinite"),
    Case("images", "inpaint on a numpy array",
         lambda: inpaint(ddpm(), np.zeros((1, 1, 28, 28), np.float32), rect_mask(28, 0, 0, 0.5, 1), timesteps=TS),
         TypeError, r"must be a torch\.Tensor.*load_image"),
    Case("images", "iterative_denoise on x_t of the wrong size",
         lambda: iterative_denoise(ddpm(), torch.randn(2, 1, 32, 32), timesteps=TS),
         ValueError, r"x_t has shape \(1, 32, 32\).*load_image\(src, size=28"),
    Case("images", "one_step_denoise on a noisy x_t beyond [-1, 1] (allowed: noise)",
         lambda: one_step_denoise(ddpm(), 3 * torch.randn(2, 1, 28, 28), 250),
         check=finite((2, 1, 28, 28))),
    Case("images", "sdedit on a one-image batch", lambda: sdedit(ddpm(), img(), "3", i_start=1, timesteps=TS, seed=1),
         check=finite((1, 1, 28, 28))),

    # ---- guidance and steps ------------------------------------------------------------------------------------------
    Case("guidance and steps", "sample with guidance=NaN", lambda: sample(ddpm(), "7", guidance=float("nan"), steps=2),
         ValueError, r"guidance=nan: expected a finite number.*1 = no guidance"),
    Case("guidance and steps", "sample with guidance=inf", lambda: sample(ddpm(), "7", guidance=float("inf"), steps=2),
         ValueError, r"guidance=inf: expected a finite number"),
    Case("guidance and steps", "sample with negative guidance", lambda: sample(ddpm(), "7", guidance=-1, steps=2),
         ValueError, r"guidance=-1: expected 0 <= guidance <= 100.*0 = the unconditional model"),
    Case("guidance and steps", "sample with guidance given as a string",
         lambda: sample(ddpm(), "7", guidance="5", steps=2),
         ValueError, r"guidance='5': expected a number"),
    Case("guidance and steps", "iterative_denoise with guidance=NaN",
         lambda: iterative_denoise(ddpm(), torch.randn(1, 1, 28, 28), "3", guidance=float("nan"), timesteps=TS),
         ValueError, r"guidance=nan: expected a finite number"),
    Case("guidance and steps", "one_step_denoise with guidance=inf",
         lambda: one_step_denoise(ddpm(), torch.randn(1, 1, 28, 28), 100, "3", guidance=float("inf")),
         ValueError, r"guidance=inf: expected a finite number"),
    Case("guidance and steps", "sdedit with negative guidance",
         lambda: sdedit(ddpm(), img(), "3", guidance=-3, timesteps=TS, i_start=1),
         ValueError, r"guidance=-3: expected 0 <= guidance"),
    Case("guidance and steps", "inpaint with guidance=NaN",
         lambda: inpaint(ddpm(), img(), rect_mask(28, 0, 0, 0.5, 1), "3", guidance=float("nan"), timesteps=TS),
         ValueError, r"guidance=nan: expected a finite number"),
    Case("guidance and steps", "visual_anagram with guidance=inf",
         lambda: visual_anagram(ddpm(), ["6", "9"], guidance=float("inf"), steps=2),
         ValueError, r"guidance=inf: expected a finite number"),
    Case("guidance and steps", "hybrid_image with negative guidance",
         lambda: hybrid_image(ddpm(), "0", "1", guidance=-0.5, steps=2),
         ValueError, r"guidance=-0\.5: expected 0 <= guidance"),
    Case("guidance and steps", "flow_sample with guidance=NaN",
         lambda: flow_sample(fm(), torch.randn(1, 1, 28, 28), "3", guidance=float("nan"), steps=2),
         ValueError, r"guidance=nan: expected a finite number"),
    Case("guidance and steps", "sample with steps=0 (not the default: None is)", lambda: sample(ddpm(), "7", steps=0),
         ValueError, r"steps=0: expected 1 <= steps <= 300.*None for the model's default"),
    Case("guidance and steps", "sample with steps=-1 (used to return the starting noise)",
         lambda: sample(ddpm(), "7", steps=-1),
         ValueError, r"steps=-1: expected 1 <= steps <= 300"),
    Case("guidance and steps", "sample with steps=2.5", lambda: sample(ddpm(), "7", steps=2.5),
         ValueError, r"steps=2\.5: expected an integer"),
    Case("guidance and steps", "visual_anagram with steps=0", lambda: visual_anagram(ddpm(), ["6", "9"], steps=0),
         ValueError, r"steps=0: expected 1 <= steps"),
    Case("guidance and steps", "sample with guidance=0 (the unconditional model)",
         lambda: sample(ddpm(), ["7", "3"], guidance=0, steps=2),
         check=lambda x: x.shape == (2, 1, 28, 28) and 0 <= x.min() and x.max() <= 1),
    Case("guidance and steps", "sample with steps=1", lambda: sample(ddpm(), "7", steps=1),
         check=finite((1, 1, 28, 28))),
    Case("guidance and steps", "sample with a negative seed", lambda: sample(ddpm(), "7", steps=2, seed=-1),
         ValueError, r"seed=-1: expected 0 <= seed.*whole number >= 0"),
    Case("guidance and steps", "sample with a float seed", lambda: sample(ddpm(), "7", steps=2, seed=1.5),
         ValueError, r"seed=1\.5: expected an integer"),
    Case("guidance and steps", "sdedit with a negative seed",
         lambda: sdedit(ddpm(), img(), "3", timesteps=TS, i_start=1, seed=-5),
         ValueError, r"seed=-5: expected 0 <= seed"),

    # ---- samplers ----------------------------------------------------------------------------------------------------
    Case("samplers", "sample with an unknown threshold", lambda: sample(ddpm(), "7", steps=2, threshold="clamp"),
         ValueError, r"Unknown threshold 'clamp'.*'clip'"),
    Case("samplers", "sample with a 'ddim' sampler, 2 steps",
         lambda: sample(ddpm(), ["0", "1"], sampler="ddim", steps=2),
         check=finite((2, 1, 28, 28))),
    Case("samplers", "sample with the sampler 'euler' on a DDPM model",
         lambda: sample(ddpm(), "7", sampler="euler", steps=2),
         ValueError, r"Unknown sampler 'euler'.*diffusion model: choose one of \['ddpm', 'ddim'\].*flow-matching"),

    # ---- timesteps ---------------------------------------------------------------------------------------------------
    Case("timesteps", "one_step_denoise at t=-1 (used to read the last alpha-bar)",
         lambda: one_step_denoise(ddpm(), torch.randn(1, 1, 28, 28), -1),
         ValueError, r"t=-1: expected 0 <= t <= 299.*schedule of T=300"),
    Case("timesteps", "one_step_denoise at t=300 = T", lambda: one_step_denoise(ddpm(), torch.randn(1, 1, 28, 28), 300),
         ValueError, r"t=300: expected 0 <= t <= 299"),
    Case("timesteps", "one_step_denoise at t=2.5", lambda: one_step_denoise(ddpm(), torch.randn(1, 1, 28, 28), 2.5),
         ValueError, r"t=2\.5: expected an integer"),
    Case("timesteps", "iterative_denoise with increasing timesteps",
         lambda: iterative_denoise(ddpm(), torch.randn(1, 1, 28, 28), timesteps=[0, 100, 200]),
         ValueError, r"must strictly decrease.*sorted\(ts, reverse=True\)"),
    Case("timesteps", "sdedit with a repeated timestep",
         lambda: sdedit(ddpm(), img(), "3", timesteps=[200, 100, 100, 0], i_start=1),
         ValueError, r"must strictly decrease"),
    Case("timesteps", "iterative_denoise with an empty timestep list",
         lambda: iterative_denoise(ddpm(), torch.randn(1, 1, 28, 28), timesteps=[]),
         ValueError, r"timesteps is empty.*den\.timesteps\(\)"),
    Case("timesteps", "inpaint with a timestep beyond T",
         lambda: inpaint(ddpm(), img(), rect_mask(28, 0, 0, 0.5, 1), timesteps=[400, 100, 0]),
         ValueError, r"timesteps\[i\]=400: expected 0 <= timesteps\[i\] <= 299"),
    Case("timesteps", "sdedit with i_start past the end of the list", lambda: sdedit(ddpm(), img(), "3", i_start=34),
         ValueError, r"i_start=34: expected 0 <= i_start <= 33.*smaller = bigger edit"),
    Case("timesteps", "sdedit with a negative i_start", lambda: sdedit(ddpm(), img(), "3", i_start=-1, timesteps=TS),
         ValueError, r"i_start=-1: expected 0 <= i_start <= 2"),
    Case("timesteps", "iterative_denoise with timesteps as a tensor",
         lambda: iterative_denoise(ddpm(), torch.randn(1, 1, 28, 28), "3", timesteps=torch.tensor(TS)),
         check=finite((1, 1, 28, 28))),
    Case("timesteps", "forward with a uint8 x0",
         lambda: forward(torch.zeros(1, 1, 28, 28, dtype=torch.uint8), 10, NoiseSchedule.linear()),
         ValueError, r"x0 must be a float tensor.*load_image"),
    Case("images", "one_step_denoise with 0..255 values as x_t",
         lambda: one_step_denoise(ddpm(), torch.full((1, 1, 28, 28), 255.0), 100, "3"),
         ValueError, r"x_t values reach 255, far beyond what the forward process makes"),
    Case("images", "iterative_denoise with x_t 100x too large",
         lambda: iterative_denoise(ddpm(), torch.randn(1, 1, 28, 28) * 100, "3", timesteps=TS),
         ValueError, r"x_t values reach .*far beyond what the forward process makes"),
    Case("sampling", "sample of a flow model with threshold='clip'",
         lambda: sample(fm(), ["3"], steps=2, threshold="clip"),
         ValueError, r"threshold='clip': 'mnist-class-fm' is a flow-matching model, which has no x̂0 to threshold"),
    Case("prompts", "a class model given a prompt embedding of the wrong width",
         lambda: iterative_denoise(ddpm(), img(), torch.zeros(1, 7), timesteps=TS),
         ValueError, r"prompt embedding has shape \(1, 7\), but 'mnist-class-ddpm' takes one-hot rows \(N, 10\)"),
    Case("models", "load_pretrained onto a device this machine does not have",
         lambda: __import__("diffusion_course.denoisers", fromlist=["load_pretrained"]).load_pretrained(
             "mnist-class-ddpm", device="cuda:99"), ValueError, r"device='cuda:99': this machine has \d+ CUDA GPU"),
    Case("images", "forward with a NaN pixel in x0",
         lambda: forward(img().index_put_((torch.tensor([0]),), torch.tensor(float("nan"))), 10,
                         NoiseSchedule.linear()), ValueError, r"x0 contains NaN or infinite values"),
    Case("images", "forward with 0..255 floats",
         lambda: forward(torch.full((1, 1, 28, 28), 200.0), 10, NoiseSchedule.linear()),
         ValueError, r"x0 values span \[200, 200\] but must lie in \[-1, 1\].*x0 / 127\.5 - 1"),
    Case("images", "forward with a NaN noise=",
         lambda: forward(img(), 10, NoiseSchedule.linear(), noise=torch.full((1, 1, 28, 28), float("nan"))),
         ValueError, r"noise contains NaN or infinite values"),
    Case("timesteps", "forward without a schedule (a flow model's den.schedule)",
         lambda: forward(img(), 10, fm().schedule),
         TypeError, r"schedule must be a NoiseSchedule.*flow-matching model has none"),
    Case("timesteps", "NoiseSchedule.linear with T=0", lambda: NoiseSchedule.linear(T=0),
         ValueError, r"T=0: expected 1 <= T.*e\.g\. 300"),
    Case("timesteps", "NoiseSchedule with a NaN beta", lambda: NoiseSchedule([0.1, float("nan")]),
         ValueError, r"values in \(0, 1\].*nan.*linear_betas"),

    # ---- masks -------------------------------------------------------------------------------------------------------
    Case("masks", "inpaint with a grey-level mask (0.5)",
         lambda: inpaint(ddpm(), img(), rect_mask(28, 0, 0, 0.5, 1) * 0.5, timesteps=TS),
         ValueError, r"must be 0 \(keep\) or 1 \(regenerate\).*\(mask > 0\.5\)\.float\(\)"),
    Case("masks", "inpaint with an 8-bit mask (0 or 255)",
         lambda: inpaint(ddpm(), img(), rect_mask(28, 0, 0, 0.5, 1) * 255, timesteps=TS),
         ValueError, r"mask values span \[0, 255\].*mask > 127"),
    Case("masks", "inpaint with a mask of the wrong size",
         lambda: inpaint(ddpm(), img(), torch.ones(1, 1, 14, 14), timesteps=TS),
         ValueError, r"mask has shape \(1, 1, 14, 14\).*expected \(1, 1, 28, 28\).*rect_mask"),
    Case("masks", "inpaint with a mask given as a list", lambda: inpaint(ddpm(), img(), [[1, 0], [0, 1]], timesteps=TS),
         TypeError, r"mask must be a torch\.Tensor.*rect_mask"),
    Case("masks", "inpaint with an (H, W) mask", inpaint_hw_mask, check=lambda ok: ok),
    Case("masks", "inpaint with a bool mask",
         lambda: inpaint(ddpm(), img(), rect_mask(28, 0.5, 0, 0.5, 1).bool(), "3", timesteps=TS),
         check=finite((1, 1, 28, 28))),
    Case("masks", "rect_mask with a negative height", lambda: rect_mask(28, 0.5, 0, -0.2, 1),
         ValueError, r"height=-0\.2: expected 0 <= height <= 1.*fractions of the image"),
    Case("masks", "rect_mask in pixels instead of fractions", lambda: rect_mask(28, 0, 0, 14, 28),
         ValueError, r"height=14.*0 <= height <= 1.*rect_mask\(28, 0, 0, 0\.5, 1\)"),
    Case("masks", "rect_mask that runs off the image", lambda: rect_mask(28, 0.5, 0, 0.8, 1),
         ValueError, r"ends outside the image \(top \+ height = 1\.3"),
    Case("masks", "rect_mask too thin to cover a pixel", lambda: rect_mask(28, 0.5, 0, 0.01, 1),
         ValueError, r"covers no pixel of a 28x28 image: make height >= 0\.0357"),
    Case("masks", "rect_mask on a (H, W) size", lambda: rect_mask((28, 56), 0, 0.5, 1, 0.5),
         check=lambda m: m.shape == (1, 1, 28, 56) and m.sum() == 28 * 28 and m[..., 28:].all()),

    # ---- views and hybrids -------------------------------------------------------------------------------------------
    Case("views and hybrids", "visual_anagram with an unknown view name",
         lambda: visual_anagram(ddpm(), ["6", "9"], ["identity", "upside-down"], steps=2),
         ValueError, r"Unknown view 'upside-down'.*Flip\(\).*'flip'"),
    Case("views and hybrids", "visual_anagram with a number as a view",
         lambda: visual_anagram(ddpm(), ["6", "9"], [Identity(), 180], steps=2),
         TypeError, r"180 \(a int\) is not a view.*Rotate\(k\)"),
    Case("views and hybrids", "visual_anagram with one view instead of a list",
         lambda: visual_anagram(ddpm(), ["6", "9"], Flip(), steps=2),
         TypeError, r"is one view: pass a list.*\[Identity\(\), Flip\(\)\]"),
    Case("views and hybrids", "visual_anagram with the prompts as one string '69'",
         lambda: visual_anagram(ddpm(), "69", steps=2),
         ValueError, r"prompts='69' is one string.*\['6', '9'\]"),
    Case("views and hybrids", "visual_anagram with 3 prompts for 2 views",
         lambda: visual_anagram(ddpm(), ["6", "9", "0"], steps=2),
         ValueError, r"3 prompts for 2 views: pass one prompt per view"),
    Case("views and hybrids", "visual_anagram with a 3x3 jigsaw of a 28 px image",
         lambda: visual_anagram(ddpm(), ["4", "7"], [Identity(), PatchPermute(3)], steps=2),
         ValueError, r"does not split into 3x3.*pick n dividing 28"),
    Case("views and hybrids", "PatchPermute with n=0", lambda: PatchPermute(0),
         ValueError, r"n=0: expected n >= 1.*divide the image side"),
    Case("views and hybrids", "Rotate by 1.5 quarter turns", lambda: Rotate(1.5),
         ValueError, r"k=1\.5: expected an integer.*2 = 180"),
    Case("views and hybrids", "visual_anagram with views given by name",
         lambda: visual_anagram(ddpm(), ["6", "9"], ["identity", "rotate180"], steps=2),
         check=finite((1, 1, 28, 28))),
    Case("views and hybrids", "hybrid_image with sigma=0", lambda: hybrid_image(ddpm(), "0", "1", sigma=0, steps=2),
         ValueError, r"sigma=0: expected sigma >= 0\.01.*width in pixels"),
    Case("views and hybrids", "hybrid_image with sigma=NaN",
         lambda: hybrid_image(ddpm(), "0", "1", sigma=float("nan"), steps=2),
         ValueError, r"sigma=nan: expected a finite number"),
    Case("views and hybrids", "hybrid_image with an even kernel",
         lambda: hybrid_image(ddpm(), "0", "1", kernel=8, steps=2),
         ValueError, r"kernel=8: a blur kernel must be odd.*use 7 or 9"),
    Case("views and hybrids", "hybrid_image with a kernel wider than the image",
         lambda: hybrid_image(ddpm(), "0", "1", kernel=101, steps=2),
         ValueError, r"kernel=101 is too large for a 28-pixel side.*<= 55"),
    Case("views and hybrids", "lowpass with a negative sigma", lambda: lowpass(img(), -1.0),
         ValueError, r"sigma=-1\.0: expected sigma >= 0\.01"),
    Case("views and hybrids", "hybrid_image of two prompts, 2 images",
         lambda: hybrid_image(ddpm(), "0", "1", n=2, steps=2),
         check=finite((2, 1, 28, 28))),
    Case("views and hybrids", "best_blur with sigma 0 in the grid",
         lambda: best_blur(img(), img(seed=1), sigmas=(0, 1.0)),
         ValueError, r"sigmas\[0\]=0: expected sigmas\[0\] >= 0\.01"),
    Case("views and hybrids", "best_blur with an even kernel size",
         lambda: best_blur(img(), img(seed=1), kernel_sizes=(3, 4)),
         ValueError, r"kernel_sizes\[1\]=4: a blur kernel must be odd"),
    Case("views and hybrids", "best_blur on uint8 images",
         lambda: best_blur(torch.zeros(1, 1, 28, 28, dtype=torch.uint8), img()),
         ValueError, r"x_t has dtype torch\.uint8.*load_image"),
    Case("views and hybrids", "psnr with data_range=0", lambda: psnr(img(), img(seed=1), data_range=0),
         ValueError, r"data_range=0.*2 for \[-1, 1\]"),

    # ---- prompts -----------------------------------------------------------------------------------------------------
    Case("prompts", "sample with an empty prompt list", lambda: sample(ddpm(), [], steps=2),
         ValueError, r"No prompts: pass one prompt per image"),
    Case("prompts", "sample with a class the model does not know", lambda: sample(ddpm(), "eleven", steps=2),
         ValueError, r"Unknown prompt 'eleven'.*knows the classes"),
    Case("prompts", "sdedit with 3 prompts for 2 images",
         lambda: sdedit(ddpm(), img(2), ["1", "2", "3"], timesteps=TS, i_start=1),
         ValueError, r"3 prompts for 2 images: pass one prompt"),

    # ---- sizes -------------------------------------------------------------------------------------------------------
    Case("sizes", "sample in batches of 2 equals one batch (image i depends on seed + i only)",
         chunked_equals_unchunked,
         check=lambda d: d < 1e-4),
    Case("sizes", "sample with batch_size=0", lambda: sample(ddpm(), "7", steps=2, batch_size=0),
         ValueError, r"batch_size=0: expected 1 <= batch_size"),
    Case("sizes", "visual_anagram with n=0 images", lambda: visual_anagram(ddpm(), ["6", "9"], n=0, steps=2),
         ValueError, r"n=0: expected 1 <= n <= 20000"),
    Case("sizes", "hybrid_image with n=-1", lambda: hybrid_image(ddpm(), "0", "1", n=-1, steps=2),
         ValueError, r"n=-1: expected 1 <= n"),
    Case("sizes", "sample with 100,000 prompts (used to die with std::bad_alloc)",
         lambda: sample(ddpm(), ["7"] * 100_000, steps=2),
         ValueError, r"len\(prompts\)=100000: expected 1 <= len\(prompts\) <= 20000.*loop over calls"),

    # ---- the flow-matching model -------------------------------------------------------------------------------------
    Case("flow model", "one_step_denoise with the flow model",
         lambda: one_step_denoise(fm(), torch.randn(1, 1, 28, 28), 100),
         ValueError, r"one_step_denoise needs a diffusion.*'mnist-class-fm' is a " + FLOW_HINT),
    Case("flow model", "iterative_denoise with the flow model",
         lambda: iterative_denoise(fm(), torch.randn(1, 1, 28, 28)),
         ValueError, r"iterative_denoise needs a diffusion.*" + FLOW_HINT),
    Case("flow model", "sdedit with the flow model", lambda: sdedit(fm(), img(), "3"),
         ValueError, r"sdedit needs a diffusion.*" + FLOW_HINT),
    Case("flow model", "inpaint with the flow model", lambda: inpaint(fm(), img(), rect_mask(28, 0, 0, 0.5, 1)),
         ValueError, r"inpaint needs a diffusion.*" + FLOW_HINT),
    Case("flow model", "visual_anagram with the flow model", lambda: visual_anagram(fm(), ["6", "9"]),
         ValueError, r"visual_anagram needs a diffusion.*" + FLOW_HINT),
    Case("flow model", "hybrid_image with the flow model", lambda: hybrid_image(fm(), "0", "1"),
         ValueError, r"hybrid_image needs a diffusion.*" + FLOW_HINT),
    Case("flow model", "sample with the sampler 'ddim' on the flow model",
         lambda: sample(fm(), "7", sampler="ddim", steps=2),
         ValueError, r"Unknown sampler 'ddim' for 'mnist-class-fm', a flow-matching model: choose one of \['euler', "
                     r"'heun'\]"),
    Case("flow model", "flow_sample with a DDPM model", lambda: flow_sample(ddpm(), torch.randn(1, 1, 28, 28), steps=2),
         ValueError, r"flow_sample needs a flow-matching model.*'mnist-class-fm'"),
    Case("flow model", "sample with the flow model and steps=0", lambda: sample(fm(), "7", steps=0),
         ValueError, r"steps=0: expected 1 <= steps <= 10000"),
    Case("flow model", "sample with the flow model, Heun, 2 steps",
         lambda: sample(fm(), ["4", "2"], sampler="heun", steps=2),
         check=lambda x: x.shape == (2, 1, 28, 28) and 0 <= x.min() and x.max() <= 1),
]
