"`nbs/runs/midcheck.py` at tiny size: a run's newest checkpoint (EMA preferred) measured, the record in a temp folder."
import json
import os
from pathlib import Path

import torch

from diffusion_course.textunet import TextUNet

import forked   # tests/forked.py: commands in processes of their own, started warm

ROOT = Path(__file__).resolve().parent.parent


def test_midcheck_reads_the_newest_checkpoint_and_writes_a_record(tmp_path):
    torch.manual_seed(0)
    run = tmp_path / "run"
    for epoch in (1, 2):                                            # the newest, epoch 2, must be the one measured
        ck = run / "checkpoints" / f"epoch_{epoch:04d}"
        TextUNet(sample_size=32, channels=(8, 16), attention=(False, True)).save_pretrained(ck / "ema")
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", MPLBACKEND="Agg")
    r = forked.run(["runs/midcheck.py", run, "--tiny"], cwd=ROOT / "nbs", env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.startswith("epoch_0002: names top-1"), r.stdout
    record = json.loads(Path(r.stdout.strip().split(" -> ")[-1]).read_text())
    assert record["checkpoint"] == "epoch_0002" and record["names"]["n"] == 2
    assert set(record["showpieces"]) == {"anagram"}
    assert not (run / "midchecks").exists()                        # --tiny never writes into the run
    r = forked.run(["runs/midcheck.py", tmp_path / "empty"], cwd=ROOT / "nbs", env=env)
    assert r.returncode != 0 and "has no checkpoint yet" in r.stderr
