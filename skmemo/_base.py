"""The private base of skmemo's estimators: the scikit-learn / skorch surface.

:class:`~skmemo.MultimodalEmotionClassifier` and the baselines
(:mod:`skmemo.baselines`) are siblings on :class:`_EmotionNetBase`; each
declares only the parameters it honours. In parts by idea: batches and their
order in :mod:`skmemo._batching`, mixed precision in :mod:`skmemo._precision`,
zero-shot emotions in :mod:`skmemo._zero_shot`, the training transaction in
:mod:`skmemo._transaction`, the training callbacks in :mod:`skmemo._callbacks`,
parameters versus fitted state in :mod:`skmemo._state`, the parameter
constraints' vocabulary and messages in :mod:`skmemo._params`.
"""

import difflib
import inspect
import numbers
import warnings
from collections.abc import Mapping
from contextlib import contextmanager

import numpy as np
import torch
from sklearn.base import ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, Options, StrOptions
from skorch import NeuralNet
from skorch.callbacks import (
    EpochScoring,
    EpochTimer,
    GradientNormClipping,
    LRScheduler,
    PassthroughScoring,
)
from skorch.dataset import ValidSplit
from torch.utils.data import Subset

from ._batching import LengthOrderMixin, MultimodalDataset, check_world_size, world_size
from ._callbacks import (
    _EarlyStopping,
    _EpochSnapshot,
    _PrintLog,
    _ProgressBar,
    _valid_weighted_accuracy,
    resolve_scorer_names,
)
from ._checks import PADDINGS, check_padding
from ._device_loop import DeviceLossMixin
from ._params import SKORCH_CONSTRAINTS, WORD_VECTORS, Words, validate_params
from ._precision import _PRECISIONS, MixedPrecisionMixin
from ._state import FittedStateMixin, resolve_device
from ._transaction import Interrupted, restore_weights, training_call, weights_snapshot
from ._zero_shot import ZeroShotMixin
from .data import align_y, check_X, check_y
from .metrics import weighted_accuracy_score
from .vectors import emotion_vectors, parse_emotion, set_source_params

__all__ = ["resolve_device"]


# what NeuralNet.__init__ takes besides prefixed ``component__param`` arguments
_SKORCH_PARAMS = (frozenset(inspect.signature(NeuralNet.__init__).parameters)
                  - {"self", "kwargs"}) | {"history"}

# fitted attributes that a new fit drops (the others are rebound by fit)
_REFIT_CLEARS = ("memory_", "gem_stats_", "pretrain_history_", "grad_scaler_",
                 "callbacks_key_", "callbacks_source_")


class _LossWithoutParameters:
    """A loss module seen as a plain callable (distributed training only)."""

    def __init__(self, loss):
        self.loss = loss

    def __call__(self, *args, **kwargs):
        return self.loss(*args, **kwargs)

    def __getattr__(self, name):
        if name == "loss":
            raise AttributeError(name)
        return getattr(self.loss, name)


class _EmotionNetBase(FittedStateMixin, ZeroShotMixin, LengthOrderMixin,
                      MixedPrecisionMixin, DeviceLossMixin, ClassifierMixin, NeuralNet):
    """What every skmemo estimator shares: the scikit-learn / skorch surface.

    Input checks, the validation split, the training transaction, the
    per-emotion thresholds, length-ordered prediction, mixed precision, the
    balanced ``pos_weight`` and zero-shot bookkeeping. Subclasses choose the
    network (``initialize_module``, ``_module_kwargs``) and declare their
    parameters (``_parameter_constraints``); what they change in training
    goes through skorch's hooks (``on_train_begin``, ``on_grad_computed``,
    ``train_step``, ``get_loss``, ``infer``). Two steps of ``fit`` alone are
    methods of their own: ``_before_training`` (after ``initialize``, before
    the first epoch: pre-training) and ``_after_fit`` (with the validated
    data: the episodic memory).
    """

    # Pickled through skorch's map_location-aware path, so that a pickle made on
    # CUDA loads on a CPU-only machine: the LR-scheduler callback references the
    # optimizer (and its CUDA state), and the fp16 grad scaler holds CUDA tensors.
    cuda_dependent_attributes_ = NeuralNet.cuda_dependent_attributes_ + [
        "callbacks_", "grad_scaler_",
    ]

    #: every constructor parameter, checked when a training call starts
    #: (:func:`skmemo._params.validate_params`); subclasses add their own
    _parameter_constraints = {
        **SKORCH_CONSTRAINTS,
        "emotions": [Words(), None],
        "word_vectors": WORD_VECTORS,
        "rnn": [StrOptions({"lstm", "gru"})],
        "num_layers": [Interval(numbers.Integral, 1, None, closed="left")],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "padding": [StrOptions(set(PADDINGS))],
        # values are checked against the emotions when fit resolves them
        "threshold": [numbers.Real, "array-like", Mapping, HasMethods(["items"])],
        "class_weight": [StrOptions({"balanced"}), None],
        "lr": [Interval(numbers.Real, 0, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left"),
                       Options(numbers.Integral, {-1})],
        "max_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "gradient_clip": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="left")],
        "early_stopping_patience": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "lr_patience": [Interval(numbers.Integral, 0, None, closed="left")],
        "predict_batch_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "bucket_by_length": ["boolean"],
        "precision": [StrOptions(set(_PRECISIONS))],
        "random_state": ["random_state"],
    }

    #: The fitted state a fit sets besides skorch's own (``module_``,
    #: ``optimizer_``, ``history_``, ...), declared once: the fitted check
    #: requires it, :func:`skmemo.persistence.save` writes it (see
    #: :meth:`_fitted_state`).
    _fitted_attributes = ("emotions_", "n_fit_emotions_", "emotion_vectors_",
                          "input_dims_", "thresholds_", "classes_", "pos_weight_")

    def __init__(
        self,
        emotions=None,
        *,
        word_vectors=None,
        rnn="lstm",
        num_layers=2,
        dropout=0.15,
        padding="pre",
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
        bucket_by_length=False,
        precision="32",
        random_state=None,
        device="auto",
        verbose=0,
        module=None,
        criterion=torch.nn.BCEWithLogitsLoss,
        optimizer=torch.optim.Adam,
        train_split="auto",
        dataset=MultimodalDataset,
        callbacks=None,
        warm_start=False,
        **kwargs,
    ):
        kwargs.pop("_params_to_validate", None)
        unexpected = sorted(k for k in kwargs if "__" not in k and k not in _SKORCH_PARAMS)
        if unexpected:
            hints = "".join(f"; did you mean {m!r}?" for m in map(self._did_you_mean, unexpected)
                            if m)
            raise TypeError(
                f"{type(self).__name__}.__init__() got unexpected argument(s) {unexpected}"
                f"{hints} (see help({type(self).__name__}) for the parameters it takes)")
        super().__init__(
            module, criterion, optimizer=optimizer, lr=lr, max_epochs=max_epochs,
            batch_size=batch_size, dataset=dataset, train_split=train_split,
            callbacks=callbacks, verbose=verbose, device=device, warm_start=warm_start,
            **kwargs,
        )
        self.emotions = emotions
        self.word_vectors = word_vectors
        self.rnn = rnn
        self.num_layers = num_layers
        self.dropout = dropout
        self.padding = padding
        self.threshold = threshold
        self.class_weight = class_weight
        self.gradient_clip = gradient_clip
        self.validation_fraction = validation_fraction
        self.early_stopping_patience = early_stopping_patience
        self.lr_patience = lr_patience
        self.predict_batch_size = predict_batch_size
        self.bucket_by_length = bucket_by_length
        self.precision = precision
        self.random_state = random_state

    @classmethod
    def _did_you_mean(cls, name):
        """The parameter ``name`` was probably meant to be: skorch's rule for a
        component prefix (``optimizer_lr`` -> ``optimizer__lr``), else the
        closest parameter name."""
        prefixes = ["module", "criterion", "optimizer", *NeuralNet.prefixes_]
        for prefix in prefixes:
            if name.startswith(prefix + "_") and not name.startswith(prefix + "__"):
                return f"{prefix}__{name[len(prefix) + 1:]}"
        names = (set(inspect.signature(cls.__init__).parameters) | _SKORCH_PARAMS) - {
            "self", "kwargs"}
        close = difflib.get_close_matches(name, sorted(names), n=1)
        return close[0] if close else None

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
            # several processes: watch the validation loss, which skorch's
            # DistributedHistory averages over the processes' batches, so that
            # every process stops at the same epoch (each computes valid_wacc on
            # its own shard of the validation set)
            distributed = world_size() > 1
            cbs.append(("early_stopping", _EarlyStopping(
                monitor="valid_loss" if distributed else "valid_wacc",
                lower_is_better=distributed,
                patience=self.early_stopping_patience, load_best=True,
            )))
        cbs.append(("epoch_snapshot", _EpochSnapshot()))
        cbs.append(("print_log", _PrintLog()))
        if self.verbose:
            cbs.append(("progress_bar", _ProgressBar()))
        return cbs

    @property
    def network_(self):
        """The fitted network itself, unwrapped from ``DistributedDataParallel``
        (multi-process training wraps ``module_``)."""
        module = self.module_
        if isinstance(module, torch.nn.parallel.DistributedDataParallel):
            return module.module
        return module

    def _callbacks_key(self):
        """The parameters the default callbacks are built from."""
        return (self._validating(), self.gradient_clip, self.lr_patience,
                self.early_stopping_patience, bool(self.verbose))

    def initialize_callbacks(self):
        super().initialize_callbacks()
        self.callbacks_key_ = self._callbacks_key()
        self.callbacks_source_ = self.callbacks  # the list they were built from
        return self

    def _callbacks_stale(self):
        """True when parameters the callbacks are built from changed since."""
        return (getattr(self, "callbacks_key_", None) != self._callbacks_key()
                or getattr(self, "callbacks_source_", None) is not self.callbacks)

    def _validating(self):
        if isinstance(self.train_split, str) and self.train_split == "auto":
            return self.validation_fraction > 0
        return self.train_split is not None

    def _seed(self):
        """An int drawn from ``random_state`` (int or RandomState), or None."""
        if self.random_state is None:
            return None
        rs = check_random_state(self.random_state)
        return int(rs.randint(np.iinfo(np.int32).max))

    def get_split_datasets(self, X, y=None, **fit_params):
        if isinstance(self.train_split, str) and self.train_split == "auto":
            dataset = self.get_dataset(X, y)
            if self.validation_fraction <= 0:
                return dataset, None
            split = ValidSplit(self.validation_fraction, stratified=False,
                               random_state=self._seed())
            return split(dataset, y)
        dataset_train, dataset_valid = super().get_split_datasets(X, y, **fit_params)
        return dataset_train, self._as_own_dataset(dataset_valid)

    def _as_own_dataset(self, dataset):
        """A validation set from ``predefined_split`` as the estimator's dataset.

        ``skorch.dataset.Dataset(X, y)`` and ``(X, y)`` tuples are validated like
        training data and read in whole batches; the estimator's own datasets
        and ``Subset`` views of them pass through.
        """
        if dataset is None or isinstance(dataset, self.dataset if isinstance(
                self.dataset, type) else MultimodalDataset):
            return dataset
        if isinstance(dataset, Subset):
            return dataset
        if isinstance(dataset, tuple) and len(dataset) == 2:
            Xv, yv = dataset
        elif isinstance(getattr(dataset, "X", None), Mapping):
            Xv, yv = dataset.X, dataset.y
        else:
            return dataset
        Xv = check_X(Xv, fitted=self.input_dims_)
        yv = check_y(align_y(yv, self.emotions_), n_samples=len(Xv),
                     n_emotions=len(self.emotions_))
        return self.get_dataset(Xv, yv)

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """skorch's fit loop; Ctrl-C keeps the epochs that completed.

        Any other error propagates to the call's transaction, which undoes the
        whole call (see :mod:`skmemo._transaction`).
        """
        self.epoch_snapshot_ = weights_snapshot(self)  # the state this run starts from
        n_epochs = len(self.history_)
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except KeyboardInterrupt:
            restore_weights(self, self.epoch_snapshot_)
            history = self.history_
            if len(history) > n_epochs and "train_loss" not in history[-1]:
                history.pop()  # the epoch that did not finish
            if len(history) == n_epochs:
                raise Interrupted from None  # the call's transaction undoes it all
            raise
        finally:
            vars(self).pop("epoch_snapshot_", None)

    def _module_kwargs(self):
        """Arguments of the network class; subclasses add their own."""
        return {
            "input_dims": self.input_dims_,
            "num_layers": self.num_layers,
            "rnn": self.rnn,
            "dropout": self.dropout,
            "padding": self.padding,
        }

    def initialize_module(self):
        if self.module is None:
            raise ValueError(f"{type(self).__name__} needs a module class")
        kwargs = self._module_kwargs()
        kwargs.update(self.get_params_for("module"))
        self.module_ = self.module(**kwargs)
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """skorch's hook at the start of every training call, before the
        callbacks': settings that follow parameters changed since
        ``initialize`` (``set_params``)."""
        super().on_train_begin(net, X=X, y=y, **kwargs)
        if self._callbacks_stale():
            # e.g. set_params(train_split=None) after fit: the LR scheduler must
            # monitor train_loss, and early stopping has nothing to watch; or
            # set_params(callbacks=[...]): skorch only reads them on initialize
            self.initialize_callbacks()
        resolve_scorer_names(self)  # skmemo's scorer names as scoring strings
        for group in self.optimizer_.param_groups:
            # what torch's schedulers set on a fresh start; a scheduler added after
            # fit resumes at the current epoch and needs it
            group.setdefault("initial_lr", group["lr"])

    def _before_training(self, X):
        """Hook: after ``initialize`` in ``fit``, before the first epoch."""

    def _after_fit(self, X, y):
        """Hook: at the end of ``fit``, with the validated training data."""

    def initialize_criterion(self):
        super().initialize_criterion()
        criterion = self.criterion_
        dist = torch.distributed
        if (isinstance(criterion, torch.nn.Module) and not any(criterion.parameters())
                and dist.is_available() and dist.is_initialized()):
            # torch.distributed runs: a loss without parameters has nothing to
            # synchronise, but Accelerate would wrap every module in
            # DistributedDataParallel, which refuses modules without parameters
            self.criterion_ = _LossWithoutParameters(criterion)
        self._set_pos_weight(getattr(self, "pos_weight_", None))
        return self

    def _set_pos_weight(self, pos_weight):
        criterion = getattr(self.criterion_, "loss", self.criterion_)
        if pos_weight is not None and isinstance(criterion, torch.nn.BCEWithLogitsLoss):
            criterion.pos_weight = torch.as_tensor(
                pos_weight, dtype=torch.float32, device=self.device)

    def _compute_pos_weight(self, y):
        """Balanced ``pos_weight``: negatives / positives of each emotion.

        An emotion positive in every sample has no negatives, and a weight
        of 0 would make its loss identically 0 (it would learn nothing):
        such a column gets the weight 1 (plain BCE) and a warning.
        """
        if self.class_weight is None:
            return None
        pos = y.sum(axis=0)
        neg = len(y) - pos
        weight = (neg / np.maximum(pos, 1)).astype(np.float32)
        full = np.flatnonzero(neg == 0)
        if full.size:
            emotions = getattr(self, "emotions_", None) or list(range(y.shape[1]))
            warnings.warn(
                f"emotions {[emotions[k] for k in full]} are positive in every sample "
                "of y; class_weight='balanced' gives them pos_weight 1 (plain BCE) "
                "instead of negatives / positives = 0, which would train nothing",
                UserWarning, stacklevel=3)
            weight[full] = 1.0
        return weight

    # ------------------------------------------------------------------
    # checks
    # ------------------------------------------------------------------
    def _check_params(self):
        """Every parameter check, in one place; raises before anything changes."""
        validate_params(self)
        check_world_size(self)  # a launcher's processes that would train alone

    @staticmethod
    def _check_fit_params(fit_params, action="fit"):
        extra = sorted(k for k in fit_params if k != "epochs")  # skorch's fit_loop takes epochs
        if extra:
            hint = (" The loss weighs emotions by class_weight='balanced'; per-sample "
                    "weights are not supported." if "sample_weight" in fit_params else "")
            raise TypeError(
                f"{action} got unexpected keyword argument(s) {extra}: skorch would pass "
                f"them to the network's forward, which takes only the modalities.{hint}")

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
                    "emotions=[...] (one word per column of y) or a pandas DataFrame. "
                    "scikit-learn hands numpy arrays to the folds of "
                    "cross_val_predict(method='predict_proba'), so there set "
                    "emotions=list(Y.columns)"
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
        emotions = [str(e) for e in emotions]  # numpy / pandas strings as str
        normalised = [e.lower().strip() for e in emotions]
        dupes = sorted({e for e in normalised if normalised.count(e) > 1})
        if dupes:
            raise ValueError(f"emotions contains duplicates: {dupes}")
        return emotions

    def _resolve_thresholds(self, threshold, emotions, previous=None):
        """The per-emotion thresholds vector for ``emotions``.

        ``threshold`` is a float, one value per emotion, or a mapping / pandas
        Series from emotion name to value (emotions it does not name keep
        ``previous`` or 0.5). A vector for the fitted emotions keeps the
        thresholds of emotions added since (``previous``).
        """
        K = len(emotions)
        base = np.full(K, 0.5) if previous is None else np.asarray(previous, float).copy()
        if isinstance(threshold, Mapping) or hasattr(threshold, "index") and hasattr(
                threshold, "to_dict"):
            mapping = dict(threshold.items()) if hasattr(threshold, "items") else {}
            unknown = sorted(str(k) for k in mapping if str(k) not in emotions)
            if unknown:
                raise ValueError(
                    f"threshold names emotions the estimator does not have: {unknown} "
                    f"(emotions: {list(emotions)})")
            arr = base
            for name, value in mapping.items():
                arr[list(emotions).index(str(name))] = value
        elif np.isscalar(threshold) and not isinstance(threshold, str):
            arr = np.full(K, float(threshold))
        else:
            try:
                arr = np.asarray(threshold, dtype=float).ravel()
            except (TypeError, ValueError):
                raise ValueError(
                    f"threshold must be a float, one value per emotion, or a mapping "
                    f"emotion -> value; got {threshold!r}") from None
            n_added = K - getattr(self, "n_fit_emotions_", K)
            if previous is not None and n_added and len(arr) == K - n_added:
                arr = np.concatenate([arr, base[K - n_added:]])
            elif len(arr) != K:
                raise ValueError(
                    f"threshold must be a float or hold one value per emotion ({K}); "
                    f"got {len(arr)} values"
                )
        arr = np.asarray(arr, dtype=float)
        if not np.all((arr >= 0) & (arr <= 1)):
            raise ValueError(f"threshold values must lie in [0, 1]; got {threshold!r}")
        return arr

    def set_params(self, **params):
        """skorch's ``set_params``; on a fitted estimator a new ``threshold``
        updates ``thresholds_`` and a new ``padding`` reaches the network at once.

        An invalid ``threshold`` or ``padding`` on a fitted estimator is refused
        and nothing changes.
        """
        fitted = self.__sklearn_is_fitted__()
        if fitted and "padding" in params:
            check_padding(params["padding"])
        thresholds = None
        if "threshold" in params and fitted:
            thresholds = self._resolve_thresholds(
                params["threshold"], self.emotions_, previous=self.thresholds_)
        params = set_source_params(self.word_vectors, params)
        super().set_params(**params)
        if thresholds is not None:
            self.thresholds_ = thresholds
        if "padding" in params and fitted:  # the fitted network reads its own copy
            for m in self.module_.modules():
                if isinstance(getattr(m, "padding", None), str):
                    m.padding = params["padding"]
        return self

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

        With ``warm_start=True`` and a fitted estimator, training continues
        from the fitted weights instead (as :meth:`partial_fit`; ``y`` must then
        hold the current emotions). One transaction: if ``fit`` raises, the
        estimator is left exactly as it was.

        Parameters
        ----------
        X : mapping or MultimodalData
            ``{"text"|"audio"|"visual": (n, T_m, d_m)}``, any non-empty subset.
        y : array-like of shape (n, K)
            Binary indicator matrix, one column per emotion. A pandas DataFrame
            is matched to ``emotions`` by column name (reordered; refused if
            the names differ).

        Returns
        -------
        self
        """
        self._check_fit_params(fit_params)
        if self.warm_start and self.__sklearn_is_fitted__():
            return self.partial_fit(X, y, **fit_params)
        self._check_params()
        emotions = self._resolve_emotions(y)
        X = check_X(X)
        y = check_y(align_y(y, emotions), n_samples=len(X), n_emotions=len(emotions))
        self._check_split_size(len(X))
        thresholds = self._resolve_thresholds(self.threshold, emotions)
        vectors = emotion_vectors(emotions, self.word_vectors)
        empty = np.flatnonzero(y.sum(axis=0) == 0)
        if empty.size:
            warnings.warn(
                f"emotions {[emotions[k] for k in empty]} have no positive sample in "
                "y; the model can only learn them zero-shot", UserWarning,
                stacklevel=2,
            )
        with training_call(self):
            for key in _REFIT_CLEARS:  # a refit keeps nothing of the old model
                vars(self).pop(key, None)
            self.emotions_ = emotions
            self.n_fit_emotions_ = len(emotions)
            self.emotion_vectors_ = vectors
            self.thresholds_ = thresholds
            self.classes_ = np.array([[0, 1]] * len(emotions))
            self.input_dims_ = {m: int(X[m].shape[2]) for m in X.modalities}
            self.pos_weight_ = self._compute_pos_weight(y)
            with self._rng():
                self.initialize()
                self._before_training(X)
                self._train(X, y, **fit_params)
            self._after_fit(X, y)
        return self

    def partial_fit(self, X, y, classes=None, **fit_params):
        """Continue training on ``(X, y)`` without re-initialising (fine-tuning).

        ``y`` must have one column per current emotion (including emotions
        added with :meth:`add_emotions`; a DataFrame is matched by name). Runs
        ``max_epochs`` epochs with the same callbacks as :meth:`fit`;
        ``pos_weight`` is recomputed from ``y``. Calling it on an unfitted
        estimator is the same as :meth:`fit`. One transaction, as ``fit``.
        """
        self._check_fit_params(fit_params, "partial_fit")
        if not self.__sklearn_is_fitted__():
            return self.fit(X, y, **fit_params)
        self._check_params()
        X = check_X(X, fitted=self.input_dims_)
        y = check_y(align_y(y, self.emotions_, action="partial_fit"), n_samples=len(X),
                    n_emotions=len(self.emotions_))
        self._check_split_size(len(X))
        with training_call(self):
            self.pos_weight_ = self._compute_pos_weight(y)
            self._set_pos_weight(self.pos_weight_)
            with self._rng(offset=len(self.history_)):
                self._train(X, y, **fit_params)
        return self

    def _train(self, X, y, **fit_params):
        """skorch's training (``on_train_begin``, ``fit_loop``, ``on_train_end``)
        on validated data; ``epochs=`` reaches ``fit_loop``."""
        return super().partial_fit(X, y, **fit_params)

    # ------------------------------------------------------------------
    # prediction
    # ------------------------------------------------------------------
    def _check_predict_X(self, X):
        self._check_fitted()
        if isinstance(X, torch.utils.data.Dataset):
            return X  # skorch's own (validation set, scoring callbacks)
        return check_X(X, fitted=self.input_dims_)

    def decision_function(self, X):
        """Fused logits, ``(n, K)``, in the column order of ``emotions_``."""
        X = self._check_predict_X(X)
        return self.forward(X, training=False).detach().numpy().astype(np.float64)

    def predict_proba(self, X):
        """Probability of each emotion, ``(n, K)``: ``sigmoid(logits)``."""
        X = self._check_predict_X(X)
        logits = self.forward(X, training=False).detach()
        return torch.sigmoid(logits).numpy().astype(np.float64)

    def predict(self, X):
        """0/1 predictions ``predict_proba(X) > thresholds_``, ``(n, K)``."""
        proba = self.predict_proba(X)
        return (proba > self.thresholds_).astype(int)

    def score(self, X, y, sample_weight=None):
        """Mean weighted accuracy over emotions."""
        if sample_weight is not None:
            raise ValueError("sample_weight is not supported by weighted accuracy")
        self._check_fitted("score")
        y = align_y(y, self.emotions_, action="score")
        pred = self.predict(X)
        y = check_y(y, n_samples=pred.shape[0], n_emotions=pred.shape[1])
        return weighted_accuracy_score(y, pred)

    # ------------------------------------------------------------------
    # persistence
    # ------------------------------------------------------------------
    def save(self, path, *, include_memory=False):
        """Save to ``path`` in skmemo's safe format (see :func:`skmemo.load`).

        The episodic memory (raw training samples) is left out unless
        ``include_memory=True``.
        """
        from .persistence import save

        return save(self, path, include_memory=include_memory)
