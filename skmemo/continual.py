"""Continual learning of new emotions: GEM, A-GEM, few-shot and joint-training sets.

Dai et al. (AACL 2020, section 4.2) add an emotion with 1% of its positives
and avoid forgetting the source emotions with gradient episodic memory (GEM,
Lopez-Paz & Ranzato, NeurIPS 2017, https://arxiv.org/abs/1706.08840): a small
memory of earlier samples, and at every step the new gradient is replaced by
the closest gradient that does not increase any earlier task's memory loss (to
first order). A-GEM (Chaudhry et al., ICLR 2019,
https://arxiv.org/abs/1812.00420) keeps one averaged constraint.

The pure functions (:func:`project_gem`, :func:`project_agem`,
:func:`few_shot_split`, :func:`joint_training_set`) and
:class:`EpisodicMemory` know nothing of the estimator; :class:`ContinualMixin`
adds ``partial_fit_gem`` to :class:`~skmemo.MultimodalEmotionClassifier`.
"""

import math
import numbers
import time
import warnings
from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import nnls
from sklearn.utils import check_random_state

from .data import MultimodalData, check_X, check_y
from .exceptions import NotFittedError

__all__ = [
    "project_gem",
    "project_agem",
    "EpisodicMemory",
    "ContinualMixin",
    "few_shot_split",
    "joint_training_set",
]

_STATE_FORMAT = "skmemo.EpisodicMemory"
_STATE_VERSION = 1


# ----------------------------------------------------------------------
# gradient projections
# ----------------------------------------------------------------------
def _check_margin(margin):
    if (not isinstance(margin, numbers.Real) or isinstance(margin, bool)
            or not math.isfinite(margin) or margin < 0):
        raise ValueError(f"margin must be a finite float >= 0, got {margin!r}")
    return float(margin)


def _as_float64(a, like):
    """``a`` as float64, numpy or torch (on ``like``'s device) as ``like``."""
    if isinstance(like, torch.Tensor):
        return torch.as_tensor(a).to(device=like.device, dtype=torch.float64)
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


def _to_numpy(a):
    return a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)


def _restore_type(out, g):
    if isinstance(g, torch.Tensor):
        return out.to(dtype=g.dtype)
    return out.astype(np.asarray(g).dtype if np.asarray(g).dtype.kind == "f" else np.float64)


def _nnls_dual(P, q):
    """``argmin_{u >= 0} 1/2 u'Pu + q'u`` for a PSD Gram matrix ``P`` (t, t).

    With ``P = Q diag(w) Q'`` and ``R = diag(sqrt(w)) Q'`` (eigenvalues below
    ``1e-12 * max(w) * t`` dropped: duplicate or colinear gradients make ``P``
    singular), the objective is ``1/2 ||R u + c||^2 + const`` with
    ``c = diag(1/sqrt(w)) Q' q``, because ``q = G g`` lies in the range of ``P``.
    """
    P = 0.5 * (P + P.T)
    w, Q = np.linalg.eigh(P)
    keep = w > 1e-12 * max(w.max(), 0.0) * len(w)
    if not keep.any():
        return np.zeros(len(w))
    s = np.sqrt(w[keep])
    R = s[:, None] * Q[:, keep].T  # (r, t)
    c = (Q[:, keep].T @ q) / s  # (r,)
    u, _ = nnls(R, -c, maxiter=max(100, 30 * len(w)))
    return u


def project_gem(g, G, margin=0.0):
    """Project a gradient so that no memory task's loss increases (GEM).

    Solves ``min ||x - g||^2 / 2`` subject to ``G x >= 0`` through its dual,
    ``min_{v >= 0} ||G'v + g||^2 / 2``, a non-negative least-squares problem
    solved exactly with :func:`scipy.optimize.nnls` on the ``t x t`` form
    (``P = G G'``, factored by an eigen-decomposition so that duplicate or
    colinear memory gradients are handled), and returns ``G'v + g``.

    Parameters
    ----------
    g : ndarray or Tensor of shape (p,)
        Flat gradient of the new task's loss.
    G : ndarray or Tensor of shape (t, p)
        One row per memory task: the flat gradient of its loss.
    margin : float, default=0.0
        GEM's ``gamma``, the substitution ``v = u + gamma`` of the reference
        code: the dual variables are bounded below by ``gamma`` instead of 0.
        Exactly, the result is the projection of ``g + gamma * G.sum(0)`` onto
        the cone ``G x >= 0``: the new gradient is first pulled towards every
        memory gradient by ``gamma`` times its length, then projected. It
        therefore still satisfies every constraint, and favours steps that
        also decrease the memory losses. ``gamma`` multiplies raw gradients, so
        its effect depends on their scale. Used only when a constraint is
        violated.

    Returns
    -------
    ndarray or Tensor of shape (p,)
        ``g`` itself (the same object) when ``G g >= 0`` already holds;
        otherwise the projected gradient, of ``g``'s type, dtype and device.
        Computation is in float64.

    Examples
    --------
    >>> import numpy as np
    >>> from skmemo.continual import project_gem
    >>> project_gem(np.array([1.0, -1.0]), np.array([[0.0, 1.0]]))
    array([1., 0.])
    """
    margin = _check_margin(margin)
    g64 = _as_float64(g, g)
    G64 = _as_float64(G, g)
    if g64.ndim != 1:
        raise ValueError(f"g must be a flat gradient of shape (p,); got shape "
                         f"{tuple(g64.shape)}")
    if G64.ndim == 1:
        G64 = G64[None, :]
    if G64.ndim != 2 or G64.shape[1] != g64.shape[0]:
        raise ValueError(
            f"G must have shape (t, p) with p = len(g) = {g64.shape[0]}; got shape "
            f"{tuple(G64.shape)}"
        )
    if G64.shape[0] == 0:
        return g
    dots = _to_numpy(G64 @ g64)
    if not np.all(np.isfinite(dots)):
        raise ValueError("g and G must be finite; found NaN or inf")
    if np.all(dots >= 0):
        return g
    shifted = g64 + margin * G64.sum(0) if margin else g64
    u = _nnls_dual(_to_numpy(G64 @ G64.T), _to_numpy(G64 @ shifted))
    return _restore_type(G64.T @ _as_float64(u, g64) + shifted, g)


def project_agem(g, g_ref):
    """A-GEM's projection: one constraint, closed form.

    Returns ``g`` when ``g . g_ref >= 0``, else
    ``g - (g . g_ref / g_ref . g_ref) g_ref``, the closest vector to ``g``
    with a non-negative dot product with ``g_ref``.

    Parameters
    ----------
    g : ndarray or Tensor of shape (p,)
        Gradient of the new task's loss.
    g_ref : ndarray or Tensor of shape (p,)
        Gradient of the loss averaged over the whole memory.

    Returns
    -------
    ndarray or Tensor of shape (p,)
        ``g`` itself when no projection is needed, else the projection.

    Examples
    --------
    >>> import numpy as np
    >>> from skmemo.continual import project_agem
    >>> project_agem(np.array([1.0, -1.0]), np.array([0.0, 2.0]))
    array([1., 0.])
    """
    g64, r64 = _as_float64(g, g), _as_float64(g_ref, g)
    if g64.ndim != 1 or tuple(r64.shape) != tuple(g64.shape):
        raise ValueError(f"g and g_ref must be flat vectors of the same shape; got "
                         f"{tuple(g64.shape)} and {tuple(r64.shape)}")
    dot = float((g64 * r64).sum())
    if not math.isfinite(dot):
        raise ValueError("g and g_ref must be finite; found NaN or inf")
    if dot >= 0:
        return g
    return _restore_type(g64 - (dot / float((r64 * r64).sum())) * r64, g)


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
        y = check_y(y)
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
                           "pos_weight": pos_weight})
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


# ----------------------------------------------------------------------
# the estimator's side
# ----------------------------------------------------------------------
def _check_memory_size(value):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 0:
        raise ValueError(f"memory_size must be an integer >= 0, got {value!r}")
    return int(value)


def _to_device(X, device):
    """Numpy arrays of a batch as tensors on ``device`` (features float, lengths long)."""
    return {k: torch.as_tensor(v, device=device).to(
        torch.long if k.endswith("_lengths") else torch.float32) for k, v in X.items()}


class ContinualMixin:
    """Continual-learning methods of :class:`~skmemo.MultimodalEmotionClassifier`.

    After ``fit`` (with ``memory_size > 0``) the estimator holds ``memory_``,
    an :class:`EpisodicMemory` with task 0: a selection of the training data
    and its emotions. :meth:`partial_fit_gem` learns from new data under GEM's
    constraints and then stores a selection of that data as a new task.
    """

    def _after_fit(self, X, y):
        """Hook run at the end of ``fit`` with the validated training data."""
        size = _check_memory_size(self.memory_size)
        self.memory_ = None if size == 0 else EpisodicMemory(
            size, random_state=self._seed()).add_task(
            X, y, n_emotions=y.shape[1], pos_weight=getattr(self, "pos_weight_", None))

    def _grad_of(self, loss, params):
        """Flat gradient of ``loss`` over ``params`` (zeros where unused)."""
        self.optimizer_.zero_grad(set_to_none=True)
        loss.backward()
        return torch.cat([p.grad.reshape(-1) if p.grad is not None
                          else torch.zeros(p.numel(), device=p.device) for p in params])

    def _bce(self, X, y, n_emotions, pos_weight):
        logits = self.module_(**X)[:, :n_emotions]
        return F.binary_cross_entropy_with_logits(logits, y[:, :n_emotions],
                                                  pos_weight=pos_weight)

    def partial_fit_gem(self, X, y, *, epochs=None, margin=0.5, method="gem",
                        batch_size=None, constrain_step=True):
        """Learn from new data without forgetting earlier tasks (GEM / A-GEM).

        At every step the gradient ``g_k`` of each memory task's loss (BCE
        with logits on the emotions that task knew, on all its memory
        samples, with its ``pos_weight``) and the gradient ``g`` of the new
        batch's loss (BCE with ``pos_weight`` from ``y``, as in ``fit``) are
        computed. ``g`` is replaced by :func:`project_gem` ``(g, G, margin)``
        (``method="gem"``), or by :func:`project_agem` against the gradient of
        the loss averaged over all memory samples (``method="agem"``), clipped
        to ``gradient_clip`` and handed to the estimator's optimizer
        (``optimizer_``). Afterwards a selection of ``(X, y)`` joins the memory
        as a new task, so calls can follow one another (one new emotion after
        another).

        Parameters
        ----------
        X : mapping or MultimodalData
            New inputs, a subset of the fitted modalities.
        y : array-like of shape (n, K)
            One column per *current* emotion (after :meth:`add_emotions`).
        epochs : int, default=None
            Passes over ``(X, y)``; None uses ``max_epochs``.
        margin : float, default=0.5
            GEM's ``gamma`` (see :func:`project_gem`); ignored by A-GEM.
        method : {"gem", "agem"}, default="gem"
        batch_size : int, default=None
            None uses ``batch_size``.
        constrain_step : bool, default=True
            Also project the optimizer's actual parameter change ``d`` so that
            ``G d <= 0`` (no memory loss increases to first order), with no
            margin. GEM's guarantee assumes plain SGD, whose step is
            ``-lr * g``: there this changes nothing. Adam rescales every
            coordinate and adds momentum, so its step can raise the memory
            losses even when the gradient satisfies every constraint; False
            gives the textbook behaviour (project the gradient only).

        Returns
        -------
        self

        Notes
        -----
        Validation happens before anything changes: on an error the model,
        optimizer and memory are untouched. Shuffling (a ``torch.Generator``)
        and dropout are seeded from ``random_state`` without touching the
        global random state. Each epoch adds a row to ``history_``
        (``train_loss``, ``gem_violations``: steps whose gradient was
        projected, ``dur``); ``gem_stats_`` holds the seconds spent projecting
        and their share of the whole step time. To run GEM with plain SGD, as
        in its paper, swap the optimizer after fit:
        ``clf.optimizer = torch.optim.SGD; clf.set_params(lr=0.1);
        clf.initialize_optimizer()``.
        """
        if not self.__sklearn_is_fitted__():
            raise NotFittedError("This MultimodalEmotionClassifier is not fitted yet; "
                                 "call fit(X, y) before partial_fit_gem.")
        if method not in ("gem", "agem"):
            raise ValueError(f"method must be 'gem' or 'agem', got {method!r}")
        margin = _check_margin(margin)
        for name, value in (("epochs", epochs), ("batch_size", batch_size)):
            if value is not None and (not isinstance(value, numbers.Integral)
                                      or isinstance(value, bool) or value < 1):
                raise ValueError(f"{name} must be None or an integer >= 1, got {value!r}")
        if not isinstance(constrain_step, (bool, np.bool_)):
            raise ValueError(f"constrain_step must be True or False, got {constrain_step!r}")
        X = check_X(X, fitted=self.input_dims_)
        y = check_y(y, n_samples=len(X), n_emotions=len(self.emotions_))
        memory = getattr(self, "memory_", None)
        tasks = [t for t in (memory.tasks if memory is not None else []) if len(t["y"])]
        if not tasks:
            warnings.warn("the estimator holds no episodic memory (memory_size=0 or "
                          "nothing stored): partial_fit_gem trains without constraints",
                          UserWarning, stacklevel=2)
        pos_weight = self._compute_pos_weight(y)

        # validated: from here on the estimator changes
        self.pos_weight_ = pos_weight
        self._set_pos_weight(pos_weight)
        dev = self.device
        mem = [(_to_device(t["X"], dev), torch.as_tensor(t["y"], device=dev), t["n_emotions"],
                None if t["pos_weight"] is None else torch.as_tensor(t["pos_weight"], device=dev))
               for t in tasks]
        new = (_take_rows(X, np.arange(len(X))), y,
               None if pos_weight is None else torch.as_tensor(pos_weight, device=dev))
        offset = len(self.history_)
        generator, seed = torch.Generator(), self._seed()
        if seed is None:
            generator.seed()
        else:
            generator.manual_seed(seed + offset)
        self.gem_stats_ = {"method": method, "margin": margin, "steps": 0,
                           "projection_seconds": 0.0, "step_seconds": 0.0}
        with self._rng(offset=offset):
            self.module_.train()
            for _ in range(self.max_epochs if epochs is None else epochs):
                start, losses, violations = time.perf_counter(), [], 0
                perm = torch.randperm(len(X), generator=generator).numpy()
                for b in range(0, len(X), batch_size or self.batch_size):
                    idx = np.sort(perm[b:b + (batch_size or self.batch_size)])
                    loss, projected = self._gem_step(new, idx, mem, method, margin,
                                                     constrain_step)
                    losses.append(loss)
                    violations += projected
                self.history_.new_epoch()
                self.history_.record("epoch", len(self.history_))
                self.history_.record("train_loss", float(np.mean(losses)))
                self.history_.record("gem_violations", violations)
                self.history_.record("dur", time.perf_counter() - start)
            self.module_.train(False)
            self.optimizer_.zero_grad(set_to_none=True)
        stats = self.gem_stats_
        stats["projection_share"] = (stats["projection_seconds"] / stats["step_seconds"]
                                     if stats["step_seconds"] > 0 else 0.0)
        if memory is not None:
            memory.add_task(X, y, n_emotions=y.shape[1], pos_weight=pos_weight)
        elif _check_memory_size(self.memory_size) > 0:
            self._after_fit(X, y)
        return self

    def _gem_step(self, new, idx, mem, method, margin, constrain_step):
        """One constrained step on rows ``idx`` of the new data; (loss, projected)."""
        dev, cuda = self.device, str(self.device).startswith("cuda")
        params = [p for p in self.module_.parameters() if p.requires_grad]
        sizes = [p.numel() for p in params]
        t0 = time.perf_counter()
        if mem and method == "gem":
            G = torch.stack([self._grad_of(self._bce(*m), params) for m in mem])
        elif mem:
            n_mem = sum(len(m[1]) for m in mem)
            G = self._grad_of(sum(len(m[1]) / n_mem * self._bce(*m) for m in mem),
                              params)[None, :]
        X_new, y_new, pos_weight = new
        loss = self._bce(_to_device({k: v[idx] for k, v in X_new.items()}, dev),
                         torch.as_tensor(y_new[idx], device=dev), y_new.shape[1], pos_weight)
        g = self._grad_of(loss, params)
        proj_s, projected = 0.0, False
        if mem:
            if cuda:  # time the projection, not the pending backward kernels
                torch.cuda.synchronize()
            t1 = time.perf_counter()
            g_new = project_gem(g, G, margin) if method == "gem" else project_agem(g, G[0])
            projected, g = g_new is not g, g_new
            proj_s += time.perf_counter() - t1
        for p, chunk in zip(params, torch.split(g, sizes)):
            p.grad = chunk.view_as(p).clone()
        if self.gradient_clip is not None:
            torch.nn.utils.clip_grad_norm_(params, self.gradient_clip)
        constrain_step = constrain_step and bool(mem)
        before = torch.cat([p.detach().reshape(-1) for p in params]) if constrain_step else None
        self.optimizer_.step()
        if constrain_step:
            t1 = time.perf_counter()
            descent = before - torch.cat([p.detach().reshape(-1) for p in params])
            safe = project_gem(descent, G)  # G (before - after) >= 0
            if safe is not descent:
                with torch.no_grad():
                    for p, chunk in zip(params, torch.split(before - safe, sizes)):
                        p.copy_(chunk.view_as(p))
            proj_s += time.perf_counter() - t1
        if cuda:
            torch.cuda.synchronize()
        self.gem_stats_["projection_seconds"] += proj_s
        self.gem_stats_["step_seconds"] += time.perf_counter() - t0
        self.gem_stats_["steps"] += 1
        return float(loss.detach()), projected
