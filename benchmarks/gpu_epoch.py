"""Seconds per training epoch on a GPU for a CMU-MOSEI-sized synthetic corpus.

16,000 samples, 50 steps, 300 / 74 / 35 features (GloVe-300, COVAREP, FACET),
the paper's hidden sizes 300 / 200 / 100, batch 512. Prints s/epoch for fp32,
bf16, and bf16 with ``bucket_by_length=True`` (goal: under 1 s per epoch on one
H100-class GPU). Exits with a message
when no GPU is present.

    python benchmarks/gpu_epoch.py
"""

import sys
import time

import numpy as np
import torch

from skmemo import MultimodalData, MultimodalEmotionClassifier


def main(n=16000, seq_len=50, epochs=3):
    if not torch.cuda.is_available():
        print("no CUDA GPU: nothing to measure")
        return 0
    rng = np.random.RandomState(0)
    lengths = np.clip(np.round(rng.gamma(2.2, 6.0, n)), 1, seq_len).astype(int)
    X = {}
    for m, d in {"text": 300, "audio": 74, "visual": 35}.items():
        x = rng.randn(n, seq_len, d).astype(np.float32)
        x[np.arange(seq_len)[None, :] < (seq_len - lengths)[:, None]] = 0
        X[m] = x
    X = MultimodalData(**X)
    Y = (rng.rand(n, 6) < 0.3).astype(np.float32)
    vectors = {e: rng.randn(300) for e in ["anger", "disgust", "fear", "happy", "sad",
                                            "surprise"]}
    print(torch.cuda.get_device_name(0))
    for precision, bucket in (("32", False), ("bf16", False), ("bf16", True)):
        clf = MultimodalEmotionClassifier(
            list(vectors), word_vectors=vectors, hidden_sizes={"audio": 200, "visual": 100},
            batch_size=512, max_epochs=epochs, validation_fraction=0, device="cuda",
            precision=precision, bucket_by_length=bucket, random_state=0)
        clf.fit(X, Y)
        torch.cuda.synchronize()
        durs = clf.history[:, "dur"]
        print(f"precision {precision}, bucket_by_length={bucket}: "
              f"s/epoch {np.round(durs, 3).tolist()} (best {min(durs[1:] or durs):.3f})")
        start = time.perf_counter()
        clf.predict_proba(X)
        print(f"  predict_proba: {n / (time.perf_counter() - start):.0f} samples/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
