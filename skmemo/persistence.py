"""Save and load a fitted estimator without executing code on load.

:func:`save` writes one file with :func:`torch.save`; :func:`load` reads it with
``torch.load(..., weights_only=True)``, which only rebuilds tensors and plain
Python values (dicts, lists, strings, numbers): opening a file cannot run code
from it, unlike ``pickle.load`` or ``joblib.load``.

File format (``format_version`` 1): a dict of tensors and plain values

=====================  ==========================================================
key                    content
=====================  ==========================================================
``format``             ``"skmemo.MultimodalEmotionClassifier"``
``format_version``     ``1``; a reader refuses files with a larger number
``skmemo_version``     version of the writer, for information
``params``             JSON string of ``get_params(deep=False)`` (see below)
``dropped_params``     names of parameters not saved (their default is used)
``word_vectors``       None, or ``{"words": [...], "vectors": Tensor}`` when the
                       ``word_vectors`` parameter is a mapping
``estimator``          ``"module:Class"`` of the estimator, one of
                       :data:`ESTIMATORS`
``fitted``             the estimator's declared fitted attributes
                       (``_fitted_attributes``: ``emotions_``,
                       ``n_fit_emotions_``, ``emotion_vectors_``,
                       ``input_dims_``, ``thresholds_``, ``classes_``,
                       ``pos_weight_``), each under its name without the
                       trailing ``_``; arrays as tensors
``module_state``       ``module_.state_dict()`` (CPU tensors)
``optimizer_state``    ``optimizer_.state_dict()`` (CPU tensors)
``history``            JSON string of ``history_``, or None
``memory``             ``memory_.to_state()`` (episodic memory), or None
=====================  ==========================================================

Parameters. Plain values (None, bool, numbers, strings, lists, dicts with
string keys), tuples, numpy arrays and paths are saved exactly. Classes are
saved by import path when they come from ``skmemo`` or from torch's
``torch.optim``, ``torch.nn.modules`` and ``torch.utils.data`` packages (every
torch optimizer and loss, for instance), and are checked against the expected
base class on load. Anything else is handled by what it controls:

- ``module``, ``criterion``, ``optimizer``, ``dataset``, ``iterator_train``,
  ``iterator_valid`` define what the loaded model computes: a class from
  elsewhere (your own module subclass, say) makes :func:`save` raise a
  ``TypeError``. Pickle such an estimator instead (trusted files only);
- a ``word_vectors`` mapping is saved as data (its words and vectors), so that
  :meth:`~skmemo.MultimodalEmotionClassifier.add_emotions` works after loading;
- a scikit-learn estimator from ``skmemo`` (a
  :class:`~skmemo.feature_extraction.TextEncoder` as ``word_vectors``) is saved
  as its class path and parameters, never its model weights; it reloads its
  model from local files when next used;
- any other value that is not plain data (callbacks, a ``train_split``
  callable, ``pretrain_X`` arrays, functions passed as ``callbacks__*``) only
  steers future training: it is left out with a ``UserWarning`` naming it, and
  the loaded estimator has the parameter's default. The fitted state (weights,
  emotions, thresholds) is saved in full either way.

This module knows no estimator class: an estimator declares its fitted state
(``_fitted_attributes``, read with ``_fitted_state()`` and written back with
``_restore_fitted_state()``), and the file names the class to build, which
must be one of :data:`ESTIMATORS`.
"""

import importlib
import json
import os
import re
import warnings
from collections.abc import Mapping
from pathlib import Path, PurePath

import numpy as np
import torch
from sklearn.base import BaseEstimator
from skorch.exceptions import DeviceWarning
from skorch.history import History

from ._version import __version__
from .exceptions import DataFormatError, NotFittedError

__all__ = ["ESTIMATORS", "FORMAT", "FORMAT_VERSION", "save", "load"]

FORMAT = "skmemo.MultimodalEmotionClassifier"
FORMAT_VERSION = 1

#: the estimator classes a file may name (``"module:Class"``); files of
#: skmemo 0.1.0 without an ``estimator`` entry hold the first
ESTIMATORS = (
    "skmemo.classifier:MultimodalEmotionClassifier",
    "skmemo.baselines:EarlyFusionLSTMClassifier",
    "skmemo.baselines:LateFusionLSTMClassifier",
)

# parameter -> base class its value must subclass
_CLASS_PARAMS = {
    "module": torch.nn.Module,
    "criterion": torch.nn.Module,
    "optimizer": torch.optim.Optimizer,
    "dataset": torch.utils.data.Dataset,
    "iterator_train": torch.utils.data.DataLoader,
    "iterator_valid": torch.utils.data.DataLoader,
}
_TRUSTED_MODULES = re.compile(
    r"^(skmemo|torch\.optim|torch\.nn\.modules|torch\.utils\.data)(\.[A-Za-z_]\w*)*$"
)


class _Unsaveable(Exception):
    """A parameter value that is not plain data."""


# ----------------------------------------------------------------------
# parameters <-> JSON
# ----------------------------------------------------------------------
def _class_path(cls):
    module, name = cls.__module__, cls.__qualname__
    if not _TRUSTED_MODULES.match(module) or not re.fullmatch(r"[A-Za-z_]\w*", name):
        raise _Unsaveable(f"{module}.{name}")
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise _Unsaveable(f"{module}.{name}") from None
    if found is not cls:
        raise _Unsaveable(f"{module}.{name}")
    return f"{module}:{name}"


def _resolve_class(path, base):
    module, _, name = str(path).partition(":")
    if not _TRUSTED_MODULES.match(module) or not re.fullmatch(r"[A-Za-z_]\w*", name):
        raise DataFormatError(f"the file names a class outside skmemo and torch: {path!r}")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise DataFormatError(f"class {path!r} named in the file does not exist here") from None
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise DataFormatError(f"{path!r} is not a {base.__name__} class")
    return cls


def _plain(value):
    """pandas and numpy containers of names as plain lists and dicts."""
    if hasattr(value, "to_dict") and hasattr(value, "index") and not hasattr(value, "columns"):
        return {str(k): _plain(v) for k, v in value.to_dict().items()}  # Series
    if hasattr(value, "tolist") and type(value).__module__.startswith("pandas"):
        return [_plain(v) for v in value.tolist()]  # Index
    if isinstance(value, np.ndarray) and value.dtype.kind in "OUS":
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.str_):
        return str(value)
    return value


def _encode(value):
    value = _plain(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return {"__ndarray__": value.tolist(), "dtype": value.dtype.str}
    if isinstance(value, PurePath):
        return {"__path__": str(value)}
    if isinstance(value, torch.device):
        return str(value)
    if isinstance(value, type):
        return {"__class__": _class_path(value)}
    if isinstance(value, BaseEstimator):
        return _encode_estimator(value)
    if type(value) is dict and all(isinstance(k, str) for k in value):
        return {k: _encode(v) for k, v in value.items()}
    raise _Unsaveable(type(value).__name__)


def _decode(value, base=object):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"__tuple__"}:
        return tuple(_decode(v) for v in value["__tuple__"])
    if set(value) == {"__ndarray__", "dtype"}:
        return np.asarray(value["__ndarray__"], dtype=np.dtype(value["dtype"]))
    if set(value) == {"__path__"}:
        return Path(value["__path__"])
    if set(value) == {"__class__"}:
        return _resolve_class(value["__class__"], base)
    if set(value) == {"__estimator__", "params"}:
        cls = _resolve_class(value["__estimator__"], BaseEstimator)
        return cls(**{k: _decode(v) for k, v in value["params"].items()})
    return {k: _decode(v) for k, v in value.items()}


def _encode_estimator(est):
    """A skmemo transformer (a TextEncoder as ``word_vectors``) by class and parameters."""
    return {"__estimator__": _class_path(type(est)),
            "params": {k: _encode(v) for k, v in est.get_params(deep=False).items()}}


def _encode_params(clf):
    params = clf.get_params(deep=False)
    encoded, dropped, refused = {}, {}, []
    word_vectors = None
    for name, value in params.items():
        if name == "word_vectors" and isinstance(value, Mapping):
            word_vectors = _word_vectors_payload(value)
            continue
        try:
            encoded[name] = _encode(value)
        except _Unsaveable as exc:
            if name in _CLASS_PARAMS:
                refused.append(f"{name} ({exc})")
            else:
                dropped[name] = f"{name} ({exc})"
    if refused:
        raise TypeError(
            f"cannot save parameter(s) {', '.join(refused)}: skmemo files only name "
            "classes from skmemo and torch (optimizers, losses, data loaders), so that "
            "loading never runs other code. Use pickle or joblib for this estimator, "
            "and load such files only from sources you trust"
        )
    if dropped:
        warnings.warn(
            f"parameter(s) {', '.join(dropped.values())} are not plain data and are not saved; "
            "the loaded estimator has their default values. Predictions are not affected "
            "(the fitted state, thresholds included, is saved in full); training the loaded "
            "estimator again uses the defaults", UserWarning, stacklevel=3,
        )
    return json.dumps(encoded, allow_nan=True), list(dropped), word_vectors


def _word_vectors_payload(mapping):
    words = [str(w) for w in mapping.keys()]
    try:
        vectors = np.stack([np.asarray(mapping[w], dtype=np.float32).ravel()
                            for w in mapping.keys()]) if words else np.zeros((0, 0))
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"cannot save the word_vectors mapping: its values must be vectors of one "
            f"length ({exc})"
        ) from None
    return {"words": words, "vectors": torch.from_numpy(vectors.astype(np.float32))}


# ----------------------------------------------------------------------
# tensors
# ----------------------------------------------------------------------
def _to_cpu(obj):
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_cpu(v) for v in obj)
    return obj


def _check_plain(obj, where):
    """Refuse (at save time) anything ``weights_only`` loading would reject."""
    if obj is None or isinstance(obj, (bool, int, float, str, torch.Tensor)):
        return
    if isinstance(obj, dict):
        for k, v in obj.items():
            if not isinstance(k, (str, int)):
                raise TypeError(f"{where} has a key of type {type(k).__name__}")
            _check_plain(v, f"{where}[{k!r}]")
        return
    if isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _check_plain(v, f"{where}[{i}]")
        return
    raise TypeError(
        f"{where} holds a {type(obj).__name__}; a skmemo file holds only tensors and "
        "plain Python values"
    )


def _json_default(obj):
    if isinstance(obj, (np.generic, torch.Tensor)) and np.ndim(obj) == 0:
        return obj.item()
    if isinstance(obj, (np.ndarray, torch.Tensor)):
        return obj.tolist()
    raise TypeError(type(obj).__name__)


def _history_json(clf):
    history = getattr(clf, "history_", None)
    if history is None:
        return None
    try:
        return json.dumps(list(history), default=_json_default, allow_nan=True)
    except (TypeError, ValueError) as exc:
        warnings.warn(f"the training history is not saved: it holds a value JSON cannot "
                      f"store ({exc})", UserWarning, stacklevel=3)
        return None


def _memory_state(clf):
    memory = getattr(clf, "memory_", None)
    if memory is None:
        return None
    if not hasattr(memory, "to_state"):
        warnings.warn(f"the episodic memory ({type(memory).__name__}) has no to_state() "
                      "and is not saved", UserWarning, stacklevel=3)
        return None
    return _to_cpu(memory.to_state())


# ----------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------
def save(clf, path, *, include_memory=False):
    """Save a fitted estimator to one file that loads without running code.

    Parameters
    ----------
    clf : MultimodalEmotionClassifier
        A fitted estimator, possibly with emotions added after fit.
    path : str or path-like
        Destination file; overwritten if it exists (atomically: a failed save
        leaves any previous file in place).
    include_memory : bool, default=False
        Also store the episodic memory (``memory_``): raw training samples
        kept for :meth:`~MultimodalEmotionClassifier.partial_fit_gem`. Off by
        default, so that sharing a model file never shares training data; a
        model loaded without memory trains ``partial_fit_gem`` without
        constraints (and says so) until it is fitted again.

    Raises
    ------
    NotFittedError
        If ``clf`` is not fitted.
    TypeError
        If a parameter names a class outside skmemo and torch (see
        :mod:`skmemo.persistence`), or ``clf`` is not a
        ``MultimodalEmotionClassifier``.

    See Also
    --------
    load : Read the file back.

    Examples
    --------
    >>> import tempfile, os
    >>> from skmemo import MultimodalEmotionClassifier
    >>> from skmemo.datasets import make_emotion_dataset
    >>> from skmemo.persistence import load, save
    >>> X, Y = make_emotion_dataset(60, emotions=["happy", "sad"], seq_len=4,
    ...                             random_state=0)
    >>> clf = MultimodalEmotionClassifier(["happy", "sad"], max_epochs=1,
    ...                                   random_state=0).fit(X, Y)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.skmemo")
    >>> save(clf, path)
    >>> bool((load(path).predict_proba(X) == clf.predict_proba(X)).all())
    True
    """
    estimator_class = f"{type(clf).__module__}:{type(clf).__qualname__}"
    if estimator_class not in ESTIMATORS:
        raise TypeError(
            "save writes skmemo's estimators (MultimodalEmotionClassifier and the "
            f"baselines); got {type(clf).__name__} (use pickle or joblib for other "
            "classes, subclasses included)"
        )
    if not clf.__sklearn_is_fitted__():
        raise NotFittedError(
            f"This {type(clf).__name__} is not fitted yet; call fit(X, y) before save."
        )
    path = Path(os.fspath(path))
    params, dropped, word_vectors = _encode_params(clf)
    state = clf._fitted_state()
    fitted = {name[:-1]: _fitted_value(state[name]) for name in clf._fitted_attributes}
    fitted["classes_is_list"] = isinstance(state["classes_"], list)
    optimizer = state.get("optimizer_")
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "skmemo_version": str(__version__),
        "estimator": estimator_class,
        "params": params,
        "dropped_params": dropped,
        "word_vectors": word_vectors,
        "fitted": fitted,
        "module_state": _to_cpu(dict(state["module_"].state_dict())),
        "optimizer_state": None if optimizer is None else _to_cpu(optimizer.state_dict()),
        "history": _history_json(clf),
        "memory": _memory_state(clf) if include_memory else None,
    }
    _check_plain(payload, "the saved state")
    tmp = path.with_name(path.name + ".tmp")
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _fitted_value(value):
    """A fitted attribute as plain data: arrays as tensors, names as strings."""
    value = _plain(value)
    if isinstance(value, list) and value and isinstance(value[0], np.ndarray):
        value = np.asarray(value)  # classes_ as a list of per-emotion arrays
    if isinstance(value, np.ndarray):
        return torch.as_tensor(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _fitted_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_fitted_value(v) for v in value]
    return value


def _from_file(value):
    """The inverse of :func:`_fitted_value`: tensors as numpy arrays."""
    if isinstance(value, torch.Tensor):
        return value.numpy()
    if isinstance(value, dict):
        return {k: _from_file(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_file(v) for v in value]
    return value


def _estimator_class(path):
    """The class a file names, if it is one of :data:`ESTIMATORS` (imported now)."""
    if path not in ESTIMATORS:
        raise DataFormatError(
            f"the file names the estimator {path!r}; skmemo files hold one of "
            f"{list(ESTIMATORS)}")
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def _read(path):
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if not magic.startswith(b"PK"):
        kind = ("a pickle or joblib file" if magic[:1] == b"\x80" or path.suffix in (
            ".pkl", ".pickle", ".joblib") else "not a zip archive")
        raise DataFormatError(
            f"{path} is not an skmemo file ({kind}); skmemo files are written by "
            "skmemo.persistence.save. If it is a pickle or joblib file of an estimator, "
            "know that loading those runs code from the file: use joblib.load only on "
            "files from a source you trust")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except OSError:
        raise
    except Exception as exc:  # torch raises many types on foreign or damaged files
        raise DataFormatError(
            f"{path} is not an skmemo file (or it is damaged): {exc}\nIf it is a "
            "pickle or joblib file of an estimator, know that loading those runs "
            "code from the file: use joblib.load only on files from a source you trust"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise DataFormatError(
            f"{path} is not an skmemo file: it holds no "
            f"'format': {FORMAT!r} entry (save files with skmemo.persistence.save)"
        )
    version = payload.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise DataFormatError(f"{path} has an invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        raise DataFormatError(
            f"{path} was written by a newer skmemo (format version {version}, skmemo "
            f"{payload.get('skmemo_version')}); this skmemo reads format versions up to "
            f"{FORMAT_VERSION}: upgrade skmemo"
        )
    return payload


def _resolve_device(saved, requested):
    if requested is not None:
        return requested
    if isinstance(saved, str) and saved.startswith("cuda") and not torch.cuda.is_available():
        warnings.warn(
            f"the estimator was saved with device={saved!r} but CUDA is not available; "
            "loading it on 'cpu'", DeviceWarning, stacklevel=3,
        )
        return "cpu"
    return saved


def load(path, *, device=None):
    """Load an estimator saved with :func:`save`; no code from the file runs.

    Parameters
    ----------
    path : str or path-like
        File written by :func:`save` or
        :meth:`MultimodalEmotionClassifier.save`.
    device : str or torch.device, default=None
        Device to load on, which also becomes the ``device`` parameter. None
        keeps the saved parameter (usually ``"auto"``: CUDA when available);
        a saved ``"cuda"`` on a machine without CUDA loads on the CPU with a
        ``DeviceWarning``.

    Returns
    -------
    MultimodalEmotionClassifier
        Fitted: same parameters (except those listed in the file's
        ``dropped_params``), weights, emotions (added ones included),
        thresholds, optimizer state, history and episodic memory.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    DataFormatError
        If the file is not an skmemo file, or was written in a newer format
        version than this skmemo reads.

    See Also
    --------
    save : Write the file.
    """
    path = Path(os.fspath(path))
    if not path.is_file():
        raise FileNotFoundError(f"no skmemo file at {path}")
    payload = _read(path)
    try:
        raw = json.loads(payload["params"])
        params = {name: _decode(value, _CLASS_PARAMS.get(name, object))
                  for name, value in raw.items()}
        fitted = payload["fitted"]
        emotions = list(fitted["emotions"])
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, DataFormatError):
            raise
        raise DataFormatError(f"{path} is damaged: missing or invalid {exc}") from None
    wv = payload.get("word_vectors")
    if wv is not None:
        params["word_vectors"] = dict(zip(wv["words"], wv["vectors"].numpy()))
    params["device"] = _resolve_device(params.get("device", "auto"), device)

    cls = _estimator_class(payload.get("estimator") or ESTIMATORS[0])
    clf = cls(**params)
    state = {name: _from_file(fitted[name[:-1]]) for name in cls._fitted_attributes
             if name[:-1] in fitted}
    if "thresholds_" not in state:  # files of skmemo <= 0.x: the parameter plus
        added = [float(t) for t in fitted.get("added_thresholds", [])]  # added ones
        t = clf.threshold
        base = (np.full(len(emotions) - len(added), float(t)) if np.isscalar(t)
                else np.asarray(t, dtype=float).ravel()[:len(emotions) - len(added)])
        state["thresholds_"] = np.concatenate([base, added])
    if fitted.get("classes_is_list"):
        state["classes_"] = list(state["classes_"])
    memory = payload.get("memory")
    if memory is not None:
        from ._episodic import EpisodicMemory

        memory = EpisodicMemory.from_state(memory)
    state["memory_"] = memory
    if payload.get("history") is not None:
        state["history_"] = History(json.loads(payload["history"]))
    clf._restore_saved_state(state, payload["module_state"], payload.get("optimizer_state"))
    return clf
