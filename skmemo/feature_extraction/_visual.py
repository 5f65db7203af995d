"""Visual: face-tracker tables (OpenFace 2.x, py-feat) -> per-frame feature sequences.

No face model can be fetched at run time, so skmemo reads what the user's
extractor wrote: OpenFace 2.x ``FeatureExtraction`` CSV files and py-feat
``Fex`` tables (``fex.to_csv``).
"""

import os
import re

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._checks import check_padding
from ..exceptions import DataFormatError
from ._audio import _pad

__all__ = ["FaceFeatureReader", "read_face_table"]

_FAILED = ("drop", "zero", "ffill", "error")
_GROUPS = ("au_intensity", "au_presence", "gaze", "pose", "emotion")
_OPENFACE = {
    "au_intensity": re.compile(r"AU\d\d_r"),
    "au_presence": re.compile(r"AU\d\d_c"),
    "gaze": re.compile(r"gaze_(?:[01]_[xyz]|angle_[xy])"),
    "pose": re.compile(r"pose_[TR][xyz]"),
}
_PYFEAT = {
    "au_intensity": re.compile(r"AU\d\d"),
    "pose": re.compile(r"Pitch|Roll|Yaw"),
    "emotion": re.compile(r"anger|disgust|fear|happiness|sadness|surprise|neutral"),
}


def _read_table(item, i):
    import pandas as pd

    if hasattr(item, "columns"):
        frame = item.copy()
    elif isinstance(item, (str, os.PathLike)):
        if not os.path.isfile(item):
            raise FileNotFoundError(f"visual item {i}: no file {os.fspath(item)!r}")
        try:
            frame = pd.read_csv(item, skipinitialspace=True)
        except Exception as exc:  # pandas' parser errors, binary files, ...
            raise DataFormatError(
                f"visual item {i}: cannot read {os.fspath(item)!r} as CSV: {exc}") from None
    else:
        raise TypeError(
            f"visual item {i} must be a path to a CSV file or a pandas DataFrame; got "
            f"{type(item).__name__}")
    frame.columns = [str(c).strip() for c in frame.columns]  # OpenFace: ", face_id"
    return frame


def read_face_table(item, *, groups=None, failed="drop", min_confidence=0.5, face=None,
                    index=0):
    """Read one OpenFace 2.x or py-feat table into frames, times and feature names.

    Parameters
    ----------
    item : path or pandas DataFrame
        A CSV written by OpenFace 2.x ``FeatureExtraction`` (columns ``frame,
        face_id, timestamp, confidence, success, gaze_*, pose_*, AU01_r ...
        AU45_c``; OpenFace writes the header with a space after each comma,
        which is handled) or by py-feat (``fex.to_csv``: ``frame, FaceScore,
        Pitch, Roll, Yaw, AU01 ... AU43, anger ... neutral``, optionally
        ``approx_time``).
    groups : tuple of str, default=None
        Feature groups to keep, among ``"au_intensity"`` (``AU*_r``; py-feat
        ``AU*``), ``"au_presence"`` (``AU*_c``, OpenFace), ``"gaze"`` (gaze
        vectors and angles, OpenFace), ``"pose"`` (head translation and
        rotation; py-feat pitch, roll, yaw) and ``"emotion"`` (py-feat's
        emotion probabilities). None keeps every group the table has.
    failed : {"drop", "zero", "ffill", "error"}, default="drop"
        Frames where detection failed (OpenFace ``success == 0`` or
        ``confidence < min_confidence``; py-feat ``FaceScore <
        min_confidence`` or missing values): removed (their times too, so
        word alignment averages only good frames), set to zero, filled with
        the last good frame (zero before the first), or refused.
    min_confidence : float, default=0.5
    face : int, default=None
        With several faces per frame: OpenFace's ``face_id`` to keep; None
        keeps face 0 for OpenFace and the highest ``FaceScore`` per frame for
        py-feat.
    index : int, default=0
        The item's position, for error messages.

    Returns
    -------
    features : ndarray of shape (n_frames, d), float32
    times : ndarray of shape (n_frames,)
        Seconds (OpenFace ``timestamp``, py-feat ``approx_time``; else the
        frame number, a warning sign that alignment needs a frame rate).
    names : list of str
    """
    if failed not in _FAILED:
        raise ValueError(f"failed must be one of {list(_FAILED)}, got {failed!r}")
    frame = _read_table(item, index)
    cols = set(frame.columns)
    if {"success", "confidence"} <= cols and any(_OPENFACE["au_intensity"].fullmatch(c)
                                                 for c in cols):
        kind, patterns = "OpenFace", _OPENFACE
        if "face_id" in cols:
            frame = frame[frame["face_id"] == (0 if face is None else face)]
        ok = (frame["success"] == 1) & (frame["confidence"] >= min_confidence)
        times = frame["timestamp"] if "timestamp" in cols else frame.get("frame")
    elif "FaceScore" in cols and any(_PYFEAT["au_intensity"].fullmatch(c) for c in cols):
        kind, patterns = "py-feat", _PYFEAT
        if "frame" in cols:  # one face per frame: the most confident detection
            frame = (frame.sort_values("FaceScore", ascending=False, na_position="last")
                     .drop_duplicates("frame").sort_values("frame"))
        ok = frame["FaceScore"].fillna(0) >= min_confidence
        times = frame["approx_time"] if "approx_time" in cols else frame.get("frame")
    else:
        raise DataFormatError(
            f"visual item {index}: neither an OpenFace 2.x table (needs success, "
            "confidence and AU*_r columns) nor a py-feat table (needs FaceScore and AU* "
            f"columns); got columns {list(frame.columns)[:12]}")
    wanted = [g for g in _GROUPS if g in patterns] if groups is None else list(groups)
    bad = [g for g in wanted if g not in _GROUPS]
    if bad or not wanted:
        raise ValueError(f"groups must be names among {list(_GROUPS)}; got {groups!r}")
    names = []
    for g in wanted:
        found = [c for c in frame.columns if g in patterns and patterns[g].fullmatch(c)]
        if not found:
            raise DataFormatError(
                f"visual item {index}: this {kind} table has no {g!r} columns")
        names += found
    try:
        values = frame[names].to_numpy(dtype=np.float64)
    except ValueError as exc:
        raise DataFormatError(
            f"visual item {index}: feature columns hold something other than numbers: "
            f"{exc}") from None
    times = (np.arange(len(frame), dtype=float) if times is None
             else times.to_numpy(dtype=np.float64))
    ok = ok.to_numpy() & np.isfinite(values).all(axis=1) & np.isfinite(times)
    if not ok.all():
        if failed == "error":
            raise ValueError(
                f"visual item {index}: {(~ok).sum()} of {len(ok)} frames failed face "
                f"detection (first at row {np.flatnonzero(~ok)[0]}); choose another "
                "failed= policy")
        if failed == "drop":
            values, times = values[ok], times[ok]
        else:
            values = np.where(ok[:, None], values, 0.0)
            if failed == "ffill":
                last = np.maximum.accumulate(np.where(ok, np.arange(len(ok)), -1))
                values = np.where((last >= 0)[:, None], values[np.maximum(last, 0)], 0.0)
            times = np.where(np.isfinite(times), times, 0.0)
    if len(values) == 0:
        raise ValueError(
            f"visual item {index}: no frame with a detected face is left (policy "
            f"failed={failed!r}, min_confidence={min_confidence})")
    return values.astype(np.float32), times, names


class FaceFeatureReader(TransformerMixin, BaseEstimator):
    """Per-frame visual features from OpenFace 2.x or py-feat tables.

    Each sample is one table (a CSV path or a pandas DataFrame); see
    :func:`read_face_table` for the formats, the feature groups and the
    policy for frames where detection failed. All samples must yield the
    same columns as the first one seen in ``fit``.

    Parameters
    ----------
    groups : tuple of str, default=None
    failed : {"drop", "zero", "ffill", "error"}, default="drop"
    min_confidence : float, default=0.5
    face : int, default=None
    max_frames : int or None, default=None
    truncation, padding : {"pre", "post"}, default="pre"

    Attributes
    ----------
    feature_names_ : list of str
    n_features_out_ : int
    """

    def __init__(self, groups=None, *, failed="drop", min_confidence=0.5, face=None,
                 max_frames=None, truncation="pre", padding="pre"):
        self.groups = groups
        self.failed = failed
        self.min_confidence = min_confidence
        self.face = face
        self.max_frames = max_frames
        self.truncation = truncation
        self.padding = padding

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.requires_fit = True
        return tags

    def _read(self, i, item):
        return read_face_table(item, groups=self.groups, failed=self.failed,
                               min_confidence=self.min_confidence, face=self.face, index=i)

    def _items(self, X):
        if isinstance(X, (str, os.PathLike)) or hasattr(X, "columns"):
            raise TypeError(
                "X must be a sequence of tables (paths or DataFrames), one per sample; "
                "wrap a single one in a list: [x]")
        items = list(X)
        if not items:
            raise ValueError("X holds no table")
        for name in ("truncation", "padding"):
            check_padding(getattr(self, name), name)
        return items

    def fit(self, X, y=None):
        """Read the first table to learn the feature columns.

        Returns
        -------
        self
        """
        items = self._items(X)
        _, _, names = self._read(0, items[0])
        self.feature_names_ = names
        self.n_features_out_ = len(names)
        return self

    def read(self, X):
        """``[(features, times)]`` per table, columns checked against fit."""
        check_is_fitted(self, "feature_names_")
        out = []
        for i, item in enumerate(self._items(X)):
            values, times, names = self._read(i, item)
            if names != self.feature_names_:
                raise DataFormatError(
                    f"visual item {i} has columns {names[:6]}... ({len(names)}), but fit "
                    f"saw {self.feature_names_[:6]}... ({len(self.feature_names_)})")
            out.append((values, times))
        return out

    def transform(self, X):
        """Feature sequences of ``X``: ``"visual"`` ``(n, T, d)`` and lengths."""
        seqs = [values for values, _ in self.read(X)]
        return _pad(seqs, "visual", self.max_frames, self.truncation, self.padding)
