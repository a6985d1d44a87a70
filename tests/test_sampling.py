"""Part A core: the denoiser interface and the samplers, cross-checked against diffusers' schedulers and pipeline."""
import ast
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from diffusers import DDIMScheduler, DDPMScheduler  # noqa: E402

import diffusion_course as dc  # noqa: E402
from diffusion_course.deepfloyd import IFDenoiser, T5PromptEncoder, tiny_if_denoiser  # noqa: E402
from diffusion_course.denoisers import Prediction, strided_timesteps  # noqa: E402
from diffusion_course.model_files import PromptEmbeddings, load_prompt_embeds  # noqa: E402
from diffusion_course.sampling import (Frames, cfg_estimate, ddim_step, ddpm_step, denoise_loop, flow_sample,
                                       generators, iterative_denoise, randn, sample, step_log_variance)
from diffusion_course.unet import CourseUNet  # noqa: E402

torch.set_num_threads(1)


def _scheduler_loop(sched, eps_fn, x, timesteps, generator):
    "The reference: diffusers' DDPMScheduler.step over a custom timestep list."
    sched.set_timesteps(timesteps=timesteps)
    for t in sched.timesteps:
        x = sched.step(eps_fn(x, int(t)), t, x, generator=generator).prev_sample
    return x


# ---- the strided DDPM step equals DDPMScheduler.step (set_timesteps(timesteps=...), no thresholding) -----------------

@pytest.mark.parametrize("T,schedule,steps",
                         [(300, "linear", 34), (1000, "squaredcos_cap_v2", 34), (1000, "squaredcos_cap_v2", 7)])
def test_ddpm_step_fixed_variance_matches_diffusers(T, schedule, steps):
    sched = DDPMScheduler(num_train_timesteps=T, beta_start=1e-4, beta_end=0.02, beta_schedule=schedule,
                          variance_type="fixed_small", clip_sample=False, thresholding=False)
    ts = strided_timesteps(T, steps)
    w = torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(5))
    x0 = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(6)) * 2 - 1
    ab = sched.alphas_cumprod
    # a deterministic "model": the exact noise for x0, plus an error, so the images stay in a realistic range
    eps_fn = lambda x, t: (x - ab[t].sqrt() * x0) / (1 - ab[t]).sqrt() + 0.3 * torch.tanh(x * w + t / T)
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    ref = _scheduler_loop(sched, eps_fn, x, ts, torch.Generator().manual_seed(1))
    g, ac = torch.Generator().manual_seed(1), sched.alphas_cumprod
    mine = x
    for i, t in enumerate(ts):
        mine, _ = ddpm_step(mine, Prediction(eps_fn(mine, t)), t, ts[i + 1] if i + 1 < len(ts) else -1, ac, g)
    assert (mine - ref).abs().max() <= 1e-5


@pytest.mark.parametrize("T,steps", [(300, 300), (1000, 1000), (300, 34), (1000, 7)],
                         ids=["full300", "full1000", "strided34", "strided7"])
def test_ddpm_step_large_variance_matches_diffusers(T, steps):
    "variance='large' (sigma^2 = beta_t of the stride) is diffusers' fixed_large, on the full list and a strided one."
    sched = DDPMScheduler(num_train_timesteps=T, beta_schedule="linear" if T == 300 else "squaredcos_cap_v2",
                          variance_type="fixed_large", clip_sample=False, thresholding=False)
    ts = strided_timesteps(T, steps) if steps < T else list(range(T - 1, -1, -1))
    ab = sched.alphas_cumprod
    x0 = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(6)) * 2 - 1
    eps_fn = lambda x, t: (x - ab[t].sqrt() * x0) / (1 - ab[t]).sqrt() + 0.3 * torch.sin(2 * x + t / T)
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    sched.set_timesteps(timesteps=ts)
    ref, g = [x], torch.Generator().manual_seed(1)                  # diffusers' whole trajectory, x_T .. x_0
    for t in sched.timesteps: ref.append(sched.step(eps_fn(ref[-1], int(t)), t, ref[-1], generator=g).prev_sample)
    est = lambda x, t: Prediction(eps_fn(x, t))
    def walk(**kw):
        fr = Frames(every=1)
        out = denoise_loop(est, x, ts, ab, generator=torch.Generator().manual_seed(1), frames=fr, **kw)
        return torch.stack([*fr.x, out])
    assert (walk(variance="large") - torch.stack(ref)).abs().max() <= 1e-4
    assert (walk() - torch.stack(ref)).abs().max() > 1e-3             # the default ('small') is another sampler


def test_variance_choice_passes_through_and_is_checked(course):
    "sample(variance=...) reaches the DDPM step; unknown names, and 'large' where no noise is added, are refused."
    small, large = (sample(course, ["7", "3"], guidance=5.0, steps=5, seed=0, variance=v) for v in ("small", "large"))
    assert not torch.equal(small, large)
    torch.testing.assert_close(sample(course, ["7", "3"], guidance=5.0, steps=5, seed=0), small, atol=0, rtol=0)
    gens = generators(0, 2)                                           # as `sample` does: one stream per image
    x = randn((2, 1, 28, 28), gens)
    via_loop = iterative_denoise(course, x, ["7", "3"], guidance=5.0, timesteps=course.timesteps(5),
                                 generator=gens, variance="large")
    torch.testing.assert_close(((via_loop + 1) / 2).clamp(0, 1), large, atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="Unknown variance 'fixed_large'"):
        sample(course, "7", steps=2, variance="fixed_large")
    with pytest.raises(ValueError, match="the 'ddim' sampler adds none"):
        sample(course, "7", steps=2, sampler="ddim", variance="large")
    with pytest.raises(ValueError, match="ddim"):
        denoise_loop(lambda x, t: Prediction(x), x, [5, 0], course.alphas_cumprod, sampler="ddim", variance="large")


def test_bundled_default_variance_goes_with_the_default_guidance():
    "A model whose sampling.json names variance 'large' gets it with its own γ, and the course's 'small' otherwise."
    den = dc.load_pretrained("mnist-class-ddpm")
    assert den.variance == "large"                                          # measured on the evaluation page
    g = den.guidance
    own = sample(den, ["7", "3"], steps=5, seed=0)
    torch.testing.assert_close(own, sample(den, ["7", "3"], guidance=g, steps=5, seed=0, variance="large"),
                               atol=0, rtol=0)
    explicit = sample(den, ["7", "3"], guidance=g, steps=5, seed=0)
    torch.testing.assert_close(explicit, sample(den, ["7", "3"], guidance=g, steps=5, seed=0, variance="small"),
                               atol=0, rtol=0)
    assert not torch.equal(own, explicit)
    sample(den, ["7"], steps=2, sampler="ddim")                              # DDIM adds no noise: nothing to refuse


def test_frames_record_where_figures_expect_them(course):
    "Frames: before every k-th step of the loop (from i_start), after every k-th flow step; the result is x alone."
    ts, x = course.timesteps(12), randn((2, 1, 28, 28), generators(0, 2))
    fr = Frames(every=3)
    out = iterative_denoise(course, x, "7", i_start=2, timesteps=ts, generator=generators(0, 2), frames=fr)
    assert isinstance(out, torch.Tensor) and fr.t == [ts[2], ts[5], ts[8], ts[11]] and len(fr) == 4
    assert fr.stack().shape == (4, 2, 1, 28, 28) and torch.equal(fr.x[0], x)
    plain = iterative_denoise(course, x, "7", i_start=2, timesteps=ts, generator=generators(0, 2))
    torch.testing.assert_close(out, plain, atol=0, rtol=0)                  # recording changes nothing
    gf = Frames(every=2)
    flow_sample(_Drift(), torch.zeros(1, 1, 4, 4), steps=5, frames=gf)
    assert gf.t == pytest.approx([0.4, 0.8]) and torch.allclose(gf.stack()[:, 0, 0, 0, 0], torch.tensor([0.4, 0.8]))
    with pytest.raises(ValueError, match="every=0"):
        Frames(every=0)


class _Drift(dc.Denoiser):
    "A flow 'model' whose velocity is 1 everywhere: x_t = x_0 + t."
    prediction = "velocity"
    def __init__(self): super().__init__(None, (1, 4, 4), "drift")
    def encode(self, prompts): return None
    def predict(self, x, t, cond): return Prediction(torch.ones_like(x), kind="velocity")


def test_ddpm_step_learned_range_matches_diffusers(tif):
    "IF's 6-channel output: noise + learned variance, over the course's whole strided list, through the Denoiser."
    sched = DDPMScheduler(beta_schedule="squaredcos_cap_v2", variance_type="learned_range", clip_sample=False,
                          thresholding=False)
    ts = strided_timesteps(1000, 34)
    emb = tif.prompts.get(["a rocket ship"] * 2)
    raw = lambda x, t: tif.unet(x, t, encoder_hidden_states=emb).sample   # (2, 6, 32, 32)
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    ref = _scheduler_loop(sched, raw, x, ts, torch.Generator().manual_seed(1))
    mine = iterative_denoise(tif, x, "a rocket ship", guidance=1.0, timesteps=ts,
                             generator=torch.Generator().manual_seed(1))
    assert (mine - ref).abs().max() <= 1e-5


def test_variance_is_taken_at_the_current_t():
    "The add_variance trap: the step t -> t' uses the variance of that transition, not of t' -> t''."
    sched = DDPMScheduler(beta_schedule="squaredcos_cap_v2", variance_type="learned_range")
    ts = strided_timesteps(1000, 34)
    sched.set_timesteps(timesteps=ts)
    v = torch.rand(1, 3, 4, 4) * 2 - 1
    ac = sched.alphas_cumprod
    for i in (0, 10, 20, 32):
        t, tp = ts[i], ts[i + 1]
        mine = step_log_variance(ac[t], ac[tp], v)
        torch.testing.assert_close(mine, sched._get_variance(t, predicted_variance=v), atol=1e-5, rtol=0)
        if i < 32:
            wrong = sched._get_variance(tp, predicted_variance=v)   # what passing prev_t computes
            assert (mine - wrong).abs().max() > 1e-3


def test_ddim_step_matches_diffusers():
    sched = DDIMScheduler(beta_schedule="squaredcos_cap_v2", clip_sample=False)
    sched.set_timesteps(34)                     # 'leading': [957, 928, ..., 0], prev = t - 29; last prev -> alpha 1
    ts = sched.timesteps.tolist()
    x0 = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(6)) * 2 - 1
    ab = sched.alphas_cumprod
    eps_fn = lambda x, t: (x - ab[t].sqrt() * x0) / (1 - ab[t]).sqrt() + 0.3 * torch.sin(3 * x + t / 1000)
    x = ref = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    for t in ts: ref = sched.step(eps_fn(ref, t), t, ref, eta=0.0).prev_sample
    mine = x
    for i, t in enumerate(ts):
        mine, _ = ddim_step(mine, Prediction(eps_fn(mine, t)), t, ts[i + 1] if i + 1 < len(ts) else -1,
                            sched.alphas_cumprod)
    assert (mine - ref).abs().max() <= 1e-5


def test_dynamic_threshold_loop_matches_the_if_pipeline(tif):
    "Our hand-written loop + CFG + threshold='dynamic' is diffusers' IFPipeline; without thresholding it differs."
    if importlib.util.find_spec("transformers") is None:
        pytest.skip("IFPipeline needs transformers (pip install transformers sentencepiece)")
    from diffusers import IFPipeline
    sched = DDPMScheduler.from_config(tif.scheduler.config)
    pipe = IFPipeline(tokenizer=None, text_encoder=None, unet=tif.unet, scheduler=sched, safety_checker=None,
                      feature_extractor=None, watermarker=None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    ts = strided_timesteps(1000, 6)
    emb, neg = tif.prompts.get(["a rocket ship"]), tif.prompts.get([""])
    ref = pipe(prompt_embeds=emb, negative_prompt_embeds=neg, timesteps=ts, guidance_scale=7.0, output_type="pt",
               generator=torch.Generator().manual_seed(0)).images
    g = torch.Generator().manual_seed(0)
    x_T = randn((1, 3, 32, 32), g)
    mine = iterative_denoise(tif, x_T, "a rocket ship", guidance=7.0, timesteps=ts, generator=g, threshold="dynamic")
    assert (mine - ref).abs().max() <= 1e-4
    g = torch.Generator().manual_seed(0)
    plain = iterative_denoise(tif, randn((1, 3, 32, 32), g), "a rocket ship", guidance=7.0, timesteps=ts, generator=g)
    assert (plain - ref).abs().max() > 1e-2


# ---- classifier-free guidance -------------------------------------------------------------------------------------

def test_cfg_gamma_one_is_the_conditional_estimate(course, tif):
    x = torch.randn(3, 1, 28, 28)
    cond, unc = course.condition(["1", "5", "9"], 3), course.condition("", 3)
    torch.testing.assert_close(cfg_estimate(course, x, 120, cond, unc, 1.0).eps, course(x, 120, ["1", "5", "9"]).eps,
                               atol=1e-5, rtol=0)
    torch.testing.assert_close(cfg_estimate(course, x, 120, cond, unc, 0.0).eps, course(x, 120, "").eps, atol=1e-5,
                               rtol=0)
    xi = torch.randn(2, 3, 32, 32)
    c, u = tif.condition("a pencil", 2), tif.condition("", 2)
    got, want = cfg_estimate(tif, xi, 500, c, u, 1.0), tif(xi, 500, "a pencil")
    torch.testing.assert_close(got.eps, want.eps, atol=1e-5, rtol=0)
    torch.testing.assert_close(got.variance, want.variance, atol=1e-5, rtol=0)   # variance from the conditional branch


def test_cfg_is_one_batched_forward(course):
    calls = []
    orig = course.predict
    course.predict = lambda x, t, c: (calls.append(len(x)), orig(x, t, c))[1]
    try: cfg_estimate(course, torch.randn(4, 1, 28, 28), 50, course.condition("3", 4), course.condition("", 4), 5.0)
    finally: del course.predict
    assert calls == [8]


# ---- sample(): shape, range, determinism ---------------------------------------------------------------------------

def test_sample_is_deterministic_per_seed(course):
    a = sample(course, ["7", "3", ""], guidance=5.0, steps=5, seed=0)
    assert a.shape == (3, 1, 28, 28) and a.dtype == torch.float32 and 0 <= a.min() and a.max() <= 1
    torch.testing.assert_close(sample(course, ["7", "3", ""], guidance=5.0, steps=5, seed=0), a, atol=0, rtol=0)
    assert not torch.equal(sample(course, ["7", "3", ""], guidance=5.0, steps=5, seed=1), a)
    # image i depends only on seed + i, not on the rest of the batch
    # batch size may change fp rounding
    torch.testing.assert_close(sample(course, ["3"], guidance=5.0, steps=5, seed=1), a[1:2], atol=1e-4, rtol=0)
    # global RNG state plays no part
    torch.manual_seed(123)
    torch.testing.assert_close(sample(course, ["7", "3", ""], guidance=5.0, steps=5, seed=0), a, atol=0, rtol=0)


@pytest.mark.parametrize("sampler", ["ddpm", "ddim"])
def test_sample_samplers(course, sampler):
    x = sample(course, ["0", "1"], sampler=sampler, steps=4, seed=2)
    assert x.shape == (2, 1, 28, 28) and torch.isfinite(x).all()


def test_sample_bad_sampler_says_what_exists(course):
    with pytest.raises(ValueError, match="choose one of"):
        sample(course, ["1"], sampler="euler", steps=3)


def test_flow_models_sample_with_euler_and_heun():
    torch.manual_seed(0)
    den = dc.as_denoiser(CourseUNet(num_hiddens=8, time_cond=True, num_classes=10, objective="flow", time_mode="add"))
    assert den.prediction == "velocity"
    for s in ("euler", "heun"):
        a = sample(den, ["4", "2"], guidance=3.0, sampler=s, steps=3, seed=0)
        assert a.shape == (2, 1, 28, 28)
        torch.testing.assert_close(sample(den, ["4", "2"], guidance=3.0, sampler=s, steps=3, seed=0), a, atol=0, rtol=0)


def test_tiny_if_runs_through_sample(tif):
    x = sample(tif, ["a rocket ship", "a pencil"], steps=3, seed=0)
    assert x.shape == (2, 3, 32, 32) and 0 <= x.min() and x.max() <= 1
    torch.testing.assert_close(sample(tif, ["a rocket ship", "a pencil"], steps=3, seed=0), x, atol=0, rtol=0)
    y = sample(tif, ["a rocket ship"], steps=3, seed=0, threshold="dynamic")
    assert y.shape == (1, 3, 32, 32)


def test_generators_are_per_image():
    a = randn((3, 2, 4, 4), generators(10, 3))
    torch.testing.assert_close(randn((1, 2, 4, 4), generators(12, 1))[0], a[2], atol=0, rtol=0)


# ---- prompts and loading -------------------------------------------------------------------------------------------

def test_course_prompt_dict_pth_loads(tmp_path):
    "The course's prompt_embeds_dict.pth format: {prompt: (1, 77, D)}."
    d = {"a rocket ship": torch.randn(1, 77, 16), "": torch.zeros(1, 77, 16)}
    torch.save(d, tmp_path / "prompt_embeds_dict.pth")
    pe = PromptEmbeddings(tmp_path / "prompt_embeds_dict.pth")
    assert pe.get(["", "a rocket ship"]).shape == (2, 77, 16)
    assert set(load_prompt_embeds(tmp_path / "prompt_embeds_dict.pth")) == set(d)


def test_t5_encoder_path_with_a_tiny_t5(tmp_path):
    if importlib.util.find_spec("transformers") is None:
        pytest.skip("needs transformers")
    from transformers import T5Config, T5EncoderModel
    torch.manual_seed(0)
    t5 = T5EncoderModel(T5Config(vocab_size=99, d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4)).eval()

    class CharTokenizer:  # offline stand-in for IF's T5 tokenizer
        def __call__(self, prompts, padding, max_length, truncation, add_special_tokens, return_tensors):
            ids = torch.zeros(len(prompts), max_length, dtype=torch.long)
            mask = torch.zeros_like(ids)
            for i, p in enumerate(prompts):
                code = [ord(ch) % 97 + 2 for ch in p][: max_length - 1] + [1]
                ids[i, :len(code)], mask[i, :len(code)] = torch.tensor(code), 1
            return type("Tok", (), {"input_ids": ids, "attention_mask": mask})()

    enc = T5PromptEncoder(text_encoder=t5, tokenizer=CharTokenizer(), max_length=7)
    pe = PromptEmbeddings(tmp_path / "cache.safetensors", encoder=enc)
    e = pe.get(["A Rocket Ship", ""])
    assert e.shape == (2, 7, 32)
    torch.testing.assert_close(PromptEmbeddings(tmp_path / "cache.safetensors").get(["A Rocket Ship"])[0], e[0])
    # the encoder lower-cases, as IFPipeline does
    torch.testing.assert_close(enc(["a rocket ship"])[0], e[0], atol=1e-6, rtol=0)
    # a tiny IF stage I runs on these embeddings
    tif = tiny_if_denoiser()
    den = IFDenoiser(tif.unet, tif.scheduler, pe)
    assert sample(den, ["A Rocket Ship"], steps=2).shape == (1, 3, 32, 32)


def test_missing_if_weights_explain_licence_and_login():
    with pytest.raises(RuntimeError, match="accept the licence"):
        dc.load_pretrained("DeepFloyd/IF-I-L-v1.0")


def test_unknown_model_lists_available_names():
    with pytest.raises(FileNotFoundError, match="known names") as e:
        dc.load_pretrained("no-such-model")
    assert "mnist-class-ddpm" in str(e.value)


SHIPPED = {"mnist-class-ddpm": ("mnist", "epsilon"), "mnist-class-fm": ("mnist", "velocity"),
           "fashion-class-ddpm": ("fashion", "epsilon")}


def test_shipped_models_are_bundled():
    assert set(SHIPPED) <= set(dc.available_models()), "a shipped model is missing from diffusion_course/pretrained/"


@pytest.mark.parametrize("name", list(SHIPPED))
def test_shipped_model_samples_are_deterministic_and_recognised(name):
    from diffusion_course.release import load_classifier, sample_accuracy
    dataset, prediction = SHIPPED[name]
    m = dc.load_pretrained(name)
    assert m.image_shape == (1, 28, 28) and m.prediction == prediction and len(m.class_names) == 10
    draw = lambda: dc.sample(m, prompts=m.class_names[:2], guidance=5.0, seed=0, steps=20)   # determinism: few steps do
    x = draw()
    assert x.shape == (2, 1, 28, 28) and 0 <= x.min() and x.max() <= 1
    torch.testing.assert_close(draw(), x, atol=0, rtol=0)
    acc, per_class, _ = sample_accuracy(m, load_classifier(dataset), n_per_class=1)   # the default sampler, every class
    assert acc >= 0.9, f"{name}: only {acc:.0%} of its samples are read as the requested class ({per_class})"


# ---- module seams: Part A never imports Part B's training code ----------------------------------------------------

PART_A = ["imageio", "schedules", "blur", "denoisers", "textunet", "sampling", "edits", "views", "hybrids", "deepfloyd"]
SEAM_CHECK = """
import importlib, importlib.util, sys
pkg = importlib.util.module_from_spec(importlib.util.find_spec("diffusion_course"))   # not executed: the package
sys.modules["diffusion_course"] = pkg      # without its __init__, which imports every module
mods = {m: importlib.import_module("diffusion_course." + m) for m in %r}
den = mods["denoisers"].load_pretrained("mnist-class-ddpm")                     # and use them: nothing lazy either
mods["sampling"].sample(den, ["3"], steps=2)
mods["edits"].sdedit(den, mods["imageio"].load_drawing("drawn_3"), "3", 30)
print(sorted(m for m in sys.modules if m in ("diffusion_course.trainer", "diffusion_course.objectives")))
"""


def test_part_a_imports_nothing_from_the_trainer():
    "Part A's modules, loaded without the package `__init__`, pull in neither `trainer` nor `objectives`."
    out = subprocess.run([sys.executable, "-c", SEAM_CHECK % PART_A], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout


def test_no_module_imports_another_modules_private_names():
    "`from .x import _name` (or `from diffusion_course.x import _name`) appears in none of Part A's modules."
    import diffusion_course
    root = Path(diffusion_course.__file__).parent
    for m in PART_A + ["lessons"]:
        tree = ast.parse((root / f"{m}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("diffusion_course")):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{m}.py imports private {private} from {node.module}"


def test_sampling_settings_are_resolved_in_one_place():
    "The rule 'a model's own interval and variance come only with its own γ' lives in `resolve_settings` alone."
    import re
    from pathlib import Path
    lib = Path(__file__).resolve().parent.parent / "diffusion_course"
    callers = {}
    for f in lib.glob("*.py"):
        for fn in ("resolve_interval", "resolve_variance"):
            if f.name != "_modidx.py" and re.search(rf"(?<!def ){fn}\(", f.read_text()):
                callers.setdefault(fn, []).append(f.name)
    assert callers == {"resolve_interval": ["sampling.py"], "resolve_variance": ["sampling.py"]}, callers
    src = (lib / "sampling.py").read_text()
    body = src[src.index("def resolve_settings("):src.index("def ", src.index("def resolve_settings(") + 4)]
    for fn in ("resolve_interval(", "resolve_variance("):
        assert src.count(fn) - src.count("def " + fn) == body.count(fn), f"{fn} is called outside resolve_settings"
