"""Quickstart: train skmemo on five emotions and report per-emotion scores.

Uses the embedded synthetic data (features derived from the emotions' word
vectors), trains the paper's model with its defaults, and prints the weighted
accuracy and AUC of every emotion on a held-out test split.

Usage::

    python examples/quickstart.py                   # about half a minute on 2 CPU cores
    SKMEMO_QUICK=1 python examples/quickstart.py    # a few seconds (smoke test)
"""

# %%
import os
import time

import torch
from sklearn.model_selection import train_test_split

from skmemo import MultimodalEmotionClassifier
from skmemo.datasets import make_emotion_dataset
from skmemo.metrics import emotion_roc_auc_score, weighted_accuracy_score

QUICK = os.environ.get("SKMEMO_QUICK", "") not in ("", "0")
torch.set_num_threads(1 if QUICK else 2)
EMOTIONS = ["anger", "fear", "happy", "sad", "surprise"]
N_SAMPLES, SEQ_LEN, MAX_EPOCHS = (300, 6, 2) if QUICK else (2000, 20, 15)

# %%
# Data: three modalities, variable-length sequences zero-padded at the front.
X, Y = make_emotion_dataset(n_samples=N_SAMPLES, emotions=EMOTIONS, seq_len=SEQ_LEN,
                            random_state=0)
X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.25, random_state=0)
print(X_train, "labels", Y_train.shape)

# %%
# Train: per-modality BiLSTMs, emotion word vectors mapped to audio and visual.
start = time.perf_counter()
clf = MultimodalEmotionClassifier(EMOTIONS, max_epochs=MAX_EPOCHS, random_state=0)
clf.fit(X_train, Y_train)
print(f"trained {len(clf.history)} epochs in {time.perf_counter() - start:.1f} s")

# %%
proba = clf.predict_proba(X_test)
wacc = weighted_accuracy_score(Y_test, clf.predict(X_test), average=None)
auc = emotion_roc_auc_score(Y_test, proba, average=None)
print(f"{'emotion':<10} {'W-Acc':>6} {'AUC':>6} {'support':>8}")
for emotion, w, a, s in zip(EMOTIONS, wacc, auc, Y_test.sum(axis=0)):
    print(f"{emotion:<10} {w:6.3f} {a:6.3f} {s:8d}")
print(f"{'average':<10} {wacc.mean():6.3f} {auc.mean():6.3f}")
