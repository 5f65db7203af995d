"""From MELD transcripts to zero-shot emotions with a sentence encoder.

MELD (Poria et al., 2019) labels utterances of the TV series *Friends* with
one of seven emotions. Here:

1. ``TextEncoder(output="pooled")`` turns every raw utterance into one
   all-MiniLM-L6-v2 sentence embedding (needs the ``text`` extra:
   ``pip install -e ".[text]"``);
2. the estimator gets the same encoder as ``word_vectors``, so the emotion
   names are embedded by the same model, in the same space;
3. it is fitted on every emotion but *surprise* (surprised utterances are
   left out of training), then ``add_emotions`` adds *surprise* and a phrase
   no word-vector table holds, *completely taken aback*, from their names
   alone; their ROC AUC on the test split is printed beside the
   training-free cosine between utterance and emotion name.

The transcripts are read from ``../shared/datasets/meld-text`` relative to the
repository root (or the folder given as first argument); without them the
example says so and stops.

Run ``python examples/meld_text_encoder.py`` (``SKMEMO_QUICK=1`` for a smoke
run on a few hundred utterances).
"""

import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from skmemo import MultimodalEmotionClassifier
from skmemo.feature_extraction import TextEncoder

QUICK = os.environ.get("SKMEMO_QUICK") == "1"
DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "meld-text"
EMOTIONS = ["neutral", "joy", "anger", "sadness", "disgust", "fear"]  # surprise held out
NEW = ["surprise", "completely taken aback"]


def read(folder, split, n):
    frame = pd.read_csv(folder / f"{split}_sent_emo.csv")
    if n:
        frame = frame.sample(n, random_state=0)
    texts = frame["Utterance"].str.replace("\u2019", "'").str.replace("\x92", "'")
    return texts, frame["Emotion"].to_numpy()


def main(folder):
    if not (folder / "train_sent_emo.csv").is_file():
        print(f"MELD transcripts not found in {folder}; give their folder as argument")
        return
    train, y_train = read(folder, "train", 400 if QUICK else None)
    test, y_test = read(folder, "test", 200 if QUICK else None)
    keep = y_train != "surprise"  # the model never sees a surprised utterance
    Y = (y_train[keep, None] == np.array(EMOTIONS)[None]).astype(int)

    encoder = TextEncoder(output="pooled")  # device="auto": the GPU when there is one
    start = time.perf_counter()
    X_train = encoder.fit_transform(train[keep])  # a pandas Series of raw strings
    X_test = encoder.transform(test)
    print(f"encoded {keep.sum() + len(test)} utterances in "
          f"{time.perf_counter() - start:.1f} s: text {X_test['text'].shape[1:]}")

    clf = MultimodalEmotionClassifier(
        emotions=EMOTIONS, word_vectors=encoder, max_epochs=3 if QUICK else 10,
        random_state=0)
    start = time.perf_counter()
    clf.fit(X_train, Y)
    print(f"trained on {keep.sum()} utterances without surprise in "
          f"{time.perf_counter() - start:.1f} s")

    clf.add_emotions(NEW)
    proba = clf.predict_proba(X_test)
    U = X_test["text"][:, 0]
    E = encoder.embed_emotions(EMOTIONS + NEW)
    cosine = U @ E.T
    cosine = cosine - cosine.mean(axis=1, keepdims=True)  # calibrated across emotions
    positive = y_test == "surprise"
    print(f"zero-shot AUC on {len(test)} test utterances ({positive.sum()} surprised):")
    print(f"{'emotion':<24}{'model':>8}{'cosine':>8}")
    for k, name in enumerate(NEW, start=len(EMOTIONS)):
        print(f"{name:<24}{roc_auc_score(positive, proba[:, k]):>8.3f}"
              f"{roc_auc_score(positive, cosine[:, k]):>8.3f}")
    top = pd.Series(proba[:, -2], index=test.to_numpy()).sort_values(ascending=False)
    print("most surprised test utterances:")
    for text, p in top.head(3).items():
        print(f"  {p:.3f}  {text[:60]}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DATA)
