"""Datasets: synthetic generators (``make_*``) and readers of real corpora (``load_*``).

Readers return numpy arrays (or, in lazy mode, :class:`H5Array` views that read
from HDF5 files batch by batch) inside :class:`skmemo.MultimodalData`, labels as
numpy arrays, and metadata, in a :class:`sklearn.utils.Bunch`.

CMU-MOSEI exists in two label orders; each reader keeps the order of its files
and says which in ``bunch.emotions``:

- :func:`load_cmu_mosei` (SDK computational sequences): ``MOSEI_SDK_EMOTIONS``,
  happy, sad, anger, surprise, disgust, fear;
- :func:`load_legacy_mosei` (the reference code's HDF5 files):
  ``MOSEI_LEGACY_EMOTIONS``, anger, disgust, fear, happy, sad, surprise.

Both accept ``emotions=[...]`` to pick and order columns by name.

Conversation transcripts (MELD, EmoryNLP) come as tables, one row per
utterance, with their dialogue, order and speaker columns named
(:func:`load_meld_transcripts`, :func:`load_emorynlp_transcripts`,
:func:`dialogue_columns`) for :class:`skmemo.feature_extraction.DialogueContext`.
"""

from ._base import MOSEI_LEGACY_EMOTIONS, MOSEI_SDK_EMOTIONS, DatasetBunch, H5Array
from ._conversations import (
    EMORYNLP_EMOTIONS,
    MELD_EMOTIONS,
    dialogue_columns,
    load_emorynlp_transcripts,
    load_meld_transcripts,
)
from ._csd import align_csd, load_csd
from ._iemocap9 import IEMOCAP9_EMOTIONS, load_iemocap9
from ._legacy import load_legacy_mosei
from ._mosei import MOSEI_FILES, cmu_mosei_standard_folds, load_cmu_mosei
from ._mosi import MOSI_UTTERANCE_FILES, load_cmu_mosi_utterance
from ._pickle import IEMOCAP_EMOTIONS, load_iemocap, load_mmsa_pickle
from ._synthetic import DEFAULT_EMOTIONS, make_emotion_dataset

__all__ = [
    "DEFAULT_EMOTIONS",
    "DatasetBunch",
    "EMORYNLP_EMOTIONS",
    "H5Array",
    "IEMOCAP9_EMOTIONS",
    "IEMOCAP_EMOTIONS",
    "MELD_EMOTIONS",
    "MOSEI_FILES",
    "MOSEI_LEGACY_EMOTIONS",
    "MOSEI_SDK_EMOTIONS",
    "MOSI_UTTERANCE_FILES",
    "align_csd",
    "cmu_mosei_standard_folds",
    "dialogue_columns",
    "load_cmu_mosei",
    "load_cmu_mosi_utterance",
    "load_csd",
    "load_emorynlp_transcripts",
    "load_iemocap",
    "load_iemocap9",
    "load_legacy_mosei",
    "load_meld_transcripts",
    "load_mmsa_pickle",
    "make_emotion_dataset",
]
