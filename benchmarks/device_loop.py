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

Both variants run interleaved in one process (their order alternating),
``--repeats`` times; each fit trains ``--epochs`` epochs and its figures are
the best per-batch times of the epochs after the first: wall clock (skorch's
``dur`` / ``train_batch_count``) and the process's CPU time (less disturbed
by other jobs on a shared machine). The ratio is taken within each repeat;
the spread (min-max over repeats) shows the noise.

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
from skorch.callbacks import Callback
from torch.profiler import ProfilerActivity, profile

from skmemo import MultimodalData, MultimodalEmotionClassifier
from skmemo._device_loop import DeviceLossMixin


class MixinNet(DeviceLossMixin, NeuralNet):
    """A plain skorch net whose batch losses are read once per loop."""


class SkorchLoopClassifier(MultimodalEmotionClassifier):
    """The estimator with skorch's own loop (a ``loss.item()`` per batch)."""

    run_single_epoch = NeuralNet.run_single_epoch


class CpuTime(Callback):
    """Records the process's CPU seconds of each epoch as ``cpu_dur``."""

    def on_epoch_begin(self, net, **kwargs):
        self.start_ = time.process_time()

    def on_epoch_end(self, net, **kwargs):
        net.history.record("cpu_dur", time.process_time() - self.start_)


def _sync(device):
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def _per_batch(net):
    """Best (wall, CPU) seconds per training batch over the epochs after the first."""
    out = []
    for key in ("dur", "cpu_dur"):
        durs = [row[key] / row["train_batch_count"] for row in net.history]
        out.append(min(durs[1:] or durs))
    return tuple(out)


def mlp_fit(cls, n, batch_size, epochs, device):
    torch.manual_seed(0)
    gen = np.random.RandomState(0)
    X = torch.as_tensor(gen.randn(n, 5).astype(np.float32), device=device)
    y = torch.as_tensor((gen.rand(n, 1) < 0.5).astype(np.float32), device=device)
    module = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(),
                                 torch.nn.Linear(8, 1))
    net = cls(module, criterion=torch.nn.BCEWithLogitsLoss, optimizer=torch.optim.SGD,
              lr=0.1, batch_size=batch_size, max_epochs=epochs, train_split=None,
              device=device, verbose=0, callbacks=[("cpu", CpuTime())])
    net.fit(X, y)
    _sync(device)
    return net


def estimator(cls, batch_size, epochs, device):
    vectors = {e: np.random.RandomState(k).randn(300) for k, e in enumerate(EMOTIONS)}
    return cls(EMOTIONS, word_vectors=vectors, hidden_sizes={"audio": 16, "visual": 16},
               batch_size=batch_size, max_epochs=epochs, validation_fraction=0,
               device=device, random_state=0, callbacks=[("cpu", CpuTime())])


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
    parser.add_argument("--est-n", type=int, default=512, help="estimator samples")
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
    results = {"device": name, "profile": {}}

    rows = []

    def compare(label, fit_pair, key):
        """Interleaved repeats of (skorch loop, mixin) fits; one table row each figure."""
        figures = {"skorch": [], "mixin": []}
        for repeat in range(args.repeats):
            order = ("skorch", "mixin") if repeat % 2 == 0 else ("mixin", "skorch")
            for variant in order:
                figures[variant].append(_per_batch(fit_pair(variant)))
        results[key] = figures
        for k, clock in enumerate(("wall", "CPU")):
            plain = np.array([f[k] for f in figures["skorch"]]) * 1e6
            ours = np.array([f[k] for f in figures["mixin"]]) * 1e6
            ratios = plain / ours
            rows.append([label, clock, f"{np.median(plain):.1f}", f"{np.median(ours):.1f}",
                         f"{np.median(ratios):.3f} ({ratios.min():.3f}-{ratios.max():.3f})"])
            print(rows[-1], flush=True)

    for batch_size in args.batch_sizes:
        compare(f"MLP, {args.n} samples, batch {batch_size}",
                lambda v, b=batch_size: mlp_fit(NeuralNet if v == "skorch" else MixinNet,
                                                args.n, b, args.epochs, args.device),
                f"mlp_batch_{batch_size}")

    X, Y, _ = make_corpus(args.est_n, args.est_seq_len)
    X = MultimodalData(**X)
    losses = {}

    def fit_estimator(variant):
        cls = SkorchLoopClassifier if variant == "skorch" else MultimodalEmotionClassifier
        clf = estimator(cls, args.est_batch_size, args.epochs, args.device).fit(X, Y)
        _sync(args.device)
        losses.setdefault(variant, clf.history[:, "train_loss"])
        return clf

    compare(f"estimator, {args.est_n} x {args.est_seq_len} steps, batch "
            f"{args.est_batch_size}", fit_estimator, "estimator")
    if losses["skorch"] != losses["mixin"]:
        raise AssertionError(f"train_loss differs: {losses}")

    print("\n" + markdown_table(
        ["workload", "clock", "skorch loop, us/batch (median)",
         "DeviceLossMixin, us/batch (median)", "ratio skorch / mixin: median (min-max)"],
        rows))

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
