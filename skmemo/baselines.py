"""The paper's baselines: early- and late-fusion LSTM classifiers.

Dai et al. (AACL 2020, section 5.4) compare their model with an early-fusion
LSTM (EF-LSTM) and a late-fusion LSTM (LF-LSTM). Both end in an ordinary
linear output layer, one row per emotion. For zero-shot evaluation the paper
appends a *freshly initialised* row for each unseen emotion: such a row has
never been trained, so the baselines cannot transfer and score near chance
(paper Table 4). The estimators here do exactly that in :meth:`add_emotions`.

Both estimators are siblings of :class:`~skmemo.MultimodalEmotionClassifier`
on the same private base, so input validation, the validation split, early
stopping, the balanced ``pos_weight``, thresholds, the training transaction,
cloning, pickling and ``save`` behave exactly as in the main estimator; each
declares only the parameters it honours (no fusion, pre-training, contrastive
loss or episodic memory).

- :class:`EarlyFusionLSTMClassifier`: the modalities are concatenated per time
  step (shorter sequences are padded to the longest, on the side given by
  ``padding``), one bidirectional LSTM reads the result, a linear layer maps
  its last real step to K logits.
- :class:`LateFusionLSTMClassifier`: one bidirectional LSTM and one linear
  layer per modality; the logits of the given modalities are averaged.

Encoders are skmemo's :class:`~skmemo.modules.SequenceEncoder` (directions
summed, last *real* step), so padding never changes a prediction.
"""

import numbers

import torch
from sklearn.utils._param_validation import Interval
from torch import nn

from ._base import _EmotionNetBase
from ._checks import check_padding
from ._params import ModalityMap
from .modules import MODALITIES, SequenceEncoder, _left_align, lengths_from_padding

__all__ = [
    "EarlyFusionLSTM",
    "LateFusionLSTM",
    "EarlyFusionLSTMClassifier",
    "LateFusionLSTMClassifier",
]


# ----------------------------------------------------------------------
# torch modules
# ----------------------------------------------------------------------
def _grow_linear(linear, k):
    """A copy of ``linear`` with ``k`` freshly initialised output rows appended."""
    weight = linear.weight
    grown = nn.Linear(linear.in_features, linear.out_features + k)
    grown = grown.to(device=weight.device, dtype=weight.dtype)
    with torch.no_grad():
        grown.weight[: linear.out_features] = linear.weight
        grown.bias[: linear.out_features] = linear.bias
    return grown


def _check_common(input_dims, n_emotions, padding):
    unknown = set(input_dims) - set(MODALITIES)
    if not input_dims or unknown:
        raise ValueError(
            f"input_dims must map some of {MODALITIES} to feature sizes; got "
            f"{dict(input_dims)}"
        )
    if int(n_emotions) < 1:
        raise ValueError(f"n_emotions must be >= 1, got {n_emotions}")
    check_padding(padding)
    return tuple(m for m in MODALITIES if m in input_dims)


def _given(inputs, modalities):
    present = {m: x for m, x in inputs.items() if x is not None}
    if not present:
        raise ValueError("no modality given to the model")
    extra = set(present) - set(modalities)
    if extra:
        raise ValueError(f"the model was not built for modalities {sorted(extra)}")
    return present


def _pad_time(x, T, padding):
    """Zero-pad (B, T_x, D) to (B, T, D) at the front ("pre") or the back."""
    missing = T - x.shape[1]
    if missing == 0:
        return x
    zeros = x.new_zeros(x.shape[0], missing, x.shape[2])
    return torch.cat([zeros, x] if padding == "pre" else [x, zeros], dim=1)


def _real_lengths(x, lengths, padding):
    if lengths is None:
        return lengths_from_padding(x, padding)
    if bool((lengths == 0).any()):
        raise ValueError(
            "the baseline models need every given modality for every sample; a "
            "length of 0 (absent modality) is handled by MultimodalEmotionClassifier")
    return lengths.long()


class EarlyFusionLSTM(nn.Module):
    """Early fusion: per-step concatenation, one recurrent encoder, a linear head.

    Parameters
    ----------
    input_dims : dict
        ``{modality: n_features}`` of the modalities the model reads.
    n_emotions : int
        Number of output logits K.
    hidden_size : int, default=64
        Hidden units per direction of the encoder.
    num_layers : int, default=2
    rnn : {"lstm", "gru"}, default="lstm"
    dropout : float, default=0.15
    bidirectional : bool, default=True
    padding : {"pre", "post"}, default="pre"
        Side of the zero padding, in the inputs and when shorter modalities
        are padded to the longest one.

    Notes
    -----
    A fitted modality missing at prediction time is read as all zeros. The
    fused sequence is as long as the longest real sequence of the sample.
    """

    def __init__(self, input_dims, n_emotions, hidden_size=64, num_layers=2, rnn="lstm",
                 dropout=0.15, bidirectional=True, padding="pre"):
        super().__init__()
        self.modalities = _check_common(input_dims, n_emotions, padding)
        self.input_dims = {m: int(input_dims[m]) for m in self.modalities}
        self.padding = padding
        # a ModuleDict like the main model's, so that encoder-wide settings
        # (e.g. freezing the encoders) reach it
        self.encoders = nn.ModuleDict({"fused": SequenceEncoder(
            sum(self.input_dims.values()), int(hidden_size), num_layers, rnn, dropout,
            bidirectional)})
        self.head = nn.Linear(int(hidden_size), int(n_emotions))

    @property
    def n_emotions(self):
        return self.head.out_features

    def add_emotions(self, vectors):
        """Append one freshly initialised output row per row of ``vectors``.

        The vectors themselves are ignored: this model has no emotion embeddings.
        """
        self.head = _grow_linear(self.head, len(vectors))

    def forward(self, text=None, audio=None, visual=None, text_lengths=None,
                audio_lengths=None, visual_lengths=None):
        given = _given({"text": text, "audio": audio, "visual": visual}, self.modalities)
        given_lengths = {"text": text_lengths, "audio": audio_lengths,
                         "visual": visual_lengths}
        B = next(iter(given.values())).shape[0]
        T = max(x.shape[1] for x in given.values())
        ref = next(iter(given.values()))
        parts, lengths = [], []
        for m in self.modalities:
            x = given.get(m)
            if x is None:  # a fitted modality left out at inference: zeros
                parts.append(ref.new_zeros(B, T, self.input_dims[m]))
                continue
            lengths.append(_real_lengths(x, given_lengths[m], self.padding))
            parts.append(_pad_time(x, T, self.padding))
        x = torch.cat(parts, dim=-1)  # (B, T, sum D_m)
        L = torch.stack(lengths).amax(dim=0)  # (B,)
        if self.padding == "pre":
            x = _left_align(x, L)
        out = self.encoders["fused"](x, L)  # (B, T', H)
        return self.head(SequenceEncoder.last_step(out, L))  # (B, K)


class LateFusionLSTM(nn.Module):
    """Late fusion: one encoder and one linear head per modality, logits averaged.

    Parameters
    ----------
    input_dims : dict
        ``{modality: n_features}`` of the modalities the model reads.
    n_emotions : int
        Number of output logits K.
    hidden_sizes : dict, default=None
        ``{modality: hidden size}``; missing entries are 64.
    num_layers : int, default=2
    rnn : {"lstm", "gru"}, default="lstm"
    dropout : float, default=0.15
    bidirectional : bool, default=True
    padding : {"pre", "post"}, default="pre"

    Notes
    -----
    With some modalities left out at inference, the logits of the given ones
    are averaged.
    """

    def __init__(self, input_dims, n_emotions, hidden_sizes=None, num_layers=2,
                 rnn="lstm", dropout=0.15, bidirectional=True, padding="pre"):
        super().__init__()
        self.modalities = _check_common(input_dims, n_emotions, padding)
        self.padding = padding
        sizes = dict.fromkeys(MODALITIES, 64)
        sizes.update(hidden_sizes or {})
        self.hidden_sizes = {m: int(sizes[m]) for m in self.modalities}
        self.encoders = nn.ModuleDict({
            m: SequenceEncoder(int(input_dims[m]), self.hidden_sizes[m], num_layers, rnn,
                               dropout, bidirectional)
            for m in self.modalities
        })
        self.heads = nn.ModuleDict({
            m: nn.Linear(self.hidden_sizes[m], int(n_emotions)) for m in self.modalities
        })

    @property
    def n_emotions(self):
        return next(iter(self.heads.values())).out_features

    def add_emotions(self, vectors):
        """Append one freshly initialised row per new emotion to every head.

        The vectors themselves are ignored: this model has no emotion embeddings.
        """
        for m in self.modalities:
            self.heads[m] = _grow_linear(self.heads[m], len(vectors))

    def forward(self, text=None, audio=None, visual=None, text_lengths=None,
                audio_lengths=None, visual_lengths=None):
        given = _given({"text": text, "audio": audio, "visual": visual}, self.modalities)
        given_lengths = {"text": text_lengths, "audio": audio_lengths,
                         "visual": visual_lengths}
        logits = []
        for m, x in given.items():
            L = _real_lengths(x, given_lengths[m], self.padding)
            if self.padding == "pre":
                x = _left_align(x, L)
            out = self.encoders[m](x, L)  # (B, T', H_m)
            logits.append(self.heads[m](SequenceEncoder.last_step(out, L)))  # (B, K)
        return torch.stack(logits).mean(dim=0)  # (B, K)


# ----------------------------------------------------------------------
# estimators
# ----------------------------------------------------------------------
class _BaselineMixin:
    """What both baseline estimators change in the main estimator."""

    def _module_kwargs(self):
        kwargs = super()._module_kwargs()
        # rows of emotion_vectors_ = current emotions, also after add_emotions
        kwargs["n_emotions"] = len(self.emotion_vectors_)
        return kwargs

    def add_emotions(self, words, *, threshold=None):
        """Add emotions with freshly initialised output rows (no transfer).

        As in the paper's zero-shot comparison, each new emotion gets a new,
        randomly initialised row of the output layer(s); the word vectors are
        looked up (so the same words are accepted as by the main estimator) but
        not used. Expect chance-level scores for the new emotions until the
        estimator is trained on them (e.g. with :meth:`partial_fit`).

        Parameters
        ----------
        words : list of str or mapping
        threshold : float, array-like or None, default=None
            As in :meth:`MultimodalEmotionClassifier.add_emotions`.

        Returns
        -------
        self

        Notes
        -----
        The new rows are drawn from a generator seeded by ``random_state`` and
        the number of emotions, so they are reproducible. The optimizer is
        rebuilt (its state is reset) so that a later :meth:`partial_fit` trains
        the grown output layer.
        """
        self._check_fitted("add_emotions")
        offset = 7919 * (len(self.emotions_) + 1)
        with self._rng(offset=offset):
            super().add_emotions(words, threshold=threshold)
        self.initialize_optimizer()
        return self


_SHARED_DOC = """
    The other parameters are those of
    :class:`~skmemo.MultimodalEmotionClassifier` and mean the same:
    ``emotions``, ``word_vectors`` (emotion words are still looked up, so
    unknown words fail as in the main estimator, but the vectors are not used),
    ``rnn``, ``num_layers``, ``dropout``, ``padding``, ``threshold``,
    ``class_weight``, ``lr``, ``batch_size``, ``max_epochs``, ``gradient_clip``,
    ``validation_fraction``, ``early_stopping_patience``, ``lr_patience``,
    ``predict_batch_size``, ``bucket_by_length``, ``precision``,
    ``random_state``, ``device``, ``verbose``, ``warm_start`` and any skorch
    argument.

    Attributes
    ----------
    emotions_ : list of str
        Current emotions (fitted, then added).
    module_ : torch.nn.Module
        The fitted network.
    classes_ : ndarray of shape (K, 2)
        ``np.array([[0, 1]] * K)``.
"""


class EarlyFusionLSTMClassifier(_BaselineMixin, _EmotionNetBase):
    __doc__ = """Early-fusion LSTM baseline (EF-LSTM of Dai et al., 2020).

    The modalities are concatenated at every time step (a shorter modality is
    zero-padded to the longest on the ``padding`` side) and read by one
    bidirectional recurrent encoder; a linear layer maps the last real step to
    one logit per emotion. :meth:`add_emotions` appends freshly initialised
    output rows, so new emotions are not transferred.

    Parameters
    ----------
    emotions : list of str, default=None
        The K emotion words, in the column order of ``y``.
    hidden_size : int, default=64
        Hidden units per direction of the encoder.
    module : type, default=EarlyFusionLSTM
    **kwargs
        The shared parameters listed below, and any skorch argument.
""" + _SHARED_DOC + """
    Examples
    --------
    >>> from skmemo.baselines import EarlyFusionLSTMClassifier
    >>> from skmemo.datasets import make_emotion_dataset
    >>> X, Y = make_emotion_dataset(n_samples=60, emotions=["happy", "sad"],
    ...                             seq_len=5, random_state=0)
    >>> clf = EarlyFusionLSTMClassifier(["happy", "sad"], hidden_size=8, max_epochs=1,
    ...                                 random_state=0).fit(X, Y)
    >>> clf.add_emotions(["fear"]).predict_proba(X).shape
    (60, 3)
    """

    _parameter_constraints = {
        **_EmotionNetBase._parameter_constraints,
        "hidden_size": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(self, emotions=None, *, hidden_size=64, module=EarlyFusionLSTM, **kwargs):
        super().__init__(emotions, module=module, **kwargs)
        self.hidden_size = hidden_size

    def _module_kwargs(self):
        kwargs = super()._module_kwargs()
        kwargs["hidden_size"] = self.hidden_size
        return kwargs



class LateFusionLSTMClassifier(_BaselineMixin, _EmotionNetBase):
    __doc__ = """Late-fusion LSTM baseline (LF-LSTM of Dai et al., 2020).

    One bidirectional recurrent encoder and one linear output layer per
    modality; the per-modality logits are averaged (over the modalities given
    at prediction time). :meth:`add_emotions` appends freshly initialised
    output rows to every head, so new emotions are not transferred.

    Parameters
    ----------
    emotions : list of str, default=None
        The K emotion words, in the column order of ``y``.
    hidden_sizes : dict, default=None
        ``{modality: hidden size}``; missing entries are 64.
    module : type, default=LateFusionLSTM
    **kwargs
        The shared parameters listed below, and any skorch argument.
""" + _SHARED_DOC + """
    Examples
    --------
    >>> from skmemo.baselines import LateFusionLSTMClassifier
    >>> from skmemo.datasets import make_emotion_dataset
    >>> X, Y = make_emotion_dataset(n_samples=60, emotions=["happy", "sad"],
    ...                             seq_len=5, random_state=0)
    >>> clf = LateFusionLSTMClassifier(["happy", "sad"], max_epochs=1, random_state=0,
    ...                                hidden_sizes={"text": 8, "audio": 8, "visual": 8})
    >>> clf.fit(X, Y).predict_proba({"audio": X["audio"]}).shape
    (60, 2)
    """

    _parameter_constraints = {
        **_EmotionNetBase._parameter_constraints,
        "hidden_sizes": [ModalityMap([Interval(numbers.Integral, 1, None, closed="left")],
                                     "positive int"), None],
    }

    def __init__(self, emotions=None, *, hidden_sizes=None, module=LateFusionLSTM, **kwargs):
        super().__init__(emotions, module=module, **kwargs)
        self.hidden_sizes = hidden_sizes

    def _module_kwargs(self):
        kwargs = super()._module_kwargs()
        kwargs["hidden_sizes"] = self.hidden_sizes
        return kwargs
