"""The estimators' constructor parameters: their constraints and messages.

Every estimator declares ``_parameter_constraints``, one entry per
constructor parameter (the ones skorch contributes included), in the
vocabulary of scikit-learn's ``sklearn.utils._param_validation``
(``Interval``, ``StrOptions``, types, ``"boolean"``, ...; see scikit-learn's
``_fit_context``). :func:`validate_params` checks them all when a training
call starts, before any work, and refuses a value with one message, written
here: ``"<name> must be <what it accepts>, got <value>"``.
"""

import os
from collections.abc import Mapping

import torch
from sklearn.utils._param_validation import (
    HasMethods,
    InvalidParameterError,
    Options,
    StrOptions,
    _Constraint,
    make_constraint,
)

from ._checks import PADDINGS, options_text
from ._precision import _PRECISIONS
from .modules import MODALITIES

__all__ = ["ModalityMap", "Words", "validate_params"]


def _constraint(c):
    return c if isinstance(c, _Constraint) else make_constraint(c)


class ModalityMap(_Constraint):
    """A dict ``{modality: value}`` over known modalities, each value satisfying
    one of ``constraints``."""

    def __init__(self, constraints, what):
        super().__init__()
        self.constraints = [_constraint(c) for c in constraints]
        self.what = what

    def is_satisfied_by(self, val):
        return (isinstance(val, Mapping) and set(val) <= set(MODALITIES)
                and all(any(c.is_satisfied_by(v) for c in self.constraints)
                        for v in val.values()))

    def __str__(self):
        return f"a dict {{modality: {self.what}}} over {list(MODALITIES)}"


class Words(_Constraint):
    """A list-like (list, tuple, array, pandas Index) of words, not one string.

    The words themselves are checked where they are read
    (:func:`skmemo.vectors.parse_emotion`)."""

    def is_satisfied_by(self, val):
        if isinstance(val, (str, bytes, Mapping)) or not hasattr(val, "__iter__"):
            return False
        return getattr(val, "ndim", 1) == 1

    def __str__(self):
        return "a list of words, e.g. ['happy', 'sad']"


# how a constraint reads in a message, where scikit-learn's words are less plain
_WORDS = {"boolean": "True or False"}

#: parameters whose accepted values read better in words than as constraints
DESCRIPTIONS = {
    "batch_size": "a positive integer (or -1 for the whole data)",
    "validation_fraction": "a float in [0, 1)",
    "hidden_size": "a positive integer",
    "padding": options_text(PADDINGS),
    "rnn": options_text(("lstm", "gru")),
    "fusion": options_text(("weighted", "cross_attention")),
    "precision": f"one of {list(_PRECISIONS)}",
    "verbose": "an int >= 0 or a bool",
    "threshold": "a float in [0, 1], one value per emotion or a mapping emotion -> value",
    "module": "a torch.nn.Module class or instance, or None",
    "criterion": "a torch.nn.Module class or instance",
    "callbacks": "a list of callbacks or of (name, callback) pairs, None or 'disable'",
    "dataset": "a Dataset class or instance, or a callable",
    "device": "a device ('auto', 'cpu', 'cuda', ...), a torch.device or None",
    "pretrain_X": "a mapping modality -> array (as X) or None",
    "word_vectors": ("None, a path to a GloVe/word2vec text file, a mapping word -> vector "
                     "or an encoder with embed_emotions (a TextEncoder)"),
}


def describe(constraints):
    """What a parameter with these constraints accepts, in words."""
    parts = []
    for c in constraints:
        if isinstance(c, str) and c in _WORDS:
            parts.append(_WORDS[c])
        elif c is None:
            parts.append("None")
        elif isinstance(c, (StrOptions, Options)):
            parts.append(options_text(sorted(c.options, key=str)))
        else:
            parts.append(str(_constraint(c)))
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def validate_params(estimator):
    """Check every parameter of ``estimator`` against its ``_parameter_constraints``.

    Raises
    ------
    InvalidParameterError
        (a ``ValueError`` and a ``TypeError``) naming the first parameter
        whose value no constraint accepts, what it accepts and the value.
    """
    constraints = type(estimator)._parameter_constraints
    for name, value in estimator.get_params(deep=False).items():
        allowed = constraints.get(name)
        if allowed is None or any(_constraint(c).is_satisfied_by(value) for c in allowed):
            continue
        what = DESCRIPTIONS.get(name) or describe(allowed)
        raise InvalidParameterError(
            f"{name} must be {what}, got {value!r} ({type(estimator).__name__})")


#: the parameters NeuralNet contributes, as skmemo's estimators accept them
SKORCH_CONSTRAINTS = {
    "module": [type, torch.nn.Module, None],
    "criterion": [type, torch.nn.Module],
    "optimizer": [callable],
    "iterator_train": [callable],
    "iterator_valid": [callable],
    "dataset": [callable, torch.utils.data.Dataset],
    "train_split": [StrOptions({"auto"}), None, callable],
    "callbacks": [list, tuple, None, StrOptions({"disable"})],
    "predict_nonlinearity": [callable, StrOptions({"auto"}), None],
    "warm_start": ["boolean"],
    "verbose": ["verbose"],
    "device": [str, torch.device, None],
    "compile": ["boolean"],
    "use_caching": ["boolean", StrOptions({"auto"})],
    "torch_load_kwargs": [dict, None],
}

#: ``word_vectors`` sources (see :mod:`skmemo.vectors`)
WORD_VECTORS = [None, str, os.PathLike, HasMethods(["__getitem__", "__contains__"]),
                HasMethods(["embed_emotions"])]
