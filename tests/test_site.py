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


def workflow(name):
    return yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text(encoding="utf-8"))


def test_ci_workflow_runs_the_readme_test_command():
    steps = workflow("test.yaml")["jobs"]["test"]["steps"]
    commands = [s.get("run", "") for s in steps]
    assert any('pip install -e ".[dev]" && bash tests/run.sh' in c for c in commands), (
        "The CI workflow must run the README's test command, `pip install -e \".[dev]\" && bash tests/run.sh`.")


def test_docs_workflow_publishes_the_site():
    steps = workflow("deploy.yaml")["jobs"]["deploy"]["steps"]
    assert any(s.get("uses", "").startswith("answerdotai/workflows/quarto-ghp") for s in steps), (
        "The docs workflow must render the site with nbdev's quarto-ghp action and publish it to GitHub Pages.")


def test_every_page_links_to_its_notebook():
    actions = yaml.safe_load((ROOT / "_quarto.yml").read_text(encoding="utf-8"))["website"]["repo-actions"]
    assert "source" in actions, "_quarto.yml's website.repo-actions must include 'source' (a link to the notebook)."
