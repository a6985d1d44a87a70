"""Execute notebooks in place so their saved outputs (figures and widget state) come from a real run.

    python tools/execute_nbs.py nbs/13_sampling.ipynb [more.ipynb ...]
    python tools/execute_nbs.py --skip-slow nbs/29_metrics.ipynb      # leave `#| slow` cells (and their outputs) alone

Cells flagged `#| gpu`, `#| hub` or `#| eval: false` are skipped, as `nbdev_test` skips them here; every other cell
runs at full size (IN_TEST is not set). Run `nbdev_clean` afterwards. Not a test: pytest collects only test_*.py.
"""
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

SKIP = re.compile(r"^#\|\s*(gpu|hub|eval:\s*false)\b", re.M)
SKIP_SLOW = re.compile(r"^#\|\s*(gpu|hub|slow|eval:\s*false)\b", re.M)


def execute(path: Path, timeout=3600, skip=SKIP):
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("widgets", None)          # the new run's widget state replaces the old, also when it has none
    skipped = []
    for cell in nb.cells:
        if cell.cell_type == "code" and skip.search(cell.source):
            tags = cell.metadata.setdefault("tags", [])
            if "skip-execution" not in tags: tags.append("skip-execution"); skipped.append(cell)
    t0 = time.time()
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}},
                   skip_cells_with_tag="skip-execution", store_widget_state=True).execute()
    for cell in skipped:
        cell.metadata["tags"].remove("skip-execution")
        if not cell.metadata["tags"]: del cell.metadata["tags"]
    nbformat.write(nb, path)
    print(f"{path}: {time.time() - t0:.0f} s ({len(skipped)} cells skipped)", flush=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    skip = SKIP_SLOW if "--skip-slow" in args else SKIP
    paths = [a for a in args if a != "--skip-slow"]
    if not paths: sys.exit(__doc__)
    for p in paths: execute(Path(p), skip=skip)
