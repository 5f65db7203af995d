"""Transcript tables of conversation corpora: MELD and EmoryNLP (*Friends* scenes).

Both publish one CSV per split, one row per utterance, with the columns that
say which dialogue an utterance belongs to and where it stands in it. The
readers return the table with those columns named, so that
:class:`skmemo.feature_extraction.DialogueContext` and a grouped
cross-validation need no grouping code.
"""

from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ..exceptions import DataFormatError
from ._base import DatasetBunch, check_path

__all__ = ["MELD_EMOTIONS", "EMORYNLP_EMOTIONS", "dialogue_columns",
           "load_meld_transcripts", "load_emorynlp_transcripts"]

#: MELD's seven emotions (neutral first, then by training frequency).
MELD_EMOTIONS = ("neutral", "joy", "surprise", "anger", "sadness", "disgust", "fear")
#: EmoryNLP's seven emotions, as its CSV spells them.
EMORYNLP_EMOTIONS = ("Neutral", "Joyful", "Peaceful", "Powerful", "Scared", "Mad", "Sad")

# Column layouts, most specific first: {role: column}.
_LAYOUTS = {
    "MELD": {"dialogue": "Dialogue_ID", "order": "Utterance_ID", "speaker": "Speaker",
             "text": "Utterance"},
}
# Apostrophe look-alikes in the MELD/EmoryNLP transcripts (curly quote; the
# Windows-1252 byte 0x92 left as U+0092).
_APOSTROPHES = dict.fromkeys(map(ord, "\u2019\x92"), "'")


def dialogue_columns(frame):
    """Name the dialogue, order, speaker and text columns of a transcript table.

    Parameters
    ----------
    frame : pandas DataFrame
        A MELD table (``Dialogue_ID``, ``Utterance_ID``, ``Speaker``,
        ``Utterance``) or an EmoryNLP one as read by
        :func:`load_emorynlp_transcripts` (which adds a ``Dialogue_ID`` unique
        across episodes).

    Returns
    -------
    dict
        ``{"dialogue", "order", "speaker", "text"}`` -> column name, ready for
        ``DialogueContext(columns=c["text"], dialogue=c["dialogue"],
        order=c["order"], speaker=c["speaker"])``.

    Raises
    ------
    DataFormatError
        If the table matches no known layout (the message lists its columns), or
        is a raw EmoryNLP table (``Scene_ID`` repeats across episodes).

    Examples
    --------
    >>> import pandas as pd
    >>> from skmemo.datasets import dialogue_columns
    >>> dialogue_columns(pd.DataFrame(columns=["Utterance", "Speaker", "Dialogue_ID",
    ...                                        "Utterance_ID"]))
    {'dialogue': 'Dialogue_ID', 'order': 'Utterance_ID', 'speaker': 'Speaker', \
'text': 'Utterance'}
    """
    columns = set(getattr(frame, "columns", ()))
    for layout in _LAYOUTS.values():
        if set(layout.values()) <= columns:
            return dict(layout)
    if "Scene_ID" in columns:
        raise DataFormatError(
            "the table looks like EmoryNLP's: its Scene_ID counts scenes within an "
            "episode, so it does not identify a dialogue alone; read it with "
            "load_emorynlp_transcripts, which adds a Dialogue_ID unique across episodes")
    raise DataFormatError(
        "the table matches no known conversation layout (MELD: Dialogue_ID, "
        "Utterance_ID, Speaker, Utterance; EmoryNLP: Scene_ID, Utterance_ID, Speaker, "
        f"Utterance); its columns are {sorted(map(str, columns))[:20]}. Name the "
        "columns yourself in DialogueContext(dialogue=..., order=..., speaker=...)")


def _read(path, required, emotions):
    import pandas as pd

    frame = pd.read_csv(path, encoding="utf-8", encoding_errors="replace")
    missing = sorted(set(required) - set(frame.columns))
    if missing:
        raise DataFormatError(
            f"{str(path)!r} has no column(s) {missing}; its columns are "
            f"{list(frame.columns)[:20]}")
    for c in ("Utterance", "Speaker"):
        frame[c] = frame[c].astype(str).str.translate(_APOSTROPHES)
    for c in ("Utterance_ID",):
        if frame[c].isna().any() or not np.issubdtype(frame[c].dtype, np.number):
            raise DataFormatError(f"{str(path)!r}: column {c!r} must hold numbers, none "
                                  "missing")
    unknown = sorted(set(frame["Emotion"].dropna()) - set(emotions))
    if unknown or frame["Emotion"].isna().any():
        raise DataFormatError(
            f"{str(path)!r}: column 'Emotion' holds {unknown or 'missing values'}; "
            f"expected one of {list(emotions)}")
    target = (frame["Emotion"].to_numpy()[:, None] == np.array(emotions)[None]).astype(
        np.int64)
    return frame, target


def _load(folder, splits, files, layout, emotions, required, what, prepare):
    folder = check_path(folder, f"{what} folder", directory=True)
    if isinstance(splits, str):
        splits = (splits,)
    splits = tuple(splits)
    bad = [s for s in splits if s not in files]
    if bad or not splits:
        raise ValueError(f"splits must be among {list(files)}; got {list(splits)}")
    result = {}
    for split in splits:
        path = check_path(Path(folder) / files[split], f"{what} {split} file")
        frame, target = _read(path, required, emotions)
        frame = prepare(frame, split)
        result[split] = Bunch(frame=frame, target=target,
                              groups=frame[layout["dialogue"]].to_numpy())
    return DatasetBunch(**result, emotions=list(emotions), **layout)


def load_meld_transcripts(folder, *, splits=("train", "dev", "test")):
    """Read MELD's transcripts (``{split}_sent_emo.csv``), one row per utterance.

    MELD (Poria et al., ACL 2019): 13,708 utterances in 1,433 dialogues of
    *Friends*, seven emotions. Curly apostrophes (and the stray Windows-1252
    byte) become ``'``; undecodable bytes are replaced, not fatal.

    MELD's ``Dialogue_ID`` restarts at 0 in every split (train dialogue 0 and
    test dialogue 0 are different scenes), so the reader adds a column
    ``Dialogue``, ``"{split}/{Dialogue_ID}"``, unique across splits: the one to
    give :class:`~skmemo.feature_extraction.DialogueContext` as ``dialogue``,
    so that its check for dialogues shared by train and test does not mistake
    one for the other.

    Parameters
    ----------
    folder : str or path-like
        The folder holding ``train_sent_emo.csv``, ``dev_sent_emo.csv``,
        ``test_sent_emo.csv``.
    splits : str or sequence of str, default=("train", "dev", "test")

    Returns
    -------
    meld : DatasetBunch
        Per split a :class:`~sklearn.utils.Bunch` with ``frame`` (the CSV as a
        DataFrame, rows in file order), ``target`` ``(n, 7)`` int one-hot in
        the order of ``emotions`` and ``groups`` (the ``Dialogue`` of each row,
        for :class:`~sklearn.model_selection.GroupKFold`); plus ``emotions``
        (``MELD_EMOTIONS``) and the column names ``dialogue``
        (``"Dialogue"``), ``order`` (``"Utterance_ID"``), ``speaker``
        (``"Speaker"``), ``text`` (``"Utterance"``).

    Raises
    ------
    FileNotFoundError
        The folder or a split's file does not exist.
    DataFormatError
        A file lacks a column, or holds an unknown emotion.

    Examples
    --------
    >>> from skmemo.datasets import load_meld_transcripts
    >>> load_meld_transcripts("no/such/folder")
    Traceback (most recent call last):
    ...
    FileNotFoundError: MELD folder 'no/such/folder' does not exist
    """
    def prepare(frame, split):
        frame = frame.copy()
        frame["Dialogue"] = [f"{split}/{d}" for d in frame["Dialogue_ID"]]
        return frame

    layout = dict(_LAYOUTS["MELD"], dialogue="Dialogue")
    return _load(folder, splits, {s: f"{s}_sent_emo.csv" for s in ("train", "dev", "test")},
                 layout, MELD_EMOTIONS, [*_LAYOUTS["MELD"].values(), "Emotion"], "MELD",
                 prepare)


def load_emorynlp_transcripts(folder, *, splits=("train", "dev", "test")):
    """Read EmoryNLP's emotion transcripts (``emorynlp_{split}_final.csv``).

    EmoryNLP (Zahiri and Choi, 2018): *Friends* scenes, seven emotions.
    ``Scene_ID`` counts scenes within an episode, so the reader adds
    ``Dialogue_ID`` = ``"s{Season}e{Episode}c{Scene_ID}"``, unique across the
    corpus; ``Speaker`` keeps the CSV's text (e.g. ``"['Rachel Green']"``).

    Parameters
    ----------
    folder : str or path-like
        The folder holding ``emorynlp_train_final.csv``,
        ``emorynlp_dev_final.csv``, ``emorynlp_test_final.csv``.
    splits : str or sequence of str, default=("train", "dev", "test")

    Returns
    -------
    emorynlp : DatasetBunch
        As :func:`load_meld_transcripts`, with ``emotions``
        (``EMORYNLP_EMOTIONS``) and ``dialogue="Dialogue_ID"``.
    """
    layout = dict(_LAYOUTS["MELD"])

    def prepare(frame, split):
        frame = frame.copy()
        frame["Dialogue_ID"] = [f"s{s}e{e}c{c}" for s, e, c in
                                zip(frame["Season"], frame["Episode"], frame["Scene_ID"])]
        return frame

    required = ["Scene_ID", "Season", "Episode", "Utterance_ID", "Speaker", "Utterance",
                "Emotion"]
    return _load(folder, splits,
                 {s: f"emorynlp_{s}_final.csv" for s in ("train", "dev", "test")},
                 layout, EMORYNLP_EMOTIONS, required, "EmoryNLP", prepare)
