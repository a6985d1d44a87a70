"""`diffusion-course tour`: a fast tour (tiny sizes) run as a user would, offline and without any dataset, then its page
checked in pure Python (every <img> is a file beside the page, nothing from the network, every part of the manifest
has non-blank images) and, where Chromium is installed, in headless Chromium (no console errors, every image loads)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from diffusion_course.tour import PARTS
from diffusion_course.tour_page import check_gallery


@pytest.fixture(scope="module")
def gallery(tmp_path_factory):
    "A fast tour written by the command line, with no dataset folder and no network (HF_HUB_OFFLINE)."
    root = tmp_path_factory.mktemp("tour")
    data, out = root / "no-data", root / "gallery"
    data.mkdir()
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", MPLBACKEND="Agg", DIFFUSION_COURSE_DATA=str(data))
    cmd = [sys.executable, "-m", "diffusion_course", "tour", "--fast", "--device", "cpu", "--out", str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=root, timeout=1200)
    assert r.returncode == 0, r.stderr[-3000:]
    assert not any(data.iterdir()), "the tour must not read or download a dataset"
    return out


def test_every_part_in_order(gallery):
    info = json.loads((gallery / "manifest.json").read_text())
    parts = info["parts"]
    assert info["part_a_model"] == "emoji-t2i", "the default tour runs Part A on the text model"
    assert [p["id"] for p in parts] == [fn.__name__.removeprefix("tour_") for fn in PARTS]
    for p in parts:
        assert p["title"] and p["images"] and isinstance(p["metrics"], dict) and p["seconds"] >= 0, p
        assert p["call"].startswith("dc.") and p["notebook"].endswith(".ipynb"), p


def test_page_tells_the_story(gallery):
    page = (gallery / "index.html").read_text()
    for part in json.loads((gallery / "manifest.json").read_text())["parts"]:
        assert f'id="{part["id"]}"' in page and part["call"].replace("'", "&#x27;") in page, part["id"]
    assert "<figcaption>" in page and "Lesson: <code>nbs/" in page


def test_pure_python_check_passes(gallery):
    assert check_gallery(gallery) == []


def _copy(gallery):
    d = Path(tempfile.mkdtemp())
    shutil.copytree(gallery, d, dirs_exist_ok=True)
    return d


def test_pure_python_check_catches_defects(gallery):
    d = _copy(gallery)
    (d / "blur.png").unlink()
    page = (d / "index.html").read_text().replace('src="cfg.png"', 'src="https://example.com/cfg.png"')
    (d / "index.html").write_text(page)
    from PIL import Image
    Image.new("L", (50, 50), 255).save(d / "sampling.png")
    problems = " | ".join(check_gallery(d))
    assert "blur.png" in problems and "network" in problems and "sampling.png is blank" in problems, problems


@pytest.fixture(scope="module")
def browser():
    import browser_utils as bu
    chromium, chromedriver = bu.find_chromium()
    if not (chromium and chromedriver):
        pytest.skip(f"Chromium cannot run here (chromium: {chromium or 'missing'}, chromedriver: "
                    f"{chromedriver or 'missing'}): `apt-get install -y chromium chromium-driver` to run this check")
    with tempfile.TemporaryDirectory() as profile:
        drv = bu.start_browser(chromium, chromedriver, profile)
        try: yield drv
        finally: drv.quit()


def test_page_in_chromium(gallery, browser):
    import browser_utils as bu
    problems = bu.check_page(browser, (gallery / "index.html").resolve().as_uri())
    assert not problems, "the tour's page in Chromium:\n  - " + "\n  - ".join(problems)
    shown = bu.js(browser, "Array.from(document.images).map(i => i.naturalWidth)")
    assert len(shown) >= len(PARTS) and min(shown) > 0


def test_chromium_check_catches_a_missing_image(gallery, browser):
    import browser_utils as bu
    d = _copy(gallery)
    (d / "cfg.png").unlink()
    problems = bu.check_page(browser, (d / "index.html").resolve().as_uri())
    assert any("did not load" in p and "cfg.png" in p for p in problems), problems


def test_parts_are_deterministic(tmp_path):
    "The same seed gives the same figures and numbers (every sampler call gets its own seeded generators)."
    from diffusion_course.tour_a import tour_iterative, tour_sdedit
    from diffusion_course.tour_base import Tour
    runs = []
    for i in range(2):
        tour = Tour(tmp_path / str(i), seed=3, fast=True)
        tour.out.mkdir()
        runs.append([(fn(tour).metrics, (tour.out / f"{fn.__name__[5:]}.png").read_bytes())
                     for fn in (tour_iterative, tour_sdedit)])
    assert runs[0] == runs[1]


def test_part_a_on_the_class_model(tmp_path):
    "The one switch that moves Part A onto the MNIST class model gives a complete tour, read by the digit classifier."
    from diffusion_course.tour import run_tour
    page = run_tour(tmp_path / "mnist", fast=True, device="cpu", part_a="mnist-class-ddpm", progress=False)
    info = json.loads((page.parent / "manifest.json").read_text())
    assert info["part_a_model"] == "mnist-class-ddpm"
    assert [p["id"] for p in info["parts"]] == [fn.__name__.removeprefix("tour_") for fn in PARTS]
    assert check_gallery(page.parent) == []


@pytest.mark.parametrize("n,prompts", [(1, 1), (3, 1), (1, 10)])
def test_sample_grids_show_each_image_at_96_px_or_more(tmp_path, n, prompts):
    "`diffusion-course sample` pictures: a 32-px sample is drawn over at least 96 pixels of the PNG."
    import torch
    from PIL import Image
    from diffusion_course.imageio import save_samples
    path = save_samples(torch.rand(n * prompts, 3, 32, 32), [f"p{i}" for i in range(prompts)], tmp_path / "s.png", n=n)
    columns = n if n > 1 else min(prompts, 10)
    assert Image.open(path).size[0] >= 96 * columns + 40, Image.open(path).size
