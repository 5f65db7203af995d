"""Does length-aware batching change what the model learns?

Trains the default estimator with shuffled batches and with
``bucket_by_length=True`` (pools of ``P`` batches sorted by length, batches in
random order) on three data sets, several seeds each, and prints test quality
and fit time side by side:

- ``synthetic``: ``make_emotion_dataset(3000, seq_len=20)`` (six emotions,
  lengths skewed short as in CMU-MOSEI), 70/30 split;
- ``meld``: MELD transcripts (``../shared/datasets/meld-text``), text only:
  each utterance becomes a sequence of bundled GloVe-50d vectors through the
  small tokeniser below (lower case, words and punctuation, unknown tokens
  dropped, at most 50 tokens, zero padding in front); seven emotions, one per
  utterance; the published train / test split;
- ``mosi``: CMU-MOSI utterance features (``../shared/datasets/cmu-mosi-utterance``,
  see ``benchmarks/mosi.py``), all three modalities, binary sentiment. Every
  sample has one step, so the batching only changes the random draws: it
  shows the seed-to-seed spread of that data set.

Per seed the shuffled and the bucketed fits share the data, split and
initialisation; the table gives the mean and standard deviation over seeds of
the mean AUC and W-Acc over emotions, and of the paired difference
(bucketed - shuffled).

    python benchmarks/batching_quality.py --datasets synthetic meld mosi --pools 0 50
    python benchmarks/batching_quality.py --quick   # seed 0, 2 epochs (MELD 1)
"""

import re
import time

import numpy as np
import torch
from _common import MELD_DATA, MOSI_DATA, Timer, evaluate, make_parser, synthetic_split

from skmemo import MultimodalData, MultimodalEmotionClassifier

MELD = MELD_DATA
MELD_EMOTIONS = ["neutral", "joy", "surprise", "anger", "sadness", "disgust", "fear"]
TOKEN = re.compile(r"[a-z]+|[0-9]+|[^\sa-z0-9]")


def pooled(pool_batches):
    """The estimator with training pools of ``pool_batches`` batches."""
    return type(f"Pool{pool_batches}", (MultimodalEmotionClassifier,),
                {"_bucket_pool_batches": pool_batches})


def synthetic(seed):
    from skmemo.datasets import DEFAULT_EMOTIONS

    Xtr, Xte, Ytr, Yte = synthetic_split(3000, seq_len=20, seed=seed)
    return list(DEFAULT_EMOTIONS), Xtr, Ytr, Xte, Yte, {}


def _meld_split(name, vectors, max_len=50):
    import pandas as pd

    table = pd.read_csv(MELD / f"{name}_sent_emo.csv", encoding="utf-8",
                        encoding_errors="replace")
    x = np.zeros((len(table), max_len, vectors.dim), dtype=np.float32)
    for i, text in enumerate(table["Utterance"]):
        text = str(text).replace("\x92", "'").replace("\u2019", "'").lower()
        rows = [vectors[t] for t in TOKEN.findall(text) if t in vectors][:max_len]
        if rows:
            x[i, max_len - len(rows):] = rows
    y = (table["Emotion"].to_numpy()[:, None] == np.array(MELD_EMOTIONS)[None, :])
    return MultimodalData(text=x), y.astype(np.float32)


_CACHE = {}


def meld(seed):
    if "meld" not in _CACHE:
        from skmemo.vectors import load_default_vectors

        glove = load_default_vectors()
        _CACHE["meld"] = _meld_split("train", glove) + _meld_split("test", glove)
    Xtr, Ytr, Xte, Yte = _CACHE["meld"]
    return MELD_EMOTIONS, Xtr, Ytr, Xte, Yte, {}


def mosi(seed):
    from mosi import load_mosi, standardise

    if "mosi" not in _CACHE:
        _CACHE["mosi"] = standardise(load_mosi(MOSI_DATA.resolve()))
    Xtr, ytr, Xte, yte = _CACHE["mosi"]
    Ytr = np.stack([ytr, 1 - ytr], axis=1).astype(np.float32)
    Yte = np.stack([yte, 1 - yte], axis=1).astype(np.float32)
    return (["positive", "negative"], MultimodalData(**Xtr), Ytr, MultimodalData(**Xte),
            Yte, {"hidden_sizes": {"text": 100, "audio": 64, "visual": 64}})


DATASETS = {"synthetic": synthetic, "meld": meld, "mosi": mosi}
AVAILABLE = {"synthetic": lambda: True, "meld": lambda: MELD.is_dir(),
             "mosi": lambda: MOSI_DATA.is_dir()}


def fit_score(name, seed, pool, max_epochs):
    emotions, Xtr, Ytr, Xte, Yte, params = DATASETS[name](seed)
    cls = MultimodalEmotionClassifier if pool == 0 else pooled(pool)
    clf = cls(emotions, bucket_by_length=pool > 0, random_state=seed,
              max_epochs=max_epochs, device="cpu", **params)
    with Timer() as t:
        clf.fit(Xtr, Ytr)
    scores = evaluate(clf, Xte, Yte)
    return {"AUC": scores["mean_auc"], "W-Acc": scores["mean_wacc"], "s": t.wall,
            "epochs": len(clf.history_)}


def main(argv=None):
    parser = make_parser(__doc__, quick={"seeds": [0], "max_epochs": 2, "meld_max_epochs": 1})
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS),
                        choices=list(DATASETS))
    parser.add_argument("--pools", type=int, nargs="+", default=[0, 50],
                        help="batches per sorted pool; 0 = shuffled batches")
    parser.add_argument("--max-epochs", type=int, default=30)
    parser.add_argument("--meld-max-epochs", type=int, default=10)
    args = parser.parse_args(argv)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
          f"{time.strftime('%Y-%m-%d %H:%M')}")
    rows = []
    for name in args.datasets:
        if not AVAILABLE[name]():
            print(f"{name}: data not found, skipped")
            continue
        epochs = args.meld_max_epochs if name == "meld" else args.max_epochs
        res = {}
        for seed in args.seeds:
            for pool in args.pools:  # interleaved: load drift hits every pool alike
                r = fit_score(name, seed, pool, epochs)
                res.setdefault(pool, []).append(r)
                print(f"  {name} seed {seed} pool {pool}: AUC {r['AUC']:.4f} W-Acc "
                      f"{r['W-Acc']:.4f} {r['s']:.1f} s {r['epochs']} epochs", flush=True)
        rows.append((name, res))
    print("\n| data | batching | mean AUC | Δ AUC (paired) | mean W-Acc | Δ W-Acc (paired) "
          "| fit s (mean) | epochs |")
    print("|---|---|---|---|---|---|---|---|")
    for name, res in rows:
        base = res[args.pools[0]]
        for pool, runs in res.items():
            cells = []
            for key in ("AUC", "W-Acc"):
                v = np.array([r[key] for r in runs])
                d = v - np.array([r[key] for r in base])
                cells += [f"{v.mean():.4f} ± {v.std():.4f}",
                          "" if runs is base else f"{d.mean():+.4f} ± {d.std():.4f}"]
            label = "shuffled" if pool == 0 else f"pools of {pool} batches"
            print(f"| {name} | {label} | " + " | ".join(cells)
                  + f" | {np.mean([r['s'] for r in runs]):.1f} | "
                  f"{np.mean([r['epochs'] for r in runs]):.0f} |")


if __name__ == "__main__":
    main()
