"""Per-emotion quality of the default model on the embedded data.

Trains ``MultimodalEmotionClassifier`` with its defaults on
``make_emotion_dataset`` (six emotions) for several seeds and prints
per-emotion weighted accuracy and AUC on a held-out test split (mean and
standard deviation over seeds). ``--hidden`` compares audio/visual hidden
sizes, the measurement behind the default.

    python benchmarks/quality.py
    python benchmarks/quality.py --hidden 32 64 128
"""

import argparse
import time

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from skmemo import MultimodalEmotionClassifier
from skmemo.datasets import DEFAULT_EMOTIONS, make_emotion_dataset
from skmemo.metrics import emotion_roc_auc_score, weighted_accuracy_score


def run(seed, hidden=None, n_samples=3000):
    X, Y = make_emotion_dataset(n_samples, seq_len=20, random_state=seed)
    Xtr, Xte, Ytr, Yte = train_test_split(X, Y, test_size=0.3, random_state=seed)
    params = {} if hidden is None else {"hidden_sizes": {"audio": hidden, "visual": hidden}}
    clf = MultimodalEmotionClassifier(list(DEFAULT_EMOTIONS), random_state=seed, **params)
    start = time.perf_counter()
    clf.fit(Xtr, Ytr)
    seconds = time.perf_counter() - start
    wacc = weighted_accuracy_score(Yte, clf.predict(Xte), average=None)
    auc = emotion_roc_auc_score(Yte, clf.predict_proba(Xte), average=None)
    return wacc, auc, seconds, len(clf.history)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--hidden", type=int, nargs="*", default=None)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    if args.hidden:
        print("| audio/visual hidden | mean W-Acc | mean AUC | fit s/epoch |")
        print("|---|---|---|---|")
        tables = []
        for h in args.hidden:
            res = [run(s, h) for s in args.seeds]
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
    per_emotion_table([run(s) for s in args.seeds], args.seeds)


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
