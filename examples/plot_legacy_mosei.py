"""
Loading CMU-MOSEI from the paper code's HDF5 files, eagerly or lazily
=====================================================================

The reference code of Dai et al. reads CMU-MOSEI from one HDF5 file per
modality and split, each holding a dataset ``d1``, and labels ``ey_{split}.h5``
holding emotion intensities in **alphabetical** order (anger, disgust, fear,
happy, sad, surprise). :func:`skmemo.datasets.load_legacy_mosei` reads that
folder, eagerly (into memory) or lazily (the estimator reads one batch at a
time from the files).

The corpus cannot ship with skmemo, so this example first writes a tiny
folder in exactly that layout, from synthetic data (the real files hold 300-d
GloVe words, 74-d COVAREP audio with ``-inf`` values and 35-d FACET features,
20 steps each). Then it loads the folder both ways, trains on the lazy arrays
and draws the label shares and the real sequence lengths of every split.

Usage::

    python examples/plot_legacy_mosei.py [--quick] [--save DIR]

Half a minute on a CPU; ``--quick`` (or ``SKMEMO_QUICK=1``) makes it a smoke
run of seconds, ``--save DIR`` writes the figure as a PNG file into ``DIR``.
"""

# %%
import argparse
import os
import shutil
import tempfile
from pathlib import Path

import h5py
import matplotlib.pyplot as plt
import numpy as np
import torch

from skmemo import MultimodalEmotionClassifier
from skmemo.datasets import MOSEI_LEGACY_EMOTIONS, load_legacy_mosei, make_emotion_dataset
from skmemo.metrics import emotion_classification_report
from skmemo.preprocessing import real_steps

parser = argparse.ArgumentParser(description="read the legacy CMU-MOSEI HDF5 layout")
parser.add_argument("--quick", action="store_true", help="tiny data and training (seconds)")
parser.add_argument("--save", metavar="DIR", help="write the figure as a PNG file into DIR")
args, _ = parser.parse_known_args()
QUICK = args.quick or os.environ.get("SKMEMO_QUICK") == "1"
# sphinx_gallery_thumbnail_path = "_static/legacy_mosei.png"

torch.set_num_threads(1)  # small models: one thread is fastest on a CPU
EMOTIONS = list(MOSEI_LEGACY_EMOTIONS)  # anger, disgust, fear, happy, sad, surprise
SIZES = {"train": 200, "valid": 50, "test": 100} if QUICK else \
    {"train": 1400, "valid": 200, "test": 400}

# %%
# Write a folder in the legacy layout
# -----------------------------------
# ``{text,audio,video}_{split}_emb.h5`` with the features under ``d1``, and
# ``ey_{split}.h5`` with intensities in [0, 3]; a label is present when its
# intensity is above 0.
folder = Path(tempfile.mkdtemp(prefix="legacy_mosei_"))
X_all, Y_all = make_emotion_dataset(sum(SIZES.values()), emotions=EMOTIONS,
                                    seq_len=8 if QUICK else 20, random_state=0)
rng = np.random.RandomState(0)
intensities = Y_all * rng.choice([1 / 3, 2 / 3, 1, 2, 3], size=Y_all.shape)
start = 0
for split, n in SIZES.items():
    rows = slice(start, start + n)
    start += n
    audio = np.array(X_all["audio"][rows])
    audio[:, -1, 0] = -np.inf  # COVAREP holds -inf values
    for stem, values in (("text", X_all["text"][rows]), ("audio", audio),
                         ("video", X_all["visual"][rows])):
        with h5py.File(folder / f"{stem}_{split}_emb.h5", "w") as f:
            f.create_dataset("d1", data=np.asarray(values, dtype=np.float32))
    with h5py.File(folder / f"ey_{split}.h5", "w") as f:
        f.create_dataset("d1", data=intensities[rows].astype(np.float32))
print(sorted(p.name for p in folder.iterdir()))

# %%
# Load it into memory
# -------------------
# ``-inf`` and NaN become 0 (``nonfinite="zero"``, what the reference code
# did); ``"error"`` refuses them instead.
mosei = load_legacy_mosei(folder)
print("emotions:", mosei.emotions)
for split in ("train", "valid", "test"):
    print(f"{split:>5}: {mosei[split].data}, target {mosei[split].target.shape}")
print("any -inf left:", bool(np.isinf(mosei.train.data["audio"]).any()))

# %%
# Load it lazily and train on the files
# -------------------------------------
# Lazy arrays are :class:`~skmemo.datasets.H5Array` objects that read only the
# rows asked for; the estimator slices them batch by batch. The bunch keeps
# the files open until ``close()`` (or the end of a ``with`` block).
with load_legacy_mosei(folder, lazy=True) as lazy:
    print(type(lazy.train.data["text"]).__name__, lazy.train.data["text"].shape)
    clf = MultimodalEmotionClassifier(lazy.emotions, max_epochs=2 if QUICK else 12,
                                      num_layers=1, random_state=0)
    clf.fit(lazy.train.data, lazy.train.target)
    test = lazy.test
    print(emotion_classification_report(test.target, clf.predict(test.data),
                                        clf.predict_proba(test.data), emotions=lazy.emotions))

# %%
# What is in the splits
# ---------------------
# The share of samples showing each emotion (multi-label: the shares do not
# sum to one), and how many of the steps of each sample are real rather than
# zero padding (the front-padding the loader keeps; the estimator skips it).
#
# .. image:: /_static/legacy_mosei.png
#    :alt: label shares per split, and histograms of real sequence lengths
fig, (ax_labels, ax_lengths) = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
width = 0.8 / 3
for j, split in enumerate(("train", "valid", "test")):
    share = mosei[split].target.mean(axis=0)
    ax_labels.bar(np.arange(6) - 0.4 + width * (j + 0.5), share, width,
                  label=f"{split} ({len(mosei[split].target)})")
ax_labels.set_xticks(range(6), labels=mosei.emotions)
ax_labels.set(ylabel="share of samples", title="Emotions present, per split")
ax_labels.legend(fontsize="small")
seq_len = mosei.train.data["text"].shape[1]
bins = np.arange(0.5, seq_len + 1.5)
for m in ("text", "audio", "visual"):
    lengths = real_steps(mosei.train.data[m]).sum(axis=1)
    ax_lengths.hist(lengths, bins=bins, histtype="step", linewidth=1.5, label=m)
ax_lengths.set(xlabel="real steps per sample", ylabel="training samples",
               title="Sequence lengths (train)")
ax_lengths.xaxis.get_major_locator().set_params(integer=True)
ax_lengths.legend(fontsize="small")

# %%
if args.save:
    out = Path(args.save)
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / "legacy_mosei.png", dpi=110)
    print("saved", out / "legacy_mosei.png")
else:
    plt.show()
shutil.rmtree(folder)  # the temporary corpus
