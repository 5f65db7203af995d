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
5. fusion ``sum_m w_m s_m`` with learned weights initialised to 1/3.

Because ``E_t`` are word vectors and ``f_ta``, ``f_tv`` are functions of them, a
new emotion is added by appending its word vector (zero-shot).
"""

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ._recurrent import permute_rows, run_directions_apart
from .fusion import CrossModalEncoder

__all__ = [
    "MODALITIES",
    "lengths_from_padding",
    "SequenceEncoder",
    "EmotionEmbeddingModel",
]

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
        configuration, no projection), audio and visual = 64.
    num_layers : int, default=2
    rnn : {"lstm", "gru"}, default="lstm"
    dropout : float, default=0.15
    bidirectional : bool, default=True
    padding : {"pre", "post"}, default="pre"
        Where zero padding sits when lengths are not given explicitly.
    fusion : {"weighted", "cross_attention"}, default="weighted"
        "cross_attention" enriches every modality's encoded sequence with the
        others through :class:`skmemo.fusion.CrossModalEncoder` before the
        per-modality scoring (MultiEMO-style); the scores are then fused by the
        learned weights as usual.
    attention_dim, attention_layers, attention_heads : int, default=64, 2, 4
        Width, depth and heads of the cross-modal attention.
    """

    def __init__(self, emotion_vectors, input_dims, hidden_sizes=None, num_layers=2,
                 rnn="lstm", dropout=0.15, bidirectional=True, padding="pre",
                 fusion="weighted", attention_dim=64, attention_layers=2,
                 attention_heads=4):
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
        if padding not in ("pre", "post"):
            raise ValueError(f"padding must be 'pre' or 'post', got {padding!r}")
        if fusion not in ("weighted", "cross_attention"):
            raise ValueError(
                f"fusion must be 'weighted' or 'cross_attention', got {fusion!r}")
        self.modalities = tuple(m for m in MODALITIES if m in input_dims)
        self.padding = padding
        d = emotion_vectors.shape[1]
        sizes = {"text": d, "audio": 64, "visual": 64}
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
        # set by the estimator when an auxiliary loss needs the representation
        self.keep_representation = False
        self.last_representation = None

    @property
    def n_emotions(self):
        return self.emotion_embeddings.shape[0]

    def add_emotions(self, vectors):
        """Append textual embeddings (k, d) of new emotions."""
        vectors = torch.as_tensor(vectors, dtype=self.emotion_embeddings.dtype,
                                  device=self.emotion_embeddings.device)
        self.emotion_embeddings = torch.cat([self.emotion_embeddings, vectors], dim=0)

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

    def encode_sequences(self, inputs, lengths=None):
        """Run the encoders: {m: ((B, T', H_m) outputs, (B,) lengths)}."""
        lengths = lengths or {}
        encoded = {}
        for m, x in self._inputs(inputs).items():
            L = lengths.get(m)
            L = lengths_from_padding(x, self.padding) if L is None else L.long()
            if self.padding == "pre":
                # only the last max(L) steps hold real data: align just those
                x = _left_align(x[:, x.shape[1] - int(L.max()):], L)
            encoded[m] = (self.encoders[m](x, L), L)
        return encoded

    def encode(self, inputs, lengths=None, cross_modal=True):
        """Sequence vectors r_m: {m: (B, H_m)} (text projected to d if needed).

        ``cross_modal=False`` skips the cross-modal attention (used by
        unimodal contrastive pre-training).
        """
        encoded = self.encode_sequences(inputs, lengths)
        if self.cross_modal is not None and cross_modal:
            seqs = self.cross_modal({m: o for m, (o, _) in encoded.items()},
                                    {m: L for m, (_, L) in encoded.items()})
            encoded = {m: (seqs[m], L) for m, (_, L) in encoded.items()}
        reps = {}
        for m, (out, L) in encoded.items():
            r = SequenceEncoder.last_step(out, L)  # (B, H_m)
            if m == "text" and self.text_projection is not None:
                r = self.text_projection(r)  # (B, d)
            reps[m] = r
        return reps

    def scores(self, reps):
        """Per-modality logits s_m = E_m r_m: {m: (B, K)}."""
        E = self.modality_embeddings()
        return {m: r @ E[m].T for m, r in reps.items()}

    def fuse(self, scores):
        """Weighted sum of the available modalities' scores: (B, K).

        A model built for one modality returns its scores directly. When only
        some of the fitted modalities are given, the weighted sum is rescaled by
        ``n_fitted / n_given`` so that logits keep their scale.
        """
        if len(self.modalities) == 1:
            return next(iter(scores.values()))
        fused = sum(self.fusion_weights[MODALITIES.index(m)] * s for m, s in scores.items())
        return fused * (len(self.modalities) / len(scores))

    def forward(self, text=None, audio=None, visual=None, text_lengths=None,
                audio_lengths=None, visual_lengths=None):
        inputs = {"text": text, "audio": audio, "visual": visual}
        lengths = {m: L for m, L in zip(MODALITIES, (text_lengths, audio_lengths,
                                                     visual_lengths)) if L is not None}
        reps = self.encode(inputs, lengths)
        if self.keep_representation and self.training:
            # (B, sum H_m): the joint representation an auxiliary loss reads
            self.last_representation = torch.cat(
                [F.normalize(reps[m], dim=1) for m in self.modalities if m in reps], dim=1)
        return self.fuse(self.scores(reps))  # (B, K)
