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

from ._episodic import EpisodicMemory, few_shot_split, joint_training_set
from ._few_shot import few_shot_update
from ._gem import _check_margin, project_agem, project_gem
from ._transaction import training_call
from .data import align_y, check_X, check_y
from .exceptions import NotFittedError

__all__ = [
    "GEMProjection",
    "GEMStepMixin",
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
def _to_device(X, device):
    """Numpy arrays of a batch as tensors on ``device`` (features float, lengths long)."""
    return {k: torch.as_tensor(v, device=device).to(
        torch.long if k.endswith("_lengths") else torch.float32) for k, v in X.items()}


def _flat_grad(params):
    return torch.cat([p.grad.reshape(-1) if p.grad is not None
                      else torch.zeros(p.numel(), device=p.device) for p in params])


class GEMProjection:
    """One GEM / A-GEM training call: its constraints, options and statistics.

    :meth:`ContinualMixin.partial_fit_gem` builds one for the call and holds
    it as the estimator's ``gem_`` while the call trains (the attribute is
    absent otherwise); the hooks of :class:`GEMStepMixin` read it. After the batch's
    backward pass (the gradient is in ``.grad``, before gradient clipping),
    :meth:`project_gradient` computes the gradient of each protected task's
    memory loss and replaces the batch gradient by :func:`project_gem` (or
    :func:`project_agem`) of it; with ``constrain_step``,
    :meth:`project_step` projects the optimizer's actual step. Everything
    else -- the epoch loop, validation, early stopping, ``verbose``, user
    callbacks, checkpoints -- is skorch's own loop.

    Parameters
    ----------
    tasks : list of dict
        The memory tasks to protect (:attr:`EpisodicMemory.tasks` entries).
    method : {"gem", "agem"}
    margin : float
    constrain_step : bool
    batch_size : int or None
        Batch size of the call's training batches; None uses the estimator's.
    device : str or torch.device
    """

    def __init__(self, tasks, method="gem", margin=0.5, constrain_step=True,
                 batch_size=None, device="cpu"):
        self.tasks = [(_to_device(t["X"], device), torch.as_tensor(t["y"], device=device),
                       t["n_emotions"], None if t["pos_weight"] is None
                       else torch.as_tensor(t["pos_weight"], device=device)) for t in tasks]
        self.method = method
        self.margin = margin
        self.constrain_step = constrain_step
        self.batch_size = batch_size
        self.pending = None  # (parameters before the step, G) of a step under way
        self.violations = 0
        self.stats = {"method": method, "margin": margin, "steps": 0,
                      "projection_seconds": 0.0, "step_seconds": 0.0}

    def project_gradient(self, net):
        """Replace the gradient in ``.grad`` by its projection; return G (or None)."""
        if not self.tasks:
            return None
        params = [p for p in net.module_.parameters() if p.requires_grad]
        g = _flat_grad(params).clone()
        if self.method == "gem":
            G = torch.stack([_grad_of(_task_loss(net, *t), params) for t in self.tasks])
        else:
            n_mem = sum(len(t[1]) for t in self.tasks)
            G = _grad_of(sum(len(t[1]) / n_mem * _task_loss(net, *t) for t in self.tasks),
                         params)[None, :]
        if g.is_cuda:  # time the projection, not the pending backward kernels
            torch.cuda.synchronize()
        t1 = time.perf_counter()
        g_new = (project_gem(g, G, self.margin) if self.method == "gem"
                 else project_agem(g, G[0]))
        self.stats["projection_seconds"] += time.perf_counter() - t1
        self.violations += int(g_new is not g)
        for p, chunk in zip(params, torch.split(g_new, [p.numel() for p in params])):
            p.grad = chunk.view_as(p).clone()
        return G

    def project_step(self, net, before, G):
        """Project the parameter change since ``before`` so that ``G d >= 0``."""
        params = [p for p in net.module_.parameters() if p.requires_grad]
        t1 = time.perf_counter()
        descent = before - torch.cat([p.detach().reshape(-1) for p in params])
        safe = project_gem(descent, G)  # G (before - after) >= 0
        if safe is not descent:
            with torch.no_grad():
                for p, chunk in zip(params, torch.split(before - safe,
                                                        [p.numel() for p in params])):
                    p.copy_(chunk.view_as(p))
        self.stats["projection_seconds"] += time.perf_counter() - t1

    def summary(self):
        """The call's statistics (``gem_stats_``)."""
        stats = dict(self.stats)
        stats["projection_share"] = (stats["projection_seconds"] / stats["step_seconds"]
                                     if stats["step_seconds"] > 0 else 0.0)
        return stats


def _grad_of(loss, params):
    for p in params:
        p.grad = None
    loss.backward()
    return _flat_grad(params)


def _flat_params(net):
    return torch.cat([p.detach().reshape(-1) for p in net.module_.parameters()
                      if p.requires_grad])


def _task_loss(net, X, y, n_emotions, pos_weight):
    """BCE with logits of a memory task, on the emotions it knew."""
    network = getattr(net, "network_", net.module_)  # unwrapped: the same memory on
    logits = network(**X)[:, :n_emotions]             # every process, no sync
    return F.binary_cross_entropy_with_logits(logits.float(), y[:, :n_emotions],
                                              pos_weight=pos_weight)


class GEMStepMixin:
    """skorch hooks of a GEM step, for any ``NeuralNet`` subclass.

    While the net holds ``gem_`` (a :class:`GEMProjection`, set for one
    training call), the net's ``on_grad_computed`` projects each batch
    gradient after the backward pass (it runs before every callback's, so
    gradient clipping clips the projected gradient), ``train_step`` projects
    the optimizer's
    actual step, ``get_iterator`` uses the call's batch size (when the net's
    ``get_iterator`` takes ``batch_size``, as skmemo's loaders do) and
    ``on_epoch_end`` records ``gem_violations``. Without ``gem_`` every hook
    is skorch's own. The memory losses read the network as ``network_`` when
    the net has one, else ``module_``.

    Examples
    --------
    ``class Net(GEMStepMixin, NeuralNet)``; then ``net.gem_ = GEMProjection(
    tasks)``, ``net.partial_fit(X, y)`` and ``del net.gem_``.
    """

    def on_grad_computed(self, net, named_parameters, batch=None, training=False,
                         **kwargs):
        # the net's own hook runs before every callback's: gradient clipping
        # then clips the projected gradient
        super().on_grad_computed(net, named_parameters, batch=batch, training=training,
                                 **kwargs)
        gem = getattr(self, "gem_", None)
        if gem is not None and training:
            G = gem.project_gradient(self)
            gem.pending = (_flat_params(self), G) if (
                gem.constrain_step and G is not None) else None

    def train_step(self, batch, **fit_params):
        gem = getattr(self, "gem_", None)
        if gem is None:
            return super().train_step(batch, **fit_params)
        t0 = time.perf_counter()
        step = super().train_step(batch, **fit_params)
        if getattr(gem, "pending", None) is not None:  # the optimizer's actual step
            gem.project_step(self, *gem.pending)
            gem.pending = None
        if next(self.module_.parameters()).is_cuda:
            torch.cuda.synchronize()
        gem.stats["step_seconds"] += time.perf_counter() - t0
        gem.stats["steps"] += 1
        return step

    def get_iterator(self, dataset, training=False, **kwargs):
        gem = getattr(self, "gem_", None)
        if training and gem is not None and gem.batch_size is not None:
            kwargs.setdefault("batch_size", gem.batch_size)
        return super().get_iterator(dataset, training=training, **kwargs)

    def on_epoch_end(self, net, **kwargs):
        super().on_epoch_end(net, **kwargs)
        gem = getattr(self, "gem_", None)
        if gem is not None:
            self.history.record("gem_violations", gem.violations)
            gem.violations = 0


class ContinualMixin(GEMStepMixin):
    """Continual-learning methods of :class:`~skmemo.MultimodalEmotionClassifier`.

    After ``fit`` (with ``memory_size > 0``) the estimator holds ``memory_``,
    an :class:`EpisodicMemory` with task 0: a selection of the training data
    and its emotions. :meth:`partial_fit_gem` learns from new data under GEM's
    constraints and then stores a selection of that data in the memory: while
    it trains, ``gem_`` is its :class:`GEMProjection`, which the overridden
    skorch hooks ``on_grad_computed`` (project the gradient), ``train_step``
    (project the optimizer's step), ``get_iterator`` (the call's batch size)
    and ``on_epoch_end`` (record ``gem_violations``) read; without it they
    are skorch's own.
    """

    def _after_fit(self, X, y):
        """Hook run at the end of ``fit`` with the validated training data."""
        size = int(self.memory_size)  # validated by the estimator
        self.memory_ = None if size == 0 else EpisodicMemory(
            size, random_state=self._seed())._store_task(
            X, y, n_emotions=y.shape[1], pos_weight=getattr(self, "pos_weight_", None))

    def partial_fit_gem(self, X, y, *, epochs=None, margin=0.5, method="gem",
                        batch_size=None, constrain_step=True, new_task="auto",
                        update="emotions", new_emotion_lr=1e-2):
        """Learn from new data without forgetting earlier tasks (GEM / A-GEM).

        Training runs in skorch's own loop, exactly as :meth:`partial_fit`
        (same callbacks, ``verbose`` table, validation split, early stopping,
        learning-rate schedule, gradient clipping, user callbacks and
        checkpoints), with one change to every step, made by
        :class:`GEMProjection` in ``train_step``: the gradient ``g`` of the batch's loss
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
            gem = GEMProjection(protected, method, margin, bool(constrain_step),
                                batch_size=None if batch_size is None else int(batch_size),
                                device=self.device)
            n_old = protected[-1]["n_emotions"] if protected else self.n_fit_emotions_
            few_shot = few_shot_update(
                self, freeze_encoders=True, train_new_emotions=new_emotion_lr is not None,
                embedding_lr=new_emotion_lr, n_old=n_old) if update == "emotions" else (
                nullcontext())
            self.gem_ = gem  # the running call's projection, read by train_step
            try:
                with few_shot, self._rng(offset=len(self.history_)):
                    self._train(X, y, epochs=epochs or self.max_epochs)
            finally:
                vars(self).pop("gem_")
            stats = gem.summary()
            self.gem_stats_ = stats
            if memory is not None:
                if new_task:
                    memory._store_task(X, y, n_emotions=y.shape[1], pos_weight=pos_weight)
                else:
                    memory._extend_task(X, y)
            elif self.memory_size > 0:
                self._after_fit(X, y)
        return self
