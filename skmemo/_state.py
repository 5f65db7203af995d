"""The estimator's state: its parameters, its fitted state, its device.

:class:`FittedStateMixin` is the part of :class:`skmemo._base._EmotionNetBase`
that says what an estimator *holds*: the constructor parameters (``device``
keeps what the user set, ``"auto"`` included), and everything else, the
fitted state, read and written as one (:meth:`~FittedStateMixin._fitted_state`,
:meth:`~FittedStateMixin._restore_fitted_state`) by the training transaction
(:mod:`skmemo._transaction`) and rebuilt from a file by
:func:`skmemo.persistence.load` (:meth:`~FittedStateMixin._restore_saved_state`).
The estimator declares the attributes a fit must have set in
``_fitted_attributes``; the fitted check reads them.
"""

import numpy as np
import torch

from .exceptions import NotFittedError

__all__ = ["FittedStateMixin", "resolve_device"]


def resolve_device(device):
    """``"auto"`` -> ``"cuda"`` when available, else ``"cpu"``; others unchanged."""
    if isinstance(device, str) and device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


class FittedStateMixin:
    """Parameters versus fitted state, for a skorch ``NeuralNet`` subclass that
    declares ``_fitted_attributes``."""

    # ------------------------------------------------------------------
    # device="auto": the parameter keeps what the user set
    # ------------------------------------------------------------------
    @property
    def device(self):
        return resolve_device(getattr(self, "device_requested_", "auto"))

    @device.setter
    def device(self, value):
        self.device_requested_ = value

    def _get_param_names(self):
        names = [n for n in super()._get_param_names() if n != "_params_to_validate"]
        return names if "device" in names else names + ["device"]

    def get_params(self, deep=True, **kwargs):
        params = super().get_params(deep=deep, **kwargs)
        params.pop("_params_to_validate", None)
        params["device"] = getattr(self, "device_requested_", "auto")
        return params

    def __getstate__(self):
        state = super().__getstate__()
        state["device"] = self.device  # skorch maps tensors from this device
        return state

    def __setstate__(self, state):
        requested = state.get("device_requested_", "auto")
        super().__setstate__(state)
        mapped = vars(self).pop("device", None)
        if requested not in ("auto", None) and mapped != requested:
            requested = str(mapped)  # e.g. a CUDA model loaded on a CPU-only machine
        self.device_requested_ = requested

    # ------------------------------------------------------------------
    # the fitted state, declared once
    # ------------------------------------------------------------------
    def _parameter_keys(self):
        """Attributes that hold constructor parameters (``device`` included)."""
        return set(self._get_param_names()) | {"device_requested_"}

    def _fitted_state(self):
        """Every attribute that is not a constructor parameter, by name.

        What a fit builds: skorch's (``module_``, ``criterion_``,
        ``optimizer_``, ``callbacks_``, ``history_``, ``initialized_``, ...)
        and the estimator's :attr:`_fitted_attributes`. The training
        transaction copies it and writes it back (:mod:`skmemo._transaction`),
        :func:`skmemo.persistence.save` writes the declared attributes,
        ``__sklearn_is_fitted__`` checks them.
        """
        keys = self._parameter_keys()
        return {k: v for k, v in vars(self).items() if k not in keys}

    def _restore_fitted_state(self, state):
        """Make ``state`` the fitted state: other non-parameter attributes go."""
        keys = self._parameter_keys()
        for key in [k for k in vars(self) if k not in keys and k not in state]:
            vars(self).pop(key)
        for key, value in state.items():
            # by key: skorch's __setattr__ would register torch objects again
            self.__dict__[key] = value

    def _restore_saved_state(self, state, module_state, optimizer_state):
        """Rebuild a fitted estimator from :func:`skmemo.persistence.load`'s data.

        ``state`` holds the :attr:`_fitted_attributes` (and ``memory_``,
        ``history_`` when saved); the network is built from them and given
        ``module_state``; the optimizer is built, with ``optimizer_state``,
        when training resumes.
        """
        state = dict(state)
        history = state.pop("history_", None)
        state["n_fit_emotions_"] = int(state["n_fit_emotions_"])
        state["emotion_vectors_"] = np.asarray(state["emotion_vectors_"], dtype=np.float32)
        state["thresholds_"] = np.asarray(state["thresholds_"], dtype=float)
        state["input_dims_"] = {str(m): int(d) for m, d in state["input_dims_"].items()}
        if state["pos_weight_"] is not None:
            state["pos_weight_"] = np.asarray(state["pos_weight_"], dtype=np.float32)
        self._restore_fitted_state({**self._fitted_state(), **state})
        self.defer_optimizer_ = True  # built with its saved state when training resumes
        try:
            with torch.random.fork_rng(devices=[]):  # initialisation must not move the
                self.initialize()                    # global random state
        finally:
            del self.defer_optimizer_
        self.module_.load_state_dict(module_state)
        self.optimizer_state_pending_ = optimizer_state
        if history is not None:
            self.history_ = history
        return self

    def __sklearn_is_fitted__(self):
        return bool(getattr(self, "initialized_", False)) and all(
            hasattr(self, name) for name in self._fitted_attributes)

    def _check_fitted(self, action="predict"):
        if not self.__sklearn_is_fitted__():
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call fit(X, y) "
                f"before {action}."
            )

    # ------------------------------------------------------------------
    # a loaded model builds its optimizer when training resumes
    # ------------------------------------------------------------------
    def initialize_optimizer(self, *args, **kwargs):
        if getattr(self, "defer_optimizer_", False):
            # skmemo.load: the optimizer is built when training resumes (building
            # one imports torch's compiler stack, a second a model that only
            # predicts need not pay); see __getattr__. Registered now, so that
            # optimizer__* parameters validate and skorch steps it once built.
            self._register_attribute("optimizer_", None)
            return self
        return super().initialize_optimizer(*args, **kwargs)

    def __getattr__(self, name):
        # only reached when normal lookup fails: a loaded model's optimizer is
        # built, with its saved state, on first use
        if name == "optimizer_" and "optimizer_state_pending_" in vars(self):
            state = vars(self).pop("optimizer_state_pending_")
            self._initialize_optimizer()
            optimizer = vars(self)["optimizer_"]
            if state is not None:
                optimizer.load_state_dict(state)
            return optimizer
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
