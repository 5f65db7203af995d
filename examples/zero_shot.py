"""Zero-shot emotion recognition: recognise an emotion never seen in training.

The protocol of Dai et al. (AACL 2020, section 4.1): every training sample
showing *surprise* is removed, the model learns the other five emotions, and
*surprise* is then added from its word vector alone. Its zero-shot scores are
printed for every subset of modalities given at inference, and the distances
between the emotion embeddings in the text, audio and visual spaces are drawn
(paper Figure 3).

Usage::

    python examples/zero_shot.py [OUTPUT_DIR]

The heatmap is written to ``OUTPUT_DIR/emotion_distances.png`` (default: an
``out`` folder next to this script). ``SKMEMO_QUICK=1 python
examples/zero_shot.py`` shrinks the data and the training to a smoke test of seconds.
"""

# %%
import os
import sys
import time
from pathlib import Path

import torch
from sklearn.model_selection import train_test_split

from skmemo import MultimodalEmotionClassifier
from skmemo.datasets import make_emotion_dataset
from skmemo.inspection import emotion_distances
from skmemo.model_selection import format_table, zero_shot_evaluation

QUICK = os.environ.get("SKMEMO_QUICK", "") not in ("", "0")
torch.set_num_threads(1 if QUICK else 2)
N_SAMPLES, SEQ_LEN, MAX_EPOCHS = (300, 6, 2) if QUICK else (2000, 20, 10)
EMOTIONS = ["anger", "disgust", "fear", "happy", "sad", "surprise"]
HELD_OUT = "surprise"
out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "out"

# %%
# Data: synthetic, three modalities, features derived from the emotions' word
# vectors (so that transfer through word vectors is possible by construction).
X, Y = make_emotion_dataset(n_samples=N_SAMPLES, emotions=EMOTIONS, seq_len=SEQ_LEN,
                            random_state=0)
X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.25, random_state=0)

# %%
# Hold out, fit, add back, score: zero_shot_evaluation does all four steps
# (see skmemo.model_selection.hold_out_emotion for the first one alone).
clf = MultimodalEmotionClassifier(max_epochs=MAX_EPOCHS, num_layers=1,
                                  hidden_sizes={"audio": 32, "visual": 32}, random_state=0)
start = time.perf_counter()
results = zero_shot_evaluation(clf, X_train, Y_train, X_test, Y_test, emotions=EMOTIONS,
                               held_out=HELD_OUT, modality_subsets="all",
                               return_estimators=True)
print(f"trained without {HELD_OUT!r} in {time.perf_counter() - start:.0f} s")
print(format_table(results, columns=["modalities", "unseen_auc", "unseen_wacc",
                                     "unseen_f1", "seen_auc", "seen_wacc"]))

# %%
# The fitted estimator now knows six emotions, the last one zero-shot.
fitted = results["estimator"][0]
print("emotions:", fitted.emotions_, "(fitted on", fitted.n_fit_emotions_, ")")

# %%
# Emotion embeddings: the learned maps keep the relative distances of the
# word vectors (Spearman correlation with the text-space distances).
distances = emotion_distances(fitted)
for m in ("audio", "visual"):
    rho = distances.rank_correlation[m]
    print(f"rank correlation of {m} distances with text distances: {rho:.2f}")

try:
    from skmemo.plotting import plot_emotion_distances

    fig, _ = plot_emotion_distances(distances)
except ImportError as exc:  # matplotlib is optional
    print(exc)
else:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "emotion_distances.png"
    fig.savefig(path, dpi=120)
    print(f"heatmaps saved to {path}")
