"""PyTorch modules of the modality-transferable emotion-embedding model.

Paper: Dai, Liu, Yu, Fung. "Modality-Transferable Emotion Embeddings for
Low-Resource Multimodal Emotion Recognition", AACL-IJCNLP 2020,
https://arxiv.org/abs/2009.09629

Pure torch: nothing here knows about scikit-learn. Shapes use
B = batch, T = time steps, D = input features, H = hidden size,
K = number of emotions, d = word-vector dimension.

The model, read top to bottom:

1. one bidirectional recurrent encoder per modality; the two directions'
   outputs are *summed* and the output at the last *real* step is the sequence
   vector ``r_m`` (padded steps never reach a real step's output: see
   :class:`SequenceEncoder`);
2. textual emotion embeddings ``E_t`` (K, d): word vectors, frozen;
3. mapping functions ``E_a = f_ta(E_t)``, ``E_v = f_tv(E_t)``: one affine layer each;
4. scores ``s_m = E_m r_m``: raw dot products, (B, K) per modality;
5. fusion ``sum_m w_m s_m`` with learned weights initialised to 1/3, over the
   modalities present for each sample (length 0 in ``<modality>_lengths``
   marks a modality absent for a sample: it gets no encoder output and no
   score, and the sum is rescaled by ``n_fitted / n_present``).

Because ``E_t`` are word vectors and ``f_ta``, ``f_tv`` are functions of them, a
new emotion is added by appending its word vector (zero-shot).

Text scoring for sentence encoders (``text_scoring="calibrated_cosine"``,
:func:`gated_calibrated_cosine`): when the text features come from a sentence
encoder whose space also holds the emotion names, the text score keeps the
encoder's geometry. With ``u`` (B, d) the mean of the input text steps (the
pooled sentence embedding), ``delta = W r_t`` (B, d) a learned correction of it
(``W`` initialised at zero) and ``a`` (K,) one gate per emotion (1 for the
fitted emotions, 0 for emotions added later)::

    c_k = cos(u + a_k delta, E_t[k])
    s_t = tau * (c - mean_{j fitted} cos(u, E_t[j]))                  (B, K)

At initialisation the text score *is* the encoder's training-free calibrated
cosine (times the learned scale ``tau``). Training moves the representation
the fitted emotions read; an emotion added later reads the encoder's own
embedding (its gate is 0) until a few-shot update trains its gate. The mean
subtracted is the encoder's own, over the fitted emotions: an added emotion
scores exactly its training-free calibrated cosine, and adding it leaves the
others' scores unchanged.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ._checks import check_padding
from ._recurrent import permute_rows, run_directions_apart
from .fusion import CrossModalEncoder

__all__ = [
    "MODALITIES",
    "check_modality_dropout",
    "lengths_from_padding",
    "SequenceEncoder",
    "EmotionEmbeddingModel",
    "calibrated_cosine",
    "gated_calibrated_cosine",
    "mean_over_steps",
]

TEXT_SCORINGS = ("dot", "calibrated_cosine")

MODALITIES = ("text", "audio", "visual")
_RNNS = {"lstm": nn.LSTM, "gru": nn.GRU}
# CPU inference packs batches whose real steps fill less than this share of
# B * max(lengths): per step and sample, the packed layers cost about 2-2.5x
# the fused kernels that run the padding too (measured, 2-layer LSTM 74 -> 64)
_PACK_BELOW = 0.45


def lengths_from_padding(x, padding="pre"):
    """Real lengths of zero-padded sequences.

    Parameters
    ----------
    x : Tensor of shape (B, T, D)
    padding : {"pre", "post"}
        ``"pre"``: leading all-zero steps are padding (CMU-MultimodalSDK);
        ``"post"``: trailing all-zero steps are padding.

    Returns
    -------
    LongTensor of shape (B,)
        At least 1: an all-zero sample is read as one (zero) step.
    """
    if x.is_floating_point() and x.shape[-1]:
        # |x| maximum: a quarter of the time of x.ne(0).any(-1); NaN counts as non-zero
        nonzero = x.abs().amax(dim=-1).ne(0)  # (B, T)
    else:
        nonzero = x.ne(0).any(dim=-1)
    T = x.shape[1]
    if padding == "post":
        nonzero = nonzero.flip(1)
    # index of the first real step; argmax of an all-False row is 0
    first = nonzero.to(torch.uint8).argmax(dim=1)
    lengths = T - first
    lengths = torch.where(nonzero.any(dim=1), lengths, torch.ones_like(lengths))
    return lengths.long()


def check_modality_dropout(value, modalities=MODALITIES):
    """Validate a modality-dropout setting; return ``{modality: probability}``.

    Parameters
    ----------
    value : None, float or dict
        None (or 0): no modality dropout. A float in ``[0, 1)``: the
        probability of dropping each modality of a training sample. A dict
        ``{modality: probability}``: one probability per modality (missing
        modalities are never dropped).
    modalities : sequence of str, default=MODALITIES
        The modalities the model reads.

    Returns
    -------
    dict
        ``{modality: probability}`` for the modalities with a probability
        above 0; empty when nothing is dropped.

    Examples
    --------
    >>> from skmemo.modules import check_modality_dropout
    >>> check_modality_dropout(0.25, ["text", "audio"])
    {'text': 0.25, 'audio': 0.25}
    >>> check_modality_dropout({"audio": 0.5, "visual": 0.0})
    {'audio': 0.5}
    """
    if value is None:
        return {}
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(MODALITIES))
        if unknown:
            raise ValueError(
                f"modality_dropout has unknown modalities {unknown}; use names among "
                f"{list(MODALITIES)}")
        probs = dict(value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        probs = dict.fromkeys(modalities, value)
    else:
        raise ValueError(
            "modality_dropout must be None, a probability in [0, 1) or a dict "
            f"{{modality: probability}}; got {value!r}")
    bad = {m: p for m, p in probs.items()
           if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1}
    if bad:
        raise ValueError(
            f"modality_dropout probabilities must lie in [0, 1); got {bad}")
    return {m: float(p) for m, p in probs.items() if p > 0 and m in modalities}


def _left_align(x, lengths):
    """Move each sample's last ``lengths[i]`` steps to the front: (B, T, D)."""
    B, T, D = x.shape
    shift = (T - lengths).to(x.device)  # (B,)
    step = torch.arange(T, device=x.device)[None, :]
    rows = torch.arange(B, device=x.device)[:, None] * T
    idx = (rows + (step + shift[:, None]) % T).reshape(-1)  # (B*T,)
    inverse = (rows + (step - shift[:, None]) % T).reshape(-1)
    return permute_rows(x, idx, inverse).view(B, T, D)


def _cpu_half(x):
    """float16 on the CPU, which torch's fused CPU recurrent kernels reject."""
    return x.dtype == torch.float16 or (
        torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.float16)


def mean_over_steps(x, lengths, padding="pre"):
    """Mean of each sample's real steps: (B, T, D) -> (B, D).

    Parameters
    ----------
    x : Tensor of shape (B, T, D)
    lengths : LongTensor of shape (B,)
        Real steps per sample; 0 gives a zero row.
    padding : {"pre", "post"}, default="pre"
        "pre": the real steps are the last ``lengths[i]``; "post": the first.
    """
    T = x.shape[1]
    step = torch.arange(T, device=x.device)[None, :]  # (1, T)
    L = lengths.to(x.device)[:, None]
    real = step >= T - L if padding == "pre" else step < L  # (B, T)
    total = (x * real[..., None].to(x.dtype)).sum(dim=1)
    return total / L.clamp(min=1).to(x.dtype)


def calibrated_cosine(u, E):
    """Cosine of every sample with every emotion, minus the sample's mean: (B, K).

    ``cos(u_i, E_k) - mean_j cos(u_i, E_j)``: an utterance that is close to
    every emotion name (a property of the utterance, not of one emotion) gets
    no credit for it.

    Parameters
    ----------
    u : Tensor of shape (B, d)
    E : Tensor of shape (K, d)
    """
    cos = F.normalize(u, dim=1) @ F.normalize(E, dim=1).T  # (B, K)
    return cos - cos.mean(dim=1, keepdim=True)


def gated_calibrated_cosine(u, delta, gates, E, reference=None):
    """Calibrated cosine of ``u + gates[k] * delta`` with each emotion k: (B, K).

    ``c_k = cos(u + a_k delta, E_k) - mean_{j in reference} cos(u, E_j)``:
    the subtracted mean is the encoder's own (uncorrected) one, so an emotion
    whose gate is 0 scores exactly its training-free calibrated cosine; with
    ``delta = 0`` (or all gates 0) and no ``reference`` it is
    :func:`calibrated_cosine` of ``u``.

    Parameters
    ----------
    u : Tensor of shape (B, d)
    delta : Tensor of shape (B, d)
    gates : Tensor of shape (K,)
    E : Tensor of shape (K, d)
    reference : BoolTensor of shape (K,), default=None
        The emotions whose mean is subtracted; None: all.
    """
    E = F.normalize(E, dim=1)
    a = gates[None, :]  # (1, K)
    dot = u @ E.T + a * (delta @ E.T)  # (B, K): (u + a_k delta) . E_k
    sq = ((u * u).sum(1, keepdim=True) + 2 * a * (u * delta).sum(1, keepdim=True)
          + a * a * (delta * delta).sum(1, keepdim=True))  # ||u + a_k delta||^2
    cos = dot / sq.clamp(min=1e-24).sqrt().clamp(min=1e-12)
    # the reference: the encoder's own cosines (no correction), so that an
    # emotion whose gate is closed keeps exactly its training-free score
    plain = F.normalize(u, dim=1) @ E.T  # (B, K)
    if reference is not None:
        plain = plain[:, reference]
    return cos - plain.mean(dim=1, keepdim=True)


class SequenceEncoder(nn.Module):
    """Bidirectional recurrent encoder whose directions are summed.

    Parameters
    ----------
    input_size : int
        Features per time step.
    hidden_size : int
        Hidden units per direction; also the output size.
    num_layers : int, default=2
    rnn : {"lstm", "gru"}, default="lstm"
    dropout : float, default=0.15
        Dropout between recurrent layers.
    bidirectional : bool, default=True
    """

    def __init__(self, input_size, hidden_size, num_layers=2, rnn="lstm",
                 dropout=0.15, bidirectional=True):
        super().__init__()
        if rnn not in _RNNS:
            raise ValueError(f"rnn must be one of {sorted(_RNNS)}, got {rnn!r}")
        self.hidden_size = hidden_size
        self.num_directions = 2 if bidirectional else 1
        self.rnn = _RNNS[rnn](
            input_size, hidden_size, num_layers=num_layers, batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0, bidirectional=bidirectional,
        )

    def forward(self, x, lengths):
        """Encode real steps only.

        Parameters
        ----------
        x : Tensor (B, T, D)
            Real steps first: sample i occupies ``x[i, :lengths[i]]``.
        lengths : LongTensor (B,)

        Returns
        -------
        Tensor (B, T', H)
            Directions summed; ``T' = max(lengths)``; steps past a sample's
            length are zero.

        Notes
        -----
        No output at a real step depends on a padded step, and the batch runs
        ``max(lengths)`` steps. On CUDA and in float16 on the CPU, the padding
        is skipped with packed sequences. On the CPU, torch's packed recurrent
        layers run step by step outside the fused kernels and have a backward
        pass whose cost grows with the square of the steps, so there each
        direction runs on its own over a copy in which the real steps come
        first: forward over ``x``, backward over each sample's real steps
        reversed (:func:`skmemo._recurrent.run_directions_apart`); padded steps
        then come after the real ones in both directions, and their outputs
        are set to zero. Without gradients, where padding fills most of the
        batch (real steps under ``_PACK_BELOW`` of ``B * T'``), packing is
        faster and is used. All ways compute the same function.
        """
        B = x.shape[0]
        T_max = int(lengths.max())
        x = x[:, :T_max]
        if bool((lengths == T_max).all()):
            out, _ = self.rnn(x)  # nothing to skip
        elif x.device.type != "cpu" or _cpu_half(x) or (
                not torch.is_grad_enabled() and int(lengths.sum()) < _PACK_BELOW * B * T_max):
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True,
                                          enforce_sorted=False)
            out, _ = self.rnn(packed)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=T_max)
        else:
            return run_directions_apart(self.rnn, x, lengths)  # (B, T', H)
        out = out.view(B, T_max, self.num_directions, self.hidden_size).sum(dim=2)
        return out  # (B, T', H)

    @staticmethod
    def last_step(out, lengths):
        """Output at each sample's last real step: (B, T, H) -> (B, H)."""
        idx = (lengths - 1).to(out.device)[:, None, None].expand(-1, 1, out.shape[-1])
        return out.gather(1, idx).squeeze(1)


class EmotionEmbeddingModel(nn.Module):
    """The modality-transferable emotion-embedding model (Dai et al., 2020).

    Parameters
    ----------
    emotion_vectors : array-like of shape (K, d)
        Textual emotion embeddings (word vectors); stored frozen.
    input_dims : dict
        ``{modality: n_features}`` for the modalities the model reads.
    hidden_sizes : dict, default=None
        ``{modality: hidden size}``. Missing entries: text = d (the paper's
        configuration, no projection; 64 with ``text_scoring=
        "calibrated_cosine"``), audio and visual = 64.
    num_layers : int, default=2
    rnn : {"lstm", "gru"}, default="lstm"
    dropout : float, default=0.15
    bidirectional : bool, default=True
    padding : {"pre", "post"}, default="pre"
        Which end of a sample holds the padding. Without lengths, leading
        ("pre") or trailing ("post") all-zero steps are padding; with lengths
        ``L``, "pre" reads the last ``L`` steps and "post" the first ``L``.
    fusion : {"weighted", "cross_attention"}, default="weighted"
        "cross_attention" enriches every modality's encoded sequence with the
        others through :class:`skmemo.fusion.CrossModalEncoder` before the
        per-modality scoring (MultiEMO-style); the scores are then fused by the
        learned weights as usual.
    attention_dim, attention_layers, attention_heads : int, default=64, 2, 4
        Width, depth and heads of the cross-modal attention.
    modality_dropout : None, float or dict, default=None
        In training mode only, drop each modality of each sample with this
        probability (one float for all, or ``{modality: probability}``), as
        if it were absent; a sample never loses all its modalities. See
        :func:`check_modality_dropout`.
    text_scoring : {"dot", "calibrated_cosine"}, default="dot"
        "dot": the paper's ``r_t E_t^T``. "calibrated_cosine": the encoder's
        calibrated cosine (reference: the fitted emotions) of the mean text
        input, corrected by ``W r_t``
        (``W`` zero at the start) behind one gate per emotion, with the
        emotion embeddings, scaled by a learned ``tau`` (see the module
        docstring).
    temperature : float, default=0.1
        With "calibrated_cosine": the initial ``1 / tau`` (``tau`` is learned).

    Notes
    -----
    Absent modalities. Length 0 in ``<modality>_lengths`` marks a modality
    absent for a sample. The sample is left out of that modality's encoder
    call (packed sequences refuse length 0); its sequence vector and scores
    for that modality are zero and do not enter the fusion, which is rescaled
    by ``n_fitted / n_present`` per sample, exactly as when the modality is
    not given at all. With cross-modal attention, an absent modality's keys
    are masked: the attention block that reads it leaves the sample's query
    unchanged.
    """

    def __init__(self, emotion_vectors, input_dims, hidden_sizes=None, num_layers=2,
                 rnn="lstm", dropout=0.15, bidirectional=True, padding="pre",
                 fusion="weighted", attention_dim=64, attention_layers=2,
                 attention_heads=4, modality_dropout=None, text_scoring="dot",
                 temperature=0.1):
        super().__init__()
        emotion_vectors = torch.as_tensor(emotion_vectors, dtype=torch.float32)
        if emotion_vectors.ndim != 2:
            raise ValueError("emotion_vectors must be a (K, d) matrix")
        unknown = set(input_dims) - set(MODALITIES)
        if not input_dims or unknown:
            raise ValueError(
                f"input_dims must map some of {MODALITIES} to feature sizes; got "
                f"{dict(input_dims)}"
            )
        check_padding(padding)
        if fusion not in ("weighted", "cross_attention"):
            raise ValueError(
                f"fusion must be 'weighted' or 'cross_attention', got {fusion!r}")
        if text_scoring not in TEXT_SCORINGS:
            raise ValueError(
                f"text_scoring must be one of {list(TEXT_SCORINGS)}, got {text_scoring!r}")
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature!r}")
        self.modalities = tuple(m for m in MODALITIES if m in input_dims)
        self.padding = padding
        self.modality_dropout = check_modality_dropout(modality_dropout, self.modalities)
        d = emotion_vectors.shape[1]
        # calibrated cosine: the text encoder computes only a correction of the
        # sentence embedding, and 64 units cost about what GloVe-50d tokens do
        sizes = {"text": 64 if text_scoring == "calibrated_cosine" else d,
                 "audio": 64, "visual": 64}
        sizes.update(hidden_sizes or {})
        self.hidden_sizes = {m: int(sizes[m]) for m in self.modalities}

        # (K, d): frozen, but part of the state so that added emotions persist
        self.register_buffer("emotion_embeddings", emotion_vectors.clone())
        self.encoders = nn.ModuleDict({
            m: SequenceEncoder(input_dims[m], self.hidden_sizes[m], num_layers, rnn,
                               dropout, bidirectional)
            for m in self.modalities
        })
        # f_ta, f_tv: word-vector space -> modality space
        self.mappings = nn.ModuleDict({
            m: nn.Linear(d, self.hidden_sizes[m])
            for m in self.modalities if m != "text"
        })
        # text hidden size != word dimension: a learned projection bridges them
        self.text_projection = (
            nn.Linear(self.hidden_sizes["text"], d)
            if "text" in self.modalities and self.hidden_sizes["text"] != d else None
        )
        self.fusion_weights = nn.Parameter(torch.full((len(MODALITIES),), 1 / 3))
        self.cross_modal = None
        if fusion == "cross_attention":
            if len(self.modalities) < 2:
                raise ValueError("fusion='cross_attention' needs at least two modalities")
            self.cross_modal = CrossModalEncoder(
                self.hidden_sizes, attention_dim, attention_layers, attention_heads)
        self.text_scoring = text_scoring
        if text_scoring == "calibrated_cosine" and "text" in self.modalities:
            if input_dims["text"] != d:
                raise ValueError(
                    "text_scoring='calibrated_cosine' compares the text input with the "
                    f"emotion embeddings: the text features ({input_dims['text']}) and "
                    f"the emotion vectors ({d}) must have the same size; embed both "
                    "with the same encoder")
            # log tau; W (H_t -> d), zero: no correction at the start; gates (K,)
            self.log_text_scale = nn.Parameter(torch.tensor(-math.log(temperature)))
            self.text_correction = nn.Linear(self.hidden_sizes["text"], d)
            nn.init.zeros_(self.text_correction.weight)
            nn.init.zeros_(self.text_correction.bias)
            self.emotion_gates = nn.Parameter(torch.ones(emotion_vectors.shape[0]))
            # the emotions of the fit: the reference of the calibration
            self.register_buffer(
                "fitted_emotions", torch.ones(emotion_vectors.shape[0], dtype=torch.bool))
            self.text_projection = None  # the correction maps r_t to d itself

    @property
    def n_emotions(self):
        return self.emotion_embeddings.shape[0]

    def add_emotions(self, vectors):
        """Append textual embeddings (k, d) of new emotions."""
        vectors = torch.as_tensor(vectors, dtype=self.emotion_embeddings.dtype,
                                  device=self.emotion_embeddings.device)
        self.emotion_embeddings = torch.cat([self.emotion_embeddings, vectors], dim=0)
        gates = getattr(self, "emotion_gates", None)
        if gates is not None:
            # closed gates: a new emotion reads the encoder's own embedding. The
            # same Parameter object, grown: an optimizer keeps its reference (its
            # state for it no longer fits and is dropped by the estimator)
            with torch.no_grad():
                gates.data = torch.cat([gates.data, gates.data.new_zeros(len(vectors))])
            self.fitted_emotions = torch.cat(
                [self.fitted_emotions, self.fitted_emotions.new_zeros(len(vectors))])

    def modality_embeddings(self):
        """Emotion embeddings in every modality's space: {m: (K, H_m)}."""
        E_t = self.emotion_embeddings  # (K, d)
        return {m: E_t if m == "text" else self.mappings[m](E_t)
                for m in self.modalities}

    def _inputs(self, inputs):
        present = {m: x for m, x in inputs.items() if m in MODALITIES and x is not None}
        if not present:
            raise ValueError("no modality given to the model")
        extra = set(present) - set(self.modalities)
        if extra:
            raise ValueError(f"the model was not built for modalities {sorted(extra)}")
        return present

    def _lengths(self, inputs, lengths):
        """Lengths of every given modality: explicit, else read from the padding."""
        out = {}
        for m, x in inputs.items():
            L = (lengths or {}).get(m)
            out[m] = lengths_from_padding(x, self.padding) if L is None else L.long()
        return out

    def encode_sequences(self, inputs, lengths=None):
        """Run the encoders: {m: ((B, T', H_m) outputs, (B,) lengths)}.

        A sample whose length is 0 for a modality is left out of that
        modality's encoder call; its outputs are zero. A modality absent from
        every sample of the batch is left out of the result.
        """
        inputs = self._inputs(inputs)
        encoded = {}
        for m, L in self._lengths(inputs, lengths).items():
            x = inputs[m]
            here = L > 0
            if bool(here.all()):
                encoded[m] = (self._encode_present(m, x, L), L)
            elif bool(here.any()):
                idx = here.nonzero().squeeze(1)
                out = self._encode_present(m, x[idx], L[idx])  # (b, T', H)
                full = out.new_zeros((x.shape[0],) + tuple(out.shape[1:]))
                encoded[m] = (full.index_copy(0, idx.to(out.device), out), L)
        return encoded

    def _encode_present(self, m, x, L):
        if self.padding == "pre":
            # only the last max(L) steps hold real data: align just those
            x = _left_align(x[:, x.shape[1] - int(L.max()):], L)
        return self.encoders[m](x, L)

    def encode(self, inputs, lengths=None, cross_modal=True, return_present=False):
        """Sequence vectors r_m: {m: (B, H_m)} (text projected to d if needed).

        ``cross_modal=False`` skips the cross-modal attention (used by
        unimodal contrastive pre-training). Rows of samples for which a
        modality is absent (length 0) are zero. With ``return_present=True``
        also returns ``{m: (B,) bool}``, True where the modality is present.
        A modality absent from every sample of the batch is in neither dict.
        """
        encoded = self.encode_sequences(inputs, lengths)
        if self.cross_modal is not None and cross_modal:
            seqs = self.cross_modal({m: o for m, (o, _) in encoded.items()},
                                    {m: L for m, (_, L) in encoded.items()})
            encoded = {m: (seqs[m], L) for m, (_, L) in encoded.items()}
        reps, present = {}, {}
        for m, (out, L) in encoded.items():
            here = L > 0
            r = SequenceEncoder.last_step(out, L.clamp(min=1))  # (B, H_m)
            if m == "text" and self.text_projection is not None:
                r = self.text_projection(r)  # (B, d)
            if not bool(here.all()):
                r = torch.where(here.to(r.device)[:, None], r, torch.zeros_like(r))
            reps[m], present[m] = r, here
        return (reps, present) if return_present else reps

    def scores(self, reps, pooled_text=None):
        """Per-modality logits s_m = E_m r_m: {m: (B, K)}.

        With ``text_scoring="calibrated_cosine"`` the text logits are
        ``tau * gated_calibrated_cosine(pooled_text, W r_t, gates, E_t)``
        instead; ``pooled_text`` (B, d) is the mean of the text input's real
        steps.
        """
        gated = "text" in reps and getattr(self, "emotion_gates", None) is not None
        E = self.modality_embeddings()
        out = {m: r @ E[m].T for m, r in reps.items() if not (gated and m == "text")}
        if gated:
            if pooled_text is None:
                raise ValueError("calibrated_cosine text scoring needs pooled_text")
            delta = self.text_correction(reps["text"])  # (B, d)
            out["text"] = self.log_text_scale.exp() * gated_calibrated_cosine(
                pooled_text, delta, self.emotion_gates, self.emotion_embeddings,
                self.fitted_emotions)
        return out

    def fuse(self, scores, present=None):
        """Weighted sum of the present modalities' scores: (B, K).

        A model built for one modality returns its scores directly. Each
        sample's weighted sum runs over the modalities present for it
        (``present``: ``{m: (B,) bool}``; None means all given modalities)
        and is rescaled by ``n_fitted / n_present`` so that logits keep their
        scale, the same rule as for a modality not given at all.
        """
        if len(self.modalities) == 1:
            return next(iter(scores.values()))
        if present is None or all(bool(p.all()) for p in present.values()):
            fused = sum(self.fusion_weights[MODALITIES.index(m)] * s
                        for m, s in scores.items())
            return fused * (len(self.modalities) / len(scores))
        fused, count = 0, 0
        for m, s in scores.items():
            here = present[m].to(s.device)[:, None]
            fused = fused + torch.where(
                here, self.fusion_weights[MODALITIES.index(m)] * s, torch.zeros_like(s))
            count = count + here.to(s.dtype)
        if bool((count == 0).any()):
            raise ValueError("a sample has no present modality (every length is 0)")
        return fused * (len(self.modalities) / count)

    def drop_modalities(self, inputs, lengths=None):
        """Lengths with modalities dropped at random (modality dropout): {m: (B,)}.

        Each present modality of each sample is dropped (length set to 0)
        with its probability in ``modality_dropout``; where that would leave
        a sample with nothing, one of its present modalities, drawn at
        random, is kept. Uses torch's global random generator.
        """
        inputs = self._inputs(inputs)
        lengths = self._lengths(inputs, lengths)
        probs = getattr(self, "modality_dropout", None) or {}
        given = list(lengths)
        if len(given) < 2 or not any(probs.get(m, 0) for m in given):
            return lengths
        L = torch.stack([lengths[m] for m in given], dim=1)  # (B, M)
        keep = L > 0
        p = torch.tensor([probs.get(m, 0.0) for m in given], device=L.device)
        kept = keep & (torch.rand(L.shape, device=L.device) >= p)
        lost = ~kept.any(dim=1)
        if bool(lost.any()):
            pick = torch.rand(L.shape, device=L.device).masked_fill(~keep, -1).argmax(dim=1)
            kept[lost, pick[lost]] = True
        L = torch.where(kept, L, torch.zeros_like(L))
        return {m: L[:, j] for j, m in enumerate(given)}

    def forward(self, text=None, audio=None, visual=None, text_lengths=None,
                audio_lengths=None, visual_lengths=None, return_representation=False):
        """Fused logits (B, K); with ``return_representation=True`` also the
        joint representation (B, sum H_m) an auxiliary loss reads: the
        L2-normalised sequence vectors of the modalities, absent ones zero."""
        inputs = {"text": text, "audio": audio, "visual": visual}
        lengths = {m: L for m, L in zip(MODALITIES, (text_lengths, audio_lengths,
                                                     visual_lengths)) if L is not None}
        if self.training and getattr(self, "modality_dropout", None):
            lengths = self.drop_modalities(inputs, lengths)
        reps, present = self.encode(inputs, lengths, return_present=True)
        if not reps:
            raise ValueError("no sample of the batch has a present modality")
        pooled = None
        if "text" in reps and getattr(self, "emotion_gates", None) is not None:
            L = self._lengths({"text": text}, lengths)["text"]
            pooled = mean_over_steps(text, L, self.padding)  # (B, d)
        logits = self.fuse(self.scores(reps, pooled), present)  # (B, K)
        if return_representation:
            z = torch.cat([F.normalize(reps[m], dim=1)  # (B, sum H_m)
                           for m in self.modalities if m in reps], dim=1)
            return logits, z
        return logits
