"""Model selection: a cross-validated grid search over learning rate and hidden size.

A :class:`~sklearn.pipeline.Pipeline` standardises every modality over its real
time steps (:class:`~skmemo.preprocessing.ModalityScaler`) and trains the
emotion-embedding model; :class:`~sklearn.model_selection.GridSearchCV` scores
each setting with three of skmemo's scorers (weighted accuracy, AUC, weighted
F1), refits the best by mean weighted accuracy, and the winner is evaluated on
a held-out test split with :func:`~skmemo.metrics.emotion_classification_report`.

Small on purpose (400 samples, short sequences, small encoders) so that the
search of 6 settings x 3 folds runs in a few minutes on a CPU. ``SKMEMO_QUICK=1
python examples/model_selection.py`` searches 2 settings x 2 folds in seconds (smoke test).
"""

# %%
import os
import time

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import GridSearchCV, KFold, train_test_split
from sklearn.pipeline import make_pipeline

from skmemo import MultimodalEmotionClassifier
from skmemo.datasets import make_emotion_dataset
from skmemo.metrics import emotion_classification_report, get_scorer
from skmemo.preprocessing import ModalityScaler

torch.set_num_threads(1)  # small models: one thread per fit is fastest
QUICK = os.environ.get("SKMEMO_QUICK", "") not in ("", "0")
EMOTIONS = ["anger", "fear", "happy", "sad"]
N_SAMPLES, SEQ_LEN, MAX_EPOCHS, N_FOLDS = (200, 6, 2, 2) if QUICK else (400, 8, 6, 3)

# %%
# Data: three modalities, variable-length sequences zero-padded at the front.
X, Y = make_emotion_dataset(n_samples=N_SAMPLES, emotions=EMOTIONS, seq_len=SEQ_LEN,
                            random_state=0)
X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.25, random_state=0)

# %%
# The search. Parameters of pipeline steps are addressed as ``<step>__<param>``;
# ``hidden_sizes`` sets the encoder sizes (a text size other than the 50-d word
# vectors adds a projection; the paper uses the word dimension).
pipe = make_pipeline(
    ModalityScaler(),
    MultimodalEmotionClassifier(EMOTIONS, max_epochs=MAX_EPOCHS, batch_size=32,
                                early_stopping_patience=3, random_state=0),
)
grid = {
    "multimodalemotionclassifier__lr": [1e-3, 3e-3, 1e-2],
    "multimodalemotionclassifier__hidden_sizes": [
        {"text": 16, "audio": 8, "visual": 8},
        {"text": 16, "audio": 32, "visual": 32},
    ],
}
if QUICK:  # one learning rate, two hidden sizes
    grid["multimodalemotionclassifier__lr"] = [3e-3]
scoring = {
    "w_acc": get_scorer("weighted_accuracy"),
    "auc": get_scorer("emotion_roc_auc"),
    "w_f1": get_scorer("weighted_f1"),
}
search = GridSearchCV(pipe, grid, cv=KFold(N_FOLDS, shuffle=True, random_state=0),
                      scoring=scoring, refit="w_acc")
start = time.perf_counter()
search.fit(X_train, Y_train)
print(f"grid search: {len(search.cv_results_['params'])} settings x {N_FOLDS} folds "
      f"in {time.perf_counter() - start:.0f} s")

# %%
# Cross-validated scores of every setting (mean and standard deviation over folds).
res = search.cv_results_
table = pd.DataFrame({
    "lr": res["param_multimodalemotionclassifier__lr"],
    "hidden (a/v)": [h["audio"] for h in res["param_multimodalemotionclassifier__hidden_sizes"]],
    "W-Acc": [f"{m:.3f} ± {s:.3f}" for m, s in zip(res["mean_test_w_acc"],
                                                  res["std_test_w_acc"])],
    "AUC": np.round(res["mean_test_auc"], 3),
    "W-F1": np.round(res["mean_test_w_f1"], 3),
    "rank": res["rank_test_w_acc"],
    "fit s": np.round(res["mean_fit_time"], 1),
})
print(table.sort_values("rank").to_string(index=False))

# %%
# The refitted best pipeline on the held-out test split.
best = search.best_estimator_
print("best:", search.best_params_)
print(emotion_classification_report(Y_test, best.predict(X_test), best.predict_proba(X_test),
                                    emotions=EMOTIONS))
