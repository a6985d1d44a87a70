"""The per-technique levers of Part A's showpiece table, measured one at a time on stage I (or the cascade).
Run from `nbs/` after `runs/showpieces_run.py`; each variant's rows land in `runs/showpieces/levers.json` as soon as
they exist (a variant already there is skipped, so the script resumes):

    python runs/showpieces_levers.py [--cascade] [kind ...]     # kinds: anagram hybrid img2img inpaint

Every variant runs the same fixed cases (`showpieces.*_CASES`) with 4 seeds; only the named keywords change.
"""
import json
import sys
import time
from pathlib import Path

from diffusion_course.denoisers import load_pretrained
from diffusion_course.emoji import load_emoji
from diffusion_course.release import machine_description
from diffusion_course.showpieces import (ANAGRAM_CASES, HYBRID_CASES, IMG2IMG_CASES, INPAINT_CASES,
                                         showpiece_summary, showpiece_table)
from diffusion_course.t2i_eval import load_judge

CASES = dict(anagram=ANAGRAM_CASES, hybrid=HYBRID_CASES, img2img=IMG2IMG_CASES, inpaint=INPAINT_CASES)
VARIANTS = dict(  # name -> keywords of the showpiece's function; "defaults" = the shipped ones
    anagram={"defaults": {}, "guidance 3": dict(guidance=3.0), "guidance 7.5": dict(guidance=7.5),
             "guidance 10": dict(guidance=10.0), "DDIM sampler": dict(sampler="ddim"),
             "100 steps": dict(steps=100), "guidance 10, 100 steps": dict(guidance=10.0, steps=100)},
    hybrid={"defaults": {}, "sigma 0.75": dict(sigma=0.75), "sigma 1.5": dict(sigma=1.5), "sigma 2": dict(sigma=2.0),
            "guidance 3": dict(guidance=3.0), "100 steps": dict(steps=100),
            "guidance 10": dict(guidance=10.0), "sigma 2, guidance 10": dict(sigma=2.0, guidance=10.0)},
    img2img={"defaults": {}, "guidance 3": dict(guidance=3.0), "guidance 7.5": dict(guidance=7.5),
             "guidance 10": dict(guidance=10.0)},
    inpaint={"RePaint on the whole image": dict(zoom=None), "whole image, guidance 10": dict(zoom=None, guidance=10.0),
             "whole image, resample 3": dict(zoom=None, resample=3), "whole image, resample 5": dict(zoom=None, resample=5),
             "whole image, resample 10": dict(zoom=None, resample=10), "zoom 0": dict(zoom=0.0),
             "zoom 0.125 (the default)": {}, "zoom 0.25": dict(zoom=0.25), "zoom 0.5": dict(zoom=0.5),
             "zoom 0.25, guidance 10": dict(zoom=0.25, guidance=10.0), "zoom 0.25, resample 3": dict(zoom=0.25, resample=3),
             "zoom 0.25, guidance 3": dict(zoom=0.25, guidance=3.0)},
)


def main(kinds, cascade=False):
    out = Path("runs/showpieces/levers.json")
    record = json.loads(out.read_text()) if out.exists() else {}
    den, judge, art = load_pretrained("emoji-t2i"), load_judge("emoji-judge-all"), load_emoji(32)
    stage = "cascade" if cascade else "stage1"
    for kind in kinds:
        for name, kw in VARIANTS[kind].items():
            key = f"{stage} | {kind} | {name}"
            if key in record: continue
            t0 = time.time()
            extra = dict(data=art) if kind == "img2img" else {}
            rows = showpiece_table(den, judge, upsample=True if cascade else None, cases={kind: CASES[kind]},
                                   settings={kind: {**kw, **extra}})
            record[key] = dict(settings=kw, rows=rows, summary=showpiece_summary(rows)[kind],
                               seconds=round(time.time() - t0), machine=machine_description())
            tmp = out.with_suffix(".tmp"); tmp.write_text(json.dumps(record, indent=1)); tmp.replace(out)
            s = record[key]["summary"]
            print(f"{key}: success {s['success']:.0%}, baseline {s['baseline']:.0%} ({record[key]['seconds']} s)",
                  flush=True)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(args or list(CASES), cascade="--cascade" in sys.argv)
