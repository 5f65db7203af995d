"""Raw-input benchmarks: CMU-MOSI from transcripts, and feature-extraction speed.

``mosi``: binary sentiment of the 2,199 CMU-MOSI utterances from their raw
transcripts (``transcripts.csv``: id, text, video, label), 5 folds grouped by
video (``GroupKFold``: no speaker's video is on both sides). Compared, on the
same folds:

- TF-IDF (1-2 grams, sublinear tf) + LogisticRegression;
- ``WordVectorizer`` (bundled GloVe 6B 50d) + ``MultimodalEmotionClassifier``
  with the two "emotions" ``["positive", "negative"]`` (``y = [label, 1 -
  label]``, decision: the larger of the two probabilities).

The shipped CNN text features cannot join these folds: their rows are not tied
to videos or transcripts (see the data README). They are scored on their own
speaker-independent split (1447 / 752) with LogisticRegression, as a reference
line; ``benchmarks/mosi.py`` gives skmemo's figure on them.

``speed``: text utterances per second (``WordVectorizer.transform`` on the MELD
training transcripts, or on generated sentences without MELD), audio real-time
factor (``AudioFeaturizer`` seconds of computing per second of audio, 16 kHz,
with and without pitch), OpenFace CSV frames read per second.

Run (1 thread)::

    OMP_NUM_THREADS=1 python benchmarks/feature_extraction.py mosi --seeds 0 1
    OMP_NUM_THREADS=1 python benchmarks/feature_extraction.py speed
    OMP_NUM_THREADS=1 python benchmarks/feature_extraction.py mosi --quick   # seed 0, 2 epochs
"""

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import MELD_DATA, MOSI_DATA, Timer, have_files, make_parser
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

from skmemo import MultimodalEmotionClassifier
from skmemo.feature_extraction import AudioFeaturizer, FaceFeatureReader, WordVectorizer
from skmemo.vectors import load_default_vectors

MOSI, MELD = MOSI_DATA, MELD_DATA


def mosi(args):
    import pandas as pd
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if not have_files(args.mosi, ["transcripts.csv"], "CMU-MOSI transcript",
                      option="--mosi"):
        return 0
    table = pd.read_csv(args.mosi / "transcripts.csv", header=None,
                        names=["id", "text", "video", "label"])
    texts, y, groups = table["text"].tolist(), table["label"].to_numpy(), table["video"]
    print(f"{len(texts)} utterances, {groups.nunique()} videos, {y.mean():.1%} positive")
    scores = {"TF-IDF + LR": [], "skmemo (WordVectorizer)": []}
    folds = list(GroupKFold(n_splits=5).split(texts, y, groups))
    vec = WordVectorizer(max_len=40, empty="zero").fit(texts)
    X = vec.transform(texts)
    Y = np.c_[y, 1 - y]
    t_tfidf = t_skmemo = 0.0
    for i, (tr, te) in enumerate(folds):
        t0 = time.perf_counter()
        tfidf = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                              LogisticRegression(max_iter=2000))
        tfidf.fit([texts[j] for j in tr], y[tr])
        p = tfidf.predict_proba([texts[j] for j in te])[:, 1]
        scores["TF-IDF + LR"].append(_scores(y[te], p, p > 0.5))
        t_tfidf += time.perf_counter() - t0
        for seed in args.seeds:
            t0 = time.perf_counter()
            clf = MultimodalEmotionClassifier(
                ["positive", "negative"], max_epochs=args.epochs, random_state=seed,
                device="cpu", early_stopping_patience=5)
            clf.fit(X[tr], Y[tr])
            proba = clf.predict_proba(X[te])
            scores["skmemo (WordVectorizer)"].append(
                _scores(y[te], proba[:, 0] - proba[:, 1], proba[:, 0] > proba[:, 1]))
            t_skmemo += time.perf_counter() - t0
        last = scores["skmemo (WordVectorizer)"][-len(args.seeds):]
        print(f"  fold {i}: TF-IDF acc {scores['TF-IDF + LR'][-1][0]:.3f}, skmemo acc "
              f"{np.mean([s[0] for s in last]):.3f}", flush=True)
    print(f"\nCMU-MOSI from raw transcripts, 5 folds grouped by video "
          f"(skmemo seeds {args.seeds}); mean ± sd over folds (x seeds)")
    print(f"{'model':26s} {'acc':>13s} {'W-F1':>13s} {'AUC':>13s}")
    for name, rows in scores.items():
        rows = np.array(rows)
        print(f"{name:26s} " + " ".join(f"{rows[:, j].mean():.3f} ± {rows[:, j].std():.3f}"
                                        for j in range(3)))
    print(f"time: TF-IDF {t_tfidf:.0f} s, skmemo {t_skmemo:.0f} s in all")

    split = {}
    for name in ("train", "test"):
        arr = pd.read_csv(args.mosi / f"text_text_{name}0.csv", header=None).to_numpy()
        split[name] = arr[:, :-1], arr[:, -1].astype(int)
    lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    lr.fit(*split["train"])
    p = lr.predict_proba(split["test"][0])[:, 1]
    acc, wf1, auc = _scores(split["test"][1], p, p > 0.5)
    print(f"\nshipped CNN text features + LR, their split (1447 / 752): acc {acc:.3f}, "
          f"W-F1 {wf1:.3f}, AUC {auc:.3f}")
    return 0


def _scores(y, score, pred):
    return (accuracy_score(y, pred), f1_score(y, pred, average="weighted"),
            roc_auc_score(y, score))


def speed(args):
    import pandas as pd

    rng = np.random.default_rng(0)
    load_default_vectors()
    if (MELD / "train_sent_emo.csv").is_file():
        texts = pd.read_csv(MELD / "train_sent_emo.csv", encoding="utf-8",
                            encoding_errors="replace")["Utterance"].tolist()
        source = "MELD train transcripts"
    else:
        words = load_default_vectors().words[:5000]
        texts = [" ".join(rng.choice(words, rng.integers(3, 25))) for _ in range(10000)]
        source = "generated sentences"
    vec = WordVectorizer(max_len=50, empty="zero").fit(texts)
    best = min(_time(lambda: vec.transform(texts)) for _ in range(3))
    print(f"text: {len(texts) / best:,.0f} utterances/s ({len(texts)} {source}, "
          f"{best:.2f} s; best of 3)")

    sr, seconds = 16000, 3.0
    t = np.arange(int(sr * seconds)) / sr
    waves = [(0.3 * np.sin(2 * np.pi * f0 * t) + rng.normal(0, 0.02, t.size)).astype(
        np.float32) for f0 in rng.uniform(100, 300, args.n_audio)]
    duration = args.n_audio * seconds
    for features in [("logmel", "mfcc", "energy", "pitch"), ("logmel", "mfcc", "energy")]:
        fz = AudioFeaturizer(features=features).fit(waves[:1])
        fz.transform(waves[:1])  # warm-up (numba compilation of pyin)
        best = min(_time(lambda fz=fz: fz.transform(waves)) for _ in range(2))
        print(f"audio {'+'.join(features)}: real-time factor {best / duration:.4f} "
              f"({duration:.0f} s of 16 kHz audio in {best:.2f} s; best of 2)")

    n_frames = 3000
    cols = (["frame", "face_id", "timestamp", "confidence", "success"]
            + [f"AU{k:02d}_r" for k in range(1, 18)] + [f"AU{k:02d}_c" for k in range(1, 19)]
            + [f"gaze_angle_{a}" for a in "xy"] + [f"pose_{a}" for a in
                                                   ("Tx", "Ty", "Tz", "Rx", "Ry", "Rz")])
    data = rng.random((n_frames, len(cols)))
    data[:, 0] = np.arange(n_frames) + 1
    data[:, 1] = 0  # one face
    data[:, 2] = np.arange(n_frames) / 30  # 30 frames per second
    data[:, 3] = rng.uniform(0.4, 1.0, n_frames)  # some frames below min_confidence
    data[:, 4] = 1
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "openface.csv"
        pd.DataFrame(data, columns=cols).to_csv(path, index=False, sep=",")
        path.write_text(path.read_text().replace(",", ", ", len(cols) - 1))
        reader = FaceFeatureReader().fit([path])
        best = min(_time(lambda: reader.transform([path] * 10)) for _ in range(3))
        print(f"visual: {10 * n_frames / best:,.0f} OpenFace frames/s "
              f"({len(cols)} columns; best of 3)")
    return 0


def _time(fn):
    with Timer() as t:
        fn()
    return t.wall


def main(argv=None):
    parser = make_parser(__doc__, seeds=(0, 1), threads=None, quick={
        "seeds": [0], "epochs": 2, "n_audio": 2})
    parser.add_argument("task", choices=["mosi", "speed"])
    parser.add_argument("--mosi", type=Path, default=MOSI)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--n-audio", type=int, default=10)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    return {"mosi": mosi, "speed": speed}[args.task](args)


if __name__ == "__main__":
    sys.exit(main())
