"`nbs/runs/stage1_gpu.py` at tiny size on the CPU: pack, train (calibrate, then the time budget), copy back, unpack."
import os
from pathlib import Path

import forked   # tests/forked.py: commands in processes of their own, started warm

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "nbs" / "runs" / "stage1_gpu.py"


def test_pack_train_unpack_gives_a_loadable_model(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", MPLBACKEND="Agg")
    run = lambda *a: forked.run([SCRIPT, *a], cwd=ROOT, env=env)
    carry, out, back = tmp_path / "carry", tmp_path / "out", tmp_path / "run"
    r = run("pack", carry, "--limit", 8, "--no-wheels")
    assert r.returncode == 0 and "the pruned float16 encoder differs" in r.stdout, r.stderr[-2000:]
    err = float(r.stdout.split("differs from the full one by ")[1].split()[0])
    assert err < 5e-3, r.stdout                                   # float16 weights, the captions' rows only
    r = run("train", carry, out, "--minutes", 0.02, "--channels", 8, 16, 16, "--batch-size", 8, "--limit", 8)
    assert r.returncode == 0, r.stderr[-2000:]
    assert {"config.json", "history.json", "train_config.json", "provenance.json"} <= {p.name for p in out.iterdir()}
    assert len(list(out.glob("weights-*.safetensors"))) >= 1
    r = run("unpack", out, back)
    assert r.returncode == 0, r.stderr[-2000:]
    from diffusion_course.denoisers import load_pretrained
    from diffusion_course.sampling import sample
    assert sample(load_pretrained(str(back / "model")), ["a red apple"], steps=2).shape == (1, 3, 32, 32)
