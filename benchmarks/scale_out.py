"""Samples per second of multi-process training on the CPU (gloo), 1 vs 2 processes.

Each run is ``torchrun --nproc_per_node N`` of this script's ``--worker`` mode:
skorch's ``AccelerateMixin`` with ``Accelerator(cpu=True)``, one thread per
process, a synthetic corpus large enough to amortise the gradient all-reduce
(default 8,000 samples x 20 steps, the CMU-MOSEI-like lengths of
``benchmarks/perf.py``'s corpus, bundled word vectors), ``max_epochs``
epochs without validation, random batches in both (several processes train
on random batches; one process would otherwise bucket by length); the best
epoch's training samples per second (the whole corpus over the slowest
process's epoch time) is reported.

    python benchmarks/scale_out.py --samples 8000 --epochs 3
    python benchmarks/scale_out.py --quick   # 512 samples x 8 steps, 2 epochs

Prints one line per process count and the ratio, then the same corpus trained
in this process without ``torch.distributed``, with random and with length-aware
batches (the single-process default).
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from _common import Timer, make_parser


def _port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker(args):
    import torch
    from accelerate import Accelerator
    from skorch.hf import AccelerateMixin

    from skmemo import MultimodalEmotionClassifier

    torch.set_num_threads(1)

    class Accelerated(AccelerateMixin, MultimodalEmotionClassifier):
        pass

    from perf import EMOTIONS, make_corpus  # same corpus as the single-process benchmark

    X, Y, _ = make_corpus(args.samples, args.steps)
    accelerator = Accelerator(cpu=True)
    clf = Accelerated(EMOTIONS, accelerator=accelerator,
                      device=None, max_epochs=args.epochs, validation_fraction=0,
                      batch_size=args.batch_size, random_state=0,
                      bucket_by_length=False)  # as several processes train
    clf.fit(X, Y)
    durs = [float(d) for d in clf.history[:, "dur"]]
    if accelerator.is_main_process:
        Path(args.out).write_text(json.dumps({"durs": durs}))


def main(argv=None):
    parser = make_parser(__doc__, seeds=None, threads=None, quick={
        "samples": 512, "steps": 8, "epochs": 2})
    parser.add_argument("--samples", type=int, default=8000)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--procs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)
    results = {}
    for procs in args.procs:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "r.json"
            cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node",
                   str(procs), "--master_port", str(_port()), __file__, "--worker",
                   "--out", str(out), "--samples", str(args.samples), "--steps", str(args.steps),
                   "--epochs", str(args.epochs), "--batch-size", str(args.batch_size)]
            with Timer() as t:
                subprocess.run(cmd, check=True, env=dict(os.environ, OMP_NUM_THREADS="1"),
                               capture_output=True)
            wall = t.wall
            durs = json.loads(out.read_text())["durs"]
        best = min(durs[1:] or durs)
        results[procs] = args.samples / best
        print(f"{procs} process(es): best epoch {best:.2f} s, {results[procs]:.0f} "
              f"samples/s (epochs {np.round(durs, 2).tolist()}, wall {wall:.0f} s)")
    # the same corpus in this process, without torch.distributed: random batches, and
    # the length-aware batches that a single process uses by default
    import torch
    from perf import EMOTIONS, make_corpus

    torch.set_num_threads(1)
    X, Y, _ = make_corpus(args.samples, args.steps)
    for bucket in (False, True):
        from skmemo import MultimodalEmotionClassifier

        clf = MultimodalEmotionClassifier(
            EMOTIONS, max_epochs=args.epochs, validation_fraction=0, device="cpu",
            batch_size=args.batch_size, random_state=0, bucket_by_length=bucket).fit(X, Y)
        durs = [float(d) for d in clf.history[:, "dur"]]
        best = min(durs[1:] or durs)
        print(f"1 process without torch.distributed, bucket_by_length={bucket}: best epoch "
              f"{best:.2f} s, {args.samples / best:.0f} samples/s")
    if 1 in results and len(results) > 1:
        for procs, rate in results.items():
            if procs != 1:
                print(f"ratio {procs} vs 1 process: {rate / results[1]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
