"""Text: raw strings -> word-vector sequences ``(n, T, d)`` with their lengths."""

import os
import re
import unicodedata
import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..data import MultimodalData
from ..vectors import DEFAULT_VECTORS, load_default_vectors, read_word_vector_file

__all__ = ["WordVectorizer", "tokenize"]

# Apostrophe look-alikes, mapped to "'" before tokenising: the right and left single
# quotation marks, the modifier letter apostrophe, the prime, the grave and acute
# accents, and the C1 control character U+0092 that Windows-1252 text decoded as
# Latin-1 leaves where a curly apostrophe was (MELD's transcripts hold some).
_APOSTROPHES = dict.fromkeys(map(ord, "\u2019\u2018\u02bc\u2032`\u00b4\x92"), "'")
_DASHES = dict.fromkeys(map(ord, "\u2013\u2014\u2015\u2212"), " - ")
# PTB-style clitics, split off as GloVe's tokeniser does: "don't" -> "do", "n't".
_CLITIC = re.compile(r"(?i)(n't|'s|'m|'re|'ll|'ve|'d)$")
_TOKEN = re.compile(
    r"[^\W_]+(?:['\-][^\W_]+)*'?"  # words, with inner apostrophes and hyphens
    r"|\.{2,}|[!?]+|[^\w\s]"  # "...", runs of ! and ?, any other symbol
)
_OOV = ("skip", "zero", "error")
_EMPTY = ("error", "zero")
_WORD_EMPTY = ("warn", "zero", "error")  # WordVectorizer: "warn" by default
_SIDES = ("pre", "post")


def _normalise(text, lowercase):
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).translate(_DASHES)
    return text.lower() if lowercase else text


def tokenize(text, *, lowercase=True, punctuation=True):
    """Split one string into the tokens :class:`WordVectorizer` looks up.

    The rules, in order:

    1. Unicode NFKC normalisation (``"…"`` becomes ``"..."``); apostrophe
       look-alikes (``’ ‘ ʼ ′ ` ´`` and the stray Windows-1252 byte ``\\x92``)
       become ``'``; en and em dashes become ``-`` between spaces.
    2. Lower case when ``lowercase`` (GloVe 6B is uncased).
    3. Tokens are words (letters and digits, with inner apostrophes and
       hyphens: ``"o'clock"``, ``"well-known"``), runs of ``!`` and ``?``
       (``"?!"``), ellipses, and every other symbol on its own.
    4. Clitics are split off as in the Penn Treebank convention GloVe was
       trained with: ``"don't"`` -> ``"do" "n't"``, ``"I'm"`` -> ``"i" "'m"``,
       ``"company's"`` -> ``"company" "'s"``. A trailing lone apostrophe
       (``"goin'"``) is dropped.
    5. Punctuation tokens are dropped unless ``punctuation`` is true.

    Parameters
    ----------
    text : str
    lowercase : bool, default=True
    punctuation : bool, default=True
        Keep punctuation tokens. GloVe has vectors for ``! ? . , ...``, and
        ``!`` and ``?`` carry emotion (surprise, anger).

    Returns
    -------
    list of str

    Examples
    --------
    >>> from skmemo.feature_extraction import tokenize
    >>> tokenize("I don\\x92t know... Wow!!")
    ['i', 'do', "n't", 'know', '...', 'wow', '!!']
    >>> tokenize("It’s well-known, isn't it?", punctuation=False)
    ['it', "'s", 'well-known', 'is', "n't", 'it']
    """
    if not isinstance(text, str):
        raise TypeError(f"expected a string, got {type(text).__name__}: {text!r}")
    tokens = []
    for match in _TOKEN.finditer(_normalise(text, lowercase)):
        token = match.group()
        if token[0].isalnum():
            token = token.rstrip("'")
            clitic = _CLITIC.search(token)
            if clitic and clitic.start() > 0:
                tokens += [token[: clitic.start()], clitic.group()]
            else:
                tokens.append(token)
        elif punctuation:
            tokens.append(token)
    return tokens


class _Lookup:
    """Vectors for tokens from one word-vector source; caches what it read."""

    def __init__(self, source):
        self.source = source
        self.file = isinstance(source, (str, os.PathLike)) and source != DEFAULT_VECTORS
        if source is None or (isinstance(source, str) and source == DEFAULT_VECTORS):
            self.mapping = load_default_vectors()
        elif self.file:
            self.mapping = {}
            self.absent = set()
        elif hasattr(source, "__getitem__") and hasattr(source, "__contains__"):
            self.mapping = source
        else:
            raise TypeError(
                "word_vectors must be None, 'glove-6b-50d', a path to a GloVe/word2vec "
                f"text file, or a mapping word -> vector; got {type(source).__name__}"
            )

    def ensure(self, words):
        """Read from a file source the words not looked up before."""
        if not self.file:
            return
        new = {w for w in words if w not in self.mapping and w not in self.absent}
        if new:
            found = read_word_vector_file(self.source, new)
            for w in found:
                self.mapping[w] = found[w]
            self.absent |= new - set(found)

    def get(self, word):
        """Vector of ``word``, else of the hyphen-split parts; None when unknown."""
        if word in self.mapping:
            return [np.asarray(self.mapping[word], dtype=np.float32).ravel()]
        if "-" in word:
            parts = [p for p in word.split("-") if p in self.mapping]
            if parts:
                return [np.asarray(self.mapping[p], dtype=np.float32).ravel()
                        for p in parts]
        return None

    def dim(self, probe_words):
        dim = getattr(self.mapping, "dim", None)
        if dim is not None:
            return int(dim)
        self.ensure(probe_words)
        for word in list(self.mapping):
            return int(np.asarray(self.mapping[word]).size)
        raise ValueError(
            f"the word-vector source {self.source!r} gives no vector for any word of "
            "the training texts, so its dimension is unknown"
        )


def as_texts(X):
    """``X`` (a list, 1-D array, Series or one-column table of str) as a list of str."""
    if isinstance(X, str):
        raise TypeError(
            "X must be a sequence of strings, one per utterance, not one string; "
            "wrap it in a list: [text]")
    if hasattr(X, "ndim") and X.ndim == 2:
        if X.shape[1] != 1:
            raise ValueError(
                f"X must be one column of strings; got a table of shape {X.shape}. "
                "Select the text column, or use MultimodalColumns")
        X = X.iloc[:, 0] if hasattr(X, "iloc") else X[:, 0]  # a 1-column table
    try:
        texts = list(X)
    except TypeError:
        raise TypeError(
            f"X must be a sequence of strings; got {type(X).__name__}") from None
    bad = [(i, t) for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        i, t = bad[0]
        raise TypeError(
            f"X must hold strings; item {i} is {type(t).__name__} {t!r} "
            f"({len(bad)} non-string item(s); fill missing text with '', which "
            "WordVectorizer encodes as one zero step)")
    if not texts:
        raise ValueError("X holds no utterance")
    return texts


def pad_sequences(rows, d, max_len, truncation, padding):
    """Cut and zero-pad per-utterance step lists to one ``(n, T, d)`` array.

    Parameters
    ----------
    rows : list of (list of ndarray of shape (d,) or ndarray of shape (t, d))
        The steps of each utterance; an empty one becomes one zero step.
    d : int
        Feature dimension.
    max_len : int
        Longest sequence kept; ``T`` is the longest kept length.
    truncation, padding : {"pre", "post"}
        Which end of a longer sequence is cut, where the zeros go.

    Returns
    -------
    out : ndarray of shape (n, T, d), float32
    lengths : ndarray of shape (n,), int64
    """
    lengths = np.array([min(max(len(v), 1), max_len) for v in rows], np.int64)
    T = int(lengths.max())
    out = np.zeros((len(rows), T, d), np.float32)
    for i, vecs in enumerate(rows):
        if not len(vecs):
            continue
        if len(vecs) > max_len:
            vecs = vecs[-max_len:] if truncation == "pre" else vecs[:max_len]
        seq = np.stack(vecs) if isinstance(vecs, list) else np.asarray(vecs, np.float32)
        if seq.shape[1] != d:
            raise ValueError(
                f"vectors have {seq.shape[1]} dimensions in utterance {i}, but "
                f"{d} were seen in fit")
        if padding == "pre":
            out[i, T - len(seq):] = seq
        else:
            out[i, :len(seq)] = seq
    return out, lengths


def check_choices(est, choices):
    """Raise if a parameter of ``est`` is not one of its allowed values."""
    for name, allowed in choices:
        if getattr(est, name) not in allowed:
            raise ValueError(
                f"{name} must be one of {list(allowed)}, got {getattr(est, name)!r}")


def check_positive_int(name, value):
    """Raise unless ``value`` is a positive integer (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


class WordVectorizer(TransformerMixin, BaseEstimator):
    """Turn raw utterances into word-vector sequences for the estimator.

    Each string is tokenised (:func:`tokenize`), each token replaced by its
    word vector, and the sequences zero-padded to a common length. The output
    is a :class:`~skmemo.MultimodalData` holding ``"text"`` ``(n, T, d)``
    float32 and ``"text_lengths"`` ``(n,)``, ready for
    :class:`~skmemo.MultimodalEmotionClassifier` or for
    :class:`MultimodalColumns`. ``T`` is the longest sequence of the batch,
    at most ``max_len``.

    Parameters
    ----------
    word_vectors : None, str, path-like or mapping, default=None
        Where the vectors come from, as for the estimator's ``word_vectors``:
        None for the bundled GloVe 6B 50d subset, a path to a GloVe or
        word2vec text file (streamed; only the words met are kept, in a cache
        that pickles leave out), or a ``word -> vector`` mapping. Give the
        estimator the same source, so that utterances and emotion words share
        one space. A pickle stores this parameter only: the bundled vectors
        and files are referenced, not copied (a mapping is pickled with it).
    lowercase : bool, default=True
        Lower-case before lookup (GloVe 6B is uncased).
    punctuation : bool, default=True
        Keep punctuation tokens (``! ? ...`` have vectors and carry emotion).
    oov : {"skip", "zero", "error"}, default="skip"
        Out-of-vocabulary tokens: left out of the sequence, kept as a zero
        vector (the position is kept), or refused with an error naming them.
        A hyphenated token without a vector (``"hey-hey"``) is first replaced
        by the vectors of its parts that have one.
    empty : {"warn", "zero", "error"}, default="warn"
        An utterance left with no token (empty string, only unknown words
        under ``oov="skip"``, as MELD's ``'Enhh'`` or ``'Yowza'``): one zero
        step (length 1, so the model sees "no evidence"), with a warning that
        counts them (``"warn"``) or silently (``"zero"``); ``"error"`` (strict)
        refuses them, naming the first.
    max_len : int, default=50
        Longest sequence kept.
    truncation : {"pre", "post"}, default="pre"
        Which end of a longer utterance is cut: "pre" drops the first tokens
        and keeps the last ``max_len`` (the CMU-MultimodalSDK's choice),
        "post" keeps the first ``max_len``.
    padding : {"pre", "post"}, default="pre"
        Where the zeros of shorter sequences go. Must match the estimator's
        ``padding``: with "pre" (the estimator's default) the real steps are
        the last ``text_lengths[i]`` ones.

    Attributes
    ----------
    n_features_out_ : int
        Dimension of the word vectors.

    Examples
    --------
    >>> from skmemo.feature_extraction import WordVectorizer
    >>> Xt = WordVectorizer(max_len=8).fit_transform(["I love it!", "so sad"])
    >>> Xt["text"].shape, Xt["text_lengths"].tolist()
    ((2, 4, 50), [4, 2])
    """

    def __init__(self, word_vectors=None, *, lowercase=True, punctuation=True, oov="skip",
                 empty="warn", max_len=50, truncation="pre", padding="pre"):
        self.word_vectors = word_vectors
        self.lowercase = lowercase
        self.punctuation = punctuation
        self.oov = oov
        self.empty = empty
        self.max_len = max_len
        self.truncation = truncation
        self.padding = padding

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_lookup", None)  # vectors are a reference, never pickled
        return state

    def _check_params(self):
        check_choices(self, (("oov", _OOV), ("empty", _WORD_EMPTY), ("truncation", _SIDES),
                             ("padding", _SIDES)))
        check_positive_int("max_len", self.max_len)

    def _get_lookup(self):
        lookup = getattr(self, "_lookup", None)
        if lookup is None or lookup.source is not self.word_vectors:
            lookup = _Lookup(self.word_vectors)
            self._lookup = lookup
        return lookup

    def fit(self, X, y=None):
        """Check the parameters and the input; read the vector dimension.

        Parameters
        ----------
        X : sequence of str
        y : ignored

        Returns
        -------
        self
        """
        self._check_params()
        texts = as_texts(X)
        lookup = self._get_lookup()
        probe = {t for text in texts[:200] for t in self.tokenize(text)}
        self.n_features_out_ = lookup.dim(probe)
        return self

    def tokenize(self, text):
        """Tokens of one utterance with this vectorizer's settings (:func:`tokenize`)."""
        return tokenize(text, lowercase=self.lowercase, punctuation=self.punctuation)

    def transform(self, X):
        """Word-vector sequences of ``X``.

        Parameters
        ----------
        X : sequence of str
            A list, a 1-D array, a pandas Series or a one-column DataFrame.

        Returns
        -------
        MultimodalData
            ``"text"``: ``(n, T, d)`` float32, ``"text_lengths"``: ``(n,)`` int64.

        Raises
        ------
        TypeError
            If ``X`` is one string or holds something other than strings.
        ValueError
            If an utterance has no token left and ``empty="error"``, or a token
            is unknown and ``oov="error"``.
        """
        check_is_fitted(self, "n_features_out_")
        self._check_params()
        texts = as_texts(X)
        lookup = self._get_lookup()
        tokenised = [self.tokenize(t) for t in texts]
        lookup.ensure({t for tokens in tokenised for t in tokens}
                      | {p for tokens in tokenised for t in tokens if "-" in t
                         for p in t.split("-")})
        d = self.n_features_out_
        zero = np.zeros(d, np.float32)
        rows, unknown, empty = [], [], []
        for i, tokens in enumerate(tokenised):
            vecs = []
            for token in tokens:
                found = lookup.get(token)
                if found is None:
                    unknown.append((i, token))
                    if self.oov == "zero":
                        vecs.append(zero)
                else:
                    vecs += found
            if not vecs:
                empty.append(i)
            rows.append(vecs)
        if unknown and self.oov == "error":
            shown = sorted({t for _, t in unknown})[:10]
            raise ValueError(
                f"{len(unknown)} token(s) have no word vector, e.g. {shown} (first in "
                f"utterance {unknown[0][0]}); set oov='skip' or 'zero' to allow them")
        if empty and self.empty != "zero":
            shown = [texts[i][:40] for i in empty[:3]]
            message = (f"{len(empty)} of {len(texts)} utterance(s) have no token with a "
                       f"word vector (first at index {empty[0]}: {shown})")
            if self.empty == "error":
                raise ValueError(f"{message}; set empty='warn' or 'zero' to encode them "
                                 "as one zero step")
            warnings.warn(f"{message}; each is encoded as one zero step (empty='zero' "
                          "silences this, empty='error' refuses them)", UserWarning,
                          stacklevel=2)
        out, lengths = pad_sequences(rows, d, self.max_len, self.truncation, self.padding)
        return MultimodalData(text=out, text_lengths=lengths)
