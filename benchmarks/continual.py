"""Few-shot learning of a new emotion: fine-tuning, joint training, GEM, A-GEM.

The protocol of Dai et al. (AACL 2020, section 4.2) on the embedded synthetic
data (six emotions): every training sample positive for the held-out emotion
is removed and the model is trained on the other five; the held-out emotion is
added zero-shot from its word vector; then 1% of its training positives plus as
many negatives (the few-shot set) are used by

- FT: ``partial_fit`` on the few-shot set only;
- JT: ``partial_fit`` on the old training data plus the few-shot set;
- GEM / A-GEM: ``partial_fit_gem`` on the few-shot set, with the episodic
  memory kept at fit (``memory_size`` samples of the old training data);
  "GEM (grad only)" is ``constrain_step=False`` (textbook GEM under Adam);
- "/SGD": the same, with the estimator's Adam swapped for plain SGD after fit.

Every setting starts from a copy of the same zero-shot model; FT, GEM and
A-GEM run ``--ft-epochs`` epochs, JT ``--jt-epochs`` (its set is ~100 times
larger). The base model trains without a validation split for ``--epochs``.

Reported on a held-out test split: the new emotion's AUC and weighted accuracy
(zero-shot, then after each method) and the change of the old emotions' mean
AUC (forgetting), mean and standard deviation over seeds and held-out emotions.

Run: ``python benchmarks/continual.py`` (``--quick`` for a smaller run).

``--dataset meld``: the same question on real text, MELD transcripts
(``../shared/datasets/meld-text``; the script says so and stops when absent),
text only, each utterance the GloVe 6B 50d vectors of its first 24 tokens
(``continual_meld.py``). Every non-neutral emotion is held out in turn: its
training positives are dropped, the model is fitted 8 epochs on the six
others (``validation_fraction=0``, ``memory_size=256``), the seventh is added
with ``add_emotions``, and for 1, 5, 10 and 20% of its training positives two
few-shot sets are drawn: *balanced* (as many negatives, ``few_shot_split``)
and *realistic* (``--neg-ratio`` = 3 negatives per positive, the balanced
ones among them, uniformly from the other training utterances, all with their
labels). FT and GEM run ``--ft-epochs`` (4) epochs on each set, A-GEM on the
realistic one, JT one epoch on the old training data plus the positives, all
with batches of ``--ft-batch-size`` (128). Candidate few-shot steps
(``skmemo._few_shot``) are further ``--methods``. Base models are cached per
(emotion, seed) with ``--cache``; ``--jobs`` runs (emotion, seed) pairs in
parallel processes, seed by seed; ``--out`` also writes a JSON-lines file as
pairs finish, which ``--records`` reads back. ``--quick``: surprise and
anger, seed 0, 1 and 5%, a base fit of 1 epoch, on the first 1500 utterances
of each split (``--subset``).
"""

import copy
import time
from pathlib import Path

import numpy as np
import torch
from _common import EMOTIONS, MELD_DATA, Timer, evaluate, have_files, make_parser, synthetic_split

from skmemo import MultimodalEmotionClassifier
from skmemo.continual import few_shot_split, joint_training_set


def scores(clf, X, Y, new):
    """(new emotion's AUC, its W-Acc, mean AUC of the others); new=None: no new one."""
    if new is None:
        return np.nan, np.nan, evaluate(clf, X, Y)["mean_auc"]
    s = evaluate(clf, X, Y, new=new)
    return s["new_auc"], s["new_wacc"], s["old_auc"]


def run_one(args, seed, held_out):
    X_tr, X_te, Y_tr, Y_te = synthetic_split(args.n_samples, seq_len=args.seq_len, seed=seed)
    order = [k for k in range(6) if k != held_out] + [held_out]  # new emotion last
    Y_tr, Y_te = Y_tr[:, order], Y_te[:, order]
    names = [EMOTIONS[k] for k in order]
    keep = np.flatnonzero(Y_tr[:, 5] == 0)
    few, _ = few_shot_split(Y_tr, 5, args.fraction, random_state=seed,
                            min_positives=args.min_positives)

    base = MultimodalEmotionClassifier(
        names[:5], max_epochs=args.epochs, batch_size=args.batch_size,
        validation_fraction=0, hidden_sizes={"audio": 32, "visual": 32},
        memory_size=args.memory_size, random_state=seed, device="cpu")
    with Timer() as t:
        base.fit(X_tr[keep], Y_tr[keep][:, :5])
    fit_s = t.wall
    before = scores(base, X_te, Y_te[:, :5], None)[2]
    base.add_emotions([names[5]])
    zero = scores(base, X_te, Y_te, 5)
    rows = {"zero-shot": (*zero, zero[2] - before)}
    seconds = {}
    stats = {}
    for method in args.methods:
        clf = copy.deepcopy(base)
        if method.endswith("/SGD"):  # the same estimator, its optimizer swapped for SGD
            clf.optimizer = torch.optim.SGD
            clf.set_params(lr=args.sgd_lr)
            clf.initialize_optimizer()
        with Timer() as t:
            if method.startswith("FT"):
                clf.partial_fit(X_tr[few], Y_tr[few], epochs=args.ft_epochs)
            elif method == "JT":
                Xj, Yj = joint_training_set(X_tr[keep], Y_tr[keep][:, :5], X_tr[few],
                                            Y_tr[few])
                clf.partial_fit(Xj, Yj, epochs=args.jt_epochs)
            else:
                clf.partial_fit_gem(X_tr[few], Y_tr[few], epochs=args.ft_epochs,
                                    margin=args.margin,
                                    method="agem" if "A-" in method else "gem",
                                    constrain_step="grad only" not in method)
                stats[method] = clf.gem_stats_["projection_share"]
        seconds[method] = t.wall
        res = scores(clf, X_te, Y_te, 5)
        rows[method] = (*res, res[2] - before)
    return rows, len(few), before, fit_s, seconds, stats


SYNTHETIC_DEFAULTS = {
    "epochs": 12, "ft_epochs": 20, "jt_epochs": 3, "held_out": ["surprise"],
    "methods": ["FT", "JT", "GEM", "GEM (grad only)", "A-GEM", "FT/SGD", "GEM/SGD",
                "A-GEM/SGD"]}
MELD_DEFAULTS = {
    "epochs": 8, "ft_epochs": 4, "jt_epochs": 1,
    "held_out": ["joy", "surprise", "anger", "sadness", "disgust", "fear"],
    "methods": ["FT", "GEM", "A-GEM", "JT"]}
SYNTHETIC_QUICK = {"n_samples": 1500, "seq_len": 8, "epochs": 8, "seeds": [0]}
MELD_QUICK = {"held_out": ["surprise", "anger"], "seeds": [0], "fractions": [1, 5],
              "epochs": 1, "subset": 1500}


def main(argv=None):
    p = make_parser(__doc__, quick=lambda args: (
        MELD_QUICK if args.dataset == "meld" else SYNTHETIC_QUICK))
    p.add_argument("--dataset", choices=["synthetic", "meld"], default="synthetic",
                   help="the embedded synthetic data, or MELD transcripts (real text)")
    p.add_argument("--n-samples", type=int, default=3000)
    p.add_argument("--seq-len", type=int, default=None,
                   help="time steps (synthetic 12, MELD 24 tokens)")
    p.add_argument("--epochs", type=int, default=None, help="epochs of the base fit")
    p.add_argument("--ft-epochs", type=int, default=None)
    p.add_argument("--jt-epochs", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--ft-batch-size", type=int, default=128,
                   help="MELD only: batch size of the few-shot step and of JT")
    p.add_argument("--fraction", type=float, default=0.01, help="synthetic only")
    p.add_argument("--fractions", type=float, nargs="+", default=[1, 5, 10, 20],
                   help="MELD only: few-shot fractions of the positives, in percent")
    p.add_argument("--neg-ratio", type=int, default=3,
                   help="MELD only: negatives per positive in the realistic few-shot set")
    p.add_argument("--min-positives", type=int, default=1)
    p.add_argument("--memory-size", type=int, default=256)
    p.add_argument("--margin", type=float, default=0.5)
    p.add_argument("--held-out", nargs="+", default=None)
    p.add_argument("--sgd-lr", type=float, default=0.2)
    p.add_argument("--methods", nargs="+", default=None)
    p.add_argument("--jobs", type=int, default=1,
                   help="MELD only: processes, one (held-out emotion, seed) each")
    p.add_argument("--cache", default=None,
                   help="MELD only: folder for pickled base models, reused across runs")
    p.add_argument("--data", default=MELD_DATA, help="MELD only: the meld-text folder")
    p.add_argument("--subset", type=int, default=None,
                   help="MELD only: the first SUBSET utterances of each split "
                        "(default: all)")
    p.add_argument("--token-cache", default=None,
                   help="MELD only: .npz of token indices, written once, then read "
                        "instead of the CSV files")
    p.add_argument("--text-features", choices=["glove", "minilm"], default="glove",
                   help="MELD only: GloVe token sequences or pooled MiniLM embeddings "
                        "(see continual_meld.load_meld_minilm)")
    p.add_argument("--verbose", action="store_true",
                   help="MELD only: print every few-shot run's figures")
    p.add_argument("--plot", default=None,
                   help="MELD only: save the AUC-against-positives figure here (PNG)")
    p.add_argument("--plot-methods", nargs="+", default=None,
                   help="MELD only: methods in the figure (default: all run)")
    p.add_argument("--records", default=None,
                   help="MELD only: report (and plot) the records of an earlier --out "
                        "file instead of running")
    p.add_argument("--out", default=None, help="MELD only: write the records as JSON")
    args = p.parse_args(argv)
    defaults = MELD_DEFAULTS if args.dataset == "meld" else SYNTHETIC_DEFAULTS
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.dataset == "meld":
        return main_meld(args)
    if args.seq_len is None:
        args.seq_len = 12

    results, extra = {}, []
    for held in args.held_out:
        for seed in args.seeds:
            rows, n_few, before, fit_s, secs, stats = run_one(args, seed, EMOTIONS.index(held))
            extra.append((held, seed, n_few, before, fit_s, secs, stats))
            for name, r in rows.items():
                results.setdefault(name, []).append(r)
            print(f"{held:<9} seed {seed}: few-shot set {n_few} samples, old AUC before "
                  f"{before:.3f}, base fit {fit_s:.1f} s; "
                  + ", ".join(f"{m} {s:.1f} s" for m, s in secs.items())
                  + "".join(f", {m} projection {100 * v:.1f}% of step" for m, v in stats.items()),
                  flush=True)
            for name, r in rows.items():
                print(f"    {name:<16} new AUC {r[0]:.3f} W-Acc {r[1]:.3f} old AUC {r[2]:.3f} "
                      f"change {r[3]:+.4f}", flush=True)

    n = len(args.seeds) * len(args.held_out)
    print(f"\nmean ± std over {n} run(s) (seeds {args.seeds}, held out {args.held_out})")
    print("| setting | new AUC | new W-Acc | old mean AUC | old AUC change (forgetting) |")
    print("|---|---|---|---|---|")
    for name, rs in results.items():
        a = np.asarray(rs)
        m, s = a.mean(0), a.std(0)
        print(f"| {name} | {m[0]:.3f} ± {s[0]:.3f} | {m[1]:.3f} ± {s[1]:.3f} | "
              f"{m[2]:.3f} ± {s[2]:.3f} | {m[3]:+.4f} ± {s[3]:.4f} |")
    shares = [v for e in extra for v in e[6].values()]
    for method in [m for m in args.methods if "GEM" in m]:
        v = [e[6][method] for e in extra]
        print(f"{method}: projection share of step time {100 * np.mean(v):.1f}% "
              f"(max {100 * np.max(v):.1f}%)")
    return results, shares




def main_meld(args):
    """``--dataset meld``: see the module docstring of ``continual_meld``."""
    import json

    import continual_meld

    if args.seq_len is None:
        args.seq_len = 24
    unknown = sorted(set(args.methods) - set(continual_meld.METHODS))
    if unknown:
        raise SystemExit(f"unknown methods {unknown}; known: {sorted(continual_meld.METHODS)}")
    start = time.perf_counter()
    if args.records:
        with open(args.records) as f:  # --out's JSON, or its JSON-lines companion
            text = f.read()
        records = (json.loads(text) if text.lstrip().startswith("[")
                   else [json.loads(line) for line in text.splitlines() if line.strip()])
        args.methods = [m for m in args.methods
                        if any(r["method"] == m for r in records)]
    else:
        tokens = (args.token_cache and args.text_features == "glove"
                  and Path(args.token_cache).is_file())  # read instead of the CSV files
        if not tokens and not have_files(args.data, continual_meld.SPLITS.values(),
                                         "MELD transcript"):
            return None
        records = continual_meld.run(args)
    continual_meld.report(records, args)
    if args.plot:
        continual_meld.plot(records, args.plot, args.plot_methods or args.methods,
                            labels={"GEM emb": "GEM, encoders fixed, new embedding trained"})
    print(f"\ntotal {time.perf_counter() - start:.0f} s with {args.jobs} process(es), "
          f"{args.threads} torch thread(s) each")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(records, f)
    return records

if __name__ == "__main__":
    main()
