"""Few-shot updates of a new emotion: its word vector as a prior.

After :meth:`~skmemo.MultimodalEmotionClassifier.add_emotions` the model scores
a new emotion with its word vector ``w`` (and, for audio and visual, the
learned maps of it); nothing else in the model belongs to that emotion. A
few-shot update that trains the shared encoders on a handful of samples moves
every emotion's scores, the new one's included, and with a few samples mostly
by noise.

:func:`few_shot_update` prepares a fitted estimator for such an update, inside
a ``with`` block around ``partial_fit`` or ``partial_fit_gem``:

- ``train_new_emotions``: the textual embeddings of the added emotions (rows
  ``n_old:`` of ``module_.emotion_embeddings``, a frozen buffer otherwise)
  become trainable, in a parameter group of their own (``embedding_lr``); the
  fitted emotions' rows stay fixed (their gradient is masked);
- ``prior_strength``: a Gaussian prior centred on the word vectors, applied
  as decoupled weight decay towards them (as AdamW decays towards zero):
  after every optimizer step ``E_new -= lr * prior_strength * (E_new - w)``;
- ``freeze_encoders``: the encoders get no update (the old emotions' scores
  then move only through the mappings, the projection and the fusion weights,
  which GEM constrains);
- ``anchor_strength``: the same pull of every other trainable parameter
  towards its value when the block was entered (L2-SP, Li et al., ICML 2018,
  https://arxiv.org/abs/1802.01483, in decoupled form).

The initial value is already the prior's mean: with few samples there are
few steps, and the embedding moves little. :func:`memory_negatives` adds the
episodic memory's samples as negatives of the new emotions (replay), so that
the new embedding is fitted against the old data's distribution rather than
against the handful of negatives the user labelled.

On leaving the block the embeddings are a buffer again (holding the learned
values, so ``state_dict`` keys, pickles and the skmemo format are unchanged),
the optimizer loses the extra group and the hook, and ``requires_grad`` is
restored. Nothing of it is an estimator parameter: the block changes no
hyperparameter (``freeze_encoders`` included).
"""

import numbers
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn


def _check_strength(name, value):
    if (not isinstance(value, numbers.Real) or isinstance(value, bool)
            or not value >= 0 or value == float("inf")):
        raise ValueError(f"{name} must be a finite float >= 0, got {value!r}")
    return float(value)


def anchor_penalty(module, reference, strength):
    """``strength / 2 * sum ||p - reference[name]||^2`` over trainable parameters.

    Parameters
    ----------
    module : torch.nn.Module
    reference : dict
        ``{name: tensor}``, e.g. a ``state_dict`` copy taken before the update;
        parameters not in it are not penalised.
    strength : float

    Returns
    -------
    Tensor
        A scalar, differentiable in the module's parameters.
    """
    strength = _check_strength("strength", strength)
    total = None
    for name, p in module.named_parameters():
        if p.requires_grad and name in reference:
            term = (p - reference[name].to(p.device)).pow(2).sum()
            total = term if total is None else total + term
    if total is None:
        return torch.zeros(())
    return 0.5 * strength * total


def memory_negatives(memory, X, y):
    """``(X, y)`` followed by every memory sample, negative for the emotions it never saw.

    A memory task stores samples with labels for the ``n_emotions`` emotions
    known when it was added; their columns for emotions added later are set to
    0. That is exact in the paper's protocol (samples showing the new emotion
    were removed from the old data) and an assumption otherwise (the old data
    were not labelled for it).

    Parameters
    ----------
    memory : EpisodicMemory or None
    X : mapping
        The new data: modality -> array (and ``<modality>_lengths``).
    y : ndarray of shape (n, K)
        Labels of the new data for every current emotion.

    Returns
    -------
    X : dict of ndarray
        The keys of ``X``; memory tasks lacking one of them are skipped.
    y : ndarray of shape (n + n_memory, K), float32
    """
    y = np.asarray(y, dtype=np.float32)
    Xs, ys = [{k: np.asarray(v) for k, v in X.items()}], [y]
    for task in [] if memory is None else memory.tasks:
        if not len(task["y"]) or not set(X) <= set(task["X"]):
            continue
        known = min(task["n_emotions"], y.shape[1])
        labels = np.zeros((len(task["y"]), y.shape[1]), np.float32)
        labels[:, :known] = task["y"][:, :known]
        Xs.append({k: task["X"][k] for k in X})
        ys.append(labels)
    return ({k: np.concatenate([x[k] for x in Xs]).astype(Xs[0][k].dtype) for k in X},
            np.concatenate(ys))


@contextmanager
def few_shot_update(net, *, train_new_emotions=True, embedding_lr=None,
                    prior_strength=0.0, freeze_encoders=False, anchor_strength=0.0,
                    n_old=None):
    """Context for a few-shot ``partial_fit`` / ``partial_fit_gem`` (see the module).

    Parameters
    ----------
    net : MultimodalEmotionClassifier
        Fitted; its emotions beyond ``n_fit_emotions_`` are the new ones.
    train_new_emotions : bool, default=True
    embedding_lr : float, default=None
        Learning rate of the new emotions' embeddings; None uses ``net.lr``.
    prior_strength : float, default=0.0
        Share of the distance to the word vector pulled back per step, per
        unit of learning rate; ``prior_strength * embedding_lr`` must be < 1.
    freeze_encoders : bool, default=False
    anchor_strength : float, default=0.0
        The same for the other trainable parameters and their learning rates.
    n_old : int, default=None
        Emotions ``[0, n_old)`` keep their embeddings; the rest are trained.
        None uses ``net.n_fit_emotions_`` (every added emotion is new); after
        earlier continual calls, the number of emotions the last memory task
        knew restricts training to the emotions added since.

    Yields
    ------
    net
    """
    prior_strength = _check_strength("prior_strength", prior_strength)
    anchor_strength = _check_strength("anchor_strength", anchor_strength)
    if embedding_lr is not None:
        embedding_lr = _check_strength("embedding_lr", embedding_lr)
    module, optimizer = net.network_, net.optimizer_
    E = module.emotion_embeddings
    if n_old is None:
        n_old = int(net.n_fit_emotions_)
    elif (not isinstance(n_old, numbers.Integral) or isinstance(n_old, bool)
          or not 0 <= n_old <= E.shape[0]):
        raise ValueError(f"n_old must be an integer in [0, {E.shape[0]}], got {n_old!r}")
    train_new_emotions = bool(train_new_emotions) and E.shape[0] > n_old
    lrs = [g["lr"] for g in optimizer.param_groups]
    for name, strength, rate_lrs in (
            ("prior_strength", prior_strength,
             [optimizer.defaults["lr"] if embedding_lr is None else embedding_lr]),
            ("anchor_strength", anchor_strength, lrs)):
        if strength * max(rate_lrs) >= 1:
            raise ValueError(f"{name} * learning rate must be < 1 (the share of the "
                             f"distance pulled back per step); got {strength} * "
                             f"{max(rate_lrs)}")
    prior = E.detach().clone()
    reference = {id(p): p.detach().clone() for p in module.parameters()
                 if p.requires_grad} if anchor_strength else {}
    grads_on = {name: p.requires_grad for name, p in module.encoders.named_parameters()}
    param, handles, group = None, [], None
    try:
        if freeze_encoders:
            for p in module.encoders.parameters():
                p.requires_grad_(False)
        if train_new_emotions:
            mask = torch.zeros(E.shape[0], 1, device=E.device)
            mask[n_old:] = 1
            del module._buffers["emotion_embeddings"]
            param = nn.Parameter(E.detach().clone())
            module.register_parameter("emotion_embeddings", param)
            handles.append(param.register_hook(lambda g: g * mask))
            group = {"params": [param], "weight_decay": 0.0}
            if embedding_lr is not None:
                group["lr"] = embedding_lr
            optimizer.add_param_group(group)
            group = optimizer.param_groups[-1]

        def pull_back(opt, args, kwargs):  # decoupled, after every step
            with torch.no_grad():
                if param is not None and prior_strength:
                    rate = group["lr"] * prior_strength
                    param.sub_(rate * (param - prior) * mask)
                if anchor_strength:
                    for g in opt.param_groups:
                        if g is group:
                            continue
                        for p in g["params"]:
                            ref = reference.get(id(p))
                            if ref is not None and p.requires_grad:
                                p.sub_(g["lr"] * anchor_strength * (p - ref))

        if (param is not None and prior_strength) or anchor_strength:
            handles.append(optimizer.register_step_post_hook(pull_back))
        yield net
    finally:
        for handle in handles:
            handle.remove()
        if param is not None:
            optimizer.param_groups[:] = [g for g in optimizer.param_groups
                                         if g is not group]
            optimizer.state.pop(param, None)
            del module._parameters["emotion_embeddings"]
            module.register_buffer("emotion_embeddings", param.detach().clone())
        for name, p in module.encoders.named_parameters():
            p.requires_grad_(grads_on[name])
