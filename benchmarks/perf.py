"""Speed of skmemo against a hand-written PyTorch loop, measured side by side.

Sections (all in one process, so ratios compare like with like):

1. wrapper overhead: ``MultimodalEmotionClassifier.fit`` against a plain loop
   over the same module, data, batch size and epochs (samples/s ratio);
   both skip padding, both clip gradients, no validation split
   (``--loading``: whole-batch loading against skorch's per-sample default);
2. no work on padding: skmemo with its default batches, with random batches and
   with ``bucket_by_length=True`` against the padded reference loop that runs every
   one of the 50 steps, with a CMU-MOSEI-like length distribution; checks that
   predictions do not change when padding is removed, nor when prediction
   visits the samples in order of length;
3. close to the hardware: training GFLOP/s, counted analytically (LSTM gates
   and mapping/scoring matmuls, x3 for forward + backward), against the
   float32 matrix-multiply peak measured in the same run (``--hidden-sweep``:
   the same at larger hidden sizes, full-length sequences);
4. inference: ``predict_proba`` samples/s for several ``predict_batch_size``,
   each against hand-written inference at the same batch size (the module's
   ``nn.LSTM`` layers over ``pack_padded_sequence``, batches in input order);
5. (``--sweep``) samples/s against batch size and sequence length, saved as
   a plot for the docs.

    python benchmarks/perf.py --plot docs/_static/perf_summary.png
    python benchmarks/perf.py --hidden-sweep 64 128 256 --sweep \
        --sweep-plot docs/_static/perf_sweep.png
    python benchmarks/perf.py --quick   # 600 samples, 1 epoch, 1 repeat
"""

import json
import platform
import time

import numpy as np
import torch
import torch.nn.functional as F
from _common import make_parser
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from skmemo import MultimodalData, MultimodalEmotionClassifier
from skmemo.modules import EmotionEmbeddingModel, lengths_from_padding
from skmemo.vectors import emotion_vectors

EMOTIONS = ["anger", "disgust", "fear", "happy", "sad", "surprise"]
DIMS = {"text": 50, "audio": 74, "visual": 35}
HIDDEN = {"text": 50, "audio": 64, "visual": 64}


def make_corpus(n, seq_len, seed=0, full=False):
    """Pre-padded random features with a CMU-MOSEI-like length distribution."""
    rng = np.random.RandomState(seed)
    if full:
        lengths = np.full(n, seq_len)
    else:  # most sentences are far shorter than the padded length
        lengths = np.clip(np.round(rng.gamma(2.2, 6.0, n)), 1, seq_len).astype(int)
    X = {}
    for m, d in DIMS.items():
        x = rng.randn(n, seq_len, d).astype(np.float32)
        x[np.arange(seq_len)[None, :] < (seq_len - lengths)[:, None]] = 0.0
        X[m] = x
    Y = (rng.rand(n, len(EMOTIONS)) < 0.3).astype(np.float32)
    return MultimodalData(**X), Y, lengths


def estimator(epochs, batch_size, seed=0, **kw):
    kw.setdefault("hidden_sizes", HIDDEN)
    return MultimodalEmotionClassifier(
        EMOTIONS, max_epochs=epochs, batch_size=batch_size,
        validation_fraction=0, random_state=seed, device="cpu", **kw)


def reference_loop(X, Y, epochs, batch_size, full_length, seed=0):
    """What a user writes by hand: same module, slicing, BCE, clipping, Adam."""
    torch.manual_seed(seed)
    model = EmotionEmbeddingModel(emotion_vectors(EMOTIONS), DIMS, hidden_sizes=HIDDEN)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    tensors = {m: torch.from_numpy(X[m]) for m in DIMS}
    y = torch.from_numpy(Y)
    pos_weight = (len(Y) - y.sum(0)) / y.sum(0).clamp(min=1)
    n = len(Y)
    model.train()
    start = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(n)
        for i in range(0, n, batch_size):
            idx = perm[i:i + batch_size]
            batch = {m: t[idx] for m, t in tensors.items()}
            if full_length:  # run every padded step, as a plain nn.LSTM loop does
                T = next(iter(batch.values())).shape[1]
                for m in DIMS:
                    batch[m + "_lengths"] = torch.full((len(idx),), T)
            logits = model(**batch)
            loss = F.binary_cross_entropy_with_logits(logits, y[idx], pos_weight=pos_weight)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
    return time.perf_counter() - start


def time_fit_per_sample(X, Y, epochs, batch_size, **kw):
    """skorch's default loading: index one sample at a time, then collate."""
    from skorch.dataset import Dataset
    from torch.utils.data import default_collate

    return time_fit(X, Y, epochs, batch_size, dataset=Dataset,
                    iterator_train__collate_fn=default_collate,
                    iterator_valid__collate_fn=default_collate, **kw)


def reference_predict(clf, X, full_length, batch_size=1024):
    """Hand-written inference: the fitted module, batches in input order.

    ``full_length=False`` skips the padding the way a hand-written script
    does: each encoder's ``nn.LSTM`` over ``pack_padded_sequence``;
    ``full_length=True`` runs every padded step.
    """
    model = clf.module_.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, len(X), batch_size):
            batch = {m: torch.from_numpy(X[m][i:i + batch_size]) for m in DIMS}
            if full_length:
                T = batch["text"].shape[1]
                for m in DIMS:
                    batch[m + "_lengths"] = torch.full((len(batch["text"]),), T)
                outs.append(torch.sigmoid(model(**batch)))
            else:
                outs.append(torch.sigmoid(packed_forward(model, batch)))
    return torch.cat(outs).numpy()


def packed_forward(model, batch):
    """The model's forward pass written by hand with packed sequences."""
    reps = {}
    for m, x in batch.items():
        L = lengths_from_padding(x, "pre")
        x = _left(x, L)
        enc = model.encoders[m]
        packed = pack_padded_sequence(x, L, batch_first=True, enforce_sorted=False)
        out, _ = pad_packed_sequence(enc.rnn(packed)[0], batch_first=True)
        out = out.view(len(x), out.shape[1], 2, -1).sum(2)
        r = out[torch.arange(len(x)), L - 1]
        if m == "text" and model.text_projection is not None:
            r = model.text_projection(r)
        reps[m] = r
    return model.fuse(model.scores(reps))


def _left(x, lengths):
    """Real steps of pre-padded ``x`` first."""
    T = x.shape[1]
    idx = (torch.arange(T)[None, :] + (T - lengths)[:, None]) % T
    return x.gather(1, idx[:, :, None].expand(-1, -1, x.shape[2]))


def time_fit(X, Y, epochs, batch_size, **kw):
    clf = estimator(epochs, batch_size, **kw)
    start = time.perf_counter()
    clf.fit(X, Y)
    return time.perf_counter() - start, clf


def matmul_peak(size=1024, repeat=20):
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    start = time.perf_counter()
    for _ in range(repeat):
        torch.mm(a, b)
    return 2 * size ** 3 * repeat / (time.perf_counter() - start) / 1e9


def training_flops(lengths, n_emotions=6, layers=2, hidden=None):
    """Analytic FLOPs of one training pass over the real steps of every sample."""
    hidden = hidden or HIDDEN
    total = 0.0
    for m, d in DIMS.items():
        H = hidden[m]
        per_step = 0.0
        for layer in range(layers):
            d_in = d if layer == 0 else 2 * H
            per_step += 2 * 2 * 4 * H * (d_in + H)  # 2 directions, 4 gates, mult+add
        total += per_step * lengths.sum()
        total += 2 * len(lengths) * H * n_emotions  # scores
        if m != "text":
            total += 2 * n_emotions * DIMS["text"] * H  # mapping (per batch, tiny)
    return 3 * total  # forward + backward (about twice the forward)


def plot_summary(out, path):
    """Training and inference samples/s of skmemo and the hand-written loops."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sps, inf = out["train_sps"], out["inference"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    bars = [("hand-written,\nall 50 steps", sps["ref_padded"], "0.6"),
            ("hand-written,\nreal steps", sps["ref_packed"], "0.6"),
            ("skmemo,\nrandom batches", sps["skmemo_shuffled"], "tab:blue"),
            ("skmemo default\n(length buckets)", sps["skmemo_bucketed"], "tab:orange")]
    left.bar([b[0] for b in bars], [b[1] for b in bars], color=[b[2] for b in bars])
    left.set_ylabel("training samples / s")
    left.set_title("fit, CMU-MOSEI-like lengths")
    left.tick_params(axis="x", labelsize=7)
    sizes = [64, 256, 1024, 4096]
    x = np.arange(len(sizes))
    right.bar(x - 0.2, [inf[f"hand_packed/{b}"] for b in sizes], 0.4, color="0.6",
              label="hand-written, packed")
    right.bar(x + 0.2, [inf[f"skmemo/{b}"] for b in sizes], 0.4, color="tab:orange",
              label="skmemo predict_proba")
    right.set_xticks(x, [str(b) for b in sizes])
    right.set_xlabel("batch size")
    right.set_ylabel("inference samples / s")
    right.set_title("prediction")
    right.legend(fontsize=8)
    fig.suptitle(f"CPU, {out['machine']}", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"saved {path}")


def main(argv=None):
    parser = make_parser(__doc__, seeds=None, quick={"n": 600, "epochs": 1, "repeats": 1})
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--seq-len", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument("--loading", type=int, nargs="*", default=None,
                        help="batch sizes at which to compare whole-batch loading "
                             "with skorch's per-sample default")
    parser.add_argument("--hidden-sweep", type=int, nargs="*", default=None,
                        help="share of peak at these hidden sizes (all three modalities)")
    parser.add_argument("--plot", default=None,
                        help="save the training and inference speeds as a figure")
    parser.add_argument("--sweep-plot", default=None, help="save the --sweep figure")
    args = parser.parse_args(argv)
    out = {"machine": f"{platform.machine()}, {torch.get_num_threads()} threads, "
                      f"torch {torch.__version__}",
           "date": time.strftime("%Y-%m-%d")}
    print(out)

    X, Y, lengths = make_corpus(args.n, args.seq_len)
    print(f"corpus: {args.n} x {args.seq_len} steps, mean real length "
          f"{lengths.mean():.1f}, median {np.median(lengths):.0f}")

    # 1 + 2: interleave runs so drift hits both sides alike
    default_bucketed = MultimodalEmotionClassifier(EMOTIONS).bucket_by_length
    runs = {"ref_packed": [], "skmemo_shuffled": [], "skmemo_bucketed": [], "ref_padded": []}
    for _ in range(args.repeats):
        runs["ref_packed"].append(reference_loop(X, Y, args.epochs, args.batch_size, False))
        runs["skmemo_shuffled"].append(
            time_fit(X, Y, args.epochs, args.batch_size, bucket_by_length=False)[0])
        runs["skmemo_bucketed"].append(
            time_fit(X, Y, args.epochs, args.batch_size, bucket_by_length=True)[0])
        runs["ref_padded"].append(reference_loop(X, Y, args.epochs, args.batch_size, True))
    runs["skmemo_default"] = runs["skmemo_bucketed" if default_bucketed else "skmemo_shuffled"]
    sps = {k: args.n * args.epochs / min(v) for k, v in runs.items()}
    out["train_sps"] = sps
    out["default_bucket_by_length"] = bool(default_bucketed)
    out["wrapper_ratio"] = sps["skmemo_shuffled"] / sps["ref_packed"]
    out["shuffled_speedup"] = sps["skmemo_shuffled"] / sps["ref_padded"]
    out["padding_speedup"] = sps["skmemo_bucketed"] / sps["ref_padded"]
    out["default_speedup"] = sps["skmemo_default"] / sps["ref_padded"]
    print(f"1. samples/s, random batches: hand-written loop {sps['ref_packed']:.0f}, skmemo "
          f"fit {sps['skmemo_shuffled']:.0f} -> ratio {out['wrapper_ratio']:.3f} "
          f"(goal >= 0.95)")
    print(f"2. padded reference loop {sps['ref_padded']:.0f} samples/s; skmemo random "
          f"batches {out['shuffled_speedup']:.2f}x, bucket_by_length=True "
          f"{sps['skmemo_bucketed']:.0f} samples/s = {out['padding_speedup']:.2f}x; "
          f"default (bucket_by_length={default_bucketed}) {out['default_speedup']:.2f}x "
          f"(goal >= 2.5x)")

    if args.loading:
        out["loading"] = {}
        for bs in args.loading:
            whole, single = [], []
            for _ in range(args.repeats):
                whole.append(time_fit(X, Y, 1, bs, bucket_by_length=True)[0])
                single.append(time_fit_per_sample(X, Y, 1, bs, bucket_by_length=True)[0])
            ratio = min(single) / min(whole)
            out["loading"][bs] = ratio
            print(f"1b. batch {bs}: whole-batch loading {args.n / min(whole):.0f} samples/s, "
                  f"per-sample indexing + collation {args.n / min(single):.0f} samples/s "
                  f"-> per-sample takes {ratio:.2f}x the time")

    _, clf = time_fit(X[:512], Y[:512], 1, args.batch_size, bucket_by_length=False)
    trimmed = {m: X[m][:512, -int(lengths[:512].max()):] for m in DIMS}
    diff = np.abs(clf.predict_proba(X[:512]) - clf.predict_proba(trimmed)).max()
    out["padding_pred_maxdiff"] = float(diff)
    print(f"   predictions with vs without the extra padding: max |diff| {diff:.2e}")
    natural = reference_predict(clf, X[:512], full_length=False)
    diff = np.abs(clf.predict_proba(X[:512]) - natural).max()
    out["sorted_pred_maxdiff"] = float(diff)
    print(f"   predictions in length order vs input order: max |diff| {diff:.2e}")

    # 3
    peak = matmul_peak()
    flops = training_flops(lengths) * args.epochs
    out["matmul_peak_gflops"] = peak
    for key in ("skmemo_default", "skmemo_shuffled", "skmemo_bucketed"):
        achieved = flops / min(runs[key]) / 1e9
        out[f"{key}_gflops"] = achieved
        out[f"{key}_share_of_peak"] = achieved / peak
        print(f"3. {key}: training {achieved:.2f} GFLOP/s vs matmul peak {peak:.1f} "
              f"GFLOP/s -> {100 * achieved / peak:.1f}% (goal >= 40%)")

    # 4: skmemo and the hand-written packed inference at the same batch size, interleaved
    out["inference"] = {}
    rates = {}
    for _ in range(args.repeats):
        for bs in (64, 256, 1024, 4096):
            clf.set_params(predict_batch_size=bs)
            for key in (f"skmemo/{bs}", f"hand_packed/{bs}"):
                start = time.perf_counter()
                if key.startswith("skmemo"):
                    clf.predict_proba(X)
                else:
                    reference_predict(clf, X, False, batch_size=bs)
                rates[key] = max(rates.get(key, 0), args.n / (time.perf_counter() - start))
        start = time.perf_counter()
        reference_predict(clf, X, full_length=True)
        rates["hand_padded/1024"] = max(rates.get("hand_padded/1024", 0),
                                        args.n / (time.perf_counter() - start))
    out["inference"] = rates
    for bs in (64, 256, 1024, 4096):
        a, b = rates[f"skmemo/{bs}"], rates[f"hand_packed/{bs}"]
        print(f"4. batch {bs}: predict_proba {a:.0f} samples/s, hand-written packed "
              f"inference (input order) {b:.0f} -> {a / b:.2f}x")
    print(f"4. hand-written inference over every padded step, batch 1024: "
          f"{rates['hand_padded/1024']:.0f} samples/s")

    if args.hidden_sweep:
        out["hidden_sweep"] = {}
        Xf, Yf, Lf = make_corpus(1000, args.seq_len, full=True)
        for H in args.hidden_sweep:
            hidden = {m: H for m in DIMS}
            clf = estimator(1, args.batch_size, hidden_sizes=hidden)
            clf.fit(Xf[:256], Yf[:256])  # warm-up
            clf = estimator(1, args.batch_size, hidden_sizes=hidden)
            start = time.perf_counter()
            clf.fit(Xf, Yf)
            rate = training_flops(Lf, hidden=hidden) / (time.perf_counter() - start) / 1e9
            out["hidden_sweep"][H] = rate / peak
            print(f"3. hidden {H} (all modalities, {args.seq_len} real steps): "
                  f"{rate:.1f} GFLOP/s = {100 * rate / peak:.1f}% of peak")

    if args.sweep:
        sweep = {}
        for T in (10, 25, 50):
            Xs, Ys, _ = make_corpus(2000, T, full=True)
            for bs in (32, 128, 512):
                t, _ = time_fit(Xs, Ys, 1, bs)
                sweep[(T, bs)] = 2000 / t
                print(f"5. seq_len {T:3d} batch {bs:4d}: {sweep[(T, bs)]:.0f} samples/s")
        out["sweep"] = {f"{T}/{bs}": v for (T, bs), v in sweep.items()}
        if args.sweep_plot:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            fig, ax = plt.subplots(figsize=(5, 3.5))
            for T in (10, 25, 50):
                ax.plot([32, 128, 512], [sweep[(T, b)] for b in (32, 128, 512)],
                        marker="o", label=f"seq_len {T}")
            ax.set_xscale("log", base=2)
            ax.set_xlabel("batch size")
            ax.set_ylabel("training samples / s")
            ax.set_title("skmemo fit throughput (CPU)")
            ax.legend()
            fig.tight_layout()
            fig.savefig(args.sweep_plot, dpi=120)
            print(f"saved {args.sweep_plot}")
    if args.plot:
        plot_summary(out, args.plot)
    print(json.dumps(out, default=float))


if __name__ == "__main__":
    main()
