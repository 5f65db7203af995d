"""Benchmarks of the two features that go beyond the paper.

``fusion``
    The paper's weighted fusion of modality scores against MultiEMO-style
    cross-modal attention (``fusion="cross_attention"``), each with and without
    the auxiliary sample-weighted focal contrastive loss (``swfc_weight``).
    Reported on the test split: per-emotion weighted accuracy (threshold 0.5)
    and AUC, the zero-shot AUC of held-out emotions (synthetic data only: every
    training sample positive for the held-out emotion is removed, the emotion
    is added back from its word vector), and the training time per epoch
    (wall clock from skorch's epoch timer, and CPU time of the whole fit
    divided by the epochs run), as ratios to the paper's fusion in the same run.

``pretraining``
    Modality-pairwise contrastive pre-training (``pretrain_epochs``) with 1%,
    5%, 20% and 100% of the training labels. The labelled subset is drawn at
    random until every emotion has at least one positive and one negative in
    it; the rest of the *training* inputs, without labels, is passed as
    ``pretrain_X`` (test inputs are never seen before scoring). Compared:
    supervised training only, pre-training then training everything, and
    pre-training then a linear probe (``freeze_encoders=True``). Every run
    makes the same number of optimiser steps whatever the number of labels
    (``--full-epochs`` epochs of the whole training set, batch 64), without a
    validation split (1% of the labels cannot spare one). Zero-shot AUC of
    held-out emotions is measured with the held-out positives removed from the
    labelled *and* the unlabelled training inputs.

Data: ``synthetic`` is :func:`skmemo.datasets.make_emotion_dataset` (6
emotions; each seed draws its own data set and train/test split); ``mosi`` is
the CMU-MOSI utterance features read by ``benchmarks/mosi.py`` (binary
sentiment as the two emotions ``positive``/``negative``, features
standardised on the training rows, fixed speaker-independent split; the
script says so and stops when the folder is absent).

Run (every finished fit is cached in ``--cache``; a rerun resumes)::

    python benchmarks/beyond_paper.py fusion --dataset synthetic
    python benchmarks/beyond_paper.py fusion --dataset mosi
    python benchmarks/beyond_paper.py pretraining --dataset synthetic
    python benchmarks/beyond_paper.py pretraining --dataset mosi
    python benchmarks/beyond_paper.py fusion --quick   # seed 0, 300 samples, 2 epochs

``--quick`` runs afresh each time, its cache apart from the full runs' ones.
"""

import json
import math
import os
import sys
import time
import warnings
from functools import partial
from pathlib import Path

import mosi  # the CMU-MOSI reader of benchmarks/mosi.py
import numpy as np
from _common import (
    EMOTIONS,
    OUT,
    Timer,
    evaluate,
    held_out_last,
    make_parser,
    markdown_table,
    mean_std,
    synthetic_split,
)

from skmemo import MultimodalData, MultimodalEmotionClassifier
from skmemo.datasets import make_emotion_dataset
from skmemo.model_selection import hold_out_emotion

MOSI_EMOTIONS = ["positive", "negative"]
BATCH = 64


# ----------------------------------------------------------------------
# data, estimators, scores
# ----------------------------------------------------------------------
_MOSI = {}  # the CMU-MOSI split, read once


def load_split(args, seed):
    """(X_train, Y_train, X_test, Y_test, emotions) for one seed."""
    if args.dataset == "synthetic":
        X_tr, X_te, Y_tr, Y_te = synthetic_split(
            args.n_samples, seq_len=args.seq_len, seed=seed, test_size=args.test_size,
            emotions=EMOTIONS, sort=True)
        return X_tr, Y_tr, X_te, Y_te, EMOTIONS
    if not _MOSI:
        X_tr, y_tr, X_te, y_te = mosi.standardise(mosi.load_mosi(args.data))
        _MOSI["split"] = (MultimodalData(**X_tr), np.stack([y_tr, 1 - y_tr], axis=1),
                         MultimodalData(**X_te), np.stack([y_te, 1 - y_te], axis=1))
    return (*_MOSI["split"], MOSI_EMOTIONS)


def make_clf(args, seed, emotions, **params):
    if args.dataset == "synthetic":  # text hidden = word dimension (50), as in the paper
        hidden = {"audio": args.hidden, "visual": args.hidden}
    else:  # the sizes of benchmarks/mosi.py
        hidden = {"text": 100, "audio": 64, "visual": 64}
    if params.get("fusion") == "cross_attention":
        params.update(module__attention_dim=args.attention_dim,
                      module__attention_layers=args.attention_layers,
                      module__attention_heads=args.attention_heads)
    params.setdefault("max_epochs", args.epochs)
    return MultimodalEmotionClassifier(list(emotions), hidden_sizes=hidden,
                                       batch_size=BATCH, random_state=seed,
                                       device="cpu", **params)


def scores(clf, X_test, Y_test, dataset):
    """Per-emotion W-Acc and AUC (MOSI: of the positive class; plus accuracy)."""
    if dataset == "mosi":  # argmax decision, AUC of P(positive)
        s = evaluate(clf, X_test, Y_test, decision="argmax")
        return {"wacc": [float(s["wacc"][0])], "auc": [float(s["auc"][0])],
                "acc": float(s["accuracy"][0])}
    s = evaluate(clf, X_test, Y_test)
    return {"wacc": [float(v) for v in s["wacc"]], "auc": [float(v) for v in s["auc"]]}


def warm_up(args):
    """One untimed tiny fit: loads the word vectors and initialises torch, so
    that the first timed fit is not charged for it."""
    X, Y = make_emotion_dataset(64, emotions=EMOTIONS, seq_len=4, random_state=0)
    make_clf(args, 0, EMOTIONS, max_epochs=1, fusion="cross_attention",
             swfc_weight=0.1, pretrain_epochs=1).fit(X, Y)


def timed_fit(clf, X, Y):
    with warnings.catch_warnings(), Timer() as t:
        warnings.simplefilter("ignore", UserWarning)
        clf.fit(X, Y)
    wall, cpu = t.wall, t.cpu
    epochs = len(clf.history_)
    return {"fit_wall_s": wall, "fit_cpu_s": cpu, "epochs": epochs,
            "epoch_wall_s": float(np.mean([h["dur"] for h in clf.history_])),
            "epoch_cpu_s": cpu / epochs,
            "pretrain_loss": list(getattr(clf, "pretrain_history_", []))}


def zero_shot(clf, X_test, Y_test, held):
    """Add ``held`` from its word vector; its test AUC and W-Acc (threshold 0.5)."""
    clf.add_emotions([held])
    s = evaluate(clf, X_test, held_out_last(Y_test, EMOTIONS.index(held)),
                 new=len(EMOTIONS) - 1)
    return {"zs_auc": s["new_auc"], "zs_wacc": s["new_wacc"]}


def labelled_subset(Y, fraction, seed):
    """Indices (labelled, rest): ``fraction`` of the rows, drawn until every
    column has at least one positive and one negative among them."""
    n = len(Y)
    k = max(2, int(round(fraction * n)))
    if k >= n:
        return np.arange(n), np.arange(0)
    rng = np.random.RandomState(seed)
    for _ in range(1000):
        perm = rng.permutation(n)
        pos = Y[perm[:k]].sum(axis=0)
        if np.all(pos > 0) and np.all(pos < k):
            return np.sort(perm[:k]), np.sort(perm[k:])
    raise RuntimeError(f"no subset of {k} rows has both classes in every column")


# ----------------------------------------------------------------------
# cache
# ----------------------------------------------------------------------
class Cache:
    """Finished runs in a JSON file, written after every run (atomically)."""

    def __init__(self, path, settings):
        self.path = Path(path)
        self.prefix = json.dumps(settings, sort_keys=True)
        self.data = json.loads(self.path.read_text()) if self.path.is_file() else {}

    def key(self, *parts):
        return self.prefix + "|" + "|".join(str(p) for p in parts)

    def get(self, *parts):
        return self.data.get(self.key(*parts))

    def put(self, record, *parts):
        self.data[self.key(*parts)] = record
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1))
        os.replace(tmp, self.path)


def run_cached(cache, label, parts, fn, start):
    record = cache.get(*parts)
    status = "cached"
    if record is None:
        record = fn()
        cache.put(record, *parts)
        status = f"{record['fit_wall_s']:.0f} s"
    brief = {k: round(float(np.mean(record[k])), 3) for k in ("wacc", "auc", "zs_auc")
             if k in record}
    print(f"[{time.perf_counter() - start:6.0f} s] {label}: {status} {brief}", flush=True)
    return record


# ----------------------------------------------------------------------
# tables
# ----------------------------------------------------------------------
def ms(values, scale=100.0, digits=1):
    return mean_std(values, scale, digits)


# ----------------------------------------------------------------------
# benchmark 1: fusion and SWFC
# ----------------------------------------------------------------------
def fusion_configs(args):
    main = {"paper": {}, f"paper + SWFC {args.swfc[0]}": {"swfc_weight": args.swfc[0]},
            "cross": {"fusion": "cross_attention"},
            f"cross + SWFC {args.swfc[0]}": {"fusion": "cross_attention",
                                              "swfc_weight": args.swfc[0]}}
    extra = {}
    for w in args.swfc[1:]:
        extra[f"paper + SWFC {w}"] = {"swfc_weight": w}
        extra[f"cross + SWFC {w}"] = {"fusion": "cross_attention", "swfc_weight": w}
    return main, extra


def fusion_fit(args, seed, emotions, params, X, Y, X_test, Y_test, held=None):
    clf = make_clf(args, seed, emotions, **params)
    rec = timed_fit(clf, X, Y)
    if held is None:
        return rec | scores(clf, X_test, Y_test, args.dataset)
    return rec | zero_shot(clf, X_test, Y_test, held)


def run_fusion(args, cache):
    main, extra = fusion_configs(args)
    configs = {**main, **extra}
    held_out = args.held_out if args.dataset == "synthetic" else []
    start = time.perf_counter()
    full, zs = {}, {}
    for seed in args.seeds:
        X_tr, Y_tr, X_te, Y_te, emotions = load_split(args, seed)
        for name, params in configs.items():
            fn = partial(fusion_fit, args, seed, emotions, params, X_tr, Y_tr, X_te, Y_te)
            full[name, seed] = run_cached(cache, f"seed {seed} {name}",
                                          ("fusion", name, seed), fn, start)
        for held in held_out:
            X_seen, Y_seen, seen, _ = hold_out_emotion(X_tr, Y_tr, held, emotions=EMOTIONS)
            for name, params in main.items():
                fn = partial(fusion_fit, args, seed, seen, params, X_seen, Y_seen, X_te,
                             Y_te, held=held)
                zs[name, seed, held] = run_cached(
                    cache, f"seed {seed} {name} zero-shot {held}",
                    ("fusion-zs", name, seed, held), fn, start)
    return report_fusion(args, configs, full, zs, emotions, held_out)


def paired(records, name, ref, seeds, metric):
    """Per-seed difference of the mean of ``metric`` against config ``ref``."""
    return [np.mean(records[name, s][metric]) - np.mean(records[ref, s][metric])
            for s in seeds]


def report_fusion(args, configs, full, zs, emotions, held_out):
    seeds = args.seeds
    out = []
    if args.dataset == "synthetic":
        header = ["configuration"] + emotions + ["mean W-Acc", "mean AUC", "Δ AUC vs paper"]
        rows = []
        for name in configs:
            cells = [name]
            for k in range(len(emotions)):
                w = np.mean([full[name, s]["wacc"][k] for s in seeds])
                a = np.mean([full[name, s]["auc"][k] for s in seeds])
                cells.append(f"{100 * w:.1f} / {100 * a:.1f}")
            cells += [ms([np.mean(full[name, s]["wacc"]) for s in seeds]),
                      ms([np.mean(full[name, s]["auc"]) for s in seeds]),
                      ms(paired(full, name, "paper", seeds, "auc"))]
            rows.append(cells)
        out.append("Test W-Acc / AUC per emotion (mean over seeds), means ± std:\n")
        out.append(markdown_table(header, rows))
    else:
        header = ["configuration", "acc", "W-Acc", "AUC", "Δ AUC vs paper"]
        rows = [[name, ms([full[name, s]["acc"] for s in seeds]),
                 ms([full[name, s]["wacc"][0] for s in seeds]),
                 ms([full[name, s]["auc"][0] for s in seeds]),
                 ms(paired(full, name, "paper", seeds, "auc"))] for name in configs]
        out.append("Test scores (mean ± std over seeds):\n")
        out.append(markdown_table(header, rows))
    if held_out:
        names = list(dict.fromkeys(n for n, _, _ in zs))
        header = ["configuration"] + [f"zero-shot AUC {h}" for h in held_out] + ["mean"]
        rows = []
        for name in names:
            per = [[zs[name, s, h]["zs_auc"] for s in seeds] for h in held_out]
            rows.append([name] + [ms(v) for v in per] + [ms(np.mean(per, axis=0))])
        out.append("\nZero-shot AUC of the held-out emotion (mean ± std over seeds):\n")
        out.append(markdown_table(header, rows))
    header = ["configuration", "epochs", "s/epoch (wall)", "ratio (wall)",
              "CPU s/epoch", "ratio (CPU)"]
    rows = []
    for name in configs:
        ratio_w = [full[name, s]["epoch_wall_s"] / full["paper", s]["epoch_wall_s"]
                   for s in seeds]
        ratio_c = [full[name, s]["epoch_cpu_s"] / full["paper", s]["epoch_cpu_s"]
                   for s in seeds]
        rows.append([name, f"{np.mean([full[name, s]['epochs'] for s in seeds]):.1f}",
                     ms([full[name, s]["epoch_wall_s"] for s in seeds], 1, 2),
                     ms(ratio_w, 1, 2),
                     ms([full[name, s]["epoch_cpu_s"] for s in seeds], 1, 2),
                     ms(ratio_c, 1, 2)])
    out.append("\nTraining time per epoch of the full fits (ratios to 'paper', per seed):\n")
    out.append(markdown_table(header, rows))
    return "\n".join(out)


# ----------------------------------------------------------------------
# benchmark 2: contrastive pre-training with few labels
# ----------------------------------------------------------------------
def pretrain_configs(args):
    configs = {"supervised": {},
               "pre-trained": {"pretrain_epochs": args.pretrain_epochs},
               "pre-trained, linear probe": {"pretrain_epochs": args.pretrain_epochs,
                                             "freeze_encoders": True},
               "random frozen encoders": {"freeze_encoders": True}}
    return {k: v for k, v in configs.items() if k in args.configs}


def fit_fraction(args, seed, emotions, params, X, Y, fraction, steps, X_te, Y_te,
                 held=None):
    lab, rest = labelled_subset(Y, fraction, seed)
    epochs = math.ceil(steps / math.ceil(len(lab) / BATCH))
    params = dict(params, max_epochs=epochs, validation_fraction=0.0)
    if params.get("pretrain_epochs") and len(rest):
        params["pretrain_X"] = X[rest]
    clf = make_clf(args, seed, emotions, **params)
    rec = timed_fit(clf, X[lab], Y[lab])
    rec["n_labelled"] = int(len(lab))
    rec["labelled_positives"] = Y[lab].sum(axis=0).astype(int).tolist()
    if held is None:
        return rec | scores(clf, X_te, Y_te, args.dataset)
    return rec | zero_shot(clf, X_te, Y_te, held)


def run_pretraining(args, cache):
    configs = pretrain_configs(args)
    held_out = args.held_out if args.dataset == "synthetic" else []
    start = time.perf_counter()
    res, zs, test_pos = {}, {}, {}
    for seed in args.seeds:
        X_tr, Y_tr, X_te, Y_te, emotions = load_split(args, seed)
        test_pos[seed] = Y_te.sum(axis=0).astype(int).tolist()
        steps = args.full_epochs * math.ceil(len(Y_tr) / BATCH)
        for fraction in args.fractions:
            for name, params in configs.items():
                fn = partial(fit_fraction, args, seed, emotions, params, X_tr, Y_tr,
                             fraction, steps, X_te, Y_te)
                res[name, seed, fraction] = run_cached(
                    cache, f"seed {seed} {fraction:.0%} labels {name}",
                    ("pretraining", name, seed, fraction), fn, start)
        for held in held_out:
            X_seen, Y_seen, seen, _ = hold_out_emotion(X_tr, Y_tr, held, emotions=EMOTIONS)
            for fraction in args.zs_fractions:
                for name, params in configs.items():
                    fn = partial(fit_fraction, args, seed, seen, params, X_seen, Y_seen,
                                 fraction, steps, X_te, Y_te, held=held)
                    zs[name, seed, fraction, held] = run_cached(
                        cache, f"seed {seed} {fraction:.0%} labels {name} zero-shot {held}",
                        ("pretraining-zs", name, seed, fraction, held), fn, start)
    return report_pretraining(args, configs, res, zs, test_pos, held_out, emotions)


def report_pretraining(args, configs, res, zs, test_pos, held_out, emotions):
    seeds = args.seeds
    out = [f"Test positives per emotion ({', '.join(emotions)}), per seed: "
           + "; ".join(f"seed {s}: {test_pos[s]}" for s in seeds) + "\n"]
    header = ["labels", "n labelled", "positives per emotion in the labelled set "
              "(min-max over seeds)"]
    rows = []
    for f in args.fractions:
        first = res[next(iter(configs)), seeds[0], f]
        pos = np.array([res[next(iter(configs)), s, f]["labelled_positives"] for s in seeds])
        rows.append([f"{f:.0%}", first["n_labelled"], ", ".join(
            f"{lo}-{hi}" for lo, hi in zip(pos.min(axis=0), pos.max(axis=0)))])
    out.append(markdown_table(header, rows))
    header = ["labels", "configuration", "W-Acc", "AUC", "Δ W-Acc vs supervised",
              "Δ AUC vs supervised", "epochs", "fit CPU s"]
    rows = []
    for f in args.fractions:
        for name in configs:
            r = [res[name, s, f] for s in seeds]
            d_w = [np.mean(res[name, s, f]["wacc"]) - np.mean(res["supervised", s, f]["wacc"])
                   for s in seeds]
            d_a = [np.mean(res[name, s, f]["auc"]) - np.mean(res["supervised", s, f]["auc"])
                   for s in seeds]
            rows.append([f"{f:.0%}", name, ms([np.mean(x["wacc"]) for x in r]),
                         ms([np.mean(x["auc"]) for x in r]), ms(d_w), ms(d_a),
                         r[0]["epochs"], ms([x["fit_cpu_s"] for x in r], 1, 1)])
    out.append("\nTest scores, mean over emotions (mean ± std over seeds; Δ paired by seed):\n")
    out.append(markdown_table(header, rows))
    if held_out:
        header = ["labels", "configuration"] + [f"zero-shot AUC {h}" for h in held_out] + [
            "mean", "Δ vs supervised"]
        rows = []
        for f in args.zs_fractions:
            for name in configs:
                per = [[zs[name, s, f, h]["zs_auc"] for s in seeds] for h in held_out]
                ref = [[zs["supervised", s, f, h]["zs_auc"] for s in seeds] for h in held_out]
                rows.append([f"{f:.0%}", name] + [ms(v) for v in per] + [
                    ms(np.mean(per, axis=0)),
                    ms(np.mean(per, axis=0) - np.mean(ref, axis=0))])
        out.append("\nZero-shot AUC of the held-out emotion (held-out positives removed "
                   "from labelled and unlabelled training inputs):\n")
        out.append(markdown_table(header, rows))
    return "\n".join(out)


# ----------------------------------------------------------------------
def main(argv=None):
    parser = make_parser(__doc__, cache=True, cache_help=(
        "JSON file of finished runs (default benchmarks/out/...)"), quick={
        "seeds": [0], "n_samples": 300, "epochs": 2, "held_out": ["surprise"],
        "fractions": [0.05, 1.0], "zs_fractions": [0.05], "full_epochs": 2,
        "pretrain_epochs": 1})
    parser.add_argument("benchmark", choices=["fusion", "pretraining"])
    parser.add_argument("--dataset", choices=["synthetic", "mosi"], default="synthetic")
    parser.add_argument("--data", type=Path, default=mosi.DEFAULT_DATA,
                        help="folder of the CMU-MOSI utterance CSV files")
    parser.add_argument("--n-samples", type=int, default=1500)
    parser.add_argument("--test-size", type=float, default=1 / 3)
    parser.add_argument("--seq-len", type=int, default=12)
    parser.add_argument("--hidden", type=int, default=32, help="audio/visual hidden size")
    parser.add_argument("--epochs", type=int, default=None,
                        help="fusion: max_epochs (default 8 synthetic, 30 MOSI)")
    parser.add_argument("--attention-dim", type=int, default=32)
    parser.add_argument("--attention-layers", type=int, default=1)
    parser.add_argument("--attention-heads", type=int, default=4)
    parser.add_argument("--swfc", type=float, nargs="+", default=[0.1],
                        help="SWFC weights; the first one also gets zero-shot runs")
    parser.add_argument("--held-out", nargs="*", default=["anger", "surprise"])
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.01, 0.05, 0.2, 1.0])
    parser.add_argument("--zs-fractions", type=float, nargs="*", default=[0.05])
    parser.add_argument("--full-epochs", type=int, default=10,
                        help="pretraining: optimiser steps = this many epochs of all "
                             "training rows")
    parser.add_argument("--pretrain-epochs", type=int, default=10)
    parser.add_argument("--configs", nargs="+",
                        default=["supervised", "pre-trained", "pre-trained, linear probe"],
                        help="pretraining configurations (also: 'random frozen encoders')")
    args = parser.parse_args(argv)
    if args.epochs is None:
        args.epochs = 8 if args.dataset == "synthetic" else 30
    bad = set(args.held_out) - set(EMOTIONS)
    if bad:
        parser.error(f"--held-out must name emotions of {EMOTIONS}; got {sorted(bad)}")

    if args.dataset == "mosi":
        args.data = args.data.resolve()
        if not mosi.have_mosi(args.data):
            return 0
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                if k not in ("seeds", "threads", "cache", "data", "held_out",
                             "zs_fractions", "configs", "fractions", "swfc", "quick")}
    name = f"beyond_paper_{args.benchmark}_{args.dataset}"
    path = args.cache or OUT / f"{name}.json"
    if args.quick and args.cache is None:  # afresh, apart from the full runs' records
        path = OUT / f"{name}_quick.json"
        path.unlink(missing_ok=True)
    cache = Cache(path, settings)
    print(f"{args.benchmark} on {args.dataset}; seeds {args.seeds}; cache {path}", flush=True)
    warm_up(args)
    run = run_fusion if args.benchmark == "fusion" else run_pretraining
    print("\n" + run(args, cache))
    return 0


if __name__ == "__main__":
    sys.exit(main())
