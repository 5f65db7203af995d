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
:class:`EpisodicMemory` know nothing of the estimator (they live in the private
modules ``skmemo._gem`` and ``skmemo._episodic`` and are public here);
:class:`ContinualMixin` adds ``partial_fit_gem`` to
:class:`~skmemo.MultimodalEmotionClassifier`.
"""

import numbers
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from ._episodic import EpisodicMemory, _take_rows, few_shot_split, joint_training_set
from ._gem import _check_margin, project_agem, project_gem
from .data import check_X, check_y
from .exceptions import NotFittedError

__all__ = [
    "project_gem",
    "project_agem",
    "EpisodicMemory",
    "ContinualMixin",
    "few_shot_split",
    "joint_training_set",
]

# public here: pickles and the documentation name this module
for _public in (project_gem, project_agem, EpisodicMemory, few_shot_split, joint_training_set):
    _public.__module__ = __name__
del _public

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
