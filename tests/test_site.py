"""The site's hand-written configuration (no Quarto needed): sidebar entries exist and every notebook is listed."""
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT / "nbs"


def sidebar_files(items):
    "Every file named in a Quarto sidebar `contents` list (strings, `href:` entries and nested sections)."
    for it in items or []:
        if isinstance(it, str): yield it
        elif isinstance(it, dict):
            if "href" in it: yield it["href"]
            if isinstance(it.get("file"), str): yield it["file"]
            yield from sidebar_files(it.get("contents"))


def sidebar():
    config = yaml.safe_load((NBS / "sidebar.yml").read_text(encoding="utf-8"))
    return list(sidebar_files(config["website"]["sidebar"]["contents"]))


def test_sidebar_entries_exist():
    missing = [f for f in sidebar() if not (NBS / f).exists()]
    assert not missing, f"nbs/sidebar.yml lists files that do not exist: {missing}"


def test_every_notebook_is_in_the_sidebar():
    # custom_sidebar = True: nbdev never adds a new notebook to nbs/sidebar.yml, so it would be missing from the site
    nbs = sorted(p.relative_to(NBS).as_posix() for p in NBS.rglob("*.ipynb")
                 if not any(part[0] in "_." for part in p.relative_to(NBS).parts))
    unlisted = [f for f in nbs if f not in sidebar()]
    assert not unlisted, f"Add these notebooks to nbs/sidebar.yml (it is hand-written): {unlisted}"


def test_quarto_yml_is_one_file():
    assert (NBS / "_quarto.yml").is_symlink() and (NBS / "_quarto.yml").readlink().as_posix() == "../_quarto.yml", (
        "nbs/_quarto.yml must be a relative symlink: run `ln -sfn ../_quarto.yml nbs/_quarto.yml`")
    assert {"nbdev.yml", "sidebar.yml"} <= set(yaml.safe_load((ROOT / "_quarto.yml").read_text())["metadata-files"])
