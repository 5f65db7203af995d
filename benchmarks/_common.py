"""What the benchmark scripts share: data, scores, timing and the command line.

Each script of ``benchmarks/`` is then only its experiment:

- data: :func:`synthetic_split` (the embedded synthetic corpus and its
  train/test split) and :func:`have_files` (the real-data folders, with one
  message when files are missing); the real-data folders default to
  :data:`MOSI_DATA` and :data:`MELD_DATA` (``../shared/datasets/...`` relative
  to the repository root);
- scores: :func:`evaluate`, the per-emotion weighted accuracy and ROC AUC of
  a fitted estimator, computed by :mod:`skmemo.metrics`;
- timing: :class:`Timer`, wall-clock and CPU seconds of a block;
- tables: :func:`mean_std` and :func:`markdown_table` for the printed results;
- command line: :func:`make_parser` adds the options every script shares
  (``--quick``, ``--seeds``, ``--threads``, ``--cache``/``--out``) and its
  ``parse_args`` applies the quick settings, then the torch thread count.

A script imports it as ``import _common`` (``python benchmarks/<script>.py``
puts ``benchmarks/`` first on ``sys.path``).
"""

import argparse
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO / ".." / "shared" / "datasets"
MOSI_DATA = SHARED_DATA / "cmu-mosi-utterance"
MELD_DATA = SHARED_DATA / "meld-text"
OUT = REPO / "benchmarks" / "out"
EMOTIONS = ["anger", "disgust", "fear", "happy", "sad", "surprise"]


# ----------------------------------------------------------------------
# data
# ----------------------------------------------------------------------
def synthetic_split(n_samples, *, seq_len, seed, test_size=0.3, emotions=None,
                    sort=False):
    """``(X_train, X_test, Y_train, Y_test)`` of ``make_emotion_dataset``.

    Parameters
    ----------
    n_samples : int
        Samples drawn (train and test together).
    seq_len : int
        Time steps of every modality.
    seed : int
        Seed of the data and of the split.
    test_size : float, default=0.3
        Test share, as in :func:`sklearn.model_selection.train_test_split`.
    emotions : list of str, default=None
        Emotions of the data; ``None``: the generator's default six.
    sort : bool, default=False
        Keep the rows of each split in their drawn order (instead of the
        split's shuffled order).

    Returns
    -------
    X_train, X_test : MultimodalData
    Y_train, Y_test : ndarray of shape (n, n_emotions)
    """
    from sklearn.model_selection import train_test_split

    from skmemo.datasets import make_emotion_dataset

    kwargs = {} if emotions is None else {"emotions": emotions}
    X, Y = make_emotion_dataset(n_samples, seq_len=seq_len, random_state=seed, **kwargs)
    if not sort:
        return train_test_split(X, Y, test_size=test_size, random_state=seed)
    train, test = train_test_split(np.arange(len(Y)), test_size=test_size,
                                   random_state=seed)
    train, test = np.sort(train), np.sort(test)
    return X[train], X[test], Y[train], Y[test]


def have_files(folder, names, what, *, option="--data"):
    """True when every file of ``names`` is in ``folder``; else say so and return False.

    Parameters
    ----------
    folder : path-like
        The data folder.
    names : iterable of str
        File names the benchmark reads from ``folder``.
    what : str
        The data set, for the message (``"CMU-MOSI utterance"``).
    option : str, default="--data"
        The script's option that names another folder.
    """
    folder = Path(folder).resolve()
    names = list(names)
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        print(f"{what} files not found in {folder} (missing {', '.join(missing)}): "
              f"skipped. Pass {option} DIR, the folder holding {', '.join(names)}.")
        return False
    return True


def held_out_last(Y, column):
    """``Y`` with ``column`` moved last: the column order of an estimator fitted
    without that emotion and given it back with ``add_emotions``."""
    Y = np.asarray(Y)
    return np.column_stack([np.delete(Y, column, axis=1), Y[:, column]])


# ----------------------------------------------------------------------
# scores
# ----------------------------------------------------------------------
def evaluate(clf, X, Y, *, new=None, decision="threshold"):
    """Per-emotion weighted accuracy and ROC AUC of a fitted estimator on ``(X, Y)``.

    Both come from :mod:`skmemo.metrics` (warnings about single-class columns
    silenced: such a column's AUC is NaN and left out of every mean).

    Parameters
    ----------
    clf : fitted estimator
        Has ``predict_proba`` and ``predict``.
    X : MultimodalData or dict
        Test inputs.
    Y : array-like of shape (n, n_emotions)
        Binary test labels, columns in the estimator's emotion order.
    new : int, default=None
        Column of a newly added emotion: also report it apart from the others.
    decision : {"threshold", "argmax"}, default="threshold"
        ``"threshold"``: the estimator's ``predict`` (``predict_proba >
        thresholds_``); ``"argmax"``: the most probable emotion of each sample
        (one label per sample, as for binary sentiment given as two columns).

    Returns
    -------
    dict
        ``wacc``, ``auc``, ``accuracy``: ndarrays of shape (n_emotions,);
        ``mean_wacc``, ``mean_auc``: their macro averages as
        :mod:`skmemo.metrics` computes them; with ``new``: ``new_wacc``,
        ``new_auc`` and ``old_auc`` (macro AUC of the other columns); and
        ``proba``, the ``predict_proba`` output scored.
    """
    from skmemo.metrics import emotion_roc_auc_score, weighted_accuracy_score

    if decision not in ("threshold", "argmax"):
        raise ValueError(f"decision must be 'threshold' or 'argmax'; got {decision!r}")
    Y = np.asarray(Y)
    if new is not None and not 0 <= new < Y.shape[1]:
        raise ValueError(f"new must be a column of Y (0 to {Y.shape[1] - 1}); got {new!r}")
    proba = clf.predict_proba(X)
    if decision == "threshold":  # predict's rule, without a second forward pass
        thresholds = getattr(clf, "thresholds_", None)
        pred = clf.predict(X) if thresholds is None else (proba > thresholds).astype(int)
    else:
        pred = np.zeros_like(proba, dtype=int)
        pred[np.arange(len(proba)), np.argmax(proba, axis=1)] = 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wacc = weighted_accuracy_score(Y, pred, average=None)
        auc = emotion_roc_auc_score(Y, proba, average=None)
        out = {"wacc": wacc, "auc": auc, "proba": proba,
               "accuracy": np.mean(np.asarray(pred) == (Y > 0.5), axis=0),
               "mean_wacc": float(np.mean(wacc)),
               "mean_auc": emotion_roc_auc_score(Y, proba)}
        if new is not None:
            old = [k for k in range(Y.shape[1]) if k != new]
            out |= {"new_wacc": float(wacc[new]), "new_auc": float(auc[new]),
                    "old_auc": emotion_roc_auc_score(Y[:, old], proba[:, old])}
    return out


# ----------------------------------------------------------------------
# timing
# ----------------------------------------------------------------------
class Timer:
    """Wall-clock (``wall``) and process CPU (``cpu``) seconds of a ``with`` block.

    Examples
    --------
    >>> with Timer() as t:
    ...     _ = sum(range(1000))
    >>> t.wall >= 0 and t.cpu >= 0
    True
    """

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu
        return False


# ----------------------------------------------------------------------
# tables
# ----------------------------------------------------------------------
def mean_std(values, scale=1.0, digits=3):
    """``"mean ± std"`` of ``scale * values`` (sample std, ``ddof=1``); one value alone.

    Examples
    --------
    >>> mean_std([0.5, 0.7], scale=100, digits=1)
    '60.0 ± 14.1'
    >>> mean_std([0.5])
    '0.500'
    """
    v = scale * np.asarray(values, dtype=float)
    if len(v) == 1:
        return f"{v[0]:.{digits}f}"
    return f"{v.mean():.{digits}f} ± {v.std(ddof=1):.{digits}f}"


def markdown_table(header, rows):
    """A Markdown table: ``header`` (cell texts) and ``rows`` (lists of cells)."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


# ----------------------------------------------------------------------
# command line
# ----------------------------------------------------------------------
class BenchmarkParser(argparse.ArgumentParser):
    """``argparse`` parser whose ``--quick`` swaps in the script's quick settings.

    ``quick`` maps option destinations to their quick-mode values (or is a
    function of the parsed options returning that mapping, for settings that
    depend on another option); an option given on the command line keeps its
    value. After parsing, a ``threads`` option sets torch's thread count.
    """

    def __init__(self, *args, quick=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.quick = quick if callable(quick) else dict(quick or {})

    def parse_args(self, args=None, namespace=None):
        parsed = super().parse_args(args, namespace)
        quick = self.quick(parsed) if callable(self.quick) else self.quick
        unknown = sorted(set(quick) - set(vars(parsed)))
        if unknown:
            raise ValueError(f"quick settings name no option of this script: {unknown}; "
                             f"its options: {sorted(vars(parsed))}")
        if getattr(parsed, "quick", False):
            defaults = {dest: self.get_default(dest) for dest in quick}
            self.set_defaults(**quick)
            try:
                parsed = super().parse_args(args, namespace)
            finally:
                self.set_defaults(**defaults)
        if getattr(parsed, "threads", None) is not None:
            import torch

            torch.set_num_threads(parsed.threads)
        return parsed


def make_parser(doc, *, quick=None, seeds=(0, 1, 2), threads=1, cache=False, out=False,
                cache_help="file or folder of finished runs, reused by a rerun",
                out_help="write the results to this file"):
    """The script's parser, with the options the benchmarks share.

    Parameters
    ----------
    doc : str
        The script's module docstring; its first line is the description.
    quick : dict or callable, default=None
        Option destinations and their values under ``--quick`` (a small run
        that checks the script end to end in seconds to a few minutes), or a
        function of the parsed options that returns them. ``None``: the
        script has no ``--quick``.
    seeds : sequence of int or None, default=(0, 1, 2)
        Default of ``--seeds``; ``None``: no ``--seeds`` option.
    threads : int or None, default=1
        Default of ``--threads`` (torch threads); ``None``: no such option.
    cache, out : bool or path-like, default=False
        Add ``--cache`` / ``--out`` (a path); a path-like value is the default.
    cache_help, out_help : str
        Their help texts.

    Returns
    -------
    BenchmarkParser
    """
    parser = BenchmarkParser(description=doc.strip().splitlines()[0], quick=quick)
    if quick is not None:
        parser.add_argument("--quick", action="store_true",
                            help="a small run that checks the script end to end")
    if seeds is not None:
        parser.add_argument("--seeds", type=int, nargs="+", default=list(seeds),
                            help="random seeds, one run each")
    if threads is not None:
        parser.add_argument("--threads", type=int, default=threads,
                            help="torch threads (torch.set_num_threads)")
    if cache is not False:
        parser.add_argument("--cache", type=Path, default=None if cache is True else cache,
                            help=cache_help)
    if out is not False:
        parser.add_argument("--out", type=Path, default=None if out is True else out,
                            help=out_help)
    return parser
