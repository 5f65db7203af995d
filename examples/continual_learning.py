"""Learn a new emotion from a handful of samples without forgetting the others.

The few-shot protocol of Dai et al. (AACL 2020, section 4.2) on the embedded
synthetic data: train on five emotions (every sample showing *surprise*
removed), add *surprise* zero-shot from its word vector, then learn it from 1%
of its positives plus as many negatives with

- FT: fine-tuning on the few-shot set (``partial_fit``);
- JT: joint training on the old data plus the few-shot set;
- GEM: ``partial_fit_gem``, constrained by the episodic memory kept at fit.

The table shows the new emotion's AUC and weighted accuracy, and the change
of the old emotions' mean AUC (negative = forgetting). A single small run:
see ``benchmarks/continual.py`` for several seeds. ``SKMEMO_QUICK=1 python
examples/continual_learning.py`` shrinks data and epochs to a smoke test of seconds.
"""

# %%
import copy
import os
import warnings

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from skmemo import MultimodalEmotionClassifier
from skmemo.continual import few_shot_split, joint_training_set
from skmemo.datasets import make_emotion_dataset
from skmemo.metrics import emotion_roc_auc_score, weighted_accuracy_score

torch.set_num_threads(1)
QUICK = os.environ.get("SKMEMO_QUICK", "") not in ("", "0")
EMOTIONS = ["anger", "disgust", "fear", "happy", "sad", "surprise"]
# Samples, sequence length, episodic memory size, and the epochs of the base
# fit, of FT and GEM on the few-shot set, and of JT.
if QUICK:
    N_SAMPLES, SEQ_LEN, MEMORY, BASE_EPOCHS, FEW_EPOCHS, JOINT_EPOCHS = 300, 6, 64, 2, 3, 1
else:
    N_SAMPLES, SEQ_LEN, MEMORY, BASE_EPOCHS, FEW_EPOCHS, JOINT_EPOCHS = 2000, 10, 256, 10, 20, 3

# %%
# Data; the sixth column (surprise) is the new emotion.
X, Y = make_emotion_dataset(N_SAMPLES, seq_len=SEQ_LEN, random_state=0)
X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.3, random_state=0)
old = np.flatnonzero(Y_train[:, 5] == 0)  # no sample showing surprise
few, _ = few_shot_split(Y_train, "surprise", 0.01, emotions=EMOTIONS, random_state=0)
print(f"{len(old)} training samples without surprise; few-shot set: {len(few)} samples "
      f"({int(Y_train[few, 5].sum())} positives)")

# %%
# Train on five emotions; fit keeps 256 of these samples (64 in quick mode) as
# episodic memory.
base = MultimodalEmotionClassifier(EMOTIONS[:5], max_epochs=BASE_EPOCHS, validation_fraction=0,
                                   hidden_sizes={"audio": 32, "visual": 32},
                                   memory_size=MEMORY, random_state=0)
base.fit(X_train[old], Y_train[old][:, :5])
base.add_emotions(["surprise"])  # zero-shot
print(base.memory_, f"{base.memory_.nbytes / 1e6:.2f} MB")


def scores(clf):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        auc = emotion_roc_auc_score(Y_test, clf.predict_proba(X_test), average=None)
        wacc = weighted_accuracy_score(Y_test, clf.predict(X_test), average=None)
    return auc[5], wacc[5], auc[:5].mean()


# %%
# The three settings, each from a copy of the zero-shot model.
ft = copy.deepcopy(base).partial_fit(X_train[few], Y_train[few], epochs=FEW_EPOCHS)
X_joint, Y_joint = joint_training_set(X_train[old], Y_train[old][:, :5],
                                      X_train[few], Y_train[few])
jt = copy.deepcopy(base).partial_fit(X_joint, Y_joint, epochs=JOINT_EPOCHS)
gem = copy.deepcopy(base).partial_fit_gem(X_train[few], Y_train[few], epochs=FEW_EPOCHS)

reference = scores(base)[2]
print(f"\n{'setting':<10} {'new AUC':>8} {'new W-Acc':>10} {'old AUC change':>15}")
for name, clf in [("zero-shot", base), ("FT", ft), ("JT", jt), ("GEM", gem)]:
    auc, wacc, old_auc = scores(clf)
    print(f"{name:<10} {auc:8.3f} {wacc:10.3f} {old_auc - reference:+15.4f}")
stats = gem.gem_stats_
print(f"\nGEM: {stats['steps']} steps, projection {100 * stats['projection_share']:.1f}% "
      f"of step time; memory now holds {gem.memory_.n_tasks} tasks")
