"""Seconds per training epoch on a GPU for a CMU-MOSEI-sized synthetic corpus.

16,000 samples, 50 steps, 300 / 74 / 35 features (GloVe-300, COVAREP, FACET)
with CMU-MOSEI-like real lengths (mean 13 steps, zero padding in front), the
paper's hidden sizes 300 / 200 / 100, batch 512, no validation split. For each
precision (fp32, bf16, fp16) and batching (random batches, ``bucket_by_length``)
it trains ``--epochs`` epochs from:

- ``host``: numpy arrays; every batch is copied to the GPU (from pinned memory);
- ``device``: the corpus moved to the GPU once, as CUDA tensors; batches are
  sliced on the GPU, nothing is copied per batch.

It prints seconds per epoch (the best epoch after the first, which pays for
start-up), ``predict_proba`` samples/s (``predict_batch_size=4096``) and a
summary table. ``--loops skorch`` adds the same fits with skorch's own batch
loop (a ``loss.item()`` per batch, a host synchronisation) instead of the
estimator's (batch losses read once per epoch, ``DeviceLossMixin``). Goal:
under 0.25 s per epoch on one H100-class GPU. About two minutes on an H100
(``--epochs 3``). Exits with a message when no GPU is
present.

    python benchmarks/gpu_epoch.py
    python benchmarks/gpu_epoch.py --epochs 2 --precisions bf16 --placements device
    python benchmarks/gpu_epoch.py --device cpu --n 600 --epochs 2   # check the script
    python benchmarks/gpu_epoch.py --quick   # 128 samples, 1 epoch; on the GPU if there is one
    python benchmarks/gpu_epoch.py --precisions 32 --loops device skorch
"""

import json
import sys
import time

import numpy as np
import torch
from _common import make_parser
from skorch import NeuralNet

from skmemo import MultimodalData, MultimodalEmotionClassifier

EMOTIONS = ["anger", "disgust", "fear", "happy", "sad", "surprise"]
DIMS = {"text": 300, "audio": 74, "visual": 35}


class SkorchLoopClassifier(MultimodalEmotionClassifier):
    """The estimator with skorch's own batch loop (a ``loss.item()`` per batch)."""

    run_single_epoch = NeuralNet.run_single_epoch


LOOPS = {"device": MultimodalEmotionClassifier, "skorch": SkorchLoopClassifier}


def make_corpus(n, seq_len, seed=0):
    """float32 features (n, seq_len, d) pre-padded to CMU-MOSEI-like lengths."""
    gen = torch.Generator().manual_seed(seed)
    lengths = torch.distributions.Gamma(2.2, 1 / 6.0).sample((n,)).round().clamp(1, seq_len)
    pad = torch.arange(seq_len)[None, :] < (seq_len - lengths)[:, None]  # (n, T)
    X = {}
    for m, d in DIMS.items():
        x = torch.randn(n, seq_len, d, generator=gen)
        x[pad] = 0
        X[m] = x.numpy()
    Y = (torch.rand(n, len(EMOTIONS), generator=gen) < 0.3).float().numpy()
    return X, Y, lengths.numpy()


def main(argv=None):
    gpu = torch.cuda.is_available()  # --quick runs on the GPU if there is one
    parser = make_parser(__doc__, seeds=None, threads=None, quick={
        "n": 128, "seq_len": 20, "epochs": 1, "device": "cuda" if gpu else "cpu",
        # float16 on the CPU is slow: about 20 s an epoch at this size on 2 cores
        "precisions": ["32", "bf16", "fp16"] if gpu else ["32", "bf16"]})
    parser.add_argument("--n", type=int, default=16000)
    parser.add_argument("--seq-len", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--precisions", nargs="+", default=["32", "bf16", "fp16"])
    parser.add_argument("--placements", nargs="+", default=["host", "device"],
                        choices=["host", "device"])
    parser.add_argument("--loops", nargs="+", default=["device"], choices=list(LOOPS),
                        help="batch loops: the estimator's ('device': losses read once "
                             "per epoch) and/or skorch's ('skorch': loss.item() per batch)")
    parser.add_argument("--device", default="cuda",
                        help="'cpu' (with a small --n) checks the script without a GPU")
    args = parser.parse_args(argv)
    cuda = args.device.startswith("cuda")
    if cuda and not torch.cuda.is_available():
        print("no CUDA GPU: nothing to measure")
        return 0

    def sync():
        if cuda:
            torch.cuda.synchronize()

    name = torch.cuda.get_device_name(0) if cuda else "CPU (script check only)"
    start_all = time.perf_counter()
    torch.manual_seed(0)
    vectors = {e: np.random.RandomState(k).randn(300) for k, e in enumerate(EMOTIONS)}
    Xh, Y, lengths = make_corpus(args.n, args.seq_len)
    print(f"{name}, torch {torch.__version__}, CUDA "
          f"{torch.version.cuda}; corpus {args.n} x {args.seq_len} steps, mean real length "
          f"{lengths.mean():.1f}, {sum(x.nbytes for x in Xh.values()) / 1e9:.2f} GB; "
          f"batch {args.batch_size}, {args.epochs} epochs per fit", flush=True)
    data = {"host": MultimodalData(**Xh)}
    if "device" in args.placements:
        t0 = time.perf_counter()
        data["device"] = MultimodalData(**{m: torch.from_numpy(x).to(args.device)
                                           for m, x in Xh.items()})
        sync()
        print(f"corpus moved to the GPU once in {time.perf_counter() - t0:.2f} s", flush=True)
    rows = []
    settings = [(p, prec, bucket, loop) for p in args.placements for prec in args.precisions
                for bucket in (False, True) for loop in args.loops]
    for placement, precision, bucket, loop in settings:
        X = data[placement]
        label = f"{placement:6s} {precision:4s} bucket_by_length={bucket!s:5s} loop={loop:6s}"
        clf = LOOPS[loop](
            EMOTIONS, word_vectors=vectors,
            hidden_sizes={"audio": 200, "visual": 100},
            batch_size=args.batch_size, max_epochs=args.epochs,
            validation_fraction=0, device=args.device, precision=precision,
            bucket_by_length=bucket, predict_batch_size=4096, random_state=0)
        try:
            clf.fit(X, Y)
        except Exception as exc:  # report and go on with the other settings
            print(f"{label} FAILED: {type(exc).__name__}: {exc}", flush=True)
            rows.append((placement, precision, bucket, loop, None, None))
            continue
        sync()
        durs = list(clf.history_[:, "dur"])
        best = min(durs[1:] or durs)
        clf.predict_proba(X[:4096])  # warm-up
        sync()
        t0 = time.perf_counter()
        clf.predict_proba(X)
        rate = args.n / (time.perf_counter() - t0)
        rows.append((placement, precision, bucket, loop, best, rate))
        memory = (f"; peak memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB"
                  if cuda else "")
        print(f"{label} s/epoch {[round(d, 3) for d in durs]} -> best {best:.3f}; "
              f"predict_proba {rate:.0f} samples/s{memory}", flush=True)
        del clf
        if cuda:
            torch.cuda.empty_cache()
    print("\n| data | precision | batches | batch loop | s/epoch (best) "
          "| predict_proba samples/s |")
    print("|---|---|---|---|---|---|")
    for placement, precision, bucket, loop, best, rate in rows:
        cells = ("failed", "") if best is None else (f"{best:.3f}", f"{rate:.0f}")
        print(f"| {placement} | {precision} | {'bucketed' if bucket else 'random'} | "
              f"{loop} | {cells[0]} | {cells[1]} |")
    done = [r for r in rows if r[4] is not None]
    if done:
        fastest = min(done, key=lambda r: r[4])
        print(f"\nfastest epoch: {fastest[4]:.3f} s ({fastest[0]}, {fastest[1]}, "
              f"{'bucketed' if fastest[2] else 'random'} batches, {fastest[3]} loop); "
              "goal < 0.25 s")
    print(f"whole run {time.perf_counter() - start_all:.0f} s")
    print(json.dumps({"device": name, "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
