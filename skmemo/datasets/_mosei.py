"""CMU-MOSEI from the SDK's computational sequences, aligned as the SDK does.

The standard CMU-MultimodalSDK recipe (its ``process_mosei`` example), done
one video at a time so that memory holds one video plus the output tensors:

1. word alignment: COVAREP audio and FACET visual rows are aligned to the
   intervals of the words (GloVe vectors) and averaged into one row per word;
   a word with no audio (or visual) row gets a row of zeros (the SDK's
   ``impute`` with zeros);
2. segment alignment: the ``All Labels`` intervals (one per labelled segment)
   become the reference; each modality keeps its word rows that overlap the
   segment; segments with no word are dropped (``hard_unify``);
3. tensors: each segment keeps its last ``seq_len`` rows, zero-padded at the
   front (``get_tensors(direction=False)``), and goes to the fold of its video.

Files the SDK has already aligned (its word-aligned or final-aligned outputs,
written with ``deploy``) name their entries ``"<video id>[<i>]"``: entries are
grouped by the id before the first ``[`` (as the SDK's own ``unify`` and
``get_tensors`` do), so folds and labels match on the video id and the recipe
gives the same tensors as on the raw files.

The standard folds (``folds="standard"``) are the video-id lists of the SDK's
``cmu_mosei_std_folds.py`` (MIT License), shipped with skmemo in
``_data/cmu_mosei_standard_folds.txt`` with the SDK's copyright notice.
"""

import os
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ..data import MultimodalData
from ..exceptions import DataFormatError
from ._base import (
    MOSEI_SDK_EMOTIONS,
    DatasetBunch,
    check_modalities,
    check_nonfinite,
    check_path,
    clean_nonfinite,
    select_emotions,
)
from ._csd import EPSILON, align_mean, align_rows, load_csd, sort_rows

__all__ = ["load_cmu_mosei", "cmu_mosei_standard_folds", "MOSEI_FILES"]

#: File names of the SDK's CMU-MOSEI computational sequences, by role.
MOSEI_FILES = {
    "text": "CMU_MOSEI_TimestampedWordVectors.csd",
    "audio": "CMU_MOSEI_COVAREP.csd",
    "visual": "CMU_MOSEI_VisualFacet42.csd",
    "labels": "CMU_MOSEI_Labels.csd",
}
_ROLES = ("text", "audio", "visual", "labels")
_N_LABEL_COLUMNS = 7  # sentiment + the six emotions
_FOLDS_FILE = Path(__file__).parent / "_data" / "cmu_mosei_standard_folds.txt"
_FOLD_NAMES = ("train", "valid", "test")
_INDEX = re.compile(r"\[(\d+)\]")


def cmu_mosei_standard_folds():
    """The CMU-MOSEI standard folds: video ids of the train, valid and test sets.

    The lists of the CMU-MultimodalSDK (``standard_train_fold``,
    ``standard_valid_fold``, ``standard_test_fold`` of its
    ``cmu_mosei_std_folds.py``, MIT License), shipped with skmemo so that no
    download or SDK install is needed: 2249, 300 and 678 videos.

    Returns
    -------
    folds : dict
        ``{"train": [...], "valid": [...], "test": [...]}``, lists of video
        ids (str) in the SDK's order; a new dict on every call.

    Examples
    --------
    >>> from skmemo.datasets import cmu_mosei_standard_folds
    >>> {name: len(ids) for name, ids in cmu_mosei_standard_folds().items()}
    {'train': 2249, 'valid': 300, 'test': 678}
    """
    folds, current = {}, None
    for line in _FOLDS_FILE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = folds.setdefault(line[1:-1], [])
        elif current is None:
            raise DataFormatError(f"{_FOLDS_FILE}: video id {line!r} before any [fold] heading")
        else:
            current.append(line)
    if tuple(folds) != _FOLD_NAMES:
        raise DataFormatError(f"{_FOLDS_FILE}: expected folds {list(_FOLD_NAMES)}; "
                              f"found {list(folds)}")
    return folds


def _base_id(key):
    """Video id of an entry: the part before the first ``[`` (SDK-aligned names)."""
    return str(key).split("[")[0]


def _entry_order(key):
    """Sort key of the entries of one video: by their ``[i]`` indices, as numbers."""
    return tuple(int(i) for i in _INDEX.findall(str(key)[len(_base_id(key)):]))


def _group_entries(data):
    """``{video id: [entry names]}``, each video's entries in index order."""
    groups = {}
    for key in data:
        groups.setdefault(_base_id(key), []).append(key)
    return {v: sorted(keys, key=_entry_order) for v, keys in groups.items()}


def _rows(data, keys):
    """Intervals (float64) and features of a video's entries, concatenated."""
    intervals = [np.asarray(data[k]["intervals"][()], dtype=np.float64) for k in keys]
    features = [np.asarray(data[k]["features"][()]) for k in keys]
    return np.concatenate(intervals), np.concatenate(features)


def _sources(path_or_paths, modalities):
    """Return ({role: path or csd bunch}, modalities)."""
    if isinstance(path_or_paths, (str, os.PathLike)):
        folder = check_path(path_or_paths, "CMU-MOSEI folder", directory=True)
        modalities = check_modalities(modalities or ("text", "audio", "visual"))
        roles = ("text", "labels") + tuple(m for m in modalities if m != "text")
        sources = {}
        for role in roles:
            path = Path(folder) / MOSEI_FILES[role]
            if not path.is_file():
                raise FileNotFoundError(
                    f"{MOSEI_FILES[role]} ({role}) not found in {str(folder)!r}; pass a "
                    "dict {'text': ..., 'audio': ..., 'visual': ..., 'labels': ...} "
                    "of paths when the files have other names"
                )
            sources[role] = path
        return sources, modalities
    if isinstance(path_or_paths, Mapping):
        unknown = [k for k in path_or_paths if k not in _ROLES]
        if unknown:
            raise ValueError(f"unknown keys {unknown}; expected keys among {list(_ROLES)}")
        for role in ("text", "labels"):
            if role not in path_or_paths:
                raise ValueError(
                    f"path_or_paths needs a {role!r} entry: the words are the alignment "
                    "reference and the labels define the segments"
                )
        present = tuple(m for m in ("text", "audio", "visual") if m in path_or_paths)
        modalities = check_modalities(modalities or present)
        missing = [m for m in modalities if m not in path_or_paths]
        if missing:
            raise ValueError(f"modalities {missing} were asked for but have no path")
        roles = ("text", "labels") + tuple(m for m in modalities if m != "text")
        return {r: path_or_paths[r] for r in roles}, modalities
    raise TypeError(
        "path_or_paths must be a folder holding the SDK's CMU-MOSEI .csd files, or a "
        f"dict role -> path; got {type(path_or_paths).__name__}"
    )


def _check_folds(folds):
    """Return ({fold name: ...}, {video: fold name}) or (None, None)."""
    if folds is None:
        return None, None
    if isinstance(folds, str):
        if folds != "standard":
            raise ValueError(
                f"folds must be 'standard', a dict or a list of lists of video ids; "
                f"got {folds!r}"
            )
        folds = cmu_mosei_standard_folds()
    if isinstance(folds, Mapping):
        items = [(str(k), v) for k, v in folds.items()]
    elif isinstance(folds, (list, tuple)):
        names = ("train", "valid", "test") if len(folds) == 3 else [
            f"fold{i}" for i in range(len(folds))]
        items = list(zip(names, folds))
    else:
        raise TypeError(
            "folds must be a dict {'train': [video ids], 'valid': [...], 'test': [...]} or "
            f"a list of lists of video ids; got {type(folds).__name__}"
        )
    if not items:
        raise ValueError("folds is empty")
    video_fold = {}
    for name, ids in items:
        if isinstance(ids, str) or not hasattr(ids, "__iter__"):
            raise TypeError(f"fold {name!r} must be a list of video ids; got {ids!r}")
        for vid in ids:
            vid = str(vid)
            if vid in video_fold and video_fold[vid] != name:
                raise ValueError(
                    f"video {vid!r} is in two folds: {video_fold[vid]!r} and {name!r}"
                )
            video_fold[vid] = name
    return [name for name, _ in items], video_fold


def _check_seq_len(seq_len):
    if not isinstance(seq_len, (int, np.integer)) or isinstance(seq_len, bool) or seq_len < 1:
        raise ValueError(f"seq_len must be an integer >= 1; got {seq_len!r}")
    return int(seq_len)


def _pad_last(rows, seq_len, dims):
    """Keep the last ``seq_len`` rows, zero-padded at the front: (seq_len, dims)."""
    out = np.zeros((seq_len, dims), dtype=np.float32)
    rows = rows[-seq_len:]
    if len(rows):
        out[seq_len - len(rows):] = rows
    return out


def _word_aligned(w_int, rows, epsilon):
    """Stage 1: one (averaged) row of ``rows`` per word; zeros when none overlaps.

    The last column flags the words that had a row (1) or were imputed (0).
    """
    intervals, features = sort_rows(*rows)
    found, means, spans = align_mean(w_int, intervals, features.reshape(len(features), -1),
                                     epsilon=epsilon)
    ok = np.abs(w_int[:, 0] - w_int[:, 1]) >= epsilon  # the SDK skips zero-length words
    # a word without rows keeps its interval and gets zeros (align_mean's defaults)
    return sort_rows(spans[ok], np.column_stack([means, found])[ok])


def _segment_ids(labels, keys):
    """Id of each label row: ``"<entry>[<i>]"``; an SDK-aligned entry of one row
    (``"<video>[<j>]"``) is already a segment and keeps its name."""
    ids = []
    for key in keys:
        n = labels[key]["intervals"].shape[0]
        if "[" in str(key) and n == 1:
            ids.append(str(key))
        else:
            ids.extend(f"{key}[{i}]" for i in range(n))
    return ids


def _video_segments(video, csds, groups, modalities, dims, seq_len, epsilon, absent=False):
    """Yield (segment id, {modality: (seq_len, d)}, label row, {modality: length}).

    ``absent``: a modality with no row for any word of a segment (or no entry
    for the video) has length 0 instead of imputed zeros.
    """
    w_int, w_feat = _rows(csds["text"]["data"], groups["text"][video])
    w_feat = w_feat.astype(np.float64)
    ok = np.abs(w_int[:, 0] - w_int[:, 1]) >= epsilon
    stage1 = {}
    for m in modalities:
        if m == "text":
            stage1[m] = sort_rows(w_int[ok], np.column_stack([w_feat, ok])[ok])
        elif video in groups[m]:
            stage1[m] = _word_aligned(w_int, _rows(csds[m]["data"], groups[m][video]),
                                      epsilon)
        else:  # only with absent: the video has no entry in this sequence
            stage1[m] = (w_int[ok], np.zeros((int(ok.sum()), dims[m] + 1)))
    keys = groups["labels"][video]
    l_int, l_feat = _rows(csds["labels"]["data"], keys)
    l_feat = l_feat.astype(np.float64).reshape(len(l_int), -1)
    ids = _segment_ids(csds["labels"]["data"], keys)
    rows = {m: align_rows(l_int, *stage1[m], epsilon=epsilon) for m in modalities}
    for j in range(len(l_int)):
        found = {m: rows[m][j] for m in modalities}
        if any(v is None for v in found.values()):
            continue  # zero-length segment, or a modality without rows: dropped
        feats = {m: f[:, :-1] for m, (_, f) in found.items()}
        lengths = {m: min(len(f), seq_len) for m, f in feats.items()}
        if absent:
            lengths.update({m: 0 for m, (_, f) in found.items() if not f[:, -1].any()})
        yield (ids[j], {m: _pad_last(feats[m], seq_len, dims[m]) for m in modalities},
               l_feat[j], lengths)


def load_cmu_mosei(path_or_paths, *, seq_len=50, folds=None, modalities=None, emotions=None,
                   nonfinite="zero", epsilon=EPSILON, missing="zero"):
    """Load CMU-MOSEI from the SDK's computational sequences, word-aligned.

    Reproduces the SDK's standard processing (see the module docstring):
    COVAREP and FACET are averaged over each word's interval, the words are
    grouped into the labelled segments, and each segment keeps its last
    ``seq_len`` words, zero-padded at the front. Files the SDK has already
    aligned (entries named ``"<video id>[<i>]"``, from its word or final
    alignment) are read too and give the same tensors: entries are matched
    on the video id before the first ``[``.

    .. warning::
       The SDK's FACET 4.2 visual features contain facial-emotion scores: of
       the 35 columns, the first ten are FACET's Anger, Contempt, Disgust,
       Joy, Fear, Baseline, Sadness, Surprise, Confusion and Frustration
       outputs (column order given by the SDK's maintainers in
       CMU-MultimodalSDK issue #239; the Dai et al. reference repository's
       issue #6 reports the leak). For an emotion task they leak the labels.
       To drop them, keep columns 10 to 34 (action units, glasses, gender,
       head pose)::

           mosei.data["visual"] = mosei.data["visual"][:, :, 10:]

       (with folds, for each of ``mosei.train``, ``mosei.valid``,
       ``mosei.test``). Check the ``"dimension names"`` metadata of your copy
       (``load_csd(path).metadata``) first.

    Parameters
    ----------
    path_or_paths : str, path-like or dict
        A folder holding the SDK's files (names in ``MOSEI_FILES``:
        ``CMU_MOSEI_TimestampedWordVectors.csd``, ``CMU_MOSEI_COVAREP.csd``,
        ``CMU_MOSEI_VisualFacet42.csd``, ``CMU_MOSEI_Labels.csd``), or a dict
        with keys ``"text"`` and ``"labels"`` (required) and ``"audio"``,
        ``"visual"``, whose values are paths or results of :func:`load_csd`.
    seq_len : int, default=50
        Words kept per segment (the last ones). The paper used 20 and 50.
    folds : "standard", dict or list of lists, default=None
        Video ids per fold. ``"standard"`` uses the SDK's standard folds,
        shipped with skmemo (see :func:`cmu_mosei_standard_folds`; 2249 / 300
        / 678 videos in ``"train"``, ``"valid"``, ``"test"``). A dict maps
        fold names to video ids; a list of three lists is read as train,
        valid, test. Segments of videos in no fold are left out. None returns
        all segments together.
    modalities : sequence of str, default=None
        Modalities to return, among ``"text"``, ``"audio"``, ``"visual"``;
        None returns all that have a source. The words are always read: they
        are the alignment reference.
    emotions : sequence of str, default=None
        Emotion columns to return, in this order, among
        ``MOSEI_SDK_EMOTIONS``. None keeps the SDK's order: happy, sad, anger,
        surprise, disgust, fear (not the alphabetical order of the legacy
        files, see :func:`load_legacy_mosei`).
    nonfinite : {"zero", "keep", "error"}, default="zero"
        NaN and infinite values (COVAREP holds -inf, and averaging carries it)
        are set to 0 ("zero", as the paper's code did), kept ("keep"; clean
        them with ``skmemo.preprocessing.ModalityScaler`` before fitting: the
        estimator refuses them), or raise ("error").
    epsilon : float, default=1e-5
        The SDK's tolerance on interval ends, in seconds.
    missing : {"zero", "absent"}, default="zero"
        Audio or visual data missing for a whole segment (no frame overlaps
        any of its words) or a whole video (no entry in the sequence).
        "zero": the SDK's behaviour, the segment's words get rows of zeros and
        videos without an entry are skipped. "absent": such segments and
        videos are kept with the modality marked absent (length 0), and
        ``data`` holds ``"<modality>_lengths"`` for every modality (the
        number of words kept, at most ``seq_len``), so that the estimator
        skips the modality for those samples (see the user guide on missing
        modalities).

    Returns
    -------
    mosei : DatasetBunch
        Without ``folds``: ``data`` (:class:`~skmemo.MultimodalData` of
        ``(n, seq_len, d_m)`` float32 arrays), ``target`` ``(n, K)`` int 0/1
        (emotion intensity ``> 0``), ``intensities`` ``(n, K)`` float32 in
        [0, 3], ``sentiment`` ``(n,)`` float32 in [-3, 3], ``ids`` (segment ids
        ``"<video>[<i>]"``, ``i`` the row of the segment in the labels file;
        for a labels file the SDK has aligned, the name of its one-row
        entry, which already holds the segment index).
        With ``folds``: one such :class:`~sklearn.utils.Bunch` per fold name.
        Always: ``emotions`` (column names of ``target``), ``seq_len``,
        ``skipped_videos`` (missing from some sequence) and
        ``unassigned_videos`` (in no fold). Samples are ordered by video id,
        then by segment row.

    Raises
    ------
    skmemo.exceptions.DataFormatError
        If no segment at all is loaded: no video id is shared by every
        sequence, no shared video is in a fold, or no label interval overlaps
        the words. The message shows the ids found.

    Notes
    -----
    Label-to-segment correspondence: as in the SDK, row ``i`` of a video's
    ``All Labels`` entry labels the segment whose interval is row ``i`` of
    its intervals, whatever the time order of the rows; the words of that
    segment are those whose intervals overlap it.

    Examples
    --------
    >>> from skmemo.datasets import load_cmu_mosei
    >>> load_cmu_mosei("no/such/folder")
    Traceback (most recent call last):
    ...
    FileNotFoundError: CMU-MOSEI folder 'no/such/folder' does not exist
    """
    if missing not in ("zero", "absent"):
        raise ValueError(f"missing must be 'zero' or 'absent'; got {missing!r}")
    sources, modalities = _sources(path_or_paths, modalities)
    seq_len = _check_seq_len(seq_len)
    nonfinite = check_nonfinite(nonfinite)
    names, columns = select_emotions(emotions, MOSEI_SDK_EMOTIONS)
    fold_names, video_fold = _check_folds(folds)

    opened, csds = [], {}
    try:
        for role, src in sources.items():
            if isinstance(src, Bunch) and "data" in src:
                csds[role] = src
            else:
                csds[role] = load_csd(src, lazy=True)
                opened.append(csds[role])
        return _assemble(csds, modalities, seq_len, columns, names, fold_names,
                         video_fold, nonfinite, epsilon, missing == "absent")
    finally:
        for csd in opened:
            csd.close()


def _feature_dims(csds, modalities):
    dims = {}
    for m in modalities:
        shapes = {tuple(v["features"].shape[1:]) for v in csds[m]["data"].values()}
        if len(shapes) > 1 or any(len(s) != 1 for s in shapes):
            raise DataFormatError(
                f"the {m} sequence must hold (rows, dims) features with one dims for "
                f"every video; found feature shapes {sorted(shapes)[:5]}"
            )
        dims[m] = shapes.pop()[0] if shapes else 0
    for video, entry in csds["labels"]["data"].items():
        if entry["features"].shape[1:] not in ((_N_LABEL_COLUMNS,), (1, _N_LABEL_COLUMNS)):
            raise DataFormatError(
                f"the labels sequence must have {_N_LABEL_COLUMNS} columns (sentiment, "
                "happy, sad, anger, surprise, disgust, fear); video "
                f"{video!r} has features of shape {tuple(entry['features'].shape)}"
            )
    return dims


def _assemble(csds, modalities, seq_len, columns, names, fold_names, video_fold,
              nonfinite, epsilon, absent=False):
    dims = _feature_dims(csds, modalities)
    roles = ["text", "labels"] + [m for m in modalities if m != "text"]
    groups = {r: _group_entries(csds[r]["data"]) for r in roles}
    all_videos = set().union(*groups.values())
    if absent:  # videos missing from audio or visual are kept, the modality absent
        roles = ["text", "labels"]
    shared = set.intersection(*(set(groups[r]) for r in roles))
    videos = sorted(shared)
    names_out = fold_names or ["all"]
    fold_of = (lambda v: video_fold.get(v)) if video_fold is not None else (lambda v: "all")
    # upper bound of the number of segments per output: the label rows
    bound = dict.fromkeys(names_out, 0)
    for v in videos:
        g = fold_of(v)
        if g is not None:
            bound[g] += sum(csds["labels"]["data"][k]["intervals"].shape[0]
                            for k in groups["labels"][v])
    out = {g: {"X": {m: np.zeros((bound[g], seq_len, dims[m]), np.float32)
                     for m in modalities},
               "lengths": {m: np.zeros(bound[g], np.int64) for m in modalities},
               "labels": [], "ids": []} for g in names_out}
    unassigned = []
    for video in videos:
        g = fold_of(video)
        if g is None:
            unassigned.append(video)
            continue
        slot = out[g]
        for seg_id, tensors, label_row, lengths in _video_segments(
                video, csds, groups, modalities, dims, seq_len, epsilon, absent):
            n = len(slot["ids"])
            for m in modalities:
                slot["X"][m][n] = tensors[m]
                slot["lengths"][m][n] = lengths[m]
            slot["labels"].append(label_row)
            slot["ids"].append(seg_id)
    if not any(out[g]["ids"] for g in names_out):
        raise DataFormatError(_nothing_matched(groups, roles, shared, video_fold, unassigned))

    results = {}
    for g in names_out:
        n = len(out[g]["ids"])
        X = {m: clean_nonfinite(out[g]["X"][m][:n], nonfinite, f"the {m} features of {g!r}")
             for m in modalities}
        if absent:
            X.update({f"{m}_lengths": out[g]["lengths"][m][:n] for m in modalities})
        labels = np.asarray(out[g]["labels"], dtype=np.float32).reshape(n, _N_LABEL_COLUMNS)
        intensities = labels[:, 1:][:, columns]
        results[g] = Bunch(
            data=MultimodalData(**X), target=(intensities > 0).astype(np.int64),
            intensities=intensities, sentiment=labels[:, 0].copy(), ids=out[g]["ids"],
        )
    common = dict(emotions=list(names), seq_len=seq_len,
                  skipped_videos=sorted(all_videos - shared), unassigned_videos=unassigned)
    if fold_names is None:
        return DatasetBunch(**results["all"], **common)
    return DatasetBunch(**results, **common)


def _nothing_matched(groups, roles, shared, video_fold, unassigned):
    """The message of the error raised when no segment was loaded."""
    examples = {r: sorted(groups[r])[:2] for r in roles}
    if not shared:
        return (
            "no video id is shared by every sequence, so no segment was loaded; "
            f"video ids found (the part of entry names before '['): {examples}"
        )
    if video_fold is not None and len(unassigned) == len(shared):
        some = sorted(video_fold)[:2]
        return (
            f"none of the {len(shared)} videos of the sequences is in a fold (fold video "
            f"ids look like {some}, the sequences' like {sorted(shared)[:2]}), so no "
            "segment was loaded"
        )
    return (
        f"the {len(shared)} shared videos gave no segment: no label interval overlaps "
        "a word of every requested modality (are the label intervals in seconds, like "
        "the words'?)"
    )
