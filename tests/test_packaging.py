"""Packaging: the import, the version, the console script, and what the wheel contains."""
import configparser
import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import diffusion_course as dc

ROOT = Path(__file__).resolve().parent.parent


def settings():
    cfg = configparser.ConfigParser(delimiters=["="])
    cfg.read(ROOT / "settings.ini", encoding="utf-8")
    return cfg["DEFAULT"]


def test_version_matches_settings_ini():
    assert dc.__version__ == settings()["version"], (
        f"diffusion_course.__version__ is {dc.__version__!r} but settings.ini says {settings()['version']!r}: "
        "run `nbdev_export` (it writes __version__ into __init__.py)")


def test_imported_from_this_checkout():
    # `pip install -e .` points at this tree; a stale non-editable install would test other code
    assert Path(dc.__file__).resolve().parent == ROOT / "diffusion_course", (
        f"diffusion_course is imported from {dc.__file__}, not this checkout: run `pip install -e \".[dev]\"`")


def _console_script(name):
    "The installed console script `name`, next to this Python first (the venv's bin/), then on PATH."
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else shutil.which(name)


def _cli_env():
    return {**os.environ, "MPLBACKEND": "Agg", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}


def test_console_script_help():
    if importlib.util.find_spec("diffusion_course.cli") is None:
        pytest.skip("diffusion_course.cli does not exist yet (its notebook has not been exported), "
                    "so there is no `diffusion-course` command to test")
    exe = _console_script("diffusion-course")
    assert exe, ("The `diffusion-course` console script is not installed although diffusion_course.cli exists: "
                 "run `pip install -e \".[dev]\"` again (entry points are written at install time)")
    r = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=300, env=_cli_env())
    assert r.returncode == 0, f"`diffusion-course --help` exited {r.returncode}:\n{r.stdout}\n{r.stderr}"
    assert "usage" in r.stdout.lower(), r.stdout


# What a wheel is built from: the packaging files and the package, copied so the build writes nothing into the checkout.
_SDIST_FILES = ["setup.py", "settings.ini", "pyproject.toml", "MANIFEST.in", "README.md", "LICENSE"]


@pytest.mark.build
def test_wheel_contents(tmp_path):
    missing = [f for f in ["diffusion_course", *_SDIST_FILES] if not (ROOT / f).exists()]
    assert not missing, f"Files the build needs are missing from the checkout: {missing}"
    for dep in ("build", "setuptools", "wheel"):
        if importlib.util.find_spec(dep) is None:
            pytest.fail(f"`{dep}` is not installed: run `pip install -e \".[dev]\"` (the dev extra lists it)")
    src = tmp_path / "src"
    src.mkdir()
    for f in _SDIST_FILES: shutil.copy2(ROOT / f, src / f)
    shutil.copytree(ROOT / "diffusion_course", src / "diffusion_course",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path / "dist"
    # --no-isolation: use this venv's setuptools and wheel, so the build needs no package index
    r = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(src)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"`python -m build --wheel` failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
    wheels = list(out.glob("*.whl"))
    assert len(wheels) == 1, wheels
    assert wheels[0].name.startswith(f"diffusion_course-{settings()['version']}-"), wheels[0].name

    names = set(zipfile.ZipFile(wheels[0]).namelist())
    for f in ["diffusion_course/__init__.py", "diffusion_course/data.py", "diffusion_course/_modidx.py"]:
        assert f in names, f"{f} is missing from the wheel {wheels[0].name}"
    # every module exported from the notebooks, and every bundled weight/asset file, ships in the wheel
    shipped = [p.relative_to(src).as_posix() for p in (src / "diffusion_course").rglob("*")
               if p.is_file() and (p.suffix == ".py" or {"pretrained", "assets"} & set(p.parts))]
    assert not [f for f in shipped if f not in names], (
        f"Files of the package are missing from the wheel: {[f for f in shipped if f not in names]} "
        "(check package_data in setup.py and MANIFEST.in)")
    entry_points = next(zipfile.ZipFile(wheels[0]).read(n).decode() for n in names if n.endswith("entry_points.txt"))
    assert "diffusion-course = diffusion_course.cli:main" in entry_points, entry_points
    assert "diffusion_course = diffusion_course._modidx:d" in entry_points, entry_points  # nbdev doc links
