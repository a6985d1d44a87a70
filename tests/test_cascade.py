"Stage II on tiny random models: `sample(upsample=)`, and anagrams, hybrids, SDEdit and inpainting in both stages."
import pytest
import torch

from diffusion_course.denoisers import TextDenoiser
from diffusion_course.model_files import PromptEmbeddings
from diffusion_course.edits import inpaint, rect_mask, sdedit
from diffusion_course.hybrids import hybrid_image
from diffusion_course.sampling import sample
from diffusion_course.textunet import TextUNet
from diffusion_course.upsampler import UpsamplerDenoiser
from diffusion_course.views import visual_anagram

PROMPTS = {"": torch.zeros(16, 384), "a cat": torch.randn(16, 384, generator=torch.Generator().manual_seed(1)),
           "a dog": torch.randn(16, 384, generator=torch.Generator().manual_seed(2))}


class SpyUNet(TextUNet):
    "A stage II TextUNet that keeps the (x_t, low_res) of its last call."
    def forward(self, x, t, text, low_res=None, aug_level=None):
        self.seen = (x.clone(), low_res.clone())
        return super().forward(x, t, text, low_res, aug_level)


@pytest.fixture(scope="module")
def cascade():
    torch.manual_seed(0)
    one = TextDenoiser(TextUNet(sample_size=8, channels=(8, 16), attention=(False, True)),
                       PromptEmbeddings(embeds=PROMPTS))
    two = UpsamplerDenoiser(SpyUNet(sample_size=16, channels=(8, 16), attention=(False, True), low_res_channels=3),
                            PromptEmbeddings(embeds=PROMPTS))
    one.steps = two.steps = 3
    return one, two


def test_sample_upsample_is_deterministic_and_twice_the_size(cascade):
    one, two = cascade
    a, b = [sample(one, ["a cat", "a dog"], seed=3, upsample=two) for _ in range(2)]
    assert a.shape == (2, 3, 16, 16) and torch.equal(a, b) and 0 <= a.min() and a.max() <= 1
    assert not torch.equal(a, sample(one, ["a cat", "a dog"], seed=4, upsample=two))
    assert sample(one, ["a cat"], seed=3).shape == (1, 3, 8, 8)                        # no upsample: stage I only


def test_anagram_stage_two_sees_each_view_of_stage_one(cascade):
    one, two = cascade
    x = visual_anagram(one, ["a cat", "a dog"], ["identity", "flip"], n=2, seed=0, upsample=two)
    assert x.shape == (2, 3, 16, 16)
    xs, ys = two.unet.seen                                      # the last stage II call: [views | views] for CFG
    x_id, x_flip, *_ = xs.split(2); y_id, y_flip, *_ = ys.split(2)
    assert torch.equal(x_flip, x_id.flip(dims=[2])) and torch.equal(y_flip, y_id.flip(dims=[2]))


def test_hybrid_and_sdedit_upsample(cascade):
    one, two = cascade
    assert hybrid_image(one, "a cat", "a dog", n=2, seed=0, upsample=two).shape == (2, 3, 16, 16)
    img = torch.rand(2, 3, 8, 8) * 2 - 1
    out = sdedit(one, img, "a cat", i_start=1, seed=0, upsample=two)
    assert out.shape == (2, 3, 16, 16)
    assert torch.equal(out, sdedit(one, img, "a cat", i_start=1, seed=0, upsample=two))


@pytest.mark.parametrize("size", [8, 16])
def test_inpaint_in_both_stages_keeps_the_known_pixels(cascade, size):
    "Given at stage II's size, the pixels outside the mask come back exactly; given at stage I's, resized x2."
    one, two = cascade
    img = torch.rand(1, 3, size, size) * 2 - 1
    mask = rect_mask(size, 0.25, 0.25, 0.5, 0.5)
    out = inpaint(one, img, mask, "a cat", seed=0, upsample=two)
    assert out.shape == (1, 3, 16, 16)
    if size == 16:
        m, diff = mask.reshape(16, 16).bool(), (out - img).abs()
        assert diff[:, :, m].max() > 0.01 and diff[:, :, ~m].max() < 1e-5
