"""Give the bundled `emoji-t2i` its concept table and measure what snapping buys on the paraphrases.

    python nbs/runs/snap_measure.py [--model emoji-t2i]

Writes `concepts.safetensors` (every concept prompt of the emoji data with its MiniLM sentence embedding) into the
bundled model's folder, then measures the card's paraphrase fidelity twice with the card's judge, guidance and seeds:
the paraphrases as written, and each snapped to its nearest concept prompt (`snap_prompts`). The result goes into the
model's `fidelity.json` (`paraphrases_snapped`, beside the card's `paraphrases`) and one line of its `README.md`, and
`nbs/runs/snap.json` keeps every paraphrase's snapped prompt and similarity.
"""
import argparse
import json
from pathlib import Path

from diffusion_course.denoisers import load_pretrained, pretrained_dir, snap_prompts
from diffusion_course.release import machine_description
from diffusion_course.t2i_eval import PARAPHRASES, load_judge, prompt_fidelity
from diffusion_course.t2i_publish import write_concepts

LINE = "  - {n} paraphrases in no training caption"


def main(argv=None):
    a = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    a.add_argument("--model", default="emoji-t2i")
    args = a.parse_args(argv)
    folder = pretrained_dir() / args.model
    write_concepts(folder)
    den, judge = load_pretrained(args.model), load_judge()
    fid = json.loads((folder / "fidelity.json").read_text())
    n = fid["paraphrases"]["n"] // len(PARAPHRASES)
    plain = prompt_fidelity(den, judge, PARAPHRASES, n)[0]
    snapped = prompt_fidelity(den, judge, PARAPHRASES, n, snap=True)[0]
    pairs = snap_prompts(den, list(PARAPHRASES), similarity=True)
    record = dict(plain=plain, snapped=snapped, card_plain=fid["paraphrases"], machine=machine_description(),
                  prompts={p: dict(snapped=s, similarity=v, concept=PARAPHRASES[p])
                           for p, (s, v) in zip(PARAPHRASES, pairs)})
    (Path(__file__).parent / "snap.json").write_text(json.dumps(record, indent=1))
    if plain != fid["paraphrases"]:
        raise SystemExit(f"the paraphrases as written score {plain}, the card says {fid['paraphrases']}: "
                         "the model or the judge is not the card's; nothing written")
    fid["paraphrases_snapped"] = snapped
    (folder / "fidelity.json").write_text(json.dumps(fid, indent=1))
    f = lambda m: f"top-1 {m['top1']:.1%}, top-5 {m['top5']:.1%} ({m['n']} images)"
    card = (folder / "README.md").read_text().splitlines()
    card = [l for l in card if "snapped to the nearest concept" not in l]        # an earlier run's line goes
    i = next(k for k, l in enumerate(card) if l.startswith(LINE.format(n=len(PARAPHRASES))))
    card.insert(i + 1, "  - the same paraphrases snapped to the nearest concept prompt first (`snap_prompts`): "
                       f"{f(snapped)}")
    (folder / "README.md").write_text("\n".join(card) + "\n")
    print(f"paraphrases: as written {f(plain)}; snapped {f(snapped)}")


if __name__ == "__main__":
    main()
