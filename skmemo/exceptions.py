"""Exceptions raised by skmemo.

Every exception subclasses the built-in type a scikit-learn user would catch
(``ValueError``, ``KeyError``, ...), so ``except ValueError`` keeps working.
"""

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError
from skorch.exceptions import NotInitializedError as _SkorchNotInitializedError

__all__ = [
    "SkmemoError",
    "NotFittedError",
    "UnknownWordError",
    "ModalityError",
    "DataFormatError",
    "UnsafeLoadError",
    "DialogueLeakWarning",
]


class SkmemoError(Exception):
    """Base class of skmemo's own exceptions."""


class NotFittedError(SkmemoError, _SkorchNotInitializedError, _SklearnNotFittedError):
    """The estimator is used before ``fit``.

    Also a scikit-learn ``NotFittedError`` and a skorch ``NotInitializedError``.
    """


class UnknownWordError(SkmemoError, KeyError):
    """An emotion word has no vector in the word-vector source."""

    def __str__(self):  # KeyError quotes its message; show it plainly
        return str(self.args[0]) if self.args else ""


class ModalityError(SkmemoError, ValueError):
    """Input modalities are unknown, missing, or differ from those fitted."""


class DataFormatError(SkmemoError, ValueError):
    """A data file does not have the layout its format requires."""


class UnsafeLoadError(SkmemoError, ValueError):
    """Loading would execute code from a file (a pickle) without opt-in."""


class DialogueLeakWarning(UserWarning):
    """Rows being predicted belong to dialogues the model was fitted on.

    Other turns of the same conversation were in training, so a score on these
    rows overstates the accuracy on new conversations.
    """
