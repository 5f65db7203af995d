"""Datasets: synthetic generators (``make_*``) and readers of real corpora (``load_*``)."""

from ._synthetic import DEFAULT_EMOTIONS, make_emotion_dataset

__all__ = ["DEFAULT_EMOTIONS", "make_emotion_dataset"]
