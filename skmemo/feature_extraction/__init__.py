"""Feature extraction: from raw utterances, recordings and face tracks to model inputs.

:class:`~skmemo.MultimodalEmotionClassifier` reads feature sequences. This
subpackage makes them from what users have, with scikit-learn transformers
that fit, clone and pickle like any other (a pickle stores settings and
references to the bundled word vectors, never a copy of them), so the
featurisation travels with the model inside one
:class:`~sklearn.pipeline.Pipeline`:

- :class:`WordVectorizer`: strings -> word-vector sequences ``(n, T, d)`` with
  their lengths (tokenisation by :func:`tokenize`);
- :class:`AudioFeaturizer`: waveforms or audio files -> frame-level log-mel,
  MFCC, energy, pitch and voicing (needs the ``audio`` extra, librosa);
- :class:`MultimodalColumns`: a table with text / audio / visual columns ->
  one :class:`~skmemo.MultimodalData`, one transformer per modality.

See the user guide page *From raw data to features*.
"""

from ._audio import AudioFeaturizer
from ._combine import MultimodalColumns
from ._text import WordVectorizer, tokenize

__all__ = [
    "AudioFeaturizer",
    "MultimodalColumns",
    "WordVectorizer",
    "tokenize",
]
