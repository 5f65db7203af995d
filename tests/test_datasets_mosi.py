"""Tests of load_cmu_mosi_utterance on small CSV files in bc-LSTM's layout,
and on the real files when they are present."""

from pathlib import Path

import numpy as np
import pytest

from skmemo.datasets import MOSI_UTTERANCE_FILES, load_cmu_mosi_utterance
from skmemo.exceptions import DataFormatError

DIMS = {"text": 5, "audio": 3, "visual": 4}
SIZES = {"train": 6, "test": 4}
REAL = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "cmu-mosi-utterance"


def _write(folder, seed=0):
    """Three modality files per split, rows corresponding, label last; quoted as the
    published files are."""
    rng = np.random.RandomState(seed)
    written = {}
    for split, n in SIZES.items():
        labels = np.arange(n) % 2
        written[split] = {"labels": labels}
        for m, d in DIMS.items():
            features = rng.randn(n, d)
            written[split][m] = features
            lines = [",".join(f'"{float(v)!r}"' for v in [*row, label])
                     for row, label in zip(features, labels)]
            (folder / MOSI_UTTERANCE_FILES[m].format(split)).write_text("\n".join(lines) + "\n")
    return written


def test_reads_every_split_and_modality(tmp_path):
    written = _write(tmp_path)
    mosi = load_cmu_mosi_utterance(tmp_path)
    assert mosi.emotions == ["positive", "negative"]
    for split, n in SIZES.items():
        part = mosi[split]
        assert sorted(part.data.modalities) == sorted(DIMS)
        for m, d in DIMS.items():
            assert part.data[m].shape == (n, 1, d) and part.data[m].dtype == np.float32
            np.testing.assert_allclose(part.data[m][:, 0], written[split][m], rtol=1e-6)
        np.testing.assert_array_equal(part.sentiment, written[split]["labels"])
        np.testing.assert_array_equal(part.target[:, 0], part.sentiment)
        np.testing.assert_array_equal(part.target.sum(axis=1), 1)


def test_subset_of_splits_and_modalities_needs_only_their_files(tmp_path):
    _write(tmp_path)
    (tmp_path / MOSI_UTTERANCE_FILES["visual"].format("train")).unlink()
    mosi = load_cmu_mosi_utterance(tmp_path, splits="test", modalities=["text", "visual"])
    assert set(mosi) == {"test", "emotions"}
    assert sorted(mosi.test.data.modalities) == ["text", "visual"]
    with pytest.raises(FileNotFoundError,
                       match="CMU-MOSI visual file of split 'train' .*video_video_train0.csv"):
        load_cmu_mosi_utterance(tmp_path)


def test_missing_folder_and_bad_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="CMU-MOSI folder .* does not exist"):
        load_cmu_mosi_utterance(tmp_path / "absent")
    with pytest.raises(ValueError, match=r"subset of \['train', 'test'\]"):
        load_cmu_mosi_utterance(tmp_path, splits="valid")
    with pytest.raises(ValueError, match="modalities"):
        load_cmu_mosi_utterance(tmp_path, modalities=["video"])


@pytest.mark.parametrize("damage, match", [
    (lambda text: text.replace("1.0\"\n", "2.0\"\n", 1), r"0/1 sentiment; found \[2.0\]"),
    (lambda text: text.replace(",", ",x", 1), "numbers only"),
    (lambda text: text.split("\n", 1)[1].replace(",", ",1,", 1), "same number of values"),
    (lambda text: "", "holds no row"),
])
def test_malformed_file_is_named(tmp_path, damage, match):
    _write(tmp_path)
    path = tmp_path / MOSI_UTTERANCE_FILES["audio"].format("train")
    path.write_text(damage(path.read_text()))
    with pytest.raises(DataFormatError, match=rf"audio_audio_train0.csv.*{match}"):
        load_cmu_mosi_utterance(tmp_path)


def test_files_that_disagree_are_refused(tmp_path):
    _write(tmp_path)
    path = tmp_path / MOSI_UTTERANCE_FILES["visual"].format("test")
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[1:] + lines[:1]) + "\n")  # rows shifted: labels differ
    with pytest.raises(DataFormatError, match=r"labels of \['visual'\] differ"):
        load_cmu_mosi_utterance(tmp_path)
    path.write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(DataFormatError, match="different numbers of utterances"):
        load_cmu_mosi_utterance(tmp_path)


def test_nonfinite_values(tmp_path):
    _write(tmp_path)
    path = tmp_path / MOSI_UTTERANCE_FILES["text"].format("train")
    first, rest = path.read_text().split(",", 1)
    path.write_text('"nan",' + rest)
    assert load_cmu_mosi_utterance(tmp_path).train.data["text"][0, 0, 0] == 0
    kept = load_cmu_mosi_utterance(tmp_path, nonfinite="keep").train.data["text"]
    assert np.isnan(kept[0, 0, 0])
    with pytest.raises(DataFormatError, match="NaN or infinite"):
        load_cmu_mosi_utterance(tmp_path, nonfinite="error")


@pytest.mark.skipif(not REAL.is_dir(), reason="CMU-MOSI utterance files not present")
def test_real_files():
    mosi = load_cmu_mosi_utterance(REAL)
    assert len(mosi.train.sentiment) == 1447 and len(mosi.test.sentiment) == 752
    assert {m: mosi.train.data[m].shape[2] for m in DIMS} == {"text": 100, "audio": 73,
                                                              "visual": 100}
    assert 0.3 < mosi.test.sentiment.mean() < 0.7
