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
from contextlib import nullcontext

import numpy as np
import torch
import torch.nn.functional as F
from skorch import NeuralNet
from skorch.callbacks import Callback

from ._episodic import EpisodicMemory, few_shot_split, joint_training_set
from ._few_shot import few_shot_update
from ._gem import _check_margin, project_agem, project_gem
from ._transaction import training_call
from .data import align_y, check_X, check_y
from .exceptions import NotFittedError

__all__ = [
    "GEMProjection",
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


def _flat_grad(params):
    return torch.cat([p.grad.reshape(-1) if p.grad is not None
                      else torch.zeros(p.numel(), device=p.device) for p in params])


class GEMProjection(Callback):
    """skorch callback: GEM / A-GEM projection of every training step.

    Part of the estimator's default callbacks, placed before gradient
    clipping; it does nothing unless :meth:`ContinualMixin.partial_fit_gem`
    is running, which hands it the memory tasks to protect. Then, in
    ``on_grad_computed`` (the gradient of the batch's loss is in ``.grad``),
    it computes the gradient of each protected task's memory loss, replaces
    the batch gradient by :func:`project_gem` (or :func:`project_agem`) of
    it, and, with ``constrain_step``, projects the optimizer's actual step in
    ``on_batch_end``. Each epoch records ``gem_violations`` (steps whose
    gradient was projected) in the history. Everything else -- the epoch
    loop, validation, early stopping, ``verbose``, user callbacks,
    checkpoints -- is skorch's own loop.
    """

    def initialize(self):
        self.active_ = None
        return self

    def begin(self, net, tasks, method, margin, constrain_step):
        dev = net.device
        self.active_ = {
            "tasks": [(_to_device(t["X"], dev), torch.as_tensor(t["y"], device=dev),
                       t["n_emotions"], None if t["pos_weight"] is None
                       else torch.as_tensor(t["pos_weight"], device=dev)) for t in tasks],
            "method": method, "margin": margin, "constrain_step": constrain_step,
            "G": None, "before": None, "violations": 0,
            "stats": {"method": method, "margin": margin, "steps": 0,
                      "projection_seconds": 0.0, "step_seconds": 0.0},
            "t0": None,
        }

    def end(self):
        ctx, self.active_ = getattr(self, "active_", None), None
        if ctx is None:
            return None
        stats = ctx["stats"]
        stats["projection_share"] = (stats["projection_seconds"] / stats["step_seconds"]
                                     if stats["step_seconds"] > 0 else 0.0)
        return stats

    def on_batch_begin(self, net, batch=None, training=None, **kwargs):
        ctx = getattr(self, "active_", None)
        if ctx is not None and training:
            ctx["t0"] = time.perf_counter()

    def on_grad_computed(self, net, named_parameters, batch=None, training=None, **kwargs):
        ctx = getattr(self, "active_", None)
        if ctx is None or not ctx["tasks"]:
            return
        params = [p for p in net.module_.parameters() if p.requires_grad]
        g = _flat_grad(params).clone()
        tasks = ctx["tasks"]
        if ctx["method"] == "gem":
            G = torch.stack([self._grad_of(net, _task_loss(net, *t), params) for t in tasks])
        else:
            n_mem = sum(len(t[1]) for t in tasks)
            G = self._grad_of(net, sum(len(t[1]) / n_mem * _task_loss(net, *t)
                                       for t in tasks), params)[None, :]
        if g.is_cuda:  # time the projection, not the pending backward kernels
            torch.cuda.synchronize()
        t1 = time.perf_counter()
        g_new = (project_gem(g, G, ctx["margin"]) if ctx["method"] == "gem"
                 else project_agem(g, G[0]))
        ctx["stats"]["projection_seconds"] += time.perf_counter() - t1
        ctx["violations"] += int(g_new is not g)
        for p, chunk in zip(params, torch.split(g_new, [p.numel() for p in params])):
            p.grad = chunk.view_as(p).clone()
        ctx["G"] = G
        ctx["before"] = (torch.cat([p.detach().reshape(-1) for p in params])
                         if ctx["constrain_step"] else None)

    @staticmethod
    def _grad_of(net, loss, params):
        for p in params:
            p.grad = None
        loss.backward()
        return _flat_grad(params)

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        ctx = getattr(self, "active_", None)
        if ctx is None or not training:
            return
        if ctx["before"] is not None:
            params = [p for p in net.module_.parameters() if p.requires_grad]
            t1 = time.perf_counter()
            before = ctx["before"]
            descent = before - torch.cat([p.detach().reshape(-1) for p in params])
            safe = project_gem(descent, ctx["G"])  # G (before - after) >= 0
            if safe is not descent:
                with torch.no_grad():
                    for p, chunk in zip(params, torch.split(before - safe,
                                                            [p.numel() for p in params])):
                        p.copy_(chunk.view_as(p))
            ctx["stats"]["projection_seconds"] += time.perf_counter() - t1
            ctx["before"] = ctx["G"] = None
        if ctx["t0"] is not None:
            if next(net.module_.parameters()).is_cuda:
                torch.cuda.synchronize()
            ctx["stats"]["step_seconds"] += time.perf_counter() - ctx["t0"]
        ctx["stats"]["steps"] += 1

    def on_epoch_end(self, net, **kwargs):
        ctx = getattr(self, "active_", None)
        if ctx is not None:
            net.history.record("gem_violations", ctx["violations"])
            ctx["violations"] = 0


def _task_loss(net, X, y, n_emotions, pos_weight):
    """BCE with logits of a memory task, on the emotions it knew."""
    logits = net.network_(**X)[:, :n_emotions]  # same memory on every process: no sync
    return F.binary_cross_entropy_with_logits(logits.float(), y[:, :n_emotions],
                                              pos_weight=pos_weight)


class ContinualMixin:
    """Continual-learning methods of :class:`~skmemo.MultimodalEmotionClassifier`.

    After ``fit`` (with ``memory_size > 0``) the estimator holds ``memory_``,
    an :class:`EpisodicMemory` with task 0: a selection of the training data
    and its emotions. :meth:`partial_fit_gem` learns from new data under GEM's
    constraints (the :class:`GEMProjection` callback inside skorch's loop)
    and then stores a selection of that data in the memory.
    """

    def _after_fit(self, X, y):
        """Hook run at the end of ``fit`` with the validated training data."""
        size = _check_memory_size(self.memory_size)
        self.memory_ = None if size == 0 else EpisodicMemory(
            size, random_state=self._seed()).add_task(
            X, y, n_emotions=y.shape[1], pos_weight=getattr(self, "pos_weight_", None))

    def partial_fit_gem(self, X, y, *, epochs=None, margin=0.5, method="gem",
                        batch_size=None, constrain_step=True, new_task="auto",
                        update="emotions", new_emotion_lr=1e-2):
        """Learn from new data without forgetting earlier tasks (GEM / A-GEM).

        Training runs in skorch's own loop, exactly as :meth:`partial_fit`
        (same callbacks, ``verbose`` table, validation split, early stopping,
        learning-rate schedule, gradient clipping, user callbacks and
        checkpoints), with one change to every step, made by the
        :class:`GEMProjection` callback: the gradient ``g`` of the batch's loss
        is replaced by :func:`project_gem` ``(g, G, margin)``, where the rows
        of ``G`` are the gradients of the memory loss of each protected task
        (BCE with logits on the emotions that task knew, on all its memory
        samples, with its ``pos_weight``) -- or by :func:`project_agem`
        against the gradient of the loss averaged over all memory samples
        (``method="agem"``). Afterwards a selection of ``(X, y)`` is stored in
        the memory.

        **Tasks.** A call starts a new task when emotions were added
        (:meth:`add_emotions`) since the memory's latest task was stored, when
        its modalities differ from that task's, or when ``new_task=True``: then
        all stored tasks are protected and the data becomes a new task.
        Otherwise (``new_task="auto"`` on the same label space, or
        ``new_task=False``) the call continues the latest task,
        as a stream of chunks: the tasks before it are protected, and the
        chunk joins the latest task's memory (:meth:`EpisodicMemory.extend_task`),
        so repeated calls never dilute the memory of earlier tasks.

        Parameters
        ----------
        X : mapping or MultimodalData
            New inputs, a subset of the fitted modalities.
        y : array-like of shape (n, K)
            One column per *current* emotion (after :meth:`add_emotions`); a
            DataFrame is matched by column name.
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
        new_task : {"auto", True, False}, default="auto"
            Whether this call starts a new task (see **Tasks** above).
        update : {"emotions", "all"}, default="emotions"
            What the call trains. ``"emotions"``: the encoders stay fixed; the
            emotion side (mappings, projection, fusion) trains under GEM's
            constraints, and the textual embeddings of the emotions added since
            the protected tasks become trainable for the call, starting from
            their word vectors (the fitted emotions' embeddings stay fixed).
            ``"all"``: every trainable parameter, embeddings fixed (what
            ``partial_fit_gem`` trained before it had ``update``).
        new_emotion_lr : float or None, default=0.01
            Learning rate of the new emotions' embeddings with
            ``update="emotions"``; None keeps them fixed.

        Returns
        -------
        self

        Notes
        -----
        Why ``update="emotions"`` by default: after :meth:`add_emotions` a new
        emotion owns nothing in the model but its word vector, so an update of
        the shared encoders on a handful of samples moves every emotion's
        scores, mostly by noise. On MELD transcripts (``python
        benchmarks/continual.py --dataset meld``, 6 held-out emotions x 3 seeds),
        training all parameters left the rarest emotion below its zero-shot AUC
        at 1-5% of its positives, while fixed encoders and a trainable embedding
        kept every emotion at or above zero-shot (worst -0.001) and left the old
        emotions unchanged; see the continual-learning guide
        (:mod:`skmemo._few_shot`).

        One transaction, as ``fit``: on an error (before, during or after the
        first epoch) the model, optimizer, history and memory are as before
        the call. ``gem_stats_`` holds the seconds spent projecting and their
        share of the whole step time. To run GEM with plain SGD, as in its
        paper: ``clf.set_params(optimizer=torch.optim.SGD, lr=0.1)`` after fit
        and ``clf.initialize_optimizer()``.
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
        if not (new_task == "auto" or isinstance(new_task, (bool, np.bool_))):
            raise ValueError(f"new_task must be 'auto', True or False, got {new_task!r}")
        if update not in ("emotions", "all"):
            raise ValueError(f"update must be 'emotions' or 'all', got {update!r}")
        if new_emotion_lr is not None and (
                not isinstance(new_emotion_lr, numbers.Real) or isinstance(new_emotion_lr, bool)
                or not 0 < new_emotion_lr < float("inf")):
            raise ValueError(f"new_emotion_lr must be None or a float > 0, got "
                             f"{new_emotion_lr!r}")
        self._check_params()
        X = check_X(X, fitted=self.input_dims_)
        y = check_y(align_y(y, self.emotions_, action="partial_fit_gem"), n_samples=len(X),
                    n_emotions=len(self.emotions_))
        self._check_split_size(len(X))
        memory = getattr(self, "memory_", None)
        tasks = [t for t in (memory.tasks if memory is not None else []) if len(t["y"])]
        if new_task == "auto":
            new_task = (not tasks or len(self.emotions_) > tasks[-1]["n_emotions"]
                        or set(tasks[-1]["X"]) != set(X))
        protected = tasks if new_task else tasks[:-1]
        if not protected:
            warnings.warn("no earlier task in the episodic memory to protect "
                          "(memory_size=0, nothing stored, or this call continues the "
                          "only task): partial_fit_gem trains without constraints",
                          UserWarning, stacklevel=2)
        pos_weight = self._compute_pos_weight(y)

        with training_call(self):
            self.pos_weight_ = pos_weight
            self._set_pos_weight(pos_weight)
            self._prepare_training(X)
            if "gem" not in dict(self.callbacks_):  # an estimator from an older skmemo
                self.initialize_callbacks()
            gem = dict(self.callbacks_)["gem"]
            gem.begin(self, protected, method, margin, bool(constrain_step))
            saved_batch_size = self.batch_size
            n_old = protected[-1]["n_emotions"] if protected else self.n_fit_emotions_
            few_shot = few_shot_update(
                self, freeze_encoders=True, train_new_emotions=new_emotion_lr is not None,
                embedding_lr=new_emotion_lr, n_old=n_old) if update == "emotions" else (
                nullcontext())
            try:
                if batch_size is not None:
                    self.batch_size = int(batch_size)
                with few_shot, self._rng(offset=len(self.history_)):
                    NeuralNet.partial_fit(self, X, y, epochs=epochs or self.max_epochs)
            finally:
                self.batch_size = saved_batch_size
                stats = gem.end()
            self.gem_stats_ = stats
            if memory is not None:
                if new_task:
                    memory.add_task(X, y, n_emotions=y.shape[1], pos_weight=pos_weight)
                else:
                    memory.extend_task(X, y)
            elif _check_memory_size(self.memory_size) > 0:
                self._after_fit(X, y)
        return self
