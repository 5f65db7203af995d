"""Episodic memory and the data of few-shot continual learning (see :mod:`skmemo.continual`)."""

import math
import numbers
from collections.abc import Mapping

import numpy as np
import torch
from sklearn.utils import check_random_state

from ._gem import _to_numpy
from .data import MultimodalData, check_X, check_y

_STATE_FORMAT = "skmemo.EpisodicMemory"
_STATE_VERSION = 1


# ----------------------------------------------------------------------
# episodic memory
# ----------------------------------------------------------------------
def _covering_sample(y, size, rng):
    """Indices of ``size`` rows of ``y`` that represent every emotion.

    Emotions are served rarest first: each gets up to
    ``max(1, size // (2 K))`` positives (fewer if it has fewer; positives of
    rows already chosen count). The rest is a uniform random draw.
    """
    n, K = y.shape
    if size >= n:
        return np.arange(n)
    pos = y > 0.5
    chosen = np.zeros(n, dtype=bool)
    quota = max(1, size // (2 * max(K, 1)))
    for k in np.argsort(pos.sum(axis=0), kind="stable"):
        need = min(quota, int(pos[:, k].sum())) - int(pos[chosen, k].sum())
        need = min(need, size - int(chosen.sum()))
        if need > 0:
            candidates = np.flatnonzero(pos[:, k] & ~chosen)
            chosen[rng.choice(candidates, need, replace=False)] = True
    fill = size - int(chosen.sum())
    if fill > 0:
        chosen[rng.choice(np.flatnonzero(~chosen), fill, replace=False)] = True
    return np.flatnonzero(chosen)


def _take_rows(X, idx):
    """Rows ``idx`` (sorted) of every array of ``X`` as numpy arrays."""
    out = {}
    for key, value in X.items():
        if isinstance(value, torch.Tensor):
            arr = value[torch.as_tensor(idx, device=value.device)].detach().cpu().numpy()
        else:
            arr = np.asarray(value[idx])  # numpy, or h5py with increasing indices
        out[key] = arr.astype(np.int64 if key.endswith("_lengths") else np.float32)
    return out


def _water_fill(sizes, capacity):
    """Per-task budgets: equal shares of ``capacity``, unused shares passed on."""
    shares = [0] * len(sizes)
    remaining = capacity
    order = np.argsort(sizes, kind="stable")
    for rank, i in enumerate(order):
        shares[i] = min(int(sizes[i]), remaining // (len(sizes) - rank))
        remaining -= shares[i]
    return shares


class EpisodicMemory:
    """A bounded store of samples from earlier tasks, for GEM.

    Each task keeps its samples (``X`` as a dict of numpy arrays, including
    any ``<modality>_lengths``, and ``y``), the number of emotions it knew
    (its loss is measured on the first ``n_emotions`` columns only) and the
    BCE ``pos_weight`` of its training data.

    Selection. ``capacity`` bounds the total number of samples over all
    tasks: every task gets an equal share, and shares a task cannot fill (it
    has fewer samples) pass to the others. When a task is added, older tasks
    shrink to their new share by re-selecting among their stored samples.
    Within a task, emotions are served rarest first, each getting up to
    ``max(1, share // (2 K))`` positives (all of them if it has fewer), so
    every emotion with a positive is represented whenever the share holds at
    least ``K`` samples; the rest of the share is a uniform random draw.

    Parameters
    ----------
    capacity : int, default=256
        Maximum number of samples over all tasks.
    random_state : int or None, default=None
        Seeds every selection (task ``i`` of ``n`` uses the seed
        ``[random_state, i, n]``); None draws fresh randomness.

    Attributes
    ----------
    tasks : list of dict
        ``{"X", "y", "n_emotions", "pos_weight"}`` per task, oldest first.

    Examples
    --------
    >>> import numpy as np
    >>> from skmemo.continual import EpisodicMemory
    >>> X = {"text": np.ones((100, 4, 3), np.float32)}
    >>> y = np.eye(4)[np.arange(100) % 4]
    >>> memory = EpisodicMemory(capacity=10, random_state=0).add_task(X, y)
    >>> len(memory), memory.n_tasks, memory.nbytes > 0
    (10, 1, True)
    >>> bool(memory.tasks[0]["y"].sum(axis=0).min() >= 1)  # every emotion is in
    True
    """

    def __init__(self, capacity=256, *, random_state=None):
        if (not isinstance(capacity, numbers.Integral) or isinstance(capacity, bool)
                or capacity < 1):
            raise ValueError(f"capacity must be an integer >= 1, got {capacity!r}")
        if random_state is not None and (not isinstance(random_state, numbers.Integral)
                                         or isinstance(random_state, bool)):
            raise ValueError(f"random_state must be an int or None, got {random_state!r}")
        self.capacity = int(capacity)
        self.random_state = None if random_state is None else int(random_state)
        self.tasks = []

    def _rng(self, task, n_tasks):
        if self.random_state is None:
            return np.random.default_rng()
        return np.random.default_rng([abs(self.random_state), task, n_tasks])

    def add_task(self, X, y, *, n_emotions=None, pos_weight=None):
        """Store a bounded selection of ``(X, y)`` as a new task.

        Parameters
        ----------
        X : mapping
            Modality -> array ``(n, T_m, d_m)`` (numpy, torch or h5py), and
            optionally ``<modality>_lengths``.
        y : array-like of shape (n, K)
            Binary labels.
        n_emotions : int, default=None
            Number of leading columns of ``y`` the task's loss uses; None
            uses all ``K``.
        pos_weight : array-like of shape (n_emotions,), default=None
            BCE ``pos_weight`` of the task's loss; None weighs positives 1.

        Returns
        -------
        self
        """
        if not isinstance(X, Mapping) or not X:
            raise TypeError("X must be a non-empty mapping of modality -> array")
        return self._store_task(X, check_y(y), n_emotions=n_emotions, pos_weight=pos_weight)

    def _store_task(self, X, y, *, n_emotions=None, pos_weight=None):
        """:meth:`add_task` on labels that :func:`~skmemo.data.check_y` returned
        (the estimator's call: its data are validated once, at its boundary)."""
        n = len(y)
        if n == 0 or any(len(v) != n for v in X.values()):
            raise ValueError(f"X and y must hold the same, non-zero number of samples; "
                             f"got {n} labels")
        K = y.shape[1] if n_emotions is None else n_emotions
        if not isinstance(K, numbers.Integral) or not 1 <= K <= y.shape[1]:
            raise ValueError(f"n_emotions must be an integer in [1, {y.shape[1]}], "
                             f"got {n_emotions!r}")
        if pos_weight is not None:
            pos_weight = np.asarray(pos_weight, dtype=np.float32).ravel()
            if pos_weight.shape != (K,):
                raise ValueError(f"pos_weight must hold {K} values, got {pos_weight.shape}")
        n_tasks = len(self.tasks) + 1
        shares = _water_fill([len(t["y"]) for t in self.tasks] + [n], self.capacity)
        for i, task in enumerate(self.tasks):  # shrink older tasks to their share
            if shares[i] < len(task["y"]):
                keep = _covering_sample(task["y"][:, :task["n_emotions"]], shares[i],
                                        self._rng(i, n_tasks))
                task["X"] = {k: v[keep] for k, v in task["X"].items()}
                task["y"] = task["y"][keep]
        idx = _covering_sample(y[:, :K], shares[-1], self._rng(n_tasks - 1, n_tasks))
        self.tasks.append({"X": _take_rows(X, idx), "y": y[idx], "n_emotions": int(K),
                           "pos_weight": pos_weight, "n_seen": int(n)})
        return self

    def extend_task(self, X, y, *, pos_weight=None):
        """Add ``(X, y)`` to the latest task (a stream of chunks of one task).

        The task keeps a selection of everything it has seen: of its budget
        (its water-filled share of ``capacity``), the new chunk gets the part
        proportional to its size among all samples the task has seen, and the
        stored samples keep the rest; earlier tasks keep their memory. With no
        task stored yet this is :meth:`add_task`.

        Parameters
        ----------
        X : mapping
            Same modalities as the task's stored samples.
        y : array-like of shape (n, K)
            At least the task's ``n_emotions`` columns.
        pos_weight : ignored when a task exists (the task keeps its own)

        Returns
        -------
        self
        """
        return self._extend_task(X, check_y(y), pos_weight=pos_weight)

    def _extend_task(self, X, y, *, pos_weight=None):
        """:meth:`extend_task` on labels that :func:`~skmemo.data.check_y`
        returned (the estimator's call)."""
        if not self.tasks:
            return self._store_task(X, y, pos_weight=pos_weight)
        task = self.tasks[-1]
        K = task["n_emotions"]
        if y.shape[1] < K or len(y) == 0 or any(len(v) != len(y) for v in X.values()):
            raise ValueError(f"y must hold at least {K} columns and as many rows as X")
        if set(X) != set(task["X"]):
            raise ValueError(f"X must hold the task's keys {sorted(task['X'])}; got "
                             f"{sorted(X)}")
        seen = int(task.get("n_seen", len(task["y"])))
        n_new = len(y)
        shares = _water_fill([len(t["y"]) for t in self.tasks[:-1]]
                             + [len(task["y"]) + n_new], self.capacity)
        for i, other in enumerate(self.tasks[:-1]):  # earlier tasks keep their share
            if shares[i] < len(other["y"]):
                keep = _covering_sample(other["y"][:, :other["n_emotions"]], shares[i],
                                        self._rng(i, len(self.tasks) + seen))
                other["X"] = {k: v[keep] for k, v in other["X"].items()}
                other["y"] = other["y"][keep]
        share = shares[-1]
        k_new = min(n_new, int(round(share * n_new / (seen + n_new))))
        k_old = min(len(task["y"]), share - k_new)
        k_new = min(n_new, share - k_old)
        rng = self._rng(len(self.tasks) - 1, len(self.tasks) + seen)
        old = _covering_sample(task["y"][:, :K], k_old, rng)
        new = _covering_sample(y[:, :K], k_new, rng)
        rows = _take_rows(X, new)
        task["X"] = {k: np.concatenate([v[old], rows[k]]) for k, v in task["X"].items()}
        task["y"] = np.concatenate([task["y"][old], y[new][:, :task["y"].shape[1]]
                                    if y.shape[1] >= task["y"].shape[1]
                                    else y[new]])
        task["n_seen"] = seen + n_new
        return self

    @property
    def n_tasks(self):
        """Number of tasks stored."""
        return len(self.tasks)

    def __len__(self):
        return sum(len(t["y"]) for t in self.tasks)

    @property
    def nbytes(self):
        """Bytes held by the stored arrays."""
        total = 0
        for t in self.tasks:
            total += t["y"].nbytes + sum(v.nbytes for v in t["X"].values())
            total += 0 if t["pos_weight"] is None else t["pos_weight"].nbytes
        return total

    def __repr__(self):
        return (f"EpisodicMemory(capacity={self.capacity}, n_tasks={self.n_tasks}, "
                f"n_samples={len(self)})")

    def to_state(self):
        """The memory as tensors and plain Python values.

        The result loads with ``torch.load(..., weights_only=True)``; rebuild
        the memory with :meth:`from_state`.
        """
        return {
            "format": _STATE_FORMAT,
            "version": _STATE_VERSION,
            "capacity": self.capacity,
            "random_state": self.random_state,
            "tasks": [{
                "X": {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in t["X"].items()},
                "y": torch.from_numpy(np.ascontiguousarray(t["y"])),
                "n_emotions": t["n_emotions"],
                "n_seen": int(t.get("n_seen", len(t["y"]))),
                "pos_weight": (None if t["pos_weight"] is None
                               else torch.from_numpy(t["pos_weight"].copy())),
            } for t in self.tasks],
        }

    @classmethod
    def from_state(cls, state):
        """Rebuild a memory from :meth:`to_state`'s output."""
        if not isinstance(state, Mapping) or state.get("format") != _STATE_FORMAT:
            raise ValueError("state is not an EpisodicMemory state (see to_state)")
        if state.get("version") != _STATE_VERSION:
            raise ValueError(f"unsupported EpisodicMemory state version "
                             f"{state.get('version')!r}; this skmemo reads version "
                             f"{_STATE_VERSION}")
        memory = cls(state["capacity"], random_state=state["random_state"])
        for t in state["tasks"]:
            memory.tasks.append({
                "X": {k: _to_numpy(v) for k, v in t["X"].items()},
                "y": _to_numpy(t["y"]).astype(np.float32),
                "n_emotions": int(t["n_emotions"]),
                "n_seen": int(t.get("n_seen", len(t["y"]))),
                "pos_weight": None if t["pos_weight"] is None else _to_numpy(t["pos_weight"]),
            })
        return memory


# ----------------------------------------------------------------------
# data helpers: few-shot split, joint training set
# ----------------------------------------------------------------------
def few_shot_split(Y, emotion, fraction=0.01, *, emotions=None, random_state=None,
                   min_positives=1):
    """Indices of a few-shot set for one emotion (paper section 4.2), and the rest.

    The few-shot set is a uniform random draw (not the first rows) of
    ``n_pos = min(P, max(min_positives, ceil(fraction * P)))`` of the ``P``
    samples positive for ``emotion``, plus ``n_pos`` samples drawn uniformly
    from those negative for it. The other labels of the drawn samples are
    whatever they are.

    Parameters
    ----------
    Y : array-like of shape (n_samples, K)
        Binary labels.
    emotion : int or str
        Column index, or a name looked up (case-insensitively) in ``emotions``.
    fraction : float, default=0.01
        Share of the emotion's positives to draw, in (0, 1].
    emotions : list of str, default=None
        Column names, required when ``emotion`` is a name.
    random_state : int, RandomState or None, default=None
    min_positives : int, default=1
        Lower bound on the number of positives drawn.

    Returns
    -------
    few : ndarray of int
        Sorted indices of the few-shot set (``2 * n_pos`` samples).
    rest : ndarray of int
        Sorted indices of every other sample.

    Examples
    --------
    >>> import numpy as np
    >>> from skmemo.continual import few_shot_split
    >>> Y = np.array([[1, 0]] * 50 + [[0, 1]] * 150)
    >>> few, rest = few_shot_split(Y, "sad", 0.1, emotions=["happy", "sad"],
    ...                            random_state=0)
    >>> len(few), int(Y[few, 1].sum()), len(rest)
    (30, 15, 170)
    """
    Y = check_y(Y)
    K = Y.shape[1]
    if isinstance(emotion, str):
        names = [str(e).lower().strip() for e in (emotions or [])]
        if emotion.lower().strip() not in names:
            raise ValueError(f"emotion {emotion!r} is not among emotions={emotions!r}; "
                             "pass the list of column names, or a column index")
        emotion = names.index(emotion.lower().strip())
    if not isinstance(emotion, numbers.Integral) or not 0 <= emotion < K:
        raise ValueError(f"emotion must be a column index in [0, {K - 1}] or a name, "
                         f"got {emotion!r}")
    if not isinstance(fraction, numbers.Real) or not 0 < fraction <= 1:
        raise ValueError(f"fraction must lie in (0, 1], got {fraction!r}")
    if not isinstance(min_positives, numbers.Integral) or min_positives < 1:
        raise ValueError(f"min_positives must be an integer >= 1, got {min_positives!r}")
    positives = np.flatnonzero(Y[:, emotion] > 0.5)
    negatives = np.flatnonzero(Y[:, emotion] < 0.5)
    if len(positives) == 0:
        raise ValueError(f"column {emotion} has no positive sample to draw from")
    n_pos = min(len(positives), max(int(min_positives),
                                    math.ceil(round(fraction * len(positives), 9))))
    if len(negatives) < n_pos:
        raise ValueError(f"column {emotion} has {len(negatives)} negatives; {n_pos} are "
                         "needed to balance the positives drawn")
    rng = check_random_state(random_state)
    few = np.sort(np.concatenate([rng.choice(positives, n_pos, replace=False),
                                  rng.choice(negatives, n_pos, replace=False)]))
    return few, np.setdiff1d(np.arange(len(Y)), few)


def joint_training_set(X_old, Y_old, X_new, Y_new, *, fill=0):
    """Concatenate old training data and a few-shot set for joint training (JT).

    ``Y_old`` has the ``K_old`` emotions known before; ``Y_new`` has
    ``K_new >= K_old`` columns (the old ones first, as after
    :meth:`~skmemo.MultimodalEmotionClassifier.add_emotions`). The old labels
    are padded with ``fill`` for the new columns. In the paper's protocol
    every sample positive for the held-out emotion was removed from the old
    data, so ``fill=0`` is exact there; otherwise it assumes "absent".

    Parameters
    ----------
    X_old, X_new : mapping
        Inputs with the same keys and the same per-sample shapes.
    Y_old : array-like of shape (n_old, K_old)
    Y_new : array-like of shape (n_new, K_new)
    fill : {0, 1} or array-like of shape (n_old, K_new - K_old), default=0
        Labels of the old samples for the new emotions.

    Returns
    -------
    X : MultimodalData
        Old samples first, then the new ones.
    Y : ndarray of shape (n_old + n_new, K_new), float32
    """
    X_old, X_new = check_X(X_old), check_X(X_new)
    Y_old = check_y(Y_old, n_samples=len(X_old))
    Y_new = check_y(Y_new, n_samples=len(X_new))
    n_old, (K_old, K_new) = len(Y_old), (Y_old.shape[1], Y_new.shape[1])
    if K_new < K_old:
        raise ValueError(f"Y_new has {K_new} columns, fewer than Y_old's {K_old}")
    if set(X_old) != set(X_new):
        raise ValueError(f"X_old and X_new must hold the same keys; got "
                         f"{sorted(X_old)} and {sorted(X_new)}")
    for k in X_old:
        if tuple(X_old[k].shape[1:]) != tuple(X_new[k].shape[1:]):
            raise ValueError(f"X_old[{k!r}] and X_new[{k!r}] differ in shape beyond the "
                             f"sample axis: {tuple(X_old[k].shape)} vs {tuple(X_new[k].shape)}")
    try:
        pad = np.broadcast_to(np.asarray(fill, dtype=np.float32), (n_old, K_new - K_old))
    except ValueError:
        pad = np.full(1, np.nan)
    if not np.isin(pad, [0, 1]).all():
        raise ValueError("fill must be 0, 1 or a 0/1 array of shape "
                         f"({n_old}, {K_new - K_old})")
    Y = np.concatenate([np.concatenate([Y_old, pad], axis=1), Y_new]).astype(np.float32)
    X = {k: np.concatenate([_to_numpy(X_old[k]), _to_numpy(X_new[k])]) for k in X_old}
    return MultimodalData(**X), Y
