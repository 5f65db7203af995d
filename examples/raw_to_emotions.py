"""From raw sentences and waveforms to emotions, in one pipeline.

The estimator reads feature sequences; :mod:`skmemo.feature_extraction` makes
them from raw inputs, so the whole chain is one scikit-learn ``Pipeline``:

1. a table with a ``sentence`` column and a ``wave`` column (here synthesised:
   a voiced tone whose pitch and loudness follow the emotion, as a stand-in
   for recordings);
2. ``MultimodalColumns``: ``WordVectorizer`` turns sentences into GloVe
   sequences, ``AudioFeaturizer`` turns waveforms into log-mel and energy
   frames (needs the ``audio`` extra; without librosa the example runs on
   text alone);
3. ``ModalityScaler`` standardises the features, ignoring the padding;
4. ``MultimodalEmotionClassifier``.

The fitted pipeline is pickled, reloaded, and applied to new sentences; then
an emotion it never saw (*surprise*) is added from its word vector alone.

Run ``python examples/raw_to_emotions.py`` (``SKMEMO_QUICK=1`` for a smoke run).
"""

import os
import pickle
import time

import numpy as np
import pandas as pd
from sklearn.pipeline import make_pipeline

from skmemo import MultimodalEmotionClassifier
from skmemo.feature_extraction import AudioFeaturizer, MultimodalColumns, WordVectorizer
from skmemo.preprocessing import ModalityScaler

QUICK = os.environ.get("SKMEMO_QUICK") == "1"
RNG = np.random.default_rng(0)
SR = 16000
EMOTIONS = ["happy", "sad", "angry"]
SUBJECTS = ["I", "we", "my sister", "the whole team", "honestly I", "you know, I"]
PHRASES = {
    "happy": ["am so glad we made it!", "love this wonderful day", "feel great today",
              "are thrilled about the news!", "can't stop smiling"],
    "sad": ["miss her so much", "feel lonely and lost", "cried all night",
            "am heartbroken about it", "lost everything"],
    "angry": ["am furious with you!", "hate when they lie", "can't stand this anymore!",
              "am so mad at him", "want to scream at them"],
}
VOICE = {"happy": (260, 0.5), "sad": (140, 0.1), "angry": (200, 0.9)}  # Hz, loudness


def wave(emotion, seconds=0.4):
    """A voiced stand-in for a recording: harmonics at the emotion's pitch, plus noise."""
    f0, loudness = VOICE[emotion]
    f0 *= RNG.uniform(0.9, 1.1)
    t = np.arange(int(seconds * SR)) / SR
    voiced = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in (1, 2, 3))
    return (loudness * voiced / 2 + RNG.normal(0, 0.01, t.size)).astype(np.float32)


def table(n_per_emotion):
    rows = []
    for emotion in EMOTIONS:
        for _ in range(n_per_emotion):
            sentence = f"{RNG.choice(SUBJECTS)} {RNG.choice(PHRASES[emotion])}"
            rows.append({"sentence": sentence, "wave": wave(emotion), "emotion": emotion})
    frame = pd.DataFrame(rows).sample(frac=1, random_state=0).reset_index(drop=True)
    y = (frame["emotion"].to_numpy()[:, None] == np.array(EMOTIONS)[None]).astype(int)
    return frame, y


try:
    import librosa  # noqa: F401

    audio = AudioFeaturizer(features=("logmel", "energy"), n_mels=20)
except ImportError:
    audio = None
    print("librosa is not installed (pip install 'skmemo[audio]'): text only")

train, y_train = table(20 if QUICK else 60)
pipeline = make_pipeline(
    MultimodalColumns(text=WordVectorizer(max_len=12), audio=audio,
                      columns={"text": "sentence", "audio": "wave"}),
    ModalityScaler(),
    MultimodalEmotionClassifier(EMOTIONS, max_epochs=8 if QUICK else 30, lr=3e-3,
                                hidden_sizes={"audio": 16}, random_state=0),
)
start = time.perf_counter()
pipeline.fit(train, y_train)
print(f"fitted on {len(train)} raw rows ({'text + audio' if audio else 'text'}) in "
      f"{time.perf_counter() - start:.1f} s")

blob = pickle.dumps(pipeline)
model = pickle.loads(blob)
print(f"pickled pipeline: {len(blob) / 1024:.0f} KiB (word vectors referenced, not copied)")

new = pd.DataFrame({
    "sentence": ["What a wonderful surprise, I love it!", "I miss my old friends so much",
                 "Stop lying to me, I am furious!"],
    "wave": [wave("happy"), wave("sad"), wave("angry")],
})
proba = model.predict_proba(new)
print(f"\n{'sentence':42s} " + " ".join(f"{e:>6s}" for e in EMOTIONS))
for sentence, p in zip(new["sentence"], proba):
    print(f"{sentence:42s} " + " ".join(f"{v:6.3f}" for v in p))

model[-1].add_emotions(["surprise"])  # zero-shot: from its word vector alone
proba = model.predict_proba(new)
print(f"\nafter add_emotions(['surprise']): emotions {model[-1].emotions_}")
for sentence, p in zip(new["sentence"], proba):
    print(f"{sentence:42s} surprise {p[-1]:.3f}")
