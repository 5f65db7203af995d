"""How tests/data/model_0_1_0.skmemo and its expected outputs were made (skmemo 0.1.0).

Run from the repository root with skmemo 0.1.0; the files are committed and
read by ``tests/test_persistence.py``. Not a test: kept so that the fixture
can be understood and, for a later format version, remade the same way
(``python tests/data/make_model_0_1_0.py`` with that version installed).
Importing it does nothing: the doctest collection imports every module.
"""
import numpy as np
import torch

import skmemo
from skmemo import MultimodalEmotionClassifier
from skmemo.datasets import make_emotion_dataset


def main():
    torch.manual_seed(0)
    rng = np.random.RandomState(0)
    WV = {w: rng.randn(8).astype(np.float32) for w in ["happy", "sad", "anger", "fear"]}
    X, Y = make_emotion_dataset(n_samples=24, emotions=["happy", "sad", "anger"], seq_len=4,
                                n_features={"audio": 5, "visual": 3}, random_state=0)
    X = {k: np.asarray(v)[:, :, :8] if k == "text" else np.asarray(v) for k, v in X.items()}
    print({k: v.shape for k, v in X.items()})
    clf = MultimodalEmotionClassifier(
        ["happy", "sad", "anger"], word_vectors=WV,
        hidden_sizes={"text": 4, "audio": 3, "visual": 3},
        num_layers=1, max_epochs=2, batch_size=8, memory_size=4,
        threshold={"sad": 0.4}, random_state=0, device="cpu", validation_fraction=0.0)
    clf.fit(X, Y)
    clf.add_emotions(["fear"], threshold=0.3)
    proba = clf.predict_proba(X)
    clf.save("tests/data/model_0_1_0.skmemo", include_memory=True)
    np.savez_compressed("tests/data/model_0_1_0_expected.npz", proba=proba,
                        predict=clf.predict(X), thresholds=clf.thresholds_,
                        **{f"X_{k}": v for k, v in X.items()})
    print(skmemo.__version__, proba[:2], clf.thresholds_)


if __name__ == "__main__":
    main()
