"""Gradient projections of GEM and A-GEM (see :mod:`skmemo.continual`)."""

import math
import numbers

import numpy as np
import torch
from scipy.optimize import nnls


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
