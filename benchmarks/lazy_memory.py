"""Peak memory of fitting from HDF5 files: lazy versus eager loading.

Writes a synthetic corpus in the legacy CMU-MOSEI layout (``text_train_emb.h5``,
``audio_train.h5``, ``video_train.h5``, ``ey_train.h5``, dataset ``d1``; 300 / 74
/ 35 features per step as GloVe / COVAREP / FACET, with some ``-inf`` in the
audio), far larger than a batch. Then, for each mode, a fresh Python process
loads it with :func:`skmemo.datasets.load_legacy_mosei` (``lazy=False`` or
``lazy=True``), fits :class:`skmemo.MultimodalEmotionClassifier` (with its
internal validation split) and predicts every sample, and reports its peak
resident memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) and the peak
above the memory it held right after importing skmemo and torch.

In lazy mode the features stay in the files and the estimator reads one batch
at a time, so the increase should stay near the working set of a batch (plus
the model and the episodic memory of ``memory_size`` samples) instead of
growing with the corpus.

Run::

    python benchmarks/lazy_memory.py                 # 12000 samples x 20 steps
    python benchmarks/lazy_memory.py --n 24000 --keep corpus_folder
    python benchmarks/lazy_memory.py --quick          # 1000 samples x 8 steps
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import make_parser

DIMS = {"text": 300, "audio": 74, "video": 35}
FILES = {"text": "text_train_emb.h5", "audio": "audio_train.h5", "video": "video_train.h5"}


def write_corpus(folder, n, steps, seed=0, chunk=1000):
    """Write the corpus chunk by chunk (the writer never holds it all)."""
    import h5py

    rng = np.random.RandomState(seed)
    for m, d in DIMS.items():
        with h5py.File(folder / FILES[m], "w") as f:
            ds = f.create_dataset("d1", shape=(n, steps, d), dtype=np.float32)
            for start in range(0, n, chunk):
                block = rng.randn(min(chunk, n - start), steps, d).astype(np.float32)
                if m == "audio":
                    block[:, :, 0][rng.rand(*block.shape[:2]) < 0.05] = -np.inf
                ds[start:start + len(block)] = block
    with h5py.File(folder / "ey_train.h5", "w") as f:
        f["d1"] = np.round(rng.uniform(-2, 3, (n, 6)).clip(0), 1).astype(np.float32)


def _max_rss_mb():
    # ru_maxrss is in kilobytes on Linux (bytes on macOS)
    scale = 1 / 1024 ** 2 if sys.platform == "darwin" else 1 / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def child(args):
    """One measurement, in a fresh process."""
    import torch

    from skmemo import MultimodalEmotionClassifier
    from skmemo.datasets import load_legacy_mosei

    torch.set_num_threads(args.threads)
    baseline = _max_rss_mb()
    start = time.perf_counter()
    bunch = load_legacy_mosei(args.folder, splits="train", lazy=args.child == "lazy")
    loaded = _max_rss_mb()
    data, target = bunch.train.data, bunch.train.target
    clf = MultimodalEmotionClassifier(
        ["anger", "disgust", "fear", "happy", "sad", "surprise"], max_epochs=args.epochs,
        batch_size=args.batch_size, hidden_sizes={"audio": 16, "visual": 16},
        validation_fraction=0.1, random_state=0, device="cpu")
    clf.fit(data, target)
    fitted = _max_rss_mb()
    proba = clf.predict_proba(data)
    seconds = time.perf_counter() - start
    bunch.close()
    peak = _max_rss_mb()
    print(json.dumps({"mode": args.child, "baseline_mb": baseline, "after_load_mb": loaded,
                      "after_fit_mb": fitted, "peak_mb": peak, "seconds": seconds,
                      "n_predicted": len(proba)}))


def main(argv=None):
    parser = make_parser(__doc__, seeds=None, quick={"n": 1000, "steps": 8})
    parser.add_argument("--n", type=int, default=12000, help="samples in the corpus")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--keep", type=Path, default=None,
                        help="write the corpus here and keep it (default: a temporary folder)")
    parser.add_argument("--child", choices=["eager", "lazy"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)

    tmp = None
    if args.keep is None:
        tmp = tempfile.TemporaryDirectory()
        folder = Path(tmp.name)
    else:
        folder = args.keep
        folder.mkdir(parents=True, exist_ok=True)
    try:
        write_corpus(folder, args.n, args.steps)
        per_sample = args.steps * sum(DIMS.values()) * 4
        corpus_mb = args.n * per_sample / 1024 ** 2
        batch_mb = args.batch_size * per_sample / 1024 ** 2
        print(f"corpus: {args.n} samples x {args.steps} steps x {sum(DIMS.values())} features "
              f"float32 = {corpus_mb:.0f} MB; one batch of {args.batch_size} = "
              f"{batch_mb:.1f} MB; {args.epochs} epoch(s)")
        results = {}
        for mode in ("eager", "lazy"):
            cmd = [sys.executable, __file__, "--child", mode, "--folder", str(folder),
                   "--epochs", str(args.epochs), "--batch-size", str(args.batch_size),
                   "--threads", str(args.threads)]
            env = dict(os.environ, PYTHONPATH=os.pathsep.join(
                [str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")]))
            out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
            results[mode] = json.loads(out.stdout.strip().splitlines()[-1])
            r = results[mode]
            print(f"{mode:5s}: peak RSS {r['peak_mb']:.0f} MB, after imports "
                  f"{r['baseline_mb']:.0f} MB, increase {r['peak_mb'] - r['baseline_mb']:.0f} "
                  f"MB (after loading +{r['after_load_mb'] - r['baseline_mb']:.0f}, after fit "
                  f"+{r['after_fit_mb'] - r['baseline_mb']:.0f}); "
                  f"load + fit + predict {r['seconds']:.0f} s", flush=True)
        eager = results["eager"]["peak_mb"] - results["eager"]["baseline_mb"]
        lazy = results["lazy"]["peak_mb"] - results["lazy"]["baseline_mb"]
        print(f"increase lazy / eager: {lazy / eager:.3f}; lazy increase / corpus size: "
              f"{lazy / corpus_mb:.3f}")
    finally:
        if tmp is not None:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
