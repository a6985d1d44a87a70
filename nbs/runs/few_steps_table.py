"""The few-step table of `nbs/25a_reflow.ipynb` and the metrics page, the paths record, and the published 1-step model.

    python nbs/runs/few_steps_table.py WORK [--n-per-class 50] [--table-only]
    python nbs/runs/few_steps_table.py --nfe        # network evaluations per image, for rows measured without them

WORK is the folder `reflow_run.py` filled. Every Part B class model and sampler at 1, 2, 4, 8 steps and at its
default, 10 x n_per_class samples per row, in one run on this machine: accuracy (bundled classifier), classifier-FID
with its real-vs-real floor, network calls and seconds. Rows are saved one by one to nbs/runs/few-steps/table.json,
so an interrupted run goes on with the next row. Then nbs/runs/few-steps/paths.pt (Euler paths of the teacher, the
reflowed and the distilled model from the same noise) and the distilled model published as `mnist-class-fm-1step`.
"""
import argparse
import json
import time
from pathlib import Path

import torch
from diffusion_course.denoisers import load_pretrained
from diffusion_course.metrics import sampler_settings, steps_table
from diffusion_course.reflow import endpoint_guesses, euler_frames, pair_seconds, publish_few_step, straightness
from diffusion_course.release import machine_description

RECORD = Path(__file__).parent / "few-steps"
STEPS = (1, 2, 4, 8)


def settings(work):
    "(label, model, sampler or scheduler, steps) of every row: `sampler_settings` of each Part B class model."
    rows = []
    if (work / "distill" / "model").exists():  # the few-step models; without them (a later session), their rows stay
        rf, one = (load_pretrained(str(work / r / "model")) for r in ("reflow", "distill"))
        rows = (sampler_settings(one, name="mnist-class-fm-1step", samplers=("Euler",))
                + sampler_settings(rf, name="mnist-class-fm-reflow", samplers=("Euler",)))
    rows = (rows + sampler_settings("mnist-class-fm", steps=(1, 2, 4, 8, 50))
            + sampler_settings("mnist-class-ddpm") + sampler_settings("fashion-class-ddpm", samplers=("DDPM strided",)))
    slow = [r for r in rows if r[3] == 300]                      # the flow model's 300-step default: the costliest row
    return [r for r in rows if r[3] != 300] + slow


def table(work, n_per_class):
    "Measure every row not yet in table.json; returns all rows."
    path = RECORD / "table.json"
    rec = json.loads(path.read_text()) if path.exists() else dict(machine=machine_description(), rows=[])
    done = {r["setting"] for r in rec["rows"]}
    for s in settings(work):
        if s[0] in done: continue
        row = steps_table([s], n_per_class=n_per_class)[0]
        rec["rows"].append({k: v for k, v in row.items() if k != "per_class_accuracy"})
        rec["date"] = time.strftime("%Y-%m-%d")
        path.write_text(json.dumps(rec, indent=1))
        print(f"{s[0]}: {100 * row['accuracy']:.1f}%, FID/floor {row['fid_ratio']:.2f}, {row['seconds']:.0f} s",
              flush=True)
    return rec["rows"]


def paths(work):
    "Euler paths (10 steps) of digits 0..7 from seed 0 for the three models, and straightness over 100 samples."
    models = {"mnist-class-fm": load_pretrained("mnist-class-fm"),
              "mnist-class-fm-reflow": load_pretrained(str(work / "reflow" / "model")),
              "mnist-class-fm-1step": load_pretrained(str(work / "distill" / "model"))}
    guesses, straight = {}, {}
    for name, den in models.items():
        g = endpoint_guesses(euler_frames(den, list(range(8)), seed=0, steps=10))
        guesses[name] = ((g.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        straight[name] = straightness(euler_frames(den, [i % 10 for i in range(100)], seed=1000, steps=20)).tolist()
    torch.save({"t": [k / 10 for k in range(11)], "guesses": guesses, "straightness": straight}, RECORD / "paths.pt")


WEIGHTS = {"mnist-class-fm-reflow": "mnist-class-fm"}   # same network and settings, so the same calls per image


def nfe_rows(n:int=10):
    "Fill `nfe_per_image` into the rows of table.json that lack it: each row's setting run on `n` images, counted."
    import torch
    from diffusion_course.metrics import count_calls, sample_with_scheduler, sampler_settings
    from diffusion_course.sampling import sample
    path = RECORD / "table.json"
    rec = json.loads(path.read_text())
    for row in rec["rows"]:
        if "nfe_per_image" in row: continue
        name, label = row["setting"].split(", ")
        den = load_pretrained(WEIGHTS.get(name, name))
        family = label.rsplit(" ", 1)[0]
        sampler = next(s for lab, _, s, _ in sampler_settings(den, steps=(row["steps"],))
                       if lab.split(", ", 1)[1].rsplit(" ", 1)[0] == family)
        prompts = [den.class_names[i % 10] for i in range(n)]
        kw = dict(guidance=row["guidance"], guidance_interval=row["guidance_interval"])
        with torch.no_grad(), count_calls(den) as c:
            if hasattr(sampler, "set_timesteps"): sample_with_scheduler(den, sampler, prompts, row["steps"], **kw)
            else: sample(den, prompts, sampler=sampler, steps=row["steps"], **kw)
        row["nfe_per_image"] = c[1] / n
        print(f"{row['setting']}: {row['nfe_per_image']:g} network evaluations per image", flush=True)
    path.write_text(json.dumps(rec, indent=1))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("work", type=Path, nargs="?")
    p.add_argument("--nfe", action="store_true", help="only fill in the rows' network evaluations per image")
    p.add_argument("--n-per-class", type=int, default=50)
    p.add_argument("--publish-only", action="store_true", help="publish with the rows measured so far")
    p.add_argument("--table-only", action="store_true", help="only measure the rows not yet in table.json")
    a = p.parse_args(argv)
    if a.nfe: return nfe_rows()
    if a.table_only: return table(a.work, a.n_per_class)
    RECORD.mkdir(exist_ok=True)
    if not a.publish_only: paths(a.work)
    rows = json.loads((RECORD / "table.json").read_text())["rows"] if a.publish_only else table(a.work, a.n_per_class)
    runs = Path(__file__).parent
    prov = {r: json.loads((runs / r / "provenance.json").read_text())
            for r in ("mnist-class-fm-reflow", "mnist-class-fm-distill")}
    n = json.loads((a.work / "pairs-fm" / "pairs.json").read_text())["n"]
    stages = [(f"{n} pairs of mnist-class-fm (Heun, 5 steps)", n * pair_seconds(a.work / "pairs-fm")),
              (f"reflow, {prov['mnist-class-fm-reflow']['epochs']} epochs",
               prov["mnist-class-fm-reflow"]["train_seconds"]),
              (f"{n} pairs of the reflowed model (Heun, 5 steps, γ = 1)", n * pair_seconds(a.work / "pairs-reflow")),
              (f"distillation onto t = 0 and 0.5, {prov['mnist-class-fm-distill']['epochs']} epochs",
               prov["mnist-class-fm-distill"]["train_seconds"])]
    (RECORD / "stages.json").write_text(json.dumps(stages, indent=1))
    card_rows = [r for r in rows if r["setting"].startswith("mnist-class-fm-1step")
                 or r["setting"] in ("mnist-class-fm, Euler 50", "mnist-class-fm, Euler 300")]
    command = f"python nbs/runs/reflow_run.py {a.work} --n {n}; python nbs/runs/few_steps_table.py {a.work}"
    print(publish_few_step(a.work / "distill", "mnist-class-fm-1step", command, stages, card_rows))


if __name__ == "__main__":
    main()
