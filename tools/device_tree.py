"""Make the working tree small enough for the lent GPU machine, and put it back afterwards.

    python tools/device_tree.py size               # what a device call would send now, and its biggest files
    python tools/device_tree.py slim [--min-kb 256] # stop tracking (index only) notebooks and every file >= min-kb
    python tools/device_tree.py restore            # track them again, exactly as in HEAD

The device tool sends the checkout's tracked files and its untracked files that git does not ignore, 64 MiB at
most; this repository tracks far more (bundled weights, notebooks with their figures). `slim` takes those files out
of the index and lists them in `.git/info/exclude`, so that they neither travel as tracked nor as untracked files;
nothing in the working tree is touched. `restore` undoes both. Never commit while slimmed (the files would be
deleted from the repository): `slim` refuses to start with staged changes, and `restore` must come first.
"""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECORD = ROOT / ".git" / "device-slim.json"
EXCLUDE = ROOT / ".git" / "info" / "exclude"
MARK = "# device_tree.py slim: untracked while a device call runs"
LIMIT = 64 * 2 ** 20


def git(*args) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout


def travelling() -> list:
    "(bytes, path) of every file a device call sends now: tracked, plus untracked that git does not ignore."
    paths = set(git("ls-files", "-z").split("\0")) | set(git("ls-files", "-z", "-o", "--exclude-standard").split("\0"))
    return sorted(((ROOT / p).stat().st_size, p) for p in paths if p and (ROOT / p).is_file())


def size(top:int=8):
    files = travelling()
    total = sum(b for b, _ in files)
    print(f"{total / 2 ** 20:.1f} MiB in {len(files)} files would travel (limit 64 MiB): "
          + ("fits" if total <= LIMIT else "too large: run `python tools/device_tree.py slim` first"))
    for b, p in files[::-1][:top]: print(f"  {b / 2 ** 20:7.2f} MiB  {p}")
    return total


def slim(min_kb:int=256):
    if RECORD.exists(): sys.exit(f"Already slimmed ({RECORD} exists): run `restore` first.")
    if git("diff", "--cached", "--name-only").strip():
        sys.exit("The index has staged changes: commit or unstage them first (slim rewrites the index).")
    tracked = [p for p in git("ls-files", "-z").split("\0") if p]
    drop = [p for p in tracked if (ROOT / p).is_file()
            and (p.endswith(".ipynb") or (ROOT / p).stat().st_size >= min_kb * 1024)]
    for i in range(0, len(drop), 200): git("rm", "-q", "--cached", "--", *drop[i:i + 200])
    EXCLUDE.parent.mkdir(parents=True, exist_ok=True)
    with EXCLUDE.open("a") as f: f.write("\n".join([MARK, *("/" + p for p in drop), MARK]) + "\n")
    RECORD.write_text(json.dumps(drop))
    print(f"untracked {len(drop)} files (index only; the working tree is unchanged)")
    size()


def restore():
    if not RECORD.exists(): sys.exit("Nothing to restore: the tree is not slimmed.")
    drop = json.loads(RECORD.read_text())
    for i in range(0, len(drop), 200): git("reset", "-q", "HEAD", "--", *drop[i:i + 200])
    text, out, inside = EXCLUDE.read_text().splitlines(), [], False
    for line in text:
        if line == MARK: inside = not inside; continue
        if not inside: out.append(line)
    EXCLUDE.write_text("\n".join(out) + ("\n" if out else ""))
    RECORD.unlink()
    print(f"tracked {len(drop)} files again")


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else "size"
    if cmd == "size": size()
    elif cmd == "slim": slim(int(sys.argv[sys.argv.index("--min-kb") + 1]) if "--min-kb" in sys.argv else 256)
    elif cmd == "restore": restore()
    else: sys.exit(__doc__)
