"""A text-to-image run in progress, measured the way its finished model will be. Run from `nbs/`:

    python runs/midcheck.py runs/emoji-t2i-large          # the newest checkpoint
    python runs/midcheck.py runs/emoji-t2i-large --tiny   # a plumbing check: 2 prompts, 1 showpiece case, 1 seed

The newest checkpoint's EMA network (its raw network where the checkpoint kept no EMA) is sampled at the bundled
`emoji-t2i`'s default guidance, so the numbers sit beside that model's card:

1. prompts by name: top-1 / top-5 of `emoji-judge` over the 143 judged concepts, 2 samples each (the card's
   `fidelity.json` measure at one γ);
2. Part A's showpiece table on stage I alone (`showpiece_table`, 4 seeds a case, read by `emoji-judge-all`), beside
   the bundled model's record `runs/showpieces/table-stage1.json`.

The record goes to `<run>/midchecks/epoch_NNNN.json` (written atomically; `--tiny` writes to a temporary folder);
an epoch already measured is skipped.
"""
import json
import sys
import tempfile
import time
from pathlib import Path

from diffusion_course.denoisers import load_text_denoiser
from diffusion_course.files import atomic_write_text
from diffusion_course.learner import latest_checkpoint
from diffusion_course.release import machine_description
from diffusion_course.showpieces import ANAGRAM_CASES, HYBRID_CASES, IMG2IMG_CASES, INPAINT_CASES, showpiece_summary
from diffusion_course.showpieces import showpiece_table
from diffusion_course.t2i_eval import load_judge, name_prompts, prompt_fidelity

GUIDANCE = 5.0          # the bundled emoji-t2i's default (its sampling.json), so the two compare at one setting


def checkpoint_denoiser(ck: Path):
    "The EMA network of checkpoint `ck` (else its raw network) as a text denoiser at `GUIDANCE`."
    den = load_text_denoiser(ck / "ema" if (ck / "ema").is_dir() else ck / "model", name=f"{ck.parent.parent.name}")
    den.guidance = GUIDANCE
    return den


def main(run: Path, tiny: bool = False):
    ck = latest_checkpoint(run)
    if ck is None: sys.exit(f"{run} has no checkpoint yet: train it first (diffusion-course train ... --out {run}).")
    out = (Path(tempfile.mkdtemp()) if tiny else run / "midchecks") / f"{ck.name}.json"    # tiny: never a record
    if out.exists(): return print(f"{out} exists: {ck.name} is measured")
    den, t0 = checkpoint_denoiser(ck), time.time()
    prompts = dict(list(name_prompts().items())[:2]) if tiny else name_prompts()
    names, _ = prompt_fidelity(den, load_judge(), prompts, n=1 if tiny else 2, guidance=GUIDANCE)
    cases = dict(anagram=ANAGRAM_CASES, hybrid=HYBRID_CASES, img2img=IMG2IMG_CASES, inpaint=INPAINT_CASES)
    if tiny: cases = {k: v[:1] for k, v in cases.items() if k == "anagram"}
    rows = showpiece_table(den, load_judge("emoji-judge-all"), seeds=1 if tiny else 4, cases=cases)
    record = dict(checkpoint=ck.name, guidance=GUIDANCE, names=names, showpieces=showpiece_summary(rows), rows=rows,
                  seconds=round(time.time() - t0), machine=machine_description(),
                  command=f"python runs/midcheck.py {run}{' --tiny' if tiny else ''}")
    out.parent.mkdir(exist_ok=True)
    atomic_write_text(out, json.dumps(record, indent=1))
    print(f"{ck.name}: names top-1 {names['top1']:.1%}, top-5 {names['top5']:.1%} ({names['n']} images); "
          + "; ".join(f"{k} {v['success']:.0%}" for k, v in record["showpieces"].items()) + f" -> {out}")


if __name__ == "__main__":
    args = sys.argv[1:]
    if not [a for a in args if a != "--tiny"]: sys.exit(__doc__)
    main(Path(next(a for a in args if a != "--tiny")), tiny="--tiny" in args)
