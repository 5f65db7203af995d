"""CMU-MultimodalSDK computational sequences (``.csd``): reading and alignment.

A computational sequence is an HDF5 file with one top-level group, named
after the sequence (its *root name*, e.g. ``glove_vectors``, ``COVAREP``,
``FACET 4.2``, ``All Labels``)::

    <root name>/
        data/<video id>/features    (rows, dims)   one row per time interval
        data/<video id>/intervals   (rows, 2)      start and end, in seconds
        metadata/<key>              text           "dimension names", "creator", ...

The SDK writes each metadata value as ``json.dumps(value)``; versions before
1.2 wrote ``str(value)`` (``"['sentiment', 'happy']"``, ``"True"``). Both are
read back as values.

Alignment follows the SDK (``mmdataset.align``): for each interval of the
reference sequence, keep the rows of every other sequence whose interval
overlaps it, clipped to it; rows whose clipped interval is shorter than
``epsilon`` are dropped, and so are reference intervals shorter than
``epsilon``. The kept rows are optionally averaged into one row. Aligned
entries are named ``"<video id>[<i>]"``, ``i`` being the row of the reference
interval in its file.
"""

import ast
import json
from collections.abc import Mapping

import numpy as np
from sklearn.utils import Bunch

from ..exceptions import DataFormatError
from ._base import DatasetBunch, open_h5, read_dataset

__all__ = ["load_csd", "align_csd"]

EPSILON = 1e-5  # the SDK's tolerance when comparing interval ends (seconds)
_MAX_LITERAL = 1_000_000  # longer metadata text is kept as text, never parsed


# ----------------------------------------------------------------------
# reading
# ----------------------------------------------------------------------
def _decode_metadata(value):
    """Metadata values are JSON text: vlen str, bytes, or arrays of them."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "SUO" or value.size == 1:
            items = [_decode_metadata(v) for v in value.ravel()]
            return items[0] if len(items) == 1 else items
        return value.tolist()
    if isinstance(value, (bytes, np.bytes_)):
        value = bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return _literal(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _literal(text):
    """Metadata of SDK versions before 1.2, written with ``str(value)``.

    ``"['sentiment', 'happy']"`` is a list and ``"True"`` a bool: parsed as
    Python literals (``ast.literal_eval``, which evaluates no code); any other
    text is kept as it is, as the SDK keeps it.
    """
    if len(text) > _MAX_LITERAL:
        return text
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return text
    if isinstance(value, (str, bool, int, float, list, tuple, dict, type(None))):
        return value
    return text  # bytes, sets, complex numbers: not something the SDK writes


def _read_metadata(group, where):
    metadata = {}
    for key, item in group.items():
        if hasattr(item, "shape"):  # a dataset; sub-groups are not part of the format
            metadata[key] = _decode_metadata(read_dataset(item, f"{where}/{key}"))
    for key, value in group.attrs.items():  # some writers use attributes
        metadata.setdefault(key, _decode_metadata(value))
    return metadata


def _check_entry(video, entry, where):
    if not hasattr(entry, "keys"):
        raise DataFormatError(
            f"{where}: data/{video} must be a group holding 'features' and 'intervals'"
        )
    missing = [k for k in ("features", "intervals") if not hasattr(entry.get(k), "shape")]
    if missing:
        raise DataFormatError(
            f"{where}: video {video!r} has no {' and no '.join(map(repr, missing))} dataset; "
            "every data/<video> group must hold 'features' (rows, dims) and "
            "'intervals' (rows, 2)"
        )
    features, intervals = entry["features"], entry["intervals"]
    if len(intervals.shape) != 2 or intervals.shape[1] != 2:
        raise DataFormatError(
            f"{where}: intervals of video {video!r} must have shape (rows, 2) (start, "
            f"end); got {tuple(intervals.shape)}"
        )
    if len(features.shape) < 2:
        raise DataFormatError(
            f"{where}: features of video {video!r} must be at least 2-D (rows, dims); "
            f"got shape {tuple(features.shape)}"
        )
    if features.shape[0] != intervals.shape[0]:
        raise DataFormatError(
            f"{where}: video {video!r} has {features.shape[0]} feature rows but "
            f"{intervals.shape[0]} intervals; they must correspond row by row"
        )


def load_csd(path, *, lazy=False):
    """Read a CMU-MultimodalSDK computational sequence (``.csd`` file).

    Parameters
    ----------
    path : str or path-like
        The ``.csd`` file (HDF5).
    lazy : bool, default=False
        False reads every video into numpy arrays and closes the file. True
        keeps ``h5py.Dataset`` objects and the file open (for files larger
        than memory): read a video with ``np.asarray(...)``, and call
        ``close()`` on the result when done.

    Returns
    -------
    csd : DatasetBunch
        - ``root_name``: str, the name of the top-level group;
        - ``data``: dict ``video id -> {"features": (rows, dims), "intervals":
          (rows, 2)}``, video ids in file (alphabetical) order;
        - ``metadata``: dict, the metadata decoded from JSON, or, for files of
          SDK versions before 1.2 (written with ``str(value)``), parsed as
          Python literals with :func:`ast.literal_eval` (no code is run);
          other text is kept as text;
        - ``path``: str.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    skmemo.exceptions.DataFormatError
        If the file is not HDF5 (or is truncated), or does not have the layout
        of a computational sequence: exactly one top-level group holding
        ``data`` and ``metadata``; ``features`` and ``intervals`` in every
        video, intervals of shape (rows, 2), as many feature rows as intervals.

    Examples
    --------
    >>> import h5py, numpy as np, tempfile, os
    >>> from skmemo.datasets import load_csd
    >>> path = os.path.join(tempfile.mkdtemp(), "toy.csd")
    >>> with h5py.File(path, "w") as f:
    ...     f["toy/data/vid1/features"] = np.ones((3, 2))
    ...     f["toy/data/vid1/intervals"] = [[0, 1], [1, 2], [2, 3]]
    ...     f["toy/metadata/root name"] = '"toy"'
    >>> csd = load_csd(path)
    >>> csd.root_name, csd.data["vid1"]["features"].shape, csd.metadata["root name"]
    ('toy', (3, 2), 'toy')
    """
    f = open_h5(path, "computational sequence")
    where = str(path)
    try:
        top = list(f.keys())
        if len(top) != 1 or not hasattr(f[top[0]], "keys"):
            raise DataFormatError(
                f"{where} is not a computational sequence: expected exactly one "
                f"top-level group (the root name) holding 'data' and 'metadata'; "
                f"found {top}"
            )
        root_name = top[0]
        root = f[root_name]
        absent = [k for k in ("data", "metadata") if k not in root or not hasattr(root[k], "keys")]
        if absent:
            raise DataFormatError(
                f"{where} is not a computational sequence: group {root_name!r} has no "
                f"{' and no '.join(map(repr, absent))} group (found {list(root.keys())})"
            )
        metadata = _read_metadata(root["metadata"], where)
        data = {}
        for video, entry in root["data"].items():
            _check_entry(video, entry, where)
            if lazy:
                data[video] = {"features": entry["features"], "intervals": entry["intervals"]}
            else:
                data[video] = {
                    "features": read_dataset(entry["features"], f"{where}: {video}/features"),
                    "intervals": read_dataset(entry["intervals"], f"{where}: {video}/intervals"),
                }
    except (OSError, RuntimeError, KeyError) as exc:  # h5py errors on damaged files
        f.close()
        raise DataFormatError(
            f"cannot read {where}: {exc}; the file is truncated or corrupted"
        ) from exc
    except BaseException:
        f.close()
        raise
    if not lazy:
        f.close()
    return DatasetBunch(files=[f] if lazy else [], root_name=root_name, data=data,
                        metadata=metadata, path=where)


# ----------------------------------------------------------------------
# alignment
# ----------------------------------------------------------------------
def sort_rows(intervals, features):
    """Rows ordered by start time (stable), as the SDK does before aligning."""
    intervals = np.asarray(intervals, dtype=np.float64)
    order = np.argsort(intervals[:, 0], kind="stable")
    return intervals[order], np.asarray(features)[order]


def overlap_pairs(ref_intervals, intervals, *, epsilon=EPSILON):
    """Every (reference interval, row) pair that overlaps, the SDK's way.

    A row overlaps reference interval ``[r0, r1]`` when its clipped interval
    ``[max(s0, r0), min(s1, r1)]`` is longer than ``epsilon``; reference
    intervals shorter than ``epsilon`` overlap nothing.

    Parameters
    ----------
    ref_intervals : ndarray of shape (n_ref, 2)
    intervals : ndarray of shape (n, 2)
        Sorted by start time (see :func:`sort_rows`).
    epsilon : float, default=1e-5

    Returns
    -------
    ref_idx, row_idx : ndarray of int
        The pairs, ordered by reference interval, then by row.
    clipped : ndarray of shape (n_pairs, 2)
        The rows' intervals clipped to their reference interval.
    """
    ref = np.asarray(ref_intervals, dtype=np.float64).reshape(-1, 2)
    starts, ends = intervals[:, 0], intervals[:, 1]
    r0, r1 = ref[:, 0], ref[:, 1]
    if len(starts) == 0 or len(ref) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros((0, 2))
    # candidates of interval i: rows lo[i] <= j < hi[i]; rows before lo end
    # before r0 (running max of the ends), rows from hi on start after r1
    reach = np.maximum.accumulate(ends)
    lo = np.searchsorted(reach, r0 - epsilon, side="right")
    hi = np.searchsorted(starts, r1 + epsilon, side="left")
    counts = np.where(np.abs(r0 - r1) >= epsilon, np.maximum(hi - lo, 0), 0)
    ref_idx = np.repeat(np.arange(len(ref)), counts)
    first = np.repeat(np.cumsum(counts) - counts, counts)
    row_idx = np.repeat(lo, counts) + (np.arange(len(ref_idx)) - first)
    clipped = np.stack([np.maximum(starts[row_idx], r0[ref_idx]),
                        np.minimum(ends[row_idx], r1[ref_idx])], axis=1)
    keep = (ends[row_idx] > r0[ref_idx] - epsilon) & (
        np.abs(clipped[:, 0] - clipped[:, 1]) > epsilon)
    return ref_idx[keep], row_idx[keep], clipped[keep]


def align_mean(ref_intervals, intervals, features, *, epsilon=EPSILON):
    """Average the rows overlapping each reference interval (vectorised).

    Returns
    -------
    found : ndarray of bool, shape (n_ref,)
        Whether any row overlaps the interval.
    means : ndarray of shape (n_ref, dims)
        Mean of the overlapping rows (0 where none).
    spans : ndarray of shape (n_ref, 2)
        ``[min start, max end]`` of the clipped rows (the reference interval
        where none).
    """
    ref = np.asarray(ref_intervals, dtype=np.float64).reshape(-1, 2)
    features = np.asarray(features, dtype=np.float64)
    ref_idx, row_idx, clipped = overlap_pairs(ref, intervals, epsilon=epsilon)
    means = np.zeros((len(ref),) + features.shape[1:])
    spans = ref.copy()
    found = np.zeros(len(ref), dtype=bool)
    if len(ref_idx):
        groups, first, counts = np.unique(ref_idx, return_index=True, return_counts=True)
        found[groups] = True
        sums = np.add.reduceat(features[row_idx], first, axis=0)
        means[groups] = sums / counts.reshape((-1,) + (1,) * (features.ndim - 1))
        spans[groups, 0] = np.minimum.reduceat(clipped[:, 0], first)
        spans[groups, 1] = np.maximum.reduceat(clipped[:, 1], first)
    return found, means, spans


def align_rows(ref_intervals, intervals, features, *, collapse=None, epsilon=EPSILON):
    """Align one video's rows to reference intervals.

    Parameters
    ----------
    ref_intervals : ndarray of shape (n_ref, 2)
    intervals : ndarray of shape (n, 2)
        Sorted by start time (see :func:`sort_rows`).
    features : ndarray of shape (n, ...)
    collapse : {None, "mean"}, default=None
        "mean" averages the overlapping rows into one.
    epsilon : float, default=1e-5

    Returns
    -------
    list of length n_ref
        For each reference interval ``(intervals, features)`` of the rows that
        overlap it (clipped to it), or None when the reference interval is
        shorter than ``epsilon`` or nothing overlaps it.
    """
    if collapse == "mean":
        found, means, spans = align_mean(ref_intervals, intervals, features, epsilon=epsilon)
        return [(spans[i:i + 1], means[i:i + 1]) if found[i] else None
                for i in range(len(found))]
    ref_idx, row_idx, clipped = overlap_pairs(ref_intervals, intervals, epsilon=epsilon)
    n_ref = len(np.asarray(ref_intervals).reshape(-1, 2))
    bounds = np.searchsorted(ref_idx, np.arange(n_ref + 1))
    features = np.asarray(features)
    return [(clipped[a:b], features[row_idx[a:b]]) if b > a else None
            for a, b in zip(bounds[:-1], bounds[1:])]


def _sequence_data(sequence, name):
    if isinstance(sequence, Bunch) and "data" in sequence:
        sequence = sequence["data"]
    if not isinstance(sequence, Mapping):
        raise TypeError(
            f"sequence {name!r} must be a computational sequence from load_csd or a "
            f"mapping video -> {{'features', 'intervals'}}; got {type(sequence).__name__}"
        )
    return sequence


def _by_video(data):
    """Group (possibly aligned) entries by video, rows sorted by start time."""
    grouped = {}
    for key in data:
        grouped.setdefault(str(key).split("[")[0], []).append(key)
    out = {}
    for video, keys in grouped.items():
        intervals = np.concatenate([np.asarray(data[k]["intervals"], np.float64) for k in keys])
        features = np.concatenate([np.asarray(data[k]["features"]) for k in keys])
        out[video] = sort_rows(intervals, features)
    return out


def align_csd(sequences, reference, *, collapse=None, impute=None, epsilon=EPSILON):
    """Align computational sequences to the intervals of a reference sequence.

    The SDK's ``mmdataset.align``: videos missing from any sequence are left
    out; for each interval ``i`` of each reference video, every sequence
    keeps its rows that overlap the interval, clipped to it; the entry is
    named ``"<video>[<i>]"``. Entries of other sequences are grouped by the
    part of their name before ``[`` and sorted by start time first, so an
    aligned output can be aligned again (words, then sentences).

    Parameters
    ----------
    sequences : dict
        ``name -> computational sequence`` (from :func:`load_csd`, lazy or
        not, or a mapping ``video -> {"features", "intervals"}``).
    reference : str
        Name of the reference sequence in ``sequences``.
    collapse : {None, "mean"}, default=None
        "mean" averages the rows kept for an interval into one row (the SDK's
        collapse with an average function); None keeps them all.
    impute : {None, "zeros", "absent"}, default=None
        What to do when a sequence has no row overlapping a reference
        interval. None drops the entry from every sequence (the SDK's
        ``hard_unify``); "zeros" gives that sequence one row of zeros over the
        reference interval (the SDK's ``impute`` with ``numpy.zeros``);
        "absent" keeps the entry with no row at all (``features`` of shape
        ``(0, ...)``), which becomes length 0, an absent modality, in
        ``<modality>_lengths``.
    epsilon : float, default=1e-5
        Tolerance in seconds: shorter reference intervals and overlaps are
        ignored.

    Returns
    -------
    aligned : dict
        ``name -> {"<video>[<i>]": {"features": ..., "intervals": ...}}``, the
        same entry names in every sequence, in reference order.

    Examples
    --------
    >>> import numpy as np
    >>> from skmemo.datasets import align_csd
    >>> words = {"v": {"intervals": np.array([[0., 1.], [1., 2.]]),
    ...                "features": np.array([[1.], [2.]])}}
    >>> audio = {"v": {"intervals": np.array([[0., .5], [.5, 1.], [1., 2.]]),
    ...                "features": np.array([[0.], [4.], [6.]])}}
    >>> out = align_csd({"words": words, "audio": audio}, "words", collapse="mean")
    >>> {k: v["features"].ravel().tolist() for k, v in out["audio"].items()}
    {'v[0]': [2.0], 'v[1]': [6.0]}
    """
    if not isinstance(sequences, Mapping) or reference not in sequences:
        raise ValueError(
            f"reference {reference!r} must be a key of sequences "
            f"({sorted(sequences) if isinstance(sequences, Mapping) else type(sequences)})"
        )
    if collapse not in (None, "mean"):
        raise ValueError(f"collapse must be None or 'mean'; got {collapse!r}")
    if impute not in (None, "zeros", "absent"):
        raise ValueError(f"impute must be None, 'zeros' or 'absent'; got {impute!r}")
    if not (isinstance(epsilon, (int, float)) and epsilon >= 0):
        raise ValueError(f"epsilon must be a number >= 0; got {epsilon!r}")
    data = {name: _sequence_data(seq, name) for name, seq in sequences.items()}
    ref = data[reference]
    others = {name: _by_video(seq) for name, seq in data.items() if name != reference}
    shared = set(str(k).split("[")[0] for k in ref)
    for seq in others.values():
        shared &= set(seq)

    aligned = {name: {} for name in data}
    for video in [k for k in ref if str(k).split("[")[0] in shared]:
        ref_int = np.asarray(ref[video]["intervals"], np.float64)
        ref_feat = np.asarray(ref[video]["features"])
        rows = {name: align_rows(ref_int, *seq[str(video).split("[")[0]],
                                 collapse=collapse, epsilon=epsilon)
                for name, seq in others.items()}
        for i, (r0, r1) in enumerate(ref_int):
            if abs(r0 - r1) < epsilon:
                continue
            entry = {reference: (ref_int[i:i + 1], ref_feat[i:i + 1])}
            for name, per_row in rows.items():
                found = per_row[i]
                if found is None and impute is not None:
                    dims = others[name][str(video).split("[")[0]][1].shape[1:]
                    n = 1 if impute == "zeros" else 0
                    found = (ref_int[i:i + n], np.zeros((n,) + dims))
                entry[name] = found
            if any(v is None for v in entry.values()):
                continue  # hard_unify: a sequence has nothing for this interval
            for name, (intervals, features) in entry.items():
                aligned[name][f"{video}[{i}]"] = {"intervals": intervals, "features": features}
    return aligned
