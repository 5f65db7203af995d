"""One transaction for every call that trains.

``fit``, ``partial_fit``, ``partial_fit_gem`` and ``add_emotions`` run inside
:func:`training_call`: if the call raises -- while validating, before, during
or after its first epoch -- the estimator is put back exactly as it was
before the call (weights, optimizer state, history, callbacks, memory,
emotions, thresholds). The one exception is skorch's own: a
``KeyboardInterrupt`` during training stops it and keeps the epochs that
completed (the unfinished epoch is undone); if no epoch of the call completed,
the whole call is undone and the interrupt is raised again.

How it is done: the estimator's fitted state (``_fitted_state()``: every
attribute that is not a constructor parameter) is copied -- the state dicts
of its torch objects (modules and optimizers, restored *into the same
objects*, so references to them stay valid) and one deep copy of every other
attribute, made with the torch objects pre-entered in the copy memo (a
callback that refers to the optimizer keeps referring to the live one) -- and
written back with ``_restore_fitted_state()``. Parameters (user values such
as ``word_vectors`` or ``pretrain_X``) are not copied: training never
changes them.
"""

import copy
from contextlib import contextmanager

import torch


def _is_torch(value):
    return isinstance(value, (torch.nn.Module, torch.optim.Optimizer))


def _state_copy(obj):
    return copy.deepcopy(obj.state_dict())


def snapshot(net):
    """Everything needed to put ``net`` back as it is now."""
    state = net._fitted_state()
    torch_objs = {k: v for k, v in state.items() if _is_torch(v)}
    memo = {id(v): v for v in torch_objs.values()}
    memo.update({id(v): v for v in net.get_params(deep=False).values()})  # never copied
    memo[id(net)] = net
    others = {k: v for k, v in state.items() if k not in torch_objs}
    return {
        "torch": {k: (v, _state_copy(v)) for k, v in torch_objs.items()},
        "others": copy.deepcopy(others, memo),
    }


def restore(net, snap):
    """Put ``net`` back to :func:`snapshot`'s state."""
    for obj, state in snap["torch"].values():
        obj.load_state_dict(state)
    net._restore_fitted_state(
        {**snap["others"], **{k: obj for k, (obj, _) in snap["torch"].items()}})


def weights_snapshot(net):
    """Module and optimizer states only: the savepoint at the end of an epoch."""
    return {k: (v, _state_copy(v)) for k, v in vars(net).items() if _is_torch(v)}


def restore_weights(net, snap):
    for _, (obj, state) in snap.items():
        obj.load_state_dict(state)


class Interrupted(Exception):
    """Raised inside a training call by ``fit_loop`` when Ctrl-C came before any epoch."""


@contextmanager
def training_call(net):
    """Run a training call as one transaction (see the module docstring)."""
    snap = snapshot(net)
    try:
        yield
    except BaseException as exc:
        restore(net, snap)
        if isinstance(exc, Interrupted):
            raise KeyboardInterrupt from None
        raise
