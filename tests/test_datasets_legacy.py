"""Tests of load_legacy_mosei on small files in the reference code's layout."""

import h5py
import numpy as np
import pytest

from skmemo.datasets import MOSEI_SDK_EMOTIONS, H5Array, load_legacy_mosei
from skmemo.exceptions import DataFormatError

SPLITS = {"train": 7, "valid": 3, "test": 4}
DIMS = {"text": 5, "audio": 4, "video": 3}


def write_legacy(folder, *, n=SPLITS, dims=DIMS, steps=6, seed=0, audio_name="audio_{}.h5",
                 video_name="video_{}.h5"):
    """Write ``{text,audio,video}`` features and ``ey`` labels; return the arrays."""
    rng = np.random.RandomState(seed)
    written = {}
    names = {"text": "text_{}_emb.h5", "audio": audio_name, "video": video_name}
    for split, size in n.items():
        arrays = {m: rng.randn(size, steps, d).astype(np.float32) for m, d in dims.items()}
        arrays["audio"][0, 1, 2] = -np.inf  # COVAREP holds -inf
        # intensities in [0, 3], alphabetical: anger disgust fear happy sad surprise
        arrays["ey"] = np.round(rng.uniform(-1, 3, (size, 6)).clip(0), 1).astype(np.float32)
        for m, a in arrays.items():
            name = names.get(m, "ey_{}.h5").format(split)
            with h5py.File(folder / name, "w") as f:
                f["d1"] = a
        written[split] = arrays
    return written


@pytest.fixture(scope="module")
def legacy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("legacy")
    return folder, write_legacy(folder)


def test_eager_load_reads_every_split_with_alphabetical_labels(legacy):
    folder, written = legacy
    mosei = load_legacy_mosei(folder)
    assert mosei.emotions == ["anger", "disgust", "fear", "happy", "sad", "surprise"]
    assert mosei.lazy is False and mosei.files == []
    for split, size in SPLITS.items():
        part, arrays = mosei[split], written[split]
        assert part.data.modalities == ("text", "audio", "visual")
        assert part.data["visual"].shape == (size, 6, 3)
        np.testing.assert_array_equal(part.data["text"], arrays["text"])
        np.testing.assert_array_equal(part.data["visual"], arrays["video"])
        np.testing.assert_array_equal(part.intensities, arrays["ey"])
        np.testing.assert_array_equal(part.target, (arrays["ey"] > 0).astype(int))
    audio = mosei.train.data["audio"]
    assert audio[0, 1, 2] == 0  # -inf set to 0
    expected = written["train"]["audio"].copy()
    expected[0, 1, 2] = 0
    np.testing.assert_array_equal(audio, expected)


def test_nonfinite_keep_and_error(legacy):
    folder, _ = legacy
    kept = load_legacy_mosei(folder, splits="train", nonfinite="keep")
    assert kept.train.data["audio"][0, 1, 2] == -np.inf
    assert "valid" not in kept
    with pytest.raises(DataFormatError, match="ModalityScaler"):
        load_legacy_mosei(folder, nonfinite="error")
    with pytest.raises(ValueError, match="nonfinite"):
        load_legacy_mosei(folder, nonfinite="nan")


def test_emotions_reorder_columns_by_name(legacy):
    folder, written = legacy
    sdk = load_legacy_mosei(folder, splits=["test"], emotions=MOSEI_SDK_EMOTIONS)
    alpha = written["test"]["ey"]
    # happy sad anger surprise disgust fear = alphabetical columns 3 4 0 5 1 2
    np.testing.assert_array_equal(sdk.test.intensities, alpha[:, [3, 4, 0, 5, 1, 2]])
    assert sdk.emotions == list(MOSEI_SDK_EMOTIONS)


def test_modalities_subset_and_emb_file_names(tmp_path):
    written = write_legacy(tmp_path, n={"train": 3}, audio_name="audio_{}_emb.h5",
                           video_name="video_{}_emb.h5")
    out = load_legacy_mosei(tmp_path, splits="train", modalities=["visual", "audio"])
    assert out.train.data.modalities == ("audio", "visual")
    np.testing.assert_array_equal(out.train.data["visual"], written["train"]["video"])


def test_lazy_load_returns_h5_views_equal_to_eager(legacy):
    folder, _ = legacy
    eager = load_legacy_mosei(folder, splits="valid")
    with load_legacy_mosei(folder, splits="valid", lazy=True) as lazy:
        assert lazy.lazy is True and len(lazy.files) == 3
        audio = lazy.valid.data["audio"]
        assert isinstance(audio, H5Array) and audio.nonfinite == "zero"
        assert isinstance(audio.dataset, h5py.Dataset)
        for m in ("text", "audio", "visual"):
            np.testing.assert_array_equal(np.asarray(lazy.valid.data[m]), eager.valid.data[m])
        np.testing.assert_array_equal(lazy.valid.target, eager.valid.target)
    with pytest.raises(ValueError, match="file is closed"):
        audio[0]


def test_missing_and_malformed_files_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_legacy_mosei(tmp_path / "nowhere")
    write_legacy(tmp_path, n={"train": 3})
    with pytest.raises(FileNotFoundError, match="video_test_emb.h5 and video_test.h5"):
        load_legacy_mosei(tmp_path, splits="test", modalities=["visual"])
    (tmp_path / "ey_train.h5").unlink()
    with pytest.raises(FileNotFoundError, match="ey_train.h5"):
        load_legacy_mosei(tmp_path, splits="train")
    with h5py.File(tmp_path / "ey_train.h5", "w") as f:
        f["d1"] = np.zeros((3, 7))
    with pytest.raises(DataFormatError, match=r"shape \(samples, 6\)"):
        load_legacy_mosei(tmp_path, splits="train")
    with h5py.File(tmp_path / "ey_train.h5", "w") as f:
        f["data"] = np.zeros((3, 6))
    with pytest.raises(DataFormatError, match="no dataset 'd1'"):
        load_legacy_mosei(tmp_path, splits="train")
    with h5py.File(tmp_path / "ey_train.h5", "w") as f:
        f["d1"] = np.zeros((2, 6))
    with pytest.raises(DataFormatError, match="different numbers of samples"):
        load_legacy_mosei(tmp_path, splits="train")
    with h5py.File(tmp_path / "text_train_emb.h5", "w") as f:
        f["d1"] = np.zeros((3, 5))
    with pytest.raises(DataFormatError, match="must be 3-D"):
        load_legacy_mosei(tmp_path, splits="train", lazy=True)


def test_truncated_file_is_a_clear_error(tmp_path):
    write_legacy(tmp_path, n={"train": 50}, steps=20)
    path = tmp_path / "audio_train.h5"
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataFormatError, match="truncated"):
        load_legacy_mosei(tmp_path, splits="train")


def test_argument_validation(legacy):
    folder, _ = legacy
    with pytest.raises(ValueError, match="splits"):
        load_legacy_mosei(folder, splits=["training"])
    with pytest.raises(ValueError, match="modalities"):
        load_legacy_mosei(folder, modalities=["video"])
    with pytest.raises(TypeError, match="lazy"):
        load_legacy_mosei(folder, lazy="yes")


def _write_sentiment(folder, written, shape=lambda n: (n, 1)):
    """``y_{split}.h5``: the reference code's sentiment labels, one ``d1`` dataset."""
    scores = {}
    for split, arrays in written.items():
        n = len(arrays["ey"])
        scores[split] = np.linspace(-3, 3, n).astype(np.float32)
        with h5py.File(folder / f"y_{split}.h5", "w") as f:
            f["d1"] = scores[split].reshape(shape(n))
    return scores


def test_sentiment_labels_y_files(tmp_path):
    written = write_legacy(tmp_path)
    scores = _write_sentiment(tmp_path, written)
    both = load_legacy_mosei(tmp_path)
    for split in SPLITS:
        np.testing.assert_array_equal(both[split].sentiment, scores[split])
        np.testing.assert_array_equal(both[split].intensities, written[split]["ey"])
    for split in SPLITS:
        (tmp_path / f"ey_{split}.h5").unlink()  # sentiment alone needs no ey file
    senti = load_legacy_mosei(tmp_path, labels="sentiment", splits=["train", "test"])
    assert senti.emotions == ["positive", "negative"]
    train = senti.train
    np.testing.assert_array_equal(train.sentiment, scores["train"])
    np.testing.assert_array_equal(train.target[:, 0], scores["train"] > 0)
    np.testing.assert_array_equal(train.target[:, 1], scores["train"] < 0)
    assert train.target[3].tolist() == [0, 0]  # sentiment 0: neither
    np.testing.assert_array_equal(train.data["text"], written["train"]["text"])
    with pytest.raises(FileNotFoundError, match="label file of split 'train'"):
        load_legacy_mosei(tmp_path)
    with pytest.raises(ValueError, match="labels must be one of"):
        load_legacy_mosei(tmp_path, labels="senti")
    with pytest.raises(ValueError, match="needs labels='emotions'"):
        load_legacy_mosei(tmp_path, labels="sentiment", emotions=["anger"])


def test_sentiment_file_of_the_wrong_size_is_refused(tmp_path):
    written = write_legacy(tmp_path)
    _write_sentiment(tmp_path, written, shape=lambda n: (n,))
    assert load_legacy_mosei(tmp_path, splits="valid").valid.sentiment.shape == (3,)
    with h5py.File(tmp_path / "y_valid.h5", "w") as f:
        f["d1"] = np.zeros((2, 1))
    with pytest.raises(DataFormatError, match=r"one score per sample \(3"):
        load_legacy_mosei(tmp_path, splits="valid")
    with pytest.raises(DataFormatError, match="different numbers of samples"):
        load_legacy_mosei(tmp_path, splits="valid", labels="sentiment")
