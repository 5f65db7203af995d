"""Per-emotion quality of the default model on the embedded data.

Trains ``MultimodalEmotionClassifier`` with its defaults on
``make_emotion_dataset`` (six emotions) for several seeds and prints
per-emotion weighted accuracy and AUC on a held-out test split (mean and
standard deviation over seeds). ``--hidden`` compares audio/visual hidden
sizes, the measurement behind the default.

    python benchmarks/quality.py
    python benchmarks/quality.py --hidden 32 64 128
    python benchmarks/quality.py --quick      # 600 samples, 2 epochs, seed 0
"""

import numpy as np
from _common import Timer, evaluate, make_parser, synthetic_split

from skmemo import MultimodalEmotionClassifier
from skmemo.datasets import DEFAULT_EMOTIONS


def run(seed, hidden=None, n_samples=3000, max_epochs=None):
    Xtr, Xte, Ytr, Yte = synthetic_split(n_samples, seq_len=20, seed=seed)
    params = {} if hidden is None else {"hidden_sizes": {"audio": hidden, "visual": hidden}}
    if max_epochs is not None:
        params["max_epochs"] = max_epochs
    clf = MultimodalEmotionClassifier(list(DEFAULT_EMOTIONS), random_state=seed, **params)
    with Timer() as t:
        clf.fit(Xtr, Ytr)
    scores = evaluate(clf, Xte, Yte)
    return scores["wacc"], scores["auc"], t.wall, len(clf.history)


def main(argv=None):
    parser = make_parser(__doc__, threads=2, quick={
        "seeds": [0], "n_samples": 600, "max_epochs": 2})
    parser.add_argument("--hidden", type=int, nargs="*", default=None)
    parser.add_argument("--n-samples", type=int, default=3000)
    parser.add_argument("--max-epochs", type=int, default=None,
                        help="default: the estimator's own")
    args = parser.parse_args(argv)

    def fit(seed, hidden=None):
        return run(seed, hidden, args.n_samples, args.max_epochs)

    if args.hidden:
        print("| audio/visual hidden | mean W-Acc | mean AUC | fit s/epoch |")
        print("|---|---|---|---|")
        tables = []
        for h in args.hidden:
            res = [fit(s, h) for s in args.seeds]
            tables.append((h, res))
            w = [r[0].mean() for r in res]
            a = [r[1].mean() for r in res]
            spe = np.mean([r[2] / r[3] for r in res])
            print(f"| {h} | {np.mean(w):.3f} ± {np.std(w):.3f} | "
                  f"{np.mean(a):.3f} ± {np.std(a):.3f} | {spe:.2f} |", flush=True)
        for h, res in tables:
            print(f"\naudio/visual hidden size {h}:")
            per_emotion_table(res, args.seeds)
        return
    per_emotion_table([fit(s) for s in args.seeds], args.seeds)


def per_emotion_table(res, seeds):
    wacc = np.array([r[0] for r in res])
    auc = np.array([r[1] for r in res])
    print(f"seeds {seeds}; epochs run {[r[3] for r in res]}")
    print("| emotion | W-Acc | AUC |")
    print("|---|---|---|")
    for k, e in enumerate(DEFAULT_EMOTIONS):
        print(f"| {e} | {wacc[:, k].mean():.3f} ± {wacc[:, k].std():.3f} | "
              f"{auc[:, k].mean():.3f} ± {auc[:, k].std():.3f} |")
    print(f"| average | {wacc.mean(1).mean():.3f} ± {wacc.mean(1).std():.3f} | "
          f"{auc.mean(1).mean():.3f} ± {auc.mean(1).std():.3f} |")


if __name__ == "__main__":
    main()
