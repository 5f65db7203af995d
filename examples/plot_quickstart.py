"""
Quickstart in pictures: learning curves, per-emotion scores, ROC curves
=======================================================================

Trains :class:`~skmemo.MultimodalEmotionClassifier` on the embedded synthetic
data (six emotions, three modalities), prints the per-emotion report of the
paper's metrics and draws the three pictures a user usually wants after a fit:
how training went, how each emotion scores, and its ROC curve.

Usage::

    python examples/plot_quickstart.py [--quick] [--save DIR]

About a minute on a CPU; ``--quick`` (or ``SKMEMO_QUICK=1``) shrinks the data
and the training to a smoke run of seconds, ``--save DIR`` writes the figures
as PNG files into ``DIR`` instead of showing them.
"""

# %%
import argparse
import os
import time
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from sklearn.model_selection import train_test_split

from skmemo import MultimodalEmotionClassifier
from skmemo.datasets import make_emotion_dataset
from skmemo.metrics import emotion_classification_report
from skmemo.plotting import (
    plot_classification_report,
    plot_learning_curves,
    plot_roc_curves,
)

parser = argparse.ArgumentParser(description="skmemo quickstart with plots")
parser.add_argument("--quick", action="store_true", help="tiny data and training (seconds)")
parser.add_argument("--save", metavar="DIR", help="write the figures as PNG files into DIR")
args, _ = parser.parse_known_args()
QUICK = args.quick or os.environ.get("SKMEMO_QUICK") == "1"
# sphinx_gallery_thumbnail_path = "_static/quickstart_report.png"

torch.set_num_threads(1)  # small models: one thread is fastest on a CPU
EMOTIONS = ["anger", "disgust", "fear", "happy", "sad", "surprise"]

# %%
# Data
# ----
# Three modalities, variable-length sequences zero-padded at the front, six
# emotion labels per sample (several may be present at once).
X, Y = make_emotion_dataset(n_samples=240 if QUICK else 2000, emotions=EMOTIONS,
                            seq_len=6 if QUICK else 20, random_state=0)
X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.25, random_state=0)
print(X_train, "labels", Y_train.shape)

# %%
# Training
# --------
# The paper's model with its defaults; 10% of the training data is held out
# for early stopping on the mean validation weighted accuracy.
clf = MultimodalEmotionClassifier(EMOTIONS, max_epochs=2 if QUICK else 20,
                                  random_state=0)
start = time.perf_counter()
clf.fit(X_train, Y_train)
print(f"trained {len(clf.history)} epochs in {time.perf_counter() - start:.1f} s")

# %%
# Learning curves
# ---------------
# Training and validation loss, and the validation weighted accuracy that
# early stopping monitors; the dotted line marks the epoch whose weights were
# kept.
#
# .. image:: /_static/quickstart_learning_curves.png
#    :alt: training and validation loss, validation weighted accuracy per epoch
fig_curves, _ = plot_learning_curves(clf)

# %%
# Per-emotion scores
# ------------------
# Weighted accuracy (balanced accuracy), AUC and F1 of every emotion on the
# test split, as text and as bars; the tick labels give the number of test
# samples showing each emotion.
#
# .. image:: /_static/quickstart_report.png
#    :alt: bar chart of W-Acc, AUC and F1 per emotion
proba = clf.predict_proba(X_test)
Y_pred = clf.predict(X_test)
print(emotion_classification_report(Y_test, Y_pred, proba, emotions=EMOTIONS))
report = emotion_classification_report(Y_test, Y_pred, proba, emotions=EMOTIONS,
                                       output_dict=True)
fig_report, _ = plot_classification_report(report)

# %%
# ROC curves
# ----------
# One curve per emotion: the AUC is threshold-free, unlike the other scores.
#
# .. image:: /_static/quickstart_roc.png
#    :alt: ROC curve of every emotion
fig_roc, _ = plot_roc_curves(Y_test, proba, emotions=EMOTIONS)

# %%
figures = {"learning_curves": fig_curves, "report": fig_report, "roc": fig_roc}
if args.save:
    out = Path(args.save)
    out.mkdir(parents=True, exist_ok=True)
    for name, fig in figures.items():
        fig.savefig(out / f"quickstart_{name}.png", dpi=110)
        print("saved", out / f"quickstart_{name}.png")
else:
    plt.show()
