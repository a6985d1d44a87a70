"""A larger emoji-t2i stage I, trained on a lent GPU from one prepared folder (issue: Part A's showpieces).

Here, on the CPU (`pack` also downloads the diffusers wheel the GPU machine lacks; see the device tool's notes):

    python nbs/runs/stage1_gpu.py pack .carry              # the 32-px emoji arrays, caption tokens, a pruned MiniLM
    python tools/device_tree.py slim --min-kb 64           # the tree (17.8 MiB) plus .carry (38.4 MiB) < 64 MiB

On the GPU machine, in one call (carry `.carry`; `--minutes` bounds the training, the rest is set-up and copy-back):

    python3 -m pip install -q --no-index --no-deps --target /tmp/site .carry/whl/*.whl && \
    PYTHONPATH=/tmp/site:. python3 nbs/runs/stage1_gpu.py train .carry $OUT --minutes 7

Back here: `python tools/device_tree.py restore`, then `python nbs/runs/stage1_gpu.py unpack FILES_AT RUN` rebuilds a
run folder (`RUN/model`, history, config, samples, provenance) that `publish_t2i` can publish after measuring.

The device has no sentence encoder and no room for the caption embeddings (99 MB in float16), so `pack` keeps only
the rows of MiniLM's word-embedding table that the captions use and stores the network in float16 (`pruned_minilm`);
the device encodes the captions with it into the run folder's `captions.pt`, the cache the recipe reads. `pack`
reports how far those embeddings are from the full float32 encoder's on a sample of captions.
"""
import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
WHEELS = ["diffusers==0.42.1"]                 # the one package the GPU image lacks (its other needs are there)
FIELDS = ("x32", "names", "styles", "keywords")


def captions_of(data, recipe:str="names") -> list:
    "The caption list `caption_table` builds for `data` (sorted, with ''), without encoding anything."
    from diffusion_course.t2i_train import caption_table
    seen = []
    def record(caps): seen.extend(caps); return torch.zeros(len(caps), 1, 1)
    caption_table(data, record, None, recipe)
    return seen


def pruned_minilm(captions:list, text_len:int=16) -> dict:
    "Token ids of `captions` remapped to the rows they use, those rows, and the rest of MiniLM in float16."
    from transformers import AutoModel, AutoTokenizer
    from diffusion_course.text import minilm_path
    tok = AutoTokenizer.from_pretrained(minilm_path())
    t = tok([c.lower().strip() for c in captions], padding="max_length", max_length=text_len, truncation=True,
            return_tensors="pt")
    used = torch.unique(torch.cat([t.input_ids.flatten(), torch.tensor([tok.pad_token_id])]))
    remap = torch.full((tok.vocab_size,), -1, dtype=torch.long); remap[used] = torch.arange(len(used))
    model = AutoModel.from_pretrained(minilm_path()).eval()
    state = {k: v.half() for k, v in model.state_dict().items()}
    state["embeddings.word_embeddings.weight"] = state["embeddings.word_embeddings.weight"][used]
    config = model.config.to_dict() | {"vocab_size": len(used), "pad_token_id": int(remap[tok.pad_token_id])}
    return dict(ids=remap[t.input_ids].short(), mask=t.attention_mask.bool(), state=state, config=config)


@torch.no_grad()
def encode_with(pruned:dict, device="cpu", batch:int=2048) -> torch.Tensor:
    "The captions' token embeddings (U, L, 384), float16, from a `pruned_minilm` (as `MiniLMEncoder` makes them)."
    from transformers import BertConfig, BertModel
    cfg = {k: v for k, v in pruned["config"].items() if k not in ("architectures", "transformers_version")}
    model = BertModel(BertConfig(**cfg), add_pooling_layer=False)
    model.load_state_dict({k: v.float() for k, v in pruned["state"].items()}, strict=False)
    model = model.to(device).eval()
    out = []
    for i in range(0, len(pruned["ids"]), batch):
        ids, mask = pruned["ids"][i:i + batch].long().to(device), pruned["mask"][i:i + batch].long().to(device)
        h = model(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)).last_hidden_state
        out.append((h * mask[..., None]).half().cpu())
    return torch.cat(out)


def pack(carry:Path, limit:int=0, wheels:bool=True):
    "Everything the GPU run needs beside the code, into `carry` (ignored by git)."
    from diffusion_course.emoji import load_emoji
    from diffusion_course.t2i_train import sample_table
    from diffusion_course.text import MiniLMEncoder
    carry.mkdir(parents=True, exist_ok=True)
    data = load_emoji(32, limit=limit)
    arrays = carry / "cache" / "emoji" / (f"emoji-limit{limit}.npz" if limit else "emoji.npz")
    arrays.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(arrays, x32=data.images.numpy(), names=np.array(data.names), styles=np.array(data.styles),
                        keywords=json.dumps(data.keywords))
    caps = captions_of(data)
    pruned = pruned_minilm(caps)
    torch.save(dict(pruned, captions=caps), carry / "captions_minilm.pt")
    sample_table(MiniLMEncoder(), carry / "sample_prompts.safetensors")        # the per-epoch grid's prompts
    sample = list(range(0, len(caps), max(1, len(caps) // 256)))
    exact, approx = MiniLMEncoder()([caps[i] for i in sample]), encode_with(dict(pruned, ids=pruned["ids"][sample],
                                                                                 mask=pruned["mask"][sample])).float()
    err = (exact - approx).abs().max().item() / exact.abs().max().item()
    if wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                        "--python-version", "3.12", "-d", str(carry / "whl"), *WHEELS], check=True)
    size = sum(f.stat().st_size for f in carry.rglob("*") if f.is_file())
    print(f"packed {len(data.images)} images, {len(caps)} captions into {carry}: {size / 2 ** 20:.1f} MiB; "
          f"the pruned float16 encoder differs from the full one by {err:.2e} of the largest value ({len(sample)} "
          "captions)")


def train(carry:Path, out:Path, minutes:float, channels, batch_size:int, limit:int=0):
    "Calibrate one epoch, then train as many epochs as fit in `minutes`; copy the result to `out` in small files."
    import os
    os.environ["DIFFUSION_COURSE_CACHE"] = str(carry / "cache")
    from diffusion_course.t2i_train import T2IConfig, train_t2i
    device = "cuda" if torch.cuda.is_available() else "cpu"
    saved = torch.load(carry / "captions_minilm.pt", weights_only=False)
    run, t0 = Path("/tmp/stage1-run") if device == "cuda" else out / "run", time.time()
    emb = encode_with(saved, device)

    def prepare(folder:Path):
        folder.mkdir(parents=True, exist_ok=True)
        torch.save({"captions": saved["captions"], "emb": emb}, folder / "captions.pt")
        shutil.copy(carry / "sample_prompts.safetensors", folder / "sample_prompts.safetensors")

    base = dict(channels=tuple(channels), batch_size=batch_size, limit=limit, keep_checkpoints=1,
                mixed_precision="bf16" if device == "cuda" else "no")
    prepare(run.parent / "calibrate")
    t1 = time.time()
    train_t2i(T2IConfig(epochs=2, **base), run.parent / "calibrate", progress=False, stop_after_epochs=1)
    per_epoch = time.time() - t1
    epochs = max(1, int(minutes * 60 / per_epoch))
    prepare(run)
    train_t2i(T2IConfig(epochs=epochs, **base), run, progress=False)
    copy_back(run, out, dict(device=torch.cuda.get_device_name() if device == "cuda" else "cpu",
                             calibration_epoch_seconds=round(per_epoch, 1), epochs=epochs,
                             seconds_in_all=round(time.time() - t0, 1), command=" ".join(sys.argv)))


def copy_back(run:Path, out:Path, provenance:dict, shard:int=14 * 2 ** 20):
    "The final EMA model in float16 shards under `shard` bytes, its config, history, recipe, last grid, provenance."
    from safetensors.torch import save_file
    out.mkdir(parents=True, exist_ok=True)
    state, part, parts = _weights(run / "model"), {}, []
    for k, v in state.items():
        part[k] = v.half().contiguous()
        if sum(t.numel() * 2 for t in part.values()) > shard: parts.append(part); part = {}
    parts.append(part)
    for i, p in enumerate(parts): save_file(p, str(out / f"weights-{i}.safetensors"))
    for f in ("config.json",): shutil.copy(run / "model" / f, out / f)
    for f in ("history.json", "train_config.json"): shutil.copy(run / f, out / f)
    grids = sorted((run / "samples").glob("epoch_*.png"))
    if grids: shutil.copy(grids[-1], out / grids[-1].name)
    (out / "provenance.json").write_text(json.dumps(provenance, indent=1))


def _weights(folder:Path) -> dict:
    from safetensors.torch import load_file
    return load_file(str(folder / "diffusion_pytorch_model.safetensors"))


def unpack(files:Path, run:Path):
    "A run folder from what `train` copied back: `run/model` in float32, history, recipe, grid, provenance."
    from safetensors.torch import load_file, save_file
    state = {}
    for f in sorted(files.glob("weights-*.safetensors")): state |= load_file(str(f))
    (run / "model").mkdir(parents=True, exist_ok=True)
    save_file({k: v.float() for k, v in state.items()}, str(run / "model" / "diffusion_pytorch_model.safetensors"))
    shutil.copy(files / "config.json", run / "model" / "config.json")
    (run / "samples").mkdir(exist_ok=True)
    for f in files.glob("epoch_*.png"): shutil.copy(f, run / "samples" / f.name)
    for f in ("history.json", "train_config.json", "provenance.json"): shutil.copy(files / f, run / f)
    print(f"unpacked {len(state)} tensors into {run}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("pack"); a.add_argument("carry", type=Path); a.add_argument("--limit", type=int, default=0)
    a.add_argument("--no-wheels", action="store_true")
    t = sub.add_parser("train"); t.add_argument("carry", type=Path); t.add_argument("out", type=Path)
    t.add_argument("--minutes", type=float, default=7.0)
    t.add_argument("--channels", type=int, nargs="+", default=[64, 128, 256])
    t.add_argument("--batch-size", type=int, default=128); t.add_argument("--limit", type=int, default=0)
    u = sub.add_parser("unpack"); u.add_argument("files", type=Path); u.add_argument("run", type=Path)
    args = p.parse_args(argv)
    if args.cmd == "pack": pack(args.carry, args.limit, not args.no_wheels)
    elif args.cmd == "train": train(args.carry, args.out, args.minutes, args.channels, args.batch_size, args.limit)
    else: unpack(args.files, args.run)


if __name__ == "__main__":
    main()
