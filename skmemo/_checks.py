"""Checks and messages that every layer of skmemo shares (pure Python).

One phrase per idea, written once: a bad ``padding`` is refused with the same
words by the network (:mod:`skmemo.modules`), the estimators, the
transformers and the readers.
"""

__all__ = ["PADDINGS", "check_option", "check_padding", "options_text"]

#: which end of a sample holds the zero padding
PADDINGS = ("pre", "post")


def options_text(options):
    """``('pre', 'post')`` -> ``"'pre' or 'post'"``; None is written None."""
    words = [repr(o) for o in options]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _is_one_of(value, options):
    return any(value is o or (isinstance(value, str) and value == o) for o in options)


def check_option(name, value, options):
    """``value`` if it is one of ``options``, else a ``ValueError`` naming ``name``."""
    if not _is_one_of(value, options):
        raise ValueError(f"{name} must be {options_text(options)}, got {value!r}")
    return value


def check_padding(value, name="padding", *, allow_none=False):
    """``value`` if it is ``"pre"`` or ``"post"`` (or None when allowed)."""
    return check_option(name, value, ((None,) if allow_none else ()) + PADDINGS)
