"""
Why weighted F1 misleads: scores as functions of the threshold
==============================================================

Appendix B of Dai et al. (AACL 2020) argues against the binary *weighted F1*
(W-F1) that earlier work reported on CMU-MOSEI. W-F1 weights the F1 of each
class by its share of the samples; most samples show a given emotion *not*,
so the negative class dominates and W-F1 keeps rising as the threshold rises
and the model predicts fewer and fewer emotions. A model that never predicts
the emotion scores a high W-F1 and a weighted accuracy (balanced accuracy) of
exactly 0.5.

This example trains the model on imbalanced synthetic labels and traces both
scores over the decision threshold.

Usage::

    python examples/plot_threshold_curves.py [--quick] [--save DIR]

About a minute on a CPU; ``--quick`` (or ``SKMEMO_QUICK=1``) makes it a smoke
run of seconds, ``--save DIR`` writes the figures as PNG files into ``DIR``.
"""

# %%
import argparse
import os
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.model_selection import train_test_split

from skmemo import MultimodalEmotionClassifier
from skmemo.datasets import make_emotion_dataset
from skmemo.metrics import (
    emotion_roc_auc_score,
    weighted_accuracy_score,
    weighted_f1_score,
)
from skmemo.plotting import plot_threshold_curves

parser = argparse.ArgumentParser(description="W-Acc and W-F1 against the threshold")
parser.add_argument("--quick", action="store_true", help="tiny data and training (seconds)")
parser.add_argument("--save", metavar="DIR", help="write the figures as PNG files into DIR")
args, _ = parser.parse_known_args()
QUICK = args.quick or os.environ.get("SKMEMO_QUICK") == "1"
# sphinx_gallery_thumbnail_path = "_static/threshold_curves.png"

torch.set_num_threads(1)  # small models: one thread is fastest on a CPU
EMOTIONS = ["anger", "disgust", "fear", "happy", "sad", "surprise"]

# %%
# A model and its test-set probabilities
# --------------------------------------
# A weak emotion signal (``signal=0.4``) makes the synthetic task harder: a mean
# test AUC near 0.8, closer to CMU-MOSEI (the paper's AUCs are near 0.7, its
# Table 1) than the default data. ``surprise`` is the rarest emotion here.
X, Y = make_emotion_dataset(n_samples=240 if QUICK else 2000, emotions=EMOTIONS,
                            seq_len=6 if QUICK else 20, signal=0.4, random_state=1)
X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.3, random_state=0)
print("share of positive test labels per emotion:",
      {e: round(float(p), 2) for e, p in zip(EMOTIONS, Y_test.mean(axis=0))})
clf = MultimodalEmotionClassifier(EMOTIONS, max_epochs=2 if QUICK else 20, random_state=0)
proba = clf.fit(X_train, Y_train).predict_proba(X_test)
print(f"mean test AUC: {emotion_roc_auc_score(Y_test, proba):.3f}")

# %%
# Both scores at a few thresholds
# -------------------------------
# The estimator predicts ``proba > threshold`` (0.5 by default). Raising the
# threshold lowers the share of predicted positives; the weighted accuracy
# falls back to 0.5 while the weighted F1 climbs towards the score of the
# classifier that never predicts any emotion.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", UndefinedMetricWarning)
    print(f"\n{'threshold':>9} {'predicted +':>11} {'W-Acc':>6} {'W-F1':>6}")
    for t in (0.3, 0.5, 0.7, 0.9, 0.99):
        Y_pred = proba > t
        print(f"{t:9.2f} {Y_pred.mean():11.1%} "
              f"{weighted_accuracy_score(Y_test, Y_pred):6.3f} "
              f"{weighted_f1_score(Y_test, Y_pred):6.3f}")
    never = np.zeros_like(Y_test)
    print(f"{'never':>9} {0:11.1%} {weighted_accuracy_score(Y_test, never):6.3f} "
          f"{weighted_f1_score(Y_test, never):6.3f}")

# %%
# The curves, averaged over emotions
# ----------------------------------
# Dots mark the best threshold of each score; the dashed line is the W-F1 of
# predicting nothing, the dotted line chance for the weighted accuracy.
#
# .. image:: /_static/threshold_curves.png
#    :alt: mean W-Acc and W-F1 against the decision threshold
fig_mean, _ = plot_threshold_curves(Y_test, proba, emotions=EMOTIONS)

# %%
# The curves of every emotion
# ---------------------------
# The rarer the emotion, the higher the W-F1 of predicting nothing, and the
# further the best W-F1 threshold drifts from the best W-Acc threshold.
#
# .. image:: /_static/threshold_curves_per_emotion.png
#    :alt: W-Acc and W-F1 against the threshold, one panel per emotion
fig_each, _ = plot_threshold_curves(Y_test, proba, emotions=EMOTIONS, average=None)

# %%
figures = {"threshold_curves": fig_mean, "threshold_curves_per_emotion": fig_each}
if args.save:
    out = Path(args.save)
    out.mkdir(parents=True, exist_ok=True)
    for name, fig in figures.items():
        fig.savefig(out / f"{name}.png", dpi=110)
        print("saved", out / f"{name}.png")
else:
    plt.show()
