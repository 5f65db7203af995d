"""The estimator: :class:`MultimodalEmotionClassifier`.

Only what is particular to the model of Dai et al. lives here: its parameters,
its network (:mod:`skmemo.modules`), the auxiliary contrastive loss,
contrastive pre-training and continual learning (:mod:`skmemo.continual`).
The scikit-learn / skorch surface it shares with the baselines is the private
base in :mod:`skmemo._base`; word vectors are in :mod:`skmemo.vectors`, input
checks in :mod:`skmemo.data`.
"""

import numbers
from collections.abc import Mapping

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import _EmotionNetBase, resolve_device
from ._batching import MultimodalDataset
from ._params import ModalityMap
from ._single_label import SingleLabelMixin
from .continual import ContinualMixin
from .data import check_X
from .losses import swfc_loss
from .modules import TEXT_SCORINGS, EmotionEmbeddingModel, check_modality_dropout
from .pretraining import contrastive_pretrain

__all__ = ["MultimodalEmotionClassifier", "MultimodalDataset", "resolve_device"]



class MultimodalEmotionClassifier(ContinualMixin, SingleLabelMixin, _EmotionNetBase):
    """Multi-label emotion classifier with modality-transferable emotion embeddings.

    The model of Dai et al. (AACL 2020): each emotion is the word vector of its
    name; learned affine maps carry it into the audio and visual spaces; each
    modality scores a sample by dot products with every emotion, and the scores
    are fused by learned weights. See :mod:`skmemo.modules`.

    Parameters
    ----------
    emotions : list of str, default=None
        The K emotion words, in the column order of ``y``. ``"a|b"`` averages
        word forms, ``"mildly annoyed"`` averages the words of a phrase. When
        None, the column names of a pandas ``y`` are used.
    word_vectors : None, str, path-like or mapping, default=None
        Source of the emotion word vectors: None for the bundled GloVe 6B 50d
        subset, a path to a GloVe/word2vec text file, or a ``word -> vector``
        mapping. The source is remembered for :meth:`add_emotions`.
    hidden_sizes : dict, default=None
        ``{modality: hidden size}``; missing entries default to the word-vector
        dimension for text (the paper's configuration; 64 with
        ``text_scoring="calibrated_cosine"``) and 64 for audio and visual. A
        text size other than the word dimension adds a projection.
    rnn : {"lstm", "gru"}, default="lstm"
    num_layers : int, default=2
    dropout : float, default=0.15
        Dropout between recurrent layers.
    padding : {"pre", "post"}, default="pre"
        Which end of a sample holds the zero padding. Without
        ``<modality>_lengths``, the length is read from the zeros: leading
        all-zero steps ("pre", the CMU-MultimodalSDK's layout) or trailing
        ones ("post") are padding. With ``<modality>_lengths`` ``L``, "pre"
        reads the last ``L`` steps of each sample and "post" the first ``L``;
        the other steps are ignored, zero or not.
    fusion : {"weighted", "cross_attention"}, default="weighted"
        "weighted": the paper's learned weighted sum of modality scores.
        "cross_attention": MultiEMO-style bidirectional cross-modal attention
        enriches every modality's sequence with the others before the scoring
        (zero-shot still works); set its size with ``module__attention_dim``
        (64), ``module__attention_layers`` (2), ``module__attention_heads`` (4).
    modality_dropout : None, float or dict, default=None
        Modality dropout during training: each modality of each training
        sample is treated as absent with this probability (one float for all
        modalities, or ``{modality: probability}``, each in [0, 1)); a
        sample never loses all its modalities. Makes a model robust to
        modalities missing at prediction time (see the user guide on missing
        modalities). None trains on what is given. ``set_params`` on a fitted
        estimator takes effect at the next ``fit`` / ``partial_fit``.
    text_scoring : {"dot", "calibrated_cosine"}, default="dot"
        How the text modality scores the emotions. "dot": the paper's dot
        product of the recurrent text vector with the word vectors.
        "calibrated_cosine", for text features from a sentence encoder whose
        space also holds the emotion names (``word_vectors`` from the same
        encoder): the cosine of the mean text input with each emotion, minus
        the sample's mean cosine over the emotions, times a learned scale,
        plus a learned per-emotion correction that starts at zero. An
        untrained model then scores like the encoder's training-free
        calibrated cosine, and an emotion added with :meth:`add_emotions`
        starts from it. Needs text features of the emotion vectors' size.
        The text hidden size then defaults to 64 (on MELD, pooled 384-d
        features: 0.7x the time per epoch of GloVe-50d tokens; 384 units: 5.9x).
    temperature : float > 0, default=0.1
        With ``text_scoring="calibrated_cosine"``: the initial inverse of the
        learned scale of the cosines.
    single_label : bool, default=False
        One emotion per sample (MELD, EmoryNLP): cross-entropy over the
        softmax of the emotions' logits, ``predict_proba`` is that softmax
        and ``predict`` marks each sample's most probable emotion
        (``threshold`` is then unused). ``class_weight="balanced"`` weighs
        each emotion by the inverse of its frequency; for weighted F1 use
        ``class_weight=None``. ``y`` must hold exactly one 1 per row.
    threshold : float, array-like of shape (K,) or mapping, default=0.5
        ``predict`` returns ``predict_proba > thresholds_``. A float applies to
        every emotion (also to emotions added later, unless
        :meth:`add_emotions` is given its own); a mapping or pandas Series
        ``{emotion: value}`` sets the emotions it names (others 0.5). Fitted
        into the vector ``thresholds_``; ``set_params(threshold=...)`` on a
        fitted estimator updates it at once.
    class_weight : {"balanced", None}, default="balanced"
        "balanced" sets the BCE ``pos_weight`` of each emotion to
        negatives / positives in the training labels (the paper's loss); an
        emotion positive in every sample gets 1 instead of 0 (which would
        make its loss identically 0), with a warning.
    lr : float, default=1e-3
    batch_size : int, default=64
    max_epochs : int, default=30
    gradient_clip : float or None, default=10.0
        Maximum gradient norm.
    validation_fraction : float, default=0.1
        Share of the training data held out (not stratified) for early stopping
        and the learning-rate schedule; 0 trains on everything for
        ``max_epochs``. Ignored when ``train_split`` is not "auto".
    early_stopping_patience : int or None, default=8
        Epochs without improvement of the validation weighted accuracy before
        training stops; the best epoch's weights are restored.
    lr_patience : int, default=5
        Patience of ``ReduceLROnPlateau(factor=0.1)`` on the validation loss.
    predict_batch_size : int >= 1 or None, default=None
        Batch size for prediction; None uses 1024. Prediction visits in-memory
        samples in order of length (results come back in input order), so each
        batch runs about as many recurrent steps as its samples need.
    bucket_by_length : bool, default=True
        Draw training batches from pools of samples sorted by length (shuffled
        pools of 50 batches, batches in random order), so a batch runs about as
        many recurrent steps as its samples need: 3.5x faster training with
        CMU-MOSEI-like lengths, with test quality unchanged within the
        seed-to-seed spread (see the performance guide). False draws plain
        random batches.
    memory_size : int, default=256
        Number of training samples kept as episodic memory for continual
        learning (:meth:`partial_fit_gem`); 0 keeps none.
    swfc_weight : float, default=0.0
        Weight of the auxiliary sample-weighted focal contrastive loss
        (:func:`skmemo.losses.swfc_loss`) added to the BCE loss; 0 disables it.
    swfc_temperature, swfc_gamma, swfc_alpha : float, default=0.8, 2.4, 1.1
        Its temperature, focal exponent and class-weight exponent.
    pretrain_epochs : int, default=0
        Epochs of unsupervised modality-pairwise contrastive pre-training of the
        encoders (:mod:`skmemo.pretraining`) before supervised training, on the
        training inputs plus ``pretrain_X``. Needs two or more modalities.
    pretrain_temperature : float, default=0.07
    pretrain_X : mapping or None, default=None
        Extra unlabelled inputs for pre-training (same modalities and feature
        sizes). Test inputs are never used unless you put them here.
    freeze_encoders : bool, default=False
        Train only the emotion scoring (mappings, projection, fusion, attention)
        and keep the encoders fixed: with pre-training, the paper's linear probe.
    precision : {"32", "bf16", "fp16"}, default="32"
        "bf16" / "fp16" run the forward pass under ``torch.autocast``
        (mixed precision; fp16 with a gradient scaler on CUDA). Intended for
        GPUs; on CPU, bf16 autocast works but is rarely faster.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, dropout and the validation
        split, without touching the global random state. An int gives the same
        model on every fit; a ``RandomState`` is drawn from on each call, as in
        scikit-learn.
    device : {"auto", "cpu", "cuda", ...}, default="auto"
        "auto" uses CUDA when available. ``get_params`` returns the value you
        set; the attribute ``device`` reads as the resolved device.
    verbose : int, default=0
        1 prints a table per epoch (a new header when its columns change;
        colours only on a terminal, plain text in a log or a pipe) and, when
        stderr is a terminal, a progress bar.
    train_split : "auto", None or callable, default="auto"
        skorch's ``train_split``; "auto" builds a non-stratified split from
        ``validation_fraction`` and ``random_state``.
    warm_start : bool, default=False
        skorch's: when True, ``fit`` on a fitted estimator continues training
        from its weights (as :meth:`partial_fit`) instead of starting afresh.
    **kwargs
        Any other skorch ``NeuralNet`` argument (``module__*``,
        ``optimizer__*``, ``iterator_train__*``, ``callbacks``, ...).

    Attributes
    ----------
    emotions_ : list of str
        Current emotions (fitted, then added).
    classes_ : ndarray of shape (K, 2)
        ``np.array([[0, 1]] * K)``: read by scikit-learn as multi-label for any K.
    emotion_vectors_ : ndarray of shape (K, d)
        Textual emotion embeddings.
    input_dims_ : dict
        ``{modality: n_features}`` seen in fit.
    n_fit_emotions_ : int
        Number of emotions at fit time.
    thresholds_ : ndarray of shape (K,)
        Decision threshold of each emotion (from ``threshold``, extended by
        :meth:`add_emotions`); saved and loaded exactly.

    Examples
    --------
    >>> from skmemo import MultimodalEmotionClassifier
    >>> from skmemo.datasets import make_emotion_dataset
    >>> X, Y = make_emotion_dataset(n_samples=120, emotions=["happy", "sad"],
    ...                             seq_len=6, random_state=0)
    >>> clf = MultimodalEmotionClassifier(["happy", "sad"], max_epochs=2,
    ...                                   random_state=0).fit(X, Y)
    >>> clf.predict_proba(X).shape
    (120, 2)
    """

    _parameter_constraints = {
        **_EmotionNetBase._parameter_constraints,
        "hidden_sizes": [ModalityMap([Interval(numbers.Integral, 1, None, closed="left")],
                                     "positive int"), None],
        "fusion": [StrOptions({"weighted", "cross_attention"})],
        "text_scoring": [StrOptions(set(TEXT_SCORINGS))],
        "temperature": [Interval(numbers.Real, 0, None, closed="neither")],
        "single_label": ["boolean"],
        "modality_dropout": [
            Interval(numbers.Real, 0, 1, closed="left"), None,
            ModalityMap([Interval(numbers.Real, 0, 1, closed="left")], "probability in [0, 1)")],
        "memory_size": [Interval(numbers.Integral, 0, None, closed="left")],
        "swfc_weight": [Interval(numbers.Real, 0, None, closed="left")],
        "swfc_temperature": [Interval(numbers.Real, 0, None, closed="neither")],
        "swfc_gamma": [Interval(numbers.Real, 0, None, closed="left")],
        "swfc_alpha": [Interval(numbers.Real, None, None, closed="neither")],
        "pretrain_epochs": [Interval(numbers.Integral, 0, None, closed="left")],
        "pretrain_temperature": [Interval(numbers.Real, 0, None, closed="neither")],
        "pretrain_X": [Mapping, None],
        "freeze_encoders": ["boolean"],
    }

    def __init__(
        self,
        emotions=None,
        *,
        word_vectors=None,
        hidden_sizes=None,
        rnn="lstm",
        num_layers=2,
        dropout=0.15,
        padding="pre",
        fusion="weighted",
        modality_dropout=None,
        text_scoring="dot",
        temperature=0.1,
        single_label=False,
        threshold=0.5,
        class_weight="balanced",
        lr=1e-3,
        batch_size=64,
        max_epochs=30,
        gradient_clip=10.0,
        validation_fraction=0.1,
        early_stopping_patience=8,
        lr_patience=5,
        predict_batch_size=None,
        bucket_by_length=True,
        memory_size=256,
        swfc_weight=0.0,
        swfc_temperature=0.8,
        swfc_gamma=2.4,
        swfc_alpha=1.1,
        pretrain_epochs=0,
        pretrain_temperature=0.07,
        pretrain_X=None,
        freeze_encoders=False,
        precision="32",
        random_state=None,
        device="auto",
        verbose=0,
        module=EmotionEmbeddingModel,
        criterion=torch.nn.BCEWithLogitsLoss,
        optimizer=torch.optim.Adam,
        train_split="auto",
        dataset=MultimodalDataset,
        callbacks=None,
        warm_start=False,
        **kwargs,
    ):
        super().__init__(
            emotions, word_vectors=word_vectors, rnn=rnn, num_layers=num_layers,
            dropout=dropout, padding=padding, threshold=threshold,
            class_weight=class_weight, lr=lr, batch_size=batch_size,
            max_epochs=max_epochs, gradient_clip=gradient_clip,
            validation_fraction=validation_fraction,
            early_stopping_patience=early_stopping_patience, lr_patience=lr_patience,
            predict_batch_size=predict_batch_size, bucket_by_length=bucket_by_length,
            precision=precision, random_state=random_state, device=device,
            verbose=verbose, module=module, criterion=criterion, optimizer=optimizer,
            train_split=train_split, dataset=dataset, callbacks=callbacks,
            warm_start=warm_start, **kwargs,
        )
        self.hidden_sizes = hidden_sizes
        self.fusion = fusion
        self.modality_dropout = modality_dropout
        self.text_scoring = text_scoring
        self.temperature = temperature
        self.single_label = single_label
        self.memory_size = memory_size
        self.swfc_weight = swfc_weight
        self.swfc_temperature = swfc_temperature
        self.swfc_gamma = swfc_gamma
        self.swfc_alpha = swfc_alpha
        self.pretrain_epochs = pretrain_epochs
        self.pretrain_temperature = pretrain_temperature
        self.pretrain_X = pretrain_X
        self.freeze_encoders = freeze_encoders

    # ------------------------------------------------------------------
    # what differs from the shared base
    # ------------------------------------------------------------------
    def _module_kwargs(self):
        kwargs = super()._module_kwargs()
        kwargs["emotion_vectors"] = self.emotion_vectors_
        kwargs["hidden_sizes"] = self.hidden_sizes
        if self.fusion != "weighted":
            kwargs["fusion"] = self.fusion
        if self.modality_dropout is not None:
            kwargs["modality_dropout"] = self.modality_dropout
        if self.text_scoring != "dot":
            kwargs["text_scoring"] = self.text_scoring
            kwargs["temperature"] = self.temperature
        return kwargs

    def infer(self, x, **fit_params):
        if self.swfc_weight and self.module_.training:
            # the module returns (logits, representation): get_loss reads both
            fit_params = {**fit_params, "return_representation": True}
        return super().infer(x, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        y_pred, z = y_pred if isinstance(y_pred, tuple) else (y_pred, None)
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        if training and self.swfc_weight and z is not None:
            y_true = torch.as_tensor(y_true, device=z.device)
            loss = loss + self.swfc_weight * swfc_loss(
                z, y_true, temperature=self.swfc_temperature, gamma=self.swfc_gamma,
                alpha=self.swfc_alpha)
        return loss

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        if (hasattr(self.network_, "modality_dropout")
                and "modality_dropout" not in self.get_params_for("module")):
            # set_params(modality_dropout=...) after fit reaches the fitted network,
            # stored as the module stores it: {modality: probability}
            self.network_.modality_dropout = check_modality_dropout(
                self.modality_dropout, self.network_.modalities)

    def initialize_module(self):
        super().initialize_module()
        self._freeze_encoders()
        return self

    def set_params(self, **params):
        super().set_params(**params)
        if "freeze_encoders" in params and self.__sklearn_is_fitted__():
            self._freeze_encoders()  # the fitted network follows at once
        return self

    def _freeze_encoders(self):
        for p in self.network_.encoders.parameters():
            p.requires_grad_(not self.freeze_encoders)

    def _before_training(self, X):
        if self.pretrain_epochs:
            self._pretrain(X)

    def _pretrain(self, X):
        if self.pretrain_X is not None:
            extra = check_X(self.pretrain_X, fitted=self.input_dims_)
            if set(extra) != set(X):
                raise ValueError(
                    f"pretrain_X must hold the same keys as X ({sorted(X)}); got "
                    f"{sorted(extra)}")
            X = {k: np.concatenate([np.asarray(X[k]), np.asarray(extra[k])]) for k in X}
        dataset = self.get_dataset(X)
        self.pretrain_history_ = contrastive_pretrain(
            self.network_, lambda: self.get_iterator(dataset, training=True),
            epochs=self.pretrain_epochs, lr=self.lr,
            temperature=self.pretrain_temperature, device=self.device,
        )
