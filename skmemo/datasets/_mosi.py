"""CMU-MOSI utterance-level features: the CSV files published with bc-LSTM.

Poria et al. (ACL 2017) published, for the speaker-independent CMU-MOSI split
(1447 train / 752 test utterances), one feature vector per utterance and
modality, in one folder::

    text_text_{split}0.csv     100 text features (a CNN over word vectors), label
    audio_audio_{split}0.csv    73 audio features (openSMILE), label
    video_video_{split}0.csv   100 visual features (a 3D-CNN), label

with ``split`` in train, test: no header, one utterance per row, the binary
sentiment (1 positive, 0 negative) in the last column. The rows of the three
files correspond one to one (the same row is the same utterance).
"""

import csv

import numpy as np
from sklearn.utils import Bunch

from ..data import MultimodalData
from ..exceptions import DataFormatError
from ._base import (
    DatasetBunch,
    check_modalities,
    check_nonfinite,
    check_path,
    check_splits,
    clean_nonfinite,
)

__all__ = ["load_cmu_mosi_utterance", "MOSI_UTTERANCE_FILES"]

#: File name of each modality, ``{}`` the split (train or test).
MOSI_UTTERANCE_FILES = {"text": "text_text_{}0.csv", "audio": "audio_audio_{}0.csv",
                        "visual": "video_video_{}0.csv"}


def _read_csv(path):
    """``(features (n, d) float32, labels (n,) int64)`` of one file."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = [row for row in csv.reader(f) if row]
    if not rows:
        raise DataFormatError(f"{str(path)!r} holds no row")
    widths = sorted({len(row) for row in rows})
    if len(widths) != 1 or widths[0] < 2:
        raise DataFormatError(
            f"{str(path)!r}: every row must hold the same number of values, features "
            f"then the label; found rows of {widths} values")
    try:
        table = np.array(rows, dtype=np.float64)
    except ValueError as exc:
        raise DataFormatError(f"{str(path)!r} must hold numbers only ({exc})") from None
    labels = table[:, -1]
    if not np.isin(labels, (0, 1)).all():
        shown = np.unique(labels[~np.isin(labels, (0, 1))])[:5].tolist()
        raise DataFormatError(
            f"{str(path)!r}: the last column must be the 0/1 sentiment; found {shown}")
    return table[:, :-1].astype(np.float32), labels.astype(np.int64)


def load_cmu_mosi_utterance(folder, *, splits=("train", "test"),
                            modalities=("text", "audio", "visual"), nonfinite="zero"):
    """Load the CMU-MOSI utterance-level features of bc-LSTM (binary sentiment).

    Parameters
    ----------
    folder : str or path-like
        Folder holding ``text_text_{split}0.csv``, ``audio_audio_{split}0.csv``
        and ``video_video_{split}0.csv`` (see the module docstring).
    splits : str or sequence of str, default=("train", "test")
        The published split has no validation part.
    modalities : sequence of str, default=("text", "audio", "visual")
        The modalities to read (only their files must exist).
    nonfinite : {"zero", "keep", "error"}, default="zero"
        NaN and infinite values are set to 0, kept, or raise
        :class:`~skmemo.exceptions.DataFormatError`.

    Returns
    -------
    mosi : DatasetBunch
        Per split a :class:`~sklearn.utils.Bunch` with ``data``
        (:class:`~skmemo.MultimodalData`, each modality ``(n, 1, d)``
        float32: one utterance is a sequence of length 1), ``target``
        ``(n, 2)`` int 0/1, columns positive and negative, and ``sentiment``
        ``(n,)`` int, the file's label (1 positive, 0 negative); plus
        ``emotions``: ``["positive", "negative"]``.

    Raises
    ------
    FileNotFoundError
        If the folder or one of the files it needs does not exist.
    DataFormatError
        If a file is not a table of numbers with the 0/1 label last, or the
        files of one split disagree on their rows or labels.

    Examples
    --------
    >>> from skmemo.datasets import load_cmu_mosi_utterance
    >>> load_cmu_mosi_utterance("no/such/folder")
    Traceback (most recent call last):
    ...
    FileNotFoundError: CMU-MOSI folder 'no/such/folder' does not exist
    """
    folder = check_path(folder, "CMU-MOSI folder", directory=True)
    splits = check_splits(splits, allowed=("train", "test"))
    modalities = check_modalities(modalities)
    nonfinite = check_nonfinite(nonfinite)
    result = {}
    for split in splits:
        X, labels = {}, {}
        for modality in modalities:
            name = MOSI_UTTERANCE_FILES[modality].format(split)
            path = check_path(folder / name, f"CMU-MOSI {modality} file of split {split!r}")
            features, labels[modality] = _read_csv(path)
            X[modality] = clean_nonfinite(features, nonfinite, str(path))[:, None, :]
        counts = {m: len(lab) for m, lab in labels.items()}
        if len(set(counts.values())) != 1:
            raise DataFormatError(
                f"split {split!r}: the files hold different numbers of utterances {counts}")
        first = labels[modalities[0]]
        differ = [m for m, lab in labels.items() if not np.array_equal(lab, first)]
        if differ:
            raise DataFormatError(
                f"split {split!r}: the labels of {differ} differ from those of "
                f"{modalities[0]!r}, so their rows do not correspond")
        result[split] = Bunch(data=MultimodalData(**X),
                              target=np.stack([first, 1 - first], axis=1),
                              sentiment=first)
    return DatasetBunch(**result, emotions=["positive", "negative"])
