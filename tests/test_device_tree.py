"`tools/device_tree.py`: slimming the tree for the lent GPU machine fits it under 64 MiB, and restoring undoes it."
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_slim_then_restore_leaves_the_clone_as_it_was(tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    tool = clone / "tools" / "device_tree.py"
    tool.write_text((ROOT / "tools" / "device_tree.py").read_text())         # the working copy's version
    run = lambda *a: subprocess.run([sys.executable, str(tool), *a], cwd=clone, capture_output=True, text=True)
    status = lambda: subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True,
                                    text=True).stdout
    before = status()
    r = run("slim")
    assert r.returncode == 0 and "fits" in r.stdout, r.stdout + r.stderr
    assert run("slim").returncode != 0                                          # never twice
    r = run("restore")
    assert r.returncode == 0, r.stderr
    assert status() == before and "device_tree.py slim" not in (clone / ".git" / "info" / "exclude").read_text()
