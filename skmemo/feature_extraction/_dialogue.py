"""Conversations: each utterance given the utterances before it in its dialogue.

Emotion recognition in conversation (Poria et al., "Emotion Recognition in
Conversation: Research Challenges, Datasets, and Recent Advances", IEEE Access
2019) reads an utterance with the turns that precede it: "Okay." after "You
slept with her?!" is not "Okay." after "Want pizza?". :class:`DialogueContext`
keeps one row per utterance, so a scikit-learn pipeline, a grouped
cross-validation and a pickle work as for isolated utterances; only each row's
content changes, to hold its preceding turns as well.
"""

import numbers
import warnings
from collections.abc import Mapping

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..data import MODALITIES
from ..exceptions import DialogueLeakWarning
from ._audio import _pad

__all__ = ["DialogueContext", "StackSequences"]

_LEAK = ("warn", "error", "ignore")


def _frame(X):
    import pandas as pd

    if isinstance(X, pd.DataFrame):
        return X
    if isinstance(X, Mapping):
        return pd.DataFrame(dict(X))
    raise TypeError(
        "X must be a pandas DataFrame (or a mapping {column name: values}) with one row "
        f"per utterance and its dialogue id column; got {type(X).__name__}")


def _column(frame, name, what):
    if name not in frame.columns:
        raise KeyError(
            f"X has no {what} column {name!r}; its columns are {list(frame.columns)[:20]}")
    return frame[name]


def _show(value):
    """repr of an id or position, numpy scalars as plain Python ones."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _rows(mask, limit=5):
    rows = np.flatnonzero(mask)
    shown = ", ".join(map(str, rows[:limit]))
    return f"{len(rows)} row(s) (positions {shown}{', ...' if len(rows) > limit else ''})"


class DialogueContext(TransformerMixin, BaseEstimator):
    """Give each utterance the utterances that precede it in its dialogue.

    One row of ``X`` is one utterance; a dialogue column says which
    conversation it belongs to and an order column where it stands in it
    (MELD's ``Dialogue_ID`` / ``Utterance_ID``, EmoryNLP's ``Scene_ID`` /
    ``Utterance_ID``; :func:`skmemo.datasets.dialogue_columns` names them for
    the common corpora). ``transform`` returns ``X`` with the same rows in the
    same order, each context column replaced by the row's ``window`` preceding
    utterances followed by the row itself:

    - a column of strings becomes ``"previous [SEP] ... [SEP] current"`` (with
      ``"Speaker: "`` before each turn when ``speaker`` is given), for a
      sentence or word encoder downstream (a contextual encoder reads the
      current turn in the light of the previous ones);
    - a column of arrays (one ``(d,)`` vector or ``(T, d)`` sequence per
      utterance, any modality) becomes the previous turns' steps followed by
      the current ones, ``(sum T, d)``; with ``speaker`` two features are
      appended to every step, 1 when it belongs to the current turn and 1 when
      its speaker is the current speaker. :class:`StackSequences` pads such a
      column into model input.

    Only preceding turns are read, never following ones (a live system does not
    have them), and never labels: ``y`` is ignored. Rows are read from ``X``
    alone, so an utterance's context is whatever of its dialogue the same call
    receives; a dialogue cut by a split loses the turns on the other side.

    Parameters
    ----------
    columns : str or list of str, default="Utterance"
        The columns that receive context; other columns pass through unchanged.
    dialogue : str, default="Dialogue_ID"
        The column of dialogue ids (any hashable values; no missing ones).
    order : str or None, default="Utterance_ID"
        The column giving each utterance's position in its dialogue (numbers or
        sortable values, unique within a dialogue); rows may come in any order
        and interleaved across dialogues. None: the row order is the dialogue
        order, and each dialogue's rows must then be contiguous.
    speaker : str or None, default=None
        The column of speaker names, used when given (a missing name is an
        unknown speaker: no prefix, never the current speaker).
    window : int or None, default=3
        How many preceding utterances each row receives (0: none, the input
        unchanged); None: all of them.
    sep : str, default=" [SEP] "
        Between the turns of a string column.
    speaker_format : str, default="{speaker}: {text}"
        How a turn of a string column is written when ``speaker`` is given.
    leak : {"warn", "error", "ignore"}, default="warn"
        What ``transform`` does when it meets dialogues seen at ``fit``: the
        model was then trained on other turns of the same conversation (same
        scene, speakers, topic), and a score on these rows overstates what it
        does on new conversations. Split by dialogue
        (:class:`~sklearn.model_selection.GroupKFold` with the dialogue column
        as ``groups``) to avoid it.

    Attributes
    ----------
    dialogues_ : ndarray
        The distinct dialogue ids seen at ``fit``.
    columns_ : list of str
        The context columns.
    n_features_in_ : int
        Columns of ``X`` at fit.
    feature_names_in_ : ndarray of str
        Their names.

    See Also
    --------
    skmemo.datasets.load_meld_transcripts : MELD's CSV with the columns named.
    StackSequences : a column of ``(T_i, d)`` arrays -> padded model input.

    Examples
    --------
    >>> import pandas as pd
    >>> from skmemo.feature_extraction import DialogueContext
    >>> df = pd.DataFrame({"Utterance": ["You slept with her?!", "Okay.", "Want pizza?",
    ...                                  "Okay."],
    ...                    "Speaker": ["Ross", "Joey", "Rachel", "Monica"],
    ...                    "Dialogue_ID": [0, 0, 1, 1], "Utterance_ID": [0, 1, 0, 1]})
    >>> ctx = DialogueContext(speaker="Speaker", window=1)
    >>> ctx.fit_transform(df)["Utterance"].tolist()
    ['Ross: You slept with her?!', 'Ross: You slept with her?! [SEP] Joey: Okay.', \
'Rachel: Want pizza?', 'Rachel: Want pizza? [SEP] Monica: Okay.']
    """

    def __init__(self, columns="Utterance", *, dialogue="Dialogue_ID", order="Utterance_ID",
                 speaker=None, window=3, sep=" [SEP] ", speaker_format="{speaker}: {text}",
                 leak="warn"):
        self.columns = columns
        self.dialogue = dialogue
        self.order = order
        self.speaker = speaker
        self.window = window
        self.sep = sep
        self.speaker_format = speaker_format
        self.leak = leak

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.dict = True
        tags.input_tags.string = True
        return tags

    # ----------------------------------------------------------------- checks
    def _check_params(self):
        columns = [self.columns] if isinstance(self.columns, str) else self.columns
        if not isinstance(columns, (list, tuple)) or not columns or not all(
                isinstance(c, str) for c in columns):
            raise TypeError(
                f"columns must be a column name or a non-empty list of them; got "
                f"{self.columns!r}")
        for name in ("dialogue", "order", "speaker"):
            value = getattr(self, name)
            if not (isinstance(value, str) or (value is None and name != "dialogue")):
                allowed = "a column name" + (" or None" if name != "dialogue" else "")
                raise TypeError(f"{name} must be {allowed}; got {value!r}")
        clash = {self.dialogue, self.order, self.speaker} & set(columns)
        if clash:
            raise ValueError(
                f"columns {sorted(clash)} are also the dialogue/order/speaker columns; "
                "context goes into content columns only")
        if self.window is not None and (
                not isinstance(self.window, numbers.Integral) or isinstance(self.window, bool)
                or self.window < 0):
            raise ValueError(
                f"window must be an int >= 0 (preceding utterances per row) or None "
                f"(all of them); got {self.window!r}")
        if not isinstance(self.sep, str):
            raise TypeError(f"sep must be a str; got {self.sep!r}")
        if not isinstance(self.speaker_format, str) or "{text}" not in self.speaker_format:
            raise ValueError(
                "speaker_format must be a str holding '{text}' (and usually '{speaker}'); "
                f"got {self.speaker_format!r}")
        if self.leak not in _LEAK:
            raise ValueError(f"leak must be one of {list(_LEAK)}; got {self.leak!r}")
        return list(columns)

    def _dialogue_ids(self, frame):
        ids = _column(frame, self.dialogue, "dialogue")
        missing = ids.isna().to_numpy()
        if missing.any():
            raise ValueError(
                f"the dialogue column {self.dialogue!r} is missing for {_rows(missing)}; "
                "every utterance needs the id of its dialogue (a single-utterance "
                "dialogue gets its own id)")
        return ids

    def context_rows(self, X):
        """Positions of each row's preceding utterances in ``X``, oldest first.

        Parameters
        ----------
        X : pandas DataFrame
            One row per utterance, with the dialogue (and order) columns.

        Returns
        -------
        list of ndarray of int
            For row ``i``, the positional indices (``X.iloc``) of the at most
            ``window`` utterances before it in its dialogue; empty for a
            dialogue's first utterance.

        Raises
        ------
        ValueError
            Dialogue ids missing, order values missing or repeated within a
            dialogue, or (``order=None``) a dialogue whose rows are not
            contiguous.
        """
        self._check_params()
        return self._context(_frame(X))

    def _context(self, frame):
        import pandas as pd

        ids = self._dialogue_ids(frame)
        codes = pd.factorize(ids)[0]
        n = len(frame)
        if self.order is None:
            starts = np.r_[True, codes[1:] != codes[:-1]] if n else np.zeros(0, bool)
            if starts.sum() != len(np.unique(codes)):
                runs = pd.Series(codes[starts]).value_counts()
                bad = ids.iloc[np.flatnonzero(codes == runs.index[runs > 1][0])[0]]
                raise ValueError(
                    f"the rows of dialogue {_show(bad)} are not contiguous (another dialogue's "
                    f"rows come between them) and order=None reads the row order as the "
                    f"dialogue order; give the column of utterance positions as order=, "
                    f"or sort X by dialogue")
            perm = np.arange(n)
        else:
            position = _column(frame, self.order, "order")
            missing = position.isna().to_numpy()
            if missing.any():
                raise ValueError(
                    f"the order column {self.order!r} is missing for {_rows(missing)}; "
                    "each utterance needs its position in its dialogue")
            dup = pd.DataFrame({"d": codes, "o": position.to_numpy()}).duplicated().to_numpy()
            if dup.any():
                i = np.flatnonzero(dup)[0]
                raise ValueError(
                    f"dialogue {_show(ids.iloc[i])} has two utterances at {self.order}="
                    f"{_show(position.iloc[i])} (row {i} repeats an earlier row); positions "
                    "must be unique within a dialogue")
            try:
                rank = pd.factorize(position, sort=True)[0]
            except TypeError as exc:
                raise ValueError(
                    f"the order column {self.order!r} mixes values that cannot be sorted "
                    f"({exc}); use numbers") from None
            perm = np.lexsort((rank, codes))
        window = n if self.window is None else int(self.window)
        sorted_codes = codes[perm]
        first = np.r_[0, np.flatnonzero(sorted_codes[1:] != sorted_codes[:-1]) + 1] \
            if n else np.zeros(0, np.int64)
        start = np.repeat(first, np.diff(np.r_[first, n]))
        out = [None] * n
        for p in range(n):
            out[perm[p]] = perm[max(start[p], p - window):p]
        return out

    # ---------------------------------------------------------------- fitting
    def fit(self, X, y=None):
        """Check the table and remember the dialogues it holds.

        Parameters
        ----------
        X : pandas DataFrame or mapping of column name -> values
            One row per utterance.
        y : ignored
            Labels are never read: context is built from inputs only.

        Returns
        -------
        self
        """
        self.fit_transform(X)
        return self

    def fit_transform(self, X, y=None):
        """Fit, then give each row its context (no leak check: these rows are the fit's).

        Everything is checked and built before any fitted attribute is set, so
        a call that raises leaves the transformer as it was.
        """
        columns = self._check_params()
        frame = _frame(X)
        out = self._transform(frame, columns)  # validates ids, order, columns
        self.dialogues_ = np.asarray(self._dialogue_ids(frame).unique())
        self.columns_ = columns
        self.n_features_in_ = frame.shape[1]
        self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        return out

    def transform(self, X):
        """Give each row its preceding utterances.

        Parameters
        ----------
        X : pandas DataFrame or mapping of column name -> values

        Returns
        -------
        pandas DataFrame
            A copy of ``X``, same rows in the same order, with the context
            columns rewritten.

        Warns
        -----
        DialogueLeakWarning
            When ``X`` holds dialogues seen at ``fit`` (``leak="warn"``;
            ``leak="error"`` raises ``ValueError`` instead).
        """
        check_is_fitted(self, "dialogues_")
        self._check_params()
        frame = _frame(X)
        if self.leak != "ignore":
            ids = self._dialogue_ids(frame)
            seen = ids.isin(set(self.dialogues_.tolist())).to_numpy()
            if seen.any():
                shared = ids[seen].unique()
                message = (
                    f"{len(shared)} dialogue(s) of X (e.g. {_show(shared[0])}; {_rows(seen)}) "
                    f"were also in the data this {type(self).__name__} was fitted on: the "
                    "model learnt from other turns of these conversations, so scores on "
                    "them overstate its accuracy on new ones. Split train and test by "
                    "dialogue (GroupKFold with the dialogue column as groups). If the ids only "
                    "look alike (numbering that restarts in each split, as MELD's "
                    "Dialogue_ID does), make them unique (load_meld_transcripts adds a "
                    "'Dialogue' column); if this is intended (scoring the training "
                    "data), pass leak='ignore'")
                if self.leak == "error":
                    raise ValueError(message)
                warnings.warn(message, DialogueLeakWarning, stacklevel=2)
        return self._transform(frame, self.columns_)

    def _transform(self, frame, columns):
        for name in columns:
            _column(frame, name, "context")
        context = self._context(frame)
        out = frame.copy()
        speakers = None
        if self.speaker is not None:
            speakers = _column(frame, self.speaker, "speaker").to_numpy(dtype=object)
            speakers = np.array([None if _isna(s) else s for s in speakers], dtype=object)
        for name in columns:
            values = _column(frame, name, "context").tolist()
            if all(isinstance(v, str) for v in values):
                out[name] = self._strings(values, speakers, context)
            else:
                out[name] = _object_array(self._arrays(name, values, speakers, context))
        return out

    def _strings(self, values, speakers, context):
        if speakers is None:
            turns = values
        else:
            turns = [v if s is None else self.speaker_format.format(speaker=s, text=v)
                     for v, s in zip(values, speakers)]
        return [self.sep.join([turns[j] for j in rows] + [turns[i]])
                for i, rows in enumerate(context)]

    def _arrays(self, name, values, speakers, context):
        arrays, dims = [], set()
        for i, v in enumerate(values):
            if isinstance(v, str) or v is None:
                raise TypeError(
                    f"column {name!r} mixes strings and other values (row {i}: {v!r}); a "
                    "context column holds either strings or arrays")
            a = np.asarray(v, dtype=np.float32)
            if a.ndim == 1:
                a = a[None]
            if a.ndim != 2:
                raise ValueError(
                    f"column {name!r}, row {i}: each cell must be a (d,) vector or a "
                    f"(T, d) sequence; got shape {a.shape}")
            arrays.append(a)
            dims.add(a.shape[1])
        if len(dims) > 1:
            raise ValueError(
                f"column {name!r} holds arrays of different feature sizes {sorted(dims)}")
        out = []
        for i, rows in enumerate(context):
            steps = [arrays[j] for j in rows] + [arrays[i]]
            if speakers is not None:
                marks = [(float(j == i), float(speakers[j] is not None
                                               and speakers[j] == speakers[i]))
                         for j in [*rows, i]]
                steps = [np.c_[s, np.tile(np.float32(m), (len(s), 1))]
                         for s, m in zip(steps, marks)]
            out.append(np.concatenate(steps).astype(np.float32))
        return out


def _isna(value):
    try:
        return value is None or bool(np.isnan(value))
    except (TypeError, ValueError):
        return False


def _object_array(values):
    """A list as an object array, one cell per row (pandas would try to stack it)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


class StackSequences(TransformerMixin, BaseEstimator):
    """Pad a column of ``(T_i, d)`` arrays into one modality of model input.

    The companion of :class:`DialogueContext` for array columns (pooled
    sentence embeddings, audio or face features per utterance): inside
    :class:`MultimodalColumns` it turns the stacked turns of each row into
    ``(n, T, d)`` with ``"<modality>_lengths"``.

    Parameters
    ----------
    modality : {"text", "audio", "visual"}, default="text"
        The key of the output.
    max_len : int or None, default=None
        Keep at most this many steps (the last ones: the current turn ends each
        row); None keeps all.
    padding : {"pre", "post"}, default="pre"
        Where the zeros go; match the estimator's ``padding``.

    Attributes
    ----------
    n_features_out_ : int
        ``d``, from the rows seen at fit.

    Examples
    --------
    >>> import numpy as np
    >>> from skmemo.feature_extraction import StackSequences
    >>> StackSequences().fit_transform([np.ones((1, 4)), np.ones((3, 4))])
    MultimodalData(text=(2, 3, 4), text_lengths=(2,))
    """

    def __init__(self, modality="text", *, max_len=None, padding="pre"):
        self.modality = modality
        self.max_len = max_len
        self.padding = padding

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags

    def _seqs(self, X):
        if self.modality not in MODALITIES:
            raise ValueError(f"modality must be one of {list(MODALITIES)}; got "
                             f"{self.modality!r}")
        if self.padding not in ("pre", "post"):
            raise ValueError(f"padding must be 'pre' or 'post'; got {self.padding!r}")
        if self.max_len is not None and (not isinstance(self.max_len, numbers.Integral)
                                         or self.max_len < 1):
            raise ValueError(f"max_len must be an int >= 1 or None; got {self.max_len!r}")
        seqs = [np.asarray(x, dtype=np.float32) for x in X]
        if not seqs:
            raise ValueError("StackSequences needs at least one row")
        seqs = [s[None] if s.ndim == 1 else s for s in seqs]
        shapes = {s.shape[1:] for s in seqs if s.ndim == 2}
        if any(s.ndim != 2 or len(s) == 0 for s in seqs) or len(shapes) != 1:
            raise ValueError(
                "each row must be a non-empty (T, d) array with the same d; got shapes "
                f"{sorted({s.shape for s in seqs})[:5]}")
        return seqs

    def fit(self, X, y=None):
        """Record the feature size.

        Parameters
        ----------
        X : sequence of array-like ``(T_i, d)``
        y : ignored

        Returns
        -------
        self
        """
        self.n_features_out_ = self._seqs(X)[0].shape[1]
        return self

    def transform(self, X):
        """Pad the rows.

        Returns
        -------
        MultimodalData
        """
        check_is_fitted(self, "n_features_out_")
        seqs = self._seqs(X)
        if seqs[0].shape[1] != self.n_features_out_:
            raise ValueError(f"rows have {seqs[0].shape[1]} features; fitted with "
                             f"{self.n_features_out_}")
        return _pad(seqs, self.modality, self.max_len, "pre", self.padding)
