import numpy as np
import pytest
import torch
from sklearn.model_selection import KFold, train_test_split

from skmemo import MultimodalData
from skmemo.data import check_X, check_y
from skmemo.exceptions import ModalityError


def _X(n=10):
    return {"text": np.ones((n, 4, 5), np.float32), "audio": np.ones((n, 6, 3), np.float32)}


def test_multimodal_data_len_and_slicing_work_with_sklearn():
    X = MultimodalData(**_X())
    assert len(X) == 10
    Xtr, Xte = train_test_split(X, test_size=0.3, random_state=0)
    assert isinstance(Xtr, MultimodalData) and len(Xtr) == 7 and Xte["audio"].shape == (3, 6, 3)
    folds = list(KFold(5).split(X))
    assert all(len(test) == 2 for _, test in folds)


def test_multimodal_data_refuses_unknown_keys_and_mismatched_counts():
    with pytest.raises(ModalityError, match="unknown modality"):
        MultimodalData(txt=np.zeros((2, 1, 1)))
    with pytest.raises(ValueError, match="same number of samples"):
        MultimodalData(text=np.zeros((2, 1, 1)), audio=np.zeros((3, 1, 1)))


def test_check_X_accepts_numpy_torch_and_lists():
    X = check_X({"text": torch.ones(3, 2, 4), "visual": np.ones((3, 5, 2)).tolist()})
    assert isinstance(X, MultimodalData) and X.modalities == ("text", "visual")


@pytest.mark.parametrize("X, exc, match", [
    (np.zeros((2, 3, 4)), TypeError, "must be a mapping"),
    ({}, ModalityError, "holds no modality"),
    ({"text": np.zeros((2, 3, 4)), "face": np.zeros((2, 3, 4))}, ModalityError, "face"),
    ({"text": np.zeros((2, 3))}, ValueError, "must be 3-D.*length-1 sequence"),
    ({"text": np.zeros((2, 3, 4)), "audio": np.zeros((3, 3, 4))}, ValueError, "same number"),
    ({"text": np.full((2, 3, 4), np.nan)}, ValueError, "NaN or inf"),
    ({"text": np.zeros((2, 3, 4)), "text_lengths": np.array([0, 2])}, ValueError,
     "no modality at all"),
    ({"text": np.zeros((2, 3, 4)), "text_lengths": np.array([4, 2])}, ValueError, r"\[0, 3\]"),
    ({"audio_lengths": np.array([1, 2]), "text": np.zeros((2, 3, 4))}, ModalityError,
     "no 'audio' modality"),
])
def test_check_X_errors(X, exc, match):
    with pytest.raises(exc, match=match):
        check_X(X)


def test_check_X_against_fitted_modalities():
    with pytest.raises(ModalityError, match="not seen in fit"):
        check_X({"visual": np.zeros((2, 3, 4))}, fitted={"text": 4})
    with pytest.raises(ValueError, match="has 4 features per step.*fitted with 5"):
        check_X({"text": np.zeros((2, 3, 4))}, fitted={"text": 5})


def test_check_y():
    y = check_y([[0, 1], [1, 1]], n_samples=2, n_emotions=2)
    assert y.dtype == np.float32
    with pytest.raises(ValueError, match="2-D.*reshape"):
        check_y(np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="binary.*other values \\[2"):
        check_y([[0, 2]])
    with pytest.raises(ValueError, match="3 columns but the estimator has 2"):
        check_y(np.zeros((1, 3)), n_emotions=2)
    with pytest.raises(ValueError, match="2 rows but X holds 5"):
        check_y(np.zeros((2, 1)), n_samples=5)


@pytest.mark.parametrize("y", [np.array([["happy", "sad"], ["sad", "happy"]]),
                               np.array([[b"happy"], [b"sad"]])])
def test_check_y_numpy_strings_get_the_binarizer_hint(y):
    with pytest.raises(ValueError, match="found b?'happy'.*MultiLabelBinarizer"):
        check_y(y)


@pytest.mark.parametrize("y", [[["happy"], ["sad", "anger"], []],
                               (("happy",), ["sad", "anger"])])
def test_check_y_ragged_emotion_names_get_the_binarizer_hint(y):
    with pytest.raises(TypeError, match=r"lists of emotion names \(e.g. \['happy'\]\)"
                                        r".*MultiLabelBinarizer"):
        check_y(y)


def test_check_y_ragged_numbers_say_rows_of_equal_length():
    with pytest.raises(TypeError, match="rows of equal length") as info:
        check_y([[0, 1], [1]])
    assert "MultiLabelBinarizer" not in str(info.value)
