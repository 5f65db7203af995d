"""Length-aware batching: fewer padded steps per batch.

The encoders never let a padded step into a real step's output, but
a batch still runs as many recurrent steps as its longest sample. With the
short sentences typical of CMU-MOSEI in random batches, that is nearly the
padded length every time. Grouping samples of similar length into the same
batch brings the step count down to what the samples need:

- inference (:meth:`MultimodalEmotionClassifier.forward`) visits the samples
  in order of length and puts the outputs back in input order, which changes
  nothing but the speed;
- training, with ``bucket_by_length=True``, shuffles the samples, sorts each
  pool of ``pool_batches`` batches by length, cuts the pool into batches and
  shuffles the order of the batches (the usual bucketing sampler): batches
  stay random, but each holds samples of similar length.

Lengths are read once per dataset from the arrays (zero padding or
``<modality>_lengths``); inputs that are not in memory (h5py datasets) are
visited in their own order, because sorting would turn sequential reads into
random ones.

Inputs given as tensors stay where they are: a batch of a tensor already on
the GPU is sliced there (no copy through the CPU, no pinned memory), so a
corpus moved to the GPU once is never copied again.
"""

import os
import warnings

import numpy as np
import torch
from skorch.dataset import Dataset
from torch.utils.data import DataLoader, Sampler, Subset

from .data import take_rows
from .modules import lengths_from_padding

_ROWS_PER_CHUNK = 4096


def _padding_lengths(x, padding):
    """:func:`~skmemo.modules.lengths_from_padding` of a ``(n, T, D)`` numpy array, in chunks."""
    out = []
    for start in range(0, x.shape[0], _ROWS_PER_CHUNK):
        chunk = x[start:start + _ROWS_PER_CHUNK]
        if not chunk.flags.writeable:  # torch wants writable memory; copy one chunk
            chunk = chunk.copy()
        out.append(lengths_from_padding(torch.from_numpy(chunk), padding).numpy())
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def _in_memory(value):
    """numpy arrays and tensors on any device: reading their lengths costs one pass."""
    return isinstance(value, (np.ndarray, torch.Tensor))


def _tensor_lengths(x, padding):
    """:func:`~skmemo.modules.lengths_from_padding` of a tensor, on its device, in chunks."""
    with torch.no_grad():
        out = [lengths_from_padding(x[start:start + _ROWS_PER_CHUNK], padding).cpu()
               for start in range(0, x.shape[0], _ROWS_PER_CHUNK)]
    return torch.cat(out).numpy() if out else np.zeros(0, dtype=np.int64)


def on_device(dataset):
    """Whether some input of a dataset (or ``Subset``) is a tensor outside the CPU."""
    while isinstance(dataset, Subset):
        dataset = dataset.dataset
    X = getattr(dataset, "X", None)
    return isinstance(X, dict) and any(
        isinstance(v, torch.Tensor) and v.device.type != "cpu" for v in X.values())


def sample_lengths(X, padding="pre"):
    """Longest real length over the modalities of every sample, or ``None``.

    Parameters
    ----------
    X : dict
        Modality arrays ``(n, T, D)`` and optional ``<modality>_lengths``.
    padding : {"pre", "post"}

    Returns
    -------
    ndarray of shape (n,) or None
        ``None`` when some modality is neither a numpy array nor a tensor
        (h5py datasets). Tensors on a GPU are read there.
    """
    lengths = None
    for key, value in X.items():
        if key.endswith("_lengths"):
            continue
        if not _in_memory(value):
            return None
        given = X.get(key + "_lengths")
        if given is not None:
            if not _in_memory(given):
                return None
            if isinstance(given, torch.Tensor):
                given = given.detach().cpu()
            L = np.asarray(given, dtype=np.int64)
        elif isinstance(value, torch.Tensor):
            L = _tensor_lengths(value.detach(), padding)
        else:
            L = _padding_lengths(value, padding)
        lengths = L if lengths is None else np.maximum(lengths, L)
    return lengths


def dataset_lengths(dataset, padding="pre"):
    """:func:`sample_lengths` of a skmemo dataset or a ``Subset`` of one.

    Cached on the dataset, which is built afresh for every call to ``fit``
    or ``predict``.
    """
    if isinstance(dataset, Subset):
        full = dataset_lengths(dataset.dataset, padding)
        return None if full is None else full[np.asarray(dataset.indices)]
    X = getattr(dataset, "X", None)
    if not isinstance(X, dict):
        return None
    cached = getattr(dataset, "_skmemo_lengths", None)
    if cached is not None and cached[0] == padding:
        return cached[1]
    lengths = sample_lengths(X, padding)
    dataset._skmemo_lengths = (padding, lengths)
    return lengths


class LengthBucketBatchSampler(Sampler):
    """Random batches of samples with similar lengths.

    Each epoch: shuffle all samples, sort each pool of ``pool_batches *
    batch_size`` samples by length, cut it into batches, shuffle the order of
    all batches. The random numbers come from torch's global generator, as
    with ``DataLoader(shuffle=True)``, so ``random_state`` and
    ``torch.manual_seed`` make the batches reproducible.

    Parameters
    ----------
    lengths : array-like of shape (n,)
    batch_size : int
    pool_batches : int, default=50
        Batches per sorted pool: larger pools give batches of more even
        length, smaller pools more randomness.
    shuffle : bool, default=True
        ``False`` sorts the whole dataset by length (inference order).
    """

    def __init__(self, lengths, batch_size, pool_batches=50, shuffle=True):
        self.lengths = np.asarray(lengths)
        self.batch_size = int(batch_size)
        self.pool_batches = int(pool_batches)
        self.shuffle = shuffle

    def __len__(self):
        return -(-len(self.lengths) // self.batch_size)

    def _batches(self, order):
        return [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]

    def __iter__(self):
        n = len(self.lengths)
        if not self.shuffle:
            # each batch in increasing index order, as the dataset reads it
            order = np.argsort(self.lengths, kind="stable")
            yield from (np.sort(b) for b in self._batches(order))
            return
        seed = int(torch.empty((), dtype=torch.int64).random_().item())
        rng = np.random.default_rng(seed)
        perm = rng.permutation(n)
        pool = self.pool_batches * self.batch_size
        batches = []
        for start in range(0, n, pool):
            chunk = perm[start:start + pool]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches.extend(self._batches(chunk))
        for k in rng.permutation(len(batches)):
            yield batches[k].tolist()


def world_size():
    """Number of processes training together (1 unless torch.distributed runs)."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


def check_world_size(net):
    """Refuse a run whose processes would each train alone.

    A launcher (``torchrun``, ``accelerate launch``) says in ``WORLD_SIZE``
    how many processes it started. When the estimator's accelerator
    (skorch's ``AccelerateMixin``) counts another number of processes, each
    would train alone on all the data and end with its own model: on a
    machine without GPU ``Accelerator()`` does not join the processes, and
    ``Accelerator(cpu=True)`` does (gloo). Without an accelerator a warning
    says that the processes train alone.
    """
    try:
        launched = int(os.environ.get("WORLD_SIZE", ""))
    except ValueError:
        return
    accelerator = getattr(net, "accelerator", None)
    together = (world_size() if accelerator is None
                else getattr(accelerator, "num_processes", None))
    if launched <= 1 or together == launched:
        return
    message = (f"the launcher started {launched} processes (WORLD_SIZE={launched}) but "
               f"this one trains with {together}: each would train alone on all the "
               "data and end with its own model")
    if accelerator is not None:
        raise ValueError(
            f"{message}. The accelerator does not join the processes; on a machine "
            "without GPU pass accelerator=Accelerator(cpu=True) (gloo), with GPUs "
            "launch one process per GPU")
    warnings.warn(
        f"{message}. To train together, use skorch's AccelerateMixin with "
        "accelerator=Accelerator() (Accelerator(cpu=True) without GPU); see the "
        "performance guide", UserWarning, stacklevel=4)


def _take(array, idx, key):
    """Rows ``idx`` (in that order) of one input array as a tensor."""
    if isinstance(array, torch.Tensor):  # on its own device: a GPU tensor stays there
        out = array[torch.from_numpy(idx).to(array.device)]
    else:
        out = torch.from_numpy(np.asarray(take_rows(array, idx)))
    if key.endswith("_lengths"):
        return out.long()
    return out.float()


def _batch_collate(batch):
    """Batches are assembled by :meth:`MultimodalDataset.__getitems__`."""
    return batch


class MultimodalDataset(Dataset):
    """skorch dataset that reads a whole batch at once.

    skorch's default dataset indexes one sample at a time and collates them;
    here the DataLoader hands the batch's indices to :meth:`__getitems__`, which
    slices every modality once and returns the rows in the order asked for
    (h5py datasets are read at sorted indices in one pass, then reordered). So
    any sampler, a ``Subset`` or a sharded distributed sampler gets exactly
    the samples it asked for, in its order.
    """

    def __getitems__(self, indices):
        idx = np.asarray(indices, dtype=np.int64)
        Xb = {k: _take(v, idx, k) for k, v in self.X.items()}
        if self.y is None:
            yb = torch.zeros(len(idx))
        else:
            yb = torch.as_tensor(np.asarray(take_rows(self.y, idx)), dtype=torch.float32)
        return Xb, yb


def _unsort(out, order):
    """Rows computed in ``order`` back in input order."""
    result = torch.empty_like(out)
    result[order.to(out.device)] = out
    return result


class LengthOrderMixin:
    """The estimator's loaders: whole batches, pinned memory on CUDA, length order.

    ``get_iterator`` builds plain skorch loaders (input order for prediction and
    validation, so skorch's scoring callbacks, ``Subset`` and distributed
    samplers see the order they expect); training batches are length-bucketed
    when ``bucket_by_length=True``. Prediction on user data is length-ordered
    in :meth:`forward`, which reorders the data itself and knows the order.
    """

    #: batches per sorted pool of the training sampler (``bucket_by_length``)
    _bucket_pool_batches = 50

    def get_iterator(self, dataset, training=False, *, batch_size=None):
        """skorch's loader of ``dataset``; ``batch_size`` replaces the
        estimator's ``batch_size`` for this loader (``iterator_*__batch_size``
        still comes first)."""
        prefix = "iterator_train" if training else "iterator_valid"
        kwargs = self.get_params_for(prefix)
        kwargs.setdefault("collate_fn", _batch_collate)
        if training:
            kwargs.setdefault("shuffle", True)
            kwargs.setdefault("batch_size", self.batch_size if batch_size is None
                              else batch_size)
        else:
            kwargs.setdefault("batch_size", self.predict_batch_size or 1024)
        if kwargs["batch_size"] == -1:
            kwargs["batch_size"] = len(dataset)
        if str(self.device).startswith("cuda") and not on_device(dataset):
            kwargs.setdefault("pin_memory", True)  # only CPU memory can be pinned
        if training and self._bucketing(kwargs):
            lengths = dataset_lengths(dataset, self.padding)
            if lengths is not None:
                batch_size = kwargs["batch_size"]
                for key in ("batch_size", "shuffle", "sampler", "drop_last"):
                    kwargs.pop(key, None)
                kwargs["batch_sampler"] = LengthBucketBatchSampler(
                    lengths, batch_size, pool_batches=self._bucket_pool_batches)
        iterator = self.iterator_train if training else self.iterator_valid
        return iterator(dataset, **kwargs)

    def _bucketing(self, kwargs):
        """Length-bucketed training batches: on, and nothing else chose the order."""
        if not self.bucket_by_length:
            return False
        if world_size() > 1:
            # Accelerate shards a batch sampler assuming only its last batch is
            # short; pools of sorted lengths end in short batches anywhere, and
            # processes that get different numbers of batches wait on each other
            return False
        if not (isinstance(self.iterator_train, type)
                and issubclass(self.iterator_train, DataLoader)):
            return False  # a custom iterator may not take a batch sampler
        if any(k in kwargs for k in ("sampler", "batch_sampler", "drop_last")):
            return False  # the user chose the order
        return bool(kwargs.get("shuffle", True))

    def _prediction_order(self, dataset):
        """Indices of ``dataset`` sorted by length, or None to keep input order."""
        if not (isinstance(self.iterator_valid, type)
                and issubclass(self.iterator_valid, DataLoader)):
            return None
        kwargs = self.get_params_for("iterator_valid")
        if any(k in kwargs for k in ("sampler", "batch_sampler")):
            return None  # the user chose the order
        lengths = dataset_lengths(dataset, self.padding)
        if lengths is None:
            return None
        order = np.argsort(lengths, kind="stable")
        batch_size = kwargs.get("batch_size", self.predict_batch_size or 1024)
        if batch_size == -1:
            batch_size = len(order)
        # the batches hold samples of similar length; inside a batch the samples
        # keep their input order, so a sample's place in its batch does not depend
        # on the lengths of the others (a sample whose modality is absent then gets
        # exactly the prediction it gets from the other modalities alone)
        return np.concatenate([np.sort(order[i:i + batch_size])
                               for i in range(0, len(order), batch_size)]
                              or [order])

    def forward(self, X, training=False, device="cpu"):
        """Module outputs for every sample of ``X``, in the order of ``X``.

        For user data (a mapping), prediction visits the samples in order of
        length (see ``predict_batch_size``) through a ``Subset`` in that
        order, and puts the outputs back in input order. A dataset given by
        skorch (validation, scoring callbacks) is visited in its own order.
        """
        if isinstance(X, torch.utils.data.Dataset):
            return super().forward(X, training=training, device=device)
        dataset = self.get_dataset(X)
        order = None if training else self._prediction_order(dataset)
        if order is None:
            return super().forward(dataset, training=training, device=device)
        out = super().forward(Subset(dataset, order.tolist()), training=training,
                              device=device)
        order = torch.from_numpy(order)
        if isinstance(out, torch.Tensor):
            return _unsort(out, order)
        return tuple(_unsort(o, order) for o in out)
