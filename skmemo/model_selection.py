"""Zero-shot evaluation protocol and the choice of emotion word forms.

The zero-shot protocol of Dai et al. (AACL 2020, section 4.1): an emotion is
held out of training entirely (every training sample positive for it is
removed, so the model never sees a sample of it, not even as an unlabelled
one); after training on the other emotions it is added back from its word
vector alone (:meth:`~skmemo.MultimodalEmotionClassifier.add_emotions`) and
scored on a test set where it does occur.

- :func:`hold_out_emotion` applies the protocol to one data set;
- :func:`zero_shot_evaluation` runs it for each held-out emotion and every
  subset of modalities at inference (paper Tables 4 and 5);
- :func:`format_table` prints its result;
- :func:`select_word_forms` picks, per emotion, the word form (``"surprise"``,
  ``"surprised"``, ``"surprise|surprised"``...) with the best validation AUC
  (paper section 6.2: "the form of an emotion word matters").
"""

import itertools
import warnings
from numbers import Integral

import numpy as np
from sklearn.base import clone
from sklearn.metrics import f1_score
from sklearn.utils import Bunch

from .data import MODALITIES, MultimodalData, check_X, check_y
from .metrics import emotion_roc_auc_score, weighted_accuracy_score

__all__ = [
    "hold_out_emotion",
    "zero_shot_evaluation",
    "format_table",
    "select_word_forms",
    "modality_subsets_of",
]

_CODES = {"text": "T", "audio": "A", "visual": "V"}
_NAMES = {code: m for m, code in _CODES.items()}
_METRICS = ("wacc", "auc", "f1")


# ----------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------
def _norm(word):
    return str(word).lower().strip()


def _labels(Y, n_samples):
    """Validated labels as an array of the original dtype, plus column names."""
    columns = getattr(Y, "columns", None)
    check_y(Y, n_samples=n_samples)
    values = Y.to_numpy() if hasattr(Y, "to_numpy") else np.asarray(Y)
    return values, (None if columns is None else [str(c) for c in columns])


def _emotion_index(emotion, emotions, n_columns):
    if isinstance(emotion, Integral) and not isinstance(emotion, bool):
        if not -n_columns <= emotion < n_columns:
            raise ValueError(
                f"emotion index {emotion} is out of range for {n_columns} columns"
            )
        return int(emotion) % n_columns
    if not isinstance(emotion, str):
        raise TypeError(
            f"emotion must be an emotion name or a column index, got {type(emotion).__name__}"
        )
    if emotions is None:
        raise ValueError(
            f"emotion {emotion!r} is a name, but the columns of Y have none: pass "
            "emotions=[...] (one name per column) or a pandas DataFrame"
        )
    names = [_norm(e) for e in emotions]
    if _norm(emotion) not in names:
        raise ValueError(f"emotion {emotion!r} is not one of {list(emotions)}")
    return names.index(_norm(emotion))


def modality_subsets_of(modalities, subsets="all"):
    """Resolve a ``modality_subsets`` argument to tuples of modality names.

    Parameters
    ----------
    modalities : sequence of str
        The modalities available (e.g. those fitted).
    subsets : "all", "full" or list, default="all"
        "all": every non-empty subset, singles first, in the order T, A, V,
        TA, TV, AV, TAV; "full": only ``modalities``; a list of codes
        (``"TA"``), modality names (``"audio"``) or sequences of names.

    Returns
    -------
    list of tuple of str

    Examples
    --------
    >>> from skmemo.model_selection import modality_subsets_of
    >>> [''.join(m[0].upper() for m in s)
    ...  for s in modality_subsets_of(["text", "audio", "visual"])]
    ['T', 'A', 'V', 'TA', 'TV', 'AV', 'TAV']
    >>> modality_subsets_of(["text", "audio"], ["A", ("text", "audio")])
    [('audio',), ('text', 'audio')]
    """
    available = tuple(m for m in MODALITIES if m in set(modalities))
    if isinstance(subsets, str) and subsets == "all":
        return [c for r in range(1, len(available) + 1)
                for c in itertools.combinations(available, r)]
    if isinstance(subsets, str) and subsets == "full":
        return [available]
    if isinstance(subsets, str) or not hasattr(subsets, "__iter__"):
        raise ValueError(
            "modality_subsets must be 'all', 'full' or a list of subsets such as "
            f"['T', 'TA', ('text', 'visual')]; got {subsets!r}"
        )
    resolved = []
    for item in subsets:
        if isinstance(item, str) and item in MODALITIES:
            names = {item}
        elif isinstance(item, str):
            if not item or set(item.upper()) - set(_NAMES):
                raise ValueError(
                    f"modality subset {item!r} is neither a modality name nor a code "
                    "made of the letters T, A, V"
                )
            names = {_NAMES[c] for c in item.upper()}
        else:
            names = set(item)
            if not names or names - set(MODALITIES):
                raise ValueError(f"modality subset {item!r} names unknown modalities")
        missing = names - set(available)
        if missing:
            raise ValueError(
                f"modality subset {item!r} uses {sorted(missing)}, which are not "
                f"available (available: {list(available)})"
            )
        resolved.append(tuple(m for m in MODALITIES if m in names))
    if not resolved:
        raise ValueError("modality_subsets is empty")
    return resolved


def _code(subset):
    return "".join(_CODES[m] for m in subset)


def _restrict(X, subset):
    """The modalities of ``subset`` (and their lengths) of X."""
    keep = {k: v for k, v in X.items()
            if k in subset or (k.endswith("_lengths") and k[: -len("_lengths")] in subset)}
    return MultimodalData(**keep)


def _scores(y_true, proba, pred):
    """Per-emotion W-Acc, AUC and binary F1 (of the positive class)."""
    wacc = weighted_accuracy_score(y_true, pred, average=None)
    auc = emotion_roc_auc_score(y_true, proba, average=None)
    f1 = np.array([f1_score(y_true[:, k], pred[:, k], zero_division=0.0)
                   for k in range(y_true.shape[1])])
    return {"wacc": wacc, "auc": auc, "f1": f1}


# ----------------------------------------------------------------------
# the protocol
# ----------------------------------------------------------------------
def hold_out_emotion(X, Y, emotion, *, emotions=None):
    """Remove one emotion from a data set, as the zero-shot protocol requires.

    Every sample positive for ``emotion`` is dropped, and so is its column:
    the model trained on the result never sees a sample of the held-out
    emotion, not even unlabelled (paper section 4.1). A validation split taken
    from the result (the estimator's ``validation_fraction``) lacks them too.

    Parameters
    ----------
    X : mapping or MultimodalData
        ``{modality: (n, T_m, d_m)}``, optionally with ``<modality>_lengths``.
    Y : array-like or DataFrame of shape (n, K)
        Binary labels.
    emotion : str or int
        The emotion to hold out: a name from ``emotions`` (or from the columns
        of a DataFrame ``Y``), or a column index.
    emotions : list of str, default=None
        Names of the columns of ``Y``; default: the DataFrame's columns.

    Returns
    -------
    X_seen : MultimodalData
        The samples not positive for ``emotion``.
    Y_seen : ndarray or DataFrame of shape (n_seen, K - 1)
        Their labels without the held-out column (a DataFrame stays one).
    seen_emotions : list of str or None
        Names of the remaining columns; None when the columns have no names.
    index : int
        Column of the held-out emotion in ``Y`` (its name is
        ``emotions[index]``).

    Examples
    --------
    >>> import numpy as np
    >>> from skmemo.model_selection import hold_out_emotion
    >>> X = {"text": np.ones((4, 2, 3))}
    >>> Y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    >>> X_seen, Y_seen, seen, index = hold_out_emotion(X, Y, "sad",
    ...                                                emotions=["happy", "sad"])
    >>> len(X_seen), Y_seen.ravel().tolist(), seen, index
    (2, [1, 0], ['happy'], 1)
    """
    X = check_X(X, check_finite=False)
    values, columns = _labels(Y, len(X))
    if emotions is None:
        emotions = columns
    elif isinstance(emotions, str):
        raise TypeError("emotions must be a list of names, not one string")
    else:
        emotions = [str(e) for e in emotions]
        if len(emotions) != values.shape[1]:
            raise ValueError(
                f"emotions names {len(emotions)} columns but Y has {values.shape[1]}"
            )
    K = values.shape[1]
    index = _emotion_index(emotion, emotions, K)
    if K < 2:
        raise ValueError(
            "Y has a single emotion: holding it out leaves nothing to train on"
        )
    keep = np.flatnonzero(values[:, index] == 0)
    if keep.size == 0:
        raise ValueError(
            f"every sample is positive for the held-out emotion (column {index}); "
            "nothing is left to train on"
        )
    X_seen = X[keep]
    if hasattr(Y, "iloc"):
        Y_seen = Y.iloc[keep].drop(columns=Y.columns[index])
    else:
        Y_seen = np.delete(values[keep], index, axis=1)
    seen = None if emotions is None else [e for k, e in enumerate(emotions) if k != index]
    return X_seen, Y_seen, seen, index


def _check_estimator(estimator):
    needed = ("fit", "predict_proba", "predict", "add_emotions", "set_params")
    missing = [name for name in needed if not hasattr(estimator, name)]
    if missing:
        raise TypeError(
            f"estimator must be a skmemo classifier (with fit, predict_proba, predict "
            f"and add_emotions); {type(estimator).__name__} lacks {missing}"
        )


def _check_names(emotions, n_columns, what="emotions"):
    if isinstance(emotions, str) or emotions is None:
        raise TypeError(f"{what} must be a list of emotion names, one per column of Y")
    emotions = [str(e) for e in emotions]
    if len(emotions) != n_columns:
        raise ValueError(f"{what} has {len(emotions)} names but Y has {n_columns} columns")
    return emotions


def zero_shot_evaluation(estimator, X_train, Y_train, X_test, Y_test, *, emotions,
                         held_out=None, modality_subsets="all", return_estimators=False,
                         as_frame=False, verbose=0):
    """Zero-shot scores of each held-out emotion, per subset of modalities.

    For each emotion ``h`` of ``held_out``:

    1. the samples positive for ``h`` are removed from the training data and
       its column dropped (:func:`hold_out_emotion`);
    2. a clone of ``estimator`` with ``emotions`` set to the other emotions is
       fitted on the rest (its internal validation split therefore lacks
       ``h`` as well);
    3. ``h`` is added from its word vector with ``add_emotions([h])``;
    4. for every subset of the fitted modalities (T, A, V, TA, TV, AV, TAV),
       the *whole* test set is predicted from those modalities only, and the
       weighted accuracy, AUC and F1 of ``h`` (unseen) and their means over
       the other emotions (seen) are recorded.

    Parameters
    ----------
    estimator : estimator
        An unfitted (or fitted: it is cloned) skmemo classifier, e.g.
        :class:`~skmemo.MultimodalEmotionClassifier` or a baseline of
        :mod:`skmemo.baselines`. Its ``emotions`` parameter is replaced.
    X_train, Y_train : multimodal mapping and array-like of shape (n, K)
        Training data, with all K emotions.
    X_test, Y_test : multimodal mapping and array-like of shape (m, K)
        Test data; the held-out emotion must have positives here.
    emotions : list of str
        Names (word specifications) of the K columns, e.g.
        ``["anger", "surprise|surprised", ...]``; the held-out one is added
        back under this name.
    held_out : str, list of str or None, default=None
        Emotions to hold out, each in turn; None holds out every emotion.
    modality_subsets : "all", "full" or list, default="all"
        Modalities given at inference (see :func:`modality_subsets_of`). The
        estimator is always fitted on all modalities of ``X_train``.
    return_estimators : bool, default=False
        Add an ``"estimator"`` entry: the fitted estimator of each row (the
        same object for the rows of one held-out emotion).
    as_frame : bool, default=False
        Return a pandas DataFrame (pandas must be installed).
    verbose : int, default=0
        1 prints one line per held-out emotion.

    Returns
    -------
    results : dict of lists (or DataFrame)
        One entry per (held-out emotion, modality subset), in the columns
        ``held_out``, ``modalities`` (a code such as ``"TA"``), ``unseen_wacc``,
        ``unseen_auc``, ``unseen_f1``, ``seen_wacc``, ``seen_auc``, ``seen_f1``,
        ``n_train`` (training samples after the removal) and
        ``n_test_positives`` (test positives of the held-out emotion).
        Print it with :func:`format_table`.

    Notes
    -----
    F1 is the plain binary F1 of the positive class: with few positives, the
    paper's weighted F1 rewards predicting everything negative (paper
    section 6.4 uses the unweighted F1 for zero-shot). The W-Acc of the new
    emotion uses the threshold passed to ``add_emotions`` (0.5). Seen
    emotions are scored on the same, complete test set.

    Examples
    --------
    >>> from skmemo import MultimodalEmotionClassifier
    >>> from skmemo.datasets import make_emotion_dataset
    >>> from skmemo.model_selection import zero_shot_evaluation
    >>> emotions = ["happy", "sad", "anger"]
    >>> X, Y = make_emotion_dataset(100, emotions=emotions, seq_len=4, random_state=0)
    >>> clf = MultimodalEmotionClassifier(max_epochs=1, random_state=0)
    >>> res = zero_shot_evaluation(clf, X[:80], Y[:80], X[80:], Y[80:],
    ...                            emotions=emotions, held_out="sad",
    ...                            modality_subsets=["TAV", "A"])
    >>> res["held_out"], res["modalities"]
    (['sad', 'sad'], ['TAV', 'A'])
    """
    _check_estimator(estimator)
    X_train = check_X(X_train)
    X_test = check_X(X_test)
    Y_train_values, _ = _labels(Y_train, len(X_train))
    Y_test_values, _ = _labels(Y_test, len(X_test))
    K = Y_train_values.shape[1]
    emotions = _check_names(emotions, K)
    if Y_test_values.shape[1] != K:
        raise ValueError(f"Y_test has {Y_test_values.shape[1]} columns, Y_train has {K}")
    if held_out is None:
        held_out = list(emotions)
    elif isinstance(held_out, str):
        held_out = [held_out]
    held_out = list(held_out)
    if not held_out:
        raise ValueError("held_out is empty: name at least one emotion")
    indices = [_emotion_index(h, emotions, K) for h in held_out]
    fitted_modalities = X_train.modalities
    absent = set(fitted_modalities) - set(X_test.modalities)
    subsets = modality_subsets_of(fitted_modalities, modality_subsets)
    needed = {m for s in subsets for m in s}
    if needed & absent:
        raise ValueError(
            f"X_test lacks modalities {sorted(needed & absent)} that modality_subsets uses"
        )
    if as_frame:
        _import_pandas()

    columns = ["held_out", "modalities"] + [f"{g}_{m}" for g in ("unseen", "seen")
                                            for m in _METRICS] + ["n_train",
                                                                  "n_test_positives"]
    if return_estimators:
        columns.append("estimator")
    results = {c: [] for c in columns}
    for index in indices:
        name = emotions[index]
        X_seen, Y_seen, seen, _ = hold_out_emotion(X_train, Y_train_values, index,
                                                   emotions=emotions)
        n_pos = int(Y_test_values[:, index].sum())
        if n_pos in (0, len(Y_test_values)):
            warnings.warn(
                f"the test set has {n_pos} positives of {name!r} out of "
                f"{len(Y_test_values)}: its AUC is undefined", UserWarning, stacklevel=2,
            )
        est = clone(estimator).set_params(emotions=seen)
        est.fit(X_seen, Y_seen)
        est.add_emotions([name])
        order = [k for k in range(K) if k != index] + [index]
        y_true = Y_test_values[:, order].astype(int)
        for subset in subsets:
            X_sub = _restrict(X_test, subset)
            proba = est.predict_proba(X_sub)
            pred = est.predict(X_sub)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # one-class seen columns: NaN, skipped
                scores = _scores(y_true, proba, pred)
            results["held_out"].append(name)
            results["modalities"].append(_code(subset))
            for metric in _METRICS:
                values = scores[metric]
                results[f"unseen_{metric}"].append(float(values[-1]))
                seen_values = values[:-1]
                results[f"seen_{metric}"].append(
                    float(np.nanmean(seen_values)) if np.isfinite(seen_values).any()
                    else float("nan"))
            results["n_train"].append(len(X_seen))
            results["n_test_positives"].append(n_pos)
            if return_estimators:
                results["estimator"].append(est)
        if verbose:
            last = results["unseen_auc"][-1]
            print(f"[zero-shot] held out {name!r}: trained on {len(X_seen)} samples, "
                  f"unseen AUC ({_code(subsets[-1])}) {last:.3f}", flush=True)
    if as_frame:
        return _import_pandas().DataFrame(results)
    return results


def _import_pandas():
    try:
        import pandas
    except ImportError as exc:  # pragma: no cover - pandas is a test dependency
        raise ImportError(
            "as_frame=True needs pandas; install it with 'pip install pandas' or "
            "use the default dict output"
        ) from exc
    return pandas


def _rows(results):
    """Accept a dict of lists, a list of dicts or a DataFrame; return rows."""
    if hasattr(results, "to_dict") and hasattr(results, "columns"):
        return results.to_dict(orient="records")
    if isinstance(results, dict):
        lengths = {len(v) for v in results.values()}
        if len(lengths) > 1:
            raise ValueError("results must hold lists of equal length")
        n = lengths.pop() if lengths else 0
        return [{k: v[i] for k, v in results.items()} for i in range(n)]
    rows = list(results)
    if not all(isinstance(r, dict) for r in rows):
        raise TypeError("results must be a dict of lists, a list of dicts or a DataFrame")
    return rows


def format_table(results, *, columns=None, floatfmt=".3f"):
    """Format evaluation results as a plain-text table.

    Parameters
    ----------
    results : dict of lists, list of dicts or DataFrame
        E.g. the output of :func:`zero_shot_evaluation`.
    columns : list of str, default=None
        Columns to show, in order; default: every column holding numbers or
        strings (estimators are left out).
    floatfmt : str, default=".3f"
        Format of floating-point values.

    Returns
    -------
    str

    Examples
    --------
    >>> from skmemo.model_selection import format_table
    >>> print(format_table({"held_out": ["fear"], "unseen_auc": [0.8123]}))
    held_out  unseen_auc
    fear           0.812
    """
    rows = _rows(results)
    if columns is None:
        columns = []
        for row in rows:
            for k, v in row.items():
                if k not in columns and isinstance(v, (str, int, float, np.number)):
                    columns.append(k)
    else:
        columns = list(columns)
        unknown = [c for c in columns if rows and c not in rows[0]]
        if unknown:
            raise ValueError(f"unknown columns {unknown}; available: {list(rows[0])}")

    def cell(v):
        if isinstance(v, (float, np.floating)):
            return format(float(v), floatfmt)
        return str(v)

    cells = [[cell(row.get(c, "")) for c in columns] for row in rows]
    numeric = [all(isinstance(row.get(c), (int, float, np.number)) for row in rows)
               for c in columns]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]

    def line(values):
        parts = [v.rjust(w) if num else v.ljust(w)
                 for v, w, num in zip(values, widths, numeric)]
        return "  ".join(parts).rstrip()

    return "\n".join([line(columns)] + [line(r) for r in cells])


# ----------------------------------------------------------------------
# word forms
# ----------------------------------------------------------------------
def select_word_forms(estimator, X_train, Y_train, X_valid, Y_valid, *, emotions,
                      candidates, method="zero_shot", verbose=0):
    """Pick, for each emotion, the word form with the best validation AUC.

    The paper (section 6.2) tried several forms of each emotion word
    (*surprise*, *surprised*, *surprising*, ...) and kept the best. Two
    measurements are offered; each emotion of ``candidates`` is judged on its
    own, the others keeping the form given in ``emotions``.

    ``method="zero_shot"`` (default, cheap: one fit per emotion)
        The emotion is held out of ``(X_train, Y_train)`` as in
        :func:`hold_out_emotion`, the clone is fitted on the other emotions,
        and *all* candidate forms are added at once with ``add_emotions``; each
        form's score is the zero-shot AUC of its column on ``(X_valid,
        Y_valid)``. This measures how well a form's vector, mapped by the
        learned functions, points at the emotion: what matters when the
        emotion will be added zero-shot.
    ``method="supervised"`` (one fit per candidate form)
        A clone is fitted on all emotions with the candidate form substituted,
        and the form's score is the supervised validation AUC of that
        emotion. Here training can partly compensate for a poor vector, so
        differences are smaller and noisier.

    Parameters
    ----------
    estimator : estimator
        A skmemo classifier; cloned for every fit (set ``random_state`` so that
        the fits differ only by the form).
    X_train, Y_train : multimodal mapping, array-like of shape (n, K)
    X_valid, Y_valid : multimodal mapping, array-like of shape (m, K)
        Data the forms are scored on; keep it apart from the final test set.
    emotions : list of str
        Names of the K columns, in their current (default) forms.
    candidates : dict
        ``{emotion: [form, ...]}``, e.g. ``{"surprise": ["surprise",
        "surprised", "surprise|surprised"]}``; keys are names from ``emotions``.
        Forms are emotion specifications (``"a|b"`` averages forms).
    method : {"zero_shot", "supervised"}, default="zero_shot"
    verbose : int, default=0
        1 prints each emotion's scores.

    Returns
    -------
    Bunch
        ``best_forms``: ``{emotion: best form}``; ``emotions``: ``emotions``
        with the best forms substituted (ready for the estimator's
        ``emotions``); ``scores``: ``{emotion: {form: AUC}}``; ``method``.

    Notes
    -----
    The AUC is threshold-free, so forms are compared by ranking quality alone.
    Ties go to the earlier candidate. With synthetic data from
    :func:`~skmemo.datasets.make_emotion_dataset` the labels are generated
    from the plain word's vector, so the plain form is the right answer by
    construction; on real data there is no such ground truth.
    """
    _check_estimator(estimator)
    if method not in ("zero_shot", "supervised"):
        raise ValueError(f"method must be 'zero_shot' or 'supervised', got {method!r}")
    X_train = check_X(X_train)
    X_valid = check_X(X_valid)
    Y_train_values, _ = _labels(Y_train, len(X_train))
    Y_valid_values, _ = _labels(Y_valid, len(X_valid))
    K = Y_train_values.shape[1]
    emotions = _check_names(emotions, K)
    if Y_valid_values.shape[1] != K:
        raise ValueError(f"Y_valid has {Y_valid_values.shape[1]} columns, Y_train has {K}")
    if not isinstance(candidates, dict) or not candidates:
        raise TypeError("candidates must be a non-empty dict {emotion: [form, ...]}")
    plan = {}
    for emotion, forms in candidates.items():
        index = _emotion_index(emotion, emotions, K)
        if isinstance(forms, str):
            raise TypeError(f"candidates[{emotion!r}] must be a list of forms, not a string")
        forms = [str(f) for f in forms]
        if not forms:
            raise ValueError(f"candidates[{emotion!r}] is empty")
        normalised = [_norm(f) for f in forms]
        if len(set(normalised)) != len(forms):
            raise ValueError(f"candidates[{emotion!r}] contains duplicates")
        others = {_norm(e) for k, e in enumerate(emotions) if k != index}
        clash = sorted(set(normalised) & others)
        if clash:
            raise ValueError(
                f"candidate forms {clash} of {emotion!r} are names of other emotions"
            )
        y = Y_valid_values[:, index]
        if y.min() == y.max():
            raise ValueError(
                f"Y_valid has only one class for {emotion!r}: its AUC is undefined"
            )
        plan[index] = forms

    scores = {}
    for index, forms in plan.items():
        name = emotions[index]
        y_valid = Y_valid_values[:, [index]].astype(int)
        if method == "zero_shot":
            X_seen, Y_seen, seen, _ = hold_out_emotion(X_train, Y_train_values, index,
                                                       emotions=emotions)
            est = clone(estimator).set_params(emotions=seen).fit(X_seen, Y_seen)
            est.add_emotions(forms)
            proba = est.predict_proba(X_valid)[:, len(seen):]
            auc = [emotion_roc_auc_score(y_valid, proba[:, [j]])
                   for j in range(len(forms))]
        else:
            auc = []
            for form in forms:
                names = list(emotions)
                names[index] = form
                est = clone(estimator).set_params(emotions=names)
                est.fit(X_train, Y_train_values)
                proba = est.predict_proba(X_valid)[:, [index]]
                auc.append(emotion_roc_auc_score(y_valid, proba))
        scores[name] = {f: float(a) for f, a in zip(forms, auc)}
        if verbose:
            shown = ", ".join(f"{f}: {a:.3f}" for f, a in scores[name].items())
            print(f"[word forms] {name} ({method}): {shown}", flush=True)

    best = {name: max(s, key=s.get) for name, s in scores.items()}  # first max wins
    chosen = [best.get(e, e) for e in emotions]
    return Bunch(best_forms=best, emotions=chosen, scores=scores, method=method)
