"""Contrastive pre-training on unlabelled inputs, then training with 5% of the labels.

Labels are expensive; inputs are cheap. Here only 5% of the training samples
keep their labels. The rest of the training inputs, without labels, are used to
pre-train the three encoders with the modality-pairwise contrastive loss
(``pretrain_epochs``, ``pretrain_X``): the text, audio and visual views of the
same sample are pulled together, the other samples of the batch pushed apart.
Three estimators are compared on the same test split:

- no pre-training (the paper's model, supervised only);
- pre-training, then supervised training of the whole model;
- pre-training, then a linear probe (``freeze_encoders=True``): only the
  emotion mappings, text projection and fusion weights are trained.

The test inputs are never seen before scoring: pre-training uses the
estimator's training inputs plus ``pretrain_X`` only.

Usage::

    python examples/pretraining.py          # about two minutes on 2 CPU cores
    SKMEMO_QUICK=1 python examples/pretraining.py   # a few seconds (smoke test)
"""

# %%
import os
import time

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from skmemo import MultimodalEmotionClassifier
from skmemo.datasets import make_emotion_dataset
from skmemo.metrics import emotion_roc_auc_score, weighted_accuracy_score

torch.set_num_threads(1)
QUICK = os.environ.get("SKMEMO_QUICK", "") not in ("", "0")
EMOTIONS = ["anger", "disgust", "fear", "happy", "sad", "surprise"]
N_SAMPLES, SEQ_LEN, PRETRAIN_EPOCHS, STEPS = (300, 6, 2, 10) if QUICK else (1500, 12, 10, 100)
LABELLED = 0.05

# %%
# Data: synthetic, three modalities; a quarter is the test split.
X, Y = make_emotion_dataset(N_SAMPLES, emotions=EMOTIONS, seq_len=SEQ_LEN, random_state=0)
X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.25, random_state=0)

# %%
# Keep the labels of 5% of the training samples, drawn until every emotion has
# at least one positive and one negative among them; the other training inputs
# become unlabelled pre-training data.
rng = np.random.RandomState(0)
n_labelled = max(2, round(LABELLED * len(Y_train)))
while True:
    order = rng.permutation(len(Y_train))
    labelled, unlabelled = np.sort(order[:n_labelled]), np.sort(order[n_labelled:])
    positives = Y_train[labelled].sum(axis=0)
    if np.all(positives > 0) and np.all(positives < n_labelled):
        break
print(f"{n_labelled} labelled training samples (positives per emotion: "
      f"{dict(zip(EMOTIONS, positives.tolist()))}), {len(unlabelled)} unlabelled, "
      f"{len(Y_test)} test")

# %%
# Three estimators; no validation split (5% of the labels cannot spare one),
# the same number of optimiser steps for each (one batch per epoch here).
common = dict(hidden_sizes={"audio": 32, "visual": 32}, validation_fraction=0.0,
              max_epochs=STEPS, batch_size=64, random_state=0)
pretraining = dict(pretrain_epochs=PRETRAIN_EPOCHS, pretrain_X=X_train[unlabelled])
estimators = {
    "no pre-training": MultimodalEmotionClassifier(EMOTIONS, **common),
    "pre-trained": MultimodalEmotionClassifier(EMOTIONS, **common, **pretraining),
    "pre-trained, linear probe": MultimodalEmotionClassifier(
        EMOTIONS, **common, **pretraining, freeze_encoders=True),
}

# %%
rows = []
for name, clf in estimators.items():
    start = time.perf_counter()
    clf.fit(X_train[labelled], Y_train[labelled])
    seconds = time.perf_counter() - start
    proba = clf.predict_proba(X_test)
    wacc = weighted_accuracy_score(Y_test, clf.predict(X_test))
    auc = emotion_roc_auc_score(Y_test, proba)
    rows.append((name, wacc, auc, seconds))
    if hasattr(clf, "pretrain_history_"):
        losses = clf.pretrain_history_
        print(f"{name}: contrastive loss {losses[0]:.3f} -> {losses[-1]:.3f} "
              f"over {len(losses)} pre-training epochs")

# %%
# The table: mean weighted accuracy and AUC over the six emotions, test split.
print(f"\n{'':28s} {'W-Acc':>6s} {'AUC':>6s} {'fit s':>6s}")
for name, wacc, auc, seconds in rows:
    print(f"{name:28s} {wacc:6.3f} {auc:6.3f} {seconds:6.1f}")
