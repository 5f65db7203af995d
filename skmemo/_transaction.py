"""One transaction for every call that trains.

``fit``, ``partial_fit``, ``partial_fit_gem`` and ``add_emotions`` run inside
:func:`training_call`: if the call raises -- while validating, before, during
or after its first epoch -- the estimator is put back exactly as it was
before the call (weights, optimizer state, history, callbacks, memory,
emotions, thresholds). The one exception is skorch's own: a
``KeyboardInterrupt`` during training stops it and keeps the epochs that
completed (the unfinished epoch is undone); if no epoch of the call completed,
the whole call is undone and the interrupt is raised again.

How it is done: a shallow copy of the estimator's ``__dict__``, copies of the
state dicts of its torch objects (modules and optimizers, restored *into the
same objects*, so references to them stay valid), and one deep copy of every
other non-parameter attribute, made with the torch objects pre-entered in the
copy memo (a callback that refers to the optimizer keeps referring to the
live one). Parameters (user values such as ``word_vectors`` or
``pretrain_X``) are not copied: training never changes them.
"""

import copy
from contextlib import contextmanager

import torch


def _torch_objects(net):
    return {k: v for k, v in net.__dict__.items()
            if isinstance(v, (torch.nn.Module, torch.optim.Optimizer))}


def _state_copy(obj):
    state = obj.state_dict()
    return copy.deepcopy(state)


def snapshot(net):
    """Everything needed to put ``net`` back as it is now."""
    params = set(net._get_param_names()) | {"device_requested_"}
    torch_objs = _torch_objects(net)
    memo = {id(v): v for v in torch_objs.values()}
    memo.update({id(v): v for k, v in net.__dict__.items() if k in params})  # never copied
    memo[id(net)] = net
    others = {k: v for k, v in net.__dict__.items()
              if k not in params and k not in torch_objs}
    return {
        "dict": dict(net.__dict__),
        "torch": {k: (v, _state_copy(v)) for k, v in torch_objs.items()},
        "others": copy.deepcopy(others, memo),
    }


def restore(net, snap):
    """Put ``net`` back to :func:`snapshot`'s state."""
    net.__dict__.clear()
    net.__dict__.update(snap["dict"])
    net.__dict__.update(snap["others"])
    for key, (obj, state) in snap["torch"].items():
        obj.load_state_dict(state)
        net.__dict__[key] = obj


def weights_snapshot(net):
    """Module and optimizer states only: the savepoint at the end of an epoch."""
    return {k: (v, _state_copy(v)) for k, v in _torch_objects(net).items()}


def restore_weights(net, snap):
    for _, (obj, state) in snap.items():
        obj.load_state_dict(state)


@contextmanager
def training_call(net):
    """Run a training call as one transaction (see the module docstring)."""
    snap = snapshot(net)
    net.__dict__["_interrupted_without_epoch"] = False
    try:
        yield
    except BaseException:
        restore(net, snap)
        raise
    if net.__dict__.pop("_interrupted_without_epoch", False):
        restore(net, snap)
        raise KeyboardInterrupt
