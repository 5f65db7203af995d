"""Audio: waveforms or audio files -> frame-level acoustic feature sequences.

The signal processing is librosa's (an optional extra: ``pip install
skmemo[audio]``); this module chooses the frames, stacks the features, and
checks the inputs.
"""

import os
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..data import MultimodalData

__all__ = ["AudioFeaturizer"]

_FEATURES = ("logmel", "mfcc", "energy", "pitch")
_SIDES = ("pre", "post")
_DB_FLOOR = -100.0  # dB of a zero signal: librosa's amin of 1e-10 on power


def _librosa():
    try:
        import librosa
    except ImportError:
        raise ImportError(
            "AudioFeaturizer needs librosa: pip install 'skmemo[audio]' (or pip install "
            "librosa)") from None
    return librosa


class AudioFeaturizer(TransformerMixin, BaseEstimator):
    """Frame-level acoustic features of waveforms, through librosa.

    Every ``hop`` seconds a frame of ``frame`` seconds is described by, in this
    column order (``feature_names_`` lists them):

    - ``"logmel"``: ``n_mels`` log mel-band energies (dB, power spectrum of a
      Hann-windowed frame; :func:`librosa.feature.melspectrogram`);
    - ``"mfcc"``: ``n_mfcc`` MFCCs computed from those log-mel energies;
    - ``"energy"``: the frame's RMS level in dB (full scale 1.0 = 0 dB);
    - ``"pitch"``: three columns from probabilistic YIN (:func:`librosa.pyin`):
      the fundamental frequency in Hz (0 where the frame is unvoiced), a 0/1
      voiced flag, and the voicing probability.

    Silence gives finite features: every dB value at -100, pitch and voicing
    0. Scale the features (e.g. :class:`skmemo.preprocessing.ModalityScaler`)
    before the estimator: they span very different ranges.

    Parameters
    ----------
    sample_rate : int, default=16000
        The rate the features are computed at. Arrays are taken to be at this
        rate; a ``(waveform, rate)`` pair at another rate is refused unless
        ``resample`` is true; files are always resampled to it on reading.
    features : tuple of str, default=("logmel", "mfcc", "energy", "pitch")
        Which groups to compute, among those above (kept in that order).
    n_mels : int, default=40
    n_mfcc : int, default=13
    frame : float, default=0.025
        Frame length in seconds (25 ms, the usual speech setting). Pitch uses
        frames of ``pitch_frame`` seconds with the same hop.
    hop : float, default=0.01
        Time between frames in seconds (100 frames per second).
    fmin, fmax : float, default=60.0, 500.0
        The pitch search range in Hz (speech).
    pitch_frame : float, default=0.064
        Frame length of the pitch tracker; must hold two periods of ``fmin``.
    resample : bool, default=False
        Resample ``(waveform, rate)`` pairs at another rate (with librosa)
        instead of refusing them.
    max_frames : int or None, default=None
        Longest sequence kept; longer ones lose their first frames
        (``truncation="pre"``) or their last.
    truncation, padding : {"pre", "post"}, default="pre"
        As for :class:`WordVectorizer`; ``padding`` must match the estimator's.

    Attributes
    ----------
    n_features_out_ : int
    feature_names_ : list of str

    Notes
    -----
    Inputs, one item per sample: a 1-D float array (mono; a 2-D array is
    refused, mix it down first), a ``(waveform, rate)`` pair, or a path to an
    audio file that librosa reads (WAV, FLAC, OGG... through soundfile). An
    item with NaN or inf, or shorter than one frame, raises ``ValueError``
    naming the item.

    Examples
    --------
    >>> import numpy as np
    >>> from skmemo.feature_extraction import AudioFeaturizer
    >>> tone = np.sin(2 * np.pi * 220 * np.arange(8000) / 16000)  # 0.5 s of A3
    >>> Xa = AudioFeaturizer(features=("energy",)).fit_transform([tone])
    >>> Xa["audio"].shape, Xa["audio_lengths"].tolist()
    ((1, 51, 1), [51])
    """

    def __init__(self, sample_rate=16000, *, features=_FEATURES, n_mels=40, n_mfcc=13,
                 frame=0.025, hop=0.01, fmin=60.0, fmax=500.0, pitch_frame=0.064,
                 resample=False, max_frames=None, truncation="pre", padding="pre"):
        self.sample_rate = sample_rate
        self.features = features
        self.n_mels = n_mels
        self.n_mfcc = n_mfcc
        self.frame = frame
        self.hop = hop
        self.fmin = fmin
        self.fmax = fmax
        self.pitch_frame = pitch_frame
        self.resample = resample
        self.max_frames = max_frames
        self.truncation = truncation
        self.padding = padding

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.requires_fit = True
        return tags

    # -- checks ---------------------------------------------------------------
    def _check_params(self):
        sr = self.sample_rate
        if isinstance(sr, bool) or not isinstance(sr, Integral) or sr < 1000:
            raise ValueError(f"sample_rate must be an integer >= 1000 Hz, got {sr!r}")
        features = self.features
        if isinstance(features, str) or not features or any(
                f not in _FEATURES for f in features) or len(set(features)) != len(features):
            raise ValueError(
                f"features must be a non-empty tuple of distinct names among "
                f"{list(_FEATURES)}; got {features!r}")
        for name in ("n_mels", "n_mfcc"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, Integral) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if "mfcc" in features and self.n_mfcc > self.n_mels:
            raise ValueError(
                f"n_mfcc ({self.n_mfcc}) cannot exceed n_mels ({self.n_mels})")
        for name in ("frame", "hop", "pitch_frame", "fmin", "fmax"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, Real) or not v > 0:
                raise ValueError(f"{name} must be a positive number, got {v!r}")
        if self.hop > self.frame:
            raise ValueError(f"hop ({self.hop} s) must not exceed frame ({self.frame} s)")
        if "pitch" in features:
            if not self.fmin < self.fmax < sr / 2:
                raise ValueError(
                    f"need fmin < fmax < sample_rate / 2; got fmin={self.fmin}, "
                    f"fmax={self.fmax}, sample_rate={sr}")
            if self.pitch_frame * self.fmin < 2:
                raise ValueError(
                    f"pitch_frame ({self.pitch_frame} s) must hold two periods of fmin "
                    f"({self.fmin} Hz): at least {2 / self.fmin:.3f} s")
        if self.max_frames is not None and (
                isinstance(self.max_frames, bool) or not isinstance(self.max_frames, Integral)
                or self.max_frames < 1):
            raise ValueError(
                f"max_frames must be None or a positive integer, got {self.max_frames!r}")
        for name in ("truncation", "padding"):
            if getattr(self, name) not in _SIDES:
                raise ValueError(
                    f"{name} must be one of {list(_SIDES)}, got {getattr(self, name)!r}")

    def _samples(self, seconds):
        return max(int(round(seconds * self.sample_rate)), 1)

    def _names(self):
        names = []
        for f in _FEATURES:
            if f not in self.features:
                continue
            if f == "logmel":
                names += [f"logmel_{i}" for i in range(self.n_mels)]
            elif f == "mfcc":
                names += [f"mfcc_{i}" for i in range(self.n_mfcc)]
            elif f == "energy":
                names.append("energy_db")
            else:
                names += ["f0_hz", "voiced", "voiced_prob"]
        return names

    def _waveform(self, i, item):
        librosa = _librosa()
        sr = self.sample_rate
        if isinstance(item, (str, os.PathLike)):
            if not os.path.isfile(item):
                raise FileNotFoundError(f"audio item {i}: no file {os.fspath(item)!r}")
            try:
                with warnings.catch_warnings():  # a failure is reported below, once
                    warnings.simplefilter("ignore", (UserWarning, FutureWarning,
                                                     DeprecationWarning))
                    wave, _ = librosa.load(item, sr=sr, mono=True)
            except Exception as exc:
                raise ValueError(
                    f"audio item {i}: cannot read {os.fspath(item)!r} as audio: {exc}"
                ) from None
        else:
            rate = sr
            if isinstance(item, tuple):
                if len(item) != 2:
                    raise ValueError(
                        f"audio item {i}: a tuple must be (waveform, sample_rate)")
                item, rate = item
                if isinstance(rate, bool) or not isinstance(rate, Integral) or rate < 1:
                    raise ValueError(f"audio item {i}: bad sample rate {rate!r}")
            try:
                wave = np.asarray(item, dtype=np.float32)
            except (TypeError, ValueError):
                raise TypeError(
                    f"audio item {i} must be a 1-D array of samples, a (waveform, rate) "
                    f"pair or a file path; got {type(item).__name__}") from None
            if wave.ndim != 1:
                raise ValueError(
                    f"audio item {i} must be mono, 1-D; got shape {wave.shape} (mix down "
                    "with wave.mean(axis=0) or librosa.to_mono)")
            if rate != sr:
                if not self.resample:
                    raise ValueError(
                        f"audio item {i} is at {rate} Hz but sample_rate is {sr} Hz; "
                        "resample it, or set resample=True")
                wave = librosa.resample(wave, orig_sr=rate, target_sr=sr)
        if not np.all(np.isfinite(wave)):
            raise ValueError(f"audio item {i} contains NaN or inf samples")
        n_min = self._samples(max(self.frame, self.pitch_frame if "pitch" in self.features
                                  else 0))
        if wave.shape[0] < n_min:
            raise ValueError(
                f"audio item {i} holds {wave.shape[0]} samples, fewer than one frame "
                f"({n_min} samples at {sr} Hz)")
        return wave

    def _frames(self, wave):
        librosa = _librosa()
        sr, hop, n_fft = self.sample_rate, self._samples(self.hop), self._samples(self.frame)
        columns = []
        if "logmel" in self.features or "mfcc" in self.features:
            mel = librosa.feature.melspectrogram(
                y=wave, sr=sr, n_fft=n_fft, hop_length=hop, n_mels=self.n_mels,
                fmax=sr / 2)
            logmel = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=None)
            if "logmel" in self.features:
                columns.append(logmel)
            if "mfcc" in self.features:
                columns.append(librosa.feature.mfcc(S=logmel, n_mfcc=self.n_mfcc))
        if "energy" in self.features:
            rms = librosa.feature.rms(y=wave, frame_length=n_fft, hop_length=hop)
            columns.append(librosa.amplitude_to_db(rms, ref=1.0, amin=1e-5, top_db=None))
        if "pitch" in self.features:
            f0, voiced, prob = librosa.pyin(
                wave, fmin=self.fmin, fmax=self.fmax, sr=sr,
                frame_length=self._samples(self.pitch_frame), hop_length=hop)
            columns.append(np.stack([np.where(voiced, np.nan_to_num(f0), 0.0),
                                     voiced.astype(float), np.nan_to_num(prob)]))
        n = min(c.shape[1] for c in columns)
        return np.concatenate([c[:, :n] for c in columns]).T.astype(np.float32)

    def _items(self, X):
        if isinstance(X, (str, os.PathLike)) or (isinstance(X, np.ndarray) and X.ndim == 1
                                                  and X.dtype.kind == "f"):
            raise TypeError(
                "X must be a sequence of waveforms or paths, one per sample; wrap a "
                "single one in a list: [x]")
        items = list(X)
        if not items:
            raise ValueError("X holds no audio item")
        return items

    # -- scikit-learn API -----------------------------------------------------
    def fit(self, X, y=None):
        """Check the parameters (the features learn nothing from data).

        Returns
        -------
        self
        """
        self._check_params()
        self._items(X)
        _librosa()
        self.feature_names_ = self._names()
        self.n_features_out_ = len(self.feature_names_)
        return self

    def frame_times(self, n_frames):
        """Centre time in seconds of each of ``n_frames`` frames (for alignment)."""
        return np.arange(n_frames) * self._samples(self.hop) / self.sample_rate

    def transform(self, X):
        """Feature sequences of ``X``.

        Parameters
        ----------
        X : sequence
            Per sample: a 1-D waveform at ``sample_rate``, a ``(waveform, rate)``
            pair, or a path to an audio file.

        Returns
        -------
        MultimodalData
            ``"audio"``: ``(n, T, n_features_out_)`` float32, ``"audio_lengths"``.
        """
        check_is_fitted(self, "n_features_out_")
        self._check_params()
        seqs = [self._frames(self._waveform(i, item)) for i, item in
                enumerate(self._items(X))]
        return _pad(seqs, "audio", self.max_frames, self.truncation, self.padding)


def _pad(seqs, modality, max_len, truncation, padding):
    """Stack ``(T_i, d)`` sequences into ``(n, T, d)`` with their lengths."""
    if max_len is not None:
        seqs = [s[-max_len:] if truncation == "pre" else s[:max_len] for s in seqs]
    lengths = np.array([len(s) for s in seqs], np.int64)
    T, d = int(lengths.max()), seqs[0].shape[1]
    out = np.zeros((len(seqs), T, d), np.float32)
    for i, s in enumerate(seqs):
        if padding == "pre":
            out[i, T - len(s):] = s
        else:
            out[i, :len(s)] = s
    return MultimodalData(**{modality: out, f"{modality}_lengths": lengths})
