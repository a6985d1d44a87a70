"""README.md is kept in step with nbs/index.ipynb by hand (`nbdev_readme` needs Quarto): the quickstarts agree."""
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The two one-line commands for a fresh machine with only Python >= 3.10, run from a checkout.
QUICKSTART = [
    "pip install . && diffusion-course tour",            # install, run the main job
    'pip install -e ".[dev]" && bash tests/run.sh',      # install the dev extra, run the whole test suite
]


def quickstart(markdown: str, where: str) -> list:
    "The commands in the first fenced code block of the `## Quickstart` section of `markdown`."
    m = re.search(r"^##\s+Quickstart\s*$(.*?)(?=^##\s|\Z)", markdown, flags=re.M | re.S)
    assert m, f"{where} has no `## Quickstart` section"
    block = re.search(r"^```[\w-]*\n(.*?)^```", m.group(1), flags=re.M | re.S)
    assert block, f"The Quickstart section of {where} has no fenced code block"
    return [l.strip() for l in block.group(1).splitlines() if l.strip() and not l.strip().startswith("#")]


def index_markdown() -> str:
    nb = json.loads((ROOT / "nbs" / "index.ipynb").read_text(encoding="utf-8"))
    return "\n\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")


def test_readme_quickstart():
    assert quickstart((ROOT / "README.md").read_text(encoding="utf-8"), "README.md") == QUICKSTART, (
        f"README.md's quickstart code block must be exactly these two commands: {QUICKSTART}")


def test_readme_and_index_agree():
    readme = quickstart((ROOT / "README.md").read_text(encoding="utf-8"), "README.md")
    index = quickstart(index_markdown(), "nbs/index.ipynb")
    assert readme == index, (f"The quickstarts differ:\n  README.md:        {readme}\n  nbs/index.ipynb:  {index}\n"
                             "Edit both by hand (or run `nbdev_readme` where Quarto is installed).")


def test_readme_and_index_titles_agree():
    title = lambda md: re.search(r"^#\s+(.+)$", md, flags=re.M).group(1).strip()
    assert title((ROOT / "README.md").read_text(encoding="utf-8")) == title(index_markdown())


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    runs = [l for l in ci.splitlines() if not l.lstrip().startswith(("#", "echo"))]
    assert any(QUICKSTART[1] in l for l in runs), f".ci/run must run the README's test command `{QUICKSTART[1]}`"


def test_module_map_is_current():
    "README's module map is what tools/module_map.py draws from the code now (and the code has no import cycle)."
    import module_map   # tools/ is on the path (tests/conftest.py)
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    found = re.search(r"\*\*Module map\.\*\*.*?```text\n(.*?)\n```", text, flags=re.S)
    assert found, "README.md has no **Module map.** paragraph with a ```text block"
    stale = "README's module map is stale: paste the output of `python tools/module_map.py`"
    assert found.group(1) == module_map.draw(), stale
