"""Part A edits: SDEdit, inpainting, visual anagrams and hybrids keep their defining properties (MNIST, tiny IF)."""
import importlib.util

import pytest
import torch

from diffusion_course.edits import inpaint, rect_mask, sdedit
from diffusion_course.imageio import drawings, load_drawing
from diffusion_course.hybrids import highpass, hybrid_blur, hybrid_estimate, hybrid_image, lowpass
from diffusion_course.sampling import cfg_estimate, sample
from diffusion_course.views import Flip, Identity, Negate, PatchPermute, Rotate, anagram_estimate, visual_anagram

torch.set_num_threads(1)


# ---- inpainting ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["course", "tif"])
def test_inpainting_keeps_unmasked_pixels_forward_noised_at_every_step(which, course, tif):
    den = course if which == "course" else tif
    C, H, W = den.image_shape
    image = torch.rand(2, C, H, W, generator=torch.Generator().manual_seed(0)) * 2 - 1
    mask = rect_mask(H, 0.25, 0.25, 0.5, 0.5)
    keep = (1 - mask).bool().expand_as(image)
    seen = []

    def check(i, t_prev, x, known):
        assert torch.equal(x[keep], known[keep])                       # unmasked pixels = the noised original
        if t_prev < 0:
            assert torch.equal(known, image)
        else:  # known = sqrt(ab) x0 + sqrt(1-ab) eps, eps ~ N(0, I)
            ab = den.alphas_cumprod[t_prev]
            eps = (known - ab.sqrt() * image) / (1 - ab).sqrt()
            assert abs(eps.mean()) < 0.2 and 0.8 < eps.std() < 1.2
        seen.append(t_prev)

    out = inpaint(den, image, mask, "", guidance=1.0, seed=0, timesteps=den.timesteps(6), callback=check)
    assert seen == den.timesteps(6)[1:] + [-1]
    assert torch.equal(out[keep], image[keep])
    assert not torch.allclose(out[~keep], image[~keep])


def test_rect_mask():
    m = rect_mask(28, 0, 0, 0.5, 1)
    assert m.shape == (1, 1, 28, 28) and m[..., :14, :].all() and not m[..., 14:, :].any()


# ---- SDEdit ---------------------------------------------------------------------------------------------------------

def test_sdedit_is_deterministic_and_fair_across_i_start(course):
    x0 = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    a = sdedit(course, x0, "3", i_start=5, guidance=5.0, seed=0, timesteps=course.timesteps(8))
    torch.testing.assert_close(sdedit(course, x0, "3", i_start=5, guidance=5.0, seed=0,
                                      timesteps=course.timesteps(8)), a, atol=0, rtol=0)
    # starting at the last index does a single step from a barely noised image: close to the input
    last = sdedit(course, x0, "3", i_start=7, guidance=5.0, seed=0, timesteps=course.timesteps(8))
    assert (last - x0).abs().max() < 0.1
    assert a.shape == x0.shape


def test_drawings_ship_with_the_package():
    names = drawings()
    assert len(names) >= 4 and all(n.startswith("drawn_") for n in names)
    x = load_drawing(names[0])
    assert x.shape == (1, 1, 28, 28) and x.min() >= -1 and x.max() <= 1 and x.max() > 0.5
    with pytest.raises(FileNotFoundError, match="bundled ones are"):
        load_drawing("drawn_elephant")


# ---- visual anagrams ------------------------------------------------------------------------------------------------

VIEWS = [Identity(), Flip(), Rotate(1), Rotate(2), Rotate(3), Negate(), PatchPermute(2), PatchPermute(4, seed=3)]


@pytest.mark.parametrize("view", VIEWS, ids=repr)
def test_every_view_inverse_undoes_it(view):
    x = torch.randn(2, 3, 28, 28)
    assert torch.equal(view.inverse(view(x)), x)
    assert torch.equal(view(view.inverse(x)), x)
    torch.testing.assert_close(view(x).norm(), x.norm())               # orthogonal: noise stays N(0, I)


def test_flip_is_upside_down_not_a_mirror():
    x = torch.arange(4.).reshape(1, 1, 2, 2)                            # [[0, 1], [2, 3]]
    assert Flip()(x).flatten().tolist() == [2, 3, 0, 1]


def test_anagram_estimate_applies_cfg_per_view_and_inverts(course):
    x = torch.randn(2, 1, 28, 28)
    c6, c9, u = course.condition("6", 2), course.condition("9", 2), course.condition("", 2)
    got = anagram_estimate(course, x, 120, [c6, c9], [Identity(), Flip()], u, 5.0).eps
    e1 = cfg_estimate(course, x, 120, c6, u, 5.0).eps
    e2 = Flip().inverse(cfg_estimate(course, Flip()(x), 120, c9, u, 5.0).eps)
    torch.testing.assert_close(got, (e1 + e2) / 2, atol=1e-5, rtol=0)


def test_visual_anagram_with_identity_views_is_plain_cfg_sampling(course):
    a = visual_anagram(course, ["3", "3"], [Identity(), Identity()], n=2, guidance=5.0, steps=4, seed=0)
    torch.testing.assert_close(a.clamp(-1, 1), sample(course, ["3", "3"], 5.0, steps=4, seed=0) * 2 - 1, atol=1e-4,
                               rtol=0)
    with pytest.raises(ValueError, match="one prompt per view"):
        visual_anagram(course, ["6"], [Identity(), Flip()])


def test_anagram_on_tiny_if_averages_inverse_viewed_variance(tif):
    x = torch.randn(1, 3, 32, 32)
    c, u = tif.condition("a pencil", 1), tif.condition("", 1)
    got = anagram_estimate(tif, x, 400, [c, c], [Identity(), Negate()], u, 7.0)
    p1, p2 = cfg_estimate(tif, x, 400, c, u, 7.0), cfg_estimate(tif, -x, 400, c, u, 7.0)
    torch.testing.assert_close(got.variance, (p1.variance + p2.variance) / 2, atol=1e-4, rtol=0)  # variance not negated
    torch.testing.assert_close(got.eps, (p1.eps - p2.eps) / 2, atol=1e-4, rtol=0)   # batch size changes fp rounding x γ
    assert visual_anagram(tif, ["a rocket ship", "a pencil"], [Identity(), Flip()], steps=2).shape == (1, 3, 32, 32)


# ---- hybrids --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("size,sigma", [(28, None), (64, None), (32, 3.0), (28, 0.5)])
def test_lowpass_plus_highpass_is_identity(size, sigma):
    x = torch.randn(2, 3, size, size)
    k, s = hybrid_blur(size, sigma)
    assert k % 2 == 1 and k // 2 < size
    torch.testing.assert_close(lowpass(x, s, k) + highpass(x, s, k), x, atol=1e-6, rtol=0)


def test_hybrid_blur_scales_with_the_image():
    assert hybrid_blur(64) == (33, 2.0)                                 # the course's kernel and sigma at 64 px
    assert hybrid_blur(28) == (15, 0.875)


def test_hybrid_estimate_filters_cfg_estimates(course):
    x = torch.randn(2, 1, 28, 28)
    c0, c1, u = course.condition("0", 2), course.condition("1", 2), course.condition("", 2)
    got = hybrid_estimate(course, x, 150, c0, c1, u, 5.0, 0.875).eps
    e0, e1 = cfg_estimate(course, x, 150, c0, u, 5.0).eps, cfg_estimate(course, x, 150, c1, u, 5.0).eps
    torch.testing.assert_close(got, lowpass(e0, 0.875) + highpass(e1, 0.875), atol=1e-5, rtol=0)


def test_hybrid_with_one_prompt_is_plain_sampling(course, tif):
    a = hybrid_image(course, "5", "5", n=2, guidance=5.0, steps=4, seed=0)
    torch.testing.assert_close(a.clamp(-1, 1), sample(course, ["5", "5"], 5.0, steps=4, seed=0) * 2 - 1, atol=1e-4,
                               rtol=0)
    assert hybrid_image(tif, "a lithograph of a skull", "a lithograph of waterfalls", steps=2).shape == (1, 3, 32, 32)


# ---- stage II ------------------------------------------------------------------------------------------------------

def test_tiny_if_upsampler(tif):
    if importlib.util.find_spec("transformers") is None:
        pytest.skip("IFSuperResolutionPipeline needs transformers")
    from diffusion_course.deepfloyd import tiny_if_upsampler, upsample
    pipe = tiny_if_upsampler()
    small = torch.rand(2, 3, 16, 16) * 2 - 1
    big = upsample(pipe, small, "a high quality photo", tif.prompts, steps=2, seed=1)
    assert big.shape == (2, 3, 32, 32) and big.abs().max() <= 1
    torch.testing.assert_close(upsample(pipe, small, "a high quality photo", tif.prompts, steps=2, seed=1), big,
                               atol=0, rtol=0)
