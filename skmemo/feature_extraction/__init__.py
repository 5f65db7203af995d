"""Feature extraction: from raw utterances, recordings and face tracks to model inputs.

:class:`~skmemo.MultimodalEmotionClassifier` reads feature sequences. This
subpackage makes them from what users have, with scikit-learn transformers
that fit, clone and pickle like any other (a pickle stores settings and a
reference to the bundled word vectors, never a copy of them), so the
featurisation travels with the model inside one
:class:`~sklearn.pipeline.Pipeline`:

- :class:`WordVectorizer`: strings -> word-vector sequences ``(n, T, d)`` with
  their lengths (tokenisation by :func:`tokenize`);
- :class:`AudioFeaturizer`: waveforms or audio files -> frame-level log-mel,
  MFCC, energy, pitch and voicing (needs the ``audio`` extra, librosa);
- :class:`FaceFeatureReader`: OpenFace 2.x or py-feat tables -> per-frame
  action units, gaze, head pose (:func:`read_face_table` for one table);
- :func:`align_to_intervals`, :func:`align_to_words`: frames averaged inside
  each word's interval, so all modalities share one step per word;
  :func:`parse_timestamp` reads MELD's ``hh:mm:ss,mmm`` times;
- :class:`TextEncoder`: strings -> a sentence encoder's token states or pooled
  embeddings (all-MiniLM-L6-v2, multilingual-e5-small or a local folder; the
  ``text`` extra); :class:`TextEncoderUnion`: several encoders as one space;
- :class:`DialogueContext`: each utterance of a conversation given the
  utterances before it (strings joined, arrays stacked; :class:`StackSequences`
  pads array columns);
- :class:`MultimodalColumns`: a table with text / audio / visual columns ->
  one :class:`~skmemo.MultimodalData`, one transformer per modality.

See the user guide page *From raw data to features*.
"""

from ._align import align_to_intervals, align_to_words, parse_timestamp
from ._audio import AudioFeaturizer
from ._combine import MultimodalColumns
from ._contextual import TextEncoder
from ._dialogue import DialogueContext, StackSequences
from ._encoder_union import TextEncoderUnion
from ._text import WordVectorizer, tokenize
from ._visual import FaceFeatureReader, read_face_table

__all__ = [
    "AudioFeaturizer",
    "DialogueContext",
    "FaceFeatureReader",
    "MultimodalColumns",
    "StackSequences",
    "TextEncoder",
    "TextEncoderUnion",
    "WordVectorizer",
    "align_to_intervals",
    "align_to_words",
    "parse_timestamp",
    "read_face_table",
    "tokenize",
]
