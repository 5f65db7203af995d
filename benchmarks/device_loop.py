"""Per-batch cost of recording batch losses: skorch's loop against ``DeviceLossMixin``.

skorch's ``run_single_epoch`` reads every batch's loss with ``loss.item()``
(a host synchronisation per batch on a GPU); the estimator's base reads the
losses of a whole loop once (``skmemo._device_loop.DeviceLossMixin``). On the
CPU there is nothing to wait for, so this measures what the change costs or
saves in bookkeeping, where it weighs most: small batches.

1. a plain skorch ``NeuralNet`` (a 5-8-1 MLP, so the batch loop is nearly all
   bookkeeping) with and without the mixin, at several batch sizes;
2. the estimator (``MultimodalEmotionClassifier``, small hidden sizes, the
   CMU-MOSEI-like lengths of ``gpu_epoch.py``) against the same class with
   skorch's loop;
3. ``torch.profiler`` counts per epoch of ``aten::item`` /
   ``aten::_local_scalar_dense`` (the calls that synchronise on a GPU) and
   of ``aten::stack`` in one fit of one epoch, for both loops of section 2.

Both variants run interleaved in one process, ``--repeats`` times; each fit
trains ``--epochs`` epochs and its figure is the best per-batch time of the
epochs after the first (skorch's ``dur`` / ``train_batch_count``). The ratio
is taken within each repeat; the spread (min-max over repeats) shows the
noise of a shared machine.

    OMP_NUM_THREADS=1 python benchmarks/device_loop.py
    python benchmarks/device_loop.py --quick
    python benchmarks/device_loop.py --device cuda   # on a GPU
"""

import json
import platform
import sys
import time

import numpy as np
import torch
from _common import make_parser, markdown_table
from gpu_epoch import EMOTIONS, make_corpus
from skorch import NeuralNet
from torch.profiler import ProfilerActivity, profile

from skmemo import MultimodalData, MultimodalEmotionClassifier
from skmemo._device_loop import DeviceLossMixin


class MixinNet(DeviceLossMixin, NeuralNet):
    """A plain skorch net whose batch losses are read once per loop."""


class SkorchLoopClassifier(MultimodalEmotionClassifier):
    """The estimator with skorch's own loop (a ``loss.item()`` per batch)."""

    run_single_epoch = NeuralNet.run_single_epoch


def _sync(device):
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def _per_batch(net):
    """Best seconds per training batch over the epochs after the first."""
    durs = [row["dur"] / row["train_batch_count"] for row in net.history]
    return min(durs[1:] or durs)


def mlp_fit(cls, n, batch_size, epochs, device):
    torch.manual_seed(0)
    gen = np.random.RandomState(0)
    X = torch.as_tensor(gen.randn(n, 5).astype(np.float32), device=device)
    y = torch.as_tensor((gen.rand(n, 1) < 0.5).astype(np.float32), device=device)
    module = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(),
                                 torch.nn.Linear(8, 1))
    net = cls(module, criterion=torch.nn.BCEWithLogitsLoss, optimizer=torch.optim.SGD,
              lr=0.1, batch_size=batch_size, max_epochs=epochs, train_split=None,
              device=device, verbose=0)
    net.fit(X, y)
    _sync(device)
    return net


def estimator(cls, batch_size, epochs, device):
    vectors = {e: np.random.RandomState(k).randn(300) for k, e in enumerate(EMOTIONS)}
    return cls(EMOTIONS, word_vectors=vectors, hidden_sizes={"audio": 16, "visual": 16},
               batch_size=batch_size, max_epochs=epochs, validation_fraction=0,
               device=device, random_state=0)


def profile_counts(cls, X, Y, batch_size, device):
    """Calls per epoch of the ops that read a tensor's value on the host."""
    clf = estimator(cls, batch_size, 1, device)
    activities = [ProfilerActivity.CPU]
    with profile(activities=activities) as prof:
        clf.fit(X, Y)
        _sync(device)
    counts = {e.key: e.count for e in prof.key_averages()}
    names = ("aten::item", "aten::_local_scalar_dense", "aten::stack")
    return {name: counts.get(name, 0) for name in names}, clf.history[-1, "train_batch_count"]


def main(argv=None):
    parser = make_parser(__doc__, seeds=None, quick={
        "n": 256, "batch_sizes": [8], "epochs": 2, "repeats": 1, "est_n": 128})
    parser.add_argument("--n", type=int, default=2048, help="MLP samples")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[4, 16, 64])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--est-n", type=int, default=1024, help="estimator samples")
    parser.add_argument("--est-batch-size", type=int, default=16)
    parser.add_argument("--est-seq-len", type=int, default=12, help="estimator steps")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA GPU: nothing to measure on it")
        return 0
    name = (torch.cuda.get_device_name(0) if args.device.startswith("cuda")
            else f"CPU ({platform.machine()}), {torch.get_num_threads()} torch thread(s)")
    print(f"{name}, torch {torch.__version__}; {time.strftime('%Y-%m-%d %H:%M')}", flush=True)
    results = {"device": name, "mlp": {}, "estimator": None, "profile": {}}

    rows = []
    for batch_size in args.batch_sizes:
        skorch_us, mixin_us, ratios = [], [], []
        for _ in range(args.repeats):
            plain = _per_batch(mlp_fit(NeuralNet, args.n, batch_size, args.epochs,
                                       args.device))
            ours = _per_batch(mlp_fit(MixinNet, args.n, batch_size, args.epochs,
                                      args.device))
            skorch_us.append(plain * 1e6)
            mixin_us.append(ours * 1e6)
            ratios.append(plain / ours)
        results["mlp"][batch_size] = {"skorch_us": skorch_us, "mixin_us": mixin_us}
        rows.append([f"MLP, batch {batch_size}", f"{np.median(skorch_us):.1f}",
                     f"{np.median(mixin_us):.1f}",
                     f"{np.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f})"])
        print(rows[-1], flush=True)

    X, Y, _ = make_corpus(args.est_n, args.est_seq_len)
    X = MultimodalData(**X)
    skorch_us, mixin_us, ratios = [], [], []
    for _ in range(args.repeats):
        fits = []
        for cls in (SkorchLoopClassifier, MultimodalEmotionClassifier):
            clf = estimator(cls, args.est_batch_size, args.epochs, args.device).fit(X, Y)
            _sync(args.device)
            fits.append(clf)
        plain, ours = _per_batch(fits[0]), _per_batch(fits[1])
        assert fits[0].history[:, "train_loss"] == fits[1].history[:, "train_loss"]
        skorch_us.append(plain * 1e6)
        mixin_us.append(ours * 1e6)
        ratios.append(plain / ours)
    results["estimator"] = {"skorch_us": skorch_us, "mixin_us": mixin_us}
    rows.append([f"estimator, {args.est_n} x {args.est_seq_len} steps, "
                 f"batch {args.est_batch_size}",
                 f"{np.median(skorch_us):.1f}", f"{np.median(mixin_us):.1f}",
                 f"{np.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f})"])
    print(rows[-1], flush=True)

    print("\n" + markdown_table(
        ["workload", "skorch loop, us/batch (median)", "DeviceLossMixin, us/batch (median)",
         "ratio skorch / mixin: median (min-max)"], rows))

    prof_rows = []
    for label, cls in (("skorch loop", SkorchLoopClassifier),
                       ("DeviceLossMixin", MultimodalEmotionClassifier)):
        counts, n_batches = profile_counts(cls, X, Y, args.est_batch_size, args.device)
        results["profile"][label] = counts
        prof_rows.append([label, n_batches] + [counts[k] for k in counts])
    fewer = prof_rows[0][2] - prof_rows[1][2]
    print("\ntorch.profiler, one epoch of the estimator:\n" + markdown_table(
        ["loop", "batches", "aten::item", "aten::_local_scalar_dense", "aten::stack"],
        prof_rows))
    print(f"aten::item calls the mixin saves: {fewer} in {prof_rows[0][1]} batches")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
