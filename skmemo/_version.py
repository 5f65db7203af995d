"""The version of skmemo, in one place (read by ``setup.py`` and the file format)."""

__version__ = "0.1.0"
