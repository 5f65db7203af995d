"""Tests of load_iemocap9 on pickles in the layout of the paper's reference code.

The reference code (Dai et al. 2020, ``src/data.py``) reads, per split,
``text_{phase}.p``, ``covarep_{phase}.p``, ``facet_{phase}.p`` and ``y_{phase}.p``
with a Python 2 unpickler (latin1), each file one numpy array, and takes the nine
emotions as ``y[:, 1:-1]``. The files here are written with pickle protocol 2.
"""

import pickle

import numpy as np
import pytest

from skmemo.datasets import IEMOCAP9_EMOTIONS, load_iemocap9
from skmemo.exceptions import DataFormatError, UnsafeLoadError

SIZES = {"train": 6, "valid": 2, "test": 3}


def _write(folder, seed=0, steps=21):
    rng = np.random.RandomState(seed)
    arrays = {}
    for split, n in SIZES.items():
        y = np.zeros((n, 11))
        y[np.arange(n), rng.randint(0, 11, n)] = 1  # one class per utterance
        covarep = rng.randn(n, steps, 74)
        covarep[0, 0, 0] = -np.inf
        arrays[split] = {"text": rng.randn(n, steps, 300), "covarep": covarep,
                         "facet": rng.randn(n, steps, 35), "y": y}
        for stem, value in arrays[split].items():
            with open(folder / f"{stem}_{split}.p", "wb") as f:
                pickle.dump(value, f, protocol=2)
    return arrays


def test_nine_emotions_are_columns_one_to_nine(tmp_path):
    arrays = _write(tmp_path)
    out = load_iemocap9(tmp_path, allow_pickle=True)
    assert out.emotions == list(IEMOCAP9_EMOTIONS)
    assert out.emotions[0] == "anger" and out.emotions[-1] == "disgust" and len(out.emotions) == 9
    for split, n in SIZES.items():
        part = out[split]
        np.testing.assert_array_equal(part.target, arrays[split]["y"][:, 1:-1])
        np.testing.assert_array_equal(part.raw_labels, arrays[split]["y"])
        assert part.data["text"].shape == (n, 21, 300) and part.data["text"].dtype == np.float32
        np.testing.assert_allclose(part.data["visual"], arrays[split]["facet"], rtol=1e-6)
        assert part.data["audio"].shape == (n, 21, 74)
    assert out.train.data["audio"][0, 0, 0] == 0  # -inf -> 0
    kept = load_iemocap9(tmp_path, allow_pickle=True, splits="test", nonfinite="keep")
    assert list(kept) == ["test", "emotions"]


def test_pickles_are_refused_without_opt_in(tmp_path):
    _write(tmp_path)
    with pytest.raises(UnsafeLoadError, match="allow_pickle=True"):
        load_iemocap9(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_iemocap9(tmp_path / "nope", allow_pickle=True)


def test_wrong_layouts_are_clear_errors(tmp_path):
    _write(tmp_path)
    with open(tmp_path / "y_valid.p", "wb") as f:
        pickle.dump(np.zeros((2, 9)), f, protocol=2)  # already sliced: refused
    with pytest.raises(DataFormatError, match=r"\(samples, 11\)"):
        load_iemocap9(tmp_path, allow_pickle=True)
    with open(tmp_path / "facet_test.p", "wb") as f:
        pickle.dump(np.zeros((2, 21, 35)), f, protocol=2)
    with pytest.raises(DataFormatError, match="different numbers of samples"):
        load_iemocap9(tmp_path, allow_pickle=True, splits="test")
    (tmp_path / "covarep_train.p").unlink()
    with pytest.raises(FileNotFoundError, match="covarep file of split 'train'"):
        load_iemocap9(tmp_path, allow_pickle=True, splits="train")
    with open(tmp_path / "text_valid.p", "wb") as f:
        pickle.dump({"not": "an array"}, f, protocol=2)
    with pytest.raises(DataFormatError, match="numeric array"):
        load_iemocap9(tmp_path, allow_pickle=True, splits="valid")
