"""The sample-quality metrics: the Fréchet distance against scipy's matrix square root, diversity, call counting."""
import pytest
import torch

from diffusion_course.metrics import class_diversity, count_calls, frechet_distance, sqrtm_psd


def _features(n, f, seed, shift=0.0):
    "Correlated, non-Gaussian features (ReLU of a random linear map), like a classifier's penultimate layer."
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(f, f, generator=torch.Generator().manual_seed(99), dtype=torch.float64)
    return torch.relu(torch.randn(n, f, generator=g, dtype=torch.float64) @ mix + shift)


def test_frechet_distance_matches_scipy_sqrtm():
    linalg = pytest.importorskip("scipy.linalg")
    a, b = _features(3000, 16, 0), _features(2000, 16, 1, shift=0.3)
    mu_a, mu_b = a.mean(0).numpy(), b.mean(0).numpy()
    s_a, s_b = torch.cov(a.T).numpy(), torch.cov(b.T).numpy()
    cross = linalg.sqrtm(s_a @ s_b).real                               # the textbook formula, non-symmetric sqrtm
    ref = ((mu_a - mu_b) ** 2).sum() + (s_a + s_b - 2 * cross).trace()
    assert frechet_distance(a, b) == pytest.approx(ref, rel=1e-6)


def test_frechet_distance_is_symmetric_and_zero_on_itself():
    a, b = _features(1000, 8, 2), _features(1000, 8, 3, shift=1.0)
    assert frechet_distance(a, a) == pytest.approx(0, abs=1e-8)
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-8)
    assert frechet_distance(a, b) > 0.1


def test_sqrtm_psd_squares_back():
    a = _features(500, 10, 4)
    s = torch.cov(a.T)
    r = sqrtm_psd(s)
    assert torch.allclose(r @ r, s, atol=1e-8) and torch.allclose(r, r.T)


def test_class_diversity():
    f = torch.tensor([[0.0, 0.0], [3.0, 4.0], [10.0, 0.0], [10.0, 0.0]], dtype=torch.float64)
    labels = torch.tensor([0, 0, 1, 1])
    assert class_diversity(f, labels) == pytest.approx((5.0 + 0.0) / 2)   # class 0: distance 5; class 1: identical


def test_count_calls_counts_and_restores(course):
    x = torch.randn(2, 1, 28, 28)
    with count_calls(course) as n:
        for _ in range(3): course(x, 10, ["1", "2"])
    assert n[0] == 3
    assert "predict" not in vars(course)                                 # the class's method is back


def test_scheduler_sampling_is_seeded_and_takes_the_steps_asked(course):
    from diffusers import DPMSolverMultistepScheduler

    from diffusion_course.metrics import sample_with_scheduler, scheduler_for
    sched = scheduler_for(course, DPMSolverMultistepScheduler)
    assert sched.config.num_train_timesteps == course.T == 300
    with count_calls(course) as n:
        a = sample_with_scheduler(course, sched, ["3", "7"], steps=4, guidance=5.0, seed=1)
    b = sample_with_scheduler(course, sched, ["3", "7"], steps=4, guidance=5.0, seed=1)
    assert n[0] == 4 and a.shape == (2, 1, 28, 28) and torch.equal(a, b) and 0 <= a.min() and a.max() <= 1


def test_guidance_curve_and_steps_table_rows(course):
    from diffusers import UniPCMultistepScheduler

    from diffusion_course.metrics import guidance_curve, scheduler_for, steps_table
    curve = guidance_curve(course, gammas=(1, 3), n_per_class=2)
    assert [r["guidance"] for r in curve] == [1, 3] and all(r["n"] == 20 for r in curve)
    assert curve[0]["network_calls"] == curve[1]["network_calls"] == len(course.timesteps())
    unipc = scheduler_for(course, UniPCMultistepScheduler)
    rows = steps_table([("DDIM 3", course, "ddim", 3), ("UniPC 2", course, unipc, 2)], n_per_class=2)
    assert [r["setting"] for r in rows] == ["DDIM 3", "UniPC 2"] and [r["network_calls"] for r in rows] == [3, 2]
    assert [r["nfe_per_image"] for r in rows] == [2 * 3, 2 * 2]        # per step: the conditional and unconditional
    for r in rows: assert r["fid"] > 0 and r["fid_floor"] > 0 and 0 <= r["accuracy"] <= 1


def test_evaluate_records_the_variance_it_sampled_with(course):
    from diffusers import UniPCMultistepScheduler

    from diffusion_course.metrics import evaluate_class_model, scheduler_for
    row = evaluate_class_model(course, n_per_class=2, guidance=3.0, steps=2, variance="large")
    assert row["variance"] == "large"
    assert evaluate_class_model(course, n_per_class=2, guidance=3.0, steps=2)["variance"] == "small"  # the course's
    with pytest.raises(ValueError, match="pass scheduler= or sampler=/variance=, not both"):
        evaluate_class_model(course, n_per_class=2, steps=2, variance="large",
                             scheduler=scheduler_for(course, UniPCMultistepScheduler))
    row = evaluate_class_model(course, n_per_class=2, steps=2, scheduler=scheduler_for(course, UniPCMultistepScheduler))
    assert (row["sampler"], row["variance"], row["guidance"]) == ("UniPCMultistepScheduler", None, course.guidance)

