"""The repository stays light: no tracked file over 20 MiB, the files HEAD tracks within a stated budget, and run
folders keep checkpoints by the rule: one weights-only checkpoint while a run is in progress, none once published."""
import re
import subprocess
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
MAX_FILE = 20 * 2**20        # bytes: a weights file this large belongs in a release, not in git
BUDGET = 140 * 10**6         # bytes HEAD may track besides runs in progress (134.3 MB on 2026-12-07; goal: 110 MB)
CHECKPOINT = re.compile(r"^(nbs/runs/[^/]+)/checkpoints/([^/]+)/")


def tracked_sizes() -> dict:
    "{path: size in bytes} of every file HEAD tracks."
    try: out = subprocess.run(["git", "ls-tree", "-r", "-l", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout
    except (OSError, subprocess.CalledProcessError): pytest.skip("not a git checkout")
    sizes = {}
    for line in out.splitlines():
        meta, path = line.split("\t", 1)
        kind, size = meta.split()[1], meta.split()[3]
        if kind == "blob": sizes[path] = int(size)
    return sizes


def test_no_tracked_file_over_20_mib():
    big = {p: s for p, s in tracked_sizes().items() if s > MAX_FILE}
    assert not big, f"tracked files over {MAX_FILE / 2**20:.0f} MiB: {big}"


def tracked_checkpoints(sizes:dict) -> dict:
    "{run folder: {checkpoint folder: bytes}} of the checkpoints HEAD tracks."
    runs = {}
    for path, size in sizes.items():
        if m := CHECKPOINT.match(path):
            cks = runs.setdefault(m.group(1), {}); cks[m.group(2)] = cks.get(m.group(2), 0) + size
    return runs


def test_checkpoints_by_the_rule():
    for run, cks in tracked_checkpoints(tracked_sizes()).items():
        assert len(cks) <= 1, f"{run} tracks {len(cks)} checkpoints ({sorted(cks)}): keep the newest one only"
        assert not (ROOT / run / "card").exists(), f"{run} is published (it has card/) and still tracks {sorted(cks)}"
        for ck in cks:
            state = torch.load(ROOT / run / "checkpoints" / ck / "state.pt", weights_only=False, map_location="cpu")
            assert state.get("optimizer") is None, f"{run}/checkpoints/{ck} keeps its optimiser: use slim_checkpoint"


def test_tracked_total_within_budget():
    sizes = tracked_sizes()
    total = sum(s for p, s in sizes.items() if not CHECKPOINT.match(p))     # a run in progress: one file < 20 MiB
    assert total <= BUDGET, (f"HEAD tracks {total / 1e6:.1f} MB, over the {BUDGET / 1e6:.0f} MB budget: keep one "
                             "weights-only checkpoint per run in progress, none once it is published, no blob twice")
