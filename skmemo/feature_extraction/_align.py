"""Alignment: frame-level features averaged inside word intervals; timestamps parsed."""

import re

import numpy as np

from ._audio import _pad

__all__ = ["align_to_intervals", "align_to_words", "parse_timestamp"]

_TIMESTAMP = re.compile(r"^\s*(\d+):([0-5]?\d):([0-5]?\d)(?:[,.](\d{1,6}))?\s*$")
_EMPTY = ("nearest", "zero", "error")


def parse_timestamp(value):
    """Seconds from ``hh:mm:ss,mmm`` timestamps (MELD's ``StartTime`` / ``EndTime``).

    Parameters
    ----------
    value : str or sequence of str
        ``"00:16:16,059"``; a dot instead of the comma and any number of
        fraction digits (``"0:01:02.5"``) are accepted too.

    Returns
    -------
    float or ndarray of float
        One float for a string, an array for a sequence.

    Raises
    ------
    ValueError
        Naming the first value that is not such a timestamp.

    Examples
    --------
    >>> from skmemo.feature_extraction import parse_timestamp
    >>> parse_timestamp("00:16:16,059")
    976.059
    >>> parse_timestamp(["0:00:01,500", "01:00:00,000"]).tolist()
    [1.5, 3600.0]
    """
    if isinstance(value, str):
        match = _TIMESTAMP.match(value)
        if not match:
            raise ValueError(
                f"{value!r} is not a timestamp of the form hh:mm:ss,mmm (e.g. "
                "'00:16:16,059')")
        h, m, s, frac = match.groups()
        seconds = int(h) * 3600 + int(m) * 60 + int(s)
        return round(seconds + (int(frac) / 10 ** len(frac) if frac else 0.0), 6)
    out = []
    for i, v in enumerate(value):
        if not isinstance(v, str):
            raise ValueError(f"timestamp {i} is {type(v).__name__} {v!r}, not a string")
        out.append(parse_timestamp(v))
    return np.asarray(out, dtype=np.float64)


def align_to_intervals(features, times, intervals, *, empty="nearest"):
    """Average the frames whose time falls inside each interval.

    The word-level alignment of the CMU-MultimodalSDK: for every reference
    interval ``[start, end)`` (a word), the frames of another modality whose
    time lies inside it are averaged into one row, so every modality gets one
    step per word.

    Parameters
    ----------
    features : array-like of shape (n_frames, d)
    times : array-like of shape (n_frames,)
        Each frame's time in seconds (its centre: :meth:`AudioFeaturizer.frame_times`,
        OpenFace's ``timestamp``).
    intervals : array-like of shape (n_words, 2)
        ``(start, end)`` in seconds, ``start <= end``.
    empty : {"nearest", "zero", "error"}, default="nearest"
        An interval with no frame inside (a word shorter than the frame step,
        or a gap where detection failed): the frame nearest to its middle, a
        zero row, or an error.

    Returns
    -------
    ndarray of shape (n_words, d), float32

    Examples
    --------
    >>> import numpy as np
    >>> from skmemo.feature_extraction import align_to_intervals
    >>> frames = np.array([[0.], [1.], [2.], [3.]])
    >>> align_to_intervals(frames, [0.0, 0.1, 0.2, 0.3], [[0.0, 0.2], [0.2, 0.25]])
    array([[0.5],
           [2. ]], dtype=float32)
    """
    if empty not in _EMPTY:
        raise ValueError(f"empty must be one of {list(_EMPTY)}, got {empty!r}")
    features = np.asarray(features, dtype=np.float64)
    times = np.asarray(times, dtype=np.float64).ravel()
    intervals = np.asarray(intervals, dtype=np.float64)
    if features.ndim != 2 or features.shape[0] != times.shape[0]:
        raise ValueError(
            f"features must be (n_frames, d) with one time per frame; got features "
            f"{features.shape} and {times.shape[0]} times")
    if features.shape[0] == 0:
        raise ValueError("features hold no frame")
    if intervals.ndim != 2 or intervals.shape[1] != 2 or intervals.shape[0] == 0:
        raise ValueError(
            f"intervals must be a non-empty (n_words, 2) array of (start, end); got "
            f"shape {intervals.shape}")
    if not (np.isfinite(intervals).all() and np.isfinite(times).all()):
        raise ValueError("times and intervals must be finite")
    if np.any(intervals[:, 1] < intervals[:, 0]):
        i = int(np.flatnonzero(intervals[:, 1] < intervals[:, 0])[0])
        raise ValueError(f"interval {i} ends before it starts: {intervals[i].tolist()}")
    inside = (times[None, :] >= intervals[:, :1]) & (times[None, :] < intervals[:, 1:])
    counts = inside.sum(axis=1)
    out = inside @ features / np.maximum(counts, 1)[:, None]
    missing = np.flatnonzero(counts == 0)
    if missing.size:
        if empty == "error":
            raise ValueError(
                f"{missing.size} interval(s) hold no frame, first {missing[0]}: "
                f"{intervals[missing[0]].tolist()}; set empty='nearest' or 'zero'")
        if empty == "nearest":
            middle = intervals[missing].mean(axis=1)
            out[missing] = features[np.abs(times[None, :] - middle[:, None]).argmin(axis=1)]
    return out.astype(np.float32)


def align_to_words(frames, times, word_intervals, *, modality, empty="nearest",
                   max_len=None, truncation="pre", padding="pre"):
    """Align many samples' frames to their words; a padded modality for the estimator.

    Parameters
    ----------
    frames : sequence of array-like (n_frames_i, d)
        Per sample, its frame-level features (e.g. from
        :class:`AudioFeaturizer` before padding, or :func:`read_face_table`).
    times : sequence of array-like (n_frames_i,)
    word_intervals : sequence of array-like (n_words_i, 2)
        Per sample, the ``(start, end)`` of each word, in the time base of
        ``times``; the order of the words of the text modality.
    modality : {"audio", "visual"}
    empty, max_len, truncation, padding
        As in :func:`align_to_intervals` and :class:`WordVectorizer`; use the
        text's ``max_len`` and sides, so every modality has one step per word.

    Returns
    -------
    MultimodalData
        ``modality``: ``(n, T, d)`` with ``T`` the most words, and
        ``"<modality>_lengths"``.
    """
    if modality not in ("audio", "visual", "text"):
        raise ValueError(f"modality must be 'audio' or 'visual', got {modality!r}")
    frames, times, word_intervals = list(frames), list(times), list(word_intervals)
    if not (len(frames) == len(times) == len(word_intervals)) or not frames:
        raise ValueError(
            f"frames, times and word_intervals must hold the same, non-zero number of "
            f"samples; got {len(frames)}, {len(times)}, {len(word_intervals)}")
    seqs = []
    for i, (f, t, w) in enumerate(zip(frames, times, word_intervals)):
        try:
            seqs.append(align_to_intervals(f, t, w, empty=empty))
        except ValueError as exc:
            raise ValueError(f"sample {i}: {exc}") from None
    dims = {s.shape[1] for s in seqs}
    if len(dims) > 1:
        raise ValueError(f"samples have different feature dimensions {sorted(dims)}")
    return _pad(seqs, modality, max_len, truncation, padding)
