"""nbdev's Python-only docs preprocessing, as a check: everything `nbdev_docs` does before it calls Quarto.

    python tools/docs_preprocess.py          # from anywhere inside the checkout; exit 1 on any doc-time error

What it runs (nbdev 2.4.14, `nbdev.quarto._pre_docs` without `_ensure_quarto`, which would try to install Quarto):
`refresh_quarto_yml()` (writes nbs/nbdev.yml from settings.ini), `nbdev.doclinks._build_modidx()` (writes
diffusion_course/_modidx.py), `nbdev_sidebar` (a no-op: `custom_sidebar = True`), then `nbdev.serve.proc_nbs` serially
and with `force=True`, which executes every notebook's export, import and `show_doc` cells and writes the processed
notebooks to `_proc/` (gitignored). Where Quarto exists, `cd _proc && quarto render` turns `_proc/` into the site.

It fails when a notebook's doc-time execution raises, and when it changed a tracked file (a generated file, e.g.
nbs/nbdev.yml after a settings.ini edit, was not committed). Before processing it patches execnb
0.1.x, whose `nb2dict` crashes on saved `jslink` widget state (the state has a key named `source`). A cell that mixes
an import with other code fails it too: doc time would run that whole cell.
"""
import hashlib
import os
import subprocess
import sys
import time
import traceback
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def patch_execnb():
    "Make execnb's `nb2dict` split only string `source`s (cell sources), not the `source` list of a jslink's state."
    import execnb.nbio as nbio
    if getattr(nbio.nb2dict, "_dc_patched", False): return
    orig = nbio.nb2dict
    def nb2dict(d, k=None): return orig(d, None if (k == "source" and not isinstance(d, str)) else k)
    nb2dict._dc_patched = True
    nbio.nb2dict = nb2dict


def git_state():
    "`{path: content hash}` of every modified or untracked (not ignored) file, to tell whether this script changed any."
    out = subprocess.run(["git", "status", "--porcelain=v1", "-z", "--untracked-files=all"], cwd=ROOT,
                         capture_output=True, check=True).stdout.decode().split("\0")
    state, entries = {}, iter(out)
    for e in entries:
        if not e: continue
        if e[0] in "RC": next(entries, None)  # renames carry the old path as a second field
        f = ROOT / e[3:]
        state[e[3:]] = (e[:2], hashlib.sha1(f.read_bytes()).hexdigest() if f.is_file() else None)
    return state


def main():
    t0 = time.time()
    os.chdir(ROOT)
    os.environ.pop("IN_TEST", None)  # `_build_modidx` is a silent no-op while IN_TEST is set
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    patch_execnb()
    # A cell holding an import and other code runs whole at doc time (nbdev only warns): a `#| slow` cell that also
    # imported something once ran the whole tour (32 s) on every docs build. Refused: imports stay in their own cells.
    warnings.filterwarnings("error", message="Found cells containing imports and other code")

    import nbdev.doclinks
    import nbdev.serve
    import nbdev.serve_drv
    from nbdev.config import get_config
    from nbdev.quarto import nbdev_sidebar, refresh_quarto_yml

    cfg = get_config()
    before = git_state()
    refresh_quarto_yml()
    nbdev.doclinks._build_modidx()
    nbdev_sidebar.__wrapped__()

    # proc_nbs calls `nbdev.serve_drv.main` once per file; wrap it to collect every failure (not just the first) and
    # to start each notebook with an empty widget manager, so no notebook's saved state picks up another's widgets.
    errors, done = [], []
    orig_main = nbdev.serve_drv.main
    def main_one(o):
        src = Path(o[0])
        try:
            from ipywidgets import Widget
            Widget.close_all()
        except ImportError: pass
        t = time.time()
        try: orig_main(o)
        except BaseException as e:
            if isinstance(e, KeyboardInterrupt): raise
            errors.append((src, "".join(traceback.format_exception(e))))
        finally: os.environ.pop("IN_TEST", None)  # serve_drv.main leaves it set when the notebook raises
        done.append((src, time.time() - t))
    nbdev.serve_drv.main = main_one
    try: nbdev.serve.proc_nbs(n_workers=0, force=True)  # serial: the patches above apply in this process
    finally: nbdev.serve_drv.main = orig_main

    for src, dt in done: print(f"  {dt:6.1f}s  {src.relative_to(cfg.config_path) if src.is_absolute() else src}")
    print(f"Processed {len(done)} files into {cfg.config_path / '_proc'} in {time.time() - t0:.1f}s.")
    ok = True
    for src, tb in errors:
        ok = False
        print(f"\n---- doc-time error in {src} ----\n{tb}", file=sys.stderr)
    if errors:
        print(f"!!! Docs preprocessing failed in {len(errors)} file(s): {', '.join(str(s.name) for s, _ in errors)}. "
              "Doc time executes only export, import and show_doc cells: keep imports in their own cells, and run "
              "`python tools/docs_preprocess.py` until it passes.", file=sys.stderr)

    after = git_state()
    changed = sorted(f for f in before.keys() | after.keys() if before.get(f) != after.get(f))
    if changed:
        ok = False
        print("!!! Docs preprocessing changed these files (they are generated: nbs/nbdev.yml from settings.ini, "
              "_modidx.py by nbdev_export); commit them:\n  " + "\n  ".join(changed), file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
