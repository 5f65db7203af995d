"""
Zero-shot in pictures: ROC curve of an unseen emotion, embedding distances
==========================================================================

The model never sees a sample showing *surprise*: every such sample is removed
from the training data (:func:`skmemo.model_selection.hold_out_emotion`), the
model learns the five other emotions, and *surprise* is added afterwards from
its word vector alone (``add_emotions``). This example draws how well the
unseen emotion is recognised, next to the seen ones, and the distances between
the emotion embeddings in the text, audio and visual spaces (paper Figure 3).
The last figure puts both together; it is the picture of the README.

``examples/zero_shot.py`` scores every subset of modalities given at
inference (paper Table 4); this one is about the pictures.

Usage::

    python examples/plot_zero_shot.py [--quick] [--save DIR]

About a minute on a CPU; ``--quick`` (or ``SKMEMO_QUICK=1``) makes it a smoke
run of seconds, ``--save DIR`` writes the figures as PNG files into ``DIR``.
"""

# %%
import argparse
import os
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from sklearn.model_selection import train_test_split

from skmemo import MultimodalEmotionClassifier
from skmemo.datasets import make_emotion_dataset
from skmemo.inspection import emotion_distances
from skmemo.metrics import emotion_classification_report
from skmemo.model_selection import hold_out_emotion
from skmemo.plotting import (
    plot_classification_report,
    plot_emotion_distances,
    plot_roc_curves,
)

parser = argparse.ArgumentParser(description="zero-shot emotion recognition, with plots")
parser.add_argument("--quick", action="store_true", help="tiny data and training (seconds)")
parser.add_argument("--save", metavar="DIR", help="write the figures as PNG files into DIR")
args, _ = parser.parse_known_args()
QUICK = args.quick or os.environ.get("SKMEMO_QUICK") == "1"
# sphinx_gallery_thumbnail_path = "_static/zero_shot_roc.png"

torch.set_num_threads(1)  # small models: one thread is fastest on a CPU
EMOTIONS = ["anger", "disgust", "fear", "happy", "sad", "surprise"]
HELD_OUT = "surprise"

# %%
# Train without the held-out emotion, then add it
# -----------------------------------------------
X, Y = make_emotion_dataset(n_samples=300 if QUICK else 2000, emotions=EMOTIONS,
                            seq_len=6 if QUICK else 20, random_state=0)
X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.25, random_state=0)
X_seen, Y_seen, seen, _ = hold_out_emotion(X_train, Y_train, HELD_OUT, emotions=EMOTIONS)
print(f"training on {len(X_seen)} of {len(X_train)} samples (none shows {HELD_OUT!r})")

clf = MultimodalEmotionClassifier(seen, max_epochs=2 if QUICK else 15, num_layers=1,
                                  hidden_sizes={"audio": 32, "visual": 32}, random_state=0)
clf.fit(X_seen, Y_seen)
clf.add_emotions([HELD_OUT])  # zero-shot: from the word vector only
print("emotions:", clf.emotions_, f"({clf.n_fit_emotions_} fitted, 1 added)")

# %%
# Scores on the complete test set
# -------------------------------
# The test set keeps its samples of the held-out emotion; its column is last
# in both ``Y_test`` and the model's emotions.
proba = clf.predict_proba(X_test)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # a tiny --quick test split may lack an emotion
    print(emotion_classification_report(Y_test, clf.predict(X_test), proba,
                                         emotions=clf.emotions_))
    report = emotion_classification_report(Y_test, clf.predict(X_test), proba,
                                           emotions=clf.emotions_, output_dict=True)

# %%
# ROC curves, the zero-shot one included
# --------------------------------------
#
# .. image:: /_static/zero_shot_roc.png
#    :alt: ROC curves of five seen emotions and the zero-shot surprise
fig_roc, ax = plot_roc_curves(Y_test, proba, emotions=clf.emotions_)
unseen = ax.get_lines()[clf.emotions_.index(HELD_OUT)]  # one line per emotion, in order
unseen.set(linewidth=2.5, linestyle="--", label=unseen.get_label().replace(
    HELD_OUT, f"{HELD_OUT}, zero-shot"))
ax.legend(fontsize="small", loc="lower right")
ax.set_title(f"ROC curves; {HELD_OUT!r} never seen in training")

# %%
# Distances between emotion embeddings
# ------------------------------------
# The text space holds the frozen word vectors; the audio and visual
# embeddings are their images under the learned mapping functions. Similar
# relative patterns (a rank correlation near 1) are what lets an unseen
# emotion's word vector land in a sensible place in the other spaces.
#
# .. image:: /_static/zero_shot_distances.png
#    :alt: heatmaps of pairwise distances between emotion embeddings, per modality
distances = emotion_distances(clf)
for m in ("audio", "visual"):
    print(f"rank correlation of {m} distances with text distances: "
          f"{distances.rank_correlation[m]:.2f}")
fig_dist, _ = plot_emotion_distances(distances)

# %%
# All in one picture
# ------------------
# Per-emotion weighted accuracy and AUC, the held-out emotion included, above
# the distance heatmaps.
#
# .. image:: /_static/readme_overview.png
#    :alt: per-emotion scores with a zero-shot emotion, and embedding distances
fig_all = plt.figure(figsize=(13, 8.6), layout="constrained")
top, bottom = fig_all.subfigures(2, 1, height_ratios=[1, 1.15])
named = {f"{name} (zero-shot)" if name == HELD_OUT else name: row
         for name, row in report.items()}
plot_classification_report(named, metrics=["weighted_accuracy", "roc_auc"],
                           ax=top.subplots())
top.axes[0].set_title(f"Per-emotion test scores; {HELD_OUT!r} added zero-shot from its "
                      "word vector")
plot_emotion_distances(distances, ax=bottom.subplots(1, 3))
bottom.suptitle("Distances between emotion embeddings, per modality")

# %%
figures = {"zero_shot_roc": fig_roc, "zero_shot_distances": fig_dist,
           "readme_overview": fig_all}
if args.save:
    out = Path(args.save)
    out.mkdir(parents=True, exist_ok=True)
    for name, fig in figures.items():
        fig.savefig(out / f"{name}.png", dpi=110)
        print("saved", out / f"{name}.png")
else:
    plt.show()
