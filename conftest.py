"""Collection settings for the doctests of ``skmemo`` and the tests."""

import importlib.util

# the audio extra is optional: its doctest needs librosa
collect_ignore = ([] if importlib.util.find_spec("librosa")
                  else ["skmemo/feature_extraction/_audio.py"])
