"""Tests of load_cmu_mosei on small files in the SDK's exact layout.

The toy corpus, with the values each test expects computed by hand:

vidA, words (text, 2-d), one per second; word 2 has zero length (skipped):
    w0 [0,1] (1,1)   w1 [1,2] (2,2)   w2 [2,2] (9,9)   w3 [2,3] (3,3)   w4 [3,4] (4,4)
vidA, COVAREP (audio, 2-d), half-second frames, none after 3 s:
    [0,.5] (1,10) [.5,1] (3,10) [1,1.5] (5,-inf) [1.5,2] (7,20) [2,2.5] (2,0) [2.5,3] (4,0)
    word means: w0 (2,10)  w1 (6,-inf)  w3 (3,0)  w4 none -> (0,0)
vidA, FACET (visual, 1-d): [0,2] (10), [2,4] (20) -> w0 10, w1 10, w3 20, w4 20
vidA, labels, rows NOT in time order:
    row 0 [2,4]: sentiment 1.5, happy 0, sad 1, anger 0, surprise .3, disgust 0, fear 0
    row 1 [0,2]: sentiment -2, happy 2, sad 0, anger 0, surprise 0, disgust 0, fear 1
    row 2 [5,6]: no word -> dropped
    segment 0 = words w3, w4; segment 1 = words w0, w1 (w1 ends where row 0 starts)
vidB: four words in one segment [0,4]; seq_len=3 keeps the last three.
vidC: no COVAREP entry -> skipped.
"""

import numpy as np
import pytest

from skmemo.datasets import (
    MOSEI_FILES,
    MOSEI_LEGACY_EMOTIONS,
    MOSEI_SDK_EMOTIONS,
    load_cmu_mosei,
)
from skmemo.exceptions import DataFormatError

from .test_datasets_csd import write_csd

INF = np.inf


def _e(intervals, features):
    return {"intervals": intervals, "features": features}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("mosei")
    words = {
        "vidA": _e([[0, 1], [1, 2], [2, 2], [2, 3], [3, 4]],
                   [[1, 1], [2, 2], [9, 9], [3, 3], [4, 4]]),
        "vidB": _e([[0, 1], [1, 2], [2, 3], [3, 4]], [[1, 0], [2, 0], [3, 0], [4, 0]]),
        "vidC": _e([[0, 1]], [[1, 1]]),
    }
    covarep = {
        "vidA": _e([[0, .5], [.5, 1], [1, 1.5], [1.5, 2], [2, 2.5], [2.5, 3]],
                   [[1, 10], [3, 10], [5, -INF], [7, 20], [2, 0], [4, 0]]),
        "vidB": _e([[0, 4]], [[8, 8]]),
    }
    facet = {"vidA": _e([[0, 2], [2, 4]], [[10], [20]]),
             "vidB": _e([[0, 4]], [[30]]),
             "vidC": _e([[0, 1]], [[1]])}
    labels = {
        "vidA": _e([[2, 4], [0, 2], [5, 6]],
                   [[1.5, 0, 1, 0, .3, 0, 0], [-2, 2, 0, 0, 0, 0, 1], [0, 1, 1, 1, 1, 1, 1]]),
        "vidB": _e([[0, 4]], [[0.5, 0, 0, 3, 0, 2, 0]]),
        "vidC": _e([[0, 1]], [[0, 0, 0, 0, 0, 0, 0]]),
    }
    write_csd(d / MOSEI_FILES["text"], "glove_vectors", words)
    write_csd(d / MOSEI_FILES["audio"], "COVAREP", covarep)
    write_csd(d / MOSEI_FILES["visual"], "FACET 4.2", facet, meta_style="bytes")
    write_csd(d / MOSEI_FILES["labels"], "All Labels", labels)
    return d


@pytest.fixture(scope="module")
def mosei(folder):
    return load_cmu_mosei(folder, seq_len=3)


def test_segments_follow_label_rows_and_sorted_videos(mosei):
    assert mosei.ids == ["vidA[0]", "vidA[1]", "vidB[0]"]
    assert mosei.skipped_videos == ["vidC"]
    np.testing.assert_allclose(mosei.sentiment, [1.5, -2, 0.5])


def test_text_is_word_aligned_and_front_padded(mosei):
    text = mosei.data["text"]
    assert text.shape == (3, 3, 2) and text.dtype == np.float32
    np.testing.assert_array_equal(text[0], [[0, 0], [3, 3], [4, 4]])
    np.testing.assert_array_equal(text[1], [[0, 0], [1, 1], [2, 2]])
    np.testing.assert_array_equal(text[2], [[2, 0], [3, 0], [4, 0]])  # last 3 of 4 words


def test_audio_is_averaged_per_word_imputed_and_cleaned(mosei):
    audio = mosei.data["audio"]
    np.testing.assert_array_equal(audio[0], [[0, 0], [3, 0], [0, 0]])  # w4: no frame
    np.testing.assert_array_equal(audio[1], [[0, 0], [2, 10], [6, 0]])  # -inf -> 0
    np.testing.assert_array_equal(audio[2], [[8, 8]] * 3)
    np.testing.assert_array_equal(mosei.data["visual"][:, :, 0],
                                  [[0, 20, 20], [0, 10, 10], [30, 30, 30]])


def test_labels_in_sdk_order_binarised(mosei):
    assert mosei.emotions == list(MOSEI_SDK_EMOTIONS)
    assert mosei.emotions == ["happy", "sad", "anger", "surprise", "disgust", "fear"]
    np.testing.assert_array_equal(mosei.target, [[0, 1, 0, 1, 0, 0],
                                                 [1, 0, 0, 0, 0, 1],
                                                 [0, 0, 1, 0, 1, 0]])
    np.testing.assert_allclose(mosei.intensities[0], [0, 1, 0, .3, 0, 0], rtol=1e-6)


def test_emotions_pick_and_order_columns(folder):
    alpha = load_cmu_mosei(folder, seq_len=3, emotions=MOSEI_LEGACY_EMOTIONS)
    assert alpha.emotions == ["anger", "disgust", "fear", "happy", "sad", "surprise"]
    np.testing.assert_array_equal(alpha.target[0], [0, 0, 0, 0, 1, 1])
    two = load_cmu_mosei(folder, seq_len=3, emotions=["fear", "happy"], modalities=["text"])
    assert two.ids[-1] == "vidC[0]"  # vidC has words and labels: enough for text alone
    np.testing.assert_array_equal(two.target, [[0, 0], [1, 1], [0, 0], [0, 0]])
    with pytest.raises(ValueError, match="unknown"):
        load_cmu_mosei(folder, emotions=["joy"])


def test_nonfinite_keep_and_error(folder):
    kept = load_cmu_mosei(folder, seq_len=3, nonfinite="keep")
    assert kept.data["audio"][1, 2, 1] == -INF
    with pytest.raises(DataFormatError, match="NaN or infinite"):
        load_cmu_mosei(folder, nonfinite="error")


def test_seq_len_one_keeps_the_last_word(folder):
    one = load_cmu_mosei(folder, seq_len=1, modalities=["text"])
    np.testing.assert_array_equal(one.data["text"][:, 0], [[4, 4], [2, 2], [4, 0], [1, 1]])
    assert one.data.modalities == ("text",)


def test_folds_split_by_video(folder):
    out = load_cmu_mosei(folder, seq_len=3, folds={"train": ["vidA"], "test": ["vidB", "x"]})
    assert out.train.ids == ["vidA[0]", "vidA[1]"]
    assert out.test.ids == ["vidB[0]"]
    np.testing.assert_array_equal(out.test.data["text"][0], [[2, 0], [3, 0], [4, 0]])
    assert out.unassigned_videos == []
    listed = load_cmu_mosei(folder, seq_len=3, folds=[["vidB"], [], []])
    assert listed.train.ids == ["vidB[0]"] and len(listed.valid.ids) == 0
    assert listed.unassigned_videos == ["vidA"]
    with pytest.raises(ValueError, match="two folds"):
        load_cmu_mosei(folder, folds={"train": ["vidA"], "test": ["vidA"]})


def test_paths_as_dict_and_missing_files(folder, tmp_path):
    paths = {"text": folder / MOSEI_FILES["text"], "labels": folder / MOSEI_FILES["labels"]}
    out = load_cmu_mosei(paths, seq_len=3)
    assert out.data.modalities == ("text",) and out.skipped_videos == []
    assert len(out.ids) == 4
    with pytest.raises(ValueError, match="needs a 'labels' entry"):
        load_cmu_mosei({"text": paths["text"]})
    for role in ("text", "labels"):
        (tmp_path / MOSEI_FILES[role]).write_bytes(paths[role].read_bytes())
    with pytest.raises(FileNotFoundError, match="CMU_MOSEI_COVAREP.csd"):
        load_cmu_mosei(tmp_path)
    assert load_cmu_mosei(tmp_path, modalities=["text"]).ids == out.ids
    with pytest.raises(TypeError, match="folder"):
        load_cmu_mosei(42)
    with pytest.raises(ValueError, match="seq_len"):
        load_cmu_mosei(folder, seq_len=0)


def test_label_files_with_other_than_seven_columns_are_refused(folder, tmp_path):
    bad = write_csd(tmp_path / "labels.csd", "All Labels", {"vidA": _e([[0, 2]], [[1, 2, 3]])})
    with pytest.raises(DataFormatError, match="7 columns"):
        load_cmu_mosei({"text": folder / MOSEI_FILES["text"], "labels": bad})
