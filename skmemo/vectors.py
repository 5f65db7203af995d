"""Word vectors: where the textual emotion embeddings come from.

An emotion is represented by the word vector of its name (Dai et al., 2020). This
module turns an emotion *specification* into a vector:

- ``"anger"``: the vector of one word;
- ``"surprise|surprised"``: several word forms of one emotion, averaged;
- ``"mildly annoyed"``: a short phrase, the average of its words' vectors.

Vector sources (the ``word_vectors`` parameter of the estimator):

- ``None`` or ``"glove-6b-50d"``: the bundled default, the 50,000 most frequent
  words of GloVe 6B 50d (public domain, PDDL) plus common emotion words, loaded
  from the package in a fraction of a second;
- a mapping ``word -> vector`` (a dict, or anything with ``__getitem__`` and
  ``__contains__``);
- a path to a GloVe or word2vec text file: the file is streamed and only the
  needed words are kept, so a 5 GB ``glove.840B.300d.txt`` costs no memory;
- an encoder with an ``embed_emotions(emotions) -> (K, dim)`` method, such as
  :class:`skmemo.feature_extraction.TextEncoder`: each emotion name or phrase
  is encoded whole, with no vocabulary limit.
"""

import functools
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .exceptions import UnknownWordError

__all__ = [
    "DEFAULT_VECTORS",
    "WordVectors",
    "load_default_vectors",
    "read_word_vector_file",
    "emotion_vectors",
    "parse_emotion",
]

DEFAULT_VECTORS = "glove-6b-50d"
_DEFAULT_FILE = Path(__file__).parent / "_data" / "glove_6b_50d_subset.npz"


class WordVectors(Mapping):
    """Read-only ``word -> vector`` mapping over one matrix.

    Parameters
    ----------
    words : sequence of str
        The vocabulary, one word per row of ``vectors``.
    vectors : array-like of shape (n_words, dim)
        The vectors.
    name : str, default=None
        A short description of the source, used in error messages.
    """

    def __init__(self, words, vectors, name=None):
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(words):
            raise ValueError(
                f"vectors must be a (n_words, dim) matrix with one row per word; "
                f"got {len(words)} words and shape {vectors.shape}"
            )
        self.words = list(words)
        self.vectors = vectors
        self.name = name or "word vectors"
        self._index = {w: i for i, w in enumerate(self.words)}

    @property
    def dim(self):
        """Dimension of the vectors."""
        return self.vectors.shape[1]

    def __getitem__(self, word):
        return self.vectors[self._index[word]]

    def __contains__(self, word):
        return word in self._index

    def __iter__(self):
        return iter(self.words)

    def __len__(self):
        return len(self.words)

    def __repr__(self):
        return f"WordVectors({self.name!r}, n_words={len(self)}, dim={self.dim})"


@functools.lru_cache(maxsize=1)
def load_default_vectors():
    """Return the bundled GloVe 6B 50d subset as :class:`WordVectors`.

    The result is cached: the file is read once per process.

    Examples
    --------
    >>> from skmemo.vectors import load_default_vectors
    >>> glove = load_default_vectors()
    >>> glove.dim
    50
    >>> "surprise" in glove
    True
    """
    with np.load(_DEFAULT_FILE) as data:
        words = data["words"].tolist()
        vectors = data["vectors"].astype(np.float32)
    return WordVectors(words, vectors, name=DEFAULT_VECTORS)


def read_word_vector_file(path, words=None):
    """Stream a GloVe or word2vec text file, keeping only ``words``.

    Parameters
    ----------
    path : str or path-like
        A text file with one ``word v1 v2 ... vd`` line per word. A word2vec
        header line ``n_words dim`` is recognised and skipped. Words that
        contain spaces (as in glove.840B) are read correctly: the last ``dim``
        fields are the vector.
    words : iterable of str, default=None
        The words to keep. ``None`` keeps every word (only sensible for small
        files).

    Returns
    -------
    WordVectors
        The kept words, in file order.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If a line is malformed or the lines disagree on the dimension.
    """
    path = Path(os.fspath(path))
    if not path.is_file():
        raise FileNotFoundError(f"word-vector file not found: {str(path)!r}")
    wanted = None if words is None else set(words)
    kept_words, kept_vectors = [], []
    dim = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, start=1):
            parts = line.rstrip("\n").rstrip().split(" ")
            if lineno == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                dim = int(parts[1])  # word2vec header: "n_words dim"
                continue
            if len(parts) < 2:
                if not line.strip():
                    continue
                raise ValueError(
                    f"{path.name}, line {lineno}: expected 'word v1 ... vd', got "
                    f"{line[:60]!r}"
                )
            if dim is None:
                dim = _infer_dim(parts)
            if len(parts) < dim + 1:
                raise ValueError(
                    f"{path.name}, line {lineno}: expected a word and {dim} numbers, "
                    f"got {len(parts)} fields"
                )
            word = " ".join(parts[: len(parts) - dim])
            if wanted is not None and word not in wanted:
                continue
            try:
                vec = np.asarray(parts[len(parts) - dim:], dtype=np.float32)
            except ValueError:
                raise ValueError(
                    f"{path.name}, line {lineno}: the vector of {word!r} holds "
                    f"something that is not a number"
                ) from None
            kept_words.append(word)
            kept_vectors.append(vec)
            if wanted is not None:
                wanted.discard(word)
                if not wanted:
                    break
    if dim is None:
        raise ValueError(f"word-vector file {path.name!r} holds no vectors")
    matrix = np.stack(kept_vectors) if kept_vectors else np.zeros((0, dim), np.float32)
    return WordVectors(kept_words, matrix, name=str(path))


def _infer_dim(parts):
    # Count the trailing fields that parse as numbers: a word may contain spaces.
    dim = 0
    for p in reversed(parts):
        try:
            float(p)
        except ValueError:
            break
        dim += 1
    if dim == len(parts):  # a word that looks like a number, e.g. "1"
        dim -= 1
    if dim == 0:
        raise ValueError(f"cannot read a vector from {' '.join(parts)[:60]!r}")
    return dim


def parse_emotion(spec):
    """Split an emotion specification into word forms, each a list of words.

    Examples
    --------
    >>> from skmemo.vectors import parse_emotion
    >>> parse_emotion("surprise|surprised")
    [['surprise'], ['surprised']]
    >>> parse_emotion("mildly annoyed")
    [['mildly', 'annoyed']]
    """
    if not isinstance(spec, str):
        raise TypeError(f"an emotion must be a string, got {type(spec).__name__}")
    forms = [form.split() for form in spec.lower().split("|")]
    if not spec.strip() or any(not form for form in forms):
        raise ValueError(f"emotion {spec!r} is empty or has an empty word form")
    return forms


def _words_of(specs):
    return {w for spec in specs for form in parse_emotion(spec) for w in form}


def resolve_source(source, words):
    """Return a word -> vector mapping covering ``words`` from ``source``.

    ``source`` is what the estimator's ``word_vectors`` parameter accepts.
    """
    if source is None or (isinstance(source, str) and source == DEFAULT_VECTORS):
        return load_default_vectors()
    if isinstance(source, (str, os.PathLike)):
        return read_word_vector_file(source, words)
    if hasattr(source, "__getitem__") and hasattr(source, "__contains__"):
        return source
    raise TypeError(
        "word_vectors must be None, 'glove-6b-50d', a path to a GloVe/word2vec "
        f"text file, or a mapping word -> vector; got {type(source).__name__}"
    )


def set_source_params(source, params):
    """Pass ``word_vectors__*`` parameters on to an estimator ``source``.

    ``get_params(deep=True)`` of the estimator lists the parameters of a
    :class:`~skmemo.feature_extraction.TextEncoder` given as ``word_vectors``
    (``word_vectors__emotion_prompt``...); this sets them on it, as
    scikit-learn's nested ``set_params`` does, and returns the other
    parameters. A new ``word_vectors`` given with them is set first.
    """
    nested = {k.split("__", 1)[1]: v for k, v in params.items()
              if k.startswith("word_vectors__")}
    if not nested:
        return params
    source = params.get("word_vectors", source)
    if not hasattr(source, "set_params"):
        raise ValueError(
            f"word_vectors__ parameters ({sorted(nested)}) need an estimator as "
            f"word_vectors (a TextEncoder); word_vectors is {type(source).__name__}")
    source.set_params(**nested)
    return {k: v for k, v in params.items() if not k.startswith("word_vectors__")}


def _encoded_emotions(encoder, emotions):
    """Emotion embeddings from an encoder's ``embed_emotions``, checked."""
    for spec in emotions:
        parse_emotion(spec)
    rows = np.asarray(encoder.embed_emotions(emotions), dtype=np.float32)
    if rows.ndim != 2 or rows.shape[0] != len(emotions):
        raise ValueError(
            f"{type(encoder).__name__}.embed_emotions must return one vector per emotion, "
            f"a ({len(emotions)}, dim) matrix; got shape {rows.shape}")
    if not np.all(np.isfinite(rows)):
        raise ValueError(f"{type(encoder).__name__} gave NaN or inf emotion embeddings")
    return rows


def emotion_vectors(emotions, source=None):
    """Return the ``(K, dim)`` textual embeddings of ``emotions``.

    Parameters
    ----------
    emotions : sequence of str
        Emotion specifications (see the module docstring).
    source : None, str, path-like, mapping or encoder, default=None
        Where the word vectors come from (see the module docstring).

    Returns
    -------
    ndarray of shape (K, dim), dtype float32

    Raises
    ------
    UnknownWordError
        If any word is missing from the source; the message names all of them.

    Examples
    --------
    >>> from skmemo.vectors import emotion_vectors
    >>> emotion_vectors(["happy", "sad|sadness"]).shape
    (2, 50)
    """
    emotions = list(emotions)
    if not emotions:
        raise ValueError("emotions is empty: give at least one emotion word")
    if hasattr(source, "embed_emotions"):
        return _encoded_emotions(source, emotions)
    words = _words_of(emotions)
    vectors = resolve_source(source, words)
    missing = sorted(w for w in words if w not in vectors)
    if missing:
        where = getattr(vectors, "name", type(vectors).__name__)
        raise UnknownWordError(
            f"no word vector for {missing} in {where}; use another word form, "
            f"or pass vectors for them"
        )
    rows, dim = [], None
    for spec in emotions:
        forms = []
        for form in parse_emotion(spec):
            vecs = [np.asarray(vectors[w], dtype=np.float32).ravel() for w in form]
            forms.append(np.mean(vecs, axis=0))
        row = np.mean(forms, axis=0)
        if dim is None:
            dim = row.shape[0]
        elif row.shape[0] != dim:
            raise ValueError(
                f"word vectors disagree in dimension: {spec!r} has {row.shape[0]}, "
                f"earlier emotions have {dim}"
            )
        if not np.all(np.isfinite(row)):
            raise ValueError(f"the word vector of {spec!r} contains NaN or inf")
        rows.append(row)
    return np.stack(rows).astype(np.float32)
