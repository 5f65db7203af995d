"""The estimator: :class:`MultimodalEmotionClassifier`.

Only the scikit-learn / skorch surface lives here, in parts by idea: batches
and their order in :mod:`skmemo._batching`, mixed precision in
:mod:`skmemo._precision`, zero-shot emotions in :mod:`skmemo._zero_shot`,
continual learning in :mod:`skmemo.continual`, the training callbacks in
:mod:`skmemo._callbacks`. The network is in :mod:`skmemo.modules`, word vectors
in :mod:`skmemo.vectors`, input checks in :mod:`skmemo.data`.
"""

import copy
import warnings
from contextlib import contextmanager

import numpy as np
import torch
from sklearn.base import ClassifierMixin
from skorch import NeuralNet
from skorch.callbacks import (
    EarlyStopping,
    EpochScoring,
    EpochTimer,
    GradientNormClipping,
    LRScheduler,
    PassthroughScoring,
    PrintLog,
    ProgressBar,
)
from skorch.dataset import ValidSplit

from ._batching import LengthOrderMixin, MultimodalDataset
from ._callbacks import _EpochSnapshot, _training_state, _valid_weighted_accuracy
from ._precision import _PRECISIONS, MixedPrecisionMixin
from ._zero_shot import ZeroShotMixin
from .continual import ContinualMixin, _check_memory_size
from .data import MODALITIES, check_X, check_y
from .exceptions import NotFittedError
from .losses import swfc_loss
from .metrics import weighted_accuracy_score
from .modules import EmotionEmbeddingModel
from .pretraining import contrastive_pretrain
from .vectors import emotion_vectors, parse_emotion

__all__ = ["MultimodalEmotionClassifier", "MultimodalDataset"]


def resolve_device(device):
    """``"auto"`` -> ``"cuda"`` when available, else ``"cpu"``; others unchanged."""
    if isinstance(device, str) and device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


class MultimodalEmotionClassifier(ContinualMixin, ZeroShotMixin, LengthOrderMixin,
                                  MixedPrecisionMixin, ClassifierMixin, NeuralNet):
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
        dimension for text (the paper's configuration) and 64 for audio and
        visual. A text size other than the word dimension adds a projection.
    rnn : {"lstm", "gru"}, default="lstm"
    num_layers : int, default=2
    dropout : float, default=0.15
        Dropout between recurrent layers.
    padding : {"pre", "post"}, default="pre"
        Where zero padding sits when ``X`` carries no ``<modality>_lengths``.
    fusion : {"weighted", "cross_attention"}, default="weighted"
        "weighted": the paper's learned weighted sum of modality scores.
        "cross_attention": MultiEMO-style bidirectional cross-modal attention
        enriches every modality's sequence with the others before the scoring
        (zero-shot still works); set its size with ``module__attention_dim``
        (64), ``module__attention_layers`` (2), ``module__attention_heads`` (4).
    threshold : float or array-like of shape (K,), default=0.5
        ``predict`` returns ``predict_proba > threshold``.
    class_weight : {"balanced", None}, default="balanced"
        "balanced" sets the BCE ``pos_weight`` of each emotion to
        negatives / positives in the training labels (the paper's loss).
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
    predict_batch_size : int or None, default=None
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
    random_state : int or None, default=None
        Seeds weight initialisation, shuffling, dropout and the validation
        split, without touching the global random state.
    device : {"auto", "cpu", "cuda", ...}, default="auto"
        "auto" uses CUDA when available. ``get_params`` returns the value you
        set; the attribute ``device`` reads as the resolved device.
    verbose : int, default=0
        1 prints a table per epoch and a progress bar.
    train_split : "auto", None or callable, default="auto"
        skorch's ``train_split``; "auto" builds a non-stratified split from
        ``validation_fraction`` and ``random_state``.
    **kwargs
        Any other skorch ``NeuralNet`` argument (``module__*``,
        ``optimizer__*``, ``callbacks``, ``warm_start``, ...).

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

    # Pickled through skorch's map_location-aware path, so that a pickle made on
    # CUDA loads on a CPU-only machine: the LR-scheduler callback references the
    # optimizer (and its CUDA state), and the fp16 grad scaler holds CUDA tensors.
    cuda_dependent_attributes_ = NeuralNet.cuda_dependent_attributes_ + [
        "callbacks_", "grad_scaler_",
    ]

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
        **kwargs,
    ):
        kwargs.pop("_params_to_validate", None)
        super().__init__(
            module, criterion, optimizer=optimizer, lr=lr, max_epochs=max_epochs,
            batch_size=batch_size, dataset=dataset, train_split=train_split,
            callbacks=callbacks, verbose=verbose, device=device, **kwargs,
        )
        self.emotions = emotions
        self.word_vectors = word_vectors
        self.hidden_sizes = hidden_sizes
        self.rnn = rnn
        self.num_layers = num_layers
        self.dropout = dropout
        self.padding = padding
        self.fusion = fusion
        self.threshold = threshold
        self.class_weight = class_weight
        self.gradient_clip = gradient_clip
        self.validation_fraction = validation_fraction
        self.early_stopping_patience = early_stopping_patience
        self.lr_patience = lr_patience
        self.predict_batch_size = predict_batch_size
        self.bucket_by_length = bucket_by_length
        self.memory_size = memory_size
        self.swfc_weight = swfc_weight
        self.swfc_temperature = swfc_temperature
        self.swfc_gamma = swfc_gamma
        self.swfc_alpha = swfc_alpha
        self.pretrain_epochs = pretrain_epochs
        self.pretrain_temperature = pretrain_temperature
        self.pretrain_X = pretrain_X
        self.freeze_encoders = freeze_encoders
        self.precision = precision
        self.random_state = random_state

    # ------------------------------------------------------------------
    # device="auto": the parameter keeps what the user set
    # ------------------------------------------------------------------
    @property
    def device(self):
        return resolve_device(self.__dict__.get("device_requested_", "auto"))

    @device.setter
    def device(self, value):
        self.__dict__["device_requested_"] = value

    def _get_param_names(self):
        names = [n for n in super()._get_param_names() if n != "_params_to_validate"]
        return names if "device" in names else names + ["device"]

    def get_params(self, deep=True, **kwargs):
        params = super().get_params(deep=deep, **kwargs)
        params.pop("_params_to_validate", None)
        params["device"] = self.__dict__.get("device_requested_", "auto")
        return params

    def __getstate__(self):
        state = super().__getstate__()
        state["device"] = self.device  # skorch maps tensors from this device
        return state

    def __setstate__(self, state):
        requested = state.get("device_requested_", "auto")
        super().__setstate__(state)
        mapped = self.__dict__.pop("device", None)
        if requested not in ("auto", None) and mapped != requested:
            requested = str(mapped)  # e.g. a CUDA model loaded on a CPU-only machine
        self.__dict__["device_requested_"] = requested

    # ------------------------------------------------------------------
    # scikit-learn contract
    # ------------------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.dict = True
        tags.input_tags.allow_nan = False
        tags.target_tags.required = True
        tags.target_tags.one_d_labels = False
        tags.target_tags.two_d_labels = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        if tags.classifier_tags is not None:
            tags.classifier_tags.multi_label = True
            tags.classifier_tags.multi_class = False
        tags.non_deterministic = self.random_state is None
        return tags

    def __sklearn_is_fitted__(self):
        return bool(getattr(self, "initialized_", False)) and hasattr(self, "emotions_")

    def _check_fitted(self, action="predict"):
        if not self.__sklearn_is_fitted__():
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call fit(X, y) "
                f"before {action}."
            )

    # ------------------------------------------------------------------
    # skorch hooks
    # ------------------------------------------------------------------
    @property
    def _default_callbacks(self):
        validating = self._validating()
        monitor = "valid_loss" if validating else "train_loss"
        cbs = [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
        ]
        if validating:
            cbs += [
                ("valid_loss", PassthroughScoring(name="valid_loss")),
                ("valid_wacc", EpochScoring(
                    _valid_weighted_accuracy, name="valid_wacc", lower_is_better=False,
                )),
            ]
        if self.gradient_clip is not None:
            cbs.append(("gradient_clip", GradientNormClipping(self.gradient_clip)))
        cbs.append(("lr_scheduler", LRScheduler(
            torch.optim.lr_scheduler.ReduceLROnPlateau, monitor=monitor,
            factor=0.1, patience=self.lr_patience,
        )))
        if validating and self.early_stopping_patience is not None:
            cbs.append(("early_stopping", EarlyStopping(
                monitor="valid_wacc", lower_is_better=False,
                patience=self.early_stopping_patience, load_best=True,
            )))
        cbs.append(("epoch_snapshot", _EpochSnapshot()))
        cbs.append(("print_log", PrintLog()))
        if self.verbose:
            cbs.append(("progress_bar", ProgressBar()))
        return cbs

    def _validating(self):
        if isinstance(self.train_split, str) and self.train_split == "auto":
            return self.validation_fraction > 0
        return self.train_split is not None

    def _seed(self):
        if self.random_state is None:
            return None
        rs = np.random.RandomState(self.random_state)
        return int(rs.randint(np.iinfo(np.int32).max))

    def get_split_datasets(self, X, y=None, **fit_params):
        if isinstance(self.train_split, str) and self.train_split == "auto":
            dataset = self.get_dataset(X, y)
            if self.validation_fraction <= 0:
                return dataset, None
            split = ValidSplit(self.validation_fraction, stratified=False,
                               random_state=self._seed())
            return split(dataset, y)
        return super().get_split_datasets(X, y, **fit_params)


    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """skorch's fit loop; an interrupted run falls back to the last full epoch."""
        self.epoch_snapshot_ = _training_state(self)  # the state this run starts from
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except BaseException:
            self._restore_last_epoch()
            raise
        finally:
            self.__dict__.pop("epoch_snapshot_", None)

    def _restore_last_epoch(self):
        snapshot = getattr(self, "epoch_snapshot_", None)
        if snapshot is not None:
            self.module_.load_state_dict(snapshot["module"])
            self.optimizer_.load_state_dict(snapshot["optimizer"])
        history = self.history_
        if len(history) and "train_loss" not in history[-1]:
            history.pop()  # the epoch that did not finish


    def initialize_module(self):
        kwargs = {
            "emotion_vectors": self.emotion_vectors_,
            "input_dims": self.input_dims_,
            "hidden_sizes": self.hidden_sizes,
            "num_layers": self.num_layers,
            "rnn": self.rnn,
            "dropout": self.dropout,
            "padding": self.padding,
        }
        if self.fusion != "weighted":
            kwargs["fusion"] = self.fusion
        kwargs.update(self.get_params_for("module"))
        self.module_ = self.module(**kwargs)
        return self

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        module = self.module_
        z = getattr(module, "last_representation", None)
        if training and self.swfc_weight and z is not None:
            module.last_representation = None
            y_true = torch.as_tensor(y_true, device=z.device)
            loss = loss + self.swfc_weight * swfc_loss(
                z, y_true, temperature=self.swfc_temperature, gamma=self.swfc_gamma,
                alpha=self.swfc_alpha)
        return loss

    def _prepare_training(self, X):
        """Settings of the module that follow parameters changed after init."""
        if hasattr(self.module_, "keep_representation"):
            self.module_.keep_representation = bool(self.swfc_weight)
        for p in self.module_.encoders.parameters():
            p.requires_grad_(not self.freeze_encoders)

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
            self.module_, lambda: self.get_iterator(dataset, training=True),
            epochs=self.pretrain_epochs, lr=self.lr,
            temperature=self.pretrain_temperature, device=self.device,
        )

    def initialize_criterion(self):
        super().initialize_criterion()
        self._set_pos_weight(getattr(self, "pos_weight_", None))
        return self

    def _set_pos_weight(self, pos_weight):
        if pos_weight is not None and isinstance(self.criterion_,
                                                 torch.nn.BCEWithLogitsLoss):
            self.criterion_.pos_weight = torch.as_tensor(
                pos_weight, dtype=torch.float32, device=self.device)

    def _compute_pos_weight(self, y):
        if self.class_weight is None:
            return None
        if self.class_weight != "balanced":
            raise ValueError(
                f"class_weight must be 'balanced' or None, got {self.class_weight!r}"
            )
        pos = y.sum(axis=0)
        neg = len(y) - pos
        return (neg / np.maximum(pos, 1)).astype(np.float32)

    # ------------------------------------------------------------------
    # checks
    # ------------------------------------------------------------------
    def _check_params(self):
        if self.padding not in ("pre", "post"):
            raise ValueError(f"padding must be 'pre' or 'post', got {self.padding!r}")
        if self.rnn not in ("lstm", "gru"):
            raise ValueError(f"rnn must be 'lstm' or 'gru', got {self.rnn!r}")
        _check_memory_size(self.memory_size)
        if self.fusion not in ("weighted", "cross_attention"):
            raise ValueError(
                f"fusion must be 'weighted' or 'cross_attention', got {self.fusion!r}")
        if self.pretrain_epochs < 0 or self.swfc_weight < 0:
            raise ValueError("pretrain_epochs and swfc_weight must be >= 0")
        if self.precision not in _PRECISIONS:
            raise ValueError(
                f"precision must be one of {sorted(_PRECISIONS)}, got {self.precision!r}"
            )
        if not 0 <= self.validation_fraction < 1:
            raise ValueError(
                f"validation_fraction must lie in [0, 1), got {self.validation_fraction}"
            )
        if self.hidden_sizes is not None:
            bad = set(self.hidden_sizes) - set(MODALITIES)
            if bad:
                raise ValueError(f"hidden_sizes has unknown modalities {sorted(bad)}")
            small = {m: h for m, h in self.hidden_sizes.items()
                     if not isinstance(h, (int, np.integer)) or h < 1}
            if small:
                raise ValueError(f"hidden_sizes must be positive integers; got {small}")
        if not isinstance(self.bucket_by_length, (bool, np.bool_)):
            raise ValueError(
                f"bucket_by_length must be True or False, got {self.bucket_by_length!r}")
        if self.class_weight not in ("balanced", None):
            raise ValueError(
                f"class_weight must be 'balanced' or None, got {self.class_weight!r}"
            )
        if not isinstance(self.batch_size, (int, np.integer)) or (
                self.batch_size < 1 and self.batch_size != -1):
            raise ValueError(
                f"batch_size must be a positive integer (or -1 for the whole data); "
                f"got {self.batch_size!r}")

    def _check_split_size(self, n_samples):
        if not (isinstance(self.train_split, str) and self.train_split == "auto"):
            return
        n_valid = int(np.ceil(self.validation_fraction * n_samples))
        if self.validation_fraction > 0 and n_samples - n_valid < 1:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} holds out {n_valid} of "
                f"{n_samples} samples and leaves none for training; give more samples "
                "or set validation_fraction=0"
            )

    def _resolve_emotions(self, y):
        emotions = self.emotions
        if emotions is None:
            columns = getattr(y, "columns", None)
            if columns is None:
                raise ValueError(
                    "emotions is None and y has no column names: pass "
                    "emotions=[...] (one word per column of y) or a pandas DataFrame"
                )
            emotions = [str(c) for c in columns]
        if isinstance(emotions, str):
            raise TypeError(
                "emotions must be a list of words, not one string; e.g. "
                "emotions=['happy', 'sad']"
            )
        emotions = list(emotions)
        if not emotions:
            raise ValueError("emotions is empty: give one word per column of y")
        for spec in emotions:
            parse_emotion(spec)
        normalised = [e.lower().strip() for e in emotions]
        dupes = sorted({e for e in normalised if normalised.count(e) > 1})
        if dupes:
            raise ValueError(f"emotions contains duplicates: {dupes}")
        return emotions

    def _thresholds(self, n_emotions=None, added=None):
        K = n_emotions if n_emotions is not None else len(self.emotions_)
        if added is None:
            added = list(getattr(self, "added_thresholds_", []))
        t = self.threshold
        if np.isscalar(t):
            arr = np.full(K, float(t))
        else:
            arr = np.asarray(t, dtype=float).ravel()
            if len(arr) == K - len(added):
                arr = np.concatenate([arr, added])
            elif len(arr) != K:
                raise ValueError(
                    f"threshold must be a float or hold one value per emotion ({K}); "
                    f"got {len(arr)} values"
                )
        if not np.all((arr >= 0) & (arr <= 1)):
            raise ValueError(f"threshold values must lie in [0, 1]; got {t!r}")
        return arr

    # ------------------------------------------------------------------
    # fitting
    # ------------------------------------------------------------------
    @contextmanager
    def _rng(self, offset=0):
        """Seed torch inside training without touching the global state."""
        seed = self._seed()
        if seed is None:
            yield
            return
        devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed + offset)
            yield

    def fit(self, X, y, **fit_params):
        """Build the model from the emotions and the data, then train it.

        Parameters
        ----------
        X : mapping or MultimodalData
            ``{"text"|"audio"|"visual": (n, T_m, d_m)}``, any non-empty subset.
        y : array-like of shape (n, K)
            Binary indicator matrix, one column per emotion.
        **fit_params
            Passed to skorch's ``fit``.

        Returns
        -------
        self
        """
        self._check_params()
        emotions = self._resolve_emotions(y)
        X = check_X(X)
        y = check_y(y, n_samples=len(X), n_emotions=len(emotions))
        self._check_split_size(len(X))
        self._thresholds(len(emotions), added=[])  # fail before training, not after
        vectors = emotion_vectors(emotions, self.word_vectors)
        empty = np.flatnonzero(y.sum(axis=0) == 0)
        if empty.size:
            warnings.warn(
                f"emotions {[emotions[k] for k in empty]} have no positive sample in "
                "y; the model can only learn them zero-shot", UserWarning,
                stacklevel=2,
            )

        # everything validated: from here on the estimator changes. Until one
        # epoch completes, fit only rebinds attributes (and clears the history
        # in place): a shallow copy undoes it.
        previous = dict(self.__dict__)
        if getattr(self, "history_", None) is not None:
            previous["history_"] = copy.deepcopy(self.history_)
        initialized = False
        try:
            self.emotions_ = emotions
            self.n_fit_emotions_ = len(emotions)
            self.emotion_vectors_ = vectors
            self.added_thresholds_ = []
            self.classes_ = np.array([[0, 1]] * len(emotions))
            self.input_dims_ = {m: int(X[m].shape[2]) for m in X.modalities}
            self.pos_weight_ = self._compute_pos_weight(y)
            with self._rng():
                self.initialize()
                initialized = True
                if self.pretrain_epochs:
                    self._pretrain(X)
                self._prepare_training(X)
                NeuralNet.partial_fit(self, X, y, **fit_params)
        except BaseException:
            if not initialized or not self.history_:  # no epoch completed
                self.__dict__.clear()
                self.__dict__.update(previous)
            raise
        self._after_fit(X, y)
        return self

    def partial_fit(self, X, y, classes=None, **fit_params):
        """Continue training on ``(X, y)`` without re-initialising (fine-tuning).

        ``y`` must have one column per current emotion (including emotions
        added with :meth:`add_emotions`). Runs ``max_epochs`` epochs with the
        same callbacks as :meth:`fit`; ``pos_weight`` is recomputed from ``y``.
        Calling it on an unfitted estimator is the same as :meth:`fit`.
        """
        if not self.__sklearn_is_fitted__():
            return self.fit(X, y, **fit_params)
        X = check_X(X, fitted=self.input_dims_)
        y = check_y(y, n_samples=len(X), n_emotions=len(self.emotions_))
        self._check_split_size(len(X))
        n_epochs = len(self.history_)
        previous = (self.pos_weight_, getattr(self.criterion_, "pos_weight", None))
        self.pos_weight_ = self._compute_pos_weight(y)
        self._set_pos_weight(self.pos_weight_)
        self._prepare_training(X)
        try:
            with self._rng(offset=n_epochs):
                NeuralNet.partial_fit(self, X, y, **fit_params)
        finally:
            if len(self.history_) == n_epochs:  # no epoch completed: undo
                self.pos_weight_, pos_weight = previous
                if hasattr(self.criterion_, "pos_weight"):
                    self.criterion_.pos_weight = pos_weight
        return self

    # ------------------------------------------------------------------
    # zero-shot
    # ------------------------------------------------------------------

    # ------------------------------------------------------------------
    # prediction
    # ------------------------------------------------------------------
    def _check_predict_X(self, X):
        self._check_fitted()
        return check_X(X, fitted=self.input_dims_)

    def decision_function(self, X):
        """Fused logits, ``(n, K)``, in the column order of ``emotions_``."""
        X = self._check_predict_X(X)
        return self.forward(X, training=False).numpy().astype(np.float64)

    def predict_proba(self, X):
        """Probability of each emotion, ``(n, K)``: ``sigmoid(logits)``."""
        X = self._check_predict_X(X)
        return torch.sigmoid(self.forward(X, training=False)).numpy().astype(np.float64)

    def predict(self, X):
        """0/1 predictions ``predict_proba(X) > threshold``, ``(n, K)``."""
        proba = self.predict_proba(X)
        return (proba > self._thresholds(proba.shape[1])).astype(int)

    def score(self, X, y, sample_weight=None):
        """Mean weighted accuracy over emotions."""
        if sample_weight is not None:
            raise ValueError("sample_weight is not supported by weighted accuracy")
        pred = self.predict(X)
        y = check_y(y, n_samples=pred.shape[0], n_emotions=pred.shape[1])
        return weighted_accuracy_score(y, pred)

    # ------------------------------------------------------------------
    # persistence
    # ------------------------------------------------------------------
    def save(self, path):
        """Save to ``path`` in skmemo's safe format (see :func:`skmemo.load`)."""
        from .persistence import save

        return save(self, path)
