"""skmemo: scikit-learn estimators for multimodal emotion recognition.

Built on the modality-transferable emotion embeddings of Dai et al. (AACL 2020):
emotions are word vectors, mapped into the audio and visual spaces, so that new
emotions can be recognised zero-shot.
"""

from ._version import __version__
from .classifier import MultimodalEmotionClassifier
from .data import MODALITIES, MultimodalData
from .persistence import load

__all__ = [
    "MODALITIES",
    "MultimodalData",
    "MultimodalEmotionClassifier",
    "load",
    "__version__",
]
