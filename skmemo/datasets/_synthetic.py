"""Synthetic multimodal emotion data grounded in word vectors."""

import numpy as np
from sklearn.utils import Bunch, check_random_state

from ..data import MultimodalData
from ..vectors import emotion_vectors, load_default_vectors

__all__ = ["make_emotion_dataset", "DEFAULT_EMOTIONS"]

DEFAULT_EMOTIONS = ("anger", "disgust", "fear", "happy", "sad", "surprise")
_DEFAULT_FEATURES = {"text": 50, "audio": 32, "visual": 24}
_DEFAULT_SIGNAL = {"text": 1.0, "audio": 0.8, "visual": 0.6}
_MAP_SEED = 20200920  # the fixed modality maps do not depend on random_state


def _check_int(name, value, low):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def make_emotion_dataset(n_samples=1000, *, emotions=DEFAULT_EMOTIONS, seq_len=20,
                         n_features=None, modalities=("text", "audio", "visual"),
                         min_len=2, noise=1.0, signal=1.0, word_vectors=None,
                         as_bunch=False, random_state=None):
    """Make synthetic three-modality data for multi-label emotion recognition.

    Every feature derives from the emotions' word vectors, so the data has the
    property the library relies on: an emotion held out of training can be
    recognised zero-shot from its word vector.

    How a sample is made:

    1. Labels: each emotion has its own base rate (between 10% and 45%: class
       imbalance) and a loading on a shared latent "valence" factor, the sign of
       the emotion's word vector on the first principal axis of all emotion
       vectors: emotions close in word space co-occur.
    2. A latent vector ``z = sum_k y_k * a_k * e_k`` (``e_k`` the unit word vector
       of emotion k, ``a_k`` a random intensity in [0.5, 1.5]).
    3. A real length ``L`` between ``min_len`` and ``seq_len`` (skewed short, as
       in CMU-MOSEI); the sequence is zero-padded at the front to ``seq_len``.
    4. Each real step shows the emotion with a random gate ``g_t`` in {0, 1}:
       text steps are word vectors of random frequent words plus ``g_t * z``
       (requires a 50-d text space, the bundled GloVe); audio and visual steps
       are ``g_t * A_m z`` plus Gaussian noise, ``A_m`` a fixed random linear map
       per modality (the same for every call).

    Parameters
    ----------
    n_samples : int, default=1000
    emotions : sequence of str, default=("anger", "disgust", "fear", "happy", "sad", "surprise")
    seq_len : int or dict, default=20
        Padded length, or ``{modality: length}``.
    n_features : dict, default=None
        ``{modality: n_features}``; default text 50, audio 32, visual 24.
    modalities : sequence of str, default=("text", "audio", "visual")
    min_len : int, default=2
        Shortest real length.
    noise : float, default=1.0
        Scale of the Gaussian noise in audio and visual.
    signal : float, default=1.0
        Scale of the emotion signal in every modality.
    word_vectors : None or mapping, default=None
        Source of emotion vectors (default: bundled GloVe).
    as_bunch : bool, default=False
        Return a :class:`sklearn.utils.Bunch` with ``data``, ``target``,
        ``emotions`` and ``lengths`` instead of ``(X, Y)``.
    random_state : int, RandomState or None, default=None

    Returns
    -------
    X : MultimodalData
        ``(n_samples, seq_len, n_features[m])`` float32 arrays.
    Y : ndarray of shape (n_samples, K), int
        Binary labels in the order of ``emotions``.

    Examples
    --------
    >>> from skmemo.datasets import make_emotion_dataset
    >>> X, Y = make_emotion_dataset(n_samples=8, seq_len=5, random_state=0)
    >>> X["text"].shape, X["audio"].shape, X["visual"].shape, Y.shape
    ((8, 5, 50), (8, 5, 32), (8, 5, 24), (8, 6))
    """
    n_samples = _check_int("n_samples", n_samples, 1)
    emotions = list(emotions)
    if not emotions:
        raise ValueError("emotions must name at least one emotion")
    modalities = tuple(modalities)
    bad = set(modalities) - set(_DEFAULT_FEATURES)
    if not modalities or bad:
        raise ValueError(f"modalities must be a non-empty subset of {list(_DEFAULT_FEATURES)}")
    features = dict(_DEFAULT_FEATURES)
    features.update(n_features or {})
    lengths_by_m = seq_len if isinstance(seq_len, dict) else dict.fromkeys(modalities, seq_len)
    for m in modalities:
        _check_int(f"seq_len[{m!r}]", lengths_by_m.get(m), 1)
        _check_int(f"n_features[{m!r}]", features[m], 1)
    min_len = _check_int("min_len", min_len, 1)
    rng = check_random_state(random_state)
    map_rng = np.random.RandomState(_MAP_SEED)

    E = emotion_vectors(emotions, word_vectors)  # (K, d)
    E = E / np.linalg.norm(E, axis=1, keepdims=True)
    K, d = E.shape

    # 1. labels: imbalanced base rates, co-occurrence through a valence factor
    centred = E - E.mean(axis=0)
    axis = np.linalg.svd(centred, full_matrices=False)[2][0] if K > 1 else np.ones(d)
    loading = np.sign(centred @ axis + 1e-12)
    base = np.linspace(0.45, 0.10, K)[rng.permutation(K)]
    valence = rng.randn(n_samples, 1)
    logits = np.log(base / (1 - base)) + 1.2 * valence * loading
    Y = (rng.rand(n_samples, K) < 1 / (1 + np.exp(-logits))).astype(int)

    # 2. latent emotion vector per sample
    intensity = rng.uniform(0.5, 1.5, size=(n_samples, K))
    Z = (Y * intensity) @ E * signal  # (n, d)

    X, lengths = {}, {}
    vocab = load_default_vectors().vectors[100:20100] if "text" in modalities else None
    for m in modalities:
        T, D = lengths_by_m[m], features[m]
        # 3. real lengths, skewed short
        L = np.clip(np.round(min_len + rng.gamma(2.0, T / 6.0, n_samples)), min_len, T)
        L = L.astype(np.int64)
        gate = (rng.rand(n_samples, T) < 0.5).astype(np.float32)  # (n, T)
        scale = _DEFAULT_SIGNAL[m]
        if m == "text":
            if D != d:
                raise ValueError(f"n_features['text'] must equal the word-vector dimension {d}")
            words = vocab[rng.randint(len(vocab), size=(n_samples, T))]  # (n, T, d)
            x = words * 0.5 + scale * gate[..., None] * Z[:, None, :]
        else:
            A = map_rng.randn(d, D) / np.sqrt(d) * 2.0  # fixed map word space -> modality
            x = scale * gate[..., None] * (Z @ A)[:, None, :]
            x = x + noise * rng.randn(n_samples, T, D)
        # zero-pad at the front: keep the last L steps
        steps = np.arange(T)[None, :]
        x = x * (steps >= (T - L)[:, None])[..., None]
        X[m] = x.astype(np.float32)
        lengths[m] = L

    data = MultimodalData(**X)
    if as_bunch:
        return Bunch(data=data, target=Y, emotions=emotions, lengths=lengths)
    return data, Y
